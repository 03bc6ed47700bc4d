//! Long-lived authentication resources shared by the server and the console: the hashing pool,
//! the common-password list, the per-address throttle, and the mail wake-up signal.

use super::AuthError;
use super::password::{HashParams, PasswordHasher};
use super::policy::CommonPasswords;
use super::throttle::{Attempt, Refusal, Throttle};
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
        })
    }

    /// Reserves a password or code attempt for `ip` before any work (see `throttle::Attempt`).
    pub fn begin_attempt(
        &self,
        ip: std::net::IpAddr,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Attempt<'_>, Refusal> {
        Attempt::begin(&self.throttle, ip, now.timestamp_millis())
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
