//! The appliance core: CLI basics, TLS, headers, instances, encryption at rest, keys, config errors,
//! doctor, systemd notifications.

use crate::support::*;
use rustls::pki_types::pem::PemObject;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[test]
fn version_prints_name_and_semver() {
    let mut cmd = crate::app::bin_command(std::path::Path::new(BIN));
    cmd.arg("--version");
    let out = crate::app::run_with_stdin(cmd, "");
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout).trim(),
        format!("holdfast {}", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn tls_12_and_13_accepted_11_and_plain_http_refused() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let pem = std::fs::read(dir.path().join("tls/cert.pem")).unwrap();
    for v in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let c = server.client().with_versions(&pem, &[v]);
        let tls = c.tls().await.expect("handshake");
        assert_eq!(tls.get_ref().1.protocol_version(), Some(v.version));
        let r = c.get("localhost", "/healthz").await;
        assert_eq!(r.status, 200);
    }

    // A TLS 1.1 ClientHello (legacy version 0x0302, CBC suites, no supported_versions extension).
    let mut hello = vec![0x03, 0x02];
    hello.extend_from_slice(&[7u8; 32]);
    hello.push(0);
    hello.extend_from_slice(&[0x00, 0x04, 0x00, 0x2f, 0xc0, 0x13]);
    hello.extend_from_slice(&[0x01, 0x00]);
    let mut handshake = vec![0x01, 0, (hello.len() >> 8) as u8, hello.len() as u8];
    handshake.extend_from_slice(&hello);
    let mut record = vec![
        0x16,
        0x03,
        0x02,
        (handshake.len() >> 8) as u8,
        handshake.len() as u8,
    ];
    record.extend_from_slice(&handshake);
    let answer = raw_exchange(server.addr, &record);
    assert!(
        answer.is_empty() || answer[0] == 0x15,
        "TLS 1.1 must get an alert or nothing, got {answer:02x?}"
    );
    assert_ne!(answer.first(), Some(&0x16), "no ServerHello for TLS 1.1");

    let answer = raw_exchange(server.addr, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let shown = String::from_utf8_lossy(&answer);
    assert!(!shown.contains("HTTP/"), "plain HTTP got a page: {shown}");
    assert!(
        !shown.contains("holdfast"),
        "plain HTTP got content: {shown}"
    );
    assert!(server.stop().success());
}

fn raw_exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[tokio::test]
async fn every_response_carries_security_headers_and_pages_stay_local() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let c = server.client();
    let root = c.get("localhost", "/").await;
    assert_eq!(
        root.status, 303,
        "anonymous visitors are sent to the sign-in page"
    );
    assert_eq!(root.header("location"), "/signin");
    let home = c.get("localhost", "/signin").await;
    assert_eq!(home.status, 200);
    let css_path = home
        .body
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|s| s.ends_with("app.css"))
        .unwrap()
        .to_string();
    let css = c.get("localhost", &css_path).await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(css.header("cache-control").contains("immutable"));
    let etag = css.header("etag");
    let revalidated = c
        .request(
            "GET",
            "localhost",
            &css_path,
            &[("if-none-match", &etag)],
            b"",
        )
        .await;
    assert_eq!(revalidated.status, 304);
    let missing = c.get("localhost", "/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("does not exist"));
    let health = c.get("localhost", "/healthz").await;
    let ready = c.get("localhost", "/readyz").await;
    assert_eq!((health.status, ready.status), (200, 200));

    for r in [&root, &home, &css, &missing, &health, &ready, &revalidated] {
        assert!(
            r.header("strict-transport-security").contains("max-age="),
            "{r:?}"
        );
        let csp = r.header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("object-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(r.header("x-content-type-options"), "nosniff");
        assert_eq!(r.header("referrer-policy"), "no-referrer");
    }
    assert_eq!(home.header("cache-control"), "no-store");
    // Nothing the browser loads may come from another host, and no inline script.
    for body in [&home.body, &css.body, &missing.body] {
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{body}"
        );
        assert!(!body.contains("<script>"), "inline script in {body}");
        assert!(!body.contains("style=\""), "inline style in {body}");
    }
    assert!(
        home.body.contains("name=\"viewport\""),
        "tablet layout needs a viewport"
    );
    // healthz says nothing about instances.
    assert_eq!(health.body.trim(), "ok");
    assert!(server.stop().success());
}

#[tokio::test]
async fn instances_are_isolated_encrypted_and_survive_restart() {
    let dir = data_dir();
    let d = dir.path();
    let server = Server::start(d);
    let c = server.client();

    let out = holdfast(
        d,
        &[
            "instance",
            "create",
            "beta",
            "--hostname",
            "beta.test",
            "--title",
            "Beta Archive 7781",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        eventually(Duration::from_secs(15), || async {
            c.get("beta.test:8443", "/signin")
                .await
                .body
                .contains("Beta Archive 7781")
        })
        .await,
        "server never picked up the new instance"
    );
    let default_page = c.get("localhost", "/signin").await.body;
    assert!(
        !default_page.contains("Beta Archive"),
        "default shows beta's data"
    );
    let unknown = c.get("unknown.example", "/signin").await.body;
    assert!(
        !unknown.contains("Beta Archive"),
        "an unknown host must fall back to default"
    );

    // A write through the app while the server holds the database open stays in the WAL.
    let out = holdfast(d, &["instance", "title", "beta", "Gamma Ledger 4410"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        c.get("beta.test", "/signin")
            .await
            .body
            .contains("Gamma Ledger 4410")
    );

    let inst = d.join("instances");
    let beta_db = inst.join("beta/db.sqlite");
    let default_db = inst.join("default/db.sqlite");
    let wal = inst.join("beta/db.sqlite-wal");
    assert!(
        std::fs::metadata(&wal)
            .map(|m| m.len() > 0)
            .unwrap_or(false),
        "expected a live WAL"
    );
    for db in [&beta_db, &default_db] {
        let head = std::fs::read(db).unwrap();
        assert!(
            !head.starts_with(b"SQLite format 3"),
            "{} has a plaintext header",
            db.display()
        );
    }
    for f in files_below(d) {
        for needle in [
            &b"Gamma Ledger"[..],
            b"Beta Archive",
            b"CREATE TABLE",
            b"settings",
        ] {
            assert!(
                !file_contains(&f, needle),
                "{} contains plaintext {:?}",
                f.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    let beta_key = std::fs::read(inst.join("beta/db.key")).unwrap();
    let default_key = std::fs::read(inst.join("default/db.key")).unwrap();
    assert_ne!(beta_key, default_key);
    assert_eq!(
        std::fs::metadata(d.join("keys/master.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(server.stop().success());

    let server = Server::start(d);
    let c = server.client();
    assert!(
        c.get("beta.test", "/signin")
            .await
            .body
            .contains("Gamma Ledger 4410"),
        "data lost on restart"
    );
    assert!(
        !c.get("localhost", "/signin")
            .await
            .body
            .contains("Gamma Ledger")
    );

    let refused = holdfast(d, &["instance", "remove", "beta"]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("--yes"));
    assert!(inst.join("beta/db.sqlite").exists());
    let removed = holdfast(d, &["instance", "remove", "beta", "--yes"]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert!(!inst.join("beta").exists());
    let kept: Vec<_> = files_below(&d.join("removed"));
    assert!(
        kept.iter().any(|p| p.ends_with("db.sqlite")),
        "final encrypted copy kept: {kept:?}"
    );
    assert!(
        eventually(Duration::from_secs(15), || async {
            !c.get("beta.test", "/signin")
                .await
                .body
                .contains("Gamma Ledger")
        })
        .await,
        "removed instance still served"
    );
    let list = holdfast(d, &["instance", "list"]);
    assert!(text(&list.stdout).contains("default") && !text(&list.stdout).contains("beta"));
    assert!(server.stop().success());
}

#[tokio::test]
async fn wrong_master_key_is_refused_and_nothing_is_touched() {
    let dir = data_dir();
    let d = dir.path();
    let server = Server::start(d);
    let master_hex = std::fs::read_to_string(d.join("keys/master.key")).unwrap();
    let log = server.log();
    assert!(server.stop().success());
    assert!(!log.contains(master_hex.trim()), "master key in the log");

    let db = d.join("instances/default/db.sqlite");
    let before = std::fs::read(&db).unwrap();
    let key_before = std::fs::read(d.join("instances/default/db.key")).unwrap();
    let other = "ab".repeat(32);
    std::fs::write(d.join("keys/master.key"), format!("{other}\n")).unwrap();
    let err = Server::launch(d, Launch::default())
        .err()
        .expect("must refuse to start");
    assert!(err.contains("wrong master key"), "{err}");
    assert!(err.contains("default"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "database was modified");
    assert_eq!(
        std::fs::read(d.join("instances/default/db.key")).unwrap(),
        key_before
    );
    assert!(!err.contains(&other), "the key itself was printed");

    // A key file others can read is refused, too.
    std::fs::write(d.join("keys/master.key"), &master_hex).unwrap();
    std::fs::set_permissions(
        d.join("keys/master.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let err = Server::launch(d, Launch::default())
        .err()
        .expect("must refuse a readable key");
    assert!(err.contains("chmod 600"), "{err}");

    // A missing key next to existing instances is never silently replaced.
    std::fs::remove_file(d.join("keys/master.key")).unwrap();
    let err = Server::launch(d, Launch::default())
        .err()
        .expect("must refuse without the key");
    assert!(err.contains("master key missing"), "{err}");
    assert!(!d.join("keys/master.key").exists());
}

#[tokio::test]
async fn master_key_from_systemd_credential() {
    let dir = data_dir();
    let creds = data_dir();
    let key = "5a".repeat(32);
    std::fs::write(creds.path().join("holdfast-master"), &key).unwrap();
    let env = vec![("CREDENTIALS_DIRECTORY", creds.path().display().to_string())];
    let server = Server::launch(
        dir.path(),
        Launch {
            env: env.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        server.log().contains("systemd credential"),
        "{}",
        server.log()
    );
    assert!(
        !dir.path().join("keys/master.key").exists(),
        "no key file when a credential is given"
    );
    assert!(server.stop().success());
    // Without the credential the instance cannot be opened: there is no key file to fall back to.
    let err = Server::launch(dir.path(), Launch::default())
        .err()
        .expect("refuse");
    assert!(err.contains("master key missing"), "{err}");
    let server = Server::launch(
        dir.path(),
        Launch {
            env,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(server.stop().success());
}

#[test]
fn bad_configuration_gets_one_clear_line() {
    let dir = data_dir();
    let cfg = dir.path().join("holdfast.toml");
    std::fs::write(&cfg, "[server]\nlistne = \"127.0.0.1:1\"\n").unwrap();
    let out = holdfast(dir.path(), &["--config", cfg.to_str().unwrap(), "serve"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(cfg.to_str().unwrap()) && err.contains("line 2") && err.contains("`listne`"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    std::fs::write(&cfg, "[storage]\nread_connections = \"many\"\n").unwrap();
    let err = text(&holdfast(dir.path(), &["--config", cfg.to_str().unwrap(), "serve"]).stderr);
    assert!(
        err.contains("line 2") && err.contains("read_connections"),
        "{err}"
    );

    let out = holdfast(
        dir.path(),
        &["--config", "/nonexistent/holdfast.toml", "serve"],
    );
    assert!(text(&out.stderr).contains("/nonexistent/holdfast.toml"));

    let missing = dir.path().join("nope");
    let out = holdfast(&missing, &["serve"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("does not exist"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !missing.exists(),
        "a data dir someone named must not be invented"
    );
}

#[test]
fn port_in_use_is_reported() {
    let dir = data_dir();
    let first = Server::start(dir.path());
    let other = data_dir();
    let err = Server::launch(
        other.path(),
        Launch {
            listen: Some(first.addr.to_string()),
            ..Default::default()
        },
    )
    .err()
    .expect("second server must not start");
    assert!(
        err.contains(&first.addr.to_string()) && err.contains("another program"),
        "{err}"
    );
    assert!(first.stop().success());
}

#[test]
fn doctor_reports_ok_then_finds_damage() {
    let dir = data_dir();
    let d = dir.path();
    let server = Server::start(d);
    assert!(server.stop().success());
    let out = holdfast(d, &["doctor"]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}");
    for check in [
        "config",
        "data dir",
        "master key",
        "certificate",
        "instance default",
        "free disk",
    ] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with("OK") && l.contains(check)),
            "{check}: {report}"
        );
    }
    let db = d.join("instances/default/db.sqlite");
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 8192);
    for b in &mut bytes[4096 + 100..4096 + 140] {
        *b ^= 0x5a;
    }
    std::fs::write(&db, bytes).unwrap();
    let out = holdfast(d, &["doctor"]);
    let report = text(&out.stdout);
    assert!(!out.status.success(), "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("FAIL instance default")),
        "{report}"
    );

    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let report = text(&holdfast(d, &["doctor"]).stdout);
    assert!(report.contains("FAIL data dir"), "{report}");
}

#[test]
fn systemd_notify_ready_watchdog_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = data_dir();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let server = Server::launch(
        dir.path(),
        Launch {
            env: vec![
                ("NOTIFY_SOCKET", sock_path.display().to_string()),
                ("WATCHDOG_USEC", "400000".into()),
            ],
            ..Default::default()
        },
    )
    .unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 512];
    while !(seen.contains("READY=1") && seen.contains("WATCHDOG=1")) {
        let n = sock.recv(&mut buf).expect("notification");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        seen.push('\n');
    }
    // Before it is ready, the server asks for more start-up time while it opens the instances (a
    // long migration must not run into TimeoutStartSec).
    let extend = seen.find("EXTEND_TIMEOUT_USEC=30000000");
    assert!(
        extend.is_some_and(|at| seen.find("READY=1").is_some_and(|ready| at < ready)),
        "{seen}"
    );
    nix::sys::signal::kill(server.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    while !seen.contains("STOPPING=1") {
        let n = sock.recv(&mut buf).expect("stopping notification");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        server
            .wait_for_line("stopped", Duration::from_secs(30))
            .is_some()
    );
    assert!(server.stop().success());
}

#[tokio::test]
async fn admin_certificate_and_redirect_listener() {
    let dir = data_dir();
    let d = dir.path();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["hub.example.test".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(d.join("own.pem"), cert.pem()).unwrap();
    std::fs::write(d.join("own.key"), key.serialize_pem()).unwrap();
    let cfg = d.join("holdfast.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nredirect_listen = \"127.0.0.1:0\"\n[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            d.join("own.pem").display(),
            d.join("own.key").display()
        ),
    )
    .unwrap();
    let server = Server::launch(
        d,
        Launch {
            args: vec!["--config".into(), cfg.display().to_string()],
            ..Default::default()
        },
    )
    .unwrap();
    let c = Client::trusting(cert.pem().as_bytes(), "hub.example.test", server.addr);
    assert_eq!(c.get("hub.example.test", "/healthz").await.status, 200);
    assert!(
        !d.join("tls/cert.pem").exists(),
        "no self-signed certificate when the admin supplies one"
    );

    let line = server.log();
    let redirect_addr = line
        .lines()
        .find(|l| l.contains("HTTP redirect listener on"))
        .and_then(|l| l.split("127.0.0.1:").nth(1))
        .map(|p| {
            p.chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
        })
        .expect("redirect listener address in log");
    let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{redirect_addr}")).unwrap();
    s.write_all(
        b"GET /some/page?x=1 HTTP/1.1\r\nHost: hub.example.test\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 308"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains(&format!(
            "location: https://hub.example.test:{}/some/page?x=1",
            server.addr.port()
        )),
        "{answer}"
    );
    assert!(server.stop().success());
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let pem = std::fs::read(dir.path().join("tls/cert.pem")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = server.addr;
    let pid = server.pid();
    let answer = rt.block_on(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let c = Client::trusting(&pem, "localhost", addr);
        let mut tls = c.tls().await.unwrap();
        let body = br#"{"username":"someone","password":"not the password"}"#;
        let head = format!(
            "POST /api/v1/session HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        tls.write_all(head.as_bytes()).await.unwrap();
        tls.write_all(&body[..10]).await.unwrap();
        tls.flush().await.unwrap();
        // The request is half-way in when the stop signal arrives.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        tls.write_all(&body[10..]).await.unwrap();
        tls.flush().await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(20), tls.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    });
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "the request in flight was cut off: {answer:?}"
    );
    assert!(server.stop().success());
}

/// Defects from the operator drill: the self-signed certificate named no address the server was
/// reached on besides loopback (a LAN address failed the browser's name check), and checking its
/// fingerprint needed `openssl`. Now it names the listen address (every interface address for a
/// wildcard listen), and `holdfast doctor` prints the SHA-256 fingerprint.
#[test]
fn the_self_signed_certificate_names_the_listen_address_and_doctor_prints_its_fingerprint() {
    let dir = data_dir();
    let d = dir.path();
    let server = Server::launch(
        d,
        Launch {
            listen: Some("127.0.0.2:0".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let pem = std::fs::read(d.join("tls/cert.pem")).unwrap();
    let der = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .next()
        .unwrap()
        .unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    let ips: Vec<String> = san
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::IPAddress(b) if b.len() == 4 => {
                Some(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string())
            }
            _ => None,
        })
        .collect();
    assert!(ips.contains(&"127.0.0.2".to_string()), "{ips:?}");

    let doctor = holdfast(d, &["doctor"]);
    let said = text(&doctor.stdout);
    let expected: String = {
        use sha2::Digest;
        sha2::Sha256::digest(der.as_ref())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    assert!(said.contains(&format!("SHA-256 {expected}")), "{said}");
    assert!(server.stop().success());
}
