//! The HTTP layer: the one route table (with each route's access rule), middleware order, and the
//! pieces every page shares.

// An axum handler takes one argument per extractor (state, instance, client, session, path, body…);
// bundling them into a struct would only hide what each handler needs.
#![allow(clippy::too_many_arguments)]

mod account_pages;
mod admin;
pub mod api;
pub mod assets;
mod charts;
pub mod connections;
mod context;
pub(crate) mod documents;
mod einvoice_pages;
mod error;
mod feed_pages;
mod form;
pub mod guard;
mod headers;
mod health;
mod html;
mod hub;
mod invoice_pages;
pub mod labels;
pub mod metrics;
mod pages;
pub mod server;
mod signin_pages;
mod time;
mod unread;
pub(crate) mod words;

pub use context::{Ctx, Visit};
pub use error::{ApiError, WebError};

use crate::access::Permission;
use crate::app::AppState;
use crate::instances::Instance;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use guard::Access;
use std::sync::Arc;

/// The instance selected by the request's host name.
#[derive(Clone)]
pub struct CurrentInstance(pub Arc<Instance>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CurrentInstance {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentInstance>()
            .cloned()
            .ok_or(WebError::Internal("instance routing did not run".into()))
    }
}

/// One line of the route table.
pub struct Route {
    pub method: &'static str,
    pub path: String,
    pub access: Access,
    /// The largest request body the route accepts; the guard refuses a larger one before any
    /// other work (no session lookup, no parsing, no hashing).
    pub body: BodyLimit,
    handler: MethodRouter<AppState>,
}

impl Route {
    /// Overrides the body limit the method implies (see [`BodyLimit::for_method`]).
    fn body(mut self, limit: BodyLimit) -> Self {
        self.body = limit;
        self
    }
}

/// Classes of request-body size, so the route table says for every route how much a caller may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLimit {
    /// GET, HEAD, DELETE: no body is expected (1 KiB tolerated for clients that send an empty form).
    Empty,
    /// Sign-in, codes, password changes, setup: a user name, a password and a token fit in 8 KiB.
    Small,
    /// Forms and JSON bodies of the business modules and the admin pages.
    Form,
    /// A document upload: `[hub] document_max_mb` plus room for the multipart framing.
    Upload,
    /// A CSV import (32 MiB) plus framing.
    Import,
    /// An update bundle checked on the admin page.
    Bundle,
}

impl BodyLimit {
    const FRAMING: u64 = 1024 * 1024;
    /// CSV imports larger than this are refused (split the file).
    pub const IMPORT_BYTES: u64 = 32 * 1024 * 1024;

    fn for_method(method: &str) -> Self {
        match method {
            "POST" | "PATCH" | "PUT" => BodyLimit::Form,
            _ => BodyLimit::Empty,
        }
    }

    /// The limit in bytes under this configuration.
    pub fn bytes(self, config: &crate::config::Config) -> u64 {
        match self {
            BodyLimit::Empty => 1024,
            BodyLimit::Small => 8 * 1024,
            BodyLimit::Form => 256 * 1024,
            BodyLimit::Upload => config.document_max_bytes + Self::FRAMING,
            BodyLimit::Import => Self::IMPORT_BYTES + Self::FRAMING,
            BodyLimit::Bundle => admin::max_bundle_bytes(config) + Self::FRAMING,
        }
    }
}

impl std::fmt::Display for BodyLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BodyLimit::Empty => "none",
            BodyLimit::Small => "8 KiB",
            BodyLimit::Form => "256 KiB",
            BodyLimit::Upload => "document",
            BodyLimit::Import => "33 MiB",
            BodyLimit::Bundle => "bundle",
        })
    }
}

/// An invoice made from a project's unbilled time reads the project (client, rate), copies its
/// time entries (dates, people, notes) into the lines and marks them billed.
pub(crate) const INVOICE_FROM_PROJECT: &[Permission] = &[
    Permission::Module(
        crate::access::Module::Invoices,
        crate::access::Action::Create,
    ),
    Permission::Module(crate::access::Module::Projects, crate::access::Action::View),
    Permission::Module(crate::access::Module::Time, crate::access::Action::View),
    Permission::Module(crate::access::Module::Time, crate::access::Action::Edit),
];

/// Who did it, from where, when: the audit attribution of a signed-in request.
pub(crate) fn by(
    s: &crate::auth::signin::SessionInfo,
    ip: std::net::IpAddr,
    state: &AppState,
) -> crate::audit::By {
    crate::audit::By {
        actor: s.actor(),
        source: ip.to_string(),
        now: state.clock.now(),
    }
}

fn r(method: &'static str, path: &str, access: Access, handler: MethodRouter<AppState>) -> Route {
    Route {
        method,
        path: path.to_string(),
        access,
        body: BodyLimit::for_method(method),
        handler,
    }
}

/// The routes of one business module, each guarded by that module's permission.
fn module_routes(def: &'static crate::schema::ModuleDef) -> Vec<Route> {
    use crate::access::Action::*;
    let p = |a| Access::Perm(Permission::Module(def.module, a));
    let ext = axum::Extension(api::records::ModuleRef(def));
    let base = format!("/api/v1/{}", def.slug);
    vec![
        r("GET", &base, p(View), get(api::records::list).layer(ext)),
        r(
            "POST",
            &base,
            p(Create),
            post(api::records::create).layer(ext),
        ),
        r(
            "GET",
            &format!("{base}/export.csv"),
            p(Export),
            get(api::records::export_csv).layer(ext),
        ),
        r(
            "POST",
            &format!("{base}/import"),
            p(Import),
            post(api::records::import_csv).layer(ext),
        )
        .body(BodyLimit::Import),
        r(
            "GET",
            &format!("{base}/{{id}}"),
            p(View),
            get(api::records::get).layer(ext),
        ),
        r(
            "PATCH",
            &format!("{base}/{{id}}"),
            p(Edit),
            axum::routing::patch(api::records::patch).layer(ext),
        ),
        r(
            "DELETE",
            &format!("{base}/{{id}}"),
            p(Delete),
            delete(api::records::delete).layer(ext),
        ),
        r(
            "GET",
            &format!("{base}/{{id}}/comments"),
            p(View),
            get(api::records::comments).layer(ext),
        ),
        r(
            "POST",
            &format!("{base}/{{id}}/comments"),
            p(Edit),
            post(api::records::add_comment).layer(ext),
        ),
    ]
}

/// The pages of one business module.
fn module_pages(def: &'static crate::schema::ModuleDef) -> Vec<Route> {
    use crate::access::Action::*;
    let p = |a| Access::Perm(Permission::Module(def.module, a));
    let ext = axum::Extension(api::records::ModuleRef(def));
    let base = format!("/m/{}", def.slug);
    vec![
        r("GET", &base, p(View), get(hub::list).layer(ext)),
        r("POST", &base, p(Create), post(hub::create).layer(ext)),
        r(
            "GET",
            &format!("{base}/new"),
            p(Create),
            get(hub::new_form).layer(ext),
        ),
        r(
            "GET",
            &format!("{base}/import"),
            p(Import),
            get(hub::import_form).layer(ext),
        ),
        r(
            "POST",
            &format!("{base}/import"),
            p(Import),
            post(hub::import_submit).layer(ext),
        )
        .body(BodyLimit::Import),
        r(
            "GET",
            &format!("{base}/{{id}}"),
            p(View),
            get(hub::detail).layer(ext),
        ),
        r(
            "POST",
            &format!("{base}/{{id}}"),
            p(Edit),
            post(hub::update).layer(ext),
        ),
        r(
            "GET",
            &format!("{base}/{{id}}/edit"),
            p(Edit),
            get(hub::edit_form).layer(ext),
        ),
        r(
            "POST",
            &format!("{base}/{{id}}/delete"),
            p(Delete),
            post(hub::delete).layer(ext),
        ),
        // Writing a comment changes the record's card: it needs the right to edit the record.
        r(
            "POST",
            &format!("{base}/{{id}}/comments"),
            p(Edit),
            post(hub::comment).layer(ext),
        ),
        r(
            "POST",
            &format!("{base}/{{id}}/restore"),
            p(Edit),
            post(hub::restore).layer(ext),
        ),
    ]
    .into_iter()
    .chain(
        ["delete", "comments", "restore"]
            .into_iter()
            .map(|a| back_to_card(&format!("{base}/{{id}}/{a}"), def.module)),
    )
    .collect()
}

/// `GET` on the address of an action on a card (a reload after post/redirect/get was missed, a
/// bookmark): a redirect to the card for anyone who may view it, instead of a blank 405.
fn back_to_card(path: &str, module: crate::access::Module) -> Route {
    r(
        "GET",
        path,
        Access::Perm(Permission::Module(module, crate::access::Action::View)),
        get(hub::back_to_card),
    )
}

/// Every route holdfast answers, each with who may call it. `holdfast routes` prints this table and
/// the tests walk it, so a route without an access rule cannot exist.
pub fn routes() -> Vec<Route> {
    use crate::access::{Action::*, Module};
    use Access::*;
    let admin = Perm(Permission::Admin);
    vec![
        r("GET", "/", Public, get(pages::home)),
        r("GET", "/healthz", Public, get(health::healthz)),
        r("GET", "/readyz", Public, get(health::readyz)),
        r(
            "GET",
            "/assets/{version}/{*path}",
            Public,
            get(assets::serve),
        ),
        r("GET", "/favicon.ico", Public, get(assets::favicon)),
        r("GET", "/signin", Public, get(signin_pages::signin_form)),
        r("POST", "/signin", Public, post(signin_pages::signin_submit)).body(BodyLimit::Small),
        r("GET", "/signin/code", Pending, get(signin_pages::code_form)),
        r(
            "POST",
            "/signin/code",
            Pending,
            post(signin_pages::code_submit),
        )
        .body(BodyLimit::Small),
        r(
            "GET",
            "/signin/password",
            Pending,
            get(signin_pages::password_form),
        ),
        r(
            "POST",
            "/signin/password",
            Pending,
            post(signin_pages::password_submit),
        )
        .body(BodyLimit::Small),
        r(
            "GET",
            "/signin/enroll",
            Pending,
            get(signin_pages::enroll_form),
        ),
        r(
            "POST",
            "/signin/enroll",
            Pending,
            post(signin_pages::enroll_submit),
        )
        .body(BodyLimit::Small),
        r("POST", "/signout", Pending, post(signin_pages::signout)),
        r("GET", "/setup", Public, get(signin_pages::setup_form)),
        r("POST", "/setup", Public, post(signin_pages::setup_submit)).body(BodyLimit::Small),
        r(
            "POST",
            "/api/v1/session",
            Public,
            post(api::session::create),
        )
        .body(BodyLimit::Small),
        r("GET", "/api/v1/session", Pending, get(api::session::whoami)),
        r(
            "DELETE",
            "/api/v1/session",
            Pending,
            delete(api::session::delete),
        ),
        r(
            "POST",
            "/api/v1/session/second-factor",
            Pending,
            post(api::session::second_factor),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/api/v1/session/password",
            Pending,
            post(api::session::change_password),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/api/v1/session/totp",
            Pending,
            post(api::session::totp_start),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/api/v1/session/totp/confirm",
            Pending,
            post(api::session::totp_confirm),
        )
        .body(BodyLimit::Small),
        r("GET", "/account", Signed, get(account_pages::show)),
        r(
            "POST",
            "/account/language",
            Signed,
            post(account_pages::set_language),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/account/password",
            Signed,
            post(account_pages::change_password),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/account/code",
            Signed,
            post(account_pages::send_code),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/account/email",
            Signed,
            post(account_pages::change_email),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/account/sessions/{handle}/end",
            Signed,
            post(account_pages::end_session),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/account/sessions/end-others",
            Signed,
            post(account_pages::end_other_sessions),
        )
        .body(BodyLimit::Small),
        r(
            "GET",
            "/signin/verify",
            Pending,
            get(signin_pages::verify_form),
        ),
        r(
            "POST",
            "/signin/verify",
            Pending,
            post(signin_pages::verify_submit),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/api/v1/session/enrolment-verify",
            Pending,
            post(api::session::enrolment_verify),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/api/v1/session/code",
            Signed,
            post(api::session::reauth_code),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/api/v1/session/email",
            Signed,
            post(api::session::change_email),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/api/v1/session/second-factor/method",
            Signed,
            post(api::session::set_method),
        )
        .body(BodyLimit::Small),
        r(
            "GET",
            "/api/v1/sessions",
            Signed,
            get(api::session::list_sessions),
        ),
        r(
            "DELETE",
            "/api/v1/sessions",
            Signed,
            delete(api::session::end_other_sessions),
        ),
        r(
            "DELETE",
            "/api/v1/sessions/{handle}",
            Signed,
            delete(api::session::end_session),
        ),
        r(
            "POST",
            "/account/totp/confirm",
            Signed,
            post(account_pages::totp_confirm),
        )
        .body(BodyLimit::Small),
        r(
            "POST",
            "/account/second-factor",
            Signed,
            post(account_pages::set_method),
        )
        .body(BodyLimit::Small),
        r("GET", "/admin", admin, get(admin::index)),
        r("GET", "/admin/users", admin, get(admin::users)),
        r(
            "POST",
            "/admin/users",
            AccountAdmin,
            post(admin::create_user),
        ),
        r(
            "POST",
            "/admin/users/{name}/{action}",
            AccountAdmin,
            post(admin::user_action),
        ),
        r(
            "POST",
            "/admin/sessions/end-all",
            AccountAdmin,
            post(admin::end_all_sessions),
        ),
        r("GET", "/admin/groups", admin, get(admin::groups)),
        r(
            "POST",
            "/admin/groups",
            AccountAdmin,
            post(admin::create_group),
        ),
        r(
            "POST",
            "/admin/groups/{name}/{action}",
            AccountAdmin,
            post(admin::group_action),
        ),
        r("GET", "/admin/policy", admin, get(admin::policy)),
        r(
            "POST",
            "/admin/policy",
            AccountAdmin,
            post(admin::save_policy),
        ),
        r(
            "POST",
            "/admin/notice",
            AccountAdmin,
            post(admin::save_notice),
        ),
        r("GET", "/admin/log", admin, get(admin::log)),
        r(
            "GET",
            "/admin/log/export.csv",
            admin,
            get(admin::export_csv),
        ),
        r(
            "GET",
            "/admin/log/export.json",
            admin,
            get(admin::export_json),
        ),
        r("GET", "/admin/alerts", admin, get(admin::alerts)),
        r(
            "POST",
            "/admin/alerts/rules",
            admin,
            post(admin::save_alert_rules),
        ),
        r(
            "POST",
            "/admin/alerts/{id}/{action}",
            admin,
            post(admin::alert_action),
        ),
        r("GET", "/admin/mail", admin, get(admin::mail)),
        r("POST", "/admin/mail/test", admin, post(admin::mail_test)),
        r("GET", "/api/v1/audit", admin, get(api::audit::list)),
        r("GET", "/admin/tokens", admin, get(admin::tokens)),
        r("GET", "/admin/webhooks", admin, get(admin::webhooks)),
        r(
            "GET",
            "/admin/integrations",
            admin,
            get(admin::integrations),
        ),
        r("POST", "/admin/webhooks", admin, post(admin::add_webhook)),
        r("GET", "/admin/webhooks/{id}", admin, get(admin::webhook)),
        r(
            "POST",
            "/admin/webhooks/{id}/{action}",
            admin,
            post(admin::webhook_action),
        ),
        r(
            "POST",
            "/admin/webhooks/{id}/redeliver/{delivery}",
            admin,
            post(admin::redeliver_webhook),
        ),
        r("GET", "/admin/backups", Operator, get(admin::backups)),
        r("GET", "/admin/updates", Operator, get(admin::show)),
        r(
            "POST",
            "/admin/updates/verify",
            Operator,
            post(admin::verify),
        )
        .body(BodyLimit::Bundle),
        r(
            "POST",
            "/admin/backups/{action}",
            Operator,
            post(admin::backup_action),
        ),
        r(
            "GET",
            "/admin/backups/download/{index}/{name}",
            Operator,
            get(admin::backup_download),
        ),
        r(
            "POST",
            "/admin/tokens",
            AccountAdmin,
            post(admin::create_token),
        ),
        r(
            "POST",
            "/admin/tokens/{id}/revoke",
            AccountAdmin,
            post(admin::revoke_token),
        ),
        r(
            "GET",
            "/api/v1/invoices/{id}/lines",
            Perm(Permission::Module(Module::Invoices, View)),
            get(api::invoices::lines),
        ),
        r(
            "POST",
            "/api/v1/invoices/{id}/lines",
            Perm(Permission::Module(Module::Invoices, Edit)),
            post(api::invoices::add_line),
        ),
        r(
            "DELETE",
            "/api/v1/invoices/{id}/lines/{line}",
            Perm(Permission::Module(Module::Invoices, Edit)),
            delete(api::invoices::remove_line),
        ),
        r(
            "POST",
            "/api/v1/invoices/{id}/{action}",
            Perm(Permission::Module(Module::Invoices, Edit)),
            post(api::invoices::transition),
        ),
        r(
            "POST",
            "/api/v1/invoices/from-project",
            AllOf(INVOICE_FROM_PROJECT),
            post(api::invoices::from_project),
        ),
        r(
            "POST",
            "/m/invoices/{id}/lines",
            Perm(Permission::Module(Module::Invoices, Edit)),
            post(hub::add_line),
        ),
        r(
            "POST",
            "/m/invoices/{id}/lines/{line}/delete",
            Perm(Permission::Module(Module::Invoices, Edit)),
            post(hub::remove_line),
        ),
        r(
            "POST",
            "/m/invoices/{id}/do/{action}",
            Perm(Permission::Module(Module::Invoices, Edit)),
            post(hub::transition),
        ),
        // Voiding an issued invoice: a page that asks for the reason, and its form.
        r(
            "GET",
            "/m/invoices/{id}/void",
            Perm(Permission::Module(Module::Invoices, Edit)),
            get(hub::void_form),
        ),
        r(
            "POST",
            "/m/invoices/{id}/void",
            Perm(Permission::Module(Module::Invoices, Edit)),
            post(hub::void_submit),
        ),
        r(
            "POST",
            "/api/v1/invoices/{id}/void",
            Perm(Permission::Module(Module::Invoices, Edit)),
            post(api::invoices::void),
        ),
        r("GET", "/admin/money", admin, get(admin::money)),
        r("POST", "/admin/money", admin, post(admin::save_money)),
        r(
            "GET",
            "/m/invoices/{id}/document",
            AllOf(invoice_pages::INVOICE_DOCUMENT),
            get(invoice_pages::document_page),
        ),
        r(
            "GET",
            "/m/invoices/{id}/document.pdf",
            AllOf(invoice_pages::INVOICE_DOCUMENT),
            get(invoice_pages::document_pdf),
        ),
        r(
            "GET",
            "/m/invoices/{id}/einvoice.xml",
            AllOf(invoice_pages::INVOICE_DOCUMENT),
            get(einvoice_pages::einvoice_xml),
        ),
        r(
            "GET",
            "/admin/journal",
            admin,
            get(einvoice_pages::show_journal),
        ),
        // The accounts every exported posting goes to: like the invoice profile, a vendor support
        // account may look, never change.
        r(
            "POST",
            "/admin/journal",
            AccountAdmin,
            post(einvoice_pages::save_journal),
        ),
        r(
            "GET",
            "/admin/journal/export.csv",
            admin,
            get(einvoice_pages::journal_csv),
        ),
        r(
            "GET",
            "/admin/invoice-profile",
            admin,
            get(invoice_pages::show_profile),
        ),
        // The bank account printed on every invoice: a vendor support account may look, never change.
        r(
            "POST",
            "/admin/invoice-profile",
            AccountAdmin,
            post(invoice_pages::save_profile),
        ),
        r(
            "POST",
            "/m/projects/{id}/invoice",
            AllOf(INVOICE_FROM_PROJECT),
            post(hub::invoice_project),
        ),
        r(
            "POST",
            "/m/documents/{id}/upload",
            Perm(Permission::Module(Module::Documents, Edit)),
            post(documents::upload_page),
        )
        .body(BodyLimit::Upload),
        r(
            "GET",
            "/m/documents/{id}/download/{number}",
            Perm(Permission::Module(Module::Documents, View)),
            get(documents::download),
        ),
        back_to_card("/m/invoices/{id}/lines", Module::Invoices),
        back_to_card("/m/invoices/{id}/lines/{line}/delete", Module::Invoices),
        back_to_card("/m/invoices/{id}/do/{action}", Module::Invoices),
        back_to_card("/m/projects/{id}/invoice", Module::Projects),
        back_to_card("/m/documents/{id}/upload", Module::Documents),
        r(
            "POST",
            "/api/v1/documents/{id}/file",
            Perm(Permission::Module(Module::Documents, Edit)),
            post(documents::upload_api),
        )
        .body(BodyLimit::Upload),
        r(
            "GET",
            "/api/v1/documents/{id}/file",
            Perm(Permission::Module(Module::Documents, View)),
            get(documents::download_api),
        ),
        r(
            "GET",
            "/api/v1/openapi.json",
            Public,
            get(api::openapi::serve),
        ),
        r(
            "GET",
            "/feed/{token}/calendar.ics",
            FeedToken,
            get(feed_pages::serve),
        ),
        r("GET", "/account/calendar", Signed, get(feed_pages::show)),
        r(
            "POST",
            "/account/calendar",
            Signed,
            post(feed_pages::change),
        )
        .body(BodyLimit::Small),
        r("GET", "/admin/feeds", admin, get(feed_pages::admin_show)),
        r(
            "POST",
            "/admin/feeds",
            AccountAdmin,
            post(feed_pages::admin_save),
        )
        .body(BodyLimit::Small),
        r("GET", "/search", Signed, get(hub::search)),
        r("GET", "/api/v1/search", Signed, get(hub::search_api)),
    ]
    .into_iter()
    .chain(crate::schema::ALL.iter().flat_map(|d| module_routes(d)))
    .chain(crate::schema::ALL.iter().flat_map(|d| module_pages(d)))
    .collect()
}

/// Builds the router from the route table.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for route in routes() {
        let rule = guard::Rule {
            access: route.access,
            body_limit: route.body.bytes(&state.config),
        };
        let guarded = route.handler.route_layer(middleware::from_fn_with_state(
            (state.clone(), rule),
            guard::guard,
        ));
        router = router.route(&route.path, guarded);
    }
    // Each route's own limit is enforced by the guard on the body itself; axum's extractor-level
    // default (2 MB) would only second-guess it.
    router
        .fallback(pages::not_found)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state.clone(), error_pages))
        .layer(middleware::from_fn_with_state(state.clone(), note_refusals))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            select_instance,
        ))
        .layer(middleware::from_fn(headers::security_headers))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// What a server about to take over from another (`update apply`'s hand-over) answers on its
/// private loopback probe listener: `/readyz` of the one route table and nothing else, so that no
/// request can sign in or write while the previous server still runs.
pub fn readiness_router(state: AppState) -> Router {
    router(state).layer(middleware::from_fn(only_readiness))
}

async fn only_readiness(req: Request, next: Next) -> Response {
    if req.method() == axum::http::Method::GET && req.uri().path() == "/readyz" {
        next.run(req).await
    } else {
        axum::http::StatusCode::NOT_FOUND.into_response()
    }
}

/// Counts every refusal the error mapping marked (403, CSRF, 429) for the request's instance and
/// address; `cli::serve` writes the counts to the security log once their minute is over.
async fn note_refusals(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let instance = req.extensions().get::<CurrentInstance>().cloned();
    let ip = guard::client_ip(req.extensions());
    let uri = req.uri().clone();
    let resp = next.run(req).await;
    if let (Some(kind), Some(CurrentInstance(inst))) = (
        resp.extensions()
            .get::<crate::audit::refusals::Kind>()
            .copied(),
        instance,
    ) {
        state
            .refusals
            .note(&inst.name, ip, kind, uri.path(), state.clock.now());
    }
    resp
}

/// Writes the page of an error the error mapping left for it, in the reader's language: the
/// language of the person whose session cookie came with the request, else the instance's default.
async fn error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let instance = req.extensions().get::<CurrentInstance>().cloned();
    let token = guard::presented_session(req.headers());
    let ip = guard::client_ip(req.extensions());
    let resp = next.run(req).await;
    let Some(CurrentInstance(inst)) = instance else {
        return resp;
    };
    if resp.extensions().get::<error::PageError>().is_none() {
        return resp;
    }
    let own = if token.is_empty() {
        None
    } else {
        crate::auth::signin::language_of(&inst, &token, ip, state.clock.now())
            .await
            .ok()
            .flatten()
    };
    pages::error_page(&state, &inst, own, resp).await
}

/// Routes the request to its instance by host name (HTTP/2 `:authority` or HTTP/1.1 `Host`).
async fn select_instance(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let host = req.uri().host().map(str::to_string).or_else(|| {
        req.headers()
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    });
    let instance = state.registry.resolve(host.as_deref());
    req.extensions_mut().insert(CurrentInstance(instance));
    next.run(req).await
}

#[cfg(test)]
mod router_tests;
