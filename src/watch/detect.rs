//! The rules over security-log rows: counters over sliding windows (bounded, so a flood of random
//! user names or addresses cannot grow memory without limit) and look-ups in the transaction that
//! folds the findings into alerts.

use super::{Finding, Rule};
use crate::config::AlertThresholds;
use crate::i18n::{Arg, Message};
use crate::storage::alerts as store;
use crate::storage::audit::AuditRow;
use crate::storage::{StorageError, Transaction, groups, users};
use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, HashSet, VecDeque};

/// Entries kept at most across all keys of one counter (about 300 bytes each: a few MB).
pub const MAX_ENTRIES: usize = 50_000;

/// Distinct values per key within a window (accounts per address, addresses per account, …),
/// with the total number of entries bounded: when the budget is spent, the keys touched least
/// recently are dropped first, so a flood forgets itself rather than the process growing.
#[derive(Default)]
struct Windows {
    keys: HashMap<String, Key>,
    entries: usize,
}

struct Key {
    last: i64,
    /// (value, time) with distinct values, oldest first.
    values: VecDeque<(String, i64)>,
}

impl Windows {
    /// Records `value` for `key` at `t`, forgets what is older than `window` seconds, and returns
    /// how many distinct values the key has in the window. Keeps at most `cap` values per key:
    /// reaching the threshold is all a rule asks.
    fn add(&mut self, key: &str, value: &str, t: i64, window: i64, cap: usize) -> usize {
        if !self.keys.contains_key(key) && self.entries + 1 > MAX_ENTRIES {
            self.shed(t - window);
        }
        let k = self.keys.entry(key.to_string()).or_insert_with(|| Key {
            last: t,
            values: VecDeque::new(),
        });
        k.last = t;
        let before = k.values.len();
        while k.values.front().is_some_and(|(_, at)| *at <= t - window) {
            k.values.pop_front();
        }
        if let Some(pos) = k.values.iter().position(|(v, _)| v == value) {
            k.values.remove(pos);
        }
        k.values.push_back((value.to_string(), t));
        while k.values.len() > cap.max(1) {
            k.values.pop_front();
        }
        let n = k.values.len();
        // `entries` counted `before` for this key; it now holds `n`.
        self.entries = (self.entries + n).saturating_sub(before);
        n
    }

    /// Drops keys idle since `expired_before`, then the least recently touched tenth until the
    /// budget has room again.
    fn shed(&mut self, expired_before: i64) {
        self.keys.retain(|_, k| k.last > expired_before);
        self.entries = self.keys.values().map(|k| k.values.len()).sum();
        if self.entries + 1 > MAX_ENTRIES {
            let mut lasts: Vec<i64> = self.keys.values().map(|k| k.last).collect();
            lasts.sort_unstable();
            let cut = lasts[lasts.len() / 10];
            self.keys.retain(|_, k| k.last > cut);
            self.entries = self.keys.values().map(|k| k.values.len()).sum();
        }
    }

    fn total(&self) -> usize {
        self.keys.values().map(|k| k.values.len()).sum()
    }
}

/// Rows exported per actor within the hour, bounded like `Windows`.
#[derive(Default)]
struct Sums {
    keys: HashMap<String, VecDeque<(i64, u64)>>,
}

impl Sums {
    fn add(&mut self, key: &str, t: i64, n: u64, window: i64) -> u64 {
        if !self.keys.contains_key(key) && self.keys.len() >= MAX_ENTRIES / 10 {
            self.keys
                .retain(|_, v| v.back().is_some_and(|(at, _)| *at > t - window));
            if self.keys.len() >= MAX_ENTRIES / 10 {
                self.keys.clear();
            }
        }
        let q = self.keys.entry(key.to_string()).or_default();
        while q.front().is_some_and(|(at, _)| *at <= t - window) {
            q.pop_front();
        }
        q.push_back((t, n));
        // Many small exports fold into one entry per minute, so the queue stays short.
        if q.len() > 120
            && let Some((at, first)) = q.pop_front()
            && let Some(next) = q.front_mut()
        {
            next.0 = next.0.max(at);
            next.1 += first;
        }
        q.iter().map(|(_, n)| *n).sum()
    }
}

/// The watch's memory of one instance between rows.
#[derive(Default)]
pub struct Detector {
    by_address: Windows,
    by_account: Windows,
    locks: Windows,
    exports: Sums,
}

/// What evaluating rows needs besides the rows.
pub struct Context<'a> {
    pub thresholds: &'a AlertThresholds,
}

fn seconds(at: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp())
}

fn filter(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn strings(v: Option<&serde_json::Value>) -> HashSet<String> {
    v.and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Detector {
    /// Memory held, in counted entries (for the benchmark and the bound test).
    pub fn entries(&self) -> usize {
        self.by_address.total() + self.by_account.total() + self.locks.total()
    }

    /// The findings of one committed row, with look-ups in `tx`.
    pub fn row(
        &mut self,
        tx: &Transaction,
        cx: &Context,
        r: &AuditRow,
    ) -> Result<Vec<Finding>, StorageError> {
        let mut out = Vec::new();
        if r.event.starts_with("alert_") {
            return Ok(out);
        }
        let Some(t) = seconds(&r.at) else {
            return Ok(out);
        };
        let th = cx.thresholds;
        let details: serde_json::Value =
            serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null);
        let found =
            |rule, (subject, subject_words): About, summary: Message, log_filter: String| Finding {
                rule,
                subject,
                subject_words,
                summary,
                log_filter,
                event_id: Some(r.id),
            };
        if r.actor_kind == "support" {
            let said = if r.event == "login_succeeded" {
                Message::new("alert-says-support-signin")
            } else {
                Message::new("alert-says-support-action")
                    .arg("event", Arg::Key(format!("event-{}", r.event)))
                    .arg("target", &r.target)
            };
            out.push(found(
                Rule::SupportActivity,
                (r.actor.clone(), None),
                said.arg("who", &r.actor).arg("address", &r.source),
                filter(&[("user", &r.actor)]),
            ));
        }
        match r.event.as_str() {
            "login_failed" if !r.source.is_empty() && r.source != "-" => {
                let window = i64::from(th.spray_window_seconds);
                let accounts = self.by_address.add(
                    &r.source,
                    &r.target,
                    t,
                    window,
                    th.spray_accounts as usize,
                );
                if accounts >= th.spray_accounts as usize {
                    out.push(found(
                        Rule::PasswordSpraying,
                        about(
                            format!("address {}", r.source),
                            Message::new("alert-about-address").arg("address", &r.source),
                        ),
                        Message::new("alert-says-spray-accounts")
                            .arg("accounts", accounts)
                            .arg("address", &r.source)
                            .arg("seconds", window),
                        filter(&[("type", "login_failed"), ("source", &r.source)]),
                    ));
                }
                let addresses = self.by_account.add(
                    &r.target,
                    &r.source,
                    t,
                    window,
                    th.spray_addresses as usize,
                );
                if addresses >= th.spray_addresses as usize {
                    out.push(found(
                        Rule::PasswordSpraying,
                        about(
                            format!("account {}", r.target),
                            Message::new("alert-about-account").arg("account", &r.target),
                        ),
                        Message::new("alert-says-spray-addresses")
                            .arg("account", &r.target)
                            .arg("addresses", addresses)
                            .arg("seconds", window),
                        filter(&[("type", "login_failed"), ("user", &r.target)]),
                    ));
                }
            }
            "account_locked" => {
                let window = i64::from(th.lockout_window_seconds);
                let n = self.locks.add(
                    "instance",
                    &r.target,
                    t,
                    window,
                    th.lockout_accounts as usize,
                );
                if n >= th.lockout_accounts as usize {
                    out.push(found(
                        Rule::LockoutWave,
                        about("instance".into(), Message::new("alert-about-instance")),
                        Message::new("alert-says-lockout-wave")
                            .arg("count", n)
                            .arg("seconds", window),
                        filter(&[("type", "account_locked")]),
                    ));
                }
            }
            "login_succeeded"
                if r.actor_kind == "user"
                    && is_admin(tx, &r.actor)?
                    && self.address_is_new(tx, th, r, "admin")? =>
            {
                out.push(found(
                    Rule::AdminNewAddress,
                    about(
                        format!("{} from {}", r.actor, r.source),
                        Message::new("alert-about-from")
                            .arg("who", &r.actor)
                            .arg("address", &r.source),
                    ),
                    Message::new("alert-says-admin-new-address")
                        .arg("who", &r.actor)
                        .arg("address", &r.source)
                        .arg("days", th.admin_address_days),
                    filter(&[
                        ("type", "login_succeeded"),
                        ("user", &r.actor),
                        ("source", &r.source),
                    ]),
                ));
            }
            "user_created" if is_admin(tx, &r.target)? => {
                out.push(found(
                    Rule::AdminGranted,
                    (r.target.clone(), None),
                    Message::new("alert-says-admin-created")
                        .arg("who", &r.target)
                        .arg("by", &r.actor),
                    filter(&[("user", &r.target)]),
                ));
            }
            "group_changed" if details.get("membership_to").is_some() => {
                let from = strings(details.get("membership_from"));
                let added: Vec<String> = strings(details.get("membership_to"))
                    .into_iter()
                    .filter(|g| !from.contains(g))
                    .collect();
                if !added.is_empty() {
                    let admin_groups: HashSet<String> = groups::list(tx)?
                        .into_iter()
                        .filter(|g| g.permissions.iter().any(|p| p == "admin"))
                        .map(|g| g.name)
                        .collect();
                    if added.iter().any(|g| admin_groups.contains(g)) {
                        out.push(found(
                            Rule::AdminGranted,
                            (r.target.clone(), None),
                            Message::new("alert-says-admin-joined")
                                .arg("who", &r.target)
                                .arg("groups", added.join(", "))
                                .arg("by", &r.actor),
                            filter(&[("user", &r.target)]),
                        ));
                    }
                }
            }
            "permission_changed" => {
                let from = strings(details.get("from"));
                let mut added: Vec<String> = strings(details.get("to"))
                    .into_iter()
                    .filter(|p| !from.contains(p))
                    .collect();
                added.sort();
                if !added.is_empty() {
                    let rule = if added.iter().any(|p| p == "admin") {
                        Rule::AdminGranted
                    } else {
                        Rule::PermissionGranted
                    };
                    out.push(found(
                        rule,
                        about(
                            format!("group {}", r.target),
                            Message::new("alert-about-group").arg("group", &r.target),
                        ),
                        Message::new("alert-says-group-gained")
                            .arg("group", &r.target)
                            .arg("permissions", added.join(", "))
                            .arg("by", &r.actor),
                        filter(&[("type", "permission_changed")]),
                    ));
                }
            }
            "policy_changed" => {
                let text = |k: &str| {
                    details
                        .get(k)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string()
                };
                let (key, from, to) = (text("key"), text("from"), text("to"));
                if weaker(&key, &from, &to) {
                    out.push(found(
                        Rule::PolicyWeakened,
                        about(
                            key.clone(),
                            Message::new("alert-about-setting")
                                .arg("setting", Arg::Key(format!("policy-{key}"))),
                        ),
                        Message::new("alert-says-policy-weakened")
                            .arg("setting", Arg::Key(format!("policy-{key}")))
                            .arg("from", from)
                            .arg("to", to)
                            .arg("by", &r.actor),
                        filter(&[("type", "policy_changed")]),
                    ));
                }
            }
            "token_created" => out.push(found(
                Rule::TokenCreated,
                token(&r.target),
                Message::new("alert-says-token-created")
                    .arg("service", &r.target)
                    .arg("by", &r.actor),
                filter(&[("type", "token_created")]),
            )),
            "token_used" if self.address_is_new(tx, th, r, "token")? => {
                out.push(found(
                    Rule::TokenNewAddress,
                    token(&r.target),
                    Message::new("alert-says-token-new-address")
                        .arg("service", &r.target)
                        .arg("address", &r.source),
                    filter(&[("type", "token_used"), ("source", &r.source)]),
                ));
            }
            "data_exported" | "audit_exported" => {
                let rows = details.get("rows").and_then(|v| v.as_u64()).unwrap_or(1);
                let key = format!("{}:{}", r.actor_kind, r.actor);
                let total = self.exports.add(&key, t, rows, 3600);
                if total > u64::from(th.export_rows) {
                    out.push(found(
                        Rule::MassExport,
                        about(
                            format!("{} ({})", r.actor, r.actor_kind),
                            Message::new("alert-about-exporter")
                                .arg("who", &r.actor)
                                .arg("kind", Arg::Key(format!("alert-actor-{}", r.actor_kind))),
                        ),
                        Message::new("alert-says-mass-export")
                            .arg("who", &r.actor)
                            .arg("rows", total)
                            .arg("threshold", th.export_rows),
                        filter(&[("user", &r.actor)]),
                    ));
                }
            }
            "backup_completed" | "backup_verified" if r.outcome == "failure" => {
                out.push(found(
                    Rule::BackupFailed,
                    about(
                        r.event.clone(),
                        Message::new("alert-about-event")
                            .arg("event", Arg::Key(format!("event-{}", r.event))),
                    ),
                    Message::new("alert-says-backup-event-failed")
                        .arg("event", Arg::Key(format!("event-{}", r.event)))
                        .arg("details", &r.details),
                    filter(&[("type", &r.event)]),
                ));
            }
            "webhook_failing" => {
                let url = details.get("url").and_then(|v| v.as_str()).unwrap_or("?");
                out.push(found(
                    Rule::WebhookFailing,
                    about(
                        format!("{} {url}", r.target),
                        Message::new("alert-about-webhook")
                            .arg("endpoint", &r.target)
                            .arg("url", url),
                    ),
                    Message::new("alert-says-webhook-failing")
                        .arg("endpoint", &r.target)
                        .arg("url", url),
                    filter(&[("type", "webhook_failing")]),
                ));
            }
            _ => {}
        }
        Ok(out)
    }

    /// Whether the subject of `r` (an administrator, a token) uses an address it has not used
    /// within the window. The first address a subject is ever seen at is learned silently.
    fn address_is_new(
        &mut self,
        tx: &Transaction,
        th: &AlertThresholds,
        r: &AuditRow,
        kind: &str,
    ) -> Result<bool, StorageError> {
        let Ok(at) = DateTime::parse_from_rfc3339(&r.at) else {
            return Ok(false);
        };
        let days = if kind == "admin" {
            i64::from(th.admin_address_days)
        } else {
            // A token's addresses are remembered for ten years.
            3650
        };
        let cutoff = crate::clock::stamp(at.with_timezone(&Utc) - Duration::days(days));
        let (before, any) = store::seen(tx, kind, &r.target, &r.source, &r.at)?;
        if let Some(last) = before {
            return Ok(last < cutoff);
        }
        // The watch has no memory of this pair: the log itself answers (once per pair).
        let (here, earlier) =
            store::earlier_in_log(tx, &r.event, &r.actor, &r.source, &cutoff, r.id)?;
        Ok(here.is_none() && (earlier || any))
    }
}

/// The events a rule looks at (besides anything the support account does).
pub const WATCHED_EVENTS: [&str; 14] = [
    "login_failed",
    "account_locked",
    "login_succeeded",
    "user_created",
    "group_changed",
    "permission_changed",
    "policy_changed",
    "token_created",
    "token_used",
    "data_exported",
    "audit_exported",
    "backup_completed",
    "backup_verified",
    "webhook_failing",
];

/// The actor kind whose every action is watched.
pub const SUPPORT: &str = "support";

/// Whether any rule looks at `r`: the rows worth a write transaction.
pub fn interesting(r: &AuditRow) -> bool {
    r.actor_kind == SUPPORT || WATCHED_EVENTS.contains(&r.event.as_str())
}

/// What an alert is about: the text that folds repeats into one alert (stable, stored, shown in the
/// syslog stream and the API), and, when it has words, how pages and mails name it.
type About = (String, Option<Message>);

fn about(id: String, words: Message) -> About {
    (id, Some(words))
}

fn token(service: &str) -> About {
    about(
        format!("token {service}"),
        Message::new("alert-about-token").arg("service", service),
    )
}

fn is_admin(tx: &Transaction, name: &str) -> Result<bool, StorageError> {
    let Some(u) = users::by_name(tx, name)? else {
        return Ok(false);
    };
    Ok(users::permissions(tx, u.id)?.iter().any(|p| p == "admin"))
}

/// Whether changing policy `key` from `from` to `to` protects less.
pub fn weaker(key: &str, from: &str, to: &str) -> bool {
    if key == "second_factor" {
        let rank = |m: &str| {
            crate::auth::policy::SecondFactorMode::ALL
                .iter()
                .position(|x| x.as_str() == m)
                .unwrap_or(0)
        };
        return rank(to) < rank(from);
    }
    let (Ok(f), Ok(t)) = (from.parse::<i64>(), to.parse::<i64>()) else {
        return false;
    };
    match key {
        "password_min_length" | "password_require_classes" | "password_history" => t < f,
        "lockout_threshold"
        | "session_idle_minutes"
        | "session_absolute_hours"
        | "temporary_password_hours"
        | "token_max_days" => t > f,
        // 0 means "never": turning the rule off, or waiting longer, is weaker.
        "password_max_age_days" | "inactive_disable_days" => f != 0 && (t == 0 || t > f),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_stay_bounded_under_a_flood_of_random_names() {
        let mut w = Windows::default();
        for i in 0..(MAX_ENTRIES * 3) {
            w.add(&format!("user-{i}"), "203.0.113.9", i as i64 / 100, 600, 10);
        }
        assert!(w.total() <= MAX_ENTRIES, "{}", w.total());
        assert!(w.keys.len() <= MAX_ENTRIES);
    }

    #[test]
    fn distinct_values_are_counted_within_the_window() {
        let mut w = Windows::default();
        assert_eq!(w.add("a", "x", 0, 60, 10), 1);
        assert_eq!(w.add("a", "x", 1, 60, 10), 1);
        assert_eq!(w.add("a", "y", 2, 60, 10), 2);
        assert_eq!(w.add("a", "z", 100, 60, 10), 1, "older values expire");
    }

    /// Writes `entries` through the one audit writer into a fresh database, then runs the
    /// detector over the committed rows; returns the rules found, in order.
    fn findings(th: AlertThresholds, entries: Vec<crate::audit::Entry>) -> Vec<(Rule, String)> {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::crypto::Key256::generate().unwrap();
        let db = crate::storage::Database::open(
            &dir.path().join("db.sqlite"),
            &key,
            true,
            Default::default(),
        )
        .unwrap();
        let now = crate::clock::Clock::now(&crate::clock::SystemClock);
        for e in entries {
            db.write_blocking(|tx| crate::audit::write(tx, now, e))
                .unwrap();
        }
        let mut d = Detector::default();
        db.write_blocking(|tx| {
            let mut rows = Vec::new();
            crate::storage::audit::for_each_after(tx, 0, 10_000, |r| {
                rows.push(r);
                Ok(())
            })?;
            let mut out = Vec::new();
            for r in rows.iter().filter(|r| interesting(r)) {
                for f in d.row(tx, &Context { thresholds: &th }, r)? {
                    out.push((f.rule, f.subject));
                }
            }
            Ok::<_, StorageError>(out)
        })
        .unwrap()
    }

    fn failed(user: &str, from: &str) -> crate::audit::Entry {
        crate::audit::Entry::new(
            crate::audit::Event::LoginFailed,
            crate::audit::Actor::Anonymous,
            user,
            from,
        )
        .failed()
    }

    #[test]
    fn spraying_lockout_waves_and_mass_exports_reach_their_thresholds() {
        use crate::audit::{Actor, Entry, Event};
        let th = AlertThresholds {
            spray_accounts: 3,
            spray_addresses: 3,
            lockout_accounts: 2,
            export_rows: 100,
            ..Default::default()
        };
        let mut entries = vec![
            failed("a", "192.0.2.1"),
            failed("b", "192.0.2.1"),
            failed("b", "192.0.2.1"),
            failed("c", "192.0.2.1"),
            failed("z", "198.51.100.1"),
            failed("z", "198.51.100.2"),
            failed("z", "198.51.100.3"),
        ];
        for u in ["x", "y"] {
            entries.push(Entry::new(
                Event::AccountLocked,
                Actor::System,
                u,
                "192.0.2.9",
            ));
        }
        let alice = || Actor::User {
            name: "alice".into(),
            support: false,
        };
        entries.push(
            Entry::new(Event::DataExported, alice(), "clients", "192.0.2.5")
                .with(serde_json::json!({ "rows": 60 })),
        );
        entries.push(
            Entry::new(Event::DataExported, alice(), "clients", "192.0.2.5")
                .with(serde_json::json!({ "rows": 60 })),
        );
        let found = findings(th, entries);
        assert_eq!(
            found,
            vec![
                (Rule::PasswordSpraying, "address 192.0.2.1".to_string()),
                (Rule::PasswordSpraying, "account z".to_string()),
                (Rule::LockoutWave, "instance".to_string()),
                (Rule::MassExport, "alice (user)".to_string()),
            ]
        );
    }

    #[test]
    fn below_the_thresholds_nothing_is_found() {
        let th = AlertThresholds {
            spray_accounts: 3,
            spray_addresses: 3,
            ..Default::default()
        };
        let found = findings(
            th,
            vec![
                failed("a", "192.0.2.1"),
                failed("a", "192.0.2.1"),
                failed("a", "192.0.2.1"),
                failed("b", "192.0.2.1"),
            ],
        );
        assert!(found.is_empty(), "{found:?}");
    }

    /// The 90-day edge of "an address not seen for that admin": the first address is learned
    /// silently, another one is new, and the first one is new again once more than
    /// `admin_address_days` have passed since it was last used (exactly that many is still "seen").
    #[tokio::test]
    async fn an_admin_address_counts_as_new_again_only_after_the_window() {
        use crate::audit::{Actor, Entry, Event};
        use chrono::{Duration, TimeZone};
        let (_dir, inst) = crate::auth::test_support::instance().await;
        let svc = crate::auth::test_support::services();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
        crate::auth::test_support::add_user(&svc, &inst, "boss", &["admins"], None, t0).await;
        let th = AlertThresholds {
            admin_address_days: 90,
            ..Default::default()
        };
        let (a, b) = ("192.0.2.10", "192.0.2.20");
        let signs = [
            (t0 + Duration::hours(1), a),
            (t0 + Duration::days(1), b),
            // B was last used exactly 90 days before each of these two: still within the window.
            (t0 + Duration::days(91), b),
            (t0 + Duration::days(181), b),
            // A was last used 180 days before this one: new again.
            (t0 + Duration::days(181) + Duration::hours(1), a),
            (t0 + Duration::days(182), a),
        ];
        let found = inst
            .db
            .write_blocking(|tx| {
                let mut d = Detector::default();
                let mut out = Vec::new();
                // Past the rows that creating the account wrote.
                let mut after = 0;
                crate::storage::audit::for_each_after(tx, 0, 10_000, |r| {
                    after = after.max(r.id);
                    Ok(())
                })?;
                for (at, from) in signs {
                    let boss = Actor::User {
                        name: "boss".into(),
                        support: false,
                    };
                    crate::audit::write(
                        tx,
                        at,
                        Entry::new(Event::LoginSucceeded, boss, "boss", from),
                    )?;
                    let mut rows = Vec::new();
                    crate::storage::audit::for_each_after(tx, after, 100, |r| {
                        rows.push(r);
                        Ok(())
                    })?;
                    for r in &rows {
                        after = after.max(r.id);
                        for f in d.row(tx, &Context { thresholds: &th }, r)? {
                            out.push((at - t0, f.rule, f.subject));
                        }
                    }
                }
                Ok::<_, StorageError>(out)
            })
            .unwrap();
        assert_eq!(
            found,
            vec![
                (
                    Duration::days(1),
                    Rule::AdminNewAddress,
                    format!("boss from {b}")
                ),
                (
                    Duration::days(181) + Duration::hours(1),
                    Rule::AdminNewAddress,
                    format!("boss from {a}")
                ),
            ]
        );
    }

    #[test]
    fn a_failing_webhook_endpoint_is_found_by_its_id_and_url() {
        use crate::audit::{Actor, Entry, Event};
        let failing = || {
            Entry::new(Event::WebhookFailing, Actor::System, "webhook 3", "-")
                .with(serde_json::json!({ "url": "https://n8n.example/x", "delivery": 7 }))
                .failed()
        };
        let found = findings(AlertThresholds::default(), vec![failing(), failing()]);
        let want = (
            Rule::WebhookFailing,
            "webhook 3 https://n8n.example/x".to_string(),
        );
        assert_eq!(found, vec![want.clone(), want]);
    }

    #[test]
    fn weaker_policy_changes() {
        assert!(weaker("password_min_length", "12", "8"));
        assert!(!weaker("password_min_length", "8", "12"));
        assert!(weaker("lockout_threshold", "5", "50"));
        assert!(weaker("second_factor", "required", "optional"));
        assert!(!weaker("second_factor", "optional", "required_totp"));
        assert!(weaker("password_max_age_days", "90", "0"));
        assert!(!weaker("password_max_age_days", "0", "90"));
    }
}
