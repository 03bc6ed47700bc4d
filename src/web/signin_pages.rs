//! The sign-in pages: password, second factor, forced password change, sign-out, first-run setup.

use super::api::session::max_age;
use super::error::MISTAKES;
use super::guard::{MaybeSession, session_cookie};
use super::pages::{chrome, public_chrome, render, with_cookie};
use super::{CurrentInstance, WebError};
use crate::app::AppState;
use crate::auth::accounts::{self, AccountError};
use crate::auth::signin::{self, Issued, Stage};
use crate::crypto::Secret;
use crate::web::{Ctx, Visit};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    c: super::pages::Chrome,
    error: Option<String>,
    notice: Option<String>,
    username: String,
    /// The administrator's pre-sign-in notice (consent banner), if set.
    banner: Option<String>,
    /// True while the instance has no administrator: the page says how to create the first one.
    no_admin: bool,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage {
    c: super::pages::Chrome,
    error: Option<String>,
    hint: String,
}

#[derive(Template)]
#[template(path = "newpassword.html")]
struct NewPasswordPage {
    c: super::pages::Chrome,
    reason: String,
    errors: Vec<String>,
    min_length: u32,
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    c: super::pages::Chrome,
    errors: Vec<String>,
    token: String,
    username: String,
    email: String,
    min_length: u32,
}

fn next_page(issued: &Issued) -> &'static str {
    match issued.stage {
        Stage::SignedIn => "/",
        Stage::SecondFactor { .. } => "/signin/code",
        Stage::EnrolVerify { .. } => "/signin/verify",
        Stage::TotpEnrollment => "/signin/enroll",
        Stage::PasswordChange => "/signin/password",
    }
}

/// The browser's User-Agent, for the person's list of their sessions.
pub(super) fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(signin::MAX_USER_AGENT_CHARS)
        .collect()
}

async fn go_on(inst: &crate::instances::Instance, issued: Issued) -> Response {
    let age = max_age(inst, &issued.stage).await;
    let to = next_page(&issued);
    (
        [(SET_COOKIE, session_cookie(issued.token.expose(), age))],
        Redirect::to(to),
    )
        .into_response()
}

pub async fn signin_form(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if session.as_ref().is_some_and(|s| s.stage == "active") {
        return Ok(Redirect::to("/").into_response());
    }
    let (c, set) = public_chrome(&state, &inst, &headers, session.as_deref()).await?;
    let page = SignInPage {
        c,
        banner: crate::auth::notice::get(&inst).await?,
        no_admin: !crate::auth::accounts::has_admin(&inst).await?,
        error: None,
        notice: None,
        username: String::new(),
    };
    Ok(with_cookie(render(&page)?, set))
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[allow(dead_code)]
    csrf: String,
    username: String,
    password: String,
}

/// The password step of a sign-in, for the page and the API alike. Once it succeeds, the session
/// the browser presented before (another account's, say) ends: the new one replaces it.
pub async fn password_step(
    visit: &Visit,
    username: String,
    password: Secret<String>,
) -> Result<Issued, WebError> {
    let Visit {
        state, inst, ip, ..
    } = visit;
    let agent = user_agent(&visit.headers);
    let now = state.clock.now();
    let issued =
        signin::password_step(&state.auth, inst, username, password, *ip, &agent, now).await?;
    signin::end_presented(inst, &visit.presented(), *ip, state.clock.now()).await?;
    Ok(issued)
}

pub async fn signin_submit(
    visit: Visit,
    Form(form): Form<SignInForm>,
) -> Result<Response, WebError> {
    let username = form.username.trim().to_string();
    let password = Secret::new(form.password);
    match password_step(&visit, username.clone(), password).await {
        Ok(issued) => Ok(go_on(&visit.inst, issued).await),
        Err(e) => {
            if !matches!(
                e,
                WebError::SignInFailed
                    | WebError::Throttled(_)
                    | WebError::Busy
                    | WebError::Invalid { .. }
            ) {
                return Err(e);
            }
            let (c, set) = public_chrome(&visit.state, &visit.inst, &visit.headers, None).await?;
            let page = SignInPage {
                error: Some(e.message_in(&c.tr)),
                c,
                banner: crate::auth::notice::get(&visit.inst).await?,
                no_admin: !crate::auth::accounts::has_admin(&visit.inst).await?,
                notice: None,
                // Only what a user name can be is shown back.
                username: username.chars().take(signin::MAX_USERNAME_CHARS).collect(),
            };
            let resp = e.shown_on(render(&page)?);
            Ok(with_cookie(resp, set))
        }
    }
}

pub async fn code_form(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    if s.stage != "second_factor" {
        return Ok(Redirect::to("/").into_response());
    }
    let c = chrome(&state, &inst, Some(&s)).await?;
    let page = CodePage {
        error: None,
        hint: hint_for(&c.tr, &s.second_factor),
        c,
    };
    render(&page)
}

fn hint_for(tr: &crate::i18n::Tr, second_factor: &str) -> String {
    if second_factor == "totp" {
        tr.t("code-hint-totp")
    } else {
        tr.t("code-hint-email")
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[allow(dead_code)]
    csrf: String,
    code: String,
}

pub async fn code_submit(
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    submit_code(ctx, &headers, form.code, CodeStep::SecondFactor).await
}

/// The two steps of a sign-in that take a code: the second factor, and the verified step before a
/// first enrolment.
#[derive(Clone, Copy, PartialEq)]
enum CodeStep {
    SecondFactor,
    EnrolmentVerify,
}

/// A code step from its page: on to the next page when the code is right; the sign-in page again
/// when a refusal ended the attempt; the step's page again with what was wrong otherwise.
async fn submit_code(
    ctx: Ctx,
    headers: &HeaderMap,
    code: String,
    step: CodeStep,
) -> Result<Response, WebError> {
    let (state, inst, s, ip) = (&ctx.state, &*ctx.inst, &*ctx.s, ctx.ip);
    let token = super::guard::presented_session(headers);
    let now = state.clock.now();
    let result = match step {
        CodeStep::SecondFactor => {
            signin::second_factor_step(&state.auth, inst, &token, code, ip, now)
                .await
                .map_err(WebError::from)
        }
        CodeStep::EnrolmentVerify => {
            crate::auth::enrolment::verify_step(&state.auth, inst, &token, code, ip, now)
                .await
                .map_err(WebError::from)
        }
    };
    let e = match result {
        Ok(issued) => return Ok(go_on(inst, issued).await),
        Err(e) => e,
    };
    let shown = matches!(e, WebError::SignInFailed | WebError::Throttled(_))
        || (step == CodeStep::EnrolmentVerify && matches!(e, WebError::Invalid { .. }));
    if !shown {
        return Err(e);
    }
    // The attempt may have been ended (too many tries, account locked): then start over.
    let still = signin::authenticate(inst, &token, ip, state.clock.now()).await?;
    if still.is_none() {
        return start_over(state, inst, headers, s, &e).await;
    }
    let c = chrome(state, inst, Some(s)).await?;
    match step {
        CodeStep::SecondFactor => {
            let page = CodePage {
                error: Some(c.t("code-wrong")),
                hint: hint_for(&c.tr, &s.second_factor),
                c,
            };
            Ok(WebError::SignInFailed.shown_on(render(&page)?))
        }
        CodeStep::EnrolmentVerify => {
            let resp = render(&VerifyPage {
                error: Some(match &e {
                    WebError::SignInFailed => c.t("code-wrong"),
                    other => other.message_in(&c.tr),
                }),
                c,
                emailed: state.auth.mail_enabled && !s.email.is_empty(),
            })?;
            Ok(e.shown_on(resp))
        }
    }
}

pub async fn password_form(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    if s.stage != "password_change" {
        return Ok(Redirect::to("/").into_response());
    }
    let policy = accounts::policy(&inst).await?;
    let c = chrome(&state, &inst, Some(&s)).await?;
    let page = NewPasswordPage {
        reason: c.t("newpassword-reason-set"),
        c,
        errors: vec![],
        min_length: policy.password_min_length(),
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    #[allow(dead_code)]
    csrf: String,
    new_password: String,
    confirm: String,
}

pub async fn password_submit(
    Ctx {
        state, inst, ip, s, ..
    }: Ctx,
    Form(form): Form<NewPasswordForm>,
) -> Result<Response, WebError> {
    if s.stage != "password_change" {
        return Err(WebError::Forbidden);
    }
    let now = state.clock.now();
    let tr = super::pages::words(&state, super::pages::reader_locale(&inst, Some(&s)).await?);
    let result = if form.new_password != form.confirm {
        Err(vec![
            chrome(&state, &inst, Some(&s)).await?.t("passwords-differ"),
        ])
    } else {
        match accounts::change_password(
            &state.auth,
            &inst,
            &s,
            None,
            Secret::new(form.new_password),
            crate::audit::By {
                actor: s.actor(),
                source: ip.to_string(),
                now,
            },
        )
        .await
        {
            Ok(()) => Ok(()),
            Err(AccountError::PasswordRejected(p)) => Err(super::words::password_problems(&tr, &p)),
            Err(e) => return Err(e.into()),
        }
    };
    match result {
        Ok(()) => {
            let issued = signin::advance(&state.auth, &inst, &s, ip, now).await?;
            Ok(go_on(&inst, issued).await)
        }
        Err(errors) => {
            let policy = accounts::policy(&inst).await?;
            let c = chrome(&state, &inst, Some(&s)).await?;
            let page = NewPasswordPage {
                reason: c.t("newpassword-reason"),
                c,
                errors,
                min_length: policy.password_min_length(),
            };
            let resp = MISTAKES.shown_on(render(&page)?);
            Ok(resp)
        }
    }
}

/// The sign-in page again after a code step that ended the attempt (too many tries, the account
/// locked): the user starts over, told why.
async fn start_over(
    state: &AppState,
    inst: &crate::instances::Instance,
    headers: &HeaderMap,
    s: &crate::auth::signin::SessionInfo,
    e: &WebError,
) -> Result<Response, WebError> {
    let (c, set) = public_chrome(state, inst, headers, None).await?;
    let page = SignInPage {
        error: Some(e.message_in(&c.tr)),
        c,
        banner: crate::auth::notice::get(inst).await?,
        no_admin: !crate::auth::accounts::has_admin(inst).await?,
        notice: None,
        username: s.username.clone(),
    };
    let resp = WebError::SignInFailed.shown_on(render(&page)?);
    Ok(with_cookie(resp, set))
}

pub async fn signout(
    Ctx {
        state, inst, ip, s, ..
    }: Ctx,
) -> Result<Response, WebError> {
    signin::sign_out(&inst, &s, ip, state.clock.now()).await?;
    Ok((
        crate::web::guard::signed_out_headers(),
        Redirect::to("/signin"),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

pub async fn setup_form(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    headers: HeaderMap,
    Query(q): Query<SetupQuery>,
) -> Result<Response, WebError> {
    let token = q.token.unwrap_or_default();
    let (c, set) = public_chrome(&state, &inst, &headers, None).await?;
    if !accounts::setup_token_valid(&inst, &token, state.clock.now()).await? {
        return Err(WebError::invalid("token", c.t("setup-link-invalid")));
    }
    let policy = accounts::policy(&inst).await?;
    let page = SetupPage {
        c,
        errors: vec![],
        token,
        username: String::new(),
        email: String::new(),
        min_length: policy.password_min_length(),
    };
    Ok(with_cookie(render(&page)?, set))
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[allow(dead_code)]
    csrf: String,
    token: String,
    username: String,
    email: String,
    password: String,
    confirm: String,
}

pub async fn setup_submit(visit: Visit, Form(form): Form<SetupForm>) -> Result<Response, WebError> {
    let Visit {
        state,
        inst,
        ip,
        headers,
    } = visit;
    let username = form.username.trim().to_string();
    let email = form.email.trim().to_string();
    let (c, set) = public_chrome(&state, &inst, &headers, None).await?;
    let errors = if form.password != form.confirm {
        vec![c.t("passwords-differ")]
    } else {
        match accounts::complete_setup(
            &state.auth,
            &inst,
            accounts::SetupRequest {
                token: form.token.clone(),
                username: username.clone(),
                email: email.clone(),
                password: Secret::new(form.password),
            },
            ip.to_string(),
            state.clock.now(),
        )
        .await
        {
            Ok(()) => {
                let page = SignInPage {
                    notice: Some(c.t("setup-done")),
                    c,
                    banner: crate::auth::notice::get(&inst).await?,
                    no_admin: !crate::auth::accounts::has_admin(&inst).await?,
                    error: None,
                    username,
                };
                return Ok(with_cookie(render(&page)?, set));
            }
            Err(AccountError::PasswordRejected(p)) => super::words::password_problems(&c.tr, &p),
            Err(e @ (AccountError::Invalid { .. } | AccountError::Exists(_))) => {
                super::words::account_error(&c.tr, &e).into_iter().collect()
            }
            Err(e) => return Err(e.into()),
        }
    };
    let policy = accounts::policy(&inst).await?;
    let page = SetupPage {
        c,
        errors,
        token: form.token,
        username,
        email,
        min_length: policy.password_min_length(),
    };
    let resp = MISTAKES.shown_on(render(&page)?);
    Ok(with_cookie(resp, set))
}

#[derive(Template)]
#[template(path = "enroll.html")]
struct EnrollPage {
    c: super::pages::Chrome,
    error: Option<String>,
    svg: String,
    key: String,
}

#[derive(Template)]
#[template(path = "recovery.html")]
struct RecoveryPage {
    c: super::pages::Chrome,
    codes: Vec<String>,
    next: &'static str,
}

pub async fn enroll_form(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
) -> Result<Response, WebError> {
    if s.stage != "totp_enrollment" {
        return Ok(Redirect::to("/").into_response());
    }
    let e = crate::auth::second_factor::start_totp(&state.auth, &inst, &s, None, &by).await?;
    render(&EnrollPage {
        c: chrome(&state, &inst, Some(&s)).await?,
        error: None,
        svg: e.qr_svg,
        key: e.secret_base32.expose().clone(),
    })
}

pub async fn enroll_submit(
    Ctx {
        state,
        inst,
        ip,
        s,
        by,
    }: Ctx,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    if s.stage != "totp_enrollment" {
        return Err(WebError::Forbidden);
    }
    let now = state.clock.now();
    match crate::auth::second_factor::confirm_totp(&state.auth, &inst, &s, by.clone(), form.code)
        .await
    {
        Ok(codes) => {
            let issued = signin::advance(&state.auth, &inst, &s, ip, now).await?;
            let age = max_age(&inst, &issued.stage).await;
            let next = next_page(&issued);
            let page = RecoveryPage {
                c: chrome(&state, &inst, None).await?,
                codes: codes.iter().map(|c| c.expose().clone()).collect(),
                next,
            };
            Ok((
                [(SET_COOKIE, session_cookie(issued.token.expose(), age))],
                render(&page)?,
            )
                .into_response())
        }
        Err(e @ AccountError::Invalid { .. }) => {
            let en =
                crate::auth::second_factor::start_totp(&state.auth, &inst, &s, None, &by).await?;
            let c = chrome(&state, &inst, Some(&s)).await?;
            let resp = render(&EnrollPage {
                error: Some(format!("{e} {}", c.t("enroll-new-key"))),
                c,
                svg: en.qr_svg,
                key: en.secret_base32.expose().clone(),
            })?;
            Ok(MISTAKES.shown_on(resp))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    c: super::pages::Chrome,
    error: Option<String>,
    emailed: bool,
}

/// The verified step before enrolling a first factor: an e-mailed set-up code or an
/// administrator's enrolment code.
pub async fn verify_form(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    if s.stage != "enrol_verify" {
        return Ok(Redirect::to("/").into_response());
    }
    render(&VerifyPage {
        c: chrome(&state, &inst, Some(&s)).await?,
        error: None,
        emailed: state.auth.mail_enabled && !s.email.is_empty(),
    })
}

pub async fn verify_submit(
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    submit_code(ctx, &headers, form.code, CodeStep::EnrolmentVerify).await
}
