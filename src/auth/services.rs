//! Long-lived authentication resources shared by the server and the console: the hashing pool,
//! the common-password list, the per-address throttle, and the mail wake-up signal.

use super::AuthError;
use super::password::{HashParams, PasswordHasher};
use super::policy::CommonPasswords;
use super::throttle::{Attempt, Refusal, Throttle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

pub struct AuthServices {
    pub hasher: PasswordHasher,
    pub common: CommonPasswords,
    pub throttle: Mutex<Throttle>,
    /// Poked after a transaction that queued mail commits, so the sender does not wait for its timer.
    pub mail_wakeup: Arc<Notify>,
    /// Only queue notification mail when an SMTP server is configured.
    pub mail_enabled: bool,
    /// Sign-in outcomes and throttle refusals since start, for the monitoring endpoint.
    pub counts: SignInCounts,
    /// The words of the mails people get, in each language; the same catalogue pages use
    /// (`AppState.catalogue` is this one).
    pub catalogue: Arc<crate::i18n::Catalogue>,
    /// The zone the times in mails are written in (the server's `time_zone`, as on pages).
    pub time_zone: chrono_tz::Tz,
}

/// The steps and outcomes [`SignInCounts`] tells apart (fixed, so the metric labels are bounded).
pub const SIGNIN_STEPS: [&str; 2] = ["password", "second_factor"];
pub const SIGNIN_OUTCOMES: [&str; 5] = ["accepted", "rejected", "throttled", "invalid", "error"];

/// Counters only: no lock, nothing that grows with the number of clients or names tried.
#[derive(Default)]
pub struct SignInCounts {
    steps: [[AtomicU64; SIGNIN_OUTCOMES.len()]; SIGNIN_STEPS.len()],
    throttled: AtomicU64,
}

impl SignInCounts {
    /// Counts one finished step; names outside the fixed lists are not counted.
    pub fn record(&self, step: &str, outcome: &str) {
        let s = SIGNIN_STEPS.iter().position(|x| *x == step);
        let o = SIGNIN_OUTCOMES.iter().position(|x| *x == outcome);
        if let (Some(s), Some(o)) = (s, o) {
            self.steps[s][o].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (step, outcome, count) for every pair.
    pub fn figures(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut out = Vec::new();
        for (s, step) in SIGNIN_STEPS.iter().enumerate() {
            for (o, outcome) in SIGNIN_OUTCOMES.iter().enumerate() {
                out.push((*step, *outcome, self.steps[s][o].load(Ordering::Relaxed)));
            }
        }
        out
    }

    /// Attempts the per-address throttle refused, whatever asked (sign-in, codes, re-authentication).
    pub fn throttle_refusals(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }
}

impl AuthServices {
    /// `workers`: concurrent Argon2 computations (one per core); `queue`: waiting sign-ins beyond
    /// which new ones get "busy" instead of memory.
    pub fn new(workers: usize, queue: usize, mail_enabled: bool) -> Result<Self, AuthError> {
        Ok(Self {
            hasher: PasswordHasher::new(HashParams::default(), workers.max(1), queue.max(1))?,
            common: CommonPasswords::load(),
            // 10 failures in a burst per address (or /64), then one more every 6 s; at most 4
            // attempts of one address in flight.
            throttle: Mutex::new(Throttle::new(10, 10, 4, 100_000)),
            mail_wakeup: Arc::new(Notify::new()),
            mail_enabled,
            counts: SignInCounts::default(),
            catalogue: Arc::new(crate::i18n::Catalogue::embedded()),
            time_zone: chrono_tz::UTC,
        })
    }

    /// The same services writing the times of their mails in `tz`.
    pub fn with_time_zone(mut self, tz: chrono_tz::Tz) -> Self {
        self.time_zone = tz;
        self
    }

    /// What notification mails are written with, or `None` when no SMTP server is configured
    /// (then none is queued).
    pub fn mail(&self) -> Option<crate::i18n::MailWords> {
        self.mail_enabled.then(|| self.words())
    }

    /// What mails are written with, for the mails a step sends whatever `mail_enabled` says
    /// (a code the person asked for).
    pub fn words(&self) -> crate::i18n::MailWords {
        crate::i18n::MailWords::new(self.catalogue.clone(), self.time_zone)
    }

    /// Reserves a password or code attempt for `ip` before any work (see `throttle::Attempt`).
    pub fn begin_attempt(
        &self,
        ip: std::net::IpAddr,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Attempt<'_>, Refusal> {
        let attempt = Attempt::begin(&self.throttle, ip, now.timestamp_millis());
        if attempt.is_err() {
            self.counts.throttled.fetch_add(1, Ordering::Relaxed);
        }
        attempt
    }

    /// Which stored recovery code (rowid, Argon2 hash) `typed` is, if any. Each is checked with
    /// Argon2: recovery codes are long-lived secrets.
    pub async fn matching_recovery_code(
        &self,
        typed: &str,
        stored: Vec<(i64, String)>,
    ) -> Result<Option<i64>, AuthError> {
        let normal = super::totp::normalise_recovery_code(typed);
        for (rowid, hash) in stored {
            if self.hasher.verify(normal.clone(), &hash).await?.ok {
                return Ok(Some(rowid));
            }
        }
        Ok(None)
    }

    pub fn wake_mail(&self) {
        self.mail_wakeup.notify_one();
    }
}
