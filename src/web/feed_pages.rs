//! Calendar feeds on the web: the feed itself (`GET /feed/{token}/calendar.ics`, access rule
//! "feed token"), the person's switch (`/account/calendar`) and the administrator's
//! allow/forbid switch (`/admin/feeds`).

use super::pages::{Chrome, Notes, chrome, render, render_refused};
use super::{CurrentInstance, WebError};
use crate::app::AppState;
use crate::hub::feeds::{self, FeedSite, FeedStatus};
use crate::web::Ctx;
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};

/// The host the caller reached us by (with its port), for the feed's address and links; the
/// instance's first host name when the request's does not look like a host.
fn request_host(uri: &Uri, headers: &HeaderMap, inst: &crate::instances::Instance) -> String {
    let given = uri.authority().map(|a| a.as_str().to_string()).or_else(|| {
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    });
    let plain = |h: &String| {
        !h.is_empty()
            && h.len() <= 255
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    };
    given
        .filter(plain)
        .or_else(|| inst.hostnames.first().cloned())
        .unwrap_or_else(|| "localhost".into())
}

/// `GET /feed/{token}/calendar.ics`: the person's calendar, or 404 for a token that is unknown,
/// revoked, of a blocked person, or while feeds are forbidden (the same answer for each).
pub async fn serve(
    State(state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    super::guard::ClientIp(ip): super::guard::ClientIp,
    Path(token): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let site = FeedSite {
        host: request_host(&uri, &headers, &inst),
        source: ip.to_string(),
        now: state.clock.now(),
        catalogue: state.catalogue.clone(),
    };
    let Some(ics) = feeds::calendar(&inst, &token, site).await? else {
        return Err(WebError::NotFound);
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_DISPOSITION,
                "inline; filename=\"holdfast.ics\"",
            ),
        ],
        ics,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "account_calendar.html")]
struct CalendarPage {
    c: Chrome,
    notes: Notes,
    allowed: bool,
    feed: Option<FeedStatus>,
    /// The feed's address, shown once right after it was made.
    url: Option<String>,
}

async fn calendar_page(ctx: &Ctx, notes: Notes, url: Option<String>) -> Result<Response, WebError> {
    let allowed = feeds::allowed(&ctx.inst).await?;
    let feed = if allowed {
        feeds::status(&ctx.inst, ctx.s.user_id).await?
    } else {
        None
    };
    let failed = notes.failed();
    let c = chrome(&ctx.state, &ctx.inst, Some(&ctx.s)).await?;
    render_refused(
        &CalendarPage {
            c,
            notes,
            allowed,
            feed,
            url,
        },
        failed,
    )
}

/// `GET /account/calendar`.
pub async fn show(ctx: Ctx) -> Result<Response, WebError> {
    calendar_page(&ctx, Notes::default(), None).await
}

/// `POST /account/calendar`: `action=on` (a new address; the old one stops working) with
/// `include_time`, or `action=off`.
pub async fn change(
    ctx: Ctx,
    uri: Uri,
    headers: HeaderMap,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let form = super::form::pairs(&raw);
    let action = super::form::value(&form, "action");
    let tr = ctx.words().await?;
    let username = ctx.s.username.clone();
    match action.as_str() {
        "on" => {
            let include_time = super::form::value(&form, "include_time") == "1";
            let token = feeds::switch_on(
                &ctx.inst,
                ctx.by.clone(),
                ctx.s.user_id,
                username,
                include_time,
            )
            .await?;
            let host = request_host(&uri, &headers, &ctx.inst);
            let url = format!("https://{host}/feed/{}/calendar.ics", token.expose());
            calendar_page(&ctx, Notes::done(tr.t("feeds-made")), Some(url)).await
        }
        "off" => {
            let done =
                feeds::switch_off(&ctx.inst, ctx.by.clone(), ctx.s.user_id, username).await?;
            let note = if done {
                Notes::done(tr.t("feeds-off-done"))
            } else {
                Notes::refused(vec![tr.t("feeds-none")])
            };
            calendar_page(&ctx, note, None).await
        }
        _ => Err(WebError::invalid("action", "choose on or off")),
    }
}

#[derive(Template)]
#[template(path = "admin_feeds.html")]
struct AdminPage {
    c: Chrome,
    notes: Notes,
    allowed: bool,
}

async fn admin_page(ctx: &Ctx, notes: Notes) -> Result<Response, WebError> {
    let allowed = feeds::allowed(&ctx.inst).await?;
    let c = chrome(&ctx.state, &ctx.inst, Some(&ctx.s)).await?;
    render(&AdminPage { c, notes, allowed })
}

/// `GET /admin/feeds`.
pub async fn admin_show(ctx: Ctx) -> Result<Response, WebError> {
    admin_page(&ctx, Notes::default()).await
}

/// `POST /admin/feeds`: `allowed=1` allows calendar feeds, anything else forbids them.
pub async fn admin_save(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let allow = super::form::value(&super::form::pairs(&raw), "allowed") == "1";
    feeds::set_allowed(&ctx.inst, ctx.by.clone(), allow).await?;
    let tr = ctx.words().await?;
    let note = tr.t(if allow {
        "feeds-admin-allowed"
    } else {
        "feeds-admin-forbidden"
    });
    admin_page(&ctx, Notes::done(note)).await
}
