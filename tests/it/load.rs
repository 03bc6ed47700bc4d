//! A steady client load for the update hand-over tests and `benches/update.rs` (which includes this
//! file by path, so it takes everything it needs as parameters): clients that keep one connection
//! alive and clients that open a new TLS connection for every request, all asking `GET /healthz`
//! (`/readyz` says 503 by design while a server stops, though it still answers) and noting which
//! server process answered (`x-holdfast-boot`), how long each answer took and what failed. Every
//! loop is bounded in requests and in time.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What one client saw.
#[derive(Debug, Default, Clone)]
pub struct ClientLog {
    pub answered_2xx: u64,
    /// Every request that got no 2xx answer, with why.
    pub failures: Vec<String>,
    /// The boot ids that answered, in order, each once per run of answers.
    pub boots: Vec<String>,
    pub max_latency: Duration,
    /// Requests sent again on a new connection because the kept-alive one was closed by the
    /// server before any byte of an answer (what HTTP clients do for an idempotent request,
    /// RFC 9110 section 9.2.2); the retried request's latency includes the first attempt.
    pub retried: u64,
    /// When the first and the last failure happened.
    pub failed_between: Option<(Instant, Instant)>,
}

impl ClientLog {
    fn note(&mut self, result: Result<(u16, String), String>, took: Duration) {
        self.max_latency = self.max_latency.max(took);
        let failed_before = self.failures.len();
        match result {
            Ok((status, boot)) if (200..300).contains(&status) => {
                self.answered_2xx += 1;
                if self.boots.last() != Some(&boot) {
                    self.boots.push(boot);
                }
            }
            Ok((status, _)) => self.failures.push(format!("status {status}")),
            Err(e) => self.failures.push(e),
        }
        if self.failures.len() > failed_before {
            let now = Instant::now();
            let first = self.failed_between.map_or(now, |(f, _)| f);
            self.failed_between = Some((first, now));
        }
    }
}

/// Everything the load saw.
#[derive(Debug)]
pub struct Summary {
    pub clients: Vec<ClientLog>,
}

impl Summary {
    pub fn answered(&self) -> u64 {
        self.clients.iter().map(|c| c.answered_2xx).sum()
    }
    pub fn failures(&self) -> Vec<String> {
        self.clients
            .iter()
            .flat_map(|c| c.failures.iter().cloned())
            .collect()
    }
    pub fn retried(&self) -> u64 {
        self.clients.iter().map(|c| c.retried).sum()
    }
    pub fn max_latency(&self) -> Duration {
        self.clients
            .iter()
            .map(|c| c.max_latency)
            .max()
            .unwrap_or_default()
    }
    /// Every boot id that answered, in the order first seen.
    pub fn boots(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for c in &self.clients {
            for b in &c.boots {
                if !all.contains(b) {
                    all.push(b.clone());
                }
            }
        }
        all
    }
    /// The most times one client saw the answering server change.
    pub fn most_switches(&self) -> usize {
        self.clients
            .iter()
            .map(|c| c.boots.len().saturating_sub(1))
            .max()
            .unwrap_or(0)
    }
    /// From the first failure any client saw to the last.
    pub fn failing_for(&self) -> Duration {
        let first = self
            .clients
            .iter()
            .filter_map(|c| c.failed_between)
            .map(|b| b.0)
            .min();
        let last = self
            .clients
            .iter()
            .filter_map(|c| c.failed_between)
            .map(|b| b.1)
            .max();
        match (first, last) {
            (Some(f), Some(l)) => l - f,
            _ => Duration::ZERO,
        }
    }

    pub fn line(&self) -> String {
        format!(
            "{} answered 2xx, {} failed (over {} ms), {} retried on a new connection, largest latency {} ms, servers seen {}",
            self.answered(),
            self.failures().len(),
            self.failing_for().as_millis(),
            self.retried(),
            self.max_latency().as_millis(),
            self.boots().len()
        )
    }
}

/// A running load; [`Load::finish`] stops it and returns what it saw.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<ClientLog>>,
    rt: tokio::runtime::Runtime,
}

pub struct Spec {
    pub addr: SocketAddr,
    /// Trusts the server's certificate.
    pub tls: Arc<rustls::ClientConfig>,
    pub keep_alive: usize,
    pub new_connection: usize,
    /// Each client's pause between two requests.
    pub pause: Duration,
    /// Each client stops after this many requests or this long, whichever comes first.
    pub max_requests: u64,
    pub max_time: Duration,
}

impl Load {
    pub fn start(spec: Spec) -> Load {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let config = spec.tls;
        let end = Instant::now() + spec.max_time;
        let mut tasks = Vec::new();
        for i in 0..spec.keep_alive + spec.new_connection {
            let keep = i < spec.keep_alive;
            let (stop, config) = (Arc::clone(&stop), Arc::clone(&config));
            let (addr, pause, max) = (spec.addr, spec.pause, spec.max_requests);
            tasks.push(rt.spawn(async move {
                let mut log = ClientLog::default();
                let mut conn: Option<SendRequest<Empty<Bytes>>> = None;
                let mut sent = 0;
                while !stop.load(Ordering::Relaxed) && sent < max && Instant::now() < end {
                    sent += 1;
                    let t = Instant::now();
                    let result = if keep {
                        match request(&mut conn, &config, addr).await {
                            Err(Attempt::Retry(_)) => {
                                log.retried += 1;
                                request(&mut conn, &config, addr).await
                            }
                            other => other,
                        }
                    } else {
                        let mut fresh = None;
                        request(&mut fresh, &config, addr).await
                    };
                    let result = result.map_err(|a| match a {
                        Attempt::Retry(e) | Attempt::Failed(e) => e,
                    });
                    log.note(result, t.elapsed());
                    tokio::time::sleep(pause).await;
                }
                log
            }));
        }
        Load { stop, tasks, rt }
    }

    pub fn finish(self) -> Summary {
        self.stop.store(true, Ordering::Relaxed);
        let Load { tasks, rt, .. } = self;
        let clients = rt.block_on(async {
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        });
        Summary { clients }
    }
}

enum Attempt {
    /// The kept-alive connection was closed before any answer: send again on a new one.
    Retry(String),
    Failed(String),
}

async fn connect(
    config: &Arc<rustls::ClientConfig>,
    addr: SocketAddr,
) -> Result<SendRequest<Empty<Bytes>>, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn request(
    conn: &mut Option<SendRequest<Empty<Bytes>>>,
    config: &Arc<rustls::ClientConfig>,
    addr: SocketAddr,
) -> Result<(u16, String), Attempt> {
    let fut = async {
        let reused = conn.as_ref().is_some_and(|c| !c.is_closed());
        if !reused {
            *conn = Some(connect(config, addr).await.map_err(Attempt::Failed)?);
        }
        let Some(sender) = conn.as_mut() else {
            return Err(Attempt::Failed("no connection".into()));
        };
        let closed = |e: String| {
            if reused {
                Attempt::Retry(e)
            } else {
                Attempt::Failed(e)
            }
        };
        if let Err(e) = sender.ready().await {
            *conn = None;
            return Err(closed(format!("connection not ready: {e}")));
        }
        let req = hyper::Request::get("/healthz")
            .header("host", "localhost")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let resp = match sender.send_request(req).await {
            Ok(r) => r,
            Err(e) => {
                *conn = None;
                return Err(if e.is_canceled() || e.is_incomplete_message() {
                    closed(format!("request: {e}"))
                } else {
                    Attempt::Failed(format!("request: {e}"))
                });
            }
        };
        let status = resp.status().as_u16();
        let boot = resp
            .headers()
            .get("x-holdfast-boot")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let close = resp
            .headers()
            .get("connection")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        resp.into_body()
            .collect()
            .await
            .map_err(|e| Attempt::Failed(format!("body: {e}")))?;
        if close {
            *conn = None;
        }
        Ok((status, boot))
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
        Ok(r) => r,
        Err(_) => {
            *conn = None;
            Err(Attempt::Failed("no answer within 30 s".into()))
        }
    }
}
