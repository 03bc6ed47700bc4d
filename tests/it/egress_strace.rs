//! The air-gap proof's two exact cases (issue 15): the real server runs under strace (the suite's
//! wrapper, `traced.rs`, switched on for these two apps even when the rest of the suite runs
//! untraced; the test fails without strace, as the promtool tests do without promtool) and every
//! connect() it and its console commands made is read back. With no integration configured none
//! goes to an IP address at all (AF_UNIX only, e.g. glibc asking nscd); with mail and a webhook
//! configured (receivers on 127.0.0.2 and 127.0.0.3) exactly those two appear. The suite-wide rule
//! (loopback or local only, for every server and console command) is `traced.rs`'s;
//! docs/security.md tells a customer how to run the same check on their appliance.

use crate::app::{Console, TestApp};
use crate::hub_support::*;
use crate::traced::{self, Dest};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Every connect() destination in the app's traces: `unix` for AF_UNIX, else `ip:port`.
fn destinations(console: &Console) -> BTreeSet<String> {
    let dir = console.traces().expect("this app is traced");
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        for (dest, line) in traced::connects(&p) {
            out.insert(match dest {
                Dest::Local => "unix".to_string(),
                Dest::Loopback(at) => at,
                // A disconnect or anything off the machine: shown as is.
                Dest::Disconnect | Dest::Elsewhere => line,
            });
        }
    }
    out
}

/// A working morning: sign-in, a client, an invoice-free page walk, the security log.
async fn some_work(env: &Env) {
    let admin = env.admin().await;
    let api = env.full_token();
    api.create_id("clients", serde_json::json!({ "name": "Traced Ltd" }))
        .await;
    for page in [
        "/",
        "/m/clients",
        "/admin",
        "/admin/log",
        "/admin/integrations",
    ] {
        let status = admin.get(page).await.status;
        assert!(status < 400, "{page}: {status}");
    }
}

#[tokio::test]
async fn with_nothing_configured_the_server_connects_to_no_address() {
    let env = Env {
        app: TestApp::builder().with_admin().traced().start(),
    };
    some_work(&env).await;
    let (_, console) = env.app.stop_keep_data();
    let seen = destinations(&console);
    let off_machine: Vec<_> = seen.iter().filter(|d| *d != "unix").collect();
    assert!(
        off_machine.is_empty(),
        "connect() to an address with no integration configured: {off_machine:?}"
    );
}

#[tokio::test]
async fn with_mail_and_a_webhook_configured_only_they_are_connected_to() {
    let relay = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let relay_at = relay.local_addr().unwrap();
    let hook = tokio::net::TcpListener::bind("127.0.0.3:0").await.unwrap();
    let hook_at = hook.local_addr().unwrap();
    // Both accept and say nothing useful: the connect() is what is looked at.
    let keep = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            tokio::select! {
                Ok((s, _)) = relay.accept() => held.push(s),
                Ok((s, _)) = hook.accept() => held.push(s),
            }
        }
    });
    let env = Env {
        app: TestApp::builder()
            .with_admin()
            .config(&format!(
                "[mail]\nsmtp_host = \"127.0.0.2\"\nsmtp_port = {}\ntls = \"none\"\n\
                 from = \"holdfast@example.test\"\n\
                 [webhooks]\nretry_first_ms = 50\nretry_max_ms = 300\npoll_ms = 50\ntimeout_seconds = 1\n",
                relay_at.port()
            ))
            .traced()
            .start(),
    };
    env.ok(&[
        "admin",
        "webhook",
        "add",
        "--url",
        &format!("http://{hook_at}/hook"),
        "--events",
        "*",
        "--scopes",
        "clients:read",
        "--allow-http",
    ]);
    some_work(&env).await;
    let admin = env.admin().await;
    let r = admin
        .form("/admin/mail/test", &[("to", "officer@example.test")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let wanted: BTreeSet<String> = [
        "unix".to_string(),
        relay_at.to_string(),
        hook_at.to_string(),
    ]
    .into_iter()
    .collect();
    // Both flows try at once and then retry; wait (bounded) until each connect() was traced.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !destinations(&env).contains(&relay_at.to_string())
        || !destinations(&env).contains(&hook_at.to_string())
    {
        assert!(Instant::now() < deadline, "{:?}", destinations(&env));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, console) = env.app.stop_keep_data();
    keep.abort();
    let seen = destinations(&console);
    let other: Vec<_> = seen.difference(&wanted).collect();
    assert!(
        other.is_empty(),
        "connect() to an unconfigured destination: {other:?}"
    );
}
