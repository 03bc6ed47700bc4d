//! The signed-in user's own page: password change and second-factor settings.

use super::guard::{ClientIp, Session};
use super::pages::{Chrome, chrome, render_refused};
use super::{CurrentInstance, WebError, by};
use crate::app::AppState;
use crate::auth::accounts::{self, AccountError};
use crate::auth::second_factor;
use crate::auth::signin::SessionInfo;
use crate::crypto::Secret;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    c: Chrome,
    messages: Vec<String>,
    errors: Vec<String>,
    min_length: u32,
    factor: String,
    factor_label: &'static str,
    policy_mode: &'static str,
    enrolment_svg: Option<String>,
    enrolment_key: String,
    recovery_codes: Vec<String>,
}

#[derive(Default)]
struct Extras {
    messages: Vec<String>,
    errors: Vec<String>,
    enrolment: Option<second_factor::Enrolment>,
    recovery_codes: Vec<String>,
}

async fn page(
    state: &AppState,
    inst: &crate::instances::Instance,
    s: &SessionInfo,
    x: Extras,
) -> Result<Response, WebError> {
    let policy = accounts::policy(inst).await?;
    let uid = s.user_id;
    let factor = inst
        .db
        .read(move |c| -> Result<_, crate::storage::StorageError> {
            Ok(crate::storage::users::by_id(c, uid)?
                .map(|u| u.second_factor)
                .unwrap_or_default())
        })
        .await?;
    let failed = !x.errors.is_empty();
    let p = AccountPage {
        c: chrome(state, inst, Some(s)).await?,
        messages: x.messages,
        errors: x.errors,
        min_length: policy.password_min_length(),
        factor_label: match factor.as_str() {
            "totp" => "authenticator app",
            "email" => "e-mailed code",
            _ if matches!(
                policy.second_factor(),
                crate::auth::policy::SecondFactorMode::Required
                    | crate::auth::policy::SecondFactorMode::RequiredTotp
            ) =>
            {
                "e-mailed code (required by the instance policy)"
            }
            _ => "none",
        },
        factor,
        policy_mode: policy.second_factor().as_str(),
        enrolment_key: x
            .enrolment
            .as_ref()
            .map(|e| e.secret_base32.expose().clone())
            .unwrap_or_default(),
        enrolment_svg: x.enrolment.map(|e| e.qr_svg),
        recovery_codes: x.recovery_codes,
    };
    render_refused(&p, failed)
}

pub async fn show(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    Session(s): Session,
) -> Result<Response, WebError> {
    page(&state, &inst, &s, Extras::default()).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[allow(dead_code)]
    csrf: String,
    current_password: String,
    new_password: String,
    confirm: String,
}

fn user_errors(e: AccountError) -> Result<Vec<String>, WebError> {
    match e {
        AccountError::PasswordRejected(p) => Ok(p),
        e @ (AccountError::WrongPassword | AccountError::Invalid { .. }) => Ok(vec![e.to_string()]),
        other => Err(other.into()),
    }
}

pub async fn change_password(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    ClientIp(ip): ClientIp,
    Session(s): Session,
    Form(f): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let mut x = Extras::default();
    if f.new_password != f.confirm {
        x.errors.push("The two new passwords differ.".into());
    } else {
        match accounts::change_password(
            &state.auth,
            &inst,
            s.user_id,
            Some(Secret::new(f.current_password)),
            Secret::new(f.new_password),
            Some(s.id_hash.clone()),
            by(&s, ip, &state),
        )
        .await
        {
            Ok(()) => x
                .messages
                .push("Password changed. Your other sessions were signed out.".into()),
            Err(e) => x.errors = user_errors(e)?,
        }
    }
    page(&state, &inst, &s, x).await
}

pub async fn totp_start(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    Session(s): Session,
) -> Result<Response, WebError> {
    let enrolment = second_factor::start_totp(&inst, s.user_id, s.username.clone()).await?;
    page(
        &state,
        &inst,
        &s,
        Extras {
            enrolment: Some(enrolment),
            ..Default::default()
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[allow(dead_code)]
    csrf: String,
    code: String,
}

pub async fn totp_confirm(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    ClientIp(ip): ClientIp,
    Session(s): Session,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    let mut x = Extras::default();
    match second_factor::confirm_totp(&state.auth, &inst, by(&s, ip, &state), s.user_id, f.code)
        .await
    {
        Ok(codes) => {
            x.messages
                .push("The authenticator app is now your second factor.".into());
            x.recovery_codes = codes.iter().map(|c| c.expose().clone()).collect();
        }
        Err(e) => x.errors = user_errors(e)?,
    }
    page(&state, &inst, &s, x).await
}

#[derive(Deserialize)]
pub struct MethodForm {
    #[allow(dead_code)]
    csrf: String,
    method: String,
}

pub async fn set_method(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    ClientIp(ip): ClientIp,
    Session(s): Session,
    Form(f): Form<MethodForm>,
) -> Result<Response, WebError> {
    let method: &'static str = match f.method.as_str() {
        "email" => "email",
        "none" => "none",
        _ => return Err(WebError::invalid("method", "choose email or none")),
    };
    let mut x = Extras::default();
    match second_factor::set_simple(&inst, by(&s, ip, &state), s.user_id, method).await {
        Ok(()) => x.messages.push("Second-factor setting saved.".into()),
        Err(e) => x.errors = user_errors(e)?,
    }
    let s: Arc<SessionInfo> = s;
    page(&state, &inst, &s, x).await
}
