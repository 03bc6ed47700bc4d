//! Pages of the shell: chrome shared by every page, the dashboard, and the error page.

use super::guard::{MaybeSession, PRE_COOKIE, cookie};
use super::{CurrentInstance, WebError, assets};
use crate::app::AppState;
use crate::auth::accounts;
use crate::auth::signin::SessionInfo;
use crate::instances::Instance;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{Html, IntoResponse, Redirect, Response};

/// What the layout around every page needs.
pub struct Chrome {
    pub assets: String,
    pub instance_title: String,
    pub version: &'static str,
    pub user: Option<String>,
    pub admin: bool,
    pub csrf: String,
    pub banners: Vec<String>,
    /// Modules the user may open, as (slug, label).
    pub modules: Vec<(&'static str, &'static str)>,
}

impl Chrome {
    pub fn bare(instance_title: String) -> Self {
        Self {
            assets: assets::base(),
            instance_title,
            version: env!("CARGO_PKG_VERSION"),
            user: None,
            admin: false,
            csrf: String::new(),
            banners: vec![],
            modules: vec![],
        }
    }
}

/// Chrome for a signed-in (or half-signed-in) user; admins see warnings that need them.
pub async fn chrome(
    state: &AppState,
    inst: &Instance,
    session: Option<&SessionInfo>,
) -> Result<Chrome, WebError> {
    let mut c = Chrome::bare(inst.title().await?);
    if let Some(s) = session {
        c.csrf = s.csrf.clone();
        if s.stage == "active" {
            c.user = Some(s.username.clone());
            c.admin = s.grants.is_admin();
            c.modules = crate::schema::ALL
                .iter()
                .filter(|d| {
                    s.grants.allows(crate::access::Permission::Module(
                        d.module,
                        crate::access::Action::View,
                    ))
                })
                .map(|d| (d.slug, d.label))
                .collect();
        }
        if c.admin {
            let now = state.clock.now();
            let (support, mail) = inst
                .db
                .read(move |conn| -> Result<_, crate::storage::StorageError> {
                    Ok((
                        accounts::active_support(conn, now)?,
                        crate::storage::outbox::problem_count(conn)?,
                    ))
                })
                .await?;
            for (name, until) in support {
                c.banners.push(format!(
                    "Vendor support access is open: account \"{name}\" can sign in until {until} (UTC). Revoke it under Administration → Users when it is no longer needed."
                ));
            }
            if mail.0 > 0 {
                c.banners.push(format!(
                    "{} e-mail message(s) could not be delivered. See Administration → Mail.",
                    mail.0
                ));
            }
        }
    }
    Ok(c)
}

/// Chrome for a page shown before sign-in: carries a double-submit token in a cookie.
/// With a half-finished sign-in in progress, that session's token protects the form instead.
pub async fn public_chrome(
    inst: &Instance,
    headers: &HeaderMap,
    session: Option<&SessionInfo>,
) -> Result<(Chrome, Option<String>), WebError> {
    let mut c = Chrome::bare(inst.title().await?);
    if let Some(s) = session {
        c.csrf = s.csrf.clone();
        return Ok((c, None));
    }
    let (token, set) = match cookie(headers, PRE_COOKIE).filter(|t| t.len() >= 32) {
        Some(t) => (t, None),
        None => {
            let t = crate::crypto::random_token(24)
                .map_err(|e| WebError::Internal(e.to_string()))?
                .expose()
                .clone();
            let set = format!("{PRE_COOKIE}={t}; Path=/; Secure; HttpOnly; SameSite=Strict");
            (t, Some(set))
        }
    };
    c.csrf = token;
    Ok((c, set))
}

pub fn with_cookie(resp: Response, set_cookie: Option<String>) -> Response {
    match set_cookie {
        Some(v) => ([(SET_COOKIE, v)], resp).into_response(),
        None => resp,
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub status: u16,
    pub reason: &'static str,
    pub message: &'a str,
    pub c: Chrome,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    username: String,
    second_factor: String,
}

pub async fn home(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    MaybeSession(session): MaybeSession,
) -> Result<Response, WebError> {
    let Some(s) = session else {
        return Ok(Redirect::to("/signin").into_response());
    };
    if s.stage != "active" {
        return Ok(Redirect::to(if s.stage == "second_factor" {
            "/signin/code"
        } else {
            "/signin/password"
        })
        .into_response());
    }
    let page = HomePage {
        c: chrome(&state, &inst, Some(&s)).await?,
        username: s.username.clone(),
        second_factor: match s.second_factor.as_str() {
            "totp" => "authenticator app".into(),
            "email" => "e-mailed code".into(),
            _ => "none".into(),
        },
    };
    render(&page)
}

pub async fn not_found() -> WebError {
    WebError::NotFound
}

pub fn render(page: &impl Template) -> Result<Response, WebError> {
    page.render()
        .map(|html| Html(html).into_response())
        .map_err(|e| WebError::Internal(format!("template: {e}")))
}
