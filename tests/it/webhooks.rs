//! Outbound webhooks end to end: a receiver on 127.0.0.1 checks every Standard Webhooks signature
//! with its own HMAC code (independent of holdfast's), the queue survives a receiver outage and a
//! SIGKILL of holdfast without losing or reordering events, scopes keep other modules' bodies home,
//! and only administrators see or change endpoints.

use crate::app::{ADMIN_EMAIL, Launch, Server};
use crate::hub_support::*;
use crate::support::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Fast retries so that an outage of a few hundred milliseconds is ridden out quickly.
const CONFIG: &str =
    "[webhooks]\nretry_first_ms = 50\nretry_max_ms = 300\npoll_ms = 50\ntimeout_seconds = 2\n";
const WAIT: Duration = Duration::from_secs(60);

const DOWN: u8 = 0;
const UP: u8 = 1;
/// Reads the request and never answers: holdfast is "mid-delivery".
const HANG: u8 = 2;

#[derive(Debug, Clone)]
struct Got {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    /// What the receiver answered (0: nothing, it hung).
    answered: u16,
}

/// A webhook receiver on 127.0.0.1:0 that records every request and answers as `mode` says.
struct Receiver {
    url: String,
    mode: Arc<AtomicU8>,
    got: Arc<Mutex<Vec<Got>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start(mode: u8) -> Receiver {
        Self::launch(mode, None).await
    }

    /// The same receiver over https, with a certificate for 127.0.0.1 from a test CA; returns the
    /// CA's PEM for holdfast's `[webhooks] ca_file`.
    async fn start_tls(mode: u8) -> (Receiver, String) {
        let (acceptor, ca_pem) = crate::smtp_sink::tls_acceptor();
        (Self::launch(mode, Some(acceptor)).await, ca_pem)
    }

    async fn launch(mode: u8, tls: Option<tokio_rustls::TlsAcceptor>) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}/hook", listener.local_addr().unwrap());
        let mode = Arc::new(AtomicU8::new(mode));
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let (m, g) = (Arc::clone(&mode), Arc::clone(&got));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (m, g) = (Arc::clone(&m), Arc::clone(&g));
                let tls = tls.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let (m, g) = (Arc::clone(&m), Arc::clone(&g));
                            async move {
                                let h = |n: &str| {
                                    req.headers()
                                        .get(n)
                                        .and_then(|v| v.to_str().ok())
                                        .unwrap_or("")
                                        .to_string()
                                };
                                let (id, timestamp, signature) = (
                                    h("webhook-id"),
                                    h("webhook-timestamp"),
                                    h("webhook-signature"),
                                );
                                let body = req.into_body().collect().await.unwrap().to_bytes();
                                let mode = m.load(Ordering::SeqCst);
                                let answered = match mode {
                                    UP => 200,
                                    DOWN => 503,
                                    _ => 0,
                                };
                                g.lock().unwrap().push(Got {
                                    id,
                                    timestamp,
                                    signature,
                                    body: String::from_utf8_lossy(&body).into_owned(),
                                    answered,
                                });
                                if mode == HANG {
                                    tokio::time::sleep(Duration::from_secs(3600)).await;
                                }
                                Ok::<_, std::convert::Infallible>(
                                    hyper::Response::builder()
                                        .status(answered.max(200))
                                        .body(Full::new(Bytes::from_static(b"thanks")))
                                        .unwrap(),
                                )
                            }
                        },
                    );
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(acceptor) => {
                            if let Ok(s) = acceptor.accept(stream).await {
                                let _ = http.serve_connection(TokioIo::new(s), svc).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                        }
                    }
                });
            }
        });
        Receiver {
            url,
            mode,
            got,
            task,
        }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn all(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Requests answered 2xx, in arrival order.
    fn accepted(&self) -> Vec<Got> {
        self.all()
            .into_iter()
            .filter(|g| g.answered == 200)
            .collect()
    }

    async fn wait_accepted(&self, n: usize) -> Vec<Got> {
        let ok = eventually(WAIT, || async { self.accepted().len() >= n }).await;
        assert!(
            ok,
            "only {} of {n} events arrived: {:?}",
            self.accepted().len(),
            self.all()
        );
        self.accepted()
    }
}

/// Standard Webhooks verification written from the specification, not from holdfast's code.
fn verify(secret: &str, g: &Got) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|s| B64.decode(s).ok())
    else {
        return false;
    };
    let Ok(ts) = g.timestamp.parse::<i64>() else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if (now - ts).abs() > 300 {
        return false;
    }
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", g.id, g.timestamp, g.body).as_bytes());
    let expected = B64.encode(mac.finalize().into_bytes());
    g.signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == expected)
}

/// Verifies each request with the Standard Webhooks reference library (npm `standardwebhooks`,
/// pinned and installed by `tests/tools/standardwebhooks`), run by Node: one verdict per request.
fn reference_verdicts(secret: &str, got: &[Got]) -> Vec<bool> {
    let tool =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/standardwebhooks");
    let out = std::process::Command::new("bash")
        .arg(&tool)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tests/tools/standardwebhooks failed (npm needed: bash tests/run --setup-only): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let modules = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let input: Vec<Value> = got
        .iter()
        .map(|g| {
            json!({ "secret": secret, "body": g.body, "headers": {
                "webhook-id": g.id, "webhook-timestamp": g.timestamp,
                "webhook-signature": g.signature } })
        })
        .collect();
    let script = r#"
        const { Webhook } = require("standardwebhooks");
        const all = JSON.parse(require("fs").readFileSync(0, "utf8"));
        console.log(JSON.stringify(all.map((m) => {
            try { new Webhook(m.secret).verify(m.body, m.headers); return true; }
            catch (e) { return false; }
        })));
    "#;
    let mut child = std::process::Command::new("node")
        .args(["-e", script])
        .env("NODE_PATH", &modules)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node (apt-get install nodejs; tests/run installs it)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(Value::Array(input).to_string().as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `admin webhook add`: (id, secret).
fn add(env: &Env, url: &str, events: &str, scopes: &str) -> (i64, String) {
    let out = env.ok(&[
        "admin",
        "webhook",
        "add",
        "--url",
        url,
        "--events",
        events,
        "--scopes",
        scopes,
        "--allow-http",
    ]);
    let id = out
        .split('#')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no id in {out}"));
    let secret = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("whsec_"))
        .unwrap_or_else(|| panic!("no secret in {out}"))
        .to_string();
    (id, secret)
}

fn body(g: &Got) -> Value {
    serde_json::from_str(&g.body).unwrap_or_else(|e| panic!("{e}: {}", g.body))
}

/// Distinct webhook ids in the order they were first accepted, with how often each was accepted.
fn first_arrivals(got: &[Got]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for g in got {
        match out.iter_mut().find(|(id, _)| *id == g.id) {
            Some((_, n)) => *n += 1,
            None => out.push((g.id.clone(), 1)),
        }
    }
    out
}

#[tokio::test]
async fn events_arrive_signed_once_and_in_order_after_an_outage() {
    let env = Env::with_config(Some(CONFIG));
    let rx = Receiver::start(DOWN).await;
    let (_, secret) = add(&env, &rx.url, "*", "clients:read");
    let api = env.full_token();
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            api.create_id("clients", json!({ "name": format!("Hooked {n}") }))
                .await,
        );
    }
    let r = api
        .patch(
            &format!("/api/v1/clients/{}", ids[1]),
            json!({ "notes": "changed" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api.delete(&format!("/api/v1/clients/{}", ids[4])).await;
    assert!(r.status < 300, "{}", r.body);
    // The receiver is down: holdfast keeps trying the first event and nothing else overtakes it.
    assert!(
        eventually(WAIT, || async { rx.all().len() >= 3 }).await,
        "no retries while the receiver was down"
    );
    assert!(
        rx.all().iter().all(|g| g.id == rx.all()[0].id),
        "a later event overtook the one being retried"
    );
    rx.set(UP);
    let got = rx.wait_accepted(7).await;
    for g in rx.all() {
        assert!(verify(&secret, &g), "bad signature on {g:?}");
        assert!(
            !verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &g),
            "a wrong secret verified {g:?}"
        );
    }
    // Every event once, in the order of the changes.
    let arrivals = first_arrivals(&got);
    assert_eq!(arrivals.len(), 7, "{got:?}");
    assert!(arrivals.iter().all(|(_, n)| *n == 1), "{arrivals:?}");
    let seen: Vec<(String, i64)> = got
        .iter()
        .map(|g| {
            let b = body(g);
            (
                b["type"].as_str().unwrap().to_string(),
                b["data"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut want: Vec<(String, i64)> = ids.iter().map(|i| ("clients.created".into(), *i)).collect();
    want.push(("clients.updated".into(), ids[1]));
    want.push(("clients.deleted".into(), ids[4]));
    assert_eq!(seen, want);
    // The body is the record as the API returns it.
    let api_view = api.get(&format!("/api/v1/clients/{}", ids[0])).await.json();
    assert_eq!(body(&got[0])["data"], api_view);
    assert_eq!(body(&got[5])["data"]["notes"], "changed");
    // The delivery log shows the retries of the first event and its answer.
    let log = env.ok(&["admin", "webhook", "deliveries", "1"]);
    assert_eq!(log.matches("delivered").count(), 7, "{log}");
    assert!(log.contains("thanks"), "{log}");
    // Each attempt's latency, as on the web page (its value is not asserted).
    for (_, _, state, latency) in deliveries(&env, 1) {
        assert_eq!(state, "delivered");
        let ms = latency
            .strip_suffix("ms")
            .unwrap_or_else(|| panic!("{log}"));
        assert!(ms.parse::<u64>().is_ok(), "{log}");
    }
    let first = log.lines().last().unwrap();
    let attempts: i64 = first.split_whitespace().nth(4).unwrap().parse().unwrap();
    assert!(attempts >= 3, "{first}");
    // A manual redelivery sends the same webhook id again.
    let delivery = first.split_whitespace().next().unwrap();
    env.ok(&["admin", "webhook", "redeliver", "1", delivery]);
    let again = rx.wait_accepted(8).await;
    assert_eq!(again[7].id, got[0].id);
    assert!(verify(&secret, &again[7]));
    assert_eq!(env.audit("webhook_added").len(), 1);
    assert_eq!(env.audit("webhook_redelivered").len(), 1);
}

#[tokio::test]
async fn an_endpoint_without_invoices_read_never_gets_invoice_bodies() {
    let env = Env::with_config(Some(CONFIG));
    let narrow = Receiver::start(UP).await;
    let wide = Receiver::start(UP).await;
    add(&env, &narrow.url, "*", "clients:read");
    add(
        &env,
        &wide.url,
        "*",
        "clients:read,invoices:read,documents:read",
    );
    let api = env.full_token();
    let client = api
        .create_id("clients", json!({ "name": "Scoped Ltd" }))
        .await;
    let invoice = api
        .create_id("invoices", json!({ "client_id": client }))
        .await;
    let r = api
        .patch(
            &format!("/api/v1/invoices/{invoice}"),
            json!({ "notes": "secret terms" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Issued and paid; a document with a file.
    let r = api
        .post(
            &format!("/api/v1/invoices/{invoice}/lines"),
            json!({ "description": "Consulting", "quantity": "1", "unit_price": 10000, "tax_rate": 23 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for action in ["issue", "paid"] {
        let r = api
            .post(&format!("/api/v1/invoices/{invoice}/{action}"), json!({}))
            .await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
    }
    let document = api
        .create_id(
            "documents",
            json!({ "title": "Signed contract", "client_id": client }),
        )
        .await;
    let r = api
        .upload(document, "contract.txt", b"signed by both\n", false)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let last = api
        .create_id("clients", json!({ "name": "After Ltd" }))
        .await;
    // Per-endpoint order: once the last client arrived, everything queued before it has too.
    let wide_got = wide.wait_accepted(8).await;
    let narrow_got = narrow.wait_accepted(2).await;
    let types = |got: &[Got]| -> Vec<String> {
        got.iter()
            .map(|g| body(g)["type"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        types(&wide_got),
        [
            "clients.created",
            "invoices.created",
            "invoices.updated",
            "invoices.issued",
            "invoices.paid",
            "documents.created",
            "documents.uploaded",
            "clients.created"
        ]
    );
    let issued = body(&wide_got[3]);
    assert_eq!(issued["data"]["id"], invoice);
    assert_eq!(issued["data"]["status"], "issued");
    assert!(issued["data"]["number"].as_str().is_some(), "{issued}");
    let paid = body(&wide_got[4]);
    assert_eq!(
        (&paid["data"]["id"], &paid["data"]["status"]),
        (&json!(invoice), &json!("paid"))
    );
    let uploaded = body(&wide_got[6]);
    assert_eq!(uploaded["data"]["id"], document);
    assert_eq!(uploaded["data"]["current_version"], 1, "{uploaded}");
    assert_eq!(types(&narrow_got), ["clients.created", "clients.created"]);
    assert_eq!(body(&narrow_got[1])["data"]["id"], last);
    for g in narrow.all() {
        assert!(
            !g.body.contains("invoice") && !g.body.contains("secret terms"),
            "{g:?}"
        );
    }
}

#[tokio::test]
async fn a_sigkill_mid_delivery_loses_nothing() {
    let mut env = Env::with_config(Some(CONFIG));
    let rx = Receiver::start(HANG).await;
    let (_, secret) = add(&env, &rx.url, "clients.created", "clients:read");
    let (_, token) = env.token("crash-writer", ALL_SCOPES);
    let mut ids = Vec::new();
    {
        let api = env.bearer(&token);
        for n in 0..6 {
            ids.push(
                api.create_id("clients", json!({ "name": format!("Crash {n}") }))
                    .await,
            );
        }
    }
    // holdfast has sent the first event and waits for an answer that never comes.
    assert!(eventually(WAIT, || async { !rx.all().is_empty() }).await);
    nix::sys::signal::kill(env.server.pid(), nix::sys::signal::Signal::SIGKILL).unwrap();
    let _ = env.app.server.child.wait();
    rx.set(UP);
    let mut args = Vec::new();
    if let Some(c) = env.config() {
        args.push("--config".to_string());
        args.push(c.display().to_string());
    }
    let server = Server::launch(
        env.data(),
        Launch {
            args,
            exe: Some(env.exe().to_path_buf()),
            ..Default::default()
        },
    )
    .unwrap();
    env.app.client = Client::trusting(&env.app.ca_pem, "localhost", server.addr);
    env.app.host = format!("localhost:{}", server.addr.port());
    env.app.origin = format!("https://{}", env.app.host);
    env.app.server = server;
    let got = rx.wait_accepted(6).await;
    let arrivals = first_arrivals(&got);
    assert_eq!(arrivals.len(), 6, "{got:?}");
    assert!(arrivals.iter().all(|(_, n)| *n == 1), "{arrivals:?}");
    let data_ids: Vec<i64> = got
        .iter()
        .map(|g| body(g)["data"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(data_ids, ids);
    // The event in flight at the kill came again with the same id: a receiver drops the repeat.
    assert_eq!(rx.all()[0].id, got[0].id);
    for g in rx.all() {
        assert!(verify(&secret, &g), "{g:?}");
    }
}

#[tokio::test]
async fn only_administrators_see_or_change_endpoints() {
    let env = Env::with_config(Some(CONFIG));
    env.add_user("clerk", "users", USER_PW);
    let clerk = env.session("clerk", USER_PW).await;
    assert_eq!(clerk.get("/admin/webhooks").await.status, 403);
    let r = clerk
        .form(
            "/admin/webhooks",
            &[
                ("url", "https://hooks.example.com/x"),
                ("events", "*"),
                ("scopes", "clients:read"),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let token = env.full_token();
    assert!(token.get("/admin/webhooks").await.status >= 400);
    let admin = env.admin().await;
    // No CSRF field: refused.
    let r = admin
        .send(
            "POST",
            "/admin/webhooks",
            &[("content-type", "application/x-www-form-urlencoded")],
            b"url=https%3A%2F%2Fhooks.example.com%2Fx&events=*&scopes=clients%3Aread",
            false,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Plain http to a public address is refused even with the override.
    let r = admin
        .form(
            "/admin/webhooks",
            &[
                ("url", "http://8.8.8.8/x"),
                ("events", "*"),
                ("scopes", "clients:read"),
                ("allow_http", "on"),
            ],
        )
        .await;
    assert!(!r.body.contains("whsec_"), "{}", r.body);
    let r = admin
        .form(
            "/admin/webhooks",
            &[
                ("url", "https://hooks.example.com/x"),
                ("events", "*"),
                ("scopes", "clients:read"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("whsec_"),
        "the secret is shown once: {}",
        r.body
    );
    let page = admin.get("/admin/webhooks").await;
    assert!(page.body.contains("https://hooks.example.com/x"));
    assert!(
        !page.body.contains("whsec_"),
        "the secret is shown only once"
    );
    assert_eq!(clerk.get("/admin/webhooks/1").await.status, 403);
    let r = clerk.form("/admin/webhooks/1/disable", &[]).await;
    assert_eq!(r.status, 403);
    assert!(env.ok(&["admin", "webhook", "list"]).contains("active"));
    let r = admin.form("/admin/webhooks/1/disable", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(env.ok(&["admin", "webhook", "list"]).contains("disabled"));
    assert_eq!(env.audit("webhook_added").len(), 1);
    assert_eq!(env.audit("webhook_disabled").len(), 1);
}

#[tokio::test]
async fn alerts_go_only_to_endpoints_that_name_them() {
    let env = Env::with_config(Some(&format!(
        "{CONFIG}[alerts]\nscan_interval_ms = 100\ncheck_interval_seconds = 1\n"
    )));
    let named = Receiver::start(UP).await;
    let every = Receiver::start(UP).await;
    let (_, secret) = add(&env, &named.url, "alert.raised", "clients:read");
    add(&env, &every.url, "*", "clients:read");
    // A weaker password policy is an alert of the watch.
    env.ok(&["admin", "policy", "set", "password_min_length=16"]);
    env.ok(&["admin", "policy", "set", "password_min_length=8"]);
    // The watch may also raise `admin_granted` for the root account the set-up created, if its
    // first scan runs after the endpoint exists; which one comes first depends on scheduling.
    let weakened = |g: &Got| body(g)["data"]["rule"] == "policy_weakened";
    let arrived = eventually(WAIT, || async { named.accepted().iter().any(weakened) }).await;
    let got = named.accepted();
    assert!(arrived, "no policy_weakened alert arrived: {got:?}");
    for g in &got {
        let b = body(g);
        assert_eq!(b["type"], "alert.raised", "{b}");
        assert!(verify(&secret, g), "{b}");
    }
    // `*` is every record event, not alerts: after a client event arrives at `every`, no alert
    // queued before it can still be on its way.
    let api = env.full_token();
    api.create_id("clients", json!({ "name": "After the alert" }))
        .await;
    let later = every.wait_accepted(1).await;
    assert!(
        later.iter().all(|g| body(g)["type"] == "clients.created"),
        "{later:?}"
    );
}

#[tokio::test]
async fn https_deliveries_pass_the_standard_webhooks_reference_library() {
    // A receiver with a certificate from a test CA; holdfast trusts exactly that CA.
    let (rx, ca_pem) = Receiver::start_tls(UP).await;
    let files = tempfile::tempdir().unwrap();
    let ca = files.path().join("receiver-ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let env = Env::with_config(Some(&format!("{CONFIG}ca_file = \"{}\"\n", ca.display())));
    let out = env.ok(&[
        "admin",
        "webhook",
        "add",
        "--url",
        &rx.url,
        "--events",
        "*",
        "--scopes",
        "clients:read",
    ]);
    let secret = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("whsec_"))
        .unwrap_or_else(|| panic!("no secret in {out}"))
        .to_string();
    let api = env.full_token();
    for n in 0..3 {
        api.create_id("clients", json!({ "name": format!("Secure {n}") }))
            .await;
    }
    let got = rx.wait_accepted(3).await;
    assert!(rx.url.starts_with("https://127.0.0.1:"), "{}", rx.url);
    assert_eq!(
        reference_verdicts(&secret, &got),
        vec![true; got.len()],
        "{got:?}"
    );
    // The reference library is not a rubber stamp: another secret, or a changed body, fails.
    let wrong = reference_verdicts("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &got);
    assert_eq!(wrong, vec![false; got.len()]);
    let mut tampered = got[0].clone();
    tampered.body = tampered.body.replace("Secure 0", "Secure 9");
    assert_eq!(reference_verdicts(&secret, &[tampered]), vec![false]);
}

#[tokio::test]
async fn an_https_receiver_outside_the_configured_ca_gets_nothing() {
    // holdfast trusts one test CA; the receiver's certificate comes from another.
    let (rx, _their_ca) = Receiver::start_tls(UP).await;
    let (_, other_ca) = crate::smtp_sink::tls_acceptor();
    let files = tempfile::tempdir().unwrap();
    let ca = files.path().join("other-ca.pem");
    std::fs::write(&ca, other_ca).unwrap();
    let env = Env::with_config(Some(&format!("{CONFIG}ca_file = \"{}\"\n", ca.display())));
    env.ok(&[
        "admin",
        "webhook",
        "add",
        "--url",
        &rx.url,
        "--events",
        "*",
        "--scopes",
        "clients:read",
    ]);
    let api = env.full_token();
    api.create_id("clients", json!({ "name": "Unverified" }))
        .await;
    // The delivery is tried and logged as a TLS failure; no request reaches the receiver.
    let ok = eventually(WAIT, || async {
        env.ok(&["admin", "webhook", "deliveries", "1"])
            .contains("TLS")
    })
    .await;
    assert!(ok, "{}", env.ok(&["admin", "webhook", "deliveries", "1"]));
    assert!(rx.all().is_empty(), "{:?}", rx.all());
}

/// The state column of an endpoint in `admin webhook list`.
fn endpoint_state(env: &Env, id: i64) -> String {
    let list = env.ok(&["admin", "webhook", "list"]);
    list.lines()
        .find(|l| l.split_whitespace().next() == Some(id.to_string().as_str()))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no endpoint #{id} in {list}"))
        .to_string()
}

/// `admin webhook deliveries ID`: (delivery id, event, state, latency), newest first.
fn deliveries(env: &Env, id: i64) -> Vec<(String, String, String, String)> {
    let out = env.ok(&["admin", "webhook", "deliveries", &id.to_string()]);
    let mut lines = out.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let latency = header
        .iter()
        .position(|h| *h == "LATENCY")
        .unwrap_or_else(|| panic!("no LATENCY column: {out}"));
    lines
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (
                w[0].to_string(),
                w[2].to_string(),
                w[3].to_string(),
                w[latency].to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_receiver_down_past_the_give_up_window_marks_the_endpoint_failing_and_tells_the_admins() {
    // Events are given up one second after they were queued; the watch reads new rows every
    // 100 ms; alert mail goes to a sink.
    let env = Env {
        app: crate::app::TestApp::builder()
            .with_admin()
            .with_mail()
            .config(&format!(
                "{CONFIG}give_up_seconds = 1\n[alerts]\nscan_interval_ms = 100\ncheck_interval_seconds = 1\n"
            ))
            .start(),
    };
    let rx = Receiver::start(DOWN).await;
    let (id, secret) = add(&env, &rx.url, "clients.created", "clients:read");
    let api = env.full_token();
    for n in 0..2 {
        api.create_id("clients", json!({ "name": format!("Unheard {n}") }))
            .await;
    }
    // Both events are tried until their window closes, then failed; neither was lost unnoticed.
    let failed = eventually(WAIT, || async {
        let d = deliveries(&env, id);
        d.len() == 2 && d.iter().all(|(_, _, state, _)| state == "failed")
    })
    .await;
    assert!(failed, "{:?}", deliveries(&env, id));
    assert!(rx.all().len() >= 2, "{:?}", rx.all());
    assert_eq!(endpoint_state(&env, id), "failing");
    // The endpoint is marked failing once, however many events failed.
    let rows = env.audit("webhook_failing");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["target"], format!("webhook {id}"));
    assert!(rows[0]["details"].to_string().contains(&rx.url), "{rows:?}");

    // Administrators are told: an alert naming the endpoint, mailed at once, on the alerts page.
    let mut alert = None;
    let raised = eventually(WAIT, || {
        alert = env
            .ok(&["admin", "alerts", "--json"])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|a| a["rule"] == "webhook_failing");
        let done = alert.is_some();
        async move { done }
    })
    .await;
    assert!(raised, "{}", env.ok(&["admin", "alerts", "--json"]));
    let alert = alert.unwrap();
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["subject"], format!("webhook {id} {}", rx.url));
    assert!(
        alert["summary"].as_str().unwrap().contains(&rx.url),
        "{alert}"
    );
    let mail = env
        .sink()
        .wait_for(
            |m| {
                m.to.iter().any(|t| t.eq_ignore_ascii_case(ADMIN_EMAIL))
                    && m.subject().unwrap_or_default().contains("webhook_failing")
            },
            WAIT,
        )
        .expect("no alert mail about the failing webhook");
    assert!(mail.body().contains(&rx.url), "{}", mail.body());
    let admin = env.admin().await;
    let page = admin.get("/admin/alerts").await;
    assert!(page.body.contains(&rx.url), "{}", page.body);

    // The receiver is back: the next event is delivered and clears the mark; a failed event can
    // be sent again by hand.
    rx.set(UP);
    api.create_id("clients", json!({ "name": "Heard again" }))
        .await;
    let got = rx.wait_accepted(1).await;
    assert_eq!(body(&got[0])["data"]["name"], "Heard again");
    assert!(
        eventually(WAIT, || async { endpoint_state(&env, id) == "active" }).await,
        "{}",
        env.ok(&["admin", "webhook", "list"])
    );
    let first_failed = deliveries(&env, id).last().unwrap().0.clone();
    env.ok(&[
        "admin",
        "webhook",
        "redeliver",
        &id.to_string(),
        &first_failed,
    ]);
    let got = rx.wait_accepted(2).await;
    assert_eq!(body(&got[1])["data"]["name"], "Unheard 0");
    assert!(verify(&secret, &got[1]));
    assert_eq!(env.audit("webhook_failing").len(), 1);
}

#[tokio::test]
async fn a_rotated_secret_signs_every_later_delivery_and_the_old_one_no_longer_verifies() {
    let env = Env::with_config(Some(CONFIG));
    let rx = Receiver::start(UP).await;
    let (id, old) = add(&env, &rx.url, "clients.created", "clients:read");
    let api = env.full_token();
    api.create_id("clients", json!({ "name": "Before rotation" }))
        .await;
    let before = rx.wait_accepted(1).await;
    assert!(verify(&old, &before[0]), "{before:?}");

    let out = env.ok(&["admin", "webhook", "rotate-secret", &id.to_string()]);
    assert_eq!(out.matches("whsec_").count(), 1, "{out}");
    let new = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("whsec_"))
        .unwrap_or_else(|| panic!("no secret in {out}"))
        .to_string();
    assert_ne!(new, old);

    api.create_id("clients", json!({ "name": "After rotation" }))
        .await;
    let got = rx.wait_accepted(2).await;
    assert_eq!(body(&got[1])["data"]["name"], "After rotation");
    assert!(verify(&new, &got[1]), "{:?}", got[1]);
    assert!(!verify(&old, &got[1]), "the old secret still verifies");
    // A repeat of the event signed before the rotation is signed with the new secret too.
    let first = deliveries(&env, id).last().unwrap().0.clone();
    env.ok(&["admin", "webhook", "redeliver", &id.to_string(), &first]);
    let again = rx.wait_accepted(3).await;
    assert_eq!(again[2].id, before[0].id);
    assert!(verify(&new, &again[2]) && !verify(&old, &again[2]));

    let rotated = env.audit("webhook_secret_rotated");
    assert_eq!(rotated.len(), 1, "{rotated:?}");
    assert_eq!(rotated[0]["target"], format!("webhook {id}"));
    // Shown once: not in the list, the security log or the endpoint's page.
    assert!(!env.ok(&["admin", "webhook", "list"]).contains("whsec_"));
    let log = serde_json::to_string(&env.audit_json(&[])).unwrap();
    assert!(!log.contains(&new) && !log.contains(&old));
    let admin = env.admin().await;
    let page = admin.get(&format!("/admin/webhooks/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("whsec_"), "{}", page.body);
}

#[tokio::test]
async fn an_invoice_from_a_project_is_announced_with_its_totals_and_each_billed_entry_as_updated() {
    let env = Env::with_config(Some(CONFIG));
    let rx = Receiver::start(UP).await;
    add(
        &env,
        &rx.url,
        "invoices.created,time.created,time.updated",
        "invoices:read,time:read",
    );
    let api = env.full_token();
    let client = api
        .create_id("clients", json!({ "name": "Billed Ltd" }))
        .await;
    let project = api
        .create_id(
            "projects",
            json!({ "name": "Billable work", "client_id": client, "hourly_rate": 12000 }),
        )
        .await;
    let mut entries = Vec::new();
    for minutes in [60, 30] {
        entries.push(
            api.create_id(
                "time-entries",
                json!({ "user": ADMIN, "project_id": project, "date": "2026-11-02", "minutes": minutes }),
            )
            .await,
        );
    }
    // 90 minutes at 120.00/h = 180.00 net, 23 % = 41.40 tax, 221.40 total.
    let r = api
        .post(
            "/api/v1/invoices/from-project",
            json!({ "project_id": project, "tax_rate": 23 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let invoice = r.json()["id"].as_i64().unwrap();
    let got = rx.wait_accepted(5).await;
    let seen: Vec<(String, i64)> = got
        .iter()
        .map(|g| {
            let b = body(g);
            (
                b["type"].as_str().unwrap().to_string(),
                b["data"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("time.created".to_string(), entries[0]),
            ("time.created".to_string(), entries[1]),
            ("invoices.created".to_string(), invoice),
            ("time.updated".to_string(), entries[0]),
            ("time.updated".to_string(), entries[1]),
        ]
    );
    // The invoice arrives with its lines' totals, as the API returns it afterwards.
    let created = body(&got[2])["data"].clone();
    assert_eq!(
        (
            &created["subtotal"],
            &created["tax_total"],
            &created["total"]
        ),
        (&json!(18000), &json!(4140), &json!(22140)),
        "{created}"
    );
    let api_view = api.get(&format!("/api/v1/invoices/{invoice}")).await.json();
    assert_eq!(created["total"], api_view["total"]);
    for g in &got[3..] {
        assert_eq!(body(g)["data"]["invoice_id"], invoice, "{}", g.body);
    }
    // Cancelling the draft releases the entries: each is announced again, unbilled.
    let r = api
        .post(&format!("/api/v1/invoices/{invoice}/cancel"), json!({}))
        .await;
    assert!(r.status < 300, "{}", r.body);
    let got = rx.wait_accepted(7).await;
    for g in &got[5..] {
        let b = body(g);
        assert_eq!(b["type"], "time.updated", "{b}");
        assert!(b["data"]["invoice_id"].is_null(), "{b}");
    }
}
