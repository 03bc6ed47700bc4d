//! Per-route access control and request-forgery defence: resolves the session cookie, enforces the
//! route's `Access`, checks Origin on every state-changing request and the CSRF token on forms.

use super::server::ClientAddr;
use super::{CurrentInstance, WebError, error::ApiError};
use crate::access::Permission;
use crate::app::AppState;
use crate::auth::signin::{self, SessionInfo};
use crate::crypto;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, Method, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::IpAddr;
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "__Host-hf_session";
/// Double-submit token for forms shown before sign-in (sign-in and setup pages).
pub const PRE_COOKIE: &str = "__Host-hf_pre";

/// The body limit of the route a request is for (an extension the guard sets for extractors).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimitBytes(pub u64);

/// What the route table says about one route: who may call it and how large a body it takes.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub access: Access,
    pub body_limit: u64,
}

/// Who may call a route. Every route in the table names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No session needed (sign-in, setup, health, assets).
    Public,
    /// Any session, including one half-way through sign-in (second factor, forced password change).
    Pending,
    /// A fully signed-in session.
    Signed,
    /// A fully signed-in session whose groups grant this permission.
    Perm(Permission),
    /// Like `Perm`, for actions that read or change several modules at once: every permission.
    AllOf(&'static [Permission]),
    /// An administrator who is not a vendor support account: changes to who may do what (users,
    /// groups, policy, tokens, factors). A support account helps; it never grants itself or others
    /// access.
    AccountAdmin,
    /// An administrator of the appliance operator's own instance (`default`): what covers every
    /// instance of the appliance (backups, updates) is not for each instance's admins.
    Operator,
    /// A calendar feed: the feed token in the path is the only credential. The guard never looks
    /// at a session cookie or bearer token here (a feed URL in a calendar client carries none, and
    /// a cookie sent along must not turn the feed into that session's view); the handler's one
    /// domain call (`hub::feeds::calendar`) checks the token and answers 404 for any bad one.
    FeedToken,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Access::Public => f.write_str("public"),
            Access::Pending => f.write_str("session (any stage)"),
            Access::Signed => f.write_str("signed in"),
            Access::Perm(p) => write!(f, "permission {p}"),
            Access::AllOf(ps) => {
                let names: Vec<String> = ps.iter().map(ToString::to_string).collect();
                write!(f, "permissions {}", names.join(" + "))
            }
            Access::AccountAdmin => f.write_str("permission admin, not a support account"),
            Access::Operator => f.write_str("permission admin, operator instance only"),
            Access::FeedToken => f.write_str("feed token (in the path)"),
        }
    }
}

/// The caller's session, put in place by the guard.
#[derive(Clone)]
pub struct Session(pub Arc<SessionInfo>);

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, WebError> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(WebError::Unauthenticated)
    }
}

/// The session when there is one (public pages that change when signed in).
pub struct MaybeSession(pub Option<Arc<SessionInfo>>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeSession {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, WebError> {
        Ok(MaybeSession(
            parts.extensions.get::<Session>().map(|s| Arc::clone(&s.0)),
        ))
    }
}

/// The client's address (from the TCP connection; holdfast does not trust forwarding headers).
#[derive(Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, WebError> {
        Ok(ClientIp(client_ip(&parts.extensions)))
    }
}

pub(super) fn client_ip(ext: &axum::http::Extensions) -> IpAddr {
    ext.get::<ClientAddr>()
        .map(|a| a.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `Set-Cookie` value for the session: host-only, Secure, HttpOnly, SameSite=Strict.
pub fn session_cookie(token: &str, max_age_secs: i64) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}"
    )
}

/// Sent with a sign-out: the browser drops the cookies and storage of this origin, so the next
/// person at a shared computer finds nothing of the last one's. Not `"cache"`: pages are never
/// cached (`no-store`), and Chromium stalls navigations while it clears a cache.
pub const CLEAR_SITE_DATA: &str = "\"cookies\", \"storage\"";

pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The headers of the answer to a sign-out, page or API: the session cookie dropped and the
/// origin's cookies and storage cleared.
pub fn signed_out_headers() -> [(header::HeaderName, String); 2] {
    [
        (header::SET_COOKIE, clear_session_cookie()),
        (
            header::HeaderName::from_static("clear-site-data"),
            CLEAR_SITE_DATA.to_string(),
        ),
    ]
}

/// The session token the browser presents, or `""` when it has none.
pub fn presented_session(headers: &HeaderMap) -> String {
    cookie(headers, SESSION_COOKIE).unwrap_or_default()
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

fn reject(api: bool, e: WebError) -> Response {
    if api {
        ApiError(e).into_response()
    } else {
        e.into_response()
    }
}

/// Browsers send `Origin` on state-changing requests; a real one must name this host. Because every
/// page carries `Referrer-Policy: no-referrer`, browsers send `Origin: null` for same-origin form
/// posts, so then `Sec-Fetch-Site` decides: only `same-origin` (or a user-typed `none`) passes.
fn origin_ok(headers: &HeaderMap, uri_authority: Option<&str>) -> bool {
    let host = uri_authority.map(str::to_string).or_else(|| {
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    });
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some("null") => matches!(fetch_site, Some("same-origin") | Some("none")),
        Some(origin) => host.is_some_and(|h| origin.eq_ignore_ascii_case(&format!("https://{h}"))),
        None => !matches!(fetch_site, Some("cross-site") | Some("same-site")),
    }
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    super::form::pairs(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Refuses a request whose body was not read yet (the one way every refusal of the guard takes).
/// The body is left to the server, which reads a small one to its end before the answer goes out
/// (`web::unread`), so that a client still sending it reads the answer instead of a reset.
fn refuse(api: bool, e: WebError, req: Request) -> Response {
    drop(req);
    reject(api, e)
}

/// Whether reading a body failed because it passed the route's limit (rather than the client
/// going away).
pub fn is_too_large(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

pub async fn guard(
    State((state, rule)): State<(AppState, Rule)>,
    req: Request,
    next: Next,
) -> Response {
    let api = is_api(req.uri().path());
    // The body limit comes first: an unauthenticated caller is bounded before any other work.
    let limit = rule.body_limit;
    if super::unread::declared_length(req.headers()).is_some_and(|n| n > limit) {
        return refuse(api, WebError::TooLarge { limit }, req);
    }
    let mut req = req.map(|b| {
        Body::new(http_body_util::Limited::new(
            b,
            usize::try_from(limit).unwrap_or(usize::MAX),
        ))
    });
    req.extensions_mut().insert(BodyLimitBytes(limit));
    let access = rule.access;
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let authority = req.uri().authority().map(|a| a.as_str().to_string());
    if access == Access::FeedToken {
        // Reads only: the routes with this rule are GETs. Anything else is "not found" (before the
        // origin check): a refusal the security log counts would carry the path, and with it the
        // feed token.
        if unsafe_method {
            return refuse(api, WebError::NotFound, req);
        }
        return next.run(req).await;
    }
    if unsafe_method && !origin_ok(req.headers(), authority.as_deref()) {
        return refuse(api, WebError::CsrfFailed, req);
    }
    let Some(CurrentInstance(instance)) = req.extensions().get::<CurrentInstance>().cloned() else {
        return reject(
            api,
            WebError::Internal("instance routing did not run".into()),
        );
    };
    let ip = client_ip(req.extensions());
    let now = state.clock.now();
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    if let Some(token) = bearer {
        // Connected services: no cookie, so no CSRF exposure; only API routes accept tokens.
        if !api {
            return refuse(api, WebError::Forbidden, req);
        }
        let auth =
            match crate::auth::tokens::authenticate(&instance, &token, ip.to_string(), now).await {
                Ok(Some(t)) => t,
                Ok(None) => return refuse(api, WebError::Unauthenticated, req),
                Err(e) => return refuse(api, e.into(), req),
            };
        let info = Arc::new(SessionInfo::for_token(auth.service.clone(), auth.grants));
        let allowed = match access {
            Access::Public => true,
            Access::Pending
            | Access::Signed
            | Access::AccountAdmin
            | Access::Operator
            | Access::FeedToken => false,
            Access::Perm(p) => info.grants.allows(p),
            Access::AllOf(ps) => ps.iter().all(|p| info.grants.allows(*p)),
        };
        if !allowed {
            return refuse(api, WebError::Forbidden, req);
        }
        let mut req = req;
        req.extensions_mut().insert(Session(info));
        return next.run(req).await;
    }
    let session = match cookie(req.headers(), SESSION_COOKIE) {
        Some(token) => match signin::authenticate(&instance, &token, ip, now).await {
            Ok(s) => s.map(Arc::new),
            Err(e) => return refuse(api, e.into(), req),
        },
        None => None,
    };
    let allowed = match (access, &session) {
        (Access::Public, _) => Ok(()),
        // Answered above, before any credential is looked at.
        (Access::FeedToken, _) => Err(WebError::NotFound),
        (_, None) => Err(WebError::Unauthenticated),
        (Access::Pending, Some(_)) => Ok(()),
        (
            Access::Signed
            | Access::Perm(_)
            | Access::AllOf(_)
            | Access::AccountAdmin
            | Access::Operator,
            Some(s),
        ) if s.stage != "active" => {
            if !api && *req.method() == Method::GET {
                let to = match s.stage.as_str() {
                    "second_factor" => "/signin/code",
                    "enrol_verify" => "/signin/verify",
                    "totp_enrollment" => "/signin/enroll",
                    _ => "/signin/password",
                };
                return Redirect::to(to).into_response();
            }
            Err(WebError::Unauthenticated)
        }
        (Access::Signed, Some(_)) => Ok(()),
        (Access::Perm(p), Some(s)) => {
            if s.grants.allows(p) {
                Ok(())
            } else {
                Err(WebError::Forbidden)
            }
        }
        (Access::AllOf(ps), Some(s)) => {
            if ps.iter().all(|p| s.grants.allows(*p)) {
                Ok(())
            } else {
                Err(WebError::Forbidden)
            }
        }
        (Access::AccountAdmin, Some(s)) => {
            if s.grants.is_admin() && !s.support {
                Ok(())
            } else {
                Err(WebError::Forbidden)
            }
        }
        (Access::Operator, Some(s)) => {
            if s.grants.allows(Permission::Admin)
                && instance.name == crate::instances::DEFAULT_INSTANCE
            {
                Ok(())
            } else {
                Err(WebError::Forbidden)
            }
        }
    };
    if let Err(e) = allowed {
        if !api && matches!(e, WebError::Unauthenticated) && *req.method() == Method::GET {
            return Redirect::to("/signin").into_response();
        }
        return refuse(api, e, req);
    }
    let mut req = req;
    if unsafe_method {
        let expected = match &session {
            Some(s) => Some(s.csrf.clone()),
            None => cookie(req.headers(), PRE_COOKIE),
        };
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        if is_form {
            let (parts, body) = req.into_parts();
            let bytes = match axum::body::to_bytes(body, usize::MAX).await {
                Ok(b) => b,
                Err(e) if is_too_large(&e) => return reject(api, WebError::TooLarge { limit }),
                Err(_) => {
                    return reject(
                        api,
                        WebError::BadRequest("the form could not be read".into()),
                    );
                }
            };
            let given = form_field(&bytes, "csrf");
            let ok = match (&expected, &given) {
                (Some(e), Some(g)) => !e.is_empty() && crypto::ct_eq(e.as_bytes(), g.as_bytes()),
                _ => false,
            };
            if !ok {
                return reject(api, WebError::CsrfFailed);
            }
            req = Request::from_parts(parts, Body::from(bytes));
        } else if !is_json && session.is_some() {
            // Uploads and CSV: the token travels in a header (scripts) or, from a page's form, as
            // the first part of the multipart body. Never in the URL: an address ends up in
            // history, logs and screenshots.
            let header_token = req
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let boundary = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(multipart_boundary);
            let given = match (header_token, boundary) {
                (Some(t), _) => Some(t),
                (None, Some(boundary)) => {
                    let (parts, body) = req.into_parts();
                    let (token, body) = match take_csrf_part(body, &boundary, limit).await {
                        Ok(found) => found,
                        Err(e) => return reject(api, e),
                    };
                    req = Request::from_parts(parts, body);
                    token
                }
                (None, None) => None,
            };
            let ok = matches!((&expected, &given), (Some(e), Some(g)) if crypto::ct_eq(e.as_bytes(), g.as_bytes()));
            if !ok {
                return refuse(api, WebError::CsrfFailed, req);
            }
        }
    }
    if let Some(s) = session {
        req.extensions_mut().insert(Session(s));
    }
    next.run(req).await
}

/// The most of a multipart body read while looking for its leading `csrf` part: the part's headers
/// and the token are small, so a body whose first part is something else is not buffered.
const CSRF_PART_MAX: usize = 4096;

/// The boundary of a `multipart/form-data` content type, if it is one.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .split(';')
        .find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| v.trim().trim_matches('"').to_string())
        })
        // RFC 2046: 1 to 70 characters.
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

/// What the start of a multipart body says about a leading `csrf` part.
#[derive(Debug, PartialEq)]
enum CsrfScan {
    /// Not enough bytes yet to tell.
    More,
    /// The first part is not a `csrf` field (or the body is not well formed).
    Absent,
    /// The token, and where the delimiter after it ends (the rest of the body starts there).
    Token(String, usize),
}

/// Looks for a first part `Content-Disposition: form-data; name="csrf"` (no file name) at the very
/// start of `buf`, as browsers send a form whose first control is the hidden `csrf` input.
fn scan_csrf_part(buf: &[u8], boundary: &str) -> CsrfScan {
    let open = format!("--{boundary}\r\n");
    if buf.len() < open.len() {
        return if open.as_bytes().starts_with(buf) {
            CsrfScan::More
        } else {
            CsrfScan::Absent
        };
    }
    if !buf.starts_with(open.as_bytes()) {
        return CsrfScan::Absent;
    }
    let after_open = &buf[open.len()..];
    let Some(head_end) = find(after_open, b"\r\n\r\n") else {
        return more_unless_full(buf);
    };
    let head = String::from_utf8_lossy(&after_open[..head_end]);
    let is_csrf = head.split("\r\n").any(|line| {
        let Some((name, value)) = line.split_once(':') else {
            return false;
        };
        if !name.trim().eq_ignore_ascii_case("content-disposition") {
            return false;
        }
        let mut params = value.split(';').map(str::trim);
        params
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case("form-data"))
            && {
                let rest: Vec<&str> = params.collect();
                rest.contains(&"name=\"csrf\"")
                    && !rest
                        .iter()
                        .any(|p| p.to_ascii_lowercase().starts_with("filename"))
            }
    });
    if !is_csrf {
        return CsrfScan::Absent;
    }
    let value_at = open.len() + head_end + 4;
    let close = format!("\r\n--{boundary}");
    let Some(value_len) = find(&buf[value_at..], close.as_bytes()) else {
        return more_unless_full(buf);
    };
    match std::str::from_utf8(&buf[value_at..value_at + value_len]) {
        Ok(token) => CsrfScan::Token(token.to_string(), value_at + value_len + close.len()),
        Err(_) => CsrfScan::Absent,
    }
}

fn more_unless_full(buf: &[u8]) -> CsrfScan {
    if buf.len() >= CSRF_PART_MAX {
        CsrfScan::Absent
    } else {
        CsrfScan::More
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads the start of a multipart body (bounded by [`CSRF_PART_MAX`] plus one chunk) for a leading
/// `csrf` part. The body handed on has that part removed, so the handlers see only their own
/// fields; when there is no such part it is handed on unchanged, for the refusal to drain.
async fn take_csrf_part(
    mut body: Body,
    boundary: &str,
    limit: u64,
) -> Result<(Option<String>, Body), WebError> {
    use http_body_util::BodyExt;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match scan_csrf_part(&buf, boundary) {
            CsrfScan::Token(token, rest_at) => {
                let mut head = format!("--{boundary}").into_bytes();
                head.extend_from_slice(&buf[rest_at..]);
                return Ok((Some(token), Prefixed::body(head, body)));
            }
            CsrfScan::Absent => return Ok((None, Prefixed::body(buf, body))),
            CsrfScan::More => {}
        }
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                }
            }
            Some(Err(e)) if is_too_large(&e) => return Err(WebError::TooLarge { limit }),
            Some(Err(_)) => {
                return Err(WebError::BadRequest("the upload could not be read".into()));
            }
            None => return Ok((None, Prefixed::body(buf, body))),
        }
    }
}

/// A body whose first bytes were already read: those bytes, then the rest of the original.
struct Prefixed {
    head: Option<axum::body::Bytes>,
    inner: Body,
}

impl Prefixed {
    fn body(head: Vec<u8>, inner: Body) -> Body {
        Body::new(Prefixed {
            head: (!head.is_empty()).then(|| head.into()),
            inner,
        })
    }
}

impl http_body::Body for Prefixed {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Some(head) = self.head.take() {
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(head))));
        }
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.inner.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    const FORM: &[u8] = b"--b1\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok3n\r\n--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--b1--\r\n";

    #[test]
    fn the_boundary_is_read_from_a_multipart_content_type_only() {
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"x y\"").as_deref(),
            Some("x y")
        );
        assert_eq!(
            multipart_boundary("Multipart/Form-Data;boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(multipart_boundary("text/csv; boundary=abc"), None);
        assert_eq!(multipart_boundary("multipart/form-data"), None);
    }

    #[test]
    fn a_leading_csrf_part_is_found_and_anything_else_is_not() {
        assert_eq!(scan_csrf_part(&FORM[..10], "b1"), CsrfScan::More);
        match scan_csrf_part(FORM, "b1") {
            CsrfScan::Token(t, at) => {
                assert_eq!(t, "tok3n");
                assert!(
                    FORM[at..].starts_with(b"\r\nContent-Disposition: form-data; name=\"file\"")
                );
            }
            other => panic!("{other:?}"),
        }
        // A file part first, a file named csrf, another boundary: no token.
        let file_first = b"--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"csrf\"\r\n\r\nx\r\n--b1--\r\n";
        assert_eq!(scan_csrf_part(file_first, "b1"), CsrfScan::Absent);
        let csrf_file = b"--b1\r\nContent-Disposition: form-data; name=\"csrf\"; filename=\"t\"\r\n\r\nx\r\n--b1--\r\n";
        assert_eq!(scan_csrf_part(csrf_file, "b1"), CsrfScan::Absent);
        assert_eq!(scan_csrf_part(FORM, "b2"), CsrfScan::Absent);
        // A csrf part that never ends is not buffered past the bound.
        let mut endless = b"--b1\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n".to_vec();
        endless.resize(CSRF_PART_MAX, b'a');
        assert_eq!(scan_csrf_part(&endless, "b1"), CsrfScan::Absent);
    }

    #[tokio::test]
    async fn the_token_part_is_taken_out_and_the_rest_handed_on_intact() {
        // Split into small chunks, as a network delivers it.
        let body = FORM
            .chunks(7)
            .rev()
            .fold(Body::empty(), |rest, c| Prefixed::body(c.to_vec(), rest));
        let (token, rest) = take_csrf_part(body, "b1", 1 << 20).await.unwrap();
        assert_eq!(token.as_deref(), Some("tok3n"));
        let rest = rest.collect().await.unwrap().to_bytes();
        assert_eq!(
            &rest[..],
            &b"--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--b1--\r\n"[..]
        );

        let other = b"--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx\r\n--b1--\r\n";
        let (token, rest) = take_csrf_part(Body::from(&other[..]), "b1", 1 << 20)
            .await
            .unwrap();
        assert_eq!(token, None);
        assert_eq!(&rest.collect().await.unwrap().to_bytes()[..], &other[..]);
    }
}
