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

/// The body limit the guard set for this request's route (0 when it did not run).
fn body_limit(ext: &axum::http::Extensions) -> u64 {
    ext.get::<crate::web::guard::BodyLimitBytes>()
        .map_or(0, |l| l.0)
}

/// A JSON body whose unknown fields are refused (the target types use `deny_unknown_fields`); a bad
/// body is a JSON error, not a plain-text one.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = body_limit(req.extensions());
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(r) => Err(ApiError(WebError::rejected(
                r.status(),
                r.body_text(),
                limit,
            ))),
        }
    }
}

/// The raw body (CSV imports, optional JSON), with a too-large or broken body as a JSON error.
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = body_limit(req.extensions());
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(ApiBytes(b)),
            Err(r) => Err(ApiError(WebError::rejected(
                r.status(),
                r.body_text(),
                limit,
            ))),
        }
    }
}

/// A `multipart/form-data` body whose rejection (no or a bad boundary) is a JSON error.
pub struct ApiMultipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for ApiMultipart {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = body_limit(req.extensions());
        match axum::extract::Multipart::from_request(req, state).await {
            Ok(m) => Ok(ApiMultipart(m)),
            Err(r) => Err(ApiError(WebError::rejected(
                r.status(),
                r.body_text(),
                limit,
            ))),
        }
    }
}

/// Query parameters whose rejection is a JSON error.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(r) => Err(ApiError(WebError::rejected(r.status(), r.body_text(), 0))),
        }
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
            Err(r) => Err(ApiError(WebError::rejected(r.status(), r.body_text(), 0))),
        }
    }
}
