//! Administration pages: users, groups and permissions, policy, security log (with exports), mail.

use super::WebError;
use super::form::{pairs as form_pairs, value, values};
use super::pages::{Chrome, chrome, render, render_refused};
use crate::access::{Action, Module, Permission, groups as access_groups};
use crate::app::AppState;
use crate::audit::{self, By, ChainReport, Entry, Event};
use crate::auth::accounts::{self, AccountError, NewAccount};
use crate::auth::policy::{KEYS, SecondFactorMode};
use crate::auth::signin::SessionInfo;
use crate::instances::Instance;
use crate::web::Ctx;
use askama::Template;
use axum::extract::{Path, Query, RawForm};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Errors the admin can fix are shown on the page; the rest go to the error mapping.
fn shown(e: AccountError) -> Result<String, WebError> {
    match e {
        e @ (AccountError::Invalid { .. }
        | AccountError::Exists(_)
        | AccountError::NotFound(_)
        | AccountError::LastAdmin
        | AccountError::Policy(_)
        | AccountError::PasswordRejected(_)) => Ok(e.to_string()),
        other => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "admin_index.html")]
struct IndexPage {
    c: Chrome,
    warnings: Vec<&'static str>,
    user_count: usize,
    mail_state: String,
}

pub async fn index(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    let policy = accounts::policy(&inst).await?;
    let count = crate::auth::directory::count(&inst).await?;
    render(&IndexPage {
        c: chrome(&state, &inst, Some(&s)).await?,
        warnings: policy.asvs_warnings(),
        user_count: count,
        mail_state: mail_state(&state),
    })
}

fn mail_state(state: &AppState) -> String {
    match &state.config.mail {
        Some(m) => format!("sending through {}:{} ({})", m.smtp_host, m.smtp_port, m.tls),
        None => "off: no [mail] section in the configuration, so e-mailed codes and notifications are unavailable".into(),
    }
}

struct UserView {
    name: String,
    email: String,
    groups: Vec<String>,
    factor: String,
    states: Vec<(String, &'static str)>,
    locked: bool,
    disabled: bool,
    support: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    c: Chrome,
    messages: Vec<String>,
    errors: Vec<String>,
    users: Vec<UserView>,
    group_names: Vec<String>,
}

async fn users_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    messages: Vec<String>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let (rows, group_names) = crate::auth::directory::with_groups(inst).await?;
    let views = rows
        .into_iter()
        .map(|(u, g)| {
            let mut states = Vec::new();
            if u.locked_at.is_some() {
                states.push(("locked".to_string(), "bad"));
            }
            if u.disabled_at.is_some() {
                states.push(("disabled".to_string(), "bad"));
            }
            if let Some(e) = &u.support_expires_at {
                states.push((format!("support until {e}"), "warn"));
            }
            if u.must_change_password {
                states.push(("must change password".to_string(), "warn"));
            }
            if states.is_empty() {
                states.push(("active".to_string(), "ok"));
            }
            UserView {
                locked: u.locked_at.is_some(),
                disabled: u.disabled_at.is_some(),
                support: u.support_expires_at.is_some() && u.disabled_at.is_none(),
                name: u.username,
                email: u.email,
                groups: g,
                factor: u.second_factor,
                states,
            }
        })
        .collect();
    let failed = !errors.is_empty();
    render_refused(
        &UsersPage {
            c: chrome(state, inst, Some(s)).await?,
            messages,
            errors,
            users: views,
            group_names,
        },
        failed,
    )
}

pub async fn users(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    users_page(&state, &inst, &s, vec![], vec![]).await
}

pub async fn create_user(
    Ctx {
        state,
        inst,
        s,
        by: b,
        ..
    }: Ctx,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let acc = NewAccount {
        username: value(&f, "username").trim().to_string(),
        email: value(&f, "email").trim().to_string(),
        groups: values(&f, "group"),
        password: None,
        support: None,
    };
    let name = acc.username.clone();
    match accounts::create_user(&state.auth, &inst, b.actor, b.source, acc, b.now).await {
        Ok(created) => {
            let msg = match created.temporary_password {
                Some(p) => format!(
                    "User {name} created. Temporary password (shown only now; they must change it at first sign-in): {}",
                    p.expose()
                ),
                None => format!("User {name} created."),
            };
            users_page(&state, &inst, &s, vec![msg], vec![]).await
        }
        Err(e) => users_page(&state, &inst, &s, vec![], vec![shown(e)?]).await,
    }
}

pub async fn user_action(
    Ctx {
        state,
        inst,
        s,
        by: b,
        ..
    }: Ctx,
    Path((name, action)): Path<(String, String)>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let svc = &state.auth;
    let result: Result<String, AccountError> = match action.as_str() {
        "unlock" => accounts::unlock(svc, &inst, b.actor, b.source, name.clone(), b.now)
            .await
            .map(|()| format!("{name} unlocked.")),
        "reset-password" => {
            accounts::reset_password(svc, &inst, b.actor, b.source, name.clone(), b.now)
                .await
                .map(|p| {
                    format!(
                        "New temporary password for {name} (shown only now): {}",
                        p.expose()
                    )
                })
        }
        "disable" => accounts::set_enabled(&inst, b.actor, b.source, name.clone(), false, b.now)
            .await
            .map(|()| format!("{name} disabled and signed out.")),
        "enable" => accounts::set_enabled(&inst, b.actor, b.source, name.clone(), true, b.now)
            .await
            .map(|()| format!("{name} enabled.")),
        "revoke" => accounts::revoke_sessions(&inst, b.actor, b.source, name.clone(), b.now)
            .await
            .map(|n| format!("{n} session(s) of {name} ended.")),
        "revoke-support" => accounts::revoke_support(&inst, b.actor, b.source, name.clone(), b.now)
            .await
            .map(|()| format!("Support access of {name} closed.")),
        "reset-factor" => crate::auth::enrolment::reset_factor(svc, &inst, b, name.clone())
            .await
            .map(|()| {
                format!(
                    "Second factor of {name} removed and their sessions ended; they set one up again at their next sign-in."
                )
            }),
        "enrolment-code" => crate::auth::enrolment::issue_code(svc, &inst, b, name.clone())
            .await
            .map(|code| {
                format!(
                    "Enrolment code for {name} (shown only now; give it to them in person): {}",
                    code.expose()
                )
            }),
        "groups" => {
            let f = form_pairs(&raw);
            access_groups::set_membership(&inst, b, name.clone(), values(&f, "group"))
                .await
                .map(|()| format!("Groups of {name} saved."))
        }
        _ => return Err(WebError::NotFound),
    };
    match result {
        Ok(m) => users_page(&state, &inst, &s, vec![m], vec![]).await,
        Err(e) => users_page(&state, &inst, &s, vec![], vec![shown(e)?]).await,
    }
}

/// `POST /admin/sessions/end-all`: every session of the instance ends, the admin's own too.
pub async fn end_all_sessions(Ctx { inst, by, .. }: Ctx) -> Result<Response, WebError> {
    crate::auth::sessions::end_everyone(&inst, None, by).await?;
    Ok((
        [(
            axum::http::header::SET_COOKIE,
            super::guard::clear_session_cookie(),
        )],
        axum::response::Redirect::to("/signin"),
    )
        .into_response())
}

struct GroupView(access_groups::GroupRow);

impl GroupView {
    fn has(&self, permission: &str) -> bool {
        self.0.permissions.iter().any(|p| p == permission)
    }
}

impl std::ops::Deref for GroupView {
    type Target = access_groups::GroupRow;
    fn deref(&self) -> &access_groups::GroupRow {
        &self.0
    }
}

#[derive(Template)]
#[template(path = "admin_groups.html")]
struct GroupsPage {
    c: Chrome,
    messages: Vec<String>,
    errors: Vec<String>,
    groups: Vec<GroupView>,
    modules: Vec<&'static str>,
    actions: Vec<&'static str>,
}

async fn groups_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    messages: Vec<String>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let list = access_groups::list(&inst).await?;
    let failed = !errors.is_empty();
    render_refused(
        &GroupsPage {
            c: chrome(state, inst, Some(s)).await?,
            messages,
            errors,
            groups: list.into_iter().map(GroupView).collect(),
            modules: Module::ALL.iter().map(|m| m.as_str()).collect(),
            actions: Action::ALL.iter().map(|a| a.as_str()).collect(),
        },
        failed,
    )
}

pub async fn groups(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    groups_page(&state, &inst, &s, vec![], vec![]).await
}

pub async fn create_group(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let name = value(&f, "name").trim().to_string();
    match access_groups::create(&inst, by, name.clone(), value(&f, "description")).await {
        Ok(()) => {
            groups_page(
                &state,
                &inst,
                &s,
                vec![format!("Group {name} created.")],
                vec![],
            )
            .await
        }
        Err(e) => groups_page(&state, &inst, &s, vec![], vec![shown(e)?]).await,
    }
}

pub async fn group_action(
    Ctx {
        state,
        inst,
        s,
        by: b,
        ..
    }: Ctx,
    Path((name, action)): Path<(String, String)>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let result = match action.as_str() {
        "permissions" => {
            let mut perms = Vec::new();
            for p in values(&form_pairs(&raw), "perm") {
                perms.push(
                    p.parse::<Permission>()
                        .map_err(|m| WebError::invalid("perm", m))?,
                );
            }
            access_groups::set_permissions(&inst, b, name.clone(), perms)
                .await
                .map(|()| format!("Permissions of {name} saved."))
        }
        "delete" => access_groups::delete(&inst, b, name.clone())
            .await
            .map(|()| format!("Group {name} deleted.")),
        _ => return Err(WebError::NotFound),
    };
    match result {
        Ok(m) => groups_page(&state, &inst, &s, vec![m], vec![]).await,
        Err(e) => groups_page(&state, &inst, &s, vec![], vec![shown(e)?]).await,
    }
}

struct PolicyField {
    key: &'static str,
    label: &'static str,
    help: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "admin_policy.html")]
struct PolicyPage {
    c: Chrome,
    messages: Vec<String>,
    errors: Vec<String>,
    warnings: Vec<&'static str>,
    fields: Vec<PolicyField>,
    factor_options: Vec<String>,
    signin_notice: String,
}

fn describe(key: &str) -> (&'static str, &'static str) {
    match key {
        "password_min_length" => (
            "Minimum password length",
            "8–128 characters; passwords up to 256 characters are always accepted.",
        ),
        "password_require_classes" => (
            "Required character classes",
            "0–4 of lower case, upper case, digit, symbol.",
        ),
        "password_history" => (
            "Password history",
            "0–24: how many previous passwords cannot be reused.",
        ),
        "password_max_age_days" => (
            "Password expiry (days)",
            "0 = never; otherwise the password must be changed at sign-in after this many days.",
        ),
        "lockout_threshold" => (
            "Lockout threshold",
            "1–100 consecutive failures lock the account until an admin unlocks it.",
        ),
        "second_factor" => (
            "Second factor",
            "off, optional, required (e-mailed code or app), required_totp (app only).",
        ),
        "session_idle_minutes" => ("Idle timeout (minutes)", "5–1440."),
        "session_absolute_hours" => ("Absolute session limit (hours)", "1–168."),
        "temporary_password_hours" => (
            "Temporary passwords expire after (hours)",
            "1–720: a password set by an administrator or the console must be changed within this time, or it stops working.",
        ),
        "token_max_days" => (
            "Longest API token lifetime (days)",
            "1–3650: no token can be made to live longer.",
        ),
        "inactive_disable_days" => (
            "Disable unused accounts after (days)",
            "0 = never; otherwise an account with no sign-in for this many days is disabled (support accounts excepted).",
        ),
        _ => ("", ""),
    }
}

async fn policy_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    messages: Vec<String>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let p = accounts::policy(inst).await?;
    let fields = p
        .to_pairs()
        .into_iter()
        .map(|(key, value)| {
            let (label, help) = describe(key);
            PolicyField {
                key,
                label,
                help,
                value,
            }
        })
        .collect();
    let failed = !errors.is_empty();
    render_refused(
        &PolicyPage {
            c: chrome(state, inst, Some(s)).await?,
            messages,
            errors,
            warnings: p.asvs_warnings(),
            fields,
            factor_options: SecondFactorMode::ALL
                .iter()
                .map(|m| m.as_str().to_string())
                .collect(),
            signin_notice: crate::auth::notice::get(inst).await?.unwrap_or_default(),
        },
        failed,
    )
}

pub async fn policy(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    policy_page(&state, &inst, &s, vec![], vec![]).await
}

/// Saves every changed setting; a bad value is reported with its range and nothing else is saved.
pub async fn save_policy(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let mut current = accounts::policy(&inst).await?;
    let mut probe = current.clone();
    let mut errors = Vec::new();
    let mut changes = Vec::new();
    for key in KEYS {
        let new = value(&f, key).trim().to_string();
        if current.get(key).as_deref() == Some(new.as_str()) {
            continue;
        }
        match probe.set(key, &new) {
            Ok(()) => changes.push((key.to_string(), new)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return policy_page(&state, &inst, &s, vec![], errors).await;
    }
    for (key, new) in &changes {
        let b = by.clone();
        current =
            accounts::set_policy(&inst, b.actor, b.source, key.clone(), new.clone(), b.now).await?;
    }
    let _ = current;
    let msg = if changes.is_empty() {
        "Nothing changed.".to_string()
    } else {
        format!("Saved {} setting(s).", changes.len())
    };
    policy_page(&state, &inst, &s, vec![msg], vec![]).await
}

/// `POST /admin/notice`: the notice shown before sign-in.
pub async fn save_notice(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    match crate::auth::notice::set(&inst, by, value(&f, "notice")).await {
        Ok(()) => policy_page(&state, &inst, &s, vec!["Notice saved.".into()], vec![]).await,
        Err(e) => policy_page(&state, &inst, &s, vec![], vec![shown(e)?]).await,
    }
}

/// Filters shared by the log page, its exports and `GET /api/v1/audit`.
#[derive(Debug, Default, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub before: Option<i64>,
    #[serde(default)]
    pub limit: Option<usize>,
}

fn normalise_time(field: &str, v: &str) -> Result<Option<String>, WebError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let full = match v.len() {
        16 => format!("{v}:00.000Z"),
        19 => format!("{v}.000Z"),
        _ => v.to_string(),
    };
    chrono::DateTime::parse_from_rfc3339(&full)
        .map(|t| Some(crate::clock::stamp(t.with_timezone(&chrono::Utc))))
        .map_err(|_| {
            WebError::invalid(
                field,
                format!("`{v}` is not a time like 2026-11-22T08:00 (UTC)"),
            )
        })
}

impl LogQuery {
    pub fn filter(&self, default_limit: usize) -> Result<audit::Filter, WebError> {
        if !self.kind.is_empty() && Event::parse(&self.kind).is_none() {
            return Err(WebError::invalid(
                "type",
                format!("unknown event type `{}`", self.kind),
            ));
        }
        let limit = self.limit.unwrap_or(default_limit);
        if !(1..=10_000).contains(&limit) {
            return Err(WebError::invalid("limit", "limit must be 1–10000"));
        }
        Ok(audit::Filter {
            from: normalise_time("from", &self.from)?,
            to: normalise_time("to", &self.to)?,
            events: if self.kind.is_empty() {
                vec![]
            } else {
                vec![self.kind.clone()]
            },
            user: Some(self.user.trim().to_string()).filter(|u| !u.is_empty()),
            source: Some(self.source.trim().to_string()).filter(|u| !u.is_empty()),
            before_id: self.before,
            limit,
        })
    }

    fn query_string(&self) -> String {
        let mut q = self.clone();
        q.before = None;
        serde_urlencoded::to_string(&q).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "admin_log.html")]
struct LogPage {
    c: Chrome,
    chain: String,
    q: LogQuery,
    query: String,
    types: Vec<String>,
    rows: Vec<audit::log::AuditRow>,
    older: Option<i64>,
}

const PAGE_ROWS: usize = 100;

pub async fn log(
    Ctx { state, inst, s, .. }: Ctx,
    Query(q): Query<LogQuery>,
) -> Result<Response, WebError> {
    let filter = q.filter(PAGE_ROWS)?;
    let (rows, report) = audit::log::page_checked(&inst, filter).await?;
    let chain = match report {
        ChainReport::Intact { rows } => {
            format!("Hash chain verified: {rows} entries, none altered or removed.")
        }
        ChainReport::Broken { id, reason } => {
            format!("WARNING: the hash chain is broken at entry {id}: {reason}.")
        }
    };
    let older = (rows.len() == PAGE_ROWS)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    render(&LogPage {
        c: chrome(&state, &inst, Some(&s)).await?,
        chain,
        query: q.query_string(),
        q,
        types: Event::ALL.iter().map(|e| e.as_str().to_string()).collect(),
        rows,
        older,
    })
}

/// Reads up to 10,000 matching rows and records the export itself in the log.
async fn export_rows(
    inst: &Instance,
    by: By,
    q: &LogQuery,
    format: &'static str,
) -> Result<Vec<audit::log::AuditRow>, WebError> {
    let mut filter = q.filter(10_000)?;
    filter.limit = q.limit.unwrap_or(10_000);
    Ok(audit::log::export(inst, by, filter, format, q.query_string()).await?)
}

pub async fn export_csv(
    Ctx { inst, by, .. }: Ctx,
    Query(q): Query<LogQuery>,
) -> Result<Response, WebError> {
    let rows = export_rows(&inst, by, &q, "csv").await?;
    let mut out = crate::csv::row(&[
        "id",
        "at",
        "event",
        "outcome",
        "actor",
        "actor_kind",
        "target",
        "source",
        "details",
        "hash",
    ]);
    for r in rows {
        out.push_str(&crate::csv::row(&[
            r.id.to_string(),
            r.at,
            r.event,
            r.outcome,
            r.actor,
            r.actor_kind,
            r.target,
            r.source,
            r.details,
            r.hash,
        ]));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"holdfast-security-log.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

pub async fn export_json(
    Ctx { inst, by, .. }: Ctx,
    Query(q): Query<LogQuery>,
) -> Result<Response, WebError> {
    let rows = export_rows(&inst, by, &q, "json").await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"holdfast-security-log.json\"",
        )],
        axum::Json(rows),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "admin_mail.html")]
struct MailPage {
    c: Chrome,
    messages: Vec<String>,
    errors: Vec<String>,
    state: String,
    mails: Vec<crate::mail::MailRow>,
}

async fn mail_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    messages: Vec<String>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let mails = crate::mail::recent(&inst, 50).await?;
    render(&MailPage {
        c: chrome(state, inst, Some(s)).await?,
        messages,
        errors,
        state: mail_state(state),
        mails,
    })
}

pub async fn mail(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    mail_page(&state, &inst, &s, vec![], vec![]).await
}

pub async fn mail_test(
    Ctx {
        state,
        inst,
        s,
        by: b,
        ..
    }: Ctx,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let to = value(&form_pairs(&raw), "to").trim().to_string();
    if state.config.mail.is_none() {
        return mail_page(&state, &inst, &s, vec![], vec![mail_state(&state)]).await;
    }
    if let Err(e) = accounts::validate_email(&to) {
        return mail_page(&state, &inst, &s, vec![], vec![e.to_string()]).await;
    }
    crate::mail::send_test(&inst, b, to.clone()).await?;
    state.auth.wake_mail();
    mail_page(
        &state,
        &inst,
        &s,
        vec![format!(
            "Test message to {to} queued; its state appears below."
        )],
        vec![],
    )
    .await
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct TokensPage {
    c: Chrome,
    messages: Vec<String>,
    errors: Vec<String>,
    tokens: Vec<crate::access::tokens::TokenRow>,
    max_days: u32,
}

async fn tokens_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    messages: Vec<String>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let tokens = crate::access::tokens::list(&inst).await?;
    let max_days = accounts::policy(inst).await?.token_max_days();
    render(&TokensPage {
        c: chrome(state, inst, Some(s)).await?,
        messages,
        errors,
        tokens,
        max_days,
    })
}

pub async fn tokens(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    tokens_page(&state, &inst, &s, vec![], vec![]).await
}

pub async fn create_token(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let days = value(&f, "expires_days");
    let days = if days.trim().is_empty() {
        None
    } else {
        match days.trim().parse::<u32>() {
            Ok(d) => Some(d),
            _ => {
                return tokens_page(
                    &state,
                    &inst,
                    &s,
                    vec![],
                    vec!["expires_days: a whole number of days, or empty for the longest the policy allows".into()],
                )
                .await;
            }
        }
    };
    let networks = value(&f, "networks")
        .split([',', ' '])
        .filter(|n| !n.trim().is_empty())
        .map(str::to_string)
        .collect();
    match crate::access::tokens::create(
        &inst,
        by,
        crate::access::tokens::TokenRequest {
            service: value(&f, "service"),
            scopes: value(&f, "scopes"),
            expires_days: days,
            networks,
            owner_user_id: Some(s.user_id),
        },
    )
    .await
    {
        Ok(t) => {
            let msg = format!(
                "Token #{} created. Copy it now, it is not shown again: {}",
                t.id,
                t.token.expose()
            );
            tokens_page(&state, &inst, &s, vec![msg], vec![]).await
        }
        Err(e) => tokens_page(&state, &inst, &s, vec![], vec![shown(e)?]).await,
    }
}

pub async fn revoke_token(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    match crate::access::tokens::revoke(&inst, by, id).await {
        Ok(()) => {
            tokens_page(
                &state,
                &inst,
                &s,
                vec![format!("Token #{id} revoked.")],
                vec![],
            )
            .await
        }
        Err(e) => tokens_page(&state, &inst, &s, vec![], vec![shown(e)?]).await,
    }
}

struct DestView {
    index: usize,
    path: String,
    last_success: String,
    size: String,
    verified: String,
    error: Option<String>,
    archives: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "admin_backups.html")]
struct BackupsPage {
    c: Chrome,
    messages: Vec<String>,
    warnings: Vec<String>,
    schedule: String,
    exported: String,
    dests: Vec<DestView>,
}

/// Problems an admin must see: a failing destination, or no success for 26 hours.
pub fn backup_warnings(state: &AppState) -> Vec<String> {
    let st = crate::backup::status::load(&state.config.data_dir);
    let limit = crate::clock::stamp(state.clock.now() - chrono::Duration::hours(26));
    let mut out = Vec::new();
    for dest in &state.config.backup.destinations {
        let ds = st
            .destinations
            .get(&dest.display().to_string())
            .cloned()
            .unwrap_or_default();
        match &ds.last_success {
            None => out.push(format!("No backup has reached {} yet.", dest.display())),
            Some(t) if *t < limit => out.push(format!(
                "No backup reached {} in the last 26 hours (last: {t}).",
                dest.display()
            )),
            _ => {}
        }
        if let (Some(e), Some(at)) = (&ds.last_error, &ds.last_error_at)
            && ds.last_success.as_ref().is_none_or(|s| s < at)
        {
            out.push(format!("The last backup to {} failed: {e}", dest.display()));
        }
        if let Some(e) = &ds.last_verify_error {
            out.push(format!(
                "The newest archive in {} failed its test restore: {e}",
                dest.display()
            ));
        }
    }
    out
}

async fn backups_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    messages: Vec<String>,
) -> Result<Response, WebError> {
    let st = crate::backup::status::load(&state.config.data_dir);
    let dests = state
        .config
        .backup
        .destinations
        .iter()
        .enumerate()
        .map(|(index, d)| {
            let ds = st
                .destinations
                .get(&d.display().to_string())
                .cloned()
                .unwrap_or_default();
            DestView {
                index,
                path: d.display().to_string(),
                last_success: ds.last_success.unwrap_or_else(|| "never".into()),
                size: ds
                    .last_size
                    .map(|b| format!("{:.1} MB", b as f64 / 1e6))
                    .unwrap_or_else(|| "—".into()),
                verified: match (ds.last_verified, ds.last_verify_seconds) {
                    (Some(t), Some(sec)) => format!("{t}, took {sec:.1} s"),
                    _ => "never".into(),
                },
                error: ds.last_error,
                archives: crate::backup::engine::list(d)
                    .into_iter()
                    .rev()
                    .map(|(n, _, size)| (n, format!("{:.1} MB", size as f64 / 1e6)))
                    .collect(),
            }
        })
        .collect();
    let (h, m) = state.config.backup.schedule;
    render(&BackupsPage {
        c: chrome(state, inst, Some(s)).await?,
        messages,
        warnings: backup_warnings(state),
        schedule: format!("{h:02}:{m:02}"),
        exported: crate::backup::keyfile::exported_at(&state.config.data_dir)
            .unwrap_or_else(|| "not yet — run `holdfast backup export-key` on the server".into()),
        dests,
    })
}

pub async fn backups(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    backups_page(&state, &inst, &s, vec![]).await
}

pub async fn backup_action(
    Ctx { state, inst, s, .. }: Ctx,
    Path(action): Path<String>,
) -> Result<Response, WebError> {
    let lines = match action.as_str() {
        "run" => crate::backup::job::run_all(state.clone()).await.0,
        "verify" => {
            let (config, clock) = (state.config.clone(), state.clock.clone());
            tokio::task::spawn_blocking(move || crate::backup::job::verify_newest(&config, &clock))
                .await
                .map_err(|e| WebError::Internal(e.to_string()))?
                .map_err(|e| WebError::Internal(format!("{e:#}")))?
        }
        _ => return Err(WebError::NotFound),
    };
    backups_page(&state, &inst, &s, lines).await
}

/// Streams an archive (it is encrypted: only the recovery code or this server's key opens it).
pub async fn backup_download(
    Ctx {
        state, inst, by: b, ..
    }: Ctx,
    Path((index, name)): Path<(usize, String)>,
) -> Result<Response, WebError> {
    audit::log::record(
        &inst,
        b.now,
        Entry::new(Event::DataExported, b.actor, name.clone(), b.source)
            .with(json!({ "backup_archive": true })),
    )
    .await?;
    let dest = state
        .config
        .backup
        .destinations
        .get(index)
        .ok_or(WebError::NotFound)?;
    if !crate::backup::engine::list(dest)
        .iter()
        .any(|(n, _, _)| *n == name)
    {
        return Err(WebError::NotFound);
    }
    let file = tokio::fs::File::open(dest.join(&name))
        .await
        .map_err(|_| WebError::NotFound)?;
    let body = axum::body::Body::new(file_body::FileBody { file, done: false });
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A file sent in 1 MiB chunks, so a large archive never sits in memory.
mod file_body {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, ReadBuf};

    pub struct FileBody {
        pub file: tokio::fs::File,
        pub done: bool,
    }

    impl http_body::Body for FileBody {
        type Data = bytes::Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
            if self.done {
                return Poll::Ready(None);
            }
            let mut buf = vec![0u8; 1 << 20];
            let mut rb = ReadBuf::new(&mut buf);
            match Pin::new(&mut self.file).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n == 0 {
                        self.done = true;
                        return Poll::Ready(None);
                    }
                    buf.truncate(n);
                    Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from(buf)))))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
                Poll::Pending => Poll::Pending,
            }
        }
    }
}
