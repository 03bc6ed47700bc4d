//! Throttle benchmark (not a test): holdfast's per-address throttle against `governor`'s keyed
//! GCRA limiter, the well-kept alternative issue 11 named. Prints the cost of one attempt
//! (reserve, then give back or keep) on one and two threads, and what each lets through for an
//! office behind one address whose people all type their password right. In-process; bounded in
//! count.
// Test and measurement code: a failed unwrap is a failed test, and the host clock is what it
// measures against (the production rules in Cargo.toml [lints] do not apply here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use governor::{Quota, RateLimiter};
use holdfast::auth::throttle::{Attempt, Throttle};
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Instant;

const OPS: u64 = 2_000_000;
const ADDRESSES: u32 = 10_000;
const BURST: u32 = 10;

fn addr(i: u64) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i as u32 % ADDRESSES)))
}

/// Runs `op` `OPS` times split over `threads`; nanoseconds per op.
fn timed(threads: u64, op: &(dyn Fn(u64) + Sync)) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for i in 0..OPS / threads {
                    op(t * OPS + i);
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / OPS as f64
}

fn main() {
    let quota = Quota::per_minute(NonZeroU32::new(BURST).unwrap_or(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(BURST).unwrap_or(NonZeroU32::MIN));
    println!("throttle: {OPS} attempts over {ADDRESSES} addresses, burst {BURST}");
    for threads in [1u64, 2] {
        let ours = Mutex::new(Throttle::new(BURST, BURST, 4, 100_000));
        // A fixed clock: every attempt of the run happens in the same millisecond, so each
        // address's burst runs out and later attempts are refused, as under attack.
        let ours_ns = timed(threads, &|i| {
            if let Ok(a) = Attempt::begin(&ours, addr(i), 1_000)
                && i % 2 == 0
            {
                a.succeeded(1_000);
            }
        });
        let gov = RateLimiter::keyed(quota);
        let gov_ns = timed(threads, &|i| {
            let _ = gov.check_key(&addr(i));
        });
        println!(
            "  {threads} thread(s): holdfast {ours_ns:.0} ns/attempt, governor {gov_ns:.0} ns/attempt, ratio {:.2}",
            ours_ns / gov_ns
        );
    }
    // Thirty people behind one NAT address sign in correctly within a second.
    let ours = Mutex::new(Throttle::new(BURST, BURST, 4, 100_000));
    let mut ours_admitted = 0;
    for i in 0..30 {
        if let Ok(a) = Attempt::begin(&ours, addr(0), i) {
            ours_admitted += 1;
            a.succeeded(i);
        }
    }
    let gov = RateLimiter::keyed(quota);
    let gov_admitted = (0..30).filter(|_| gov.check_key(&addr(0)).is_ok()).count();
    println!(
        "  30 correct sign-ins from one address in a second: holdfast admits {ours_admitted}, governor {gov_admitted} (it cannot give a cell back)"
    );
    println!("  load average: {}", load_average());
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
