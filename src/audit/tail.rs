//! Feeds committed security-log rows of every instance to the syslog forwarder. It reads rows after
//! the last forwarded id (kept in the instance's settings), so nothing is skipped across restarts.
//! Between them it sends a checkpoint of each chain head (`checkpoint.rs`) at start, every
//! `[audit] checkpoint_interval_seconds` and at stop.

use super::checkpoint::{self, reason};
use super::forward::{ForwardEvent, Forwarder};
use crate::clock::{SharedClock, stamp};
use crate::instances::Registry;
use crate::storage::{StorageError, audit as store, settings};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const CURSOR_KEY: &str = "audit.forwarded_id";

/// Runs until `stop` turns true; the caller sends that once no request can write events any more,
/// so the stop checkpoint covers every event of this run.
pub async fn run(
    forwarder: Forwarder,
    registry: Arc<Registry>,
    clock: SharedClock,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut why = reason::START;
    let mut next_checkpoint = tokio::time::Instant::now();
    loop {
        for inst in registry.all() {
            if let Err(e) = forward_new(&forwarder, &inst, &clock).await {
                tracing::warn!(instance = %inst.name, error = %e, "security log forwarding paused");
            }
        }
        if tokio::time::Instant::now() >= next_checkpoint {
            send_checkpoints(&forwarder, &registry, &clock, why).await;
            why = reason::INTERVAL;
            next_checkpoint = tokio::time::Instant::now() + every;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    // Whatever the last requests wrote goes out first (bounded: 100 batches of 500 per instance).
    for inst in registry.all() {
        for _ in 0..100 {
            match forward_new(&forwarder, &inst, &clock).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(instance = %inst.name, error = %e, "security log forwarding at stop failed");
                    break;
                }
            }
        }
    }
    send_checkpoints(&forwarder, &registry, &clock, reason::STOP).await;
    forwarder.shutdown(Duration::from_secs(5)).await;
}

async fn send_checkpoints(
    forwarder: &Forwarder,
    registry: &Registry,
    clock: &SharedClock,
    why: &'static str,
) {
    for inst in registry.all() {
        let name = inst.name.clone();
        let now = clock.now();
        match inst
            .db
            .read(move |c| checkpoint::take(c, &name, now, why))
            .await
        {
            Ok(cp) => {
                tracing::info!(instance = %cp.instance, id = cp.id, hash = %cp.hash, reason = why, "security log checkpoint");
                forwarder.submit(cp.to_forward_event());
            }
            Err(e) => {
                tracing::warn!(instance = %inst.name, error = %e, "security log checkpoint failed")
            }
        }
    }
}

async fn forward_new(
    forwarder: &Forwarder,
    inst: &crate::instances::Instance,
    clock: &SharedClock,
) -> Result<usize, StorageError> {
    let cursor: i64 = inst
        .db
        .read(|c| settings::get(c, CURSOR_KEY))
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let rows = inst
        .db
        .read(move |c| {
            let mut rows = Vec::new();
            store::for_each_after(c, cursor, 500, |r| {
                rows.push(r);
                Ok(())
            })?;
            Ok::<_, StorageError>(rows)
        })
        .await?;
    let Some(last) = rows.last().map(|r| r.id) else {
        return Ok(0);
    };
    let count = rows.len();
    for r in rows {
        forwarder.submit(ForwardEvent {
            at: r.at,
            instance: inst.name.clone(),
            event: r.event,
            actor: format!("{}({})", r.actor, r.actor_kind),
            target: r.target,
            source: r.source,
            outcome: r.outcome,
            details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            id: r.id,
            hash: r.hash,
        });
    }
    let now = stamp(clock.now());
    inst.db
        .write(move |tx| settings::set(tx, CURSOR_KEY, &last.to_string(), &now))
        .await?;
    Ok(count)
}
