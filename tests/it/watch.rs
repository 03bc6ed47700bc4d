//! The watch over the security log (issue 14): each test is an attack or a fault against a real
//! server, and checks the alert it raises, where it is delivered (mail, syslog, the Alerts page,
//! the console, the doctor) and that people without admin rights can neither see nor change it.
//! Schedules are shortened by configuration; nothing sleeps for a fixed time or asserts timings.

use crate::app::TestApp;
use crate::identity_support::*;
use crate::support::*;
use serde_json::Value;
use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// The watch reads new rows every 100 ms and runs its checks every second.
const FAST: &str = "[alerts]\nscan_interval_ms = 100\ncheck_interval_seconds = 1\n";
const WAIT: Duration = Duration::from_secs(30);

/// `admin alerts --json`: every alert, open ones first.
fn alerts(hub: &Hub) -> Vec<Value> {
    hub.ok(&["admin", "alerts", "--json"])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of_rule(hub: &Hub, rule: &str) -> Vec<Value> {
    alerts(hub)
        .into_iter()
        .filter(|a| a["rule"] == rule)
        .collect()
}

/// Waits until an alert of `rule` exists and returns it (the newest).
async fn wait_alert(hub: &Hub, rule: &str) -> Value {
    let mut found = None;
    let ok = eventually(WAIT, || {
        found = of_rule(hub, rule).into_iter().next();
        let done = found.is_some();
        async move { done }
    })
    .await;
    assert!(ok, "no {rule} alert; alerts: {:?}", alerts(hub));
    found.unwrap()
}

/// Reads the syslog stream until `needle` appears (bounded by a deadline).
fn read_syslog_until(listener: &TcpListener, needle: &str) -> String {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + WAIT;
    let mut sock = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("the forwarder never connected: {e}"),
        }
    };
    sock.set_nonblocking(false).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    while Instant::now() < deadline && !String::from_utf8_lossy(&got).contains(needle) {
        if let Ok(n) = sock.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn password_spraying_raises_exactly_one_alert_mailed_to_admins_and_sent_to_syslog() {
    let syslog = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = syslog.local_addr().unwrap().port();
    let hub = Hub {
        app: TestApp::builder()
            .with_mail()
            .with_admin()
            .config(&format!(
                "{FAST}spray_accounts = 5\n[audit]\nforward_host = \"127.0.0.1\"\nforward_port = {port}\nforward_tls = false\n"
            ))
            .start(),
    };
    // One address tries one password against 20 accounts; the throttle refuses part of them.
    for i in 0..20 {
        let r = hub
            .sign_in(&format!("sprayed-{i:02}"), "Winter2026! everyone's")
            .await;
        assert!(
            r.status == 401 || r.status == 429,
            "{} {}",
            r.status,
            r.body
        );
    }
    let alert = wait_alert(&hub, "password_spraying").await;
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["state"], "open");
    assert_eq!(alert["subject"], "address 127.0.0.1");
    assert!(
        alert["log_filter"]
            .as_str()
            .unwrap()
            .contains("source=127.0.0.1")
    );
    assert_eq!(
        of_rule(&hub, "password_spraying").len(),
        1,
        "repeats fold into the open alert"
    );

    let mail = hub.wait_mail(ADMIN_EMAIL, "password_spraying");
    assert!(mail.body().contains("127.0.0.1"), "{}", mail.body());

    // The alert reaches the SIEM with its severity: authpriv (10) * 8 + error (3) = 83.
    let text = read_syslog_until(&syslog, "\"rule\":\"password_spraying\"");
    let line = text
        .split("<83>1 ")
        .skip(1)
        .find(|m| m.contains("alert_raised") && m.contains("password_spraying"))
        .unwrap_or_else(|| panic!("no alert_raised at severity 3 in the stream: {text}"));
    assert!(line.contains("password_spraying"), "{line}");

    // The raise itself is in the security log.
    let raised = hub.audit_rows("alert_raised", None);
    assert!(
        raised.iter().any(|r| r["details"]
            .as_str()
            .unwrap_or_default()
            .contains("password_spraying")),
        "{raised:?}"
    );
}

#[tokio::test]
async fn admin_sign_in_from_a_new_address_raises_once_and_only_admins_see_and_change_alerts() {
    let hub = Hub {
        app: TestApp::builder().with_admin().config(FAST).start(),
    };
    const NORA_PW: &str = "quarry lantern staple 52 fig";
    hub.add_user("nora", &["users"], NORA_PW);
    let admin = hub.signed_in(ADMIN, ADMIN_PW).await;
    let other = ip("127.0.0.2");
    let r = hub.sign_in_from(other, ADMIN, ADMIN_PW).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let alert = wait_alert(&hub, "admin_new_address").await;
    assert_eq!(alert["subject"], format!("{ADMIN} from 127.0.0.2"));
    assert_eq!(alert["count"], 1);
    let id = alert["id"].as_i64().unwrap();

    // The same address again, then a weakened policy as a marker: once the marker's alert is
    // there, the watch has read the second sign-in (it reads rows in order).
    let r = hub.sign_in_from(other, ADMIN, ADMIN_PW).await;
    assert_eq!(r.status, 200, "{}", r.body);
    hub.policy("session_idle_minutes=60");
    wait_alert(&hub, "policy_weakened").await;
    let again = of_rule(&hub, "admin_new_address");
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["count"], 1, "a known address raised again");
    // The first address (where the admin signed in first) raised nothing either.
    assert!(
        again
            .iter()
            .all(|a| a["subject"] != format!("{ADMIN} from 127.0.0.1"))
    );

    // A person without admin rights sees no alerts and cannot change one.
    let nora = hub.signed_in("nora", NORA_PW).await;
    let nora_csrf = json_of(&hub.whoami(&nora).await)["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let page = hub.get("/admin/alerts", Some(&nora)).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(!page.body.contains("Administrator from a new address"));
    let cookie = format!("{SESSION}={nora}");
    let r = hub
        .form(
            &format!("/admin/alerts/{id}/close"),
            &cookie,
            &[("csrf", &nora_csrf)],
            &[("origin", &hub.origin)],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let home = hub.get("/", Some(&nora)).await;
    assert!(
        !home.body.contains("open alert"),
        "badge shown to a non-admin"
    );
    assert_eq!(
        of_rule(&hub, "admin_new_address")[0]["state"],
        "open",
        "a non-admin changed an alert"
    );

    // The admin sees it (and the badge), acknowledges it on the console and closes it on the page.
    let page = hub.get("/admin/alerts", Some(&admin)).await;
    assert_eq!(page.status, 200);
    // The rule by its name in words, the badge counting what is open.
    assert!(
        page.body.contains("Administrator from a new address"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<a href=\"/admin/alerts\" class=\"tag bad\">")
            && page.body.contains(" open alert"),
        "no badge for the admin"
    );
    // The events behind it: a link to the security log with the filter applied.
    let link = format!("/admin/log?type=login_succeeded&user={ADMIN}&source=127.0.0.2");
    assert!(
        ["&amp;", "&#38;"].iter().any(|amp| page
            .body
            .contains(&format!("href=\"{}\"", link.replace('&', amp)))),
        "no link to the filtered log: {}",
        page.body
    );
    let log = hub.get(&link, Some(&admin)).await;
    assert_eq!(log.status, 200, "{}", log.body);
    assert!(log.body.contains("127.0.0.2"), "{}", log.body);
    let refused = hub.refused(&["admin", "alerts", "ack", &id.to_string(), "--note", " "]);
    assert!(refused.contains("note"), "{refused}");
    hub.ok(&[
        "admin",
        "alerts",
        "ack",
        &id.to_string(),
        "--note",
        "root travelling, confirmed by phone",
    ]);
    let csrf = hidden_field(&page.body, "csrf").expect("csrf field");
    let admin_cookie = format!("{SESSION}={admin}");
    let r = hub
        .form(
            &format!("/admin/alerts/{id}/close"),
            &admin_cookie,
            &[("csrf", &csrf)],
            &[("origin", &hub.origin)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let closed = of_rule(&hub, "admin_new_address");
    assert_eq!(closed[0]["state"], "closed");
    assert_eq!(closed[0]["note"], "root travelling, confirmed by phone");

    // The rules' thresholds: only an admin changes them, within their ranges, and it is logged.
    let r = hub
        .form(
            "/admin/alerts/rules",
            &cookie,
            &[("csrf", &nora_csrf), ("spray_accounts", "1000")],
            &[("origin", &hub.origin)],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = hub
        .form(
            "/admin/alerts/rules",
            &admin_cookie,
            &[("csrf", &csrf), ("spray_accounts", "1")],
            &[("origin", &hub.origin)],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("2–1000"), "{}", r.body);
    assert!(hub.audit_rows("alert_rules_changed", None).is_empty());
    let r = hub
        .form(
            "/admin/alerts/rules",
            &admin_cookie,
            &[("csrf", &csrf), ("spray_accounts", "7")],
            &[("origin", &hub.origin)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let changed = hub.audit_rows("alert_rules_changed", None);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["actor"], ADMIN);
    assert!(
        changed[0]["details"]
            .as_str()
            .unwrap()
            .contains(r#""spray_accounts":{"from":10,"to":7}"#),
        "{changed:?}"
    );

    // Both state changes are in the security log, with who made them.
    let ack = hub.audit_rows("alert_acknowledged", Some(&format!("alert {id}")));
    assert_eq!(ack.len(), 1, "{ack:?}");
    assert_eq!(ack[0]["actor_kind"], "console");
    assert!(
        ack[0]["details"]
            .as_str()
            .unwrap()
            .contains("confirmed by phone")
    );
    let close = hub.audit_rows("alert_closed", Some(&format!("alert {id}")));
    assert_eq!(close.len(), 1, "{close:?}");
    assert_eq!(close[0]["actor"], ADMIN);
}

#[tokio::test]
async fn support_sign_in_weakened_policy_and_a_token_from_a_new_address_raise_alerts() {
    let hub = Hub {
        app: TestApp::builder()
            .with_mail()
            .with_admin()
            .config(FAST)
            .start(),
    };
    // Vendor support signs in (e-mailed code, then its own password).
    let out = hub.ok(&[
        "admin",
        "support",
        "grant",
        "--hours",
        "2",
        "--from",
        "127.0.0.1/32",
        "--name",
        "vendor1",
        "--email",
        "vendor1@example.test",
    ]);
    let r = hub.sign_in("vendor1", &temporary_password(&out)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = hub.wait_code("vendor1@example.test", 0);
    let r = hub.code(&session_cookie(&r).unwrap(), &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = hub
        .change_password(
            &session_cookie(&r).unwrap(),
            None,
            "vendor engineer staple 77 kiwi",
        )
        .await;
    assert_eq!(json_of(&r)["status"], "signed_in", "{}", r.body);
    let vendor = session_cookie(&r).unwrap();
    let support = wait_alert(&hub, "support_activity").await;
    assert_eq!(support["subject"], "vendor1");
    assert_eq!(support["severity"], "high");
    hub.wait_mail(ADMIN_EMAIL, "support_activity");
    // Every action it takes folds into the same alert, which names the latest one.
    let seen = support["count"].as_i64().unwrap();
    let csrf = json_of(&hub.whoami(&vendor).await)["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let cookie = format!("{SESSION}={vendor}");
    let r = hub
        .req(
            "POST",
            "/api/v1/clients",
            &[
                ("cookie", cookie.as_str()),
                ("content-type", "application/json"),
                ("x-csrf-token", csrf.as_str()),
            ],
            br#"{"name":"Made by vendor support"}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut folded = Value::Null;
    let ok = eventually(WAIT, || {
        folded = of_rule(&hub, "support_activity")
            .into_iter()
            .next()
            .unwrap_or_default();
        let done = folded["count"].as_i64().unwrap_or(0) > seen
            && folded["summary"]
                .as_str()
                .unwrap_or_default()
                .contains("Record created — clients/");
        async move { done }
    })
    .await;
    assert!(ok, "the support account's action was not watched: {folded}");
    assert_eq!(of_rule(&hub, "support_activity").len(), 1);

    // A stronger policy raises nothing; a weaker one does.
    hub.policy("password_min_length=16");
    hub.policy("password_min_length=8");
    let weak = wait_alert(&hub, "policy_weakened").await;
    assert_eq!(weak["subject"], "password_min_length");
    assert!(
        weak["summary"].as_str().unwrap().contains("16 → 8"),
        "{weak}"
    );
    assert_eq!(of_rule(&hub, "policy_weakened")[0]["count"], 1);

    // A token is created, used from its first address, then from another one.
    let out = hub.ok(&[
        "admin",
        "token",
        "create",
        "--service",
        "erp-sync",
        "--scopes",
        "clients:view",
    ]);
    let token = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("hft_"))
        .unwrap_or_else(|| panic!("no token in {out}"))
        .to_string();
    wait_alert(&hub, "token_created").await;
    let bearer = format!("Bearer {token}");
    let r = hub
        .req("GET", "/api/v1/clients", &[("authorization", &bearer)], b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(of_rule(&hub, "token_new_address").is_empty());
    let r = hub
        .req_from(
            ip("127.0.0.2"),
            "GET",
            "/api/v1/clients",
            &[("authorization", &bearer)],
            b"",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t = wait_alert(&hub, "token_new_address").await;
    assert_eq!(t["subject"], "token erp-sync");
    assert!(t["summary"].as_str().unwrap().contains("127.0.0.2"), "{t}");
}

/// Edits one security-log row the way an attacker with the database key would: the trigger
/// dropped, the row changed, the chain not recomputed.
fn tamper(data_dir: &std::path::Path, target: &str) -> i64 {
    let (master, _) = holdfast::keys::load(data_dir, false).unwrap();
    let inst = holdfast::instances::open(data_dir, &master, "default", Default::default()).unwrap();
    let key = inst.db_key.to_hex();
    let path = inst.dir.join("db.sqlite");
    drop(inst);
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.expose()))
        .unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let id: i64 = conn
        .query_row(
            "SELECT id FROM audit_log WHERE target = ?1 ORDER BY id LIMIT 1",
            [target],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch("DROP TRIGGER audit_log_no_update;")
        .unwrap();
    conn.execute(
        "UPDATE audit_log SET target = 'nothing-happened' WHERE id = ?1",
        [id],
    )
    .unwrap();
    id
}

#[tokio::test]
async fn a_tampered_log_row_raises_a_critical_alert_that_the_doctor_reports() {
    let hub = Hub {
        app: TestApp::builder().with_admin().config(FAST).start(),
    };
    let r = hub
        .sign_in("evidence-account", "not the password 123")
        .await;
    assert_eq!(r.status, 401);
    assert!(
        eventually(WAIT, || {
            let n = hub
                .audit_rows("login_failed", Some("evidence-account"))
                .len();
            async move { n == 1 }
        })
        .await
    );
    let before = text(&hub.console(&["doctor"]).stdout);
    assert!(!before.contains("critical"), "{before}");
    let id = tamper(hub.data(), "evidence-account");

    let alert = wait_alert(&hub, "log_chain_broken").await;
    assert_eq!(alert["severity"], "critical");
    assert!(
        alert["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("row {id}")),
        "{alert}"
    );
    let doctor = hub.console(&["doctor"]);
    assert!(!doctor.status.success(), "the doctor passed a broken chain");
    let text = text(&doctor.stdout);
    assert!(text.contains("1 critical"), "{text}");
}
