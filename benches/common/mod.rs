//! Shared by the benchmarks: start the release binary on loopback, an HTTPS client, RSS readings,
//! a bounded keep-alive load generator, and (`fixture`) the hub's generated instance.
#![allow(dead_code)]

pub mod fixture;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

pub const BIN: &str = env!("CARGO_BIN_EXE_holdfast");

pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    /// The `/metrics` listener, when the configuration switched it on.
    pub metrics: Option<SocketAddr>,
}

impl Running {
    pub fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }

    pub fn rss_mib(&self) -> f64 {
        rss_mib(self.child.id())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `holdfast serve` on 127.0.0.1:0; returns once it logged its address.
pub fn start(data_dir: &Path) -> Running {
    start_bin(Path::new(BIN), data_dir)
}

/// `start` with another build of holdfast (benches/peer.rs: a release build with symbols to profile).
pub fn start_bin(bin: &Path, data_dir: &Path) -> Running {
    start_bin_with(bin, data_dir, None)
}

/// `start_bin` with a configuration file (`--config`).
pub fn start_bin_with(bin: &Path, data_dir: &Path, config: Option<&Path>) -> Running {
    let mut cmd = Command::new(bin);
    cmd.arg("--data-dir").arg(data_dir);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("HOLDFAST_LOG", "warn,holdfast::cli::serve=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn holdfast");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut metrics = None;
    let addr = loop {
        let line = lines.next().expect("server exited").expect("read");
        if let Some(rest) = line.split("metrics endpoint on https://").nth(1) {
            metrics = rest.split('/').next().and_then(|a| a.parse().ok());
        }
        if let Some(rest) = line.split("listening on https://").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .expect("addr")
                .parse()
                .expect("addr");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Running {
        child,
        addr,
        metrics,
    }
}

pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub fn private_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::Builder::new()
        .prefix("holdfast-bench-")
        .tempdir()
        .expect("tempdir");
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    d
}

pub fn tls_config(data_dir: &Path) -> Arc<rustls::ClientConfig> {
    let pem = std::fs::read(data_dir.join("tls/cert.pem")).expect("cert");
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.expect("pem")).expect("root");
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

pub type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

pub async fn connect(addr: SocketAddr, tls: &Arc<rustls::ClientConfig>) -> Option<Sender> {
    let tcp = TcpStream::connect(addr).await.ok()?;
    let _ = tcp.set_nodelay(true);
    let stream = tokio_rustls::TlsConnector::from(Arc::clone(tls))
        .connect(ServerName::try_from("localhost").ok()?, tcp)
        .await
        .ok()?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(sender)
}

pub async fn get(sender: &mut Sender, path: &str) -> Option<u16> {
    sender.ready().await.ok()?;
    let req = hyper::Request::get(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .ok()?;
    let resp = sender.send_request(req).await.ok()?;
    let status = resp.status().as_u16();
    resp.into_body().collect().await.ok()?;
    Some(status)
}

pub struct LoadResult {
    pub ok: u64,
    pub failed: u64,
    pub seconds: f64,
}

/// Keep-alive GET load from `connections` connections, bounded by `duration` and `max_requests`.
pub async fn load(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    path: &'static str,
    connections: usize,
    duration: Duration,
    max_requests: u64,
) -> LoadResult {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (ok, failed, issued, tls) = (ok.clone(), failed.clone(), issued.clone(), tls.clone());
        tasks.push(tokio::spawn(async move {
            let Some(mut sender) = connect(addr, &tls).await else {
                failed.fetch_add(1, Ordering::Relaxed);
                return;
            };
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max_requests
            {
                match get(&mut sender, path).await {
                    Some(200) => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    LoadResult {
        ok: ok.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// POSTs a JSON body; returns the status.
pub async fn post_json(sender: &mut Sender, path: &str, body: &str) -> Option<u16> {
    sender.ready().await.ok()?;
    let req = hyper::Request::post(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
        .ok()?;
    let resp = sender.send_request(req).await.ok()?;
    let status = resp.status().as_u16();
    resp.into_body().collect().await.ok()?;
    Some(status)
}

/// Peak resident set size of a process (VmHWM), in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

// ---- Added for the hub and backup benchmarks (benches/hub.rs, benches/backup.rs). ----

/// Runs a console command (`holdfast --data-dir DIR ARGS…`), optionally feeding `stdin`; returns
/// its stdout. Panics with the command's stderr when it fails: a benchmark without its fixture is
/// meaningless.
pub fn console(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("HOLDFAST_LOG", "warn")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn holdfast console");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("console");
    assert!(
        out.status.success(),
        "holdfast {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One HTTP request of a load run. Built once per request by the caller's closure.
#[derive(Clone)]
pub struct Req {
    pub method: hyper::Method,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

impl Req {
    pub fn get(path: impl Into<String>) -> Self {
        Req {
            method: hyper::Method::GET,
            path: path.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn post_json(path: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Req {
            method: hyper::Method::POST,
            path: path.into(),
            headers: vec![("content-type", "application/json".into())],
            body: body.into(),
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// Sends one request on a keep-alive connection; returns status, headers and the whole body.
pub async fn send(sender: &mut Sender, req: &Req) -> Option<(u16, hyper::HeaderMap, Bytes)> {
    sender.ready().await.ok()?;
    let mut b = hyper::Request::builder()
        .method(req.method.clone())
        .uri(req.path.as_str())
        .header("host", "localhost");
    for (k, v) in &req.headers {
        b = b.header(*k, v.as_str());
    }
    let r = b.body(Full::new(req.body.clone())).ok()?;
    let resp = sender.send_request(r).await.ok()?;
    let status = resp.status().as_u16();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.ok()?.to_bytes();
    Some((status, parts.headers, bytes))
}

/// A load run with per-request latencies (milliseconds, sorted).
pub struct Timed {
    pub ok: u64,
    pub failed: u64,
    pub seconds: f64,
    pub latencies_ms: Vec<f64>,
    /// Response body bytes of the successful requests.
    pub bytes: u64,
}

impl Timed {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.seconds.max(1e-9)
    }

    /// The p-th percentile (0–100) of the latencies; 0 when nothing succeeded.
    pub fn pct(&self, p: f64) -> f64 {
        percentile(&self.latencies_ms, p)
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// No single request of a load run may take longer than this (it then counts as failed and its
/// connection is dropped), so a run ends at most this long after its deadline.
pub const LOAD_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Keep-alive load from `connections` connections, each request built by `make(n)` (n counts from
/// 0), bounded by `duration` and `max_requests`. A request counts as ok when its status is `expect`;
/// only ok requests contribute latencies. A broken connection is reopened (and counted as failed).
pub async fn timed_load(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    make: Arc<dyn Fn(u64) -> Req + Send + Sync>,
    expect: u16,
    connections: usize,
    duration: Duration,
    max_requests: u64,
) -> Timed {
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (issued, tls, make) = (issued.clone(), tls.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut bytes, mut lat) = (0u64, 0u64, 0u64, Vec::new());
            let mut sender = connect(addr, &tls).await;
            while Instant::now() < deadline {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= max_requests {
                    break;
                }
                let Some(s) = sender.as_mut() else {
                    failed += 1;
                    sender = connect(addr, &tls).await;
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
                    }
                    Some(_) => failed += 1,
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

/// Total size of the regular files under `path` (recursively), in bytes.
pub fn dir_bytes(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => total += dir_bytes(&e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map(|m| m.len()).unwrap_or(0),
                _ => {}
            }
        }
    }
    total
}

/// Size of an instance's database as it stands on disk: the main file plus its write-ahead log.
pub fn db_bytes(inst_dir: &Path) -> u64 {
    ["db.sqlite", "db.sqlite-wal"]
        .iter()
        .map(|f| {
            std::fs::metadata(inst_dir.join(f))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum()
}

/// The machine's load averages (`/proc/loadavg`: 1, 5 and 15 minutes), for printing beside figures.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// A small deterministic generator (SplitMix64) for fixtures: same seed, same data, every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Writes one validated record as `holdfast::hub::records::create_in` does — the row, its full-text
/// entry (same title and body as `index_row`, through the same `storage::records::index`) and the
/// "(created)" history line, no audit event — but without reading the row back and without the
/// per-row `max(change_id)` lookup: `change` is the history change id to use (the caller counts).
pub fn bulk_insert(
    tx: &holdfast::storage::Transaction,
    def: &holdfast::schema::ModuleDef,
    values: &[(&'static str, holdfast::storage::Value)],
    now: &str,
    actor: &str,
    change: i64,
) -> Result<i64, holdfast::storage::StorageError> {
    use holdfast::schema::Kind;
    use holdfast::storage::Value;
    let id = holdfast::storage::records::insert(tx, def, values, now)?;
    let text = |name: &str| {
        values
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| match v {
                Value::Null | Value::Blob(_) => None,
                Value::Integer(i) => Some(i.to_string()),
                Value::Real(r) => Some(r.to_string()),
                Value::Text(t) => Some(t.clone()),
            })
    };
    let title = text(def.title).unwrap_or_else(|| format!("{} #{id}", def.singular));
    let body: Vec<String> = def
        .fields
        .iter()
        .filter(|f| {
            matches!(
                f.kind,
                Kind::Text { .. } | Kind::LongText | Kind::Email | Kind::User
            ) && f.name != def.title
        })
        .filter_map(|f| text(f.name))
        .collect();
    holdfast::storage::records::index(tx, def, id, &title, &body.join(" "))?;
    holdfast::storage::records::Change::with_id(def.slug, id, change, now, actor).field(
        tx,
        "(created)",
        None,
        None,
    )?;
    Ok(id)
}

/// The next free history change id of an instance (what create_in computes per row).
pub fn next_change_id(inst: &holdfast::instances::Instance) -> i64 {
    inst.db
        .read_blocking(holdfast::storage::history::next_change_id)
        .expect("history")
}

/// Opens an instance of a data dir through the library (the master key from its key file).
pub fn open_instance(data_dir: &Path, name: &str) -> holdfast::instances::Instance {
    let (master, _) = holdfast::keys::load(data_dir, false).expect("master key");
    holdfast::instances::open(
        data_dir,
        &master,
        name,
        holdfast::storage::Options::default(),
    )
    .expect("open instance")
}

/// Fixture writers keep big transactions in memory: a 256 MiB page cache for the generating
/// connection instead of SQLite's 8 MiB default (the server's own connections are unaffected).
pub const GENERATOR_CACHE_MIB: u32 = 256;
