//! Drains every instance's webhook queue: per endpoint the oldest event first, retried with
//! exponential backoff until the retry window (24 h by default) has passed, then the event is
//! marked failed, the endpoint failing, and the security log says so; the watch raises
//! `webhook_failing` from that row, so administrators are told (badge, mail, syslog).

use super::http::{self, EgressError};
use super::{open_secret, sign, system};
use crate::audit::{self, Entry, Event};
use crate::clock::{SharedClock, stamp};
use crate::config::WebhooksConfig;
use crate::egress::Egress;
use crate::instances::Instance;
use crate::storage::StorageError;
use crate::storage::webhooks::{self as store, Attempt, DeliveryRow};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::sync::Arc;
use tokio::sync::watch;

/// Most deliveries one pass makes per instance, so one busy instance cannot starve the others.
const PASS_LIMIT: usize = 200;

/// The pause before attempt `attempts + 1`: `first`, doubling, at most `max`.
pub fn backoff(cfg: &WebhooksConfig, attempts: i64) -> Duration {
    let shift = attempts.clamp(0, 30) as u32;
    let ms = cfg
        .retry_first_ms
        .saturating_mul(1u64 << shift)
        .min(cfg.retry_max_ms);
    Duration::milliseconds(ms as i64)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Delivers what is due in one instance; returns how many deliveries succeeded.
pub async fn drain(
    egress: &Egress,
    inst: &Instance,
    cfg: &WebhooksConfig,
    tls: Option<&Arc<rustls::ClientConfig>>,
    clock: &SharedClock,
) -> Result<usize, StorageError> {
    let mut ok = 0;
    let mut done = 0;
    loop {
        let now_s = stamp(clock.now());
        let heads = inst.db.read(move |c| store::due_heads(c, &now_s)).await?;
        if heads.is_empty() || done >= PASS_LIMIT {
            return Ok(ok);
        }
        let configured = inst.db.read(store::active_endpoints).await?;
        for head in heads {
            done += 1;
            if attempt(egress, inst, cfg, tls, clock, &configured, head).await? {
                ok += 1;
            }
        }
    }
}

async fn attempt(
    egress: &Egress,
    inst: &Instance,
    cfg: &WebhooksConfig,
    tls: Option<&Arc<rustls::ClientConfig>>,
    clock: &SharedClock,
    configured: &[crate::storage::webhooks::EndpointRow],
    d: DeliveryRow,
) -> Result<bool, StorageError> {
    let Some(endpoint) = configured.iter().find(|e| e.id == d.endpoint_id) else {
        return Ok(false);
    };
    let started = std::time::Instant::now();
    let sent_at = clock.now();
    let result = match open_secret(&inst.files_key, &inst.name, endpoint) {
        Ok(secret) => {
            let ts = sent_at.timestamp();
            match sign(secret.expose(), &d.msg_id, ts, &d.body) {
                Ok(signature) => {
                    let headers = [
                        ("webhook-id", d.msg_id.clone()),
                        ("webhook-timestamp", ts.to_string()),
                        ("webhook-signature", signature),
                    ];
                    http::post(
                        egress,
                        &inst.name,
                        configured,
                        endpoint,
                        tls,
                        &headers,
                        d.body.clone(),
                        std::time::Duration::from_secs(cfg.timeout_seconds),
                    )
                    .await
                }
                Err(e) => Err(EgressError::Connect(e)),
            }
        }
        Err(e) => Err(EgressError::Connect(format!("secret: {e}"))),
    };
    let latency_ms = started.elapsed().as_millis().min(i64::MAX as u128) as i64;
    let now = clock.now();
    let (status, response, success) = match &result {
        Ok(a) => (
            Some(a.status as i64),
            a.head.clone(),
            (200..300).contains(&a.status),
        ),
        Err(e) => (None, e.to_string(), false),
    };
    if !success {
        tracing::warn!(instance = %inst.name, endpoint = d.endpoint_id, delivery = d.id,
            attempt = d.attempts + 1, status = ?status, "webhook not delivered");
    }
    let give_up_at =
        parse_time(&d.created_at).unwrap_or(now) + Duration::seconds(cfg.give_up_seconds as i64);
    let next = now + backoff(cfg, d.attempts);
    let endpoint_id = d.endpoint_id;
    let id = d.id;
    let url = endpoint.url.clone();
    let give_up_seconds = cfg.give_up_seconds;
    inst.db
        .write(move |tx| -> Result<(), StorageError> {
            let a = Attempt {
                status,
                latency_ms,
                response: &response,
            };
            let now_s = stamp(now);
            if success {
                store::mark_delivered(tx, id, &a, &now_s)?;
                store::mark_endpoint_ok(tx, endpoint_id, &now_s)?;
            } else if next > give_up_at {
                store::mark_failed(tx, id, &a, &now_s)?;
                if store::mark_endpoint_failing(tx, endpoint_id, &now_s)? {
                    let by = system(now);
                    audit::write(
                        tx,
                        now,
                        Entry::new(
                            Event::WebhookFailing,
                            by.actor,
                            format!("webhook {endpoint_id}"),
                            by.source,
                        )
                        .with(json!({
                            "url": url,
                            "delivery": id,
                            "status": status,
                            "give_up_seconds": give_up_seconds,
                        }))
                        .failed(),
                    )?;
                }
            } else {
                store::mark_retry(tx, id, &a, &stamp(next))?;
            }
            Ok(())
        })
        .await?;
    Ok(success)
}

/// Delivers the queues of `registry`'s instances every `poll_ms` until `stop` changes.
pub async fn run(
    egress: Arc<Egress>,
    cfg: WebhooksConfig,
    registry: Arc<crate::instances::Registry>,
    clock: SharedClock,
    mut stop: watch::Receiver<bool>,
) {
    let tls = match http::tls_config(cfg.ca_file.as_deref()) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(error = %e, "webhooks: no trust store for https endpoints");
            None
        }
    };
    loop {
        for inst in registry.all() {
            if let Err(e) = drain(&egress, &inst, &cfg, tls.as_ref(), &clock).await {
                tracing::error!(instance = %inst.name, error = %e, "webhook queue could not be processed");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(cfg.poll_ms)) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let cfg = WebhooksConfig::default();
        assert_eq!(backoff(&cfg, 0), Duration::milliseconds(30_000));
        assert_eq!(backoff(&cfg, 1), Duration::milliseconds(60_000));
        assert_eq!(backoff(&cfg, 40), Duration::milliseconds(3_600_000));
    }
}
