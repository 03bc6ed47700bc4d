//! The air-gap proof (issue 15): the real server runs under `strace -f -e trace=connect` (Debian
//! package `strace`, installed by tests/run; the test fails without it, as the promtool tests do)
//! and every connect() it and its console commands make is read back. With no integration
//! configured none goes to an IP address at all (AF_UNIX only, e.g. glibc asking nscd); with mail
//! and a webhook configured (receivers on 127.0.0.2 and 127.0.0.3) exactly those two appear.
//! docs/security.md tells a customer how to run the same check on their appliance.

use crate::app::{BIN, TestApp};
use crate::hub_support::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A script that runs the real binary under strace, one trace file per invocation in `dir`.
fn traced_binary(dir: &Path) -> PathBuf {
    let status = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .expect("strace (apt-get install strace; tests/run installs it)");
    assert!(status.status.success(), "strace -V failed");
    let script = dir.join("holdfast-traced");
    let draft = dir.join("holdfast-traced.draft");
    std::fs::write(
        &draft,
        format!(
            "#!/bin/sh\nexec strace -f -qq -e trace=connect -o '{}/trace.'$$ '{BIN}' \"$@\"\n",
            dir.display()
        ),
    )
    .unwrap();
    crate::support::install_executable(&draft, &script);
    script
}

/// Every connect() destination in the traces: `unix` for AF_UNIX, else `ip:port`.
fn destinations(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if !p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("trace.")
        {
            continue;
        }
        for line in std::fs::read_to_string(&p).unwrap().lines() {
            if !line.contains("connect(") {
                continue;
            }
            let field = |name: &str| {
                line.split(name)
                    .nth(1)
                    .and_then(|r| r.split('"').nth(1))
                    .map(str::to_string)
            };
            let port = line
                .split("htons(")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .unwrap_or("?");
            if line.contains("AF_UNIX") {
                out.insert("unix".into());
            } else if let Some(a) = field("inet_addr(") {
                out.insert(format!("{a}:{port}"));
            } else if let Some(a) = field("inet_pton(AF_INET6, ") {
                out.insert(format!("[{a}]:{port}"));
            } else {
                // AF_UNSPEC (a datagram socket being disconnected) and anything else: shown as is.
                out.insert(line.to_string());
            }
        }
    }
    out
}

/// Stops the traced server by its own PID (from run.json): strace then ends with it.
struct Stop(Option<i32>);

impl Stop {
    /// run.json is written once the server is ready, which may be just after "listening on".
    fn of(env: &Env) -> Stop {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let run = std::fs::read_to_string(env.data().join("run.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
            if let Some(pid) = run.and_then(|r| r["pid"].as_i64()) {
                return Stop(Some(pid as i32));
            }
            assert!(Instant::now() < deadline, "no run.json from the server");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn now(&mut self) {
        let Some(pid) = self.0.take() else { return };
        let pid = nix::unistd::Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while nix::sys::signal::kill(pid, None).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    }
}

impl Drop for Stop {
    fn drop(&mut self) {
        self.now();
    }
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
    let traces = tempfile::tempdir().unwrap();
    let env = Env {
        app: TestApp::builder()
            .with_admin()
            .binary(traced_binary(traces.path()))
            .start(),
    };
    let mut stop = Stop::of(&env);
    some_work(&env).await;
    stop.now();
    let seen = destinations(traces.path());
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
    let traces = tempfile::tempdir().unwrap();
    let env = Env {
        app: TestApp::builder()
            .with_admin()
            .config(&format!(
                "[mail]\nsmtp_host = \"127.0.0.2\"\nsmtp_port = {}\ntls = \"none\"\n\
                 from = \"holdfast@example.test\"\n\
                 [webhooks]\nretry_first_ms = 50\nretry_max_ms = 300\npoll_ms = 50\ntimeout_seconds = 1\n",
                relay_at.port()
            ))
            .binary(traced_binary(traces.path()))
            .start(),
    };
    let mut stop = Stop::of(&env);
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
    while !destinations(traces.path()).contains(&relay_at.to_string())
        || !destinations(traces.path()).contains(&hook_at.to_string())
    {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            destinations(traces.path())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.now();
    keep.abort();
    let seen = destinations(traces.path());
    let other: Vec<_> = seen.difference(&wanted).collect();
    assert!(
        other.is_empty(),
        "connect() to an unconfigured destination: {other:?}"
    );
}
