//! The one place where errors become HTTP statuses and user-facing messages (HTML for pages,
//! `{"error":{"code","message","field"}}` for the JSON API).

use crate::audit::refusals::Kind as Refused;
use crate::auth::AuthError;
use crate::auth::accounts::AccountError;
use crate::auth::signin::SignInError;
use crate::hub::csvio::{ImportError, Problem};
use crate::hub::records::HubError;
use crate::i18n::{Message, Sentence};
use crate::storage::StorageError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("the service is not ready")]
    NotReady,
    #[error("sign-in required")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    #[error("request forgery check failed")]
    CsrfFailed,
    #[error("sign-in failed")]
    SignInFailed,
    #[error("throttled for {0} s")]
    Throttled(u64),
    #[error("busy")]
    Busy,
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        /// English, for the API.
        message: String,
        /// The same refusal as pages word it, when the domain said it as a message.
        words: Option<Message>,
    },
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than the route takes (`limit` bytes).
    #[error("request body over {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    Conflict(Sentence),
    /// Well-formed values naming a record or user that does not exist (or belongs elsewhere):
    /// refused for the current state of the data, with the field named.
    #[error("{message}")]
    Unresolved { field: String, message: String },
    /// A CSV file with problems (each with its row and column); nothing of it was imported.
    #[error("the file has {} problem(s); nothing was imported", .0.len())]
    InvalidFile(Vec<Problem>),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The user's own mistakes, listed on the page shown again: its status (see [`WebError::shown_on`]).
pub const MISTAKES: WebError = WebError::Invalid {
    field: None,
    message: String::new(),
    words: None,
};

impl WebError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        WebError::Invalid {
            field: Some(field.to_string()),
            message: message.into(),
            words: None,
        }
    }

    /// A value refused with a sentence the domain worded twice (English for the API, a message
    /// for pages).
    pub fn refused(field: &str, said: Sentence) -> Self {
        WebError::Invalid {
            field: Some(field.to_string()),
            message: said.english,
            words: Some(said.words),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::NotReady | WebError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Unauthenticated | WebError::SignInFailed => StatusCode::UNAUTHORIZED,
            WebError::Forbidden | WebError::CsrfFailed => StatusCode::FORBIDDEN,
            WebError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Invalid { .. } | WebError::InvalidFile(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Conflict(_) | WebError::Unresolved { .. } => StatusCode::CONFLICT,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            WebError::NotFound => "not_found",
            WebError::NotReady => "not_ready",
            WebError::Unauthenticated => "unauthenticated",
            WebError::Forbidden => "forbidden",
            WebError::CsrfFailed => "csrf_failed",
            WebError::SignInFailed => "sign_in_failed",
            WebError::Throttled(_) => "throttled",
            WebError::Busy => "busy",
            WebError::Invalid { .. } => "invalid",
            WebError::InvalidFile(_) => "invalid_file",
            WebError::BadRequest(_) => "bad_request",
            WebError::TooLarge { .. } => "too_large",
            WebError::Conflict(_) => "conflict",
            WebError::Unresolved { .. } => "unresolved_reference",
            WebError::Internal(_) => "internal",
        }
    }

    /// What the user is told; internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            WebError::NotFound => "This page does not exist.".into(),
            WebError::NotReady => "holdfast is starting or stopping. Try again in a moment.".into(),
            WebError::Unauthenticated => "Please sign in.".into(),
            WebError::Forbidden => "Your groups do not allow this. Ask an administrator if you need it.".into(),
            WebError::CsrfFailed => {
                "The form was not accepted because it did not come from this page. Reload the page and try again.".into()
            }
            WebError::SignInFailed => {
                "The user name or password is wrong, or this account cannot sign in. After repeated failures the account is locked until an administrator unlocks it.".into()
            }
            WebError::Throttled(s) => format!("Too many failed attempts from your address. Try again in {s} seconds."),
            WebError::Busy => "The server is busy. Try again in a moment.".into(),
            WebError::Invalid { message, .. }
            | WebError::Unresolved { message, .. }
            | WebError::BadRequest(message) => message.clone(),
            WebError::Conflict(said) => said.english.clone(),
            WebError::InvalidFile(_) => self.to_string(),
            WebError::TooLarge { limit } => format!(
                "The request is too large: this address accepts at most {}.",
                human_bytes(*limit)
            ),
            WebError::Internal(_) => {
                "Something went wrong on the server. The administrator can find the details in the log.".into()
            }
        }
    }

    /// An axum extractor's rejection (path, query, JSON, multipart, body): a body over the route's
    /// `limit` is 413, anything else 400 with axum's explanation, so API callers get the JSON error
    /// and pages the error page instead of axum's plain text.
    pub fn rejected(status: StatusCode, explanation: String, limit: u64) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            WebError::TooLarge { limit }
        } else {
            WebError::BadRequest(explanation)
        }
    }

    /// A page shown again with this refusal in it (a form with its mistakes, a sign-in step that
    /// failed) answers with the refusal's status, so scripts and tests see it as well as people.
    pub fn shown_on(&self, mut resp: Response) -> Response {
        *resp.status_mut() = self.status();
        resp
    }

    fn log(&self) {
        if self.status().is_server_error() && !matches!(self, WebError::Busy | WebError::NotReady) {
            tracing::error!(error = %self, "request failed");
        }
    }

    fn decorate(&self, resp: &mut Response) {
        // Marks a refusal for `web::note_refusals`, which counts it for the security log.
        let refused = match self {
            WebError::Forbidden => Some(Refused::Forbidden),
            WebError::CsrfFailed => Some(Refused::Csrf),
            WebError::Throttled(_) => Some(Refused::Throttled),
            _ => None,
        };
        if let Some(kind) = refused {
            resp.extensions_mut().insert(kind);
        }
        if let WebError::Throttled(s) = self
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
}

/// 8192 → "8 KiB", 1048576 → "1 MiB": limits as people read them.
fn human_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB {
        format!("{} MiB", n / MIB)
    } else if n >= 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

impl From<StorageError> for WebError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Full => WebError::Internal("the disk or database is full".into()),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<AuthError> for WebError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Busy => WebError::Busy,
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<crate::watch::WatchError> for WebError {
    fn from(e: crate::watch::WatchError) -> Self {
        use crate::watch::WatchError;
        match e {
            WatchError::NotFound(_) => WebError::NotFound,
            WatchError::Invalid(m) => WebError::Invalid {
                field: None,
                message: m.english,
                words: Some(m.words),
            },
            WatchError::Storage(s) => s.into(),
        }
    }
}

impl From<crate::webhooks::WebhookError> for WebError {
    fn from(e: crate::webhooks::WebhookError) -> Self {
        use crate::webhooks::WebhookError;
        match e {
            WebhookError::NotFound(_) => WebError::NotFound,
            WebhookError::Invalid(m) => WebError::Invalid {
                field: None,
                message: m.english,
                words: Some(m.words),
            },
            WebhookError::Storage(s) => s.into(),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<crate::hub::feeds::FeedError> for WebError {
    fn from(e: crate::hub::feeds::FeedError) -> Self {
        use crate::hub::feeds::FeedError;
        match e {
            // The switch is hidden while feeds are forbidden: a form sent anyway finds nothing.
            FeedError::Forbidden => WebError::NotFound,
            FeedError::Random => WebError::Internal(e.to_string()),
            FeedError::Storage(s) => s.into(),
        }
    }
}

impl From<AccountError> for WebError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::NotFound(_) => WebError::NotFound,
            AccountError::Exists(ref name) => WebError::Conflict(
                Sentence::new("account-error-exists", e.to_string()).arg("name", name),
            ),
            AccountError::Invalid { field, message } => WebError::refused(field, message),
            AccountError::PasswordRejected(_) => WebError::invalid("new_password", e.to_string()),
            AccountError::WrongPassword => WebError::invalid("current_password", e.to_string()),
            AccountError::Policy(p) => WebError::Invalid {
                field: None,
                message: p.to_string(),
                words: Some(p.message()),
            },
            AccountError::LastAdmin => {
                WebError::Conflict(Sentence::new("account-error-last-admin", e.to_string()))
            }
            AccountError::Throttled(s) => WebError::Throttled(s),
            AccountError::Auth(a) => a.into(),
            AccountError::Storage(s) => s.into(),
        }
    }
}

impl From<SignInError> for WebError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Rejected => WebError::SignInFailed,
            SignInError::Throttled(s) => WebError::Throttled(s),
            SignInError::Invalid {
                field,
                message,
                key,
            } => WebError::refused(field, Sentence::new(key, message)),
            SignInError::Auth(a) => a.into(),
            SignInError::Storage(s) => s.into(),
            SignInError::Account(a) => a.into(),
        }
    }
}

impl From<HubError> for WebError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::Invalid(errs) => match errs.as_slice() {
                [one] => WebError::Invalid {
                    field: Some(one.field.clone()),
                    message: format!("{}: {}", one.field, one.message),
                    words: one.problem.as_ref().map(|p| p.message()),
                },
                _ => WebError::Invalid {
                    field: errs.first().map(|e| e.field.clone()),
                    message: HubError::Invalid(errs).to_string(),
                    words: None,
                },
            },
            HubError::Unresolved(errs) => WebError::Unresolved {
                field: errs.first().map(|e| e.field.clone()).unwrap_or_default(),
                message: HubError::Unresolved(errs).to_string(),
            },
            HubError::NotFound => WebError::NotFound,
            HubError::Conflict(said) => WebError::Conflict(said),
            HubError::Refused(c) => WebError::Conflict(c.sentence()),
            HubError::Storage(s) => s.into(),
        }
    }
}

impl From<ImportError> for WebError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Problems(problems) => WebError::InvalidFile(problems),
            ImportError::Hub(h) => h.into(),
        }
    }
}

/// An error page still to be written: `web::error_pages` renders it in the reader's language once
/// the instance is known (the error mapping itself has no state).
#[derive(Clone)]
pub struct PageError(pub std::sync::Arc<WebError>);

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.log();
        if matches!(self, WebError::Unauthenticated) {
            return axum::response::Redirect::to("/signin").into_response();
        }
        let status = self.status();
        let mut resp = (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            self.public_message(),
        )
            .into_response();
        self.decorate(&mut resp);
        resp.extensions_mut()
            .insert(PageError(std::sync::Arc::new(self)));
        resp
    }
}

impl WebError {
    /// What a page tells the reader, in their language; a message the domain wrote (a field's
    /// problem, a conflict) is shown as written.
    pub fn message_in(&self, tr: &crate::i18n::Tr) -> String {
        match self {
            WebError::NotFound => tr.t("error-not-found"),
            WebError::NotReady => tr.t("error-not-ready"),
            WebError::Unauthenticated => tr.t("error-unauthenticated"),
            WebError::Forbidden => tr.t("error-forbidden"),
            WebError::CsrfFailed => tr.t("error-csrf"),
            WebError::SignInFailed => tr.t("error-signin-failed"),
            WebError::Throttled(s) => tr.t1("error-throttled", "seconds", s.to_string()),
            WebError::Busy => tr.t("error-busy"),
            WebError::TooLarge { limit } => tr.t1("error-too-large", "limit", human_bytes(*limit)),
            WebError::Internal(_) => tr.t("error-internal"),
            WebError::InvalidFile(p) => tr.count("error-invalid-file", p.len()),
            WebError::Invalid { words: Some(m), .. } => m.render(tr),
            WebError::Invalid { .. } | WebError::Unresolved { .. } | WebError::BadRequest(_) => {
                self.public_message()
            }
            WebError::Conflict(said) => said.render(tr),
        }
    }

    /// The status's name in the reader's language ("Not found").
    pub fn reason_in(&self, tr: &crate::i18n::Tr) -> String {
        let code = self.status().as_u16();
        if STATUS_KEYS.contains(&code) {
            tr.t(&format!("status-{code}"))
        } else {
            tr.t("error-title")
        }
    }
}

/// The statuses the catalogue names (`status-NNN`); any other is "Error".
pub const STATUS_KEYS: &[u16] = &[400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 503];

/// The same error, rendered as JSON for `/api/…`.
#[derive(Debug)]
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        let field = match &e {
            WebError::Invalid { field, .. } => field.clone(),
            WebError::Unresolved { field, .. } => Some(field.clone()),
            _ => None,
        };
        let mut body =
            serde_json::json!({ "error": { "code": e.code(), "message": e.public_message() } });
        if let Some(f) = field {
            body["error"]["field"] = serde_json::Value::String(f);
        }
        if let WebError::InvalidFile(problems) = &e {
            body["error"]["problems"] = serde_json::json!(problems);
        }
        let mut resp = (e.status(), axum::Json(body)).into_response();
        e.decorate(&mut resp);
        resp
    }
}
