//! Pages of the shell: chrome shared by every page, the dashboard, and the error page.

use super::guard::{MaybeSession, PRE_COOKIE, cookie};
use super::{CurrentInstance, WebError, assets};
use crate::app::AppState;
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
    pub banners: Vec<Banner>,
    /// Modules the user may open, as (slug, label).
    pub modules: Vec<(&'static str, &'static str)>,
    /// How times are written: `{{ c.when.at(stamp)|safe }}` in templates.
    pub when: super::time::Shown,
    /// Open alerts of the instance (administrators only; the badge in the header).
    pub open_alerts: i64,
}

/// A warning across the top of every page, with a link to where it is fixed when there is one.
pub struct Banner {
    pub text: String,
    /// (address, link text)
    pub fix: Option<(&'static str, &'static str)>,
}

impl Banner {
    fn new(text: String, fix: Option<(&'static str, &'static str)>) -> Self {
        Self { text, fix }
    }
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
            when: super::time::Shown::default(),
            open_alerts: 0,
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
    c.when = super::time::Shown {
        tz: state.config.time_zone,
        locale: super::time::Locale::En,
    };
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
            c.open_alerts = crate::watch::open_counts(inst)
                .await?
                .iter()
                .map(|(_, n)| n)
                .sum();
            let now = state.clock.now();
            let (support, mail) = crate::auth::directory::admin_attention(inst, now).await?;
            for (name, until) in support {
                c.banners.push(Banner::new(
                    format!(
                        "Vendor support access is open: account \"{name}\" can sign in until {until} (UTC). Revoke it under Administration → Users when it is no longer needed."
                    ),
                    Some(("/admin/users", "Open users")),
                ));
            }
            // Backups cover the whole appliance: only the operator instance has their page.
            let backups = (inst.name == crate::instances::DEFAULT_INSTANCE)
                .then_some(("/admin/backups", "Open backups"));
            c.banners.extend(
                super::admin::backup_warnings(state)
                    .into_iter()
                    .map(|w| Banner::new(w, backups)),
            );
            if mail.0 > 0 {
                c.banners.push(Banner::new(
                    format!(
                        "{} e-mail message(s) could not be delivered. See Administration → Mail.",
                        mail.0
                    ),
                    Some(("/admin/mail", "Open mail")),
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
    /// "Your previous sign-in was at … from …; N failed attempts since." (markup)
    previous: Option<String>,
    failures: i64,
    hours_svg: String,
    burn_svg: String,
    outstanding_svg: String,
    due: Vec<(String, String, String, String)>,
    recent: Vec<(String, String, String, String)>,
    show_time: bool,
    show_projects: bool,
    show_invoices: bool,
}

/// The dashboard's figures, each shown only to those who may see the module behind it.
async fn dashboard(
    inst: &Instance,
    s: &SessionInfo,
    now: chrono::DateTime<chrono::Utc>,
    when: super::time::Shown,
) -> Result<HomePage, WebError> {
    use crate::access::{Action, Module, Permission};
    let allows = |m| s.grants.allows(Permission::Module(m, Action::View));
    let today = now.date_naive();
    let from = (today - chrono::Days::new(7 * 11))
        .format("%Y-%m-%d")
        .to_string();
    let until = (today + chrono::Days::new(7))
        .format("%Y-%m-%d")
        .to_string();
    let today_s = today.format("%Y-%m-%d").to_string();
    let crate::hub::views::Figures {
        weeks,
        burn,
        aged,
        due,
        recent,
    } = crate::hub::views::dashboard(inst, from, until, today_s).await?;
    // Twelve weekly buckets ending this week, zero-filled.
    let monday =
        today - chrono::Days::new(chrono::Datelike::weekday(&today).num_days_from_monday() as u64);
    let mut bars = Vec::new();
    for i in (0..12).rev() {
        let wk = monday - chrono::Days::new(7 * i);
        let key = wk.format("%Y-%m-%d").to_string();
        let minutes = weeks.iter().find(|(w, _)| *w == key).map_or(0, |(_, m)| *m);
        bars.push((
            wk.format("%d %b").to_string(),
            minutes,
            format!("{:.1} h", minutes as f64 / 60.0),
        ));
    }
    let burn_rows: Vec<(String, f64, String)> = burn
        .iter()
        .map(|(_, name, budget, used)| {
            let frac = *used as f64 / (*budget as f64 * 60.0);
            (name.clone(), frac, format!("{:.0} %", frac * 100.0))
        })
        .collect();
    let labels = [
        "not yet due",
        "1–30 days",
        "31–60 days",
        "61–90 days",
        "over 90 days",
    ];
    let locale = crate::hub::settings::locale(inst).await?;
    let aged_bars: Vec<(String, i64, String)> = labels
        .iter()
        .zip(aged.iter())
        .map(|(l, v)| (l.to_string(), *v, super::hub::money(*v, locale)))
        .collect();
    Ok(HomePage {
        c: Chrome::bare(String::new()),
        username: s.username.clone(),
        second_factor: String::new(),
        previous: super::account_pages::previous_sign_in(s, when),
        failures: s.prior.failures,
        hours_svg: super::charts::bars("Hours logged per week", &bars),
        // Budget burn is the projects' time: both modules must be visible.
        burn_svg: if allows(Module::Time) {
            super::charts::progress("Budget used per active project", &burn_rows)
        } else {
            String::new()
        },
        outstanding_svg: super::charts::bars("Outstanding invoices by days past due", &aged_bars),
        due: if allows(Module::Tasks) {
            due.into_iter()
                .map(|(id, t, date, who)| {
                    (format!("/m/tasks/{id}"), t, date, who.unwrap_or_default())
                })
                .collect()
        } else {
            vec![]
        },
        recent: recent
            .into_iter()
            .filter_map(|((m, id, actor, at, field), title)| {
                let def = crate::schema::by_slug(&m).filter(|d| allows(d.module))?;
                let name = title
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| format!("{} #{id}", super::hub::human(def.singular)));
                let what = match field.as_str() {
                    "(created)" => format!("created by {actor}"),
                    f => format!(
                        "{} changed by {actor}",
                        def.field(f)
                            .map_or_else(|| super::hub::human(f), |f| f.label.into())
                    ),
                };
                Some((
                    format!("/m/{m}/{id}"),
                    name,
                    format!("{} · {what}", def.label),
                    when.at(&at),
                ))
            })
            .collect(),
        show_time: allows(Module::Time),
        show_projects: allows(Module::Projects),
        show_invoices: allows(Module::Invoices),
    })
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
        return Ok(Redirect::to(match s.stage.as_str() {
            "second_factor" => "/signin/code",
            "enrol_verify" => "/signin/verify",
            "totp_enrollment" => "/signin/enroll",
            _ => "/signin/password",
        })
        .into_response());
    }
    let c = chrome(&state, &inst, Some(&s)).await?;
    let mut page = dashboard(&inst, &s, state.clock.now(), c.when).await?;
    page.c = c;
    page.second_factor = match s.second_factor.as_str() {
        "totp" => "authenticator app".into(),
        "email" => "e-mailed code".into(),
        _ => "none".into(),
    };
    render(&page)
}

/// Unknown paths: a JSON error under `/api/`, the page otherwise.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        super::ApiError(WebError::NotFound).into_response()
    } else {
        WebError::NotFound.into_response()
    }
}

/// Renders a page that may be showing the user's own mistakes: 422 when it does, so that scripts
/// and tests see the refusal as well as people.
pub fn render_refused(page: &impl Template, refused: bool) -> Result<Response, WebError> {
    let resp = render(page)?;
    Ok(if refused {
        super::error::MISTAKES.shown_on(resp)
    } else {
        resp
    })
}

/// What a page says above its content after an action: what was done, and what the user can fix.
/// An empty one is the page as first shown.
#[derive(Default)]
pub struct Notes {
    pub messages: Vec<String>,
    pub errors: Vec<String>,
}

impl Notes {
    pub fn done(message: impl Into<String>) -> Self {
        Self {
            messages: vec![message.into()],
            errors: vec![],
        }
    }

    pub fn refused(errors: Vec<String>) -> Self {
        Self {
            messages: vec![],
            errors,
        }
    }

    /// Whether the page shows a refusal (`render_refused` then answers 422).
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }
}

pub fn render(page: &impl Template) -> Result<Response, WebError> {
    page.render()
        .map(|html| Html(html).into_response())
        .map_err(|e| WebError::Internal(format!("template: {e}")))
}
