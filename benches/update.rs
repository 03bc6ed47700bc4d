//! Update benchmark (not a test): what one client polling `/readyz` every millisecond sees of
//! `holdfast update apply` and `holdfast update rollback` — the longest gap between two answers — and
//! of a release that never becomes ready and is rolled back after its readiness timeout. Runs a
//! binary install in temp dirs on a fixed loopback port, on an empty instance and on one with
//! `HOLDFAST_BENCH_UPDATE_CLIENTS` clients (default 100000), so that the cost of the database
//! snapshot shows. Then the hand-over under load: 16 clients keeping one connection alive and 16
//! opening a new TLS connection per request, during `update apply` and `update rollback`, first by
//! the old stop-then-start path (forced by removing the server's control socket), then by hand-over.
//! Run with `cargo bench --bench update`; `-- downtime` or `-- handover` runs one of the two phases.
//! Loopback only; every loop is bounded.
// Test and measurement code: a failed unwrap is a failed test, and the host clock is what it
// measures against (the production rules in Cargo.toml [lints] do not apply here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod common;
// The tests' load generator (tests/it/update_handover.rs uses it too); the bench reads only part
// of what it records.
#[allow(dead_code)]
#[path = "../tests/it/load.rs"]
mod load;

use common::*;
use holdfast::audit::{Actor, By};
use holdfast::hub::records::{create_in, validate};
use holdfast::schema::CLIENTS;
use holdfast::update::probe::Probe;
use load::{Load, Spec};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const RELEASE: &str = env!("CARGO_BIN_EXE_holdfast-release");
const CYCLES: usize = 3;
/// Polling stops after this many requests or when the watched command ends, whichever first.
const MAX_POLLS: usize = 2_000_000;
const POLL_PAUSE: Duration = Duration::from_millis(1);

struct Install {
    data: tempfile::TempDir,
    bin: tempfile::TempDir,
    keys: tempfile::TempDir,
    _trusted: tempfile::TempDir,
    cfg: PathBuf,
    addr: SocketAddr,
    first: std::process::Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Install {
    fn new(clients: u64, ready_timeout: u64) -> Install {
        let data = private_dir();
        let bin = tempfile::tempdir().expect("bin dir");
        // Without debug sections (binutils' strip; a release build has none to lose): a dev-profile
        // build is ~400 MB of DWARF, which every bundle and apply would otherwise copy and hash.
        let ok = Command::new("strip")
            .arg("--strip-debug")
            .arg("-o")
            .arg(bin.path().join("holdfast"))
            .arg(BIN)
            .status()
            .expect("strip (binutils)");
        assert!(ok.success());
        let keys = tempfile::tempdir().expect("keys dir");
        let ok = Command::new(RELEASE)
            .args(["keygen", "--out"])
            .arg(keys.path())
            .stdout(Stdio::null())
            .status()
            .expect("keygen");
        assert!(ok.success());
        let trusted = tempfile::tempdir().expect("trusted dir");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(trusted.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let vendor = trusted.path().join("vendor.pub");
        std::fs::copy(keys.path().join("release.pub"), &vendor).expect("copy key");
        std::fs::set_permissions(&vendor, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let cfg = data.path().join("holdfast.toml");
        std::fs::write(
            &cfg,
            format!(
                "[update]\ntrusted_keys_dir = \"{}\"\nready_timeout_seconds = {ready_timeout}\n\n[server]\nshutdown_grace_seconds = 2\n",
                trusted.path().display()
            ),
        )
        .expect("config");
        let exe = bin.path().join("holdfast");
        let st = Command::new(&exe)
            .arg("--data-dir")
            .arg(data.path())
            .arg("init")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("init");
        assert!(st.success());
        if clients > 0 {
            fill(data.path(), clients);
        }
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let first = Command::new(&exe)
            .arg("--config")
            .arg(&cfg)
            .arg("--data-dir")
            .arg(data.path())
            .args(["serve", "--listen", &addr.to_string()])
            .env("HOLDFAST_LOG", "warn")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve");
        let inst = Install {
            data,
            bin,
            keys,
            _trusted: trusted,
            cfg,
            addr,
            first,
        };
        let probe = inst.probe();
        let end = Instant::now() + Duration::from_secs(120);
        while !matches!(probe.ready(addr), Ok(true)) {
            assert!(Instant::now() < end, "server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        inst
    }

    fn probe(&self) -> Probe {
        let cert = holdfast::tls::load_chain(&self.data.path().join("tls/cert.pem"))
            .expect("certificate")
            .into_iter()
            .next()
            .expect("a certificate");
        Probe::new(cert).expect("probe")
    }

    fn exe(&self) -> PathBuf {
        self.bin.path().join("holdfast")
    }

    fn bundle(&self, version: &str, binary: &[u8]) -> PathBuf {
        let root = self.keys.path().join(format!("pkg-{version}"));
        std::fs::create_dir_all(root.join("DEBIAN")).expect("pkg dir");
        std::fs::create_dir_all(root.join("usr/bin")).expect("pkg dir");
        std::fs::write(
            root.join("DEBIAN/control"),
            format!("Package: holdfast\nVersion: {version}\nArchitecture: amd64\nMaintainer: Bench <b@example.test>\nDescription: bench build\n"),
        )
        .expect("control");
        let b = root.join("usr/bin/holdfast");
        std::fs::write(&b, binary).expect("binary");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let deb = self
            .keys
            .path()
            .join(format!("holdfast_{version}_amd64.deb"));
        let ok = Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Znone", "--build"])
            .arg(&root)
            .arg(&deb)
            .stdout(Stdio::null())
            .status()
            .expect("dpkg-deb");
        assert!(ok.success());
        let out = self.keys.path().join(format!("holdfast-{version}.hfu"));
        let ok = Command::new(RELEASE)
            .args(["bundle", "--key"])
            .arg(self.keys.path().join("release.key"))
            .args([
                "--version",
                version,
                "--min-from",
                "0.1.0",
                "--allow-version-mismatch",
                "--deb",
            ])
            .arg(&deb)
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::null())
            .status()
            .expect("bundle");
        assert!(ok.success());
        out
    }

    /// A console command run with the installed copy, as an operator would.
    fn console(&self, args: &[&str]) -> Output {
        Command::new(self.exe())
            .arg("--config")
            .arg(&self.cfg)
            .arg("--data-dir")
            .arg(self.data.path())
            .args(args)
            .env("HOLDFAST_LOG", "warn")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .output()
            .expect("console command")
    }

    /// The installed binary with `marker` appended: it runs the same, and its hash tells it apart.
    fn next_binary(&self, marker: &str) -> Vec<u8> {
        let mut binary = std::fs::read(self.exe()).expect("binary");
        binary.extend_from_slice(marker.as_bytes());
        binary
    }

    /// Runs an update command while polling /readyz; returns (command ok, wall s, gap ms, polls
    /// that failed: refused, reset or timed out).
    fn watched(&self, args: &[&str], expect_ok: bool) -> (bool, f64, f64, u64) {
        let probe = Arc::new(self.probe());
        let done = Arc::new(AtomicBool::new(false));
        let addr = self.addr;
        let poller = {
            let (probe, done) = (probe.clone(), done.clone());
            std::thread::spawn(move || {
                let mut last_ok: Option<Instant> = None;
                let mut gap = Duration::ZERO;
                let mut failed = 0u64;
                for _ in 0..MAX_POLLS {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    match probe.ready(addr) {
                        Ok(true) => {
                            let now = Instant::now();
                            if let Some(prev) = last_ok {
                                gap = gap.max(now - prev);
                            }
                            last_ok = Some(now);
                        }
                        Ok(false) => {}
                        Err(_) => failed += 1,
                    }
                    std::thread::sleep(POLL_PAUSE);
                }
                (gap, failed)
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        let t = Instant::now();
        let out = self.console(args);
        let wall = t.elapsed().as_secs_f64();
        // The new server is ready when the command returns; let the poller see it answer.
        std::thread::sleep(Duration::from_millis(200));
        done.store(true, Ordering::Relaxed);
        let (gap, failed) = poller.join().expect("poller");
        if out.status.success() != expect_ok {
            eprintln!(
                "  `{}`: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        (
            out.status.success(),
            wall,
            gap.as_secs_f64() * 1000.0,
            failed,
        )
    }
}

impl Drop for Install {
    fn drop(&mut self) {
        let _ = self.first.kill();
        let _ = self.first.wait();
        // A server an update started: its PID is in run.json and it runs this install's binary.
        if let Ok(bytes) = std::fs::read(self.data.path().join("run.json"))
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            let pid = v["pid"].as_i64().unwrap_or(0) as i32;
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            let ours = std::fs::canonicalize(self.exe()).unwrap_or_default();
            if pid > 1 && exe.to_string_lossy().replace(" (deleted)", "") == ours.to_string_lossy()
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
    }
}

/// Clients written through the hub's own create path, in large transactions.
fn fill(data: &Path, clients: u64) {
    let t = Instant::now();
    let inst = open_instance(data, "default");
    let by = By {
        actor: Actor::Console,
        source: "bench".into(),
        now: chrono::Utc::now(),
    };
    let mut done = 0;
    while done < clients {
        let n = (clients - done).min(5_000);
        inst.db
            .write_blocking(|tx| -> Result<(), holdfast::hub::records::HubError> {
                for i in done..done + n {
                    let row = serde_json::json!({
                        "name": format!("Client {i} Logistics GmbH"),
                        "email": format!("office{i}@client{i}.example"),
                        "notes": "Framework agreement; invoices quarterly; contact the office first.",
                        "status": "active",
                    });
                    let values = validate(&CLIENTS, row.as_object().expect("object"), false)?;
                    create_in(tx, &CLIENTS, &values, &by, false)?;
                }
                Ok(())
            })
            .expect("fill");
        done += n;
    }
    let _ = inst.db.checkpoint();
    println!(
        "  instance with {clients} clients: {:.0} MB database, generated in {:.1} s",
        std::fs::metadata(data.join("instances/default/db.sqlite"))
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(0.0),
        t.elapsed().as_secs_f64()
    );
}

fn report(label: &str, runs: &[(bool, f64, f64, u64)]) {
    let ok = runs.iter().filter(|r| r.0).count();
    let gaps: Vec<f64> = runs.iter().map(|r| r.2).collect();
    let walls: Vec<f64> = runs.iter().map(|r| r.1).collect();
    let failed: u64 = runs.iter().map(|r| r.3).sum();
    println!(
        "  {label:<38} longest gap between answers: median {:>5.0} ms, max {:>5.0} ms; failed polls {failed}; command {:.2} s median ({ok}/{} as expected)",
        median(gaps.clone()),
        gaps.iter().cloned().fold(0.0, f64::max),
        median(walls),
        runs.len()
    );
}

fn main() {
    println!(
        "update benchmark — {} cores, load {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    // `cargo bench` passes its own flags (`--bench`); a plain word names a phase to run alone.
    let phases: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runs = |phase: &str| phases.is_empty() || phases.iter().any(|p| p == phase);
    if runs("downtime") {
        downtime();
    }
    if runs("handover") {
        handover();
    }
}

/// Downtime seen by one polling client, on an empty instance and on a large one.
fn downtime() {
    let big: u64 = std::env::var("HOLDFAST_BENCH_UPDATE_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    for clients in [0, big] {
        println!("instance: {clients} clients");
        let inst = Install::new(clients, 60);
        let bundle = inst.bundle("0.2.0", &inst.next_binary("bench release 0.2.0"));
        let bundle_s = bundle.to_str().expect("path").to_string();
        let mut applies = Vec::new();
        let mut rollbacks = Vec::new();
        for _ in 0..CYCLES {
            applies.push(inst.watched(&["update", "apply", &bundle_s, "--no-backup"], true));
            rollbacks.push(inst.watched(&["update", "rollback"], true));
        }
        report("apply (binary swap)", &applies);
        report("rollback on request", &rollbacks);

        drop(inst);

        // A release whose schema differs: a wrapper that tells the hand-over it would migrate to
        // another schema and otherwise runs this build. The old server stops first and the
        // databases are snapshotted, with the sockets held: clients wait rather than being refused.
        // One apply per fresh install: the server the wrapper starts runs the copy it execs, which
        // `update` rightly refuses to signal later, so it cannot be rolled back here.
        let changes: Vec<_> = (0..CYCLES)
            .map(|_| {
                let inst = Install::new(clients, 60);
                let real = inst.bin.path().join("holdfast-real");
                let copied = Command::new("install")
                    .args(["-m", "0755"])
                    .arg(inst.exe())
                    .arg(&real)
                    .status()
                    .expect("install");
                assert!(copied.success(), "install the real binary");
                let wrapper = format!(
                    "#!/bin/bash\nif [ -n \"$HOLDFAST_TAKEOVER_FD\" ]; then\n  echo \"schema 9999\" >&\"$HOLDFAST_TAKEOVER_FD\"\n  read -r _ <&\"$HOLDFAST_TAKEOVER_FD\"\n  exit 0\nfi\nexec '{}' \"$@\"\n",
                    real.display()
                );
                let schema = inst.bundle("0.3.0", wrapper.as_bytes());
                let schema_s = schema.to_str().expect("path").to_string();
                inst.watched(&["update", "apply", &schema_s, "--no-backup"], true)
            })
            .collect();
        report("apply changing the schema", &changes);

        // A release that never becomes ready: the old server keeps serving while the new one is
        // given its readiness timeout and then rolled back, so the gap is what a client sees (it
        // was the timeout plus the rollback when the old server was stopped first).
        let inst = Install::new(clients, 2);
        let hang = inst.bundle("0.3.0", b"#!/bin/sh\nexec sleep 20\n");
        let runs: Vec<_> = (0..CYCLES)
            .map(|_| {
                inst.watched(
                    &[
                        "update",
                        "apply",
                        hang.to_str().expect("path"),
                        "--no-backup",
                    ],
                    false,
                )
            })
            .collect();
        let refused: Vec<(bool, f64, f64, u64)> = runs
            .iter()
            .map(|(ok, wall, gap, failed)| (!ok, *wall, *gap, *failed))
            .collect();
        report("never ready (2 s timeout), rolled back", &refused);
    }
}

/// 16 clients keeping one HTTPS connection alive and 16 opening a new TLS connection per request
/// (`GET /healthz`, 1 ms pause each) while `update apply` and then `update rollback` run, by the
/// old stop-then-start path and by hand-over in the same run. Figures, not verdicts: requests not
/// answered 2xx and over how long they failed (the refused window), the largest latency.
fn handover() {
    println!("hand-over under 16 + 16 clients (empty instance)");
    // The fixed port of `Install` is what lets clients find the stop-then-start path's restarted
    // server: only a hand-over keeps the sockets themselves.
    let inst = Install::new(0, 60);
    let tls = tls_config(inst.data.path());
    let control = inst.data.path().join(holdfast::sockets::control::FILE);
    for (version, old_path) in [("0.2.0", true), ("0.3.0", false)] {
        let bundle = inst.bundle(
            version,
            &inst.next_binary(&format!("bench release {version}")),
        );
        let bundle = bundle.to_str().expect("path");
        let how = if old_path {
            "stop then start"
        } else {
            "hand-over"
        };
        let commands: [(&str, &[&str]); 2] = [
            ("apply", &["update", "apply", bundle, "--no-backup"]),
            ("rollback", &["update", "rollback"]),
        ];
        for (what, args) in commands {
            if old_path {
                // As with a server older than the hand-over, which has no control socket.
                let _ = std::fs::remove_file(&control);
            }
            let load = Load::start(Spec {
                addr: inst.addr,
                tls: tls.clone(),
                keep_alive: 16,
                new_connection: 16,
                pause: Duration::from_millis(1),
                max_requests: 50_000,
                max_time: Duration::from_secs(240),
            });
            // A moment of load before and after the command.
            std::thread::sleep(Duration::from_millis(300));
            let t = Instant::now();
            let out = inst.console(args);
            let took = t.elapsed().as_secs_f64();
            std::thread::sleep(Duration::from_millis(300));
            let seen = load.finish();
            println!(
                "  {:<34} {} (command {took:.2} s{})",
                format!("{what} ({how})"),
                seen.line(),
                if out.status.success() { "" } else { ", FAILED" }
            );
            if !out.status.success() {
                println!(
                    "    {}{}",
                    String::from_utf8_lossy(&out.stdout).trim(),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
    }
}
