//! Pages of the shell: chrome shared by every page, the dashboard, and the error page.

use super::guard::{MaybeSession, PRE_COOKIE, cookie};
use super::{CurrentInstance, WebError, assets};
use crate::app::AppState;
use crate::auth::signin::SessionInfo;
use crate::i18n::{Locale, Tr};
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
    pub modules: Vec<(&'static str, String)>,
    /// How times are written: `{{ c.when.at(stamp)|safe }}` in templates.
    pub when: super::time::Shown,
    /// The reader's words: `{{ c.t("key") }}` in templates.
    pub tr: Tr,
    /// Open alerts of the instance (administrators only; the badge in the header).
    pub open_alerts: i64,
}

/// A warning across the top of every page, with a link to where it is fixed when there is one.
pub struct Banner {
    pub text: String,
    /// (address, link text)
    pub fix: Option<(&'static str, String)>,
}

impl Banner {
    fn new(text: String, fix: Option<(&'static str, String)>) -> Self {
        Self { text, fix }
    }
}

impl Chrome {
    pub fn bare(instance_title: String, tr: Tr) -> Self {
        Self {
            assets: assets::base(),
            instance_title,
            version: env!("CARGO_PKG_VERSION"),
            user: None,
            admin: false,
            csrf: String::new(),
            banners: vec![],
            modules: vec![],
            when: super::time::Shown {
                tz: chrono_tz::UTC,
                locale: tr.locale,
            },
            open_alerts: 0,
            tr,
        }
    }

    /// The message `key` in the reader's language.
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    /// The message `key` with one argument.
    pub fn t1(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        self.tr.t1(key, name, value)
    }

    /// The message `key` with two text arguments.
    pub fn t2(
        &self,
        key: &str,
        n1: &str,
        v1: impl std::fmt::Display,
        n2: &str,
        v2: impl std::fmt::Display,
    ) -> String {
        self.tr.with(
            key,
            &[(n1, v1.to_string().into()), (n2, v2.to_string().into())],
        )
    }

    /// The message `key` with `$count`, which picks the plural form.
    pub fn count(&self, key: &str, n: usize) -> String {
        self.tr.count(key, n)
    }

    /// The header's badge: "2 open alerts".
    pub fn alerts_badge(&self) -> String {
        self.count(
            "alerts-open-badge",
            usize::try_from(self.open_alerts).unwrap_or(0),
        )
    }

    /// The language code for `<html lang>`.
    pub fn lang(&self) -> &'static str {
        self.tr.locale.code()
    }
}

/// The language a page is shown in: the person's own choice, else the instance's default.
pub async fn reader_locale(
    inst: &Instance,
    session: Option<&SessionInfo>,
) -> Result<Locale, WebError> {
    if let Some(l) = session.and_then(|s| s.language) {
        return Ok(l);
    }
    Ok(crate::hub::settings::locale(inst).await?)
}

/// The words of a page for `locale`.
pub fn words(state: &AppState, locale: Locale) -> Tr {
    Tr::new(state.catalogue.clone(), locale)
}

/// Chrome for a signed-in (or half-signed-in) user; admins see warnings that need them.
pub async fn chrome(
    state: &AppState,
    inst: &Instance,
    session: Option<&SessionInfo>,
) -> Result<Chrome, WebError> {
    let locale = reader_locale(inst, session).await?;
    let mut c = Chrome::bare(inst.title().await?, words(state, locale));
    c.when = super::time::Shown {
        tz: state.config.time_zone,
        locale,
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
                .map(|d| (d.slug, super::labels::module(&c.tr, d)))
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
                let until = c.when.text(&until);
                c.banners.push(Banner::new(
                    c.tr.with(
                        "banner-support-open",
                        &[("name", name.into()), ("until", until.into())],
                    ),
                    Some(("/admin/users", c.t("banner-open-users"))),
                ));
            }
            // Backups cover the whole appliance: only the operator instance has their page.
            let backups = (inst.name == crate::instances::DEFAULT_INSTANCE)
                .then(|| ("/admin/backups", c.t("banner-open-backups")));
            for w in super::admin::backup_warnings(state, &c.tr) {
                c.banners.push(Banner::new(w, backups.clone()));
            }
            if mail.0 > 0 {
                let text = c.count("banner-mail-failed", usize::try_from(mail.0).unwrap_or(0));
                c.banners.push(Banner::new(
                    text,
                    Some(("/admin/mail", c.t("banner-open-mail"))),
                ));
            }
        }
    }
    Ok(c)
}

/// Chrome for a page shown before sign-in: carries a double-submit token in a cookie.
/// With a half-finished sign-in in progress, that session's token protects the form instead.
pub async fn public_chrome(
    state: &AppState,
    inst: &Instance,
    headers: &HeaderMap,
    session: Option<&SessionInfo>,
) -> Result<(Chrome, Option<String>), WebError> {
    let locale = reader_locale(inst, session).await?;
    let mut c = Chrome::bare(inst.title().await?, words(state, locale));
    c.when = super::time::Shown {
        tz: state.config.time_zone,
        locale,
    };
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
pub struct ErrorPage {
    pub status: u16,
    pub reason: String,
    pub message: String,
    pub c: Chrome,
}

/// The page for an error the mapping left for it (`error::PageError`), in `own`, the language of
/// the person whose session came with the request, else in the instance's default.
pub async fn error_page(
    state: &AppState,
    inst: &Instance,
    own: Option<Locale>,
    resp: Response,
) -> Response {
    let Some(super::error::PageError(err)) = resp.extensions().get().cloned() else {
        return resp;
    };
    let locale = match own {
        Some(l) => l,
        None => crate::hub::settings::locale(inst).await.unwrap_or_default(),
    };
    let c = Chrome::bare("holdfast".into(), words(state, locale));
    let page = ErrorPage {
        status: resp.status().as_u16(),
        reason: err.reason_in(&c.tr),
        message: err.message_in(&c.tr),
        c,
    };
    match page.render() {
        Ok(html) => {
            let (parts, _) = resp.into_parts();
            Response::from_parts(parts, axum::body::Body::from(html))
        }
        Err(_) => resp,
    }
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
    c: Chrome,
) -> Result<HomePage, WebError> {
    use crate::access::{Action, Module, Permission};
    let allows = |m| s.grants.allows(Permission::Module(m, Action::View));
    let when = c.when;
    let tr = c.tr.clone();
    let locale = tr.locale;
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
            super::time::day_month(wk, locale),
            minutes,
            tr.t1(
                "chart-hours-value",
                "hours",
                crate::hub::money::format_quantity((minutes * 10 + 30) / 60 * 100, locale),
            ),
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
        tr.t("aged-not-due"),
        tr.t("aged-1-30"),
        tr.t("aged-31-60"),
        tr.t("aged-61-90"),
        tr.t("aged-over-90"),
    ];
    let aged_bars: Vec<(String, i64, String)> = labels
        .into_iter()
        .zip(aged.iter())
        .map(|(l, v)| (l, *v, super::hub::money(*v, locale)))
        .collect();
    let no_data = tr.t("chart-no-data");
    Ok(HomePage {
        username: s.username.clone(),
        second_factor: String::new(),
        previous: super::account_pages::previous_sign_in(s, when, &tr),
        failures: s.prior.failures,
        hours_svg: super::charts::bars(&tr.t("chart-hours"), &no_data, &bars),
        // Budget burn is the projects' time: both modules must be visible.
        burn_svg: if allows(Module::Time) {
            super::charts::progress(&tr.t("chart-burn"), &no_data, &burn_rows)
        } else {
            String::new()
        },
        outstanding_svg: super::charts::bars(&tr.t("chart-outstanding"), &no_data, &aged_bars),
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
                    .unwrap_or_else(|| format!("{} #{id}", super::labels::singular(&tr, def)));
                let what = match field.as_str() {
                    "(created)" => tr.t1("recent-created", "actor", actor),
                    f => tr.with(
                        "recent-changed",
                        &[
                            ("field", super::labels::field_name(&tr, def, f).into()),
                            ("actor", actor.into()),
                        ],
                    ),
                };
                Some((
                    format!("/m/{m}/{id}"),
                    name,
                    format!("{} · {what}", super::labels::module(&tr, def)),
                    when.at(&at),
                ))
            })
            .collect(),
        show_time: allows(Module::Time),
        show_projects: allows(Module::Projects),
        show_invoices: allows(Module::Invoices),
        c,
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
    let mut page = dashboard(&inst, &s, state.clock.now(), c).await?;
    page.second_factor = super::labels::second_factor(&page.c.tr, &s.second_factor);
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
