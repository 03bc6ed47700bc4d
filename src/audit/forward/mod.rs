//! Forwarding of security-log events to a customer syslog/SIEM (RFC 5424, RFC 6587, RFC 5425).
//!
//! The database stays the record of truth; this module is a best-effort copy for the
//! customer's SIEM and must never slow down or fail the code path that records an event.
//!
//! # Facility and severity
//! Facility is **10 (authpriv)**, not 13 (log audit). Every collector knows authpriv by
//! name (`authpriv.*`) and stock rsyslog/syslog-ng configurations route it to a restricted
//! file (`/var/log/secure`, `auth.log`) and exclude it from general logs; facility 13 has no
//! symbolic name in glibc or rsyslog, so it would land wherever unmatched traffic goes.
//!
//! Severity ([`severity_for`]):
//! * 4 warning — lockouts: `account_locked`, any event ending in `_locked` or containing
//!   `lockout` (a threshold was crossed; an attack may be in progress);
//! * 5 notice — `support_granted` (outside access to the instance), any outcome `failure`
//!   and any outcome that is neither `success` nor `failure` (unknown ⇒ worth a look);
//! * 6 informational — every other successful event.
//!
//! # Delivery semantics
//! Best effort with a single resend: events wait in a bounded queue while the collector is
//! unreachable (they do not lose their turn during backoff). A write that fails or times
//! out may have delivered part or all of the frame, so that event is resent once on a new
//! connection and dropped (counted in `dropped`) if that fails too. Consequences:
//! duplicates are possible (the collector can de-duplicate on `id`/`hash`), and loss is
//! possible because TCP syslog has no application acknowledgement: bytes accepted by the
//! kernel just before the peer vanishes are lost silently (RFC 6587 §4). A closed peer is
//! noticed while idle, which narrows that window. Events still queued when `shutdown`
//! times out, or when the `Forwarder` is dropped without `shutdown`, are discarded.
//!
//! The parts: the message format (`rfc5424`), the connection to the collector
//! (`transport`), the delivery loop with its resend and backoff rules (`delivery`), and the
//! handle callers hold ([`Forwarder`], `forwarder`). This file owns what they share: the
//! configuration, the event, the counters and the error.

mod delivery;
mod forwarder;
mod rfc5424;
#[cfg(test)]
mod test_support;
mod transport;

use std::path::PathBuf;

pub use forwarder::Forwarder;
pub use rfc5424::{
    FACILITY, MAX_MESSAGE_LEN, SD_ID, SEVERITY_INFORMATIONAL, SEVERITY_NOTICE, SEVERITY_WARNING,
    format_rfc5424, severity_for,
};

/// A suggested queue size for [`ForwardConfig::queue`].
pub const DEFAULT_QUEUE: usize = 10_000;
/// Upper bound on [`ForwardConfig::queue`], so a typo cannot reserve unbounded memory.
pub const MAX_QUEUE: usize = 1_000_000;

/// Where and how to forward. Only started by the caller when forwarding is configured.
#[derive(Debug, Clone)]
pub struct ForwardConfig {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub ca_file: Option<PathBuf>,
    /// Normally "holdfast".
    pub app_name: String,
    /// This machine's name as the SIEM should show it.
    pub hostname: String,
    /// Maximum number of accepted but not yet delivered events (including the one in flight).
    pub queue: usize,
    /// The gate the connection to the collector goes through (`host:port` must be configured).
    pub egress: std::sync::Arc<crate::egress::Egress>,
}

/// One security-log entry, already committed to the database.
#[derive(Debug, Clone)]
pub struct ForwardEvent {
    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-22T10:00:00.123Z`.
    pub at: String,
    pub instance: String,
    pub event: String,
    pub actor: String,
    pub target: String,
    /// IP address or "console".
    pub source: String,
    /// "success" or "failure".
    pub outcome: String,
    pub details: serde_json::Value,
    pub id: i64,
    pub hash: String,
}

/// A snapshot of the forwarder's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwarderStats {
    pub sent: u64,
    pub dropped: u64,
    pub connected: bool,
    /// Most recent failure; kept after recovery so operators can see what went wrong.
    /// Built from I/O and TLS error texts only, never from event content or key material.
    pub last_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("syslog forwarding configuration: {0}")]
    Config(String),
}
