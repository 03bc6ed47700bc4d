//! Side-by-side benchmark (not a test): holdfast next to PocketBase, the single-binary backend its
//! users would otherwise pick, on the same work with the same load generator. Run with
//! `cargo bench --bench peer` after `bash tests/run --setup-only` (which installs the pinned
//! PocketBase from PyPI into the target dir; nothing is fetched here). Both servers listen on
//! 127.0.0.1 with a port the OS picks; every load is bounded in time and count; only the processes
//! started here are stopped, by their PIDs; nothing is asserted.
//!
//! Each side gets a `clients` collection (name, e-mail, notes), one user (name, e-mail, password)
//! and one API token. Then, at 16 and at 64 keep-alive connections, each kind of work runs on one
//! side and at once on the other (interleaved, the first side alternating between rounds): sign-ins
//! with the correct password, creates, the newest 50, one record, updates of the notes, deletes.
//! holdfast is measured as it ships (HTTPS, SQLCipher, `synchronous = FULL`, every change audited
//! in its transaction, indexed for full-text search, with a history line); PocketBase as it ships
//! (plain HTTP, its default, and its own SQLite settings).
//! `HOLDFAST_PEER_SECONDS` (default 8) sets the seconds per measurement; `HOLDFAST_PEER_WORK`
//! (e.g. `create`, or `signin,create,list,read,update,delete`) the kinds of work that run (a delete
//! removes the records of the same round's creates, so it needs `create`); `HOLDFAST_PEER_SERVER_BIN`
//! serves holdfast from another build (a release build with symbols, to profile it under this load:
//! the servers' PIDs are printed first).
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
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value as Json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

const USER: &str = "bench";
const EMAIL: &str = "bench@example.test";
const PASSWORD: &str = "velvet orchard signal 77";
const SUPERUSER: &str = "owner@example.test";
const CONNECTIONS: [usize; 2] = [16, 64];
/// Records each side gets before the first measurement: what reads, lists and updates work on.
const SEED: u64 = 2_000;
/// Attempts, not sign-ins: holdfast answers 503 "busy" at once when its password hashing queue is
/// full, and each such answer counts as an attempt.
const MAX_SIGNINS: u64 = 200_000;
/// How long a connection waits after an answer other than the expected one (holdfast's "busy, try
/// again in a moment"), so that refused attempts do not turn into a busy loop of the generator.
const PAUSE_AFTER_REFUSAL: Duration = Duration::from_millis(20);
const MAX_WRITES: u64 = 200_000;
const MAX_READS: u64 = 2_000_000;
/// How long a server may take to answer its first request after being started.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Plain HTTP (PocketBase's default) or HTTPS with the holdfast instance's own certificate.
#[derive(Clone)]
enum Proto {
    Http,
    Https(Arc<rustls::ClientConfig>),
}

async fn open(addr: SocketAddr, proto: &Proto) -> Option<Sender> {
    match proto {
        Proto::Https(tls) => connect(addr, tls).await,
        Proto::Http => {
            let tcp = TcpStream::connect(addr).await.ok()?;
            let _ = tcp.set_nodelay(true);
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .ok()?;
            tokio::spawn(conn);
            Some(sender)
        }
    }
}

/// One side of the comparison: where it listens and how its API spells the same requests.
struct Side {
    name: &'static str,
    addr: SocketAddr,
    proto: Proto,
    pid: u32,
    /// The `authorization` header value of the user's API token.
    auth: String,
    signin_path: &'static str,
    signin_body: String,
    /// The collection's path; one record is `{records}/{id}`.
    records: &'static str,
    newest_50: &'static str,
    create_status: u16,
    /// Ids of the seeded records (never deleted): reads and updates pick among them.
    seeded: Vec<String>,
    /// holdfast's `/metrics` listener (loopback, no token), for the writer's own figures.
    metrics: Option<SocketAddr>,
}

/// The database writer's totals from holdfast's `/metrics`: seconds busy, seconds in COMMIT,
/// commits, writes.
#[derive(Clone, Copy, Default)]
struct WriterTotals {
    busy: f64,
    commit: f64,
    commits: f64,
    writes: f64,
}

fn writer_totals(rt: &tokio::runtime::Runtime, side: &Side) -> Option<WriterTotals> {
    let addr = side.metrics?;
    let text = rt.block_on(async {
        let mut s = open(addr, &side.proto).await?;
        match send(&mut s, &Req::get("/metrics")).await? {
            (200, _, body) => Some(String::from_utf8_lossy(&body).into_owned()),
            _ => None,
        }
    })?;
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some(WriterTotals {
        busy: value("holdfast_db_writer_busy_seconds_total{")?,
        commit: value("holdfast_db_commit_seconds_total{")?,
        commits: value("holdfast_group_commit_writes_count{")?,
        writes: value("holdfast_group_commit_writes_sum{")?,
    })
}

/// The id of a record as either API returns it (holdfast: a number, PocketBase: a string).
fn record_id(body: &[u8]) -> Option<String> {
    let v: Json = serde_json::from_slice(body).ok()?;
    match v.get("id")? {
        Json::Number(n) => Some(n.to_string()),
        Json::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn request(method: hyper::Method, path: String, body: Option<String>) -> Req {
    let mut r = Req::get(path);
    r.method = method;
    if let Some(b) = body {
        r.headers.push(("content-type", "application/json".into()));
        r.body = Bytes::from(b);
    }
    r
}

type Make = Arc<dyn Fn(u64) -> Req + Send + Sync>;

/// Keep-alive load from `connections` connections, each request built by `make(n)`, bounded by
/// `duration` and `max_requests`; a request is ok when it answers `expect`. With `keep`, the id of
/// every ok answer's record is collected (the creates feed the deletes).
#[allow(clippy::too_many_arguments)]
async fn run(
    addr: SocketAddr,
    proto: Proto,
    make: Make,
    expect: u16,
    connections: usize,
    duration: Duration,
    max_requests: u64,
    keep: Option<Arc<Mutex<Vec<String>>>>,
) -> Timed {
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (issued, proto, make, keep) =
            (issued.clone(), proto.clone(), make.clone(), keep.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut bytes, mut lat) = (0u64, 0u64, 0u64, Vec::new());
            let mut sender = open(addr, &proto).await;
            while Instant::now() < deadline {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= max_requests {
                    break;
                }
                let Some(s) = sender.as_mut() else {
                    failed += 1;
                    sender = open(addr, &proto).await;
                    continue;
                };
                let req = make(n);
                let t0 = Instant::now();
                let answer = tokio::time::timeout(LOAD_REQUEST_TIMEOUT, send(s, &req))
                    .await
                    .ok()
                    .flatten();
                match answer {
                    Some((status, _, body)) if status == expect => {
                        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                        bytes += body.len() as u64;
                        ok += 1;
                        if let Some(keep) = &keep
                            && let Some(id) = record_id(&body)
                        {
                            keep.lock().expect("ids").push(id);
                        }
                    }
                    Some(_) => {
                        failed += 1;
                        tokio::time::sleep(PAUSE_AFTER_REFUSAL).await;
                    }
                    None => {
                        failed += 1;
                        sender = None;
                    }
                }
            }
            (ok, failed, bytes, lat)
        }));
    }
    let mut out = Timed {
        ok: 0,
        failed: 0,
        seconds: 0.0,
        latencies_ms: Vec::new(),
        bytes: 0,
    };
    for t in tasks {
        if let Ok((ok, failed, bytes, lat)) = t.await {
            out.ok += ok;
            out.failed += failed;
            out.bytes += bytes;
            out.latencies_ms.extend(lat);
        }
    }
    out.seconds = started.elapsed().as_secs_f64();
    out.latencies_ms.sort_by(|a, b| a.total_cmp(b));
    out
}

fn create_body(tag: &str, n: u64) -> String {
    format!(
        "{{\"name\":\"Peer Client {tag} {n}\",\"email\":\"client{n}.{tag}@bench.example\",\"notes\":\"Prefers invoices by e-mail; payment terms 30 days, ask for the purchase order number.\"}}"
    )
}

/// The kinds of work, in the order they run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Work {
    SignIn,
    Create,
    List,
    Read,
    Update,
    Delete,
}

const WORK: [Work; 6] = [
    Work::SignIn,
    Work::Create,
    Work::List,
    Work::Read,
    Work::Update,
    Work::Delete,
];

impl Work {
    fn key(self) -> &'static str {
        match self {
            Work::SignIn => "signin",
            Work::Create => "create",
            Work::List => "list",
            Work::Read => "read",
            Work::Update => "update",
            Work::Delete => "delete",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Work::SignIn => "sign-ins (correct password)",
            Work::Create => "creates (name, e-mail, notes)",
            Work::List => "list newest 50",
            Work::Read => "read one record",
            Work::Update => "update the notes",
            Work::Delete => "delete one record",
        }
    }
}

/// One measurement of `work` on `side`. `created` collects the ids of this round's creates; the
/// deletes then remove exactly those (so a delete always finds its record).
fn measure(
    rt: &tokio::runtime::Runtime,
    side: &Side,
    work: Work,
    conns: usize,
    secs: u64,
    created: &Arc<Mutex<Vec<String>>>,
) -> Timed {
    let auth = side.auth.clone();
    let records = side.records;
    let seeded = Arc::new(side.seeded.clone());
    let pick = move |n: u64| -> String {
        let mut r = Rng(n ^ 0x5EED);
        seeded[r.below(seeded.len() as u64) as usize].clone()
    };
    let dur = Duration::from_secs(secs);
    let tag = format!("c{conns}");
    let (make, expect, max, keep): (Make, u16, u64, _) = match work {
        Work::SignIn => {
            let (path, body) = (side.signin_path, side.signin_body.clone());
            (
                Arc::new(move |_| request(hyper::Method::POST, path.into(), Some(body.clone()))),
                200,
                MAX_SIGNINS,
                None,
            )
        }
        Work::Create => (
            Arc::new(move |n| {
                request(
                    hyper::Method::POST,
                    records.into(),
                    Some(create_body(&tag, n)),
                )
                .header("authorization", auth.clone())
            }),
            side.create_status,
            MAX_WRITES,
            Some(created.clone()),
        ),
        Work::List => {
            let path = side.newest_50;
            (
                Arc::new(move |_| Req::get(path).header("authorization", auth.clone())),
                200,
                MAX_READS,
                None,
            )
        }
        Work::Read => (
            Arc::new(move |n| {
                Req::get(format!("{records}/{}", pick(n))).header("authorization", auth.clone())
            }),
            200,
            MAX_READS,
            None,
        ),
        Work::Update => (
            Arc::new(move |n| {
                request(
                    hyper::Method::PATCH,
                    format!("{records}/{}", pick(n)),
                    Some(format!(
                        "{{\"notes\":\"Updated by the side-by-side benchmark, change {n}.\"}}"
                    )),
                )
                .header("authorization", auth.clone())
            }),
            200,
            MAX_WRITES,
            None,
        ),
        Work::Delete => {
            let ids = Arc::new(std::mem::take(&mut *created.lock().expect("ids")));
            let max = ids.len() as u64;
            (
                Arc::new(move |n| {
                    let id = ids.get(n as usize).cloned().unwrap_or_default();
                    request(hyper::Method::DELETE, format!("{records}/{id}"), None)
                        .header("authorization", auth.clone())
                }),
                204,
                max,
                None,
            )
        }
    };
    rt.block_on(run(
        side.addr,
        side.proto.clone(),
        make,
        expect,
        conns,
        dur,
        max,
        keep,
    ))
}

// ---- holdfast ----

fn holdfast_side(rt: &tokio::runtime::Runtime, dir: &Path) -> (Running, Side) {
    console(dir, &["init"], None);
    console(
        dir,
        &[
            "admin",
            "user",
            "add",
            USER,
            "--email",
            EMAIL,
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    let out = console(
        dir,
        &[
            "admin",
            "token",
            "create",
            "--service",
            "peer-bench",
            "--scopes",
            "clients:read,clients:write",
        ],
        None,
    );
    let token = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("hft_"))
        .expect("token printed")
        .to_string();
    // The metrics listener on loopback: the writer's busy and commit time per measurement.
    let config = dir.join("bench.toml");
    std::fs::write(&config, "[metrics]\nlisten = \"127.0.0.1:0\"\n").expect("config");
    let bin = std::env::var_os("HOLDFAST_PEER_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| BIN.into());
    let server = start_bin_with(&bin, dir, Some(&config));
    let proto = Proto::Https(tls_config(dir));
    wait_ready(rt, server.addr, &proto, "/readyz");
    let side = Side {
        name: "holdfast",
        addr: server.addr,
        proto,
        pid: server.child.id(),
        auth: format!("Bearer {token}"),
        signin_path: "/api/v1/session",
        signin_body: format!("{{\"username\":\"{USER}\",\"password\":\"{PASSWORD}\"}}"),
        records: "/api/v1/clients",
        newest_50: "/api/v1/clients?limit=50",
        create_status: 201,
        seeded: Vec::new(),
        metrics: server.metrics,
    };
    (server, side)
}

// ---- PocketBase ----

/// The PocketBase binary that `tests/tools/pocketbase` installed (run by `tests/run --setup-only`).
fn pocketbase_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = std::env::var_os("POCKETBASE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("pocketbase"));
    let bin = dir.join("pocketbase");
    assert!(
        bin.exists(),
        "{} is missing: run `bash tests/run --setup-only` (or `bash tests/tools/pocketbase --install-only`) first",
        bin.display()
    );
    bin
}

/// A PocketBase process started here; stopped (by its PID) when dropped.
struct PocketBase {
    child: Child,
}

impl Drop for PocketBase {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The loopback TCP port that process `pid` listens on (PocketBase prints `:0` when given port 0,
/// so the port the OS chose is read from /proc: its socket inodes, matched in /proc/net/tcp).
fn listening_port(pid: u32) -> Option<u16> {
    let mut inodes = std::collections::HashSet::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        if let Ok(link) = std::fs::read_link(e.path()) {
            let link = link.to_string_lossy().into_owned();
            if let Some(inode) = link
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
            {
                inodes.insert(inode.to_string());
            }
        }
    }
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // local address, state (0A: LISTEN), inode.
        let (local, state, inode) = (cols.get(1)?, cols.get(3)?, cols.get(9)?);
        if *state != "0A" || !inodes.contains(*inode) {
            return None;
        }
        u16::from_str_radix(local.split(':').nth(1)?, 16).ok()
    })
}

fn wait_ready(rt: &tokio::runtime::Runtime, addr: SocketAddr, proto: &Proto, path: &str) {
    let until = Instant::now() + READY_WITHIN;
    rt.block_on(async {
        while Instant::now() < until {
            if let Some(mut s) = open(addr, proto).await
                && let Some((200, _, _)) = send(&mut s, &Req::get(path)).await
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no answer from {addr}{path} within {READY_WITHIN:?}");
    });
}

/// One request during the set-up; panics unless it answers `expect`. Returns the JSON answer.
fn setup_call(rt: &tokio::runtime::Runtime, side_addr: SocketAddr, req: Req, expect: u16) -> Json {
    rt.block_on(async {
        let mut s = open(side_addr, &Proto::Http).await.expect("connect");
        let (status, _, body) = send(&mut s, &req).await.expect("answer");
        assert_eq!(
            status,
            expect,
            "{} {}: {}",
            req.method,
            req.path,
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).unwrap_or(Json::Null)
    })
}

fn pocketbase_side(rt: &tokio::runtime::Runtime, dir: &Path) -> (PocketBase, Side) {
    let bin = pocketbase_bin();
    let data = dir.join("pb_data");
    let out = Command::new(&bin)
        .args(["superuser", "upsert", SUPERUSER, PASSWORD, "--dir"])
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .expect("pocketbase superuser");
    assert!(
        out.status.success(),
        "pocketbase superuser upsert: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let child = Command::new(&bin)
        .args(["serve", "--http", "127.0.0.1:0", "--dir"])
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn pocketbase");
    let pb = PocketBase { child };
    let pid = pb.child.id();
    let until = Instant::now() + READY_WITHIN;
    let port = loop {
        if let Some(p) = listening_port(pid) {
            break p;
        }
        assert!(Instant::now() < until, "pocketbase did not listen");
        std::thread::sleep(Duration::from_millis(20));
    };
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_ready(rt, addr, &Proto::Http, "/api/health");

    let su = setup_call(
        rt,
        addr,
        Req::post_json(
            "/api/collections/_superusers/auth-with-password",
            format!("{{\"identity\":\"{SUPERUSER}\",\"password\":\"{PASSWORD}\"}}"),
        ),
        200,
    );
    let su_token = su["token"].as_str().expect("superuser token").to_string();
    // Signed-in users may do everything, like the holdfast token's clients:read,clients:write.
    // The creation time is indexed, as for holdfast's newest-first list.
    let rule = "@request.auth.id != ''";
    let collection = serde_json::json!({
        "name": "clients",
        "type": "base",
        "listRule": rule, "viewRule": rule, "createRule": rule, "updateRule": rule, "deleteRule": rule,
        "fields": [
            {"name": "name", "type": "text", "required": true, "max": 200},
            {"name": "email", "type": "email"},
            {"name": "notes", "type": "text"},
            {"name": "created", "type": "autodate", "onCreate": true},
            {"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true}
        ],
        "indexes": ["CREATE INDEX idx_clients_created ON clients (created)"]
    });
    setup_call(
        rt,
        addr,
        Req::post_json("/api/collections", collection.to_string())
            .header("authorization", su_token.clone()),
        200,
    );
    setup_call(
        rt,
        addr,
        Req::post_json(
            "/api/collections/users/records",
            format!(
                "{{\"email\":\"{EMAIL}\",\"name\":\"{USER}\",\"password\":\"{PASSWORD}\",\"passwordConfirm\":\"{PASSWORD}\"}}"
            ),
        )
        .header("authorization", su_token),
        200,
    );
    let signin_body = format!("{{\"identity\":\"{EMAIL}\",\"password\":\"{PASSWORD}\"}}");
    let user = setup_call(
        rt,
        addr,
        Req::post_json(
            "/api/collections/users/auth-with-password",
            signin_body.clone(),
        ),
        200,
    );
    let token = user["token"].as_str().expect("user token").to_string();
    let side = Side {
        name: "PocketBase",
        addr,
        proto: Proto::Http,
        pid,
        auth: token,
        signin_path: "/api/collections/users/auth-with-password",
        signin_body,
        records: "/api/collections/clients/records",
        // skipTotal: no count of all records, like holdfast's cursor pages.
        newest_50: "/api/collections/clients/records?perPage=50&sort=-created&skipTotal=1",
        create_status: 200,
        seeded: Vec::new(),
        metrics: None,
    };
    (pb, side)
}

fn seed(rt: &tokio::runtime::Runtime, side: &mut Side) {
    let ids = Arc::new(Mutex::new(Vec::new()));
    let auth = side.auth.clone();
    let records = side.records;
    let make: Make = Arc::new(move |n| {
        request(
            hyper::Method::POST,
            records.into(),
            Some(create_body("seed", n)),
        )
        .header("authorization", auth.clone())
    });
    let t = rt.block_on(run(
        side.addr,
        side.proto.clone(),
        make,
        side.create_status,
        16,
        Duration::from_secs(120),
        SEED,
        Some(ids.clone()),
    ));
    side.seeded = std::mem::take(&mut *ids.lock().expect("ids"));
    assert!(
        !side.seeded.is_empty(),
        "{}: no seed record created ({} failed)",
        side.name,
        t.failed
    );
    println!(
        "{}: {} seed records in {:.1} s ({} failed)",
        side.name,
        side.seeded.len(),
        t.seconds,
        t.failed
    );
}

/// CPU seconds (user + system, all threads) a process has used so far, from /proc/PID/stat. Server
/// CPU per request is what the two sides cost apart from the shared cores: unlike requests per
/// second, it does not depend on how much CPU the generator and the other side left over. Ticks are
/// USER_HZ, 100 on every Linux architecture holdfast ships for.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn cell(t: &Timed) -> String {
    let failed = if t.failed > 0 {
        format!(", {} refused or failed", t.failed)
    } else {
        String::new()
    };
    format!("{:.0}/s (p95 {:.1} ms{failed})", t.rate(), t.pct(95.0))
}

fn main() {
    let secs = std::env::var("HOLDFAST_PEER_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| (1..=60).contains(s))
        .unwrap_or(8);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "side by side with PocketBase: {secs} s per measurement, load generator: this benchmark (tokio, 1 thread, keep-alive); load {}",
        loadavg()
    );
    let hf_dir = private_dir();
    let pb_dir = private_dir();
    let (hf_server, mut hf) = holdfast_side(&rt, hf_dir.path());
    let (pb_server, mut pb) = pocketbase_side(&rt, pb_dir.path());
    println!("server PIDs: holdfast {}, PocketBase {}", hf.pid, pb.pid);
    seed(&rt, &mut hf);
    seed(&rt, &mut pb);
    let chosen = std::env::var("HOLDFAST_PEER_WORK").unwrap_or_default();
    let works: Vec<Work> = WORK
        .into_iter()
        .filter(|w| chosen.is_empty() || chosen.split(',').any(|c| c.trim() == w.key()))
        .collect();

    let mut table = Vec::new();
    for (round, conns) in CONNECTIONS.into_iter().enumerate() {
        println!(
            "\n== {conns} connections (first: {}), load {}",
            if round % 2 == 0 { hf.name } else { pb.name },
            loadavg()
        );
        let hf_created = Arc::new(Mutex::new(Vec::new()));
        let pb_created = Arc::new(Mutex::new(Vec::new()));
        for work in works.iter().copied() {
            let one = |side: &Side, created| {
                let cpu = cpu_seconds(side.pid);
                let before = writer_totals(&rt, side);
                let t = measure(&rt, side, work, conns, secs, created);
                let per = (cpu_seconds(side.pid) - cpu) / (t.ok.max(1) as f64) * 1e6;
                if let (Some(a), Some(b)) = (before, writer_totals(&rt, side))
                    && b.writes > a.writes
                {
                    let writes = b.writes - a.writes;
                    println!(
                        "{:<10} writer: busy {:.0} % of the time, {:.0} µs per write ({:.0} µs of it in COMMIT), {:.1} writes per commit",
                        side.name,
                        (b.busy - a.busy) / t.seconds.max(1e-9) * 100.0,
                        (b.busy - a.busy) / writes * 1e6,
                        (b.commit - a.commit) / writes * 1e6,
                        writes / (b.commits - a.commits).max(1.0)
                    );
                }
                println!(
                    "{:<10} {:<30} {conns:>2} conns: {:>8.1}/s  p50 {:>6.1} ms  p95 {:>6.1} ms  ({} ok, {} refused or failed, {:.1} s)  server CPU {per:.0} µs/request  RSS {:.1} MiB  load {}",
                    side.name,
                    work.label(),
                    t.rate(),
                    t.pct(50.0),
                    t.pct(95.0),
                    t.ok,
                    t.failed,
                    t.seconds,
                    rss_mib(side.pid),
                    loadavg()
                );
                (t, per)
            };
            let ((h, h_cpu), (p, p_cpu)) = if round % 2 == 0 {
                let h = one(&hf, &hf_created);
                (h, one(&pb, &pb_created))
            } else {
                let p = one(&pb, &pb_created);
                (one(&hf, &hf_created), p)
            };
            let ratio = h.rate() / p.rate().max(1e-9);
            let cpu_ratio = p_cpu / h_cpu.max(1e-9);
            println!(
                "           ratio holdfast/PocketBase: {ratio:.2}× (by server CPU per request: {cpu_ratio:.2}×)"
            );
            table.push(format!(
                "| {} | {conns} | {} | {} | {ratio:.2}× | {h_cpu:.0} / {p_cpu:.0} µs ({cpu_ratio:.2}×) |",
                work.label(),
                cell(&h),
                cell(&p)
            ));
        }
        table.push(format!(
            "| server RSS after the {conns}-connection round | {conns} | {:.0} MiB | {:.0} MiB | {:.2}× | |",
            rss_mib(hf.pid),
            rss_mib(pb.pid),
            rss_mib(hf.pid) / rss_mib(pb.pid).max(1e-9)
        ));
    }
    println!(
        "\npeak RSS (VmHWM): holdfast {:.0} MiB, PocketBase {:.0} MiB; load {}",
        peak_rss_mib(hf.pid),
        peak_rss_mib(pb.pid),
        loadavg()
    );
    println!(
        "\n| work | connections | holdfast | PocketBase | ratio | server CPU per request, holdfast / PocketBase (ratio) |\n|---|---|---|---|---|---|"
    );
    for line in table {
        println!("{line}");
    }
    drop(pb_server);
    hf_server.stop();
}
