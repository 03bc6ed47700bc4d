//! `/api/v1/session`: sign in, second factor, password change, who am I, sign out.

use super::ApiJson;
use crate::app::AppState;
use crate::auth::accounts;
use crate::auth::signin::{self, Issued, Stage};
use crate::crypto::Secret;
use crate::web::CurrentInstance;
use crate::web::error::ApiError;
use crate::web::guard::{ClientIp, Session, clear_session_cookie, session_cookie};
use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    current_password: Option<String>,
    new_password: String,
}

/// The JSON answer for a sign-in stage, with the cookie of the (new) session.
pub fn issued_response(issued: Issued, max_age: i64) -> Response {
    issued_response_with(issued, max_age, json!({}))
}

/// As [`issued_response`], with more fields merged into the body.
pub fn issued_response_with(issued: Issued, max_age: i64, extra: serde_json::Value) -> Response {
    let mut body = match &issued.stage {
        Stage::SignedIn => json!({ "status": "signed_in", "csrf_token": issued.csrf }),
        Stage::SecondFactor { methods } => {
            json!({ "status": "second_factor_required", "methods": methods })
        }
        Stage::TotpEnrollment => json!({ "status": "totp_enrollment_required" }),
        Stage::PasswordChange => json!({ "status": "password_change_required" }),
    };
    if let (Some(b), serde_json::Value::Object(more)) = (body.as_object_mut(), extra) {
        b.extend(more);
    }
    (
        [(SET_COOKIE, session_cookie(issued.token.expose(), max_age))],
        Json(body),
    )
        .into_response()
}

pub async fn max_age(inst: &crate::instances::Instance, stage: &Stage) -> i64 {
    match stage {
        Stage::SignedIn => accounts::policy(inst)
            .await
            .map(|p| p.session_absolute_hours() as i64 * 3600)
            .unwrap_or(3600),
        _ => 600,
    }
}

pub async fn create(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<SignInBody>,
) -> Result<Response, ApiError> {
    let issued = signin::password_step(
        &state.auth,
        &inst,
        body.username,
        Secret::new(body.password),
        ip,
        state.clock.now(),
    )
    .await?;
    let age = max_age(&inst, &issued.stage).await;
    Ok(issued_response(issued, age))
}

pub async fn second_factor(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    let token =
        crate::web::guard::cookie(&headers, crate::web::guard::SESSION_COOKIE).unwrap_or_default();
    let issued =
        signin::second_factor_step(&state.auth, &inst, &token, body.code, ip, state.clock.now())
            .await?;
    let age = max_age(&inst, &issued.stage).await;
    Ok(issued_response(issued, age))
}

pub async fn change_password(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    ClientIp(ip): ClientIp,
    Session(session): Session,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<Response, ApiError> {
    let forced = session.stage == "password_change";
    if session.stage == "second_factor" || session.stage == "totp_enrollment" {
        return Err(ApiError(crate::web::WebError::Unauthenticated));
    }
    let current = if forced {
        None
    } else {
        Some(Secret::new(body.current_password.ok_or_else(|| {
            crate::web::WebError::invalid("current_password", "the current password is required")
        })?))
    };
    let now = state.clock.now();
    accounts::change_password(
        &state.auth,
        &inst,
        session.user_id,
        current,
        Secret::new(body.new_password),
        Some(session.id_hash.clone()),
        crate::audit::By {
            actor: session.actor(),
            source: ip.to_string(),
            now,
        },
    )
    .await?;
    if forced {
        let issued = signin::advance(&inst, &session, ip, now).await?;
        let age = max_age(&inst, &issued.stage).await;
        return Ok(issued_response(issued, age));
    }
    Ok(Json(json!({ "status": "password_changed" })).into_response())
}

pub async fn whoami(Session(s): Session) -> Json<serde_json::Value> {
    let stage = match s.stage.as_str() {
        "active" => "signed_in",
        "second_factor" => "second_factor_required",
        "totp_enrollment" => "totp_enrollment_required",
        _ => "password_change_required",
    };
    if s.stage != "active" {
        // Half-way through sign-in: say only what the next step is.
        return Json(json!({ "status": stage, "username": s.username, "csrf_token": s.csrf }));
    }
    Json(json!({
        "status": stage,
        "username": s.username,
        "email": s.email,
        "support": s.support,
        "second_factor": s.second_factor,
        "permissions": s.grants.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        "csrf_token": s.csrf,
    }))
}

pub async fn delete(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    ClientIp(ip): ClientIp,
    Session(s): Session,
) -> Result<Response, ApiError> {
    signin::sign_out(&inst, &s, ip, state.clock.now()).await?;
    Ok((
        [(SET_COOKIE, clear_session_cookie())],
        Json(json!({ "status": "signed_out" })),
    )
        .into_response())
}

/// `POST /api/v1/session/totp`: during forced enrolment (or signed in), a new app secret.
pub async fn totp_start(
    CurrentInstance(inst): CurrentInstance,
    Session(s): Session,
) -> Result<Json<serde_json::Value>, ApiError> {
    if s.stage != "totp_enrollment" && s.stage != "active" {
        return Err(ApiError(crate::web::WebError::Unauthenticated));
    }
    let e = crate::auth::second_factor::start_totp(&inst, s.user_id, s.username.clone()).await?;
    Ok(Json(
        json!({ "secret": e.secret_base32.expose(), "qr_svg": e.qr_svg }),
    ))
}

/// `POST /api/v1/session/totp/confirm` `{"code"}`: turns the app on; returns the recovery codes once.
pub async fn totp_confirm(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    ClientIp(ip): ClientIp,
    Session(s): Session,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    if s.stage != "totp_enrollment" && s.stage != "active" {
        return Err(ApiError(crate::web::WebError::Unauthenticated));
    }
    let now = state.clock.now();
    let by = crate::audit::By {
        actor: s.actor(),
        source: ip.to_string(),
        now,
    };
    let codes =
        crate::auth::second_factor::confirm_totp(&state.auth, &inst, by, s.user_id, body.code)
            .await?;
    let codes: Vec<String> = codes.iter().map(|c| c.expose().clone()).collect();
    if s.stage == "active" {
        return Ok(
            Json(json!({ "status": "totp_enabled", "recovery_codes": codes })).into_response(),
        );
    }
    let issued = signin::advance(&inst, &s, ip, now).await?;
    let age = max_age(&inst, &issued.stage).await;
    Ok(issued_response_with(
        issued,
        age,
        json!({ "recovery_codes": codes }),
    ))
}
