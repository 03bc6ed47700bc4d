//! Core benchmark (not a test): cold start to ready, idle RSS, and HTTPS req/s on /healthz.
//! Run with `cargo bench --bench core`. Loopback only; every load is bounded in time and count.
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
use std::time::{Duration, Instant};

const RUNS: usize = 5;
const LOAD_SECONDS: u64 = 10;
const MAX_REQUESTS: u64 = 2_000_000;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");

    let mut first_start = Vec::new();
    let mut restart = Vec::new();
    let mut idle_rss = Vec::new();
    for _ in 0..RUNS {
        let dir = private_dir();
        for round in 0..2 {
            let t0 = Instant::now();
            let server = start(dir.path());
            let tls = tls_config(dir.path());
            rt.block_on(async {
                loop {
                    if let Some(mut s) = connect(server.addr, &tls).await
                        && get(&mut s, "/readyz").await == Some(200)
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            });
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            if round == 0 {
                first_start.push(ms);
            } else {
                restart.push(ms);
                std::thread::sleep(Duration::from_secs(1));
                idle_rss.push(server.rss_mib());
            }
            server.stop();
        }
    }
    println!(
        "cold start to ready, first start (key, certificate, database created): median {:.0} ms over {RUNS} runs",
        median(first_start)
    );
    println!(
        "cold start to ready, restart of an existing data dir:                median {:.0} ms over {RUNS} runs",
        median(restart)
    );
    println!(
        "idle RSS after ready:                                                median {:.1} MiB",
        median(idle_rss)
    );

    let dir = private_dir();
    let server = start(dir.path());
    let tls = tls_config(dir.path());
    for connections in [16, 64] {
        let r = rt.block_on(load(
            server.addr,
            tls.clone(),
            "/healthz",
            connections,
            Duration::from_secs(LOAD_SECONDS),
            MAX_REQUESTS,
        ));
        println!(
            "HTTPS GET /healthz, keep-alive, {connections} connections, built-in generator (1 thread): {:.0} req/s ({} ok, {} failed, {:.1} s); server RSS {:.1} MiB",
            r.ok as f64 / r.seconds,
            r.ok,
            r.failed,
            r.seconds,
            server.rss_mib()
        );
    }
    if let Ok(out) = std::process::Command::new("wrk")
        .args([
            "-t1",
            "-c64",
            &format!("-d{LOAD_SECONDS}s"),
            &format!("https://{}/healthz", server.addr),
        ])
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(line) = text.lines().find(|l| l.starts_with("Requests/sec")) {
            println!(
                "HTTPS GET /healthz, keep-alive, 64 connections, wrk -t1: {}",
                line.trim()
            );
        }
    } else {
        println!(
            "(wrk not installed: apt-get install wrk for a second, independent load generator)"
        );
    }
    println!("server RSS after load: {:.1} MiB", server.rss_mib());
    server.stop();
}
