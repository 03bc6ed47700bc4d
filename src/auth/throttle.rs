//! Owns per-source-address throttling of password and code attempts, across all accounts.
//!
//! Account lockout stops guessing against one account; this stops one source from trying a
//! few passwords against many accounts (password spraying, credential stuffing). Each
//! address has a token bucket: an attempt takes a token **before** any work is done (check and
//! take are one step under the caller's lock, so concurrent attempts cannot all pass a check that
//! only one of them should pass), a successful attempt gives its token back, tokens come back at a
//! fixed rate, and an address with no token left must wait. Attempts in flight per address are
//! capped as well, so that even an address that knows a password cannot keep every hashing thread
//! busy. IPv6 addresses are grouped by /64, because one host usually controls a whole /64 and
//! could otherwise rotate addresses. Memory is bounded by `max_tracked`; time is passed in by the
//! caller.
//!
//! `governor` (GCRA, lock-free) was measured as the alternative: its keyed limiter takes a cell
//! atomically but cannot give one back, so a correct password would use up the budget of
//! everyone behind the same address (a whole office behind one NAT address), and it has no
//! notion of attempts in flight. A mutex around this table costs 176 ns per attempt on one thread
//! (352 ns on two; governor 57 ns) against Argon2's ~25 ms, so lock contention is not a concern
//! (`cargo bench --bench throttle`, docs/PERFORMANCE.md).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

/// Milliseconds per minute; also the number of units one token is split into, so that a
/// refill of `r` tokens per minute is exactly `r` units per millisecond.
const UNITS_PER_TOKEN: u64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    V4([u8; 4]),
    /// The /64 prefix.
    V6([u8; 8]),
}

impl Source {
    fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => Source::V4(a.octets()),
            IpAddr::V6(a) => {
                // A v4 client seen through a dual-stack socket is that v4 address.
                if let Some(v4) = a.to_ipv4_mapped() {
                    return Source::V4(v4.octets());
                }
                let o = a.octets();
                Source::V6([o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]])
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens left, in units of 1/60,000 token.
    units: u64,
    /// When `units` was last brought up to date.
    updated_ms: i64,
}

/// Token buckets per source address. Not thread-safe by itself; wrap it in a `Mutex` (see
/// [`Attempt::begin`]).
#[derive(Debug)]
pub struct Throttle {
    capacity_units: u64,
    refill_per_ms: u64,
    max_tracked: usize,
    max_in_flight: u32,
    buckets: HashMap<Source, Bucket>,
    in_flight: HashMap<Source, u32>,
}

/// Why an attempt may not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address used up its burst; a token comes back after this long.
    Empty(Duration),
    /// The address already has the most attempts it may have in flight.
    Busy,
}

impl Refusal {
    /// Seconds the client should wait (`Retry-After`), at least 1.
    pub fn retry_after_secs(self) -> u64 {
        match self {
            Refusal::Empty(d) => d.as_secs().max(1),
            Refusal::Busy => 1,
        }
    }
}

impl Throttle {
    /// `capacity_per_address` attempts are allowed in a burst; `refill_per_minute` more come
    /// back each minute; at most `max_in_flight` attempts of one address run at once; at most
    /// `max_tracked` addresses are remembered. Zero values are raised to 1, since a bucket that
    /// never refills would block an address for good.
    pub fn new(
        capacity_per_address: u32,
        refill_per_minute: u32,
        max_in_flight: u32,
        max_tracked: usize,
    ) -> Self {
        Self {
            capacity_units: u64::from(capacity_per_address.max(1)) * UNITS_PER_TOKEN,
            refill_per_ms: u64::from(refill_per_minute.max(1)),
            max_tracked: max_tracked.max(1),
            max_in_flight: max_in_flight.max(1),
            buckets: HashMap::new(),
            in_flight: HashMap::new(),
        }
    }

    /// Tokens in a bucket as of `now`, without changing it. A clock that steps back counts
    /// as no time passing.
    fn units_at(&self, b: &Bucket, now_ms: i64) -> u64 {
        let elapsed = u64::try_from(now_ms.saturating_sub(b.updated_ms)).unwrap_or(0);
        b.units
            .saturating_add(elapsed.saturating_mul(self.refill_per_ms))
            .min(self.capacity_units)
    }

    /// The bucket of `key` brought up to `now` (a full one if the address is not tracked).
    fn current(&mut self, key: Source, now_ms: i64) -> Bucket {
        match self.buckets.get(&key) {
            Some(b) => Bucket {
                units: self.units_at(b, now_ms),
                updated_ms: b.updated_ms.max(now_ms),
            },
            None => {
                self.make_room(now_ms);
                Bucket {
                    units: self.capacity_units,
                    updated_ms: now_ms,
                }
            }
        }
    }

    /// Takes one token from `addr` if it has one: the check and the take are one step, so
    /// concurrent callers cannot pass together on the last token.
    pub fn try_take(&mut self, addr: IpAddr, now_unix_ms: i64) -> Result<(), Duration> {
        let key = Source::of(addr);
        let b = self.current(key, now_unix_ms);
        if b.units < UNITS_PER_TOKEN {
            let missing = UNITS_PER_TOKEN - b.units;
            self.buckets.insert(key, b);
            return Err(Duration::from_millis(missing.div_ceil(self.refill_per_ms)));
        }
        self.buckets.insert(
            key,
            Bucket {
                units: b.units - UNITS_PER_TOKEN,
                updated_ms: b.updated_ms,
            },
        );
        Ok(())
    }

    /// Gives back the token of an attempt that succeeded (never above the burst).
    pub fn refund(&mut self, addr: IpAddr, now_unix_ms: i64) {
        let key = Source::of(addr);
        if let Some(b) = self.buckets.get(&key) {
            let units = self
                .units_at(b, now_unix_ms)
                .saturating_add(UNITS_PER_TOKEN)
                .min(self.capacity_units);
            let updated_ms = b.updated_ms.max(now_unix_ms);
            self.buckets.insert(key, Bucket { units, updated_ms });
        }
    }

    /// Whether `addr` has a token now, without taking it (for display and tests).
    pub fn check(&self, addr: IpAddr, now_unix_ms: i64) -> Result<(), Duration> {
        let Some(b) = self.buckets.get(&Source::of(addr)) else {
            return Ok(());
        };
        let units = self.units_at(b, now_unix_ms);
        if units >= UNITS_PER_TOKEN {
            return Ok(());
        }
        Err(Duration::from_millis(
            (UNITS_PER_TOKEN - units).div_ceil(self.refill_per_ms),
        ))
    }

    /// Takes one token from `addr` for a failure noticed without an attempt having been begun
    /// (kept for callers that only learn afterwards that a request was a guess).
    pub fn record_failure(&mut self, addr: IpAddr, now_unix_ms: i64) {
        let key = Source::of(addr);
        let b = self.current(key, now_unix_ms);
        self.buckets.insert(
            key,
            Bucket {
                units: b.units.saturating_sub(UNITS_PER_TOKEN),
                updated_ms: b.updated_ms,
            },
        );
    }

    fn enter(&mut self, addr: IpAddr) -> bool {
        let n = self.in_flight.entry(Source::of(addr)).or_insert(0);
        if *n >= self.max_in_flight {
            return false;
        }
        *n += 1;
        true
    }

    fn leave(&mut self, addr: IpAddr) {
        let key = Source::of(addr);
        if let Some(n) = self.in_flight.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.in_flight.remove(&key);
            }
        }
    }

    /// Attempts of `addr` running now.
    pub fn in_flight(&self, addr: IpAddr) -> u32 {
        self.in_flight.get(&Source::of(addr)).copied().unwrap_or(0)
    }

    /// Number of address groups currently remembered.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }

    /// Frees at least one slot before a new address is added. Full buckets go first: they
    /// behave exactly like forgotten ones. If that is not enough, the least recently
    /// updated go, a sixteenth of the table at once so that a flood of new addresses costs
    /// one scan per many insertions rather than one per insertion.
    fn make_room(&mut self, now_ms: i64) {
        if self.buckets.len() < self.max_tracked {
            return;
        }
        let capacity = self.capacity_units;
        let refill = self.refill_per_ms;
        self.buckets.retain(|_, b| {
            let elapsed = u64::try_from(now_ms.saturating_sub(b.updated_ms)).unwrap_or(0);
            b.units.saturating_add(elapsed.saturating_mul(refill)) < capacity
        });
        if self.buckets.len() < self.max_tracked {
            return;
        }
        let excess = self.buckets.len() + 1 - self.max_tracked;
        let evict = excess.max(self.max_tracked / 16).max(1);
        let mut ages: Vec<(i64, Source)> = self
            .buckets
            .iter()
            .map(|(k, b)| (b.updated_ms, *k))
            .collect();
        if evict < ages.len() {
            ages.select_nth_unstable_by_key(evict - 1, |(t, _)| *t);
        }
        for (_, key) in ages.iter().take(evict) {
            self.buckets.remove(key);
        }
    }
}

fn lock(t: &Mutex<Throttle>) -> std::sync::MutexGuard<'_, Throttle> {
    // The table holds counters only; a panic elsewhere while it was locked cannot leave it in a
    // state worse than slightly wrong counts, so it stays usable.
    t.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One password or code attempt, reserved before any work: it holds an in-flight slot of its
/// address until dropped, and its token unless [`Attempt::succeeded`] gives it back.
pub struct Attempt<'a> {
    throttle: &'a Mutex<Throttle>,
    addr: IpAddr,
}

impl<'a> Attempt<'a> {
    /// Reserves an attempt for `addr`: an in-flight slot first, then a token.
    pub fn begin(
        throttle: &'a Mutex<Throttle>,
        addr: IpAddr,
        now_unix_ms: i64,
    ) -> Result<Self, Refusal> {
        let mut t = lock(throttle);
        if !t.enter(addr) {
            return Err(Refusal::Busy);
        }
        if let Err(wait) = t.try_take(addr, now_unix_ms) {
            t.leave(addr);
            return Err(Refusal::Empty(wait));
        }
        Ok(Attempt { throttle, addr })
    }

    /// The attempt proved the caller right: its token goes back.
    pub fn succeeded(self, now_unix_ms: i64) {
        lock(self.throttle).refund(self.addr, now_unix_ms);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        lock(self.throttle).leave(self.addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn v4(d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, d))
    }

    #[test]
    fn empties_after_n_failures() {
        let mut t = Throttle::new(5, 1, 4, 100);
        let now = 1_000_000;
        for _ in 0..4 {
            t.record_failure(v4(1), now);
            assert!(t.check(v4(1), now).is_ok());
        }
        t.record_failure(v4(1), now);
        assert_eq!(t.check(v4(1), now), Err(Duration::from_secs(60)));
        // More failures keep it empty and never underflow.
        t.record_failure(v4(1), now);
        assert_eq!(t.check(v4(1), now), Err(Duration::from_secs(60)));
    }

    #[test]
    fn refills_with_time() {
        let mut t = Throttle::new(2, 6, 4, 100); // one token every 10 s
        let now = 5_000;
        t.record_failure(v4(1), now);
        t.record_failure(v4(1), now);
        assert_eq!(t.check(v4(1), now), Err(Duration::from_secs(10)));
        assert_eq!(t.check(v4(1), now + 4_000), Err(Duration::from_secs(6)));
        assert!(t.check(v4(1), now + 10_000).is_ok());
        t.record_failure(v4(1), now + 10_000);
        assert_eq!(t.check(v4(1), now + 10_000), Err(Duration::from_secs(10)));
        // Refill stops at capacity: after an hour, only two failures in a row are allowed.
        let later = now + 3_600_000;
        t.record_failure(v4(1), later);
        assert!(t.check(v4(1), later).is_ok());
        t.record_failure(v4(1), later);
        assert!(t.check(v4(1), later).is_err());
    }

    #[test]
    fn clock_stepping_back_does_not_refill_or_panic() {
        let mut t = Throttle::new(1, 1, 4, 10);
        t.record_failure(v4(1), 100_000);
        assert!(t.check(v4(1), 0).is_err());
        t.record_failure(v4(1), i64::MIN);
        assert!(t.check(v4(1), i64::MAX).is_ok());
    }

    #[test]
    fn addresses_are_independent() {
        let mut t = Throttle::new(1, 1, 4, 100);
        t.record_failure(v4(1), 0);
        assert!(t.check(v4(1), 0).is_err());
        assert!(t.check(v4(2), 0).is_ok());
    }

    #[test]
    fn ipv6_grouped_by_64() {
        let mut t = Throttle::new(1, 1, 4, 100);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same64: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        t.record_failure(a, 0);
        assert!(t.check(same64, 0).is_err());
        assert!(t.check(other64, 0).is_ok());
        // A v4-mapped address is its v4 address.
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 9).to_ipv6_mapped());
        t.record_failure(mapped, 0);
        assert!(t.check(v4(9), 0).is_err());
    }

    #[test]
    fn bounded_size_evicts_full_then_oldest() {
        let mut t = Throttle::new(3, 60, 4, 32); // one token per second
        for i in 0..32u8 {
            t.record_failure(v4(i), i64::from(i) * 10);
        }
        assert_eq!(t.tracked(), 32);
        // Far later every bucket is full again: they all go, the new one stays.
        t.record_failure(v4(200), 1_000_000);
        assert_eq!(t.tracked(), 1);

        // None full: the oldest are evicted, the newest kept.
        let mut u = Throttle::new(1, 1, 4, 32);
        for i in 0..32u8 {
            u.record_failure(v4(i), i64::from(i));
        }
        u.record_failure(v4(100), 40);
        assert!(u.tracked() <= 32);
        assert!(u.check(v4(0), 40).is_ok(), "oldest forgotten");
        assert!(u.check(v4(31), 40).is_err(), "newest kept");
        assert!(u.check(v4(100), 40).is_err(), "new one tracked");

        // A flood of new addresses never grows the table past its bound.
        let mut f = Throttle::new(1, 1, 4, 1000);
        for i in 0..20_000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            f.record_failure(ip, i64::from(i));
            assert!(f.tracked() <= 1000);
        }
    }

    #[test]
    fn attempts_are_reserved_atomically_refunded_on_success_and_capped_in_flight() {
        let t = Mutex::new(Throttle::new(10, 1, 4, 100));
        let now = 1_000;
        // Four in flight at once; a fifth is refused without taking a token.
        let held: Vec<_> = (0..4)
            .map(|_| Attempt::begin(&t, v4(1), now).unwrap())
            .collect();
        assert_eq!(Attempt::begin(&t, v4(1), now).err(), Some(Refusal::Busy));
        assert_eq!(lock(&t).in_flight(v4(1)), 4);
        // Other addresses are not affected.
        Attempt::begin(&t, v4(2), now).unwrap().succeeded(now);
        drop(held);
        assert_eq!(lock(&t).in_flight(v4(1)), 0);
        // Four tokens were used by the four failures; six remain, then none.
        for _ in 0..6 {
            drop(Attempt::begin(&t, v4(1), now).unwrap());
        }
        assert!(matches!(
            Attempt::begin(&t, v4(1), now).err(),
            Some(Refusal::Empty(_))
        ));
        // A success gives its token back, so a correct password never uses up the burst.
        let u = Mutex::new(Throttle::new(2, 1, 4, 100));
        for _ in 0..50 {
            Attempt::begin(&u, v4(3), now).unwrap().succeeded(now);
        }
        drop(Attempt::begin(&u, v4(3), now).unwrap());
        drop(Attempt::begin(&u, v4(3), now).unwrap());
        assert!(Attempt::begin(&u, v4(3), now).is_err());
    }

    #[test]
    fn concurrent_attempts_never_pass_more_than_the_burst() {
        let t = std::sync::Arc::new(Mutex::new(Throttle::new(10, 1, 1000, 100)));
        let passed = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (t, passed) = (t.clone(), passed.clone());
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        if let Ok(a) = Attempt::begin(&t, v4(9), 5_000) {
                            passed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            drop(a);
                        }
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        assert_eq!(passed.load(std::sync::atomic::Ordering::SeqCst), 10);
    }

    #[test]
    fn unknown_addresses_cost_no_memory() {
        let t = Throttle::new(5, 1, 4, 10);
        for i in 0..100u8 {
            assert!(t.check(v4(i), 0).is_ok());
        }
        assert_eq!(t.tracked(), 0);
    }
}
