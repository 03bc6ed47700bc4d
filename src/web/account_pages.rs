//! The signed-in user's own page: password, second factor and e-mail changes (each with the
//! password and current factor again), and the list of their sessions.

use super::WebError;
use super::pages::{Chrome, chrome, render_refused};
use crate::app::AppState;
use crate::auth::accounts::{self, AccountError};
use crate::auth::reauth::{self, Proof};
use crate::auth::second_factor;
use crate::auth::sessions::{self, SessionView};
use crate::auth::signin::SessionInfo;
use crate::crypto::Secret;
use crate::web::Ctx;
use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    c: Chrome,
    messages: Vec<String>,
    errors: Vec<String>,
    previous: Option<String>,
    failures: i64,
    min_length: u32,
    factor: String,
    factor_label: String,
    code_label: String,
    /// The person's own language, or `None` for the instance's default.
    language: Option<crate::i18n::Locale>,
    languages: Vec<(&'static str, &'static str)>,
    policy_mode: &'static str,
    email: String,
    enrolment_svg: Option<String>,
    enrolment_key: String,
    recovery_codes: Vec<String>,
    sessions: Vec<SessionView>,
    /// Whether the instance allows calendar feeds (the link to the person's switch).
    feeds_allowed: bool,
}

/// Something the page says after an action: a catalogue key (with `$count` when it has one), or a
/// sentence the domain wrote (a refused password's reasons).
enum Said {
    Key(&'static str, usize),
    /// A refusal the domain worded (see `web::words`).
    Account(AccountError),
}

impl Said {
    fn key(k: &'static str) -> Self {
        Said::Key(k, 0)
    }

    fn show(self, c: &Chrome) -> String {
        match self {
            Said::Key(k, n) => c.count(k, n),
            Said::Account(e) => super::words::account_error(&c.tr, &e).unwrap_or_default(),
        }
    }
}

#[derive(Default)]
struct Extras {
    messages: Vec<Said>,
    errors: Vec<Said>,
    enrolment: Option<second_factor::Enrolment>,
    recovery_codes: Vec<String>,
}

/// "Your previous sign-in was at … from …; N failed attempts since.", as markup (the time is a
/// `<time>` element in the instance's zone).
/// "Your previous sign-in was on … from …. No failed attempts since." as markup: the time keeps
/// its `<time>` element, the address is escaped (the catalogue's own text is trusted, compiled in).
pub(super) fn previous_sign_in(
    s: &SessionInfo,
    when: super::time::Shown,
    tr: &crate::i18n::Tr,
) -> Option<String> {
    let at = when.at(s.prior.at.as_deref()?);
    let from = super::html::esc(s.prior.source.as_deref().unwrap_or("?"));
    let failures = tr.count(
        "previous-failures",
        usize::try_from(s.prior.failures).unwrap_or(0),
    );
    Some(format!(
        "{} {failures}",
        tr.with(
            "previous-signin",
            &[("at", at.into()), ("source", from.into())]
        )
    ))
}

async fn page(
    state: &AppState,
    inst: &crate::instances::Instance,
    s: &SessionInfo,
    x: Extras,
) -> Result<Response, WebError> {
    let policy = accounts::policy(inst).await?;
    let (factor, email) = crate::auth::directory::by_id(inst, s.user_id)
        .await?
        .map(|u| (u.second_factor, u.email))
        .unwrap_or_default();
    let list = sessions::list_own(inst, s, state.clock.now()).await?;
    let feeds_allowed = crate::hub::feeds::allowed(inst).await?;
    let failed = !x.errors.is_empty();
    let c = chrome(state, inst, Some(s)).await?;
    let p = AccountPage {
        previous: previous_sign_in(s, c.when, &c.tr),
        messages: x.messages.into_iter().map(|m| m.show(&c)).collect(),
        errors: x.errors.into_iter().map(|m| m.show(&c)).collect(),
        failures: s.prior.failures,
        min_length: policy.password_min_length(),
        factor_label: match factor.as_str() {
            "totp" | "email" => super::labels::second_factor(&c.tr, &factor),
            _ if matches!(
                policy.second_factor(),
                crate::auth::policy::SecondFactorMode::Required
                    | crate::auth::policy::SecondFactorMode::RequiredTotp
            ) =>
            {
                c.t("account-factor-required")
            }
            _ => super::labels::second_factor(&c.tr, "none"),
        },
        code_label: match factor.as_str() {
            "totp" => c.t("account-code-app"),
            _ => c.t("account-code-email"),
        },
        language: s.language,
        languages: crate::i18n::Locale::ALL
            .iter()
            .map(|l| (l.code(), l.name()))
            .collect(),
        c,
        factor,
        email,
        policy_mode: policy.second_factor().as_str(),
        enrolment_key: x
            .enrolment
            .as_ref()
            .map(|e| e.secret_base32.expose().clone())
            .unwrap_or_default(),
        enrolment_svg: x.enrolment.map(|e| e.qr_svg),
        recovery_codes: x.recovery_codes,
        sessions: list,
        feeds_allowed,
    };
    render_refused(&p, failed)
}

pub async fn show(
    Ctx { state, inst, s, .. }: Ctx,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Result<Response, WebError> {
    let mut x = Extras::default();
    if q.as_deref() == Some("done=language") {
        x.messages.push(Said::key("account-language-saved"));
    }
    page(&state, &inst, &s, x).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[allow(dead_code)]
    csrf: String,
    current_password: String,
    #[serde(default)]
    code: Option<String>,
    new_password: String,
    confirm: String,
}

fn user_errors(e: AccountError) -> Result<Vec<Said>, WebError> {
    match e {
        AccountError::PasswordRejected(p) => Ok(p
            .into_iter()
            .map(|p| Said::Account(AccountError::PasswordRejected(vec![p])))
            .collect()),
        AccountError::WrongPassword => Ok(vec![Said::key("account-wrong-password")]),
        e @ (AccountError::Invalid { .. } | AccountError::NotFound(_)) => {
            Ok(vec![Said::Account(e)])
        }
        AccountError::Throttled(s) => Err(WebError::Throttled(s)),
        other => Err(other.into()),
    }
}

pub async fn change_password(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    Form(f): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let mut x = Extras::default();
    if f.new_password != f.confirm {
        x.errors.push(Said::key("passwords-differ"));
    } else {
        let proof = Proof {
            password: Secret::new(f.current_password),
            code: f.code,
        };
        match accounts::change_password(
            &state.auth,
            &inst,
            &s,
            Some(proof),
            Secret::new(f.new_password),
            by,
        )
        .await
        {
            Ok(()) => x.messages.push(Said::key("account-password-changed")),
            Err(e) => x.errors = user_errors(e)?,
        }
    }
    page(&state, &inst, &s, x).await
}

/// `POST /account/code`: e-mails a confirmation code for the changes on this page.
pub async fn send_code(
    Ctx {
        state, inst, ip, s, ..
    }: Ctx,
) -> Result<Response, WebError> {
    let mut x = Extras::default();
    match reauth::send_code(&state.auth, &inst, &s, ip, state.clock.now()).await {
        Ok(()) => x.messages.push(Said::key("account-code-sent")),
        Err(e) => x.errors = user_errors(e)?,
    }
    page(&state, &inst, &s, x).await
}

#[derive(Deserialize)]
pub struct MethodForm {
    #[allow(dead_code)]
    csrf: String,
    current_password: String,
    #[serde(default)]
    code: Option<String>,
    method: String,
}

/// `POST /account/second-factor`: after password and current factor, either starts setting up
/// an app (the QR code is shown; confirming needs the app's code within ten minutes) or switches
/// to e-mailed codes or none.
pub async fn set_method(
    Ctx {
        state,
        inst,
        s,
        by: b,
        ..
    }: Ctx,
    Form(f): Form<MethodForm>,
) -> Result<Response, WebError> {
    let proof = Proof {
        password: Secret::new(f.current_password),
        code: f.code,
    };
    let mut x = Extras::default();
    let result = match f.method.as_str() {
        "totp" => second_factor::start_totp(&state.auth, &inst, &s, Some(proof), &b)
            .await
            .map(|e| x.enrolment = Some(e)),
        "email" => second_factor::set_simple(&state.auth, &inst, &s, proof, b, "email")
            .await
            .map(|()| x.messages.push(Said::key("account-factor-email"))),
        "none" => second_factor::set_simple(&state.auth, &inst, &s, proof, b, "none")
            .await
            .map(|()| x.messages.push(Said::key("account-factor-off"))),
        _ => return Err(WebError::invalid("method", "choose totp, email or none")),
    };
    if let Err(e) = result {
        x.errors = user_errors(e)?;
    }
    page(&state, &inst, &s, x).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[allow(dead_code)]
    csrf: String,
    code: String,
}

pub async fn totp_confirm(ctx: Ctx, Form(f): Form<CodeForm>) -> Result<Response, WebError> {
    let Ctx { state, inst, s, .. } = &ctx;
    let mut x = Extras::default();
    match second_factor::confirm_totp(&state.auth, inst, s, ctx.by.clone(), f.code).await {
        Ok(codes) => {
            x.messages.push(Said::key("account-factor-app"));
            x.recovery_codes = codes.iter().map(|c| c.expose().clone()).collect();
        }
        Err(e) => x.errors = user_errors(e)?,
    }
    page(state, inst, s, x).await
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[allow(dead_code)]
    csrf: String,
    email: String,
    current_password: String,
    #[serde(default)]
    code: Option<String>,
}

pub async fn change_email(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    Form(f): Form<EmailForm>,
) -> Result<Response, WebError> {
    let proof = Proof {
        password: Secret::new(f.current_password),
        code: f.code,
    };
    let mut x = Extras::default();
    match accounts::change_email(&state.auth, &inst, &s, proof, f.email, by).await {
        Ok(()) => x.messages.push(Said::key("account-email-changed")),
        Err(e) => x.errors = user_errors(e)?,
    }
    page(&state, &inst, &s, x).await
}

/// `POST /account/sessions/{handle}/end`.
pub async fn end_session(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    Path(handle): Path<String>,
) -> Result<Response, WebError> {
    let mut x = Extras::default();
    match sessions::end_own(&inst, &s, handle, by).await {
        Ok(()) => x.messages.push(Said::key("account-session-ended")),
        Err(e) => x.errors = user_errors(e)?,
    }
    page(&state, &inst, &s, x).await
}

/// `POST /account/sessions/end-others`.
pub async fn end_other_sessions(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
) -> Result<Response, WebError> {
    let n = sessions::end_others(&inst, &s, by).await?;
    let x = Extras {
        messages: vec![Said::Key("account-others-ended", n)],
        ..Default::default()
    };
    page(&state, &inst, &s, x).await
}

#[derive(Deserialize)]
pub struct LanguageForm {
    #[allow(dead_code)]
    csrf: String,
    /// A language code, or empty for the instance's default.
    language: String,
}

/// `POST /account/language`: the language this person reads holdfast in. Only the pages change,
/// so neither the password nor a code is asked.
pub async fn set_language(
    Ctx { inst, s, .. }: Ctx,
    Form(f): Form<LanguageForm>,
) -> Result<Response, WebError> {
    let language = match f.language.as_str() {
        "" => None,
        code => Some(
            crate::i18n::Locale::parse(code)
                .ok_or_else(|| WebError::invalid("language", "unknown language"))?,
        ),
    };
    accounts::set_language(&inst, s.user_id, language).await?;
    Ok(axum::response::Redirect::to("/account?done=language").into_response())
}
