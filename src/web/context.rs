//! The request context of a handler behind a session: the state, the instance the host selected,
//! the caller's session and address, and the audit stamp (`By`) built from them, in one extractor;
//! `Visit`, the same for a request before sign-in (no session yet, its headers instead).

use super::guard::{ClientIp, Session};
use super::{CurrentInstance, WebError, by};
use crate::app::AppState;
use crate::audit::By;
use crate::auth::signin::SessionInfo;
use crate::instances::Instance;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::net::IpAddr;
use std::sync::Arc;

/// What a handler behind the guard knows about its request. `by` is stamped when the handler
/// starts: the audit events of one request carry the time it was answered.
pub struct Ctx {
    pub state: AppState,
    pub inst: Arc<Instance>,
    pub s: Arc<SessionInfo>,
    pub ip: IpAddr,
    pub by: By,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        // The same order the separate extractors ran in, so a missing piece is refused alike.
        let CurrentInstance(inst) = CurrentInstance::from_request_parts(parts, state).await?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let Session(s) = Session::from_request_parts(parts, state).await?;
        let by = by(&s, ip, state);
        Ok(Ctx {
            state: state.clone(),
            inst,
            s,
            ip,
            by,
        })
    }
}

impl Ctx {
    /// The caller's words: their own language, else the instance's default.
    pub async fn words(&self) -> Result<crate::i18n::Tr, WebError> {
        let locale = super::pages::reader_locale(&self.inst, Some(&self.s)).await?;
        Ok(super::pages::words(&self.state, locale))
    }
}

/// What a handler before sign-in knows about its request: the state, the instance the host
/// selected, the caller's address and the request's headers (cookies, user agent).
pub struct Visit {
    pub state: AppState,
    pub inst: Arc<Instance>,
    pub ip: IpAddr,
    pub headers: HeaderMap,
}

impl FromRequestParts<AppState> for Visit {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        // The same order the separate extractors ran in, so a missing piece is refused alike.
        let CurrentInstance(inst) = CurrentInstance::from_request_parts(parts, state).await?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        Ok(Visit {
            state: state.clone(),
            inst,
            ip,
            headers: parts.headers.clone(),
        })
    }
}

impl Visit {
    /// The session token the browser presents, or `""` when it has none.
    pub fn presented(&self) -> String {
        super::guard::presented_session(&self.headers)
    }
}
