//! Liveness and readiness probes for systemd, load balancers and the update procedure.

use super::{CurrentInstance, WebError};
use crate::app::AppState;
use axum::extract::State;

/// Alive: the process answers. Says nothing about any instance.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready: storage is open and answers a query, and the server is not shutting down.
pub async fn readyz(
    State(state): State<AppState>,
    CurrentInstance(instance): CurrentInstance,
) -> Result<&'static str, WebError> {
    if !state.is_ready() {
        return Err(WebError::NotReady);
    }
    instance.db.ping().await.map_err(|_| WebError::NotReady)?;
    Ok("ready\n")
}
