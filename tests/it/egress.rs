//! The one egress path (issue 15): the integrations page lists every destination and every flow
//! out of the appliance, with since when and the last success, for administrators only.

use crate::hub_support::*;
use std::time::Duration;

/// The `<tr>` of the integrations table that mentions `needle`.
fn row<'a>(page: &'a str, needle: &str) -> &'a str {
    page.split("<tr>")
        .find(|r| r.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle} in {page}"))
}

#[tokio::test]
async fn the_integrations_page_lists_every_flow_out_and_only_administrators_see_it() {
    // A syslog collector on another loopback address (it only needs to accept), a mail relay
    // address nothing listens on, and a webhook endpoint.
    let collector = tokio::net::TcpListener::bind("127.0.0.3:0").await.unwrap();
    let syslog = collector.local_addr().unwrap();
    let quiet = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let relay = quiet.local_addr().unwrap();
    drop(quiet);
    let env = Env::with_config(Some(&format!(
        "[audit]\nforward_host = \"127.0.0.3\"\nforward_port = {}\nforward_tls = false\n\
         [mail]\nsmtp_host = \"127.0.0.2\"\nsmtp_port = {}\ntls = \"none\"\nfrom = \"holdfast@example.test\"\n",
        syslog.port(),
        relay.port()
    )));
    let hook = "http://127.0.0.1:9/hook";
    env.ok(&[
        "admin",
        "webhook",
        "add",
        "--url",
        hook,
        "--events",
        "*",
        "--scopes",
        "clients:read",
        "--allow-http",
    ]);
    // The forwarder connects to the collector on start: that is the syslog flow's last success.
    let (_conn, _) = tokio::time::timeout(Duration::from_secs(30), collector.accept())
        .await
        .expect("the configured collector is reached")
        .unwrap();

    let admin = env.admin().await;
    let mut page = String::new();
    // The success is noted right after the connection is made; a few reads at most.
    for _ in 0..50 {
        let r = admin.get("/admin/integrations").await;
        assert_eq!(r.status, 200, "{}", r.body);
        page = r.body;
        if !row(&page, &syslog.to_string()).contains("never") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = row(&page, &syslog.to_string());
    assert!(!s.contains("never"), "syslog last success: {s}");
    assert!(s.contains("syslog"), "{s}");
    let m = row(&page, &relay.to_string());
    assert!(m.contains("(none)") && m.contains("never"), "{m}");
    assert!(m.contains("/admin/mail"), "{m}");
    let w = row(&page, hook);
    assert!(w.contains("/admin/webhooks/"), "{w}");
    assert!(row(&page, "/admin/feeds").contains("forbidden"));
    assert!(row(&page, "[metrics]").contains("not configured"));
    // Reached from the administration index.
    assert!(
        admin
            .get("/admin")
            .await
            .body
            .contains("/admin/integrations")
    );

    // Someone who is not an administrator is refused.
    group(&admin, "planners", &["tasks:view"]).await;
    env.add_user("anna", "planners", USER_PW);
    let anna = env.session("anna", USER_PW).await;
    let r = anna.get("/admin/integrations").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!r.body.contains(hook));
}

#[tokio::test]
async fn doctor_network_tries_every_destination_and_names_the_unreachable_one() {
    // Mail over implicit TLS to a sink whose CA the configuration names, a syslog collector on
    // another loopback address where nothing listens, and a plain-http webhook receiver.
    let (sink, ca_pem) = crate::smtp_sink::SmtpSink::start_implicit_tls();
    let files = tempfile::tempdir().unwrap();
    let ca = files.path().join("relay-ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let gone = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let closed = gone.local_addr().unwrap();
    drop(gone);
    let receiver = tokio::net::TcpListener::bind("127.0.0.3:0").await.unwrap();
    let hook = format!("http://{}/hook", receiver.local_addr().unwrap());
    let env = Env::with_config(Some(&format!(
        "[audit]\nforward_host = \"127.0.0.2\"\nforward_port = {}\nforward_tls = false\n\
         [mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"tls\"\nca_file = \"{}\"\n\
         from = \"holdfast@example.test\"\n",
        closed.port(),
        sink.addr().port(),
        ca.display()
    )));
    env.ok(&[
        "admin",
        "webhook",
        "add",
        "--url",
        &hook,
        "--events",
        "*",
        "--scopes",
        "clients:read",
        "--allow-http",
    ]);

    let out = env.console(&["doctor", "--network"]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !out.status.success(),
        "an unreachable destination fails the doctor:\n{report}"
    );
    let line = |needle: &str| {
        report
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle}:\n{report}"))
            .to_string()
    };
    let mail = line(&format!(
        "network mail relay 127.0.0.1:{} (tls)",
        sink.addr().port()
    ));
    assert!(mail.starts_with("OK"), "{mail}");
    assert!(mail.contains("TLS verified, certificate valid"), "{mail}");
    let syslog = line(&format!("network syslog collector {closed}"));
    assert!(
        syslog.starts_with("FAIL") && syslog.contains("unreachable"),
        "{syslog}"
    );
    let w = line(&hook);
    assert!(w.starts_with("OK") && w.contains("reachable"), "{w}");
    assert!(line("network calendar feeds default").contains("forbidden"));
    assert!(line("network metrics listener").contains("not configured"));
}

/// A server whose mail goes to `sink` in `mode`, trusting `ca_pem`, authenticating as `hub`.
fn mail_env(
    files: &std::path::Path,
    sink: &crate::smtp_sink::SmtpSink,
    mode: &str,
    ca_pem: &str,
) -> Env {
    let ca = files.join(format!("relay-ca-{mode}.pem"));
    std::fs::write(&ca, ca_pem).unwrap();
    let pw = files.join(format!("relay-pw-{mode}"));
    std::fs::write(&pw, "relay-secret\n").unwrap();
    Env::with_config(Some(&format!(
        "[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"{mode}\"\nca_file = \"{}\"\n\
         username = \"hub\"\npassword_file = \"{}\"\nfrom = \"holdfast@example.test\"\n",
        sink.addr().port(),
        ca.display(),
        pw.display()
    )))
}

#[tokio::test]
async fn mail_through_the_gate_is_encrypted_with_starttls_and_implicit_tls_and_verified() {
    use crate::smtp_sink::SmtpSink;
    let files = tempfile::tempdir().unwrap();
    for (mode, (sink, ca_pem)) in [
        ("starttls", SmtpSink::start_starttls()),
        ("tls", SmtpSink::start_implicit_tls()),
    ] {
        let env = mail_env(files.path(), &sink, mode, &ca_pem);
        let admin = env.admin().await;
        let to = format!("officer-{mode}@example.test");
        let r = admin.form("/admin/mail/test", &[("to", to.as_str())]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let got = sink
            .wait_for(|m| m.to.contains(&to), Duration::from_secs(30))
            .unwrap_or_else(|| panic!("{mode}: no test mail reached the relay"));
        assert!(got.tls, "{mode}: the message travelled in clear");
        assert_eq!(got.auth_user.as_deref(), Some("hub"), "{mode}");
    }

    // A relay whose certificate the configured CA did not sign: the connection is made through
    // the gate, the TLS verification fails, and no mail and no password reach it.
    for (mode, (sink, _own_ca)) in [
        ("starttls", SmtpSink::start_starttls()),
        ("tls", SmtpSink::start_implicit_tls()),
    ] {
        let (_other, foreign_ca) = SmtpSink::start_implicit_tls();
        let env = mail_env(files.path(), &sink, mode, &foreign_ca);
        let out = env.console(&["doctor", "--network"]);
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!out.status.success(), "{mode}:\n{report}");
        let line = report
            .lines()
            .find(|l| l.contains("network mail relay"))
            .unwrap_or_else(|| panic!("{mode}: no mail line:\n{report}"));
        assert!(
            line.starts_with("FAIL") && line.contains("TLS"),
            "{mode}: {line}"
        );
        assert!(sink.connections() >= 1, "{mode}: the relay was not tried");
        assert!(sink.messages().is_empty(), "{mode}");
        assert!(
            sink.auth_users().is_empty(),
            "{mode}: AUTH without verified TLS"
        );
    }
}
