//! The Prometheus endpoint as an operations team meets it: off by default (no listener at all),
//! its own listener with a bearer token (wrong or missing token: 401 and no figures), an
//! exposition Debian's `promtool check metrics` accepts, the shipped alert rules `promtool check
//! rules` accepts, and the real `prometheus` server (Debian package) scraping it over TLS on
//! loopback and answering a query about sign-ins this test made.

use crate::app::TestApp;
use crate::support::*;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "scrape-token-7f3a9c1e5b2d4f60";

/// A server with `[metrics]` on 127.0.0.1:0 (with the token file when `token`), and the address
/// its metrics listener got.
pub struct Metered {
    pub app: TestApp,
    pub addr: SocketAddr,
    pub token_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Metered {
    pub fn start(token: bool) -> Metered {
        Self::start_with(token, "")
    }

    /// `extra`: more `[metrics]` lines.
    pub fn start_with(token: bool, extra: &str) -> Metered {
        Self::launch(TestApp::builder(), token, extra)
    }

    /// [`Metered::start_with`] from a builder that may add mail or the first administrator.
    pub fn launch(builder: crate::app::Builder, token: bool, extra: &str) -> Metered {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("metrics.token");
        std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut toml = String::from("[metrics]\nlisten = \"127.0.0.1:0\"\n");
        if token {
            toml.push_str(&format!("token_file = \"{}\"\n", token_file.display()));
        }
        toml.push_str(extra);
        let app = builder.config(&toml).start();
        let log = app.server.log();
        let addr = log
            .lines()
            .find_map(|l| l.split("metrics endpoint on https://").nth(1))
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("no metrics listener in the log:\n{log}"))
            .parse()
            .unwrap();
        Metered {
            app,
            addr,
            token_file,
            _dir: dir,
        }
    }

    pub fn client(&self) -> Client {
        Client::trusting(&self.app.ca_pem, "localhost", self.addr)
    }

    pub async fn scrape(&self, authorization: Option<&str>) -> Resp {
        let headers: Vec<(&str, &str)> = authorization
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        self.client()
            .request("GET", "localhost", "/metrics", &headers, b"")
            .await
    }
}

/// One refused JSON sign-in from `client`; its status (401 rejected, 429 throttled).
pub async fn failed_sign_in(client: &Client, user: &str, password: &str) -> u16 {
    let body = serde_json::json!({ "username": user, "password": password }).to_string();
    let r = client
        .request(
            "POST",
            "localhost",
            "/api/v1/session",
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await;
    assert!(
        r.status == 401 || r.status == 429,
        "{} {}",
        r.status,
        r.body
    );
    r.status
}

/// TCP sockets in LISTEN state that process `pid` holds (from /proc: its socket inodes matched
/// against the kernel's tables).
fn listening_sockets(pid: u32) -> usize {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|t| {
            let t = t.to_string_lossy().into_owned();
            Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut n = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Field 3 is the state (0A: LISTEN), field 9 the socket's inode.
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                n += 1;
            }
        }
    }
    n
}

fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus; tests/run installs it)");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

fn rules_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/prometheus/holdfast-rules.yml")
}

#[tokio::test]
async fn metrics_listener_is_absent_unless_configured() {
    let app = TestApp::builder().start();
    assert!(
        !app.server.log().contains("metrics endpoint"),
        "{}",
        app.server.log()
    );
    // Only the HTTPS listener: no second port exists to probe.
    assert_eq!(listening_sockets(app.server.child.id()), 1);
    // And the main listener does not serve the figures either.
    let r = app.client.get(&app.host, "/metrics").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(!r.body.contains("holdfast_"), "{}", r.body);
    drop(app);

    let on = Metered::start(true);
    assert_eq!(listening_sockets(on.app.server.child.id()), 2);
}

#[tokio::test]
async fn wrong_or_missing_token_gets_401_and_no_figures() {
    let m = Metered::start(true);
    for auth in [
        None,
        Some("Bearer wrong-token-0000000000000"),
        Some(&format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]) as &str),
        Some(&format!("Basic {TOKEN}") as &str),
        Some(TOKEN),
    ] {
        let r = m.scrape(auth).await;
        assert_eq!(r.status, 401, "{auth:?}: {}", r.body);
        assert!(!r.body.contains("holdfast_"), "{auth:?}: {}", r.body);
        assert!(
            r.header("www-authenticate").starts_with("Bearer"),
            "{auth:?}"
        );
    }
    let ok = m.scrape(Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.contains("holdfast_build_info"), "{}", ok.body);
    // Open alerts by severity, every severity present (zero here: nothing raised yet).
    assert!(
        ok.body
            .contains("holdfast_alerts_open{severity=\"critical\"} 0"),
        "{}",
        ok.body
    );
    // Only /metrics exists on this listener.
    let other = m
        .client()
        .request(
            "GET",
            "localhost",
            "/api/v1/session",
            &[("authorization", &format!("Bearer {TOKEN}"))],
            b"",
        )
        .await;
    assert_eq!(other.status, 404);
    // The token never reaches the log.
    assert!(!m.app.server.log().contains(TOKEN));
}

#[tokio::test]
async fn exposition_counts_requests_and_sign_ins_and_passes_promtool() {
    let m = Metered::start(true);
    for _ in 0..3 {
        assert_eq!(
            failed_sign_in(&m.app.client, "nobody", "not the password at all").await,
            401
        );
    }
    let r = m.scrape(Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .starts_with("text/plain; version=0.0.4")
    );
    let body = &r.body;
    for line in [
        r#"holdfast_signins_total{step="password",outcome="rejected"} 3"#,
        r#"holdfast_http_requests_total{route="/api/v1/session",method="POST",status="401"} 3"#,
        r#"holdfast_accounts_locked{instance_name="default"} 0"#,
        "# TYPE holdfast_group_commit_writes histogram",
        "# TYPE holdfast_tls_certificate_expiry_timestamp_seconds gauge",
        "# TYPE holdfast_http_request_duration_seconds histogram",
    ] {
        assert!(body.contains(line), "missing {line}:\n{body}");
    }
    // The raw path a client sends never becomes a label value.
    let _ = m.app.client.get(&m.app.host, "/no/such/page-4711").await;
    let again = m.scrape(Some(&format!("Bearer {TOKEN}"))).await.body;
    assert!(!again.contains("page-4711"), "{again}");
    assert!(again.contains(r#"route="unmatched""#), "{again}");

    let (ok, out) = promtool(&["check", "metrics"], Some(&again));
    assert!(ok, "promtool check metrics:\n{out}\n{again}");
    // OpenMetrics for a scraper that asks for it.
    let om = m
        .client()
        .request(
            "GET",
            "localhost",
            "/metrics",
            &[
                ("authorization", &format!("Bearer {TOKEN}")),
                ("accept", "application/openmetrics-text;version=1.0.0"),
            ],
            b"",
        )
        .await;
    assert!(
        om.header("content-type")
            .starts_with("application/openmetrics-text")
    );
    assert!(om.body.ends_with("# EOF\n"));
}

#[test]
fn shipped_alert_rules_pass_promtool() {
    let (ok, out) = promtool(&["check", "rules", rules_file().to_str().unwrap()], None);
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

/// A `prometheus` server we started; killed by its PID when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(target: SocketAddr, ca: &Path, token_file: &Path) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        // The OS picks a free port; it is released just before prometheus binds it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules}\n\
             scrape_configs:\n  - job_name: holdfast\n    scheme: https\n\
             \x20   tls_config:\n      ca_file: {ca}\n      server_name: localhost\n\
             \x20   authorization:\n      credentials_file: {token}\n\
             \x20   static_configs:\n      - targets: ['{target}']\n",
            rules = rules_file().display(),
            ca = ca.display(),
            token = token_file.display(),
        );
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("prometheus (apt-get install prometheus; tests/run installs it)");
        Prometheus { child, port, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// GET on the HTTP API; the body, or None while the server is not up.
    fn get(&self, path_and_query: &str) -> Option<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "GET {path_and_query} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.port
        )
        .ok()?;
        let mut reply = String::new();
        s.read_to_string(&mut reply).ok()?;
        reply.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
    }

    /// The value of an instant query's first series, if it has one.
    fn query(&self, promql: &str) -> Option<String> {
        let q = serde_urlencoded::to_string([("query", promql)]).unwrap();
        let body = self.get(&format!("/api/v1/query?{q}"))?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["data"]["result"][0]["value"][1]
            .as_str()
            .map(str::to_string)
    }
}

#[tokio::test]
async fn real_prometheus_scrapes_the_endpoint_and_answers_a_query() {
    let m = Metered::start(true);
    for _ in 0..2 {
        failed_sign_in(&m.app.client, "mallory", "guess number one two three").await;
    }
    let prom = Prometheus::start(m.addr, &m.app.data().join("tls/cert.pem"), &m.token_file);
    let promql = r#"holdfast_signins_total{job="holdfast",step="password",outcome="rejected"}"#;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut value = None;
    while Instant::now() < deadline {
        value = prom.query(promql);
        if value.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        value.as_deref(),
        Some("2"),
        "prometheus log:\n{}",
        prom.log()
    );
    assert_eq!(prom.query(r#"up{job="holdfast"}"#).as_deref(), Some("1"));
    // The shipped rules loaded into the real server.
    let rules = prom.get("/api/v1/rules").unwrap_or_default();
    assert!(rules.contains("HoldfastBackupTooOld"), "{rules}");
}

/// A CA (PEM) and a client certificate it signed (chain PEM, key PEM).
fn client_ca_and_cert(name: &str) -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} scraper CA"));
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut leaf = rcgen::CertificateParams::new(vec![format!("{name}.example.test")]).unwrap();
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// GET /metrics over TLS with an optional client certificate (chain PEM, key PEM); Err when the
/// handshake or the exchange fails.
async fn scrape_with_certificate(
    m: &Metered,
    identity: Option<(&str, &str)>,
) -> Result<(u16, String), String> {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&m.app.ca_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => {
            let chain = CertificateDer::pem_slice_iter(chain.as_bytes())
                .map(|c| c.unwrap())
                .collect();
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
    };
    let tcp = tokio::net::TcpStream::connect(m.addr)
        .await
        .map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .uri("/metrics")
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[tokio::test]
async fn client_certificate_check_refuses_scrapers_without_a_trusted_one() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, chain, key) = client_ca_and_cert("prometheus");
    let (_, stranger_chain, stranger_key) = client_ca_and_cert("stranger");
    let ca_file = dir.path().join("scraper-ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let m = Metered::start_with(
        false,
        &format!("client_ca_file = \"{}\"\n", ca_file.display()),
    );
    for (what, identity) in [
        ("no certificate", None),
        (
            "a certificate of another CA",
            Some((stranger_chain.as_str(), stranger_key.as_str())),
        ),
    ] {
        let r = scrape_with_certificate(&m, identity).await;
        assert!(r.is_err(), "{what}: {r:?}");
    }
    let (status, body) = scrape_with_certificate(&m, Some((&chain, &key)))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("holdfast_build_info"), "{body}");
}

/// Every series issue 14 asks for, with real figures behind it: a locked account, an open alert,
/// a backup and its verification restore (the admin's button), all in one exposition that
/// `promtool check metrics` accepts.
#[tokio::test]
async fn every_series_operations_asked_for_is_exposed_with_its_figures() {
    use crate::identity_support::{Hub, hidden_field};
    let dest = crate::app::data_dir();
    let m = Metered::launch(
        TestApp::builder().with_admin(),
        true,
        &format!(
            "[alerts]\nscan_interval_ms = 100\ncheck_interval_seconds = 1\n\
             [backup]\ndestinations = [\"{}\"]\n",
            dest.path().display()
        ),
    );
    let Metered {
        app, addr, _dir, ..
    } = m;
    let hub = Hub { app };
    let scrape = || async {
        Client::trusting(&hub.ca_pem, "localhost", addr)
            .request(
                "GET",
                "localhost",
                "/metrics",
                &[("authorization", &format!("Bearer {TOKEN}"))],
                b"",
            )
            .await
            .body
    };

    // An account locked by guesses, and a medium alert (a token created) left open.
    hub.policy("lockout_threshold=3");
    hub.add_user("locked-out", &["users"], "harbour violet 27 staple");
    for i in 0..3 {
        let r = hub.sign_in("locked-out", &format!("wrong guess {i}")).await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    hub.ok(&[
        "admin",
        "token",
        "create",
        "--service",
        "metrics-probe",
        "--scopes",
        "clients:view",
    ]);
    // A backup and its verification restore, as the admin's "back up now" runs them.
    let admin = hub.signed_in(crate::app::ADMIN, crate::app::ADMIN_PW).await;
    let page = hub.get("/admin/backups", Some(&admin)).await;
    let csrf = hidden_field(&page.body, "csrf").expect("csrf field");
    let r = hub
        .form(
            "/admin/backups/run",
            &format!("{SESSION}={admin}"),
            &[("csrf", &csrf)],
            &[("origin", &hub.origin)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let medium = r#"holdfast_alerts_open{severity="medium"} 1"#;
    let mut body = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        body = scrape().await;
        if body.contains(medium) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let d = dest.path().display().to_string();
    let present = |prefix: &str| body.lines().any(|l| l.starts_with(prefix));
    for prefix in [
        // requests by route and status, latency histograms
        r#"holdfast_http_requests_total{route="/api/v1/session",method="POST",status="401"} 3"#,
        r#"holdfast_http_request_duration_seconds_bucket{le="#,
        // sign-in outcomes, lockouts, open alerts by severity, throttle refusals
        r#"holdfast_signins_total{step="password",outcome="rejected"} 3"#,
        r#"holdfast_accounts_locked{instance_name="default"} 1"#,
        medium,
        "holdfast_throttle_refusals_total ",
        // writer queue and group-commit sizes, database and WAL sizes per instance
        r#"holdfast_writer_queue_depth{instance_name="default"} "#,
        r#"holdfast_group_commit_writes_bucket{le="#,
        r#"holdfast_db_writer_busy_seconds_total{instance_name="default"} "#,
        r#"holdfast_db_commit_seconds_total{instance_name="default"} "#,
        r#"holdfast_database_size_bytes{instance_name="default"} "#,
        r#"holdfast_wal_size_bytes{instance_name="default"} "#,
        // certificate, update state
        "holdfast_tls_certificate_expiry_timestamp_seconds ",
        "holdfast_update_in_progress 0",
        "holdfast_update_security_epoch ",
    ] {
        assert!(present(prefix), "missing {prefix}:\n{body}");
    }
    // backup age and last result, last verification restore: its time, duration (the RTO), result
    for (name, value) in [
        ("holdfast_backup_age_seconds", None),
        ("holdfast_backup_last_success_timestamp_seconds", None),
        ("holdfast_backup_last_result_ok", Some(1.0)),
        ("holdfast_backup_last_verify_timestamp_seconds", None),
        ("holdfast_backup_last_verify_duration_seconds", None),
        ("holdfast_backup_last_verify_ok", Some(1.0)),
    ] {
        let line = format!("{name}{{destination=\"{d}\"}} ");
        let found = body
            .lines()
            .find(|l| l.starts_with(&line))
            .unwrap_or_else(|| panic!("missing {line}:\n{body}"));
        if let Some(v) = value {
            let got: f64 = found.rsplit(' ').next().unwrap().parse().unwrap();
            assert_eq!(got, v, "{found}");
        }
    }
    // Every series the shipped alert rules ask about exists (a misspelt one would never fire);
    // the update result appears once an update has run.
    let rules = std::fs::read_to_string(rules_file()).unwrap();
    for name in rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("holdfast_"))
        .filter(|w| *w != "holdfast_update_last_result_ok")
    {
        assert!(
            body.lines().any(|l| l.starts_with(name)),
            "the rules use {name}, which the endpoint does not expose"
        );
    }
    let (ok, out) = promtool(&["check", "metrics"], Some(&body));
    assert!(ok, "promtool check metrics:\n{out}\n{body}");
}
