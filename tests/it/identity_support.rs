//! Helpers for the identity tests: a server in its own data dir (optionally with a real SMTP sink),
//! console commands with stdin, JSON sign-in, cookies, hidden form fields, the security log, e-mailed
//! codes, and HTTPS requests from a chosen loopback source address (127.0.0.2, …) so that tests can
//! act as a second client host.

// Not every test uses every helper.
#![allow(dead_code)]

use crate::smtp_sink::{Received, SmtpSink};
use crate::support::*;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::{Value, json};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

pub const PRE: &str = "__Host-hf_pre";

/// The first administrator most tests create; the lock and unlock e-mails go to this address.
pub const ADMIN: &str = "root";
pub const ADMIN_EMAIL: &str = "root@example.test";
pub const ADMIN_PW: &str = "correct horse battery staple 41";

/// How long e-mail may take to reach the sink (the sender is woken right after the commit).
pub const MAIL_WAIT: Duration = Duration::from_secs(20);

pub struct Hub {
    // Field order is drop order: the server stops before its data dir is removed.
    pub server: Server,
    pub client: Client,
    pub sink: Option<SmtpSink>,
    config: Option<PathBuf>,
    /// `Host` header sent with every request (`localhost:<port>`, as a browser would send it).
    pub host: String,
    /// The matching same-origin `Origin` value.
    pub origin: String,
    ca_pem: Vec<u8>,
    pub dir: tempfile::TempDir,
}

impl Hub {
    /// A server without mail.
    pub fn start() -> Hub {
        Self::launch(false)
    }

    /// A server whose `[mail]` points at a fresh plain-SMTP sink; console commands get the same config.
    pub fn with_mail() -> Hub {
        Self::launch(true)
    }

    fn launch(mail: bool) -> Hub {
        let dir = data_dir();
        let (sink, config) = if mail {
            let sink = SmtpSink::start();
            let path = dir.path().join("holdfast.toml");
            std::fs::write(
                &path,
                format!(
                    "[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"none\"\nfrom = \"holdfast@example.test\"\n",
                    sink.addr().port()
                ),
            )
            .unwrap();
            (Some(sink), Some(path))
        } else {
            (None, None)
        };
        let mut args = Vec::new();
        if let Some(c) = &config {
            args.push("--config".to_string());
            args.push(c.display().to_string());
        }
        let server = Server::launch(
            dir.path(),
            Launch {
                args,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("server did not start: {e}"));
        let client = server.client();
        let ca_pem = std::fs::read(dir.path().join("tls/cert.pem")).unwrap();
        let host = format!("localhost:{}", server.addr.port());
        let origin = format!("https://{host}");
        Hub {
            server,
            client,
            sink,
            config,
            host,
            origin,
            ca_pem,
            dir,
        }
    }

    // ---- console -------------------------------------------------------------------------

    /// `holdfast [--config …] --data-dir … <args>` with `stdin` fed to the process.
    pub fn console_in(&self, args: &[&str], stdin: &str) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir").arg(self.dir.path());
        if let Some(c) = &self.config {
            cmd.arg("--config").arg(c);
        }
        let mut child = cmd
            .args(args)
            .env_remove("HOLDFAST_CONFIG")
            .env_remove("HOLDFAST_DATA_DIR")
            .env_remove("HOLDFAST_INSTANCE")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn console(&self, args: &[&str]) -> Output {
        self.console_in(args, "")
    }

    /// Runs a console command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.console(args);
        assert!(
            out.status.success(),
            "`holdfast {}` failed:\n{}{}",
            args.join(" "),
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Runs a console command that must fail; returns stdout + stderr.
    pub fn refused(&self, args: &[&str]) -> String {
        let out = self.console(args);
        assert!(
            !out.status.success(),
            "`holdfast {}` should have been refused but succeeded:\n{}",
            args.join(" "),
            text(&out.stdout)
        );
        format!("{}{}", text(&out.stdout), text(&out.stderr))
    }

    pub fn policy(&self, assignment: &str) {
        self.ok(&["admin", "policy", "set", assignment]);
    }

    /// Creates a user with a chosen password (`--password-stdin`); e-mail is `<name>@example.test`.
    pub fn add_user(&self, name: &str, groups: &[&str], password: &str) {
        let email = format!("{name}@example.test");
        let mut args = vec!["admin", "user", "add", name, "--email", &email];
        for g in groups {
            args.extend(["--group", g]);
        }
        args.push("--password-stdin");
        let out = self.console_in(&args, &format!("{password}\n"));
        assert!(
            out.status.success(),
            "adding `{name}` failed: {}",
            text(&out.stderr)
        );
    }

    pub fn add_admin(&self) {
        let out = self.console_in(
            &[
                "admin",
                "user",
                "add",
                ADMIN,
                "--email",
                ADMIN_EMAIL,
                "--group",
                "admins",
                "--password-stdin",
            ],
            &format!("{ADMIN_PW}\n"),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }

    /// Creates a user without `--password-stdin`; returns the printed temporary password.
    pub fn add_temp_user(&self, name: &str, groups: &[&str]) -> String {
        let email = format!("{name}@example.test");
        let mut args = vec!["admin", "user", "add", name, "--email", &email];
        for g in groups {
            args.extend(["--group", g]);
        }
        temporary_password(&self.ok(&args))
    }

    /// `admin user list`: the STATE column of `name` (e.g. "active", "locked").
    pub fn user_state(&self, name: &str) -> String {
        let list = self.ok(&["admin", "user", "list"]);
        list.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("`{name}` not in the user list:\n{list}"))
            .to_string()
    }

    pub fn user_exists(&self, name: &str) -> bool {
        self.ok(&["admin", "user", "list"])
            .lines()
            .any(|l| l.split_whitespace().next() == Some(name))
    }

    /// The whole security log, oldest first, from `admin audit --json`.
    pub fn audit(&self) -> Vec<Value> {
        self.ok(&["admin", "audit", "--json", "--limit", "100000"])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Rows of one event type (optionally for one target).
    pub fn audit_rows(&self, event: &str, target: Option<&str>) -> Vec<Value> {
        self.audit()
            .into_iter()
            .filter(|r| r["event"] == event)
            .filter(|r| target.is_none_or(|t| r["target"] == t))
            .collect()
    }

    // ---- HTTP ----------------------------------------------------------------------------

    pub async fn req(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        self.client
            .request(method, &self.host, path, headers, body)
            .await
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        let c = cookie.map(|c| format!("{SESSION}={c}"));
        let mut h = Vec::new();
        if let Some(c) = &c {
            h.push(("cookie", c.as_str()));
        }
        self.req("GET", path, &h, b"").await
    }

    /// A JSON API call; `cookie` is the session token.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let c = cookie.map(|c| format!("{SESSION}={c}"));
        let mut h = vec![("content-type", "application/json")];
        if let Some(c) = &c {
            h.push(("cookie", c.as_str()));
        }
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        self.req(method, path, &h, bytes.as_bytes()).await
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> Resp {
        self.api(
            "POST",
            "/api/v1/session",
            None,
            Some(json!({ "username": username, "password": password })),
        )
        .await
    }

    /// Signs in with the JSON API and insists on a full session; returns its cookie value.
    pub async fn signed_in(&self, username: &str, password: &str) -> String {
        let r = self.sign_in(username, password).await;
        assert_eq!(r.status, 200, "sign-in of {username}: {}", r.body);
        assert_eq!(json_of(&r)["status"], "signed_in", "{}", r.body);
        session_cookie(&r).expect("a session cookie")
    }

    pub async fn whoami(&self, cookie: &str) -> Resp {
        self.get("/api/v1/session", Some(cookie)).await
    }

    /// POST /api/v1/session/second-factor with the pending session's cookie.
    pub async fn code(&self, cookie: &str, code: &str) -> Resp {
        self.api(
            "POST",
            "/api/v1/session/second-factor",
            Some(cookie),
            Some(json!({ "code": code })),
        )
        .await
    }

    /// POST /api/v1/session/password.
    pub async fn change_password(&self, cookie: &str, current: Option<&str>, new: &str) -> Resp {
        let body = match current {
            Some(c) => json!({ "current_password": c, "new_password": new }),
            None => json!({ "new_password": new }),
        };
        self.api("POST", "/api/v1/session/password", Some(cookie), Some(body))
            .await
    }

    /// POST of an urlencoded form with the given cookie header.
    pub async fn form(
        &self,
        path: &str,
        cookies: &str,
        fields: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Resp {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let mut h = vec![("content-type", "application/x-www-form-urlencoded")];
        if !cookies.is_empty() {
            h.push(("cookie", cookies));
        }
        h.extend_from_slice(extra);
        self.req("POST", path, &h, body.as_bytes()).await
    }

    /// An HTTPS request whose TCP connection starts from `source` (any 127.0.0.0/8 address works
    /// on Linux), so the server sees another client address.
    pub async fn req_from(
        &self,
        source: IpAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(source, 0)).unwrap();
        let tcp = socket.connect(self.server.addr).await.unwrap();
        let config: Arc<rustls::ClientConfig> = client_config(&self.ca_pem, rustls::ALL_VERSIONS);
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = sender
            .send_request(req.body(Full::new(Bytes::copy_from_slice(body))).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    pub async fn sign_in_from(&self, source: IpAddr, username: &str, password: &str) -> Resp {
        let body = json!({ "username": username, "password": password }).to_string();
        self.req_from(
            source,
            "POST",
            "/api/v1/session",
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await
    }

    // ---- mail ----------------------------------------------------------------------------

    pub fn sink(&self) -> &SmtpSink {
        self.sink.as_ref().expect("this hub has no mail sink")
    }

    /// Waits for a message to `to` whose subject contains `subject_part`.
    pub fn wait_mail(&self, to: &str, subject_part: &str) -> Received {
        let to = to.to_string();
        let part = subject_part.to_string();
        self.sink()
            .wait_for(
                |m| {
                    m.to.iter().any(|t| t.eq_ignore_ascii_case(&to))
                        && m.subject().unwrap_or_default().contains(&part)
                },
                MAIL_WAIT,
            )
            .unwrap_or_else(|| {
                panic!(
                    "no mail to {to} about `{part}`; sink holds: {:#?}",
                    self.sink()
                        .messages()
                        .iter()
                        .map(|m| (m.to.clone(), m.subject()))
                        .collect::<Vec<_>>()
                )
            })
    }

    /// The `index`-th (0-based) sign-in or enrolment code mailed to `to`, waiting for it to arrive.
    pub fn wait_code(&self, to: &str, index: usize) -> String {
        let deadline = std::time::Instant::now() + MAIL_WAIT;
        loop {
            let codes: Vec<String> = self
                .sink()
                .messages()
                .iter()
                .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
                .filter(|m| {
                    let subject = m.subject().unwrap_or_default();
                    subject.contains("sign-in code")
                        || subject.contains("set up your second factor")
                })
                .map(|m| code_in(&m.body()).expect("a 6-digit code in the mail"))
                .collect();
            if let Some(c) = codes.get(index) {
                return c.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "sign-in code #{index} to {to} never arrived (have {})",
                codes.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

// ---- free helpers --------------------------------------------------------------------------

pub fn json_of(r: &Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body))
}

/// The value of the `<input … name="NAME" … value="…">` in a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
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

/// The first run of exactly six digits in a text (the e-mailed code).
pub fn code_in(body: &str) -> Option<String> {
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return Some(chars[start..i].iter().collect());
            }
        } else {
            i += 1;
        }
    }
    None
}

/// A six-digit code guaranteed to differ from `code`.
pub fn wrong_code(code: &str, salt: u32) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1 + salt) % 1_000_000)
}

/// The temporary password from console output (the text after the last ": " on its line).
pub fn temporary_password(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.contains("temporary password"))
        .and_then(|l| l.rsplit(": ").next())
        .map(|p| p.trim().to_string())
        .unwrap_or_else(|| panic!("no temporary password in:\n{stdout}"))
}

/// `holdfast routes` as (method, path, access).
pub fn routes(hub: &Hub) -> Vec<(String, String, String)> {
    hub.ok(&["routes"])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let method = parts.next().unwrap().to_string();
            let path = parts.next().unwrap().to_string();
            let access = parts.collect::<Vec<_>>().join(" ");
            (method, path, access)
        })
        .collect()
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The one body every failed sign-in gets (taken from an unknown user name).
pub async fn failure_body(hub: &Hub) -> String {
    let r = hub
        .sign_in("nobody-by-that-name", "no such user staple 00")
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    r.body
}
