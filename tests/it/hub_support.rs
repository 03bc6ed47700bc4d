//! Helpers for the business-hub tests (`hub.rs`): a server in its own data dir (optionally with a
//! config file), console commands, API callers that authenticate with a bearer token or with a
//! session cookie (+ CSRF token where the guard wants one), byte-exact responses, multipart bodies,
//! CSV parsing and small HTML probes.

// Not every test uses every helper.
#![allow(dead_code)]

use crate::app::TestApp;
use crate::support::*;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;

pub use crate::app::{ADMIN, ADMIN_PW};
pub const USER_PW: &str = "velvet horse battery staple 42";

/// Every module scope (what `docs/api.md` assumes for its examples).
pub const ALL_SCOPES: &str = "clients:read,clients:write,contacts:read,contacts:write,projects:read,projects:write,tasks:read,tasks:write,time:read,time:write,invoices:read,invoices:write,documents:read,documents:write";

/// A response with its body kept byte for byte (downloads) and as text.
#[derive(Debug, Clone)]
pub struct R {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub bytes: Vec<u8>,
    pub body: String,
}

impl R {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    }

    /// The body as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status, self.body
            )
        })
    }

    /// `error.code` of a JSON error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error.code in {}", self.body))
            .to_string()
    }

    pub fn id(&self) -> i64 {
        self.json()["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
    }
}

/// A hub test's app: the server with the first administrator (`root`) in place.
pub struct Env {
    pub app: TestApp,
}

impl std::ops::Deref for Env {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Env {
    /// A fresh server with the first administrator (`root`) in place.
    pub fn start() -> Env {
        Self::with_config(None)
    }

    /// Like [`Env::start`] with a `holdfast.toml` of the given text (passed with `--config`).
    pub fn with_config(toml: Option<&str>) -> Env {
        let mut b = TestApp::builder().with_admin();
        if let Some(t) = toml {
            b = b.config(t);
        }
        Env { app: b.start() }
    }

    /// The directory where the default instance keeps its encrypted document files.
    pub fn files_dir(&self) -> PathBuf {
        self.data().join("instances/default/files")
    }

    // ---- console -----------------------------------------------------------------------------

    pub fn add_user(&self, name: &str, group: &str, password: &str) {
        self.app.add_user(name, &[group], password);
    }

    /// `admin token create`: (token id, token).
    pub fn token(&self, service: &str, scopes: &str) -> (i64, String) {
        let out = self.ok(&[
            "admin",
            "token",
            "create",
            "--service",
            service,
            "--scopes",
            scopes,
        ]);
        let id = out
            .split('#')
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no token id in {out}"));
        let token = out
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("hft_"))
            .unwrap_or_else(|| panic!("no token in {out}"))
            .to_string();
        (id, token)
    }

    /// The security log rows of one event type (`admin audit --json --type T`).
    pub fn audit(&self, event: &str) -> Vec<Value> {
        self.audit_json(&["--type", event])
    }

    // ---- HTTP --------------------------------------------------------------------------------

    /// One HTTPS request on a fresh connection; the body is kept byte for byte.
    pub async fn fetch(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> R {
        let tls = self.client.tls().await.expect("TLS handshake");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = self.request(method, path, headers, body);
        read_answer(sender.send_request(req).await.unwrap())
            .await
            .unwrap()
    }

    /// An HTTP/1.1 request (`Host` header) with the given headers and body.
    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> hyper::Request<Full<Bytes>> {
        let mut req = hyper::Request::builder().method(method).uri(uri);
        if !uri.starts_with("https://") {
            req = req.header("host", &self.host);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.body(Full::new(Bytes::copy_from_slice(body))).unwrap()
    }

    /// The same request twice on one HTTP/1.1 connection: both statuses, or the transport error.
    /// A server that answers without reading the body must close the connection (it cannot find
    /// where the next request starts), so the second request fails.
    pub async fn fetch_twice(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, u16), String> {
        let tls = self.client.tls().await.map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut statuses = Vec::new();
        for n in ["first", "second"] {
            sender
                .ready()
                .await
                .map_err(|e| format!("{n} request: connection: {e}"))?;
            let resp = sender
                .send_request(self.request(method, path, headers, body))
                .await
                .map_err(|e| format!("{n} request: {e}"))?;
            statuses.push(resp.status().as_u16());
            resp.into_body()
                .collect()
                .await
                .map_err(|e| format!("{n} answer: {e}"))?;
        }
        Ok((statuses[0], statuses[1]))
    }

    /// One request over HTTP/2 on a fresh connection (ALPN h2), the body sent as DATA frames;
    /// a transport error (a reset stream, a closed connection) is returned, not a panic.
    pub async fn fetch_h2(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<R, String> {
        let mut cfg = (*client_config(&self.ca_pem, rustls::ALL_VERSIONS)).clone();
        cfg.alpn_protocols = vec![b"h2".to_vec()];
        let tcp = tokio::net::TcpStream::connect(self.server.addr)
            .await
            .map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg))
            .connect(
                rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                tcp,
            )
            .await
            .map_err(|e| e.to_string())?;
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let (mut sender, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            TokioIo::new(tls),
        )
        .await
        .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        // HTTP/2 carries the host in the URI (`:authority`), not in a `Host` header.
        let uri = format!("https://{}{path}", self.host);
        let resp = sender
            .send_request(self.request(method, &uri, headers, body))
            .await
            .map_err(|e| format!("sending: {e}"))?;
        read_answer(resp).await
    }

    pub fn bearer(&self, token: &str) -> Caller<'_> {
        Caller {
            env: self,
            auth: Auth::Token(token.to_string()),
        }
    }

    /// A caller with a fresh token that has every module scope (no admin).
    pub fn full_token(&self) -> Caller<'_> {
        let (_, t) = self.token("test-integration", ALL_SCOPES);
        self.bearer(&t)
    }

    pub fn anonymous(&self) -> Caller<'_> {
        Caller {
            env: self,
            auth: Auth::None,
        }
    }

    /// Signs in with the JSON API; the caller carries the session cookie and CSRF token.
    pub async fn session(&self, user: &str, password: &str) -> Caller<'_> {
        let body = json!({ "username": user, "password": password }).to_string();
        let r = self
            .fetch(
                "POST",
                "/api/v1/session",
                &[("content-type", "application/json")],
                body.as_bytes(),
            )
            .await;
        assert_eq!(r.status, 200, "sign-in of {user}: {}", r.body);
        let j = r.json();
        assert_eq!(j["status"], "signed_in", "{}", r.body);
        let csrf = j["csrf_token"].as_str().expect("csrf_token").to_string();
        let cookie = r
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|l| {
                l.split(';')
                    .next()
                    .and_then(|kv| kv.split_once('='))
                    .filter(|(k, v)| *k == SESSION && !v.is_empty())
                    .map(|(_, v)| v.to_string())
            })
            .expect("a session cookie");
        Caller {
            env: self,
            auth: Auth::Session { cookie, csrf },
        }
    }

    pub async fn admin(&self) -> Caller<'_> {
        self.session(ADMIN, ADMIN_PW).await
    }
}

#[derive(Clone)]
pub enum Auth {
    None,
    Token(String),
    Session { cookie: String, csrf: String },
}

pub struct Caller<'a> {
    pub env: &'a Env,
    pub auth: Auth,
}

impl Caller<'_> {
    pub fn csrf(&self) -> String {
        match &self.auth {
            Auth::Session { csrf, .. } => csrf.clone(),
            _ => panic!("not a session"),
        }
    }

    fn auth_headers(&self, csrf_header: bool) -> Vec<(String, String)> {
        match &self.auth {
            Auth::None => vec![],
            Auth::Token(t) => vec![("authorization".into(), format!("Bearer {t}"))],
            Auth::Session { cookie, csrf } => {
                let mut h = vec![("cookie".into(), format!("{SESSION}={cookie}"))];
                if csrf_header {
                    h.push(("x-csrf-token".into(), csrf.clone()));
                }
                h
            }
        }
    }

    /// A request with this caller's credentials plus `extra` headers. `csrf_header`: send the
    /// session's CSRF token as `x-csrf-token` (sessions only).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: &[u8],
        csrf_header: bool,
    ) -> R {
        let owned = self.auth_headers(csrf_header);
        let mut h: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        h.extend_from_slice(extra);
        self.env.fetch(method, path, &h, body).await
    }

    pub async fn get(&self, path: &str) -> R {
        self.send("GET", path, &[], b"", false).await
    }

    /// A JSON API call (`content-type: application/json`; no CSRF header: JSON needs none).
    pub async fn json(&self, method: &str, path: &str, body: Option<Value>) -> R {
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        self.send(
            method,
            path,
            &[("content-type", "application/json")],
            bytes.as_bytes(),
            false,
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> R {
        self.json("POST", path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> R {
        self.json("PATCH", path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> R {
        self.send("DELETE", path, &[], b"", true).await
    }

    /// POST /api/v1/<slug> that must answer 201; the created record.
    pub async fn create(&self, slug: &str, body: Value) -> Value {
        let r = self.post(&format!("/api/v1/{slug}"), body.clone()).await;
        assert_eq!(r.status, 201, "create {slug} {body}: {}", r.body);
        r.json()
    }

    /// `create`, for the new record's id.
    pub async fn create_id(&self, slug: &str, body: Value) -> i64 {
        let created = self.create(slug, body).await;
        created["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id in {created}"))
    }

    /// Every record of a module (one page of up to 500), newest first.
    pub async fn all(&self, slug: &str, query: &str) -> Vec<Value> {
        let sep = if query.is_empty() { "" } else { "&" };
        let r = self
            .get(&format!("/api/v1/{slug}?limit=500{sep}{query}"))
            .await;
        assert_eq!(r.status, 200, "list {slug}?{query}: {}", r.body);
        r.json()["items"].as_array().unwrap().clone()
    }

    pub async fn count(&self, slug: &str) -> usize {
        self.all(slug, "").await.len()
    }

    /// CSV import (`text/csv`, CSRF header for sessions).
    pub async fn import(&self, slug: &str, csv: &str, dry_run: bool) -> R {
        let q = if dry_run { "?dry_run=true" } else { "" };
        self.send(
            "POST",
            &format!("/api/v1/{slug}/import{q}"),
            &[("content-type", "text/csv")],
            csv.as_bytes(),
            true,
        )
        .await
    }

    /// Multipart upload of one file to the document API.
    pub async fn upload(&self, doc: i64, filename: &str, bytes: &[u8], csrf: bool) -> R {
        let (ct, body) = multipart("file", filename, "application/octet-stream", bytes);
        self.send(
            "POST",
            &format!("/api/v1/documents/{doc}/file"),
            &[("content-type", &ct)],
            &body,
            csrf,
        )
        .await
    }

    /// An urlencoded form POST from a signed-in browser: cookie + the `csrf` field.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> R {
        let csrf = self.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let body = serde_urlencoded::to_string(&all).unwrap();
        self.send(
            "POST",
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
            false,
        )
        .await
    }
}

// ---- free helpers -----------------------------------------------------------------------------

/// A multipart/form-data body with one file field: (content type, body).
/// Status, headers and the whole body of an answer; a broken body is the error.
async fn read_answer(resp: hyper::Response<hyper::body::Incoming>) -> Result<R, String> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer ({status}): {e}"))?
        .to_bytes()
        .to_vec();
    Ok(R {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    })
}

pub fn multipart(field: &str, filename: &str, ctype: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----holdfast-it-boundary-Zq3xW8v1";
    let mut body = Vec::new();
    write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n"
    )
    .unwrap();
    body.extend_from_slice(bytes);
    write!(body, "\r\n--{boundary}--\r\n").unwrap();
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A multipart body as a page's upload form sends it: the hidden `csrf` field first, then the file.
pub fn multipart_form(
    csrf: &str,
    field: &str,
    filename: &str,
    ctype: &str,
    bytes: &[u8],
) -> (String, Vec<u8>) {
    let (ct, file) = multipart(field, filename, ctype, bytes);
    let boundary = ct.rsplit('=').next().unwrap_or_default().to_string();
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
            .into_bytes();
    body.extend_from_slice(&file);
    (ct, body)
}

/// A CSV text as rows of cells (header row included).
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The cell of column `name` in every data row.
pub fn csv_column(text: &str, name: &str) -> Vec<String> {
    let rows = csv_rows(text);
    let i = rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", rows[0]));
    rows[1..].iter().map(|r| r[i].clone()).collect()
}

/// A record without the columns holdfast stamps itself (for comparing copies).
pub fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        for k in ["created_at", "updated_at", "version"] {
            m.remove(k);
        }
    }
    v
}

pub fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|v| v["id"].as_i64().unwrap()).collect()
}

pub fn strings(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|v| v[field].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The `<label …>…</label>` of a form page that holds the control named `name`.
pub fn label_of(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\"");
    html.split("<label")
        .skip(1)
        .map(|chunk| chunk.split("</label>").next().unwrap_or(""))
        .find(|chunk| chunk.contains(&needle))
        .unwrap_or_else(|| panic!("no label around {needle}"))
        .to_string()
}

/// The value of the hidden `<input name="NAME" value="…">` in a page chunk.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    html.split('<')
        .filter(|tag| tag.starts_with("input") && tag.contains(&needle))
        .find_map(|tag| {
            tag.split("value=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(str::to_string)
        })
}

/// The security headers every page must carry.
pub fn assert_security_headers(r: &R, what: &str) {
    let hsts = r.header("strict-transport-security");
    assert!(hsts.contains("max-age="), "{what}: HSTS `{hsts}`");
    let csp = r.header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{what}: CSP `{csp}`"
    );
    assert_eq!(r.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(r.header("x-frame-options"), "DENY", "{what}");
    assert_eq!(r.header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(r.header("cache-control"), "no-store", "{what}");
}

/// `holdfast routes` as (method, path).
pub fn route_table() -> Vec<(String, String)> {
    let mut cmd = crate::app::bin_command(std::path::Path::new(BIN));
    cmd.arg("routes");
    let out = crate::app::run_with_stdin(cmd, "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut p = l.split_whitespace();
            (p.next().unwrap().to_string(), p.next().unwrap().to_string())
        })
        .collect()
}

/// A group with exactly these permissions, made on the admin pages.
pub async fn group(admin: &Caller<'_>, name: &str, perms: &[&str]) {
    let r = admin
        .form(
            "/admin/groups",
            &[("name", name), ("description", "made by a test")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fields: Vec<(&str, &str)> = perms.iter().map(|p| ("perm", *p)).collect();
    let r = admin
        .form(&format!("/admin/groups/{name}/permissions"), &fields)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
