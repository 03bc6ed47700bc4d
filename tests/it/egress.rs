//! The one egress path (issue 15): the integrations page lists every destination and every flow
//! out of the appliance, with since when and the last success, for administrators only.

use crate::hub_support::*;
use crate::support::*;
use std::time::Duration;

/// The `<tr>` of the integrations table that mentions `needle`.
fn row<'a>(page: &'a str, needle: &str) -> &'a str {
    page.split("<tr>")
        .find(|r| r.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle} in {page}"))
}

fn unescape(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Each line of the integrations table: (what, to where), as the page shows them.
fn page_lines(page: &str) -> Vec<(String, String)> {
    page.split("<tr>")
        .filter(|r| r.contains("<td"))
        .map(|r| {
            let what = r
                .split_once("<td")
                .and_then(|(_, rest)| rest.split_once('>'))
                .and_then(|(_, rest)| rest.split_once("</td>"))
                .map(|(w, _)| unescape(w.trim()))
                .unwrap_or_else(|| panic!("no first cell in {r}"));
            let to = r
                .split_once("<code>")
                .and_then(|(_, rest)| rest.split_once("</code>"))
                .map(|(t, _)| unescape(t.trim()))
                .unwrap_or_else(|| panic!("no destination in {r}"));
            (what, to)
        })
        .collect()
}

/// How many times are shown in a row (since when, last success).
fn times(row: &str) -> usize {
    row.matches("<time").count()
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
         [mail]\nsmtp_host = \"127.0.0.2\"\nsmtp_port = {}\ntls = \"none\"\nfrom = \"holdfast@example.test\"\n\
         [metrics]\nlisten = \"127.0.0.1:0\"\n",
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
    // Untouched feeds and metrics: forbidden, and never scraped.
    let page = admin.get("/admin/integrations").await.body;
    let f = row(&page, "/admin/feeds");
    assert!(f.contains("forbidden") && times(f) == 0, "{f}");
    let m = row(&page, "[metrics]");
    assert!(m.contains("never") && times(m) == 0, "{m}");
    // Feeds allowed, one person's feed fetched; the metrics listener scraped; a backup made.
    let r = admin.form("/admin/feeds", &[("allowed", "1")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin.form("/account/calendar", &[("action", "on")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let feed = input_value(&r.body, "feed_url")
        .and_then(|u| u.split_once("/feed/").map(|(_, p)| format!("/feed/{p}")))
        .unwrap_or_else(|| panic!("no feed URL in {}", r.body));
    assert_eq!(env.anonymous().get(&feed).await.status, 200);
    let log = env.server.log();
    let metrics: std::net::SocketAddr = log
        .lines()
        .find_map(|l| l.split("metrics endpoint on https://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no metrics listener in the log:\n{log}"));
    let scrape = Client::trusting(&env.app.ca_pem, "localhost", metrics)
        .request("GET", "localhost", "/metrics", &[], b"")
        .await;
    assert_eq!(scrape.status, 200);
    env.ok(&["backup", "run"]);
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
    // Feeds: allowed since the administrator's switch, last used by the fetch.
    let f = row(&page, "/admin/feeds");
    assert!(f.contains("allowed") && !f.contains("never"), "{f}");
    assert_eq!(times(f), 2, "since when and last use: {f}");
    // Metrics: first and newest scrape.
    let m = row(&page, "[metrics]");
    assert!(m.contains("127.0.0.1:0") && !m.contains("never"), "{m}");
    assert_eq!(times(m), 2, "first and last scrape: {m}");
    // Backups: where the encrypted archives go, and the last successful one.
    let b = row(&page, "backups/local");
    assert!(b.contains("/admin/backups") && !b.contains("never"), "{b}");
    assert_eq!(times(b), 1, "the last backup: {b}");
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
    let w = line(&format!("network webhook default #1 {hook}"));
    assert!(w.starts_with("OK") && w.contains("reachable"), "{w}");

    // Then the integrations page's list, line for line: what, to where, since, last success.
    let admin = env.admin().await;
    let page = admin.get("/admin/integrations").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let listed = page_lines(&page.body);
    // Mail, syslog, the webhook, feeds, metrics, the backup destination.
    assert_eq!(listed.len(), 6, "{listed:?}");
    let flows: Vec<&str> = report
        .lines()
        .filter(|l| l.contains(" network flow default: "))
        .collect();
    assert_eq!(flows.len(), listed.len(), "{report}");
    for ((what, to), flow) in listed.iter().zip(&flows) {
        assert!(
            flow.contains(&format!("network flow default: {what}: to {to} · ")),
            "the page's `{what}` → `{to}` is not the doctor's {flow}"
        );
        assert!(
            flow.contains(" · since ") && flow.contains(" · last success "),
            "{flow}"
        );
    }
    let hooked = flows.iter().find(|l| l.contains(&hook)).unwrap();
    assert!(hooked.contains("since 20"), "{hooked}");
    assert!(hooked.ends_with("last success never"), "{hooked}");
    let feeds = flows.iter().find(|l| l.contains("Calendar feeds")).unwrap();
    assert!(feeds.contains("forbidden"), "{feeds}");
    let metrics = flows.iter().find(|l| l.contains("Metrics")).unwrap();
    assert!(metrics.contains("not configured"), "{metrics}");
    let backups = flows.iter().find(|l| l.contains("backups/local")).unwrap();
    assert!(backups.ends_with("last success never"), "{backups}");
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
