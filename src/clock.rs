//! The one source of time. Code that needs "now" receives a `Clock`; nothing else reads the system time.

use chrono::{DateTime, Utc};
use std::sync::Arc;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// Wall-clock time of the host.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one place that reads the host's clock (clippy's disallowed-methods keeps it so).
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

pub type SharedClock = Arc<dyn Clock>;

pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that stands still until moved; for unit tests of time-dependent rules.
#[cfg(test)]
pub struct FixedClock(pub std::sync::Mutex<DateTime<Utc>>);

#[cfg(test)]
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// RFC 3339 with seconds, UTC, sortable as text: the form every stored time uses.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
