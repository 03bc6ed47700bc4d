//! JSON API v1: the session endpoints and the security log. Errors are `{"error":{…}}` (see `web::error`).

pub mod audit;
pub mod invoices;
pub mod openapi;
pub mod records;
pub mod session;

use super::WebError;
use super::error::ApiError;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// A JSON body whose unknown fields are refused (the target types use `deny_unknown_fields`); a bad
/// body is a JSON error, not a plain-text one.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = req
            .extensions()
            .get::<crate::web::guard::BodyLimitBytes>()
            .map_or(0, |l| l.0);
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(ApiError(json_rejection(rejection, limit))),
        }
    }
}

fn json_rejection(rejection: axum::extract::rejection::JsonRejection, limit: u64) -> WebError {
    use axum::extract::rejection::JsonRejection;
    match &rejection {
        JsonRejection::BytesRejection(b)
            if b.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            WebError::TooLarge { limit }
        }
        _ => WebError::BadRequest(rejection.body_text()),
    }
}

/// Path parameters whose rejection (e.g. `/api/v1/clients/abc`) is a JSON error, like every other.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(r) => Err(ApiError(WebError::BadRequest(r.body_text()))),
        }
    }
}
