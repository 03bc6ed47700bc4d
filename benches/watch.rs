//! Watch benchmark (not a test): audited creates/s and sign-ins/s with the watch on and off, in
//! the same run (alternating fresh servers, so drift of the machine hits both sides), and the
//! server's RSS under a 200-way sign-in flood with random user names while the watch runs.
//! Loopback only; every load is bounded in time and count.
// Measurement code: a failed unwrap is a failed measurement (the production lint rules in
// Cargo.toml [lints] do not apply here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod common;

use common::*;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const PASSWORD: &str = "amber quarry signal 58";
const SECONDS: u64 = 10;
const ROUNDS: usize = 4;
const FLOOD_CLIENTS: usize = 200;
const FLOOD_SECONDS: u64 = 15;
const MAX_REQUESTS: u64 = 50_000;

/// `holdfast --config FILE serve` on 127.0.0.1:0. The server is this build's binary, or
/// `HOLDFAST_WATCH_SERVER_BIN` (a release build, while the benchmark itself is built quickly with
/// `--profile dev`).
fn serve(dir: &Path, config: &Path) -> Running {
    let bin = std::env::var_os("HOLDFAST_WATCH_SERVER_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| BIN.into());
    start_bin_with(&bin, dir, Some(config))
}

/// A fresh data dir with a user and a token, and a config with the watch on or off.
fn prepare(watch: bool) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = private_dir();
    let config = dir.path().join("bench.toml");
    std::fs::write(&config, format!("[alerts]\nenabled = {watch}\n")).unwrap();
    let with = |args: &[&str]| {
        let mut v = vec!["--config", config.to_str().unwrap()];
        v.extend_from_slice(args);
        v.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>, stdin: Option<&str>| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        console(dir.path(), &a, stdin)
    };
    run(with(&["init"]), None);
    run(
        with(&[
            "admin",
            "user",
            "add",
            "bench",
            "--email",
            "bench@example.test",
            "--password-stdin",
        ]),
        Some(PASSWORD),
    );
    let out = run(
        with(&[
            "admin",
            "token",
            "create",
            "--service",
            "bench",
            "--scopes",
            "clients:read,clients:write",
        ]),
        None,
    );
    let token = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("hft_"))
        .expect("token printed")
        .to_string();
    (dir, config, token)
}

/// CPU seconds (user + system) the process has used: less disturbed by other load on the machine
/// than a rate, so the watch's own cost per event shows even on a busy host.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    // Fields 14 and 15 of proc(5), counted from the state field (3).
    (ticks(11) + ticks(12)) / hz
}

/// Audited creates: (creates/s, server CPU milliseconds per create).
fn creates(rt: &tokio::runtime::Runtime, server: &Running, dir: &Path, token: &str) -> (f64, f64) {
    let bearer = format!("Bearer {token}");
    let make: Arc<dyn Fn(u64) -> Req + Send + Sync> = Arc::new(move |n| {
        Req::post_json(
            "/api/v1/clients",
            format!("{{\"name\":\"Watch Bench {n}\",\"status\":\"prospect\"}}"),
        )
        .header("authorization", bearer.clone())
    });
    let cpu = cpu_seconds(server.child.id());
    let t = rt.block_on(timed_load(
        server.addr,
        tls_config(dir),
        make,
        201,
        16,
        Duration::from_secs(SECONDS),
        MAX_REQUESTS,
    ));
    // The watch reads the rows after they are written: its share is counted once it caught up.
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_seconds(server.child.id()) - cpu;
    (t.rate(), used * 1000.0 / t.ok.max(1) as f64)
}

/// Sign-ins with the right password (`user`) or random user names (`None`), `clients`-way.
fn sign_ins(
    rt: &tokio::runtime::Runtime,
    server: &Running,
    dir: &Path,
    user: Option<&str>,
    clients: usize,
    seconds: u64,
) -> (f64, u64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let issued = Arc::new(AtomicU64::new(0));
    let tls = tls_config(dir);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    rt.block_on(async {
        let mut tasks = Vec::new();
        for c in 0..clients {
            let (ok, other, issued, tls) = (ok.clone(), other.clone(), issued.clone(), tls.clone());
            let addr = server.addr;
            let user = user.map(str::to_string);
            tasks.push(tokio::spawn(async move {
                let Some(mut s) = connect(addr, &tls).await else {
                    return;
                };
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ c as u64);
                while Instant::now() < deadline
                    && issued.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS
                {
                    let name = user
                        .clone()
                        .unwrap_or_else(|| format!("flood-{:016x}", rng.next_u64()));
                    let body = format!("{{\"username\":\"{name}\",\"password\":\"{PASSWORD}\"}}");
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
    let ok = ok.load(Ordering::Relaxed);
    (ok as f64 / secs, ok, other.load(Ordering::Relaxed))
}

fn main() {
    println!("watch benchmark, load {}", loadavg());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut figures: Vec<(bool, f64, f64, f64)> = Vec::new();
    for round in 0..ROUNDS {
        // Which side runs first alternates: the second server of a round has found the page cache
        // and the CPU warm, which alone was worth ~8 % when "off" always ran first.
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for watch in order {
            let (dir, config, token) = prepare(watch);
            let server = serve(dir.path(), &config);
            let (c, cpu) = creates(&rt, &server, dir.path(), &token);
            let (s, _, _) = sign_ins(&rt, &server, dir.path(), Some("bench"), 16, SECONDS);
            println!(
                "round {round}, watch {}: {c:.0} audited creates/s (16 connections, {cpu:.3} ms server CPU per create), {s:.1} sign-ins/s (16 clients), load {}",
                if watch { "on " } else { "off" },
                loadavg()
            );
            figures.push((watch, c, s, cpu));
            server.stop();
        }
    }
    let mean = |on: bool, f: fn(&(bool, f64, f64, f64)) -> f64| {
        let v: Vec<f64> = figures.iter().filter(|x| x.0 == on).map(f).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let (c_off, c_on) = (mean(false, |x| x.1), mean(true, |x| x.1));
    let (s_off, s_on) = (mean(false, |x| x.2), mean(true, |x| x.2));
    let (u_off, u_on) = (mean(false, |x| x.3), mean(true, |x| x.3));
    println!(
        "mean: creates/s off {c_off:.0}, on {c_on:.0} ({:+.1} %); server CPU per create off {u_off:.3} ms, on {u_on:.3} ms ({:+.1} %); sign-ins/s off {s_off:.1}, on {s_on:.1} ({:+.1} %)",
        (c_on / c_off - 1.0) * 100.0,
        (u_on / u_off - 1.0) * 100.0,
        (s_on / s_off - 1.0) * 100.0
    );

    // The flood: random user names from one address, watch on.
    let (dir, config, _) = prepare(true);
    let server = serve(dir.path(), &config);
    let before = server.rss_mib();
    let pid = server.child.id();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak: f64 = 0.0;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(rss_mib(pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };
    let (_, _, refused) = sign_ins(&rt, &server, dir.path(), None, FLOOD_CLIENTS, FLOOD_SECONDS);
    // The watch reads the rows the flood wrote after it: give it the time to catch up.
    std::thread::sleep(Duration::from_secs(5));
    done.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap_or(0.0);
    println!(
        "flood: {FLOOD_CLIENTS} clients, random user names, {FLOOD_SECONDS} s, {refused} refused; server RSS {before:.1} MiB before, peak {peak:.1} MiB (VmHWM {:.1} MiB), load {}",
        peak_rss_mib(pid),
        loadavg()
    );
    server.stop();
}
