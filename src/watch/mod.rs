//! The watch: rules over the security log as it is written (`detect.rs`), scheduled checks of the
//! chain, backups, certificate and disk (`health.rs`), the loop that feeds them committed rows and
//! mails alerts (`run.rs`), and alerts as records — raised, folded, acknowledged, closed, audited.

pub mod detect;
pub mod health;
pub mod run;

use crate::audit::{self, By, Entry, Event};
use crate::clock::stamp;
use crate::config::AlertThresholds;
use crate::i18n::{Arg, Locale, MailWords, Message, Sentence, Tr};
use crate::instances::Instance;
use crate::storage::alerts::{self as store, Raise};
use crate::storage::{StorageError, Transaction, settings};
use chrono::{DateTime, Utc};
use serde_json::json;

pub use crate::storage::alerts::AlertRow;

/// How bad an alert is; decides immediate mail (high, critical) or the digest (the rest), and the
/// syslog severity of its `alert_raised` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Every rule the watch knows, with its fixed severity. The string forms are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    PasswordSpraying,
    LockoutWave,
    AdminNewAddress,
    SupportActivity,
    AdminGranted,
    PermissionGranted,
    PolicyWeakened,
    TokenCreated,
    TokenNewAddress,
    MassExport,
    BackupFailed,
    BackupStale,
    LogChainBroken,
    CertificateExpiry,
    DiskLow,
    WebhookFailing,
}

impl Rule {
    pub const ALL: [Rule; 16] = [
        Rule::PasswordSpraying,
        Rule::LockoutWave,
        Rule::AdminNewAddress,
        Rule::SupportActivity,
        Rule::AdminGranted,
        Rule::PermissionGranted,
        Rule::PolicyWeakened,
        Rule::TokenCreated,
        Rule::TokenNewAddress,
        Rule::MassExport,
        Rule::BackupFailed,
        Rule::BackupStale,
        Rule::LogChainBroken,
        Rule::CertificateExpiry,
        Rule::DiskLow,
        Rule::WebhookFailing,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Rule::PasswordSpraying => "password_spraying",
            Rule::LockoutWave => "lockout_wave",
            Rule::AdminNewAddress => "admin_new_address",
            Rule::SupportActivity => "support_activity",
            Rule::AdminGranted => "admin_granted",
            Rule::PermissionGranted => "permission_granted",
            Rule::PolicyWeakened => "policy_weakened",
            Rule::TokenCreated => "token_created",
            Rule::TokenNewAddress => "token_new_address",
            Rule::MassExport => "mass_export",
            Rule::BackupFailed => "backup_failed",
            Rule::BackupStale => "backup_stale",
            Rule::LogChainBroken => "log_chain_broken",
            Rule::CertificateExpiry => "certificate_expiry",
            Rule::DiskLow => "disk_low",
            Rule::WebhookFailing => "webhook_failing",
        }
    }

    pub const fn severity(self) -> Severity {
        match self {
            Rule::LogChainBroken => Severity::Critical,
            Rule::PermissionGranted | Rule::TokenCreated | Rule::DiskLow => Severity::Medium,
            _ => Severity::High,
        }
    }

    pub fn parse(s: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("no alert {0}")]
    NotFound(i64),
    #[error("{0}")]
    Invalid(Sentence),
    #[error("{0}")]
    Storage(#[from] StorageError),
}

/// One finding, before it is folded into an alert.
pub struct Finding {
    pub rule: Rule,
    /// What the alert is about, as the text that folds repeats (stable across languages).
    pub subject: String,
    /// The same, as pages and mails name it; `None` for a name or a path, shown as it is.
    pub subject_words: Option<Message>,
    /// Worded in English for the stored summary (syslog, webhooks, API) and in each reader's
    /// language on the page and in mails.
    pub summary: Message,
    /// Query string of the security-log page that shows the events behind it.
    pub log_filter: String,
    pub event_id: Option<i64>,
}

/// Folds `f` into its alert in the caller's transaction. A new alert is audited (the syslog
/// stream carries it with its severity) and, when high or critical and `mail` is on, mailed to
/// the administrators at once, each in their language. Returns whether a mail was queued.
pub fn raise(
    tx: &Transaction,
    now: DateTime<Utc>,
    words: &MailWords,
    mail: bool,
    f: &Finding,
) -> Result<bool, StorageError> {
    let now_s = stamp(now);
    let severity = f.rule.severity();
    let english = f.summary.render(&words.in_locale(Locale::En));
    let (row, new) = store::raise(
        tx,
        &Raise {
            rule: f.rule.as_str(),
            subject: &f.subject,
            severity: severity.as_str(),
            summary: &english,
            summary_words: &f.summary.to_json(),
            subject_words: &f
                .subject_words
                .as_ref()
                .map(Message::to_json)
                .unwrap_or_default(),
            log_filter: &f.log_filter,
            event_id: f.event_id,
            now: &now_s,
        },
    )?;
    if !new {
        return Ok(false);
    }
    audit::write(
        tx,
        now,
        Entry::new(
            Event::AlertRaised,
            audit::Actor::System,
            format!("alert {}", row.id),
            "-",
        )
        .with(json!({
            "rule": row.rule,
            "severity": row.severity,
            "subject": row.subject,
            "summary": row.summary,
            "events": row.events,
        })),
    )?;
    crate::webhooks::emit(
        tx,
        now,
        crate::webhooks::ALERT_RAISED,
        &json!({
            "id": row.id,
            "rule": row.rule,
            "severity": row.severity,
            "subject": row.subject,
            "summary": row.summary,
            "first_seen": row.first_seen,
        }),
    )?;
    if severity >= Severity::High && mail {
        crate::mail::notify_admins_in(tx, words, now, |w| {
            let rule = w.t(&format!("alert-rule-{}", row.rule));
            let level = w.t(&format!("alert-severity-{}", row.severity));
            (
                w.with(
                    "mail-alert-subject",
                    &[
                        ("severity", level.as_str().into()),
                        ("rule", rule.as_str().into()),
                        ("code", row.rule.as_str().into()),
                    ],
                ),
                format!(
                    "{}\n\n{}\n{}\n{}\n{}\n\n{}",
                    summary_in(&row, w),
                    w.t1("mail-alert-rule", "rule", &rule),
                    w.t1("mail-alert-severity", "severity", &level),
                    w.t1("mail-alert-about", "subject", subject_in(&row, w)),
                    w.t1(
                        "mail-alert-first-seen",
                        "at",
                        w.when_stored(&row.first_seen)
                    ),
                    w.t("mail-alert-advice"),
                ),
            )
        })?;
        store::mark_mailed(tx, &[row.id], &now_s)?;
        return Ok(true);
    }
    Ok(false)
}

/// What `row` says, in `tr`'s language (its stored English for alerts raised before summaries
/// were kept as messages).
pub fn summary_in(row: &AlertRow, tr: &Tr) -> String {
    match Message::from_json(&row.summary_words) {
        Some(m) => m.render(tr),
        None => row.summary.clone(),
    }
}

/// What `row` is about, in `tr`'s language (a name or a path as it is).
pub fn subject_in(row: &AlertRow, tr: &Tr) -> String {
    match Message::from_json(&row.subject_words) {
        Some(m) => m.render(tr),
        None => row.subject.clone(),
    }
}

/// Every alert that is not closed, then the newest 100 closed ones.
pub async fn list(inst: &Instance) -> Result<Vec<AlertRow>, StorageError> {
    inst.db.read(|c| store::list(c, 100)).await
}

/// Open alerts (not acknowledged) by severity.
pub async fn open_counts(inst: &Instance) -> Result<Vec<(String, i64)>, StorageError> {
    inst.db.read(store::open_counts).await
}

/// `open_counts` for the doctor, which runs without a runtime.
pub fn open_counts_blocking(inst: &Instance) -> Result<Vec<(String, i64)>, StorageError> {
    inst.db.read_blocking(store::open_counts)
}

/// The longest note kept with an alert.
pub const MAX_NOTE_CHARS: usize = 1000;

/// Moves an alert to `acknowledged` (with a note) or `closed`, audited in the same transaction.
pub async fn change_state(
    inst: &Instance,
    by: By,
    id: i64,
    close: bool,
    note: String,
) -> Result<AlertRow, WatchError> {
    let note = note.trim().to_string();
    if !close && note.is_empty() {
        return Err(WatchError::Invalid(Sentence::new(
            "alert-invalid-no-note",
            "a note is required to acknowledge an alert (what was checked, who acts)",
        )));
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(WatchError::Invalid(
            Sentence::new(
                "alert-invalid-note-long",
                format!("the note is longer than {MAX_NOTE_CHARS} characters"),
            )
            .arg("max", MAX_NOTE_CHARS),
        ));
    }
    inst.db
        .write(move |tx| -> Result<AlertRow, WatchError> {
            let before = store::get(tx, id)?.ok_or(WatchError::NotFound(id))?;
            let (state, event) = if close {
                ("closed", Event::AlertClosed)
            } else {
                ("acknowledged", Event::AlertAcknowledged)
            };
            if before.state == "closed" {
                return Err(WatchError::Invalid(
                    Sentence::new(
                        "alert-invalid-closed",
                        format!("alert {id} is already closed"),
                    )
                    .arg("id", id),
                ));
            }
            let now = stamp(by.now);
            let who = by.actor.name();
            let note_opt = (!note.is_empty()).then_some(note.as_str());
            store::set_state(tx, id, state, note_opt, &who, &now)?;
            audit::write(
                tx,
                by.now,
                Entry::new(event, by.actor, format!("alert {id}"), by.source).with(json!({
                    "rule": before.rule,
                    "subject": before.subject,
                    "from": before.state,
                    "to": state,
                    "note": note,
                })),
            )?;
            store::get(tx, id)?.ok_or(WatchError::NotFound(id))
        })
        .await
}

const THRESHOLDS_KEY: &str = "alerts.thresholds";

/// The instance's thresholds: what an administrator saved, else the configuration's defaults.
pub fn thresholds_in(
    conn: &crate::storage::Connection,
    defaults: &AlertThresholds,
) -> Result<AlertThresholds, StorageError> {
    Ok(settings::get(conn, THRESHOLDS_KEY)?
        .and_then(|t| serde_json::from_str::<AlertThresholds>(&t).ok())
        .filter(|t| t.validate().is_ok())
        .unwrap_or(*defaults))
}

pub async fn thresholds(
    inst: &Instance,
    defaults: AlertThresholds,
) -> Result<AlertThresholds, StorageError> {
    inst.db.read(move |c| thresholds_in(c, &defaults)).await
}

/// Saves the thresholds (each checked against its range) with one audit event naming what changed.
pub async fn set_thresholds(
    inst: &Instance,
    by: By,
    defaults: AlertThresholds,
    changes: Vec<(String, String)>,
) -> Result<AlertThresholds, WatchError> {
    inst.db
        .write(move |tx| -> Result<AlertThresholds, WatchError> {
            let before = thresholds_in(tx, &defaults)?;
            let mut after = before;
            for (name, value) in &changes {
                let setting = Arg::Key(format!("alert-threshold-{name}"));
                let v: u32 = value.trim().parse().map_err(|_| {
                    WatchError::Invalid(
                        Sentence::new(
                            "alert-invalid-not-number",
                            format!("{name}: `{value}` is not a number"),
                        )
                        .arg("setting", setting.clone())
                        .arg("value", value.as_str()),
                    )
                })?;
                after.set(name, v).map_err(|e| {
                    let range = AlertThresholds::RANGES.iter().find(|(n, _, _)| n == name);
                    WatchError::Invalid(match range {
                        Some((_, lo, hi)) => Sentence::new("alert-invalid-range", e)
                            .arg("setting", setting.clone())
                            .arg("value", v)
                            .arg("min", *lo)
                            .arg("max", *hi),
                        None => {
                            Sentence::new("alert-invalid-unknown", e).arg("name", name.as_str())
                        }
                    })
                })?;
            }
            if after == before {
                return Ok(after);
            }
            let text = serde_json::to_string(&after).map_err(|e| {
                WatchError::Invalid(Sentence::new(
                    "alert-invalid-not-saved",
                    format!("thresholds not saved: {e}"),
                ))
            })?;
            settings::set(tx, THRESHOLDS_KEY, &text, &stamp(by.now))?;
            let changed: serde_json::Map<String, serde_json::Value> = before
                .pairs()
                .iter()
                .zip(after.pairs().iter())
                .filter(|(b, a)| b.1 != a.1)
                .map(|(b, a)| (b.0.to_string(), json!({ "from": b.1, "to": a.1 })))
                .collect();
            audit::write(
                tx,
                by.now,
                Entry::new(Event::AlertRulesChanged, by.actor, "alert rules", by.source)
                    .with(serde_json::Value::Object(changed)),
            )?;
            Ok(after)
        })
        .await
}
