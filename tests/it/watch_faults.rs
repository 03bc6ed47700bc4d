//! The watch's remaining rules against a real server (issue 14): a lockout wave, the digest of
//! alerts below high severity, failed and stale backups and a failed verification restore, a
//! certificate about to expire, low free disk, a mass export, and rights granted. Each fault is
//! checked with its negative (below the threshold, or the harmless variant) where that is cheap.
//! "Nothing was raised" is only asserted once a later alert proves the watch got past that point.

use crate::app::{Console, TestApp, data_dir};
use crate::hub_support::{Env, csv_column, group};
use crate::identity_support::*;
use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The watch reads new rows every 100 ms and runs its checks every second.
const FAST: &str = "[alerts]\nscan_interval_ms = 100\ncheck_interval_seconds = 1\n";
const WAIT: Duration = Duration::from_secs(30);

/// `admin alerts --json`: every alert, open ones first.
fn alerts(c: &Console) -> Vec<Value> {
    c.ok(&["admin", "alerts", "--json"])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of_rule(c: &Console, rule: &str) -> Vec<Value> {
    alerts(c)
        .into_iter()
        .filter(|a| a["rule"] == rule)
        .collect()
}

/// Waits until an alert of `rule` whose subject satisfies `subject` exists, and returns it.
async fn wait_alert_where(c: &Console, rule: &str, subject: impl Fn(&str) -> bool) -> Value {
    let mut found = None;
    let ok = eventually(WAIT, || {
        found = of_rule(c, rule)
            .into_iter()
            .find(|a| subject(a["subject"].as_str().unwrap_or_default()));
        let done = found.is_some();
        async move { done }
    })
    .await;
    assert!(ok, "no matching {rule} alert; alerts: {:?}", alerts(c));
    found.unwrap()
}

async fn wait_alert(c: &Console, rule: &str) -> Value {
    wait_alert_where(c, rule, |_| true).await
}

/// A weakened policy as a marker: the watch reads rows in order, so once the marker has raised
/// (or folded into) its alert, every row written before it has been evaluated.
async fn marker(c: &Console) {
    let count = || {
        of_rule(c, "policy_weakened")
            .first()
            .and_then(|a| a["count"].as_i64())
            .unwrap_or(0)
    };
    let before = count();
    c.ok(&["admin", "policy", "set", "password_min_length=16"]);
    c.ok(&["admin", "policy", "set", "password_min_length=8"]);
    let ok = eventually(WAIT, || {
        let n = count();
        async move { n > before }
    })
    .await;
    assert!(ok, "the marker alert never came; alerts: {:?}", alerts(c));
}

#[tokio::test]
async fn a_wave_of_lockouts_raises_one_alert_and_fewer_locked_accounts_raise_none() {
    let hub = Hub {
        app: TestApp::builder()
            .with_admin()
            .config(&format!("{FAST}lockout_accounts = 3\n"))
            .start(),
    };
    hub.policy("lockout_threshold=3");
    const PW: &str = "granite willow tunnel 83 pear";
    for u in ["wave-a", "wave-b", "wave-c"] {
        hub.add_user(u, &["users"], PW);
    }
    // Each account is guessed at from its own address: no address sprays, only accounts lock.
    async fn lock(hub: &Hub, user: &str, from: &str) {
        for i in 0..3 {
            let r = hub
                .sign_in_from(ip(from), user, &format!("not it {i} {user}"))
                .await;
            assert_eq!(r.status, 401, "{}", r.body);
        }
        assert!(hub.user_state(user).contains("locked"), "{user} not locked");
    }
    lock(&hub, "wave-a", "127.0.0.11").await;
    lock(&hub, "wave-b", "127.0.0.12").await;
    marker(&hub).await;
    assert!(
        of_rule(&hub, "lockout_wave").is_empty(),
        "two locked accounts (threshold 3) raised a wave"
    );

    lock(&hub, "wave-c", "127.0.0.13").await;
    let wave = wait_alert(&hub, "lockout_wave").await;
    assert_eq!(wave["severity"], "high");
    assert_eq!(wave["subject"], "instance");
    assert_eq!(wave["count"], 1);
    assert!(
        wave["log_filter"]
            .as_str()
            .unwrap()
            .contains("type=account_locked"),
        "{wave}"
    );
    assert_eq!(of_rule(&hub, "lockout_wave").len(), 1);
    assert!(
        of_rule(&hub, "password_spraying").is_empty(),
        "one guess series per address is not spraying"
    );
}

/// The other face of spraying: one account guessed at from many addresses (a botnet), each
/// address trying once.
#[tokio::test]
async fn one_account_guessed_from_many_addresses_raises_spraying_and_fewer_do_not() {
    let hub = Hub {
        app: TestApp::builder()
            .with_admin()
            .config(&format!(
                "{FAST}spray_addresses = 3
"
            ))
            .start(),
    };
    for from in ["127.0.0.21", "127.0.0.22"] {
        let r = hub
            .sign_in_from(ip(from), "payroll", "Spring2026! from the net")
            .await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    marker(&hub).await;
    assert!(
        of_rule(&hub, "password_spraying").is_empty(),
        "two addresses (threshold 3) raised spraying"
    );
    let r = hub
        .sign_in_from(ip("127.0.0.23"), "payroll", "Spring2026! from the net")
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let alert = wait_alert(&hub, "password_spraying").await;
    assert_eq!(alert["subject"], "account payroll");
    assert_eq!(alert["severity"], "high");
    assert!(
        alert["log_filter"]
            .as_str()
            .unwrap()
            .contains("user=payroll"),
        "{alert}"
    );
}

#[tokio::test]
async fn alerts_below_high_severity_reach_the_admins_in_the_digest_not_at_once() {
    let hub = Hub {
        app: TestApp::builder()
            .with_mail()
            .with_admin()
            .config(&format!("{FAST}digest_interval_seconds = 1\n"))
            .start(),
    };
    // A token created is a medium alert: it waits for the digest.
    hub.ok(&[
        "admin",
        "token",
        "create",
        "--service",
        "digest-probe",
        "--scopes",
        "clients:view",
    ]);
    let alert = wait_alert(&hub, "token_created").await;
    assert_eq!(alert["severity"], "medium");
    let digest = hub.wait_mail(ADMIN_EMAIL, "holdfast alerts digest");
    let body = digest.body();
    assert!(body.contains("API token created"), "{body}");
    assert!(body.contains("digest-probe"), "{body}");
    assert!(
        !hub.sink().messages().iter().any(|m| {
            let s = m.subject().unwrap_or_default();
            s.contains("holdfast alert (") && s.contains("token_created")
        }),
        "a medium alert was mailed on its own"
    );
    // Mailed once: the next digests have nothing to say about it.
    marker(&hub).await;
    hub.wait_mail(ADMIN_EMAIL, "policy_weakened");
    let digests: Vec<String> = hub
        .sink()
        .messages()
        .iter()
        .filter(|m| {
            m.subject()
                .unwrap_or_default()
                .contains("holdfast alerts digest")
        })
        .map(|m| m.body())
        .collect();
    assert_eq!(
        digests
            .iter()
            .filter(|b| b.contains("API token created"))
            .count(),
        1,
        "{digests:?}"
    );
    assert!(
        digests
            .iter()
            .all(|b| !b.contains("Security policy weakened")),
        "a high alert, mailed at once, came again in a digest: {digests:?}"
    );
}

/// Free disk below this many MiB is "low" (about a petabyte: every test machine is below it).
const HUGE_MIB: &str = "1000000000";

/// Every regular file below `dir`.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_below(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Waits until the `disk_low` alert (a heartbeat of the scheduled check, which folds each
/// repeat into it) has been raised twice more: a whole check ran after this call.
async fn checks_ran(c: &Console) {
    let count = || {
        of_rule(c, "disk_low")
            .first()
            .and_then(|a| a["count"].as_i64())
            .unwrap_or(0)
    };
    let start = count();
    let ok = eventually(WAIT, || {
        let n = count();
        async move { n >= start + 2 }
    })
    .await;
    assert!(ok, "the scheduled check does not run; {:?}", alerts(c));
}

#[tokio::test]
async fn failed_and_stale_backups_and_a_failed_verification_restore_raise_alerts() {
    let good = data_dir();
    let other = data_dir();
    let second = other.path().join("share");
    std::fs::create_dir(&second).unwrap();
    let hub = Hub {
        app: TestApp::builder()
            .with_admin()
            .config(&format!(
                "{FAST}[storage]\ndisk_low_free_mib = {HUGE_MIB}\n[backup]\ndestinations = [\"{}\", \"{}\"]\n",
                good.path().display(),
                second.display()
            ))
            .start(),
    };
    // A good backup raises nothing, and a fresh one is not stale.
    hub.ok(&["backup", "run", "--all"]);
    checks_ran(&hub).await;
    for rule in ["backup_failed", "backup_stale"] {
        assert!(of_rule(&hub, rule).is_empty(), "{rule}: {:?}", alerts(&hub));
    }
    // A watch that counts disk space has looked at the certificate too: a long-lived one is fine.
    assert!(of_rule(&hub, "certificate_expiry").is_empty());

    // The second share is gone (a file where its mount point was): the backup fails there.
    std::fs::remove_dir_all(&second).unwrap();
    std::fs::write(&second, b"not a directory").unwrap();
    let out = hub.console(&["backup", "run", "--all"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let failed = wait_alert_where(&hub, "backup_failed", |s| s == "backup_completed").await;
    assert_eq!(failed["severity"], "high");
    assert!(
        failed["summary"].as_str().unwrap().contains("share"),
        "{failed}"
    );

    // Every archive damaged: the verification restore (the admin's button) fails.
    for f in files_below(good.path()) {
        let mut bytes = std::fs::read(&f).unwrap();
        let mid = bytes.len() / 2;
        let end = (mid + 64).min(bytes.len());
        for b in &mut bytes[mid..end] {
            *b ^= 0x5a;
        }
        std::fs::write(&f, bytes).unwrap();
    }
    let admin = hub.signed_in(ADMIN, ADMIN_PW).await;
    let page = hub.get("/admin/backups", Some(&admin)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = hidden_field(&page.body, "csrf").expect("csrf field");
    let r = hub
        .form(
            "/admin/backups/verify",
            &format!("{SESSION}={admin}"),
            &[("csrf", &csrf)],
            &[("origin", &hub.origin)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("FAILED"), "{}", r.body);
    // From the security log at once, and from the recorded status at the next check.
    wait_alert_where(&hub, "backup_failed", |s| s == "backup_verified").await;
    let restore = wait_alert_where(&hub, "backup_failed", |s| {
        s.starts_with("verification restore")
    })
    .await;
    assert!(
        restore["subject"]
            .as_str()
            .unwrap()
            .contains(&good.path().display().to_string()),
        "{restore}"
    );
    assert!(of_rule(&hub, "backup_stale").is_empty());

    // The newest good backup is now 27 hours old (the time the status file records).
    let status_file = hub.data().join("backups/status.json");
    let mut status: Value =
        serde_json::from_str(&std::fs::read_to_string(&status_file).unwrap()).unwrap();
    let old = (chrono::Utc::now() - chrono::Duration::hours(27))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for d in status["destinations"].as_object_mut().unwrap().values_mut() {
        if !d["last_success"].is_null() {
            d["last_success"] = Value::String(old.clone());
        }
    }
    std::fs::write(&status_file, serde_json::to_vec(&status).unwrap()).unwrap();
    let stale = wait_alert(&hub, "backup_stale").await;
    assert_eq!(stale["severity"], "high");
    assert!(
        stale["summary"].as_str().unwrap().contains("26 hours"),
        "{stale}"
    );
}

#[tokio::test]
async fn low_free_disk_raises_an_alert_and_the_doctor_warns_with_the_same_threshold() {
    let hub = Hub {
        app: TestApp::builder()
            .with_admin()
            .config(&format!(
                "{FAST}[storage]\ndisk_low_free_mib = {HUGE_MIB}\n"
            ))
            .start(),
    };
    let disk = wait_alert(&hub, "disk_low").await;
    assert_eq!(disk["severity"], "medium");
    assert_eq!(disk["subject"], hub.data().display().to_string());
    let doctor = text(&hub.console(&["doctor"]).stdout);
    assert!(
        doctor
            .lines()
            .any(|l| l.starts_with("WARN free disk") || l.starts_with("FAIL free disk")),
        "{doctor}"
    );
    // A certificate valid for a year is no alert.
    checks_ran(&hub).await;
    assert!(of_rule(&hub, "certificate_expiry").is_empty());
}

/// A self-signed certificate for the test server's names, valid for `days` more days.
fn short_lived_certificate(dir: &Path, days: u64) {
    use chrono::Datelike;
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let today = chrono::Utc::now().date_naive();
    let ymd = |d: chrono::NaiveDate| rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8);
    params.not_before = ymd(today - chrono::Days::new(1));
    params.not_after = ymd(today + chrono::Days::new(days));
    let cert = params.self_signed(&key).unwrap();
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tls, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(tls.join("key.pem"), key.serialize_pem()).unwrap();
    std::fs::set_permissions(tls.join("key.pem"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(tls.join("cert.pem"), cert.pem()).unwrap();
}

#[tokio::test]
async fn a_certificate_expiring_within_30_days_raises_an_alert() {
    let staged = TestApp::builder().with_admin().config(FAST).prepare();
    short_lived_certificate(staged.data(), 10);
    let hub = Hub {
        app: staged.start(),
    };
    let cert = wait_alert(&hub, "certificate_expiry").await;
    assert_eq!(cert["severity"], "high");
    assert!(
        cert["subject"].as_str().unwrap().ends_with("tls/cert.pem"),
        "{cert}"
    );
    let summary = cert["summary"].as_str().unwrap();
    assert!(
        summary.contains("expires in 9 days") || summary.contains("expires in 10 days"),
        "{summary}"
    );
}

#[tokio::test]
async fn a_mass_export_raises_an_alert_and_a_small_one_does_not() {
    let env = Env::with_config(Some(&format!("{FAST}export_rows = 5\n")));
    let api = env.full_token();
    let mut csv = String::from("name,status\n");
    for n in 0..3 {
        csv.push_str(&format!("Alpha {n},active\n"));
    }
    for n in 0..5 {
        csv.push_str(&format!("Beta {n},active\n"));
    }
    let r = api.import("clients", &csv, false).await;
    assert_eq!(r.status, 201, "{}", r.body);

    let some = api.get("/api/v1/clients/export.csv?q=alpha").await;
    assert_eq!(some.status, 200, "{}", some.body);
    assert_eq!(csv_column(&some.body, "name").len(), 3);
    marker(&env).await;
    assert!(
        of_rule(&env, "mass_export").is_empty(),
        "3 rows (threshold 5) raised a mass export"
    );

    let all = api.get("/api/v1/clients/export.csv").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(csv_column(&all.body, "name").len(), 8);
    let mass = wait_alert(&env, "mass_export").await;
    assert_eq!(mass["severity"], "high");
    assert!(
        mass["subject"].as_str().unwrap().ends_with("(token)"),
        "{mass}"
    );
    assert!(
        mass["summary"].as_str().unwrap().contains("11 rows"),
        "{mass}"
    );
}

#[tokio::test]
async fn a_new_administrator_and_a_group_gaining_a_permission_raise_alerts() {
    let env = Env::with_config(Some(FAST));
    let admin = env.admin().await;
    // A plain user and a group losing a permission raise nothing.
    env.add_user("frank", "users", "plain user staple 61 lime");
    group(&admin, "bookkeepers", &["clients:view", "invoices:view"]).await;
    let granted = wait_alert(&env, "permission_granted").await;
    assert_eq!(granted["subject"], "group bookkeepers");
    assert_eq!(granted["severity"], "medium");
    let r = admin
        .form(
            "/admin/groups/bookkeepers/permissions",
            &[("perm", "clients:view")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    marker(&env).await;
    // (The first administrator, made as the server started, may have raised one of its own.)
    assert!(
        of_rule(&env, "admin_granted")
            .iter()
            .all(|a| a["subject"] == ADMIN),
        "{:?}",
        alerts(&env)
    );
    let perms = of_rule(&env, "permission_granted");
    assert_eq!(perms.len(), 1, "{perms:?}");
    assert_eq!(perms[0]["count"], 1, "a removed permission raised again");

    // A new administrator, made on the console.
    env.add_user("eve", "admins", "second admin staple 62 plum");
    let eve = wait_alert_where(&env, "admin_granted", |s| s == "eve").await;
    assert_eq!(eve["severity"], "high");
    // An existing user put into the admins group on the users page.
    let r = admin
        .form("/admin/users/frank/groups", &[("group", "admins")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let frank = wait_alert_where(&env, "admin_granted", |s| s == "frank").await;
    assert!(
        frank["summary"].as_str().unwrap().contains("admins"),
        "{frank}"
    );
    // A group given `admin` makes every member an administrator.
    let r = admin
        .form(
            "/admin/groups/bookkeepers/permissions",
            &[("perm", "admin")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    wait_alert_where(&env, "admin_granted", |s| s == "group bookkeepers").await;
}
