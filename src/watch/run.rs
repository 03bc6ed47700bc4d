//! The watch's loop: reads committed security-log rows after its cursor (kept in each instance's
//! settings, like the syslog forwarder's) and folds what the rules find into alerts; runs the
//! scheduled checks; sends the digest of alerts below high severity. Detection stays off the
//! request path: a request pays nothing for it but the rows it writes anyway.

use super::detect::{self, Context, Detector};
use super::{Finding, health, raise, thresholds_in};
use crate::clock::{SharedClock, stamp};
use crate::config::Config;
use crate::instances::{DEFAULT_INSTANCE, Instance, Registry};
use crate::storage::alerts as store;
use crate::storage::{StorageError, audit as log_store, settings};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

const CURSOR_KEY: &str = "watch.scanned_id";
const STARTED_KEY: &str = "watch.started_at";
/// Rows evaluated per transaction.
const BATCH: usize = 5000;

/// What the loop needs from the server.
pub struct Watch {
    pub config: Config,
    pub registry: Arc<Registry>,
    pub clock: SharedClock,
    /// Woken when an alert mail was queued, so it goes out now rather than at the next poll.
    pub mail_wakeup: Arc<Notify>,
    /// What alert mails are written with (each administrator reads them in their language).
    pub words: crate::i18n::MailWords,
}

/// Per-instance memory of the loop.
#[derive(Default)]
struct Seen {
    detector: Arc<Mutex<Detector>>,
    /// The last row evaluated; `None` until read from the instance's settings.
    cursor: Option<i64>,
    /// When the cursor was last stored: rows no rule looks at advance it at most every 30 s (a
    /// restart re-reads them, which raises nothing).
    persisted_at: Option<tokio::time::Instant>,
    chain: health::ChainState,
}

/// Runs until `stop` turns true.
pub async fn run(w: Watch, mut stop: tokio::sync::watch::Receiver<bool>) {
    let cfg = &w.config.alerts;
    let scan_every = Duration::from_millis(cfg.scan_interval_ms);
    let check_every = Duration::from_secs(cfg.check_interval_seconds);
    let digest_every = Duration::from_secs(cfg.digest_interval_seconds);
    let mut state: HashMap<String, Seen> = HashMap::new();
    let mut next_check = tokio::time::Instant::now();
    let mut next_digest = tokio::time::Instant::now() + digest_every;
    loop {
        for inst in w.registry.all() {
            let seen = state.entry(inst.name.clone()).or_default();
            match scan(&w, &inst, seen).await {
                Ok(true) => w.mail_wakeup.notify_one(),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(instance = %inst.name, error = %e, "watch: reading the security log failed")
                }
            }
        }
        if tokio::time::Instant::now() >= next_check {
            for inst in w.registry.all() {
                let seen = state.entry(inst.name.clone()).or_default();
                if let Err(e) = check(&w, &inst, seen).await {
                    tracing::warn!(instance = %inst.name, error = %e, "watch: scheduled check failed");
                }
            }
            next_check = tokio::time::Instant::now() + check_every;
        }
        if tokio::time::Instant::now() >= next_digest {
            if w.config.mail.is_some() {
                for inst in w.registry.all() {
                    match digest(&inst, &w.words, w.clock.now()).await {
                        Ok(true) => w.mail_wakeup.notify_one(),
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(instance = %inst.name, error = %e, "watch: alert digest failed")
                        }
                    }
                }
            }
            next_digest = tokio::time::Instant::now() + digest_every;
        }
        tokio::select! {
            _ = tokio::time::sleep(scan_every) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
}

/// Evaluates the rows written since the last scan; returns whether an alert mail was queued.
/// Rows are read on a reader connection and only the few a rule looks at (sign-ins, changes of
/// rights and policy, tokens, exports, backups, the support account) are evaluated in a write
/// transaction, so a burst of record changes costs the one writer nothing but a cursor update
/// every half minute.
async fn scan(w: &Watch, inst: &Instance, seen: &mut Seen) -> Result<bool, StorageError> {
    let head = inst.db.read(log_store::head).await?.map_or(0, |(id, _)| id);
    let now = w.clock.now();
    let cursor = match seen.cursor {
        Some(c) => c,
        None => {
            let c = inst
                .db
                .write(move |tx| {
                    let now_s = stamp(now);
                    if let Some(c) =
                        settings::get(tx, CURSOR_KEY)?.and_then(|v| v.parse::<i64>().ok())
                    {
                        return Ok::<_, StorageError>(c);
                    }
                    // The first run watches from now on: the history before it was nobody's alert.
                    let head = log_store::head(tx)?.map_or(0, |(id, _)| id);
                    settings::set(tx, CURSOR_KEY, &head.to_string(), &now_s)?;
                    settings::set(tx, STARTED_KEY, &now_s, &now_s)?;
                    Ok(head)
                })
                .await?;
            seen.cursor = Some(c);
            seen.persisted_at = Some(tokio::time::Instant::now());
            c
        }
    };
    if cursor >= head {
        return Ok(false);
    }
    let mut cursor = cursor;
    let mut mailed = false;
    // Bounded per tick, so one instance's backlog cannot starve the others.
    for _ in 0..20 {
        let after = cursor;
        let (rows, last) = inst
            .db
            .read(move |c| {
                log_store::matching_after(c, after, BATCH, &detect::WATCHED_EVENTS, detect::SUPPORT)
            })
            .await?;
        if last == cursor {
            break;
        }
        let persist_due = seen
            .persisted_at
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(30));
        if !rows.is_empty() || persist_due {
            let detector = Arc::clone(&seen.detector);
            let defaults = w.config.alerts.thresholds;
            let mail = w.config.mail.is_some();
            let words = w.words.clone();
            mailed |= inst
                .db
                .write(move |tx| -> Result<bool, StorageError> {
                    let th = thresholds_in(tx, &defaults)?;
                    let mut detector = detector.lock().unwrap_or_else(|p| p.into_inner());
                    let cx = Context { thresholds: &th };
                    let mut mailed = false;
                    for r in &rows {
                        for f in detector.row(tx, &cx, r)? {
                            mailed |= raise(tx, now, &words, mail, &f)?;
                        }
                    }
                    settings::set(tx, CURSOR_KEY, &last.to_string(), &stamp(now))?;
                    Ok(mailed)
                })
                .await?;
            seen.persisted_at = Some(tokio::time::Instant::now());
        }
        cursor = last;
        seen.cursor = Some(cursor);
    }
    Ok(mailed)
}

/// The chain of every instance; backups, certificate and disk for the operator's instance.
async fn check(w: &Watch, inst: &Arc<Instance>, seen: &mut Seen) -> Result<(), StorageError> {
    let broken = health::chain(inst, &mut seen.chain).await?;
    let mut findings: Vec<Finding> = broken.into_iter().collect();
    if inst.name == DEFAULT_INSTANCE {
        let defaults = w.config.alerts.thresholds;
        let (th, since) = inst
            .db
            .read(move |c| {
                let since = settings::get(c, STARTED_KEY)?
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&Utc));
                Ok::<_, StorageError>((thresholds_in(c, &defaults)?, since))
            })
            .await?;
        let config = w.config.clone();
        let now = w.clock.now();
        let found =
            tokio::task::spawn_blocking(move || health::appliance(&config, &th, now, since))
                .await
                .map_err(|_| StorageError::Worker)?;
        findings.extend(found);
    }
    if findings.is_empty() {
        return Ok(());
    }
    let mail = w.config.mail.is_some();
    let words = w.words.clone();
    let now = w.clock.now();
    let mailed = inst
        .db
        .write(move |tx| {
            let mut mailed = false;
            for f in &findings {
                mailed |= raise(tx, now, &words, mail, f)?;
            }
            Ok::<_, StorageError>(mailed)
        })
        .await?;
    if mailed {
        w.mail_wakeup.notify_one();
    }
    Ok(())
}

/// One message to the administrators listing every alert not mailed yet.
async fn digest(
    inst: &Instance,
    words: &crate::i18n::MailWords,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let words = words.clone();
    inst.db
        .write(move |tx| {
            let rows = store::unmailed(tx)?;
            if rows.is_empty() {
                return Ok(false);
            }
            crate::mail::notify_admins_in(tx, &words, now, |w| {
                let mut body = w.count("mail-digest-intro", rows.len());
                body.push_str("\n\n");
                for a in &rows {
                    body.push_str(&w.with(
                        "mail-digest-line",
                        &[
                            (
                                "severity",
                                w.t(&format!("alert-severity-{}", a.severity)).into(),
                            ),
                            ("rule", w.t(&format!("alert-rule-{}", a.rule)).into()),
                            ("subject", super::subject_in(a, w).into()),
                            ("summary", super::summary_in(a, w).into()),
                            ("at", w.when_stored(&a.first_seen).into()),
                            ("times", a.count.into()),
                            ("state", w.t(&format!("alert-state-{}", a.state)).into()),
                        ],
                    ));
                    body.push('\n');
                }
                body.push('\n');
                body.push_str(&w.t("mail-digest-advice"));
                (w.count("mail-digest-subject", rows.len()), body)
            })?;
            let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
            store::mark_mailed(tx, &ids, &stamp(now))?;
            Ok(true)
        })
        .await
}
