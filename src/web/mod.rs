//! The HTTP layer: the one route table, middleware order, and the pieces every page shares.

pub mod assets;
mod error;
mod headers;
mod health;
mod pages;
pub mod server;
pub mod tls;

pub use error::WebError;

use crate::app::AppState;
use crate::instances::Instance;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use std::sync::Arc;

/// The instance selected by the request's host name.
#[derive(Clone)]
pub struct CurrentInstance(pub Arc<Instance>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CurrentInstance {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentInstance>()
            .cloned()
            .ok_or(WebError::Internal("instance routing did not run".into()))
    }
}

/// Every route holdfast answers, in one place.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/assets/{version}/{*path}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .fallback(pages::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            select_instance,
        ))
        .layer(middleware::from_fn(headers::security_headers))
        .with_state(state)
}

/// Routes the request to its instance by host name (HTTP/2 `:authority` or HTTP/1.1 `Host`).
async fn select_instance(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let host = req.uri().host().map(str::to_string).or_else(|| {
        req.headers()
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    });
    let instance = state.registry.resolve(host.as_deref());
    req.extensions_mut().insert(CurrentInstance(instance));
    next.run(req).await
}
