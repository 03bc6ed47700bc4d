//! Refused requests — 403 for a missing permission, 403 for a failed request-forgery check, 429 for
//! throttling — counted in memory per (instance, address, kind, minute) and written as ONE
//! `access_refused` event per key once its minute is over (and at shutdown). An attacker who sends
//! a million forbidden requests adds one row per address and minute, not a million; the number of
//! addresses tracked at once is bounded, and the rest are counted together under `*`.

use super::{Actor, Entry, Event};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Addresses tracked one by one (per instance, kind and minute) before further ones are pooled.
pub const MAX_TRACKED: usize = 4096;
/// Distinct request paths kept per key, as examples of what was tried.
const MAX_PATHS: usize = 5;
const MAX_PATH_CHARS: usize = 200;
/// The address under which untracked addresses are counted.
pub const POOLED: &str = "*";

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 403: the caller's groups or token scopes lack the route's permission.
    Forbidden,
    /// 403: Origin / `Sec-Fetch-Site` or the CSRF token did not match.
    Csrf,
    /// 429: too many attempts from the address.
    Throttled,
}

impl Kind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Forbidden => "forbidden",
            Kind::Csrf => "csrf",
            Kind::Throttled => "throttled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    instance: String,
    address: String,
    kind: Kind,
    /// Minutes since the Unix epoch.
    minute: i64,
}

#[derive(Debug, Default)]
struct Tally {
    count: u64,
    paths: Vec<String>,
}

/// One key's count, ready to be written to its instance's security log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub instance: String,
    pub address: String,
    pub kind: Kind,
    pub minute: DateTime<Utc>,
    pub count: u64,
    pub paths: Vec<String>,
}

impl Counted {
    /// The event for the instance's log: source is the address (or `*`), details say how many,
    /// which minute and a few of the paths.
    pub fn entry(&self) -> Entry {
        Entry::new(
            Event::AccessRefused,
            Actor::Anonymous,
            self.kind.as_str(),
            self.address.clone(),
        )
        .failed()
        .with(json!({
            "kind": self.kind.as_str(),
            "count": self.count,
            "minute": crate::clock::stamp(self.minute),
            "paths": self.paths,
            "pooled": self.address == POOLED,
        }))
    }
}

/// The in-memory counters (shared by every request; the lock is held for a map update only).
pub struct Refusals {
    max_tracked: usize,
    map: Mutex<HashMap<Key, Tally>>,
}

impl Default for Refusals {
    fn default() -> Self {
        Self::new(MAX_TRACKED)
    }
}

impl Refusals {
    pub fn new(max_tracked: usize) -> Self {
        Self {
            max_tracked,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Tally>> {
        // A panic elsewhere while holding the lock leaves counters, never a broken invariant.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one refusal.
    pub fn note(
        &self,
        instance: &str,
        address: IpAddr,
        kind: Kind,
        path: &str,
        now: DateTime<Utc>,
    ) {
        let minute = now.timestamp().div_euclid(60);
        let mut map = self.lock();
        let mut key = Key {
            instance: instance.to_string(),
            address: address.to_string(),
            kind,
            minute,
        };
        if !map.contains_key(&key) && map.len() >= self.max_tracked {
            key.address = POOLED.to_string();
        }
        let tally = map.entry(key).or_default();
        tally.count = tally.count.saturating_add(1);
        if tally.paths.len() < MAX_PATHS && !tally.paths.iter().any(|p| p == path) {
            tally.paths.push(super::cut(path, MAX_PATH_CHARS));
        }
    }

    /// Takes the counts of every minute that has ended by `now`.
    pub fn take_ended(&self, now: DateTime<Utc>) -> Vec<Counted> {
        let current = now.timestamp().div_euclid(60);
        self.take(|k| k.minute < current)
    }

    /// Takes every count (at shutdown: nothing is lost).
    pub fn take_all(&self) -> Vec<Counted> {
        self.take(|_| true)
    }

    fn take(&self, due: impl Fn(&Key) -> bool) -> Vec<Counted> {
        let mut map = self.lock();
        let keys: Vec<Key> = map.keys().filter(|k| due(k)).cloned().collect();
        let mut out: Vec<Counted> = keys
            .into_iter()
            .filter_map(|k| {
                let tally = map.remove(&k)?;
                Some(Counted {
                    minute: Utc
                        .timestamp_opt(k.minute.saturating_mul(60), 0)
                        .single()
                        .unwrap_or_default(),
                    instance: k.instance,
                    address: k.address,
                    kind: k.kind,
                    count: tally.count,
                    paths: tally.paths,
                })
            })
            .collect();
        out.sort_by(|a, b| (a.minute, &a.address).cmp(&(b.minute, &b.address)));
        out
    }

    /// How many keys are held (for tests and the bound).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn one_event_per_address_kind_and_minute() {
        let r = Refusals::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let start = at("2026-12-06T10:15:00Z");
        for i in 0..50 {
            let path = format!("/api/v1/clients/{}", i % 7);
            r.note(
                "default",
                ip,
                Kind::Forbidden,
                &path,
                start + Duration::seconds(i),
            );
        }
        r.note("default", ip, Kind::Csrf, "/m/clients", start);
        // The minute is not over: nothing to write yet.
        assert!(r.take_ended(at("2026-12-06T10:15:59Z")).is_empty());
        let done = r.take_ended(at("2026-12-06T10:16:00Z"));
        assert_eq!(done.len(), 2, "{done:?}");
        let f = done.iter().find(|c| c.kind == Kind::Forbidden).unwrap();
        assert_eq!(f.count, 50);
        assert_eq!(f.address, "192.0.2.7");
        assert_eq!(f.minute, start);
        assert_eq!(f.paths.len(), MAX_PATHS);
        let e = f.entry();
        assert_eq!(e.event, Event::AccessRefused);
        assert_eq!(e.details["count"], 50);
        assert_eq!(e.details["minute"], "2026-12-06T10:15:00.000Z");
        assert!(r.is_empty(), "taken counts are gone");
        assert!(r.take_all().is_empty());
    }

    #[test]
    fn a_new_minute_starts_a_new_count() {
        let r = Refusals::default();
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        r.note(
            "default",
            ip,
            Kind::Throttled,
            "/signin",
            at("2026-12-06T10:15:59Z"),
        );
        r.note(
            "default",
            ip,
            Kind::Throttled,
            "/signin",
            at("2026-12-06T10:16:00Z"),
        );
        let done = r.take_ended(at("2026-12-06T10:16:30Z"));
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].count, 1);
        let rest = r.take_all();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].minute, at("2026-12-06T10:16:00Z"));
    }

    #[test]
    fn addresses_beyond_the_bound_are_pooled() {
        let r = Refusals::new(3);
        let now = at("2026-12-06T10:15:00Z");
        for i in 0..100u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            r.note("default", ip, Kind::Forbidden, "/admin", now);
            r.note("default", ip, Kind::Forbidden, "/admin", now);
        }
        assert_eq!(r.len(), 4, "three addresses and the pool");
        let all = r.take_all();
        let pooled = all.iter().find(|c| c.address == POOLED).unwrap();
        assert_eq!(pooled.count, 2 * 97);
        assert_eq!(all.iter().map(|c| c.count).sum::<u64>(), 200);
        assert_eq!(pooled.entry().details["pooled"], true);
    }
}
