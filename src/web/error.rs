//! The one place where errors become HTTP statuses and user-facing messages.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("the service is not ready")]
    NotReady,
    #[error("internal error: {0}")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the user is told; internal details stay in the log.
    pub fn public_message(&self) -> &'static str {
        match self {
            WebError::NotFound => "This page does not exist.",
            WebError::NotReady => "holdfast is starting or stopping. Try again in a moment.",
            WebError::Internal(_) => {
                "Something went wrong on the server. The administrator can find the details in the log."
            }
        }
    }
}

impl From<crate::storage::StorageError> for WebError {
    fn from(e: crate::storage::StorageError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let page = super::pages::ErrorPage {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error"),
            message: self.public_message(),
            assets: super::assets::base(),
        };
        match askama::Template::render(&page) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, self.public_message()).into_response(),
        }
    }
}
