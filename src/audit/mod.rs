//! The security log: the typed event catalogue, the one writer (same transaction as the change),
//! hash-chain verification, and queries.

pub mod checkpoint;
pub mod egress;
pub mod forward;
pub mod log;
pub mod refusals;
pub mod tail;

use crate::storage::StorageError;
use crate::storage::audit::{self as store, AuditRow};
use crate::storage::{Connection, Transaction};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

pub use store::Filter;

/// Every kind of event the security log knows. The string forms are stable: SIEM rules match them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    LoginSucceeded,
    LoginFailed,
    AccountLocked,
    AccountUnlocked,
    SecondFactorSent,
    SecondFactorFailed,
    SecondFactorEnrolled,
    RecoveryCodeUsed,
    PasswordChanged,
    PasswordReset,
    SessionRevoked,
    SignedOut,
    UserCreated,
    UserDisabled,
    UserEnabled,
    GroupChanged,
    PermissionChanged,
    PolicyChanged,
    SupportGranted,
    SupportRevoked,
    SetupLinkIssued,
    SetupCompleted,
    MailTestSent,
    AuditExported,
    RecordCreated,
    RecordUpdated,
    RecordDeleted,
    RecordRestored,
    DataExported,
    DataImported,
    InvoiceIssued,
    TokenCreated,
    TokenRevoked,
    TokenUsed,
    UpdateVerified,
    UpdateRefused,
    BackupCompleted,
    BackupVerified,
    BackupRestored,
    BackupKeyExported,
    UpdateExtracted,
    UpdateApplied,
    UpdateFailed,
    UpdateRolledBack,
    EnrolmentVerified,
    EnrolmentCodeIssued,
    SecondFactorReset,
    EmailChanged,
    SigninNoticeChanged,
    CommentAdded,
    InvoiceLineAdded,
    InvoiceLineRemoved,
    TimeBilled,
    /// The instance's money settings (currency, tax rates, hourly rate, payment terms, locale).
    SettingsChanged,
    /// An issued invoice voided, with the reason; its number stays taken.
    InvoiceVoided,
    /// The seller's details on invoice documents (legal name, address, tax ID, bank account).
    InvoiceProfileChanged,
    /// Refused requests (403, CSRF, 429) of one address in one minute, counted (see `refusals`).
    AccessRefused,
    /// The watch opened an alert (its rule, severity and the events behind it in `details`).
    AlertRaised,
    /// An administrator acknowledged an alert, with a note.
    AlertAcknowledged,
    /// An administrator closed an alert.
    AlertClosed,
    /// An administrator changed the watch's thresholds.
    AlertRulesChanged,
    /// An administrator changed the accounts the accounting journal posts to.
    JournalAccountsChanged,
    /// An administrator registered a webhook endpoint (URL, events, scopes in `details`).
    WebhookAdded,
    /// An administrator disabled a webhook endpoint.
    WebhookDisabled,
    /// An administrator replaced a webhook endpoint's signing secret.
    WebhookSecretRotated,
    /// An administrator queued a finished webhook delivery again.
    WebhookRedelivered,
    /// A webhook delivery gave up after the retry window; the endpoint is marked failing.
    WebhookFailing,
    /// A person switched on their calendar feed (a new feed token).
    FeedCreated,
    /// A calendar feed token revoked (switched off, or replaced by a new one).
    FeedRevoked,
    /// A calendar feed fetched with its token (at most once an hour per token).
    FeedUsed,
    /// An administrator allowed or forbade calendar feeds on the instance.
    FeedsSettingChanged,
    /// An outbound connection to a destination nobody configured was refused (`egress`).
    EgressRefused,
}

impl Event {
    pub const ALL: &'static [Event] = &[
        Event::LoginSucceeded,
        Event::LoginFailed,
        Event::AccountLocked,
        Event::AccountUnlocked,
        Event::SecondFactorSent,
        Event::SecondFactorFailed,
        Event::SecondFactorEnrolled,
        Event::RecoveryCodeUsed,
        Event::PasswordChanged,
        Event::PasswordReset,
        Event::SessionRevoked,
        Event::SignedOut,
        Event::UserCreated,
        Event::UserDisabled,
        Event::UserEnabled,
        Event::GroupChanged,
        Event::PermissionChanged,
        Event::PolicyChanged,
        Event::SupportGranted,
        Event::SupportRevoked,
        Event::SetupLinkIssued,
        Event::SetupCompleted,
        Event::MailTestSent,
        Event::AuditExported,
        Event::RecordCreated,
        Event::RecordUpdated,
        Event::RecordDeleted,
        Event::RecordRestored,
        Event::DataExported,
        Event::DataImported,
        Event::InvoiceIssued,
        Event::TokenCreated,
        Event::TokenRevoked,
        Event::TokenUsed,
        Event::UpdateVerified,
        Event::UpdateRefused,
        Event::BackupCompleted,
        Event::BackupVerified,
        Event::BackupRestored,
        Event::BackupKeyExported,
        Event::UpdateExtracted,
        Event::UpdateApplied,
        Event::UpdateFailed,
        Event::UpdateRolledBack,
        Event::EnrolmentVerified,
        Event::EnrolmentCodeIssued,
        Event::SecondFactorReset,
        Event::EmailChanged,
        Event::SigninNoticeChanged,
        Event::CommentAdded,
        Event::InvoiceLineAdded,
        Event::InvoiceLineRemoved,
        Event::TimeBilled,
        Event::SettingsChanged,
        Event::InvoiceVoided,
        Event::InvoiceProfileChanged,
        Event::AccessRefused,
        Event::AlertRaised,
        Event::AlertAcknowledged,
        Event::AlertClosed,
        Event::AlertRulesChanged,
        Event::JournalAccountsChanged,
        Event::WebhookAdded,
        Event::WebhookDisabled,
        Event::WebhookSecretRotated,
        Event::WebhookRedelivered,
        Event::WebhookFailing,
        Event::FeedCreated,
        Event::FeedRevoked,
        Event::FeedUsed,
        Event::FeedsSettingChanged,
        Event::EgressRefused,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Event::LoginSucceeded => "login_succeeded",
            Event::LoginFailed => "login_failed",
            Event::AccountLocked => "account_locked",
            Event::AccountUnlocked => "account_unlocked",
            Event::SecondFactorSent => "second_factor_sent",
            Event::SecondFactorFailed => "second_factor_failed",
            Event::SecondFactorEnrolled => "second_factor_enrolled",
            Event::RecoveryCodeUsed => "recovery_code_used",
            Event::PasswordChanged => "password_changed",
            Event::PasswordReset => "password_reset",
            Event::SessionRevoked => "session_revoked",
            Event::SignedOut => "signed_out",
            Event::UserCreated => "user_created",
            Event::UserDisabled => "user_disabled",
            Event::UserEnabled => "user_enabled",
            Event::GroupChanged => "group_changed",
            Event::PermissionChanged => "permission_changed",
            Event::PolicyChanged => "policy_changed",
            Event::SupportGranted => "support_granted",
            Event::SupportRevoked => "support_revoked",
            Event::SetupLinkIssued => "setup_link_issued",
            Event::SetupCompleted => "setup_completed",
            Event::MailTestSent => "mail_test_sent",
            Event::AuditExported => "audit_exported",
            Event::RecordCreated => "record_created",
            Event::RecordUpdated => "record_updated",
            Event::RecordDeleted => "record_deleted",
            Event::RecordRestored => "record_restored",
            Event::DataExported => "data_exported",
            Event::DataImported => "data_imported",
            Event::InvoiceIssued => "invoice_issued",
            Event::TokenCreated => "token_created",
            Event::TokenRevoked => "token_revoked",
            Event::TokenUsed => "token_used",
            Event::UpdateVerified => "update_verified",
            Event::UpdateRefused => "update_refused",
            Event::BackupCompleted => "backup_completed",
            Event::BackupVerified => "backup_verified",
            Event::BackupRestored => "backup_restored",
            Event::BackupKeyExported => "backup_key_exported",
            Event::UpdateExtracted => "update_extracted",
            Event::UpdateApplied => "update_applied",
            Event::UpdateFailed => "update_failed",
            Event::UpdateRolledBack => "update_rolled_back",
            Event::EnrolmentVerified => "enrolment_verified",
            Event::EnrolmentCodeIssued => "enrolment_code_issued",
            Event::SecondFactorReset => "second_factor_reset",
            Event::EmailChanged => "email_changed",
            Event::SigninNoticeChanged => "signin_notice_changed",
            Event::CommentAdded => "comment_added",
            Event::InvoiceLineAdded => "invoice_line_added",
            Event::InvoiceLineRemoved => "invoice_line_removed",
            Event::TimeBilled => "time_billed",
            Event::SettingsChanged => "settings_changed",
            Event::InvoiceVoided => "invoice_voided",
            Event::InvoiceProfileChanged => "invoice_profile_changed",
            Event::AccessRefused => "access_refused",
            Event::AlertRaised => "alert_raised",
            Event::AlertAcknowledged => "alert_acknowledged",
            Event::AlertClosed => "alert_closed",
            Event::AlertRulesChanged => "alert_rules_changed",
            Event::JournalAccountsChanged => "journal_accounts_changed",
            Event::WebhookAdded => "webhook_added",
            Event::WebhookDisabled => "webhook_disabled",
            Event::WebhookSecretRotated => "webhook_secret_rotated",
            Event::WebhookRedelivered => "webhook_redelivered",
            Event::WebhookFailing => "webhook_failing",
            Event::FeedCreated => "feed_created",
            Event::FeedRevoked => "feed_revoked",
            Event::FeedUsed => "feed_used",
            Event::FeedsSettingChanged => "feeds_setting_changed",
            Event::EgressRefused => "egress_refused",
        }
    }

    pub fn parse(s: &str) -> Option<Event> {
        Event::ALL.iter().copied().find(|e| e.as_str() == s)
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user (`support` marks the vendor's time-limited support account).
    User { name: String, support: bool },
    /// The local console on the server.
    Console,
    /// holdfast itself (expiry, scheduled jobs).
    System,
    /// Someone not (yet) identified, e.g. a failed sign-in.
    Anonymous,
    /// A connected service using an API token.
    Token { service: String },
}

impl Actor {
    /// The name shown in change histories.
    pub fn name(&self) -> String {
        let (n, k) = self.parts();
        if k == "user" {
            n.to_string()
        } else {
            format!("{n} ({k})")
        }
    }

    fn parts(&self) -> (&str, &str) {
        match self {
            Actor::User {
                name,
                support: false,
            } => (name, "user"),
            Actor::User {
                name,
                support: true,
            } => (name, "support"),
            Actor::Console => ("console", "console"),
            Actor::System => ("holdfast", "system"),
            Actor::Anonymous => ("-", "anonymous"),
            Actor::Token { service } => (service, "token"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

/// Who acts, from where, and when: the context every audited change carries.
#[derive(Debug, Clone)]
pub struct By {
    pub actor: Actor,
    pub source: String,
    pub now: DateTime<Utc>,
}

/// One event to record. `details` must never hold a password, code or token.
pub struct Entry {
    pub event: Event,
    pub actor: Actor,
    pub target: String,
    pub source: String,
    pub outcome: Outcome,
    pub details: serde_json::Value,
}

impl Entry {
    pub fn new(
        event: Event,
        actor: Actor,
        target: impl Into<String>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            event,
            actor,
            target: target.into(),
            source: source.into(),
            outcome: Outcome::Success,
            details: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn failed(mut self) -> Self {
        self.outcome = Outcome::Failure;
        self
    }

    pub fn with(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why `row` does not follow a row whose hash is `prev`, if it does not.
fn link_problem(prev: &str, row: &AuditRow) -> Option<&'static str> {
    if row.prev_hash != prev {
        Some("does not link to the row before it (a row was removed or inserted)")
    } else if chain_hash(prev, row) != row.hash {
        Some("content does not match its hash (the row was altered)")
    } else {
        None
    }
}

fn chain_hash(prev: &str, r: &AuditRow) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &r.at,
        &r.event,
        &r.actor,
        &r.actor_kind,
        &r.target,
        &r.source,
        &r.outcome,
        &r.details,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Longest actor or target name kept in a row, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest source (an address) kept in a row.
pub const MAX_SOURCE_CHARS: usize = 64;
/// Longest text value inside `details`.
pub const MAX_DETAIL_TEXT_CHARS: usize = 1000;
/// Largest `details` object, serialised.
pub const MAX_DETAILS_BYTES: usize = 8 * 1024;

/// Cuts `s` to `max` characters with a visible marker saying how much was dropped, so that no
/// caller (however careless, or fed by an attacker) can make one event large.
pub fn cut(s: &str, max: usize) -> String {
    let total = s.chars().count();
    if total <= max {
        return s.to_string();
    }
    let kept: String = s.chars().take(max).collect();
    format!("{kept}…[cut {} characters]", total - max)
}

fn cut_details(v: serde_json::Value) -> String {
    use serde_json::Value;
    fn walk(v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(cut(&s, MAX_DETAIL_TEXT_CHARS)),
            Value::Array(a) => Value::Array(a.into_iter().map(walk).collect()),
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, v)| (cut(&k, MAX_DETAIL_TEXT_CHARS), walk(v)))
                    .collect(),
            ),
            other => other,
        }
    }
    let text = walk(v).to_string();
    if text.len() <= MAX_DETAILS_BYTES {
        return text;
    }
    serde_json::json!({
        "cut": format!("details of {} bytes were cut", text.len()),
        "excerpt": cut(&text, MAX_DETAIL_TEXT_CHARS),
    })
    .to_string()
}

/// The one audit writer: appends `entry` inside the caller's transaction, so the event and the change
/// it describes commit or fail together. Every text field is bounded (see [`cut`]).
pub fn write(tx: &Transaction, now: DateTime<Utc>, entry: Entry) -> Result<AuditRow, StorageError> {
    let prev = store::last_hash(tx)?.unwrap_or_else(|| GENESIS.to_string());
    let (actor, kind) = entry.actor.parts();
    let mut row = AuditRow {
        id: 0,
        at: crate::clock::stamp(now),
        event: entry.event.as_str().to_string(),
        actor: cut(actor, MAX_NAME_CHARS),
        actor_kind: kind.to_string(),
        target: cut(&entry.target, MAX_NAME_CHARS),
        source: cut(&entry.source, MAX_SOURCE_CHARS),
        outcome: match entry.outcome {
            Outcome::Success => "success".into(),
            Outcome::Failure => "failure".into(),
        },
        details: cut_details(entry.details),
        prev_hash: prev.clone(),
        hash: String::new(),
    };
    row.hash = chain_hash(&prev, &row);
    row.id = store::insert(tx, &row)?;
    Ok(row)
}

/// Result of walking the chain.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainReport {
    Intact { rows: u64 },
    Broken { id: i64, reason: String },
}

/// Recomputes every hash from the first row; any edit, deletion or reordering breaks the chain.
pub fn verify(conn: &Connection) -> Result<ChainReport, StorageError> {
    let mut prev = GENESIS.to_string();
    let mut count = 0u64;
    let mut broken: Option<(i64, String)> = None;
    store::for_each(conn, |row| {
        if broken.is_some() {
            return Ok(());
        }
        broken = link_problem(&prev, &row).map(|why| (row.id, why.to_string()));
        prev = row.hash.clone();
        count += 1;
        Ok(())
    })?;
    Ok(match broken {
        Some((id, reason)) => ChainReport::Broken { id, reason },
        None => ChainReport::Intact { rows: count },
    })
}

/// Where an incremental check of the chain got to.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// Every row up to this one (id and hash) links and matches; `None` for an empty log.
    Upto(Option<(i64, String)>),
    Broken {
        id: i64,
        reason: String,
    },
}

/// Checks the rows after `from`, a row verified before (its id and hash, which must still be
/// stored unchanged), or the whole chain when `from` is `None`. Reads 5000 rows at a time, so a
/// check every hour costs what an hour of events costs, not the whole log.
pub fn verify_from(
    conn: &Connection,
    from: Option<(i64, String)>,
) -> Result<Verified, StorageError> {
    let (after, prev) = match &from {
        Some((id, hash)) => {
            if store::hash_of(conn, *id)?.as_deref() != Some(hash.as_str()) {
                return Ok(Verified::Broken {
                    id: *id,
                    reason: "the row verified before was altered or removed".into(),
                });
            }
            (*id, hash.clone())
        }
        None => (0, GENESIS.to_string()),
    };
    walk(conn, after, prev, from, usize::MAX)
}

/// Checks up to `limit` rows after row `after` against the hash stored in that row: a slice of
/// the older log, so that repeated checks sweep the whole chain a slice at a time.
pub fn verify_slice(conn: &Connection, after: i64, limit: usize) -> Result<Verified, StorageError> {
    let prev = if after == 0 {
        GENESIS.to_string()
    } else {
        match store::hash_of(conn, after)? {
            Some(h) => h,
            None => {
                return Ok(Verified::Broken {
                    id: after,
                    reason: "the row was removed".into(),
                });
            }
        }
    };
    walk(conn, after, prev, None, limit)
}

fn walk(
    conn: &Connection,
    mut after: i64,
    mut prev: String,
    mut head: Option<(i64, String)>,
    limit: usize,
) -> Result<Verified, StorageError> {
    const BATCH: usize = 5000;
    let mut done = 0usize;
    loop {
        let take = BATCH.min(limit - done);
        let mut seen = 0usize;
        let mut broken: Option<(i64, String)> = None;
        store::for_each_after(conn, after, take, |row| {
            seen += 1;
            if broken.is_some() {
                return Ok(());
            }
            broken = link_problem(&prev, &row).map(|why| (row.id, why.to_string()));
            prev = row.hash.clone();
            after = row.id;
            head = Some((row.id, row.hash));
            Ok(())
        })?;
        if let Some((id, reason)) = broken {
            return Ok(Verified::Broken { id, reason });
        }
        done += seen;
        if seen < take || done >= limit {
            return Ok(Verified::Upto(head));
        }
    }
}

pub fn query(conn: &Connection, filter: &Filter) -> Result<Vec<AuditRow>, StorageError> {
    store::query(conn, filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh keyed database in a temporary directory (the unit tests of `audit/` share it).
    pub(in crate::audit) fn db() -> (tempfile::TempDir, crate::storage::Database) {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::crypto::Key256::generate().unwrap();
        let db = crate::storage::Database::open(
            &dir.path().join("db.sqlite"),
            &key,
            true,
            Default::default(),
        )
        .unwrap();
        (dir, db)
    }

    #[test]
    fn rows_cannot_be_changed_and_tampering_breaks_the_chain() {
        let (_dir, db) = db();
        let now = crate::clock::Clock::now(&crate::clock::SystemClock);
        for i in 0..3 {
            db.write_blocking(|tx| {
                write(
                    tx,
                    now,
                    Entry::new(
                        Event::LoginFailed,
                        Actor::Anonymous,
                        format!("u{i}"),
                        "192.0.2.1",
                    ),
                )
            })
            .unwrap();
        }
        assert_eq!(
            db.read_blocking(verify).unwrap(),
            ChainReport::Intact { rows: 3 }
        );
        let upd =
            db.write_blocking(|tx| tx.raw_sql_as_attacker("UPDATE audit_log SET target = 'x'"));
        assert!(upd.is_err(), "an audit row was updated");
        let del = db.write_blocking(|tx| tx.raw_sql_as_attacker("DELETE FROM audit_log"));
        assert!(del.is_err(), "an audit row was deleted");
        // Someone with the raw key who drops the trigger and edits a row is still caught.
        db.write_blocking(|tx| {
            tx.raw_sql_as_attacker(
                "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET target = 'mallory' WHERE id = 2;",
            )
        })
        .unwrap();
        match db.read_blocking(verify).unwrap() {
            ChainReport::Broken { id, .. } => assert_eq!(id, 2),
            other => panic!("tampering not detected: {other:?}"),
        }
    }

    #[test]
    fn every_field_is_cut_with_a_visible_marker() {
        let (_dir, db) = db();
        let now = crate::clock::Clock::now(&crate::clock::SystemClock);
        let huge = "x".repeat(5_000_000);
        let row = db
            .write_blocking(|tx| {
                write(
                    tx,
                    now,
                    Entry::new(
                        Event::LoginFailed,
                        Actor::User {
                            name: huge.clone(),
                            support: false,
                        },
                        huge.clone(),
                        huge.clone(),
                    )
                    .with(serde_json::json!({ "reason": huge, "list": vec!["y".repeat(900); 50] })),
                )
            })
            .unwrap();
        assert!(row.actor.chars().count() < MAX_NAME_CHARS + 40);
        assert!(
            row.target.ends_with("…[cut 4999800 characters]"),
            "{}",
            &row.target[190..]
        );
        assert!(row.source.chars().count() < MAX_SOURCE_CHARS + 40);
        assert!(row.details.len() <= MAX_DETAILS_BYTES + 2 * MAX_DETAIL_TEXT_CHARS);
        assert!(row.details.contains("were cut"), "{}", row.details);
        // A small entry is kept exactly, and the chain still verifies.
        let small = db
            .write_blocking(|tx| {
                write(
                    tx,
                    now,
                    Entry::new(Event::LoginFailed, Actor::Anonymous, "alice", "192.0.2.1")
                        .with(serde_json::json!({ "reason": "wrong password" })),
                )
            })
            .unwrap();
        assert_eq!(small.target, "alice");
        assert_eq!(small.details, r#"{"reason":"wrong password"}"#);
        assert_eq!(
            db.read_blocking(verify).unwrap(),
            ChainReport::Intact { rows: 2 }
        );
    }

    #[test]
    fn catalogue_round_trips() {
        for e in Event::ALL {
            assert_eq!(Event::parse(e.as_str()), Some(*e));
        }
        assert_eq!(Event::parse("nope"), None);
    }
}
