//! Feeds committed security-log rows of every instance to the syslog forwarder. It reads rows after
//! the last forwarded id (kept in the instance's settings), so nothing is skipped across restarts.

use super::forward::{ForwardEvent, Forwarder};
use crate::app::AppState;
use crate::clock::stamp;
use crate::storage::{StorageError, audit as store, settings};
use std::time::Duration;
use tokio::sync::watch;

const CURSOR_KEY: &str = "audit.forwarded_id";

pub async fn run(forwarder: Forwarder, state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        for inst in state.registry.all() {
            if let Err(e) = forward_new(&forwarder, &inst, &state).await {
                tracing::warn!(instance = %inst.name, error = %e, "security log forwarding paused");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stop.changed() => break,
        }
    }
    forwarder.shutdown(Duration::from_secs(5)).await;
}

async fn forward_new(
    forwarder: &Forwarder,
    inst: &crate::instances::Instance,
    state: &AppState,
) -> Result<(), StorageError> {
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
        return Ok(());
    };
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
    let now = stamp(state.clock.now());
    inst.db
        .write(move |tx| settings::set(tx, CURSOR_KEY, &last.to_string(), &now))
        .await
}
