//! Drains every instance's outbox over SMTP: immediately when woken, else every 30 s. Failures are
//! retried with growing pauses and, when they persist, marked failed where the admin sees them.

use super::smtp::{MailError, MailSettings, Mailer, OutgoingMessage, TlsMode};
use crate::clock::{SharedClock, stamp};
use crate::config::MailConfig;
use crate::crypto::Secret;
use crate::storage::{StorageError, outbox};
use chrono::Duration;
use std::sync::Arc;
use tokio::sync::{Notify, watch};

/// Pauses between attempts; after the last one the message is marked failed.
const BACKOFF_MINUTES: [i64; 6] = [1, 5, 15, 60, 240, 720];

pub fn settings_from(cfg: &MailConfig) -> Result<MailSettings, MailError> {
    let password = match &cfg.password_file {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                MailError::Config(format!("mail.password_file {}: {e}", p.display()))
            })?;
            Some(Secret::new(text.trim_end_matches(['\n', '\r']).to_string()))
        }
        None => None,
    };
    Ok(MailSettings {
        smtp_host: cfg.smtp_host.clone(),
        smtp_port: cfg.smtp_port,
        tls: cfg.tls.parse::<TlsMode>()?,
        from: cfg.from.clone(),
        username: cfg.username.clone(),
        password,
        ca_file: cfg.ca_file.clone(),
        timeout: std::time::Duration::from_secs(30),
        allow_unencrypted_relay: cfg.allow_unencrypted_relay,
    })
}

/// Sends what is due in one instance's outbox; returns how many were sent.
pub async fn drain(
    mailer: &Mailer,
    db: &crate::storage::Database,
    clock: &SharedClock,
) -> Result<usize, StorageError> {
    let now = clock.now();
    let now_s = stamp(now);
    let due = db.read(move |c| outbox::due(c, &now_s, 50)).await?;
    let mut sent = 0;
    for m in due {
        let msg = OutgoingMessage {
            to: m.recipient.clone(),
            subject: m.subject.clone(),
            body_text: m.body.clone(),
        };
        let result = mailer.send(&msg).await;
        let now = clock.now();
        let id = m.id;
        match result {
            Ok(()) => {
                sent += 1;
                db.write(move |tx| outbox::mark_sent(tx, id, &stamp(now)))
                    .await?;
            }
            Err(e) => {
                let attempt = m.attempts as usize;
                let text = e.to_string();
                tracing::warn!(message_id = id, attempt = attempt + 1, error = %text, "mail not delivered");
                if e.is_retryable() && attempt < BACKOFF_MINUTES.len() {
                    let next = stamp(now + Duration::minutes(BACKOFF_MINUTES[attempt]));
                    db.write(move |tx| outbox::mark_retry(tx, id, &text, &next))
                        .await?;
                } else {
                    db.write(move |tx| outbox::mark_failed(tx, id, &text, &stamp(now)))
                        .await?;
                }
            }
        }
    }
    Ok(sent)
}

/// Sends what the outboxes of `registry`'s instances hold, then waits for `wake` (a request queued
/// mail) or 30 s; returns when `stop` changes.
pub async fn run(
    mailer: Arc<Mailer>,
    registry: Arc<crate::instances::Registry>,
    clock: SharedClock,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        for inst in registry.all() {
            if let Err(e) = drain(&mailer, &inst.db, &clock).await {
                tracing::error!(instance = %inst.name, error = %e, "mail outbox could not be processed");
            }
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
            _ = stop.changed() => return,
        }
    }
}
