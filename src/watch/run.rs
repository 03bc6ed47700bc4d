//! The watch's loop: reads committed security-log rows after its cursor (kept in each instance's
//! settings, like the syslog forwarder's) and folds what the rules find into alerts; runs the
//! scheduled checks; sends the digest of alerts below high severity. Detection stays off the
//! request path: a request pays nothing for it but the rows it writes anyway.

use super::detect::{Context, Detector};
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
const BATCH: usize = 1000;

/// What the loop needs from the server.
pub struct Watch {
    pub config: Config,
    pub registry: Arc<Registry>,
    pub clock: SharedClock,
    /// Woken when an alert mail was queued, so it goes out now rather than at the next poll.
    pub mail_wakeup: Arc<Notify>,
}

/// Per-instance memory of the loop.
#[derive(Default)]
struct Seen {
    detector: Arc<Mutex<Detector>>,
    cursor: Option<i64>,
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
                    match digest(&inst, w.clock.now()).await {
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
async fn scan(w: &Watch, inst: &Instance, seen: &mut Seen) -> Result<bool, StorageError> {
    let head = inst
        .db
        .read(log_store::head)
        .await?
        .map_or(0, |(id, _)| id);
    if seen.cursor.is_some_and(|c| c >= head) {
        return Ok(false);
    }
    let detector = Arc::clone(&seen.detector);
    let defaults = w.config.alerts.thresholds;
    let mail_enabled = w.config.mail.is_some();
    let now = w.clock.now();
    let (cursor, mailed) = inst
        .db
        .write(move |tx| -> Result<(i64, bool), StorageError> {
            let now_s = stamp(now);
            let Some(cursor) = settings::get(tx, CURSOR_KEY)?.and_then(|v| v.parse::<i64>().ok())
            else {
                // The first run watches from now on: the history before it was nobody's alert.
                let head = log_store::head(tx)?.map_or(0, |(id, _)| id);
                settings::set(tx, CURSOR_KEY, &head.to_string(), &now_s)?;
                settings::set(tx, STARTED_KEY, &now_s, &now_s)?;
                return Ok((head, false));
            };
            let th = thresholds_in(tx, &defaults)?;
            let mut rows = Vec::new();
            log_store::for_each_after(tx, cursor, BATCH, |r| {
                rows.push(r);
                Ok(())
            })?;
            let Some(last) = rows.last().map(|r| r.id) else {
                return Ok((cursor, false));
            };
            let mut detector = detector.lock().unwrap_or_else(|p| p.into_inner());
            let cx = Context { thresholds: &th };
            let mut mailed = false;
            for r in &rows {
                for f in detector.row(tx, &cx, r)? {
                    mailed |= raise(tx, now, mail_enabled, &f)?;
                }
            }
            settings::set(tx, CURSOR_KEY, &last.to_string(), &now_s)?;
            Ok((last, mailed))
        })
        .await?;
    seen.cursor = Some(cursor);
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
        let found = tokio::task::spawn_blocking(move || {
            health::appliance(&config, &th, now, since)
        })
        .await
        .map_err(|_| StorageError::Worker)?;
        findings.extend(found);
    }
    if findings.is_empty() {
        return Ok(());
    }
    let mail_enabled = w.config.mail.is_some();
    let now = w.clock.now();
    let mailed = inst
        .db
        .write(move |tx| {
            let mut mailed = false;
            for f in &findings {
                mailed |= raise(tx, now, mail_enabled, f)?;
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
async fn digest(inst: &Instance, now: DateTime<Utc>) -> Result<bool, StorageError> {
    inst.db
        .write(move |tx| {
            let rows = store::unmailed(tx)?;
            if rows.is_empty() {
                return Ok(false);
            }
            let mut body = format!(
                "{} alert(s) were raised since the last digest:\n\n",
                rows.len()
            );
            for a in &rows {
                body.push_str(&format!(
                    "- [{}] {} ({}): {} — first seen {} (UTC), {} time(s), now {}\n",
                    a.severity, a.rule, a.subject, a.summary, a.first_seen, a.count, a.state
                ));
            }
            body.push_str("\nOpen Administration → Alerts to acknowledge or close them.\n");
            crate::mail::notify_admins(
                tx,
                &format!("holdfast alerts digest: {}", rows.len()),
                &body,
                now,
            )?;
            let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
            store::mark_mailed(tx, &ids, &stamp(now))?;
            Ok(true)
        })
        .await
}
