//! Liveness and readiness probes for systemd, load balancers and the update procedure.

use super::{CurrentInstance, WebError};
use crate::app::AppState;
use axum::extract::State;
use axum::response::IntoResponse;

/// Alive: the process answers. Says nothing about any instance.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let boot = state.boot_id().unwrap_or_default().to_string();
    ([(BOOT_HEADER, boot)], "ok\n")
}

/// The header naming the process that answered `/readyz` (its boot id, as in run.json): during an
/// update two processes share the listening sockets, and the update and its tests tell them apart
/// by it. A random per-start value; it says nothing about the data.
pub const BOOT_HEADER: &str = "x-holdfast-boot";

/// Ready: storage is open and answers a query, and the server is not shutting down.
pub async fn readyz(
    State(state): State<AppState>,
    CurrentInstance(instance): CurrentInstance,
) -> Result<impl IntoResponse, WebError> {
    if !state.is_ready() {
        return Err(WebError::NotReady);
    }
    instance.db.ping().await.map_err(|_| WebError::NotReady)?;
    let boot = state.boot_id().unwrap_or_default().to_string();
    Ok(([(BOOT_HEADER, boot)], "ready\n"))
}
