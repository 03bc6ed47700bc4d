//! Sign-in benchmark (not a test): sign-ins per second and peak server RSS under a flood of 200
//! concurrent sign-in attempts. Loopback only; bounded in time and count.
// Test and measurement code: a failed unwrap is a failed test, and the host clock is what it
// measures against (the production rules in Cargo.toml [lints] do not apply here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod common;

use common::*;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CONCURRENT: usize = 200;
const SECONDS: u64 = 15;
const MAX_ATTEMPTS: u64 = 20_000;
const PASSWORD: &str = "velvet orchard signal 77";

fn main() {
    let dir = private_dir();
    let server = start(dir.path());
    let mut child = std::process::Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "admin",
            "user",
            "add",
            "loadtest",
            "--email",
            "loadtest@example.test",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("console");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(PASSWORD.as_bytes())
        .expect("write");
    assert!(
        child.wait().expect("wait").success(),
        "could not create the benchmark user"
    );
    let rss_before = server.rss_mib();
    let tls = tls_config(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("rt");
    let ok = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let issued = Arc::new(AtomicU64::new(0));
    let body = format!("{{\"username\":\"loadtest\",\"password\":\"{PASSWORD}\"}}");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(SECONDS);
    let pid = server.child.id();
    let peak_sampler = std::thread::spawn(move || {
        let mut peak: f64 = 0.0;
        while Instant::now() < deadline + Duration::from_millis(500) {
            peak = peak.max(rss_mib(pid));
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    });
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..CONCURRENT {
            let (ok, other, issued, tls, body) = (
                ok.clone(),
                other.clone(),
                issued.clone(),
                tls.clone(),
                body.clone(),
            );
            let addr = server.addr;
            tasks.push(tokio::spawn(async move {
                let Some(mut s) = connect(addr, &tls).await else {
                    return;
                };
                while Instant::now() < deadline
                    && issued.fetch_add(1, Ordering::Relaxed) < MAX_ATTEMPTS
                {
                    match post_json(&mut s, "/api/v1/session", &body).await {
                        Some(200) => ok.fetch_add(1, Ordering::Relaxed),
                        Some(_) => other.fetch_add(1, Ordering::Relaxed),
                        None => break,
                    };
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let sampled_peak = peak_sampler.join().unwrap_or(0.0);
    let ok = ok.load(Ordering::Relaxed);
    println!(
        "sign-ins (Argon2id m=19456 KiB t=2 p=1), {CONCURRENT} concurrent clients, {secs:.1} s: {:.1} sign-ins/s ({ok} signed in, {} busy or refused)",
        ok as f64 / secs,
        other.load(Ordering::Relaxed)
    );
    println!(
        "server RSS: {rss_before:.1} MiB before, peak {:.1} MiB during the flood (VmHWM {:.1} MiB)",
        sampled_peak,
        peak_rss_mib(pid)
    );
    server.stop();
}
