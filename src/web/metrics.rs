//! The Prometheus endpoint: its own listener's one route (`GET /metrics`, bearer token checked in
//! constant time), the middleware that counts every request of the main router by route pattern,
//! and the scrape-time snapshot of figures read from the domain (files, databases, counters).

use super::error::{ApiError, WebError};
use crate::app::AppState;
use crate::crypto::Secret;
use crate::metrics::{
    BackupFigures, CONTENT_TYPE, GroupCommits, InstanceFigures, Snapshot, TEXT_CONTENT_TYPE,
    UpdateFigures, to_prometheus_text,
};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Counts one request of the main router: its route pattern (never the raw path), method, status
/// and the time to the response head.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let method = req.method().clone();
    let resp = next.run(req).await;
    state.requests.observe(
        method.as_str(),
        route.as_deref(),
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}

/// Who may scrape: the SHA-256 of the configured token, so that comparing a presented token takes
/// the same time whatever its length or first wrong byte.
#[derive(Clone)]
struct Access {
    token_digest: Option<Arc<[u8; 32]>>,
    /// When a scrape was last noted for the integrations list (Unix seconds).
    noted: Arc<std::sync::atomic::AtomicI64>,
}

/// The metrics listener's router: `/metrics` only, everything else 404. The token (if any) was
/// read from `[metrics] token_file`; it is never logged.
pub fn router(state: AppState, token: Option<Secret<String>>) -> Router {
    let access = Access {
        token_digest: token.map(|t| Arc::new(digest(t.expose().as_bytes()))),
        noted: Arc::new(std::sync::atomic::AtomicI64::new(i64::MIN)),
    };
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async { ApiError(WebError::NotFound) })
        .layer(axum::middleware::from_fn(super::headers::security_headers))
        .with_state((state, access))
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// True when the request carries `Authorization: Bearer <token>` with the configured token.
fn authorised(access: &Access, headers: &HeaderMap) -> bool {
    use subtle::ConstantTimeEq;
    let Some(want) = &access.token_digest else {
        return true;
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    bool::from(digest(presented.as_bytes()).ct_eq(want.as_ref())) && !presented.is_empty()
}

async fn scrape(State((state, access)): State<(AppState, Access)>, headers: HeaderMap) -> Response {
    if !authorised(&access, &headers) {
        let mut resp = ApiError(WebError::Unauthenticated).into_response();
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"holdfast metrics\""),
        );
        return resp;
    }
    note_scrape(&state, &access).await;
    let snap = snapshot(&state).await;
    // Prometheus asks for OpenMetrics; anything else (promtool, curl) gets the classic format.
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    match state.requests.encode(&snap) {
        Ok(text) if openmetrics => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Ok(text) => (
            [(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)],
            to_prometheus_text(&text),
        )
            .into_response(),
        Err(_) => ApiError(WebError::Internal("cannot encode the metrics".into())).into_response(),
    }
}

/// Notes the scrape in the operator instance for the integrations list, at most once a minute; a
/// failure to note it does not fail the scrape.
async fn note_scrape(state: &AppState, access: &Access) {
    use std::sync::atomic::Ordering;
    let now = state.clock.now();
    let last = access.noted.load(Ordering::Relaxed);
    if now.timestamp().saturating_sub(last) < crate::integrations::SCRAPE_NOTE_EVERY_SECONDS
        || access
            .noted
            .compare_exchange(last, now.timestamp(), Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let Some(operator) = state.registry.get(crate::instances::DEFAULT_INSTANCE) else {
        return;
    };
    if let Err(e) = crate::integrations::note_scrape(&operator, now).await {
        tracing::warn!(error = %e, "the metrics scrape could not be noted");
    }
}

/// Everything a scrape shows besides the request series.
async fn snapshot(state: &AppState) -> Snapshot {
    let now = state.clock.now();
    let mut instances = Vec::new();
    // Every severity appears, zero when none is open, so a rule can compare against 0.
    let mut open_alerts: Vec<(String, u64)> = ["low", "medium", "high", "critical"]
        .iter()
        .map(|s| (s.to_string(), 0))
        .collect();
    for inst in state.registry.all() {
        match crate::watch::open_counts(&inst).await {
            Ok(counts) => {
                for (severity, n) in counts {
                    if let Some(slot) = open_alerts.iter_mut().find(|(s, _)| *s == severity) {
                        slot.1 += u64::try_from(n).unwrap_or(0);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(instance = %inst.name, error = %e, "metrics: cannot count open alerts");
            }
        }
        let locked = match crate::auth::directory::locked_count(&inst).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(instance = %inst.name, error = %e, "metrics: cannot count locked accounts");
                0
            }
        };
        let w = inst.db.writer_figures();
        let mut buckets: Vec<(f64, u64)> = w.batches.iter().map(|(b, n)| (*b as f64, *n)).collect();
        buckets.push((f64::INFINITY, 0));
        let db_path = inst.db.path().to_path_buf();
        let mut wal_path = db_path.clone().into_os_string();
        wal_path.push("-wal");
        instances.push(InstanceFigures {
            name: inst.name.clone(),
            database_bytes: file_size(&db_path),
            wal_bytes: file_size(Path::new(&wal_path)),
            locked_accounts: locked,
            writer_queue: w.queued,
            writer_busy_seconds: w.busy_seconds,
            commit_seconds: w.commit_seconds,
            group_commits: GroupCommits {
                commits: buckets.iter().map(|(_, n)| n).sum(),
                buckets,
                writes: w.writes,
            },
        });
    }
    let config = state.config.clone();
    // Small files (status, update state, the certificate), read off the async threads.
    let files = tokio::task::spawn_blocking(move || from_files(&config, now)).await;
    let (backups, certificate_expiry, update) = files.unwrap_or_default();
    Snapshot {
        version: env!("CARGO_PKG_VERSION").to_string(),
        signins: state.auth.counts.figures(),
        throttle_refusals: state.auth.counts.throttle_refusals(),
        instances,
        backups,
        certificate_expiry,
        update,
        open_alerts: Some(open_alerts),
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn unix(text: &Option<String>) -> Option<i64> {
    text.as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp())
}

fn from_files(
    config: &crate::config::Config,
    now: DateTime<Utc>,
) -> (Vec<BackupFigures>, Option<i64>, UpdateFigures) {
    let dir = &config.data_dir;
    let backups = crate::backup::status::load(dir)
        .destinations
        .into_iter()
        .map(|(destination, d)| {
            let last_success = unix(&d.last_success);
            let last_error = unix(&d.last_error_at);
            BackupFigures {
                destination,
                last_success,
                age_seconds: last_success.map(|t| now.timestamp() - t),
                last_ok: match (last_success, last_error) {
                    (_, None) => last_success.is_some(),
                    (None, Some(_)) => false,
                    (Some(ok), Some(err)) => ok >= err,
                },
                last_verified: unix(&d.last_verified),
                last_verify_seconds: d.last_verify_seconds,
                last_verify_ok: d.last_verify_error.is_none(),
            }
        })
        .collect();
    let cert = config
        .tls_cert_file
        .clone()
        .unwrap_or_else(|| crate::tls::self_signed_paths(dir).cert);
    let expiry = crate::tls::expiry(&cert).ok();
    let mut update = UpdateFigures {
        in_progress: dir
            .join("update")
            .join("work")
            .join(crate::update::journal::FILE)
            .exists(),
        ..Default::default()
    };
    if let Ok(st) = crate::update::state::load(dir) {
        update.security_epoch = u64::from(st.security_epoch);
        if let Some(last) = st.history.last() {
            update.last_ok = Some(!last.outcome.contains("fail"));
            update.last_at = Some(last.at.timestamp());
        }
    }
    (backups, expiry, update)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(token: Option<&str>) -> Access {
        Access {
            token_digest: token.map(|t| Arc::new(digest(t.as_bytes()))),
            noted: Arc::default(),
        }
    }

    fn bearer(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn only_the_configured_bearer_token_is_accepted() {
        let a = access(Some("s3cret-token"));
        assert!(authorised(&a, &bearer("Bearer s3cret-token")));
        assert!(!authorised(&a, &bearer("Bearer s3cret-toke")));
        assert!(!authorised(&a, &bearer("Bearer s3cret-token2")));
        assert!(!authorised(&a, &bearer("Basic s3cret-token")));
        assert!(!authorised(&a, &bearer("s3cret-token")));
        assert!(!authorised(&a, &HeaderMap::new()));
        // Without a configured token, the TLS layer (loopback or client certificate) decides.
        assert!(authorised(&access(None), &HeaderMap::new()));
    }
}
