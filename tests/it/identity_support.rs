//! Helpers for the identity tests: a server in its own data dir (optionally with a real SMTP sink),
//! console commands with stdin, JSON sign-in, cookies, hidden form fields, the security log, e-mailed
//! codes, and HTTPS requests from a chosen loopback source address (127.0.0.2, …) so that tests can
//! act as a second client host.

// Not every test uses every helper.
#![allow(dead_code)]

use crate::app::TestApp;
use crate::smtp_sink::Received;
use crate::support::*;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::Duration;

pub const PRE: &str = "__Host-hf_pre";

/// The first administrator most tests create; the lock and unlock e-mails go to this address.
pub use crate::app::{ADMIN, ADMIN_EMAIL, ADMIN_PW};

/// How long e-mail may take to reach the sink (the sender is woken right after the commit).
pub const MAIL_WAIT: Duration = Duration::from_secs(20);

/// An identity test's app: a server without an administrator yet (tests add one when their story
/// needs it), optionally with a mail sink.
pub struct Hub {
    pub app: TestApp,
}

impl std::ops::Deref for Hub {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Hub {
    /// A server without mail.
    pub fn start() -> Hub {
        Hub {
            app: TestApp::builder().start(),
        }
    }

    /// A server whose `[mail]` points at a fresh plain-SMTP sink; console commands get the same config.
    pub fn with_mail() -> Hub {
        Hub {
            app: TestApp::builder().with_mail().start(),
        }
    }

    // ---- console -------------------------------------------------------------------------

    pub fn policy(&self, assignment: &str) {
        self.ok(&["admin", "policy", "set", assignment]);
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
        self.audit_json(&[])
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
        self.client
            .with_source(source)
            .request(method, &self.host, path, headers, body)
            .await
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
