//! `/api/v1/session`: sign in, second factor, password change, who am I, sign out.

use super::ApiJson;
use crate::app::AppState;
use crate::auth::accounts;
use crate::auth::reauth::Proof;
use crate::auth::signin::{self, Issued, Stage};
use crate::crypto::Secret;
use crate::web::CurrentInstance;
use crate::web::error::ApiError;
use crate::web::guard::{ClientIp, Session, session_cookie};
use crate::web::{Ctx, Visit};
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
    /// The current second factor's code, when the account has one.
    code: Option<String>,
    new_password: String,
}

/// Password and current factor again, for changes to one's own account.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBody {
    current_password: String,
    code: Option<String>,
}

impl ProofBody {
    fn proof(self) -> Proof {
        Proof {
            password: Secret::new(self.current_password),
            code: self.code,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    current_password: String,
    code: Option<String>,
    email: String,
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
        // Not sign-in factors: ways to prove more than the password before enrolling one.
        Stage::EnrolVerify { methods } => {
            json!({ "status": "enrolment_verification_required", "verify_with": methods })
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
    visit: Visit,
    ApiJson(body): ApiJson<SignInBody>,
) -> Result<Response, ApiError> {
    let password = Secret::new(body.password);
    let issued = crate::web::signin_pages::password_step(&visit, body.username, password).await?;
    Ok(answer(&visit.inst, issued).await)
}

/// The answer to a sign-in step: the session it issued and what comes next.
async fn answer(inst: &crate::instances::Instance, issued: Issued) -> Response {
    let age = max_age(inst, &issued.stage).await;
    issued_response(issued, age)
}

pub async fn second_factor(
    visit: Visit,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    let (auth, now) = (&visit.state.auth, visit.state.clock.now());
    let token = visit.presented();
    let issued =
        signin::second_factor_step(auth, &visit.inst, &token, body.code, visit.ip, now).await?;
    Ok(answer(&visit.inst, issued).await)
}

pub async fn change_password(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    ClientIp(ip): ClientIp,
    Session(session): Session,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<Response, ApiError> {
    // Half-way through sign-in only the forced change is open; the code step cannot be skipped.
    if session.stage != "active" && session.stage != "password_change" {
        return Err(ApiError(crate::web::WebError::Unauthenticated));
    }
    let forced = session.stage == "password_change";
    let proof = if forced {
        None
    } else {
        Some(Proof {
            password: Secret::new(body.current_password.ok_or_else(|| {
                crate::web::WebError::invalid(
                    "current_password",
                    "the current password is required",
                )
            })?),
            code: body.code,
        })
    };
    let now = state.clock.now();
    accounts::change_password(
        &state.auth,
        &inst,
        &session,
        proof,
        Secret::new(body.new_password),
        crate::web::by(&session, ip, &state),
    )
    .await?;
    if forced {
        let issued = signin::advance(&state.auth, &inst, &session, ip, now).await?;
        return Ok(answer(&inst, issued).await);
    }
    Ok(Json(json!({ "status": "password_changed" })).into_response())
}

/// `POST /api/v1/session/enrolment-verify` `{"code"}`: the verified step before a first factor.
pub async fn enrolment_verify(
    visit: Visit,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    let (auth, now) = (&visit.state.auth, visit.state.clock.now());
    let token = visit.presented();
    let verified =
        crate::auth::enrolment::verify_step(auth, &visit.inst, &token, body.code, visit.ip, now);
    Ok(answer(&visit.inst, verified.await?).await)
}

/// `POST /api/v1/session/code`: e-mails a confirmation code for a change to one's own account
/// (accounts whose factor is e-mailed codes).
pub async fn reauth_code(
    Ctx {
        state, inst, ip, s, ..
    }: Ctx,
) -> Result<Json<serde_json::Value>, ApiError> {
    crate::auth::reauth::send_code(&state.auth, &inst, &s, ip, state.clock.now()).await?;
    Ok(Json(json!({ "status": "code_sent" })))
}

/// `POST /api/v1/session/email` `{"current_password","code","email"}`.
pub async fn change_email(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    ApiJson(body): ApiJson<EmailBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let proof = Proof {
        password: Secret::new(body.current_password),
        code: body.code,
    };
    accounts::change_email(&state.auth, &inst, &s, proof, body.email, by).await?;
    Ok(Json(json!({ "status": "email_changed" })))
}

/// `POST /api/v1/session/second-factor/method` `{"current_password","code","method"}`: e-mailed
/// codes or none, where the policy allows.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodBody {
    current_password: String,
    code: Option<String>,
    method: String,
}

pub async fn set_method(
    ctx: Ctx,
    ApiJson(body): ApiJson<MethodBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let method: &'static str = match body.method.as_str() {
        "email" => "email",
        "none" => "none",
        _ => {
            return Err(ApiError(crate::web::WebError::invalid(
                "method",
                "choose email or none",
            )));
        }
    };
    let proof = Proof {
        password: Secret::new(body.current_password),
        code: body.code,
    };
    let (auth, by) = (&ctx.state.auth, ctx.by.clone());
    crate::auth::second_factor::set_simple(auth, &ctx.inst, &ctx.s, proof, by, method).await?;
    Ok(Json(
        json!({ "status": "second_factor_changed", "method": method }),
    ))
}

pub async fn whoami(Session(s): Session) -> Json<serde_json::Value> {
    let stage = match s.stage.as_str() {
        "active" => "signed_in",
        "second_factor" => "second_factor_required",
        "enrol_verify" => "enrolment_verification_required",
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
        "previous_sign_in": {
            "at": s.prior.at,
            "from": s.prior.source,
            "failed_attempts_since": s.prior.failures,
        },
    }))
}

pub async fn delete(
    Ctx {
        state, inst, ip, s, ..
    }: Ctx,
) -> Result<Response, ApiError> {
    signin::sign_out(&inst, &s, ip, state.clock.now()).await?;
    Ok((
        crate::web::guard::signed_out_headers(),
        Json(json!({ "status": "signed_out" })),
    )
        .into_response())
}

/// `POST /api/v1/session/totp`: during forced enrolment (after the verified step) a new app
/// secret; signed in, the body `{"current_password","code"}` proves it is the person first.
pub async fn totp_start(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    super::ApiBytes(body): super::ApiBytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let proof = if s.stage == "active" {
        let b: ProofBody = serde_json::from_slice(&body).map_err(|e| {
            crate::web::WebError::invalid(
                "current_password",
                format!("send {{\"current_password\", \"code\"}} to set up a new app: {e}"),
            )
        })?;
        Some(b.proof())
    } else {
        None
    };
    let e = crate::auth::second_factor::start_totp(&state.auth, &inst, &s, proof, &by).await?;
    Ok(Json(
        json!({ "secret": e.secret_base32.expose(), "qr_svg": e.qr_svg }),
    ))
}

/// `POST /api/v1/session/totp/confirm` `{"code"}`: turns the app on; returns the recovery codes once.
pub async fn totp_confirm(
    ctx: Ctx,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    let (auth, inst, s) = (&ctx.state.auth, &*ctx.inst, &*ctx.s);
    let now = ctx.state.clock.now();
    let codes =
        crate::auth::second_factor::confirm_totp(auth, inst, s, ctx.by.clone(), body.code).await?;
    let codes: Vec<String> = codes.iter().map(|c| c.expose().clone()).collect();
    if s.stage == "active" {
        return Ok(
            Json(json!({ "status": "totp_enabled", "recovery_codes": codes })).into_response(),
        );
    }
    let issued = signin::advance(auth, inst, s, ctx.ip, now).await?;
    let age = max_age(inst, &issued.stage).await;
    Ok(issued_response_with(
        issued,
        age,
        json!({ "recovery_codes": codes }),
    ))
}

/// `GET /api/v1/sessions`: the caller's own live sessions.
pub async fn list_sessions(
    Ctx { state, inst, s, .. }: Ctx,
) -> Result<Json<serde_json::Value>, ApiError> {
    let list = crate::auth::sessions::list_own(&inst, &s, state.clock.now()).await?;
    Ok(Json(json!({ "sessions": list })))
}

/// `DELETE /api/v1/sessions/{handle}`: ends one of the caller's sessions.
pub async fn end_session(
    Ctx { inst, s, by, .. }: Ctx,
    super::ApiPath(handle): super::ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    crate::auth::sessions::end_own(&inst, &s, handle, by).await?;
    Ok(Json(json!({ "status": "signed_out" })))
}

/// `DELETE /api/v1/sessions`: ends every session of the caller but this one.
pub async fn end_other_sessions(
    Ctx { inst, s, by, .. }: Ctx,
) -> Result<Json<serde_json::Value>, ApiError> {
    let n = crate::auth::sessions::end_others(&inst, &s, by).await?;
    Ok(Json(json!({ "status": "signed_out", "sessions": n })))
}
