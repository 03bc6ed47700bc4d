//! Administration pages, one file per section: users, groups and permissions, policy and notice,
//! security log (with exports), mail, money settings, API tokens, backups and updates (the operator's instance
//! only). What several sections share (the index page, messages the admin can act on) lives here.

mod alerts;
mod backups;
mod groups;
mod integrations;
mod log;
mod mail;
mod money;
mod policy;
mod tokens;
mod updates;
mod users;
mod webhooks;

pub use alerts::*;
pub use backups::*;
pub use groups::*;
pub use integrations::*;
pub use log::*;
pub use mail::*;
pub use money::*;
pub use policy::*;
pub use tokens::*;
pub use updates::*;
pub use users::*;
pub use webhooks::*;

use super::WebError;
use super::form::{pairs as form_pairs, value, values};
use super::pages::{Chrome, Notes, chrome, render, render_refused};
use crate::access::{Action, Module, Permission};
use crate::app::AppState;
use crate::audit::{self, By, ChainReport, Entry, Event};
use crate::auth::accounts::{self, AccountError, NewAccount};
use crate::auth::groups as access_groups;
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

/// An admin action's outcome as its section shows it: the message of what was done, or the error
/// the admin can fix; the other errors go to the error mapping.
fn outcome(tr: &crate::i18n::Tr, result: Result<String, AccountError>) -> Result<Notes, WebError> {
    match result {
        Ok(message) => Ok(Notes::done(message)),
        Err(
            e @ (AccountError::Invalid { .. }
            | AccountError::Exists(_)
            | AccountError::NotFound(_)
            | AccountError::LastAdmin
            | AccountError::Policy(_)
            | AccountError::PasswordRejected(_)),
        ) => Ok(Notes::refused(
            super::words::account_error(tr, &e).into_iter().collect(),
        )),
        Err(other) => Err(other.into()),
    }
}

/// The layout around a section's page, for the signed-in admin.
async fn frame(ctx: &Ctx) -> Result<Chrome, WebError> {
    chrome(&ctx.state, &ctx.inst, Some(&ctx.s)).await
}

#[derive(Template)]
#[template(path = "admin_index.html")]
struct IndexPage {
    c: Chrome,
    warnings: Vec<String>,
    user_count: usize,
    mail_state: String,
}

pub async fn index(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    let policy = accounts::policy(&inst).await?;
    let count = crate::auth::directory::count(&inst).await?;
    let c = chrome(&state, &inst, Some(&s)).await?;
    render(&IndexPage {
        warnings: policy_warnings(&policy, &c.tr),
        user_count: count,
        mail_state: mail_state(&state, &c.tr),
        c,
    })
}

/// The policy's departures from ASVS level 2, in the reader's language.
fn policy_warnings(policy: &crate::auth::policy::Policy, tr: &crate::i18n::Tr) -> Vec<String> {
    policy
        .departures()
        .into_iter()
        .map(|d| tr.t(d.key()))
        .collect()
}

fn mail_state(state: &AppState, tr: &crate::i18n::Tr) -> String {
    match &state.config.mail {
        Some(m) => tr.with(
            "mail-state-on",
            &[
                ("host", m.smtp_host.clone().into()),
                ("port", m.smtp_port.to_string().into()),
                ("tls", m.tls.to_string().into()),
            ],
        ),
        None => tr.t("mail-state-off"),
    }
}
