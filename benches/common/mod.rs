//! Shared by the benchmarks: start the release binary on loopback, an HTTPS client, RSS readings,
//! and a bounded keep-alive load generator.
#![allow(dead_code)]

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
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("HOLDFAST_LOG", "warn,holdfast::cli::serve=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn holdfast");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("server exited").expect("read");
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
    Running { child, addr }
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
