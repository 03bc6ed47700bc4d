//! Connection bookkeeping for the HTTPS listener: the per-address cap, which connections are idle
//! (no request or HTTP/2 stream open) and since when, and reclaiming the longest-idle ones when free
//! slots run short, so that idle connections can never hold every slot.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The limits the listener enforces, from `[server]` in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most (every state: handshaking, idle, busy).
    pub max_connections: usize,
    /// Open connections at most from one IPv4 address or one IPv6 /64.
    pub per_address: usize,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
}

impl Limits {
    pub fn from_config(c: &crate::config::Config) -> Self {
        Self {
            max_connections: c.max_connections,
            per_address: c.max_connections_per_address,
            idle_timeout: Duration::from_secs(c.idle_timeout_seconds),
        }
    }

    /// Below this many free slots, idle connections are reclaimed.
    fn low_water(&self) -> usize {
        (self.max_connections / 8).max(1)
    }

    /// Reclaiming goes on until this many slots are free (or about to be).
    fn refill_to(&self) -> usize {
        (self.max_connections / 4).max(2)
    }
}

/// Whom the per-address cap counts together: one IPv4 address, or one IPv6 /64 (a single host
/// commonly owns a whole /64, so counting single IPv6 addresses would be no cap at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrKey(IpAddr);

impl AddrKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => AddrKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddrKey(IpAddr::V4(v4)),
                None => {
                    let net = u128::from(v6) & (u128::MAX << 64);
                    AddrKey(IpAddr::V6(Ipv6Addr::from(net)))
                }
            },
        }
    }
}

impl std::fmt::Display for AddrKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// What one open connection shares with the table.
pub struct ConnState {
    /// Requests (HTTP/2 streams) whose response has not been sent in full.
    active: AtomicUsize,
    /// Milliseconds after the table's epoch when the last request ended or the connection opened.
    last_active_ms: AtomicU64,
    close_requested: AtomicBool,
    close: Notify,
}

impl ConnState {
    /// Resolves once the table asked this connection to close.
    pub async fn close_requested(&self) {
        loop {
            if self.close_requested.load(Ordering::Acquire) {
                return;
            }
            self.close.notified().await;
        }
    }
}

/// A request in flight on a connection: the connection is busy until it is dropped, which happens
/// when the response body has been sent in full, or the request was abandoned.
pub struct Busy {
    state: Arc<ConnState>,
    epoch: Instant,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.state
            .last_active_ms
            .store(millis_since(self.epoch), Ordering::Release);
        self.state.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its connection marked busy until it has been sent or dropped.
pub struct TrackedBody {
    inner: axum::body::Body,
    _busy: Busy,
}

impl http_body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl TrackedBody {
    pub fn new(inner: axum::body::Body, busy: Busy) -> Self {
        Self { inner, _busy: busy }
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

struct Entry {
    key: AddrKey,
    state: Arc<ConnState>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    per_address: HashMap<AddrKey, usize>,
    open: HashMap<u64, Entry>,
    refused: u64,
    reclaimed: u64,
    last_warning: Option<Instant>,
}

/// Every open connection of one listener.
pub struct Table {
    limits: Limits,
    epoch: Instant,
    inner: Mutex<Inner>,
    /// Connections asked to close that have not closed yet: their slots are as good as free.
    closing: AtomicUsize,
}

/// Why a connection was not admitted.
#[derive(Debug, PartialEq, Eq)]
pub struct OverCap {
    pub key: AddrKey,
    pub open: usize,
}

/// One admitted connection; leaving the table when dropped.
pub struct Slot {
    table: Arc<Table>,
    id: u64,
    state: Arc<ConnState>,
}

impl Slot {
    pub fn state(&self) -> &ConnState {
        &self.state
    }

    /// A handle for the request service (which outlives borrows of the slot).
    pub fn tracker(&self) -> Tracker {
        Tracker {
            state: Arc::clone(&self.state),
            epoch: self.table.epoch,
        }
    }

    /// When the connection will have been idle for the idle timeout, if it stays idle; while a
    /// request is in flight, one idle timeout from now (checked again then).
    pub fn idle_deadline(&self) -> Instant {
        let timeout = self.table.limits.idle_timeout;
        if self.state.active.load(Ordering::Acquire) > 0 {
            return Instant::now() + timeout;
        }
        let last = self.state.last_active_ms.load(Ordering::Acquire);
        self.table.epoch + Duration::from_millis(last) + timeout
    }

    /// True when no request is in flight and none ended within the idle timeout.
    pub fn idle_expired(&self) -> bool {
        self.state.active.load(Ordering::Acquire) == 0 && Instant::now() >= self.idle_deadline()
    }

    /// Records that this connection is closing on its own (idle timeout, shutdown).
    pub fn closing(&self) {
        if !self.state.close_requested.swap(true, Ordering::AcqRel) {
            self.table.closing.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// What the request service holds of its connection.
#[derive(Clone)]
pub struct Tracker {
    state: Arc<ConnState>,
    epoch: Instant,
}

impl Tracker {
    pub fn begin(&self) -> Busy {
        self.state.active.fetch_add(1, Ordering::AcqRel);
        Busy {
            state: Arc::clone(&self.state),
            epoch: self.epoch,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.state.close_requested.load(Ordering::Acquire) {
            self.table.closing.fetch_sub(1, Ordering::AcqRel);
        }
        let mut inner = self.table.lock();
        let Some(entry) = inner.open.remove(&self.id) else {
            return;
        };
        if let Some(n) = inner.per_address.get_mut(&entry.key) {
            *n -= 1;
            if *n == 0 {
                inner.per_address.remove(&entry.key);
            }
        }
    }
}

const WARNING_EVERY: Duration = Duration::from_secs(60);

impl Table {
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            epoch: Instant::now(),
            inner: Mutex::new(Inner::default()),
            closing: AtomicUsize::new(0),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; a poisoned table is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection from `ip`, or refuses it when that address already holds its share.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, OverCap> {
        let key = AddrKey::of(ip);
        let mut inner = self.lock();
        let open = inner.per_address.get(&key).copied().unwrap_or(0);
        if open >= self.limits.per_address {
            inner.refused += 1;
            let now = Instant::now();
            if inner
                .last_warning
                .is_none_or(|t| now.duration_since(t) >= WARNING_EVERY)
            {
                tracing::warn!(
                    address = %key,
                    open,
                    refused = inner.refused,
                    reclaimed = inner.reclaimed,
                    "connection refused: this address holds max_connections_per_address connections"
                );
                inner.last_warning = Some(now);
            }
            return Err(OverCap { key, open });
        }
        inner.next_id += 1;
        let id = inner.next_id;
        let state = Arc::new(ConnState {
            active: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(millis_since(self.epoch)),
            close_requested: AtomicBool::new(false),
            close: Notify::new(),
        });
        *inner.per_address.entry(key).or_insert(0) += 1;
        inner.open.insert(
            id,
            Entry {
                key,
                state: Arc::clone(&state),
            },
        );
        Ok(Slot {
            table: Arc::clone(self),
            id,
            state,
        })
    }

    /// Called with the number of free slots: when they (plus the connections already closing) are
    /// below the low-water mark, asks the longest-idle connections to close until enough will be
    /// free. Busy connections are never touched. Returns how many were asked.
    pub fn reclaim_if_short(&self, free: usize) -> usize {
        let soon_free = free + self.closing.load(Ordering::Acquire);
        if soon_free >= self.limits.low_water() {
            return 0;
        }
        let wanted = self.limits.refill_to().saturating_sub(soon_free);
        let mut inner = self.lock();
        let mut idle: Vec<(u64, &Arc<ConnState>)> = inner
            .open
            .values()
            .filter(|e| {
                e.state.active.load(Ordering::Acquire) == 0
                    && !e.state.close_requested.load(Ordering::Acquire)
            })
            .map(|e| (e.state.last_active_ms.load(Ordering::Acquire), &e.state))
            .collect();
        idle.sort_unstable_by_key(|(last, _)| *last);
        let mut asked = 0;
        for (_, state) in idle.into_iter().take(wanted) {
            if !state.close_requested.swap(true, Ordering::AcqRel) {
                self.closing.fetch_add(1, Ordering::AcqRel);
                state.close.notify_one();
                asked += 1;
            }
        }
        inner.reclaimed += asked as u64;
        if asked > 0 {
            let now = Instant::now();
            if inner
                .last_warning
                .is_none_or(|t| now.duration_since(t) >= WARNING_EVERY)
            {
                tracing::warn!(
                    closed = asked,
                    reclaimed = inner.reclaimed,
                    free,
                    "connection slots running short: closing the longest-idle connections"
                );
                inner.last_warning = Some(now);
            }
        }
        asked
    }

    /// Open connections (for tests and diagnostics).
    pub fn open(&self) -> usize {
        self.lock().open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per: usize) -> Limits {
        Limits {
            max_connections: max,
            per_address: per,
            idle_timeout: Duration::from_secs(60),
        }
    }

    #[test]
    fn the_per_address_cap_counts_ipv4_hosts_and_ipv6_networks() {
        let t = Table::new(limits(100, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let s1 = t.admit(a).unwrap();
        let _s2 = t.admit(a).unwrap();
        assert_eq!(t.admit(a).err().map(|e| e.open), Some(2));
        assert!(t.admit("192.0.2.2".parse().unwrap()).is_ok());
        // The same IPv4 address arriving as an IPv4-mapped IPv6 address is the same host.
        assert!(t.admit("::ffff:192.0.2.1".parse().unwrap()).is_err());
        drop(s1);
        assert!(t.admit(a).is_ok());
        let _v6a = t.admit("2001:db8:1:2::1".parse().unwrap()).unwrap();
        let _v6b = t.admit("2001:db8:1:2::ffff".parse().unwrap()).unwrap();
        assert!(t.admit("2001:db8:1:2:abcd::9".parse().unwrap()).is_err());
        assert!(t.admit("2001:db8:1:3::1".parse().unwrap()).is_ok());
    }

    #[test]
    fn reclaiming_asks_the_longest_idle_and_never_a_busy_connection() {
        let t = Table::new(limits(16, 16));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let mut slots = Vec::new();
        for _ in 0..16 {
            slots.push(t.admit(ip).unwrap());
            std::thread::sleep(Duration::from_millis(2));
        }
        // The oldest connection is busy; it must be skipped.
        let busy = slots[0].tracker().begin();
        // Plenty free: nothing happens.
        assert_eq!(t.reclaim_if_short(8), 0);
        // None free: low water is 2, refill to 4.
        assert_eq!(t.reclaim_if_short(0), 4);
        let asked: Vec<bool> = slots
            .iter()
            .map(|s| s.state.close_requested.load(Ordering::Acquire))
            .collect();
        assert_eq!(&asked[..6], &[false, true, true, true, true, false]);
        // Those four count as free already: no second wave while they close.
        assert_eq!(t.reclaim_if_short(0), 0);
        drop(busy);
        for s in slots.drain(1..5) {
            drop(s);
        }
        assert_eq!(t.open(), 12);
    }
}
