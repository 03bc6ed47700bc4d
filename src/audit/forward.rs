//! Forwarding of security-log events to a customer syslog/SIEM (RFC 5424, RFC 6587, RFC 5425).
//!
//! The database stays the record of truth; this module is a best-effort copy for the
//! customer's SIEM and must never slow down or fail the code path that records an event.
//!
//! # Facility and severity
//! Facility is **10 (authpriv)**, not 13 (log audit). Every collector knows authpriv by
//! name (`authpriv.*`) and stock rsyslog/syslog-ng configurations route it to a restricted
//! file (`/var/log/secure`, `auth.log`) and exclude it from general logs; facility 13 has no
//! symbolic name in glibc or rsyslog, so it would land wherever unmatched traffic goes.
//!
//! Severity ([`severity_for`]):
//! * 4 warning — lockouts: `account_locked`, any event ending in `_locked` or containing
//!   `lockout` (a threshold was crossed; an attack may be in progress);
//! * 5 notice — `support_granted` (outside access to the instance), any outcome `failure`
//!   and any outcome that is neither `success` nor `failure` (unknown ⇒ worth a look);
//! * 6 informational — every other successful event.
//!
//! # Delivery semantics
//! Best effort with a single resend: events wait in a bounded queue while the collector is
//! unreachable (they do not lose their turn during backoff). A write that fails or times
//! out may have delivered part or all of the frame, so that event is resent once on a new
//! connection and dropped (counted in `dropped`) if that fails too. Consequences:
//! duplicates are possible (the collector can de-duplicate on `id`/`hash`), and loss is
//! possible because TCP syslog has no application acknowledgement: bytes accepted by the
//! kernel just before the peer vanishes are lost silently (RFC 6587 §4). A closed peer is
//! noticed while idle, which narrows that window. Events still queued when `shutdown`
//! times out, or when the `Forwarder` is dropped without `shutdown`, are discarded.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

/// Facility 10, authpriv (see module docs for why not 13).
pub const FACILITY: u8 = 10;
/// Severity 4 (RFC 5424 table 2).
pub const SEVERITY_WARNING: u8 = 4;
/// Severity 5.
pub const SEVERITY_NOTICE: u8 = 5;
/// Severity 6.
pub const SEVERITY_INFORMATIONAL: u8 = 6;
/// SD-ID of our structured data. 32473 is the private enterprise number reserved for
/// documentation (RFC 5612); swap it for a registered PEN if holdfast obtains one.
pub const SD_ID: &str = "holdfast@32473";
/// A suggested queue size for [`ForwardConfig::queue`].
pub const DEFAULT_QUEUE: usize = 10_000;
/// Upper bound on [`ForwardConfig::queue`], so a typo cannot reserve unbounded memory.
pub const MAX_QUEUE: usize = 1_000_000;
/// Whole-message bound in octets. RFC 5425 §4.3.1 obliges every TLS receiver to accept
/// 2048 octets, and many plain TCP receivers truncate above that, so we never exceed it.
pub const MAX_MESSAGE_LEN: usize = 2048;

const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// A write that failed is resent at most this many times.
const MAX_RESENDS: u32 = 1;
/// Collectors never talk back; a peer that streams this much at us is misbehaving.
const MAX_UNEXPECTED_INBOUND: usize = 64 * 1024;
const MAX_ERROR_LEN: usize = 300;

// RFC 5424 §6 header field limits.
const MAX_HOSTNAME: usize = 255;
const MAX_APP_NAME: usize = 48;
const MAX_MSGID: usize = 32;
// Our own per-value limits (bytes, before escaping). Chosen so that header plus structured
// data stay well under MAX_MESSAGE_LEN even when every value doubles through escaping.
const MAX_INSTANCE: usize = 64;
const MAX_EVENT: usize = 64;
const MAX_ACTOR: usize = 128;
const MAX_TARGET: usize = 128;
const MAX_SOURCE: usize = 64;
const MAX_OUTCOME: usize = 16;
const MAX_HASH: usize = 128;

const BOM: char = '\u{FEFF}';

/// Where and how to forward. Only started by the caller when forwarding is configured.
#[derive(Debug, Clone)]
pub struct ForwardConfig {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub ca_file: Option<PathBuf>,
    /// Normally "holdfast".
    pub app_name: String,
    /// This machine's name as the SIEM should show it.
    pub hostname: String,
    /// Maximum number of accepted but not yet delivered events (including the one in flight).
    pub queue: usize,
}

/// One security-log entry, already committed to the database.
#[derive(Debug, Clone)]
pub struct ForwardEvent {
    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-22T10:00:00.123Z`.
    pub at: String,
    pub instance: String,
    pub event: String,
    pub actor: String,
    pub target: String,
    /// IP address or "console".
    pub source: String,
    /// "success" or "failure".
    pub outcome: String,
    pub details: serde_json::Value,
    pub id: i64,
    pub hash: String,
}

/// A snapshot of the forwarder's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwarderStats {
    pub sent: u64,
    pub dropped: u64,
    pub connected: bool,
    /// Most recent failure; kept after recovery so operators can see what went wrong.
    /// Built from I/O and TLS error texts only, never from event content or key material.
    pub last_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("syslog forwarding configuration: {0}")]
    Config(String),
}

/// Syslog severity for a security-log event; see the module docs for the mapping.
pub fn severity_for(event: &str, outcome: &str) -> u8 {
    let event = event.trim().to_ascii_lowercase();
    if event == "account_locked" || event.ends_with("_locked") || event.contains("lockout") {
        return SEVERITY_WARNING;
    }
    if event == "support_granted" {
        return SEVERITY_NOTICE;
    }
    if outcome.trim().eq_ignore_ascii_case("success") {
        SEVERITY_INFORMATIONAL
    } else {
        SEVERITY_NOTICE
    }
}

/// Renders one RFC 5424 message (without the octet-count frame), at most
/// [`MAX_MESSAGE_LEN`] octets.
///
/// MSG is sent plain when it is pure ASCII (valid as MSG-ANY and displayed identically by
/// every receiver) and with the UTF-8 BOM required by RFC 5424 §6.4 when it is not, so a
/// receiver that honours the BOM decodes names correctly while the common ASCII case does
/// not show a stray BOM in SIEMs that ignore it.
pub fn format_rfc5424(e: &ForwardEvent, cfg_app: &str, cfg_hostname: &str, pid: u32) -> String {
    let pri = u16::from(FACILITY) * 8 + u16::from(severity_for(&e.event, &e.outcome));
    let mut out = String::with_capacity(512);
    // Writing to a String cannot fail; the results are ignored deliberately.
    let _ = write!(
        out,
        "<{pri}>1 {} {} {} {pid} {} [{SD_ID}",
        timestamp(&e.at),
        print_ascii(cfg_hostname, MAX_HOSTNAME),
        print_ascii(cfg_app, MAX_APP_NAME),
        print_ascii(&e.event, MAX_MSGID),
    );
    let id = e.id.to_string();
    let params: [(&str, &str, usize); 8] = [
        ("instance", &e.instance, MAX_INSTANCE),
        ("event", &e.event, MAX_EVENT),
        ("actor", &e.actor, MAX_ACTOR),
        ("target", &e.target, MAX_TARGET),
        ("source", &e.source, MAX_SOURCE),
        ("outcome", &e.outcome, MAX_OUTCOME),
        ("id", &id, 20),
        ("hash", &e.hash, MAX_HASH),
    ];
    for (name, value, max) in params {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        push_param_value(&mut out, value, max);
        out.push('"');
    }
    out.push(']');

    let msg = human_sentence(e);
    let bom_len = if msg.is_ascii() { 0 } else { BOM.len_utf8() };
    // +1 for the SP separating structured data from MSG.
    let room = MAX_MESSAGE_LEN.saturating_sub(out.len() + 1 + bom_len);
    let msg = truncate_utf8(&msg, room);
    if !msg.is_empty() {
        out.push(' ');
        if bom_len > 0 {
            out.push(BOM);
        }
        out.push_str(msg);
    }
    out
}

fn human_sentence(e: &ForwardEvent) -> String {
    let mut s = safe_text(&e.event, MAX_EVENT).replace('_', " ");
    if s.is_empty() {
        s.push_str("event");
    }
    if !e.actor.is_empty() {
        s.push_str(" by ");
        s.push_str(&safe_text(&e.actor, MAX_ACTOR));
    }
    if !e.target.is_empty() && e.target != e.actor {
        s.push_str(" on ");
        s.push_str(&safe_text(&e.target, MAX_TARGET));
    }
    if !e.source.is_empty() {
        s.push_str(" from ");
        s.push_str(&safe_text(&e.source, MAX_SOURCE));
    }
    if !e.outcome.is_empty() {
        s.push_str(": ");
        s.push_str(&safe_text(&e.outcome, MAX_OUTCOME));
    }
    let has_details = match &e.details {
        serde_json::Value::Null => false,
        serde_json::Value::Object(m) => !m.is_empty(),
        _ => true,
    };
    if has_details {
        s.push_str(" details=");
        // Compact JSON escapes control characters itself; safe_text catches the Unicode
        // separators and bidi controls JSON leaves raw. The caller truncates to fit.
        s.push_str(&safe_text(&e.details.to_string(), MAX_MESSAGE_LEN));
    }
    s
}

/// Characters that could break a line-oriented log view or spoof what an analyst sees
/// (control characters, Unicode line separators, bidirectional overrides).
fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{FEFF}'
        )
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn safe_text(raw: &str, max_bytes: usize) -> String {
    truncate_utf8(raw, max_bytes)
        .chars()
        .map(|c| if is_unsafe_char(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// PARAM-VALUE per RFC 5424 §6.3.3: only `"`, `\` and `]` need escaping.
fn push_param_value(out: &mut String, raw: &str, max_bytes: usize) {
    for c in truncate_utf8(raw, max_bytes).chars() {
        match c {
            '"' | '\\' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c if is_unsafe_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// PRINTUSASCII (%d33-126) field, or NILVALUE when nothing is left. Offending characters
/// become `_` rather than disappearing so that sanitising stays visible.
fn print_ascii(raw: &str, max_chars: usize) -> String {
    let s: String = raw
        .trim()
        .chars()
        .take(max_chars)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if s.is_empty() { "-".to_string() } else { s }
}

fn truncate_utf8(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    // A UTF-8 character is at most 4 bytes, so this steps back at most 3 times.
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Passes the timestamp through when it matches RFC 5424's TIMESTAMP grammar, otherwise
/// sends NILVALUE so the collector uses its receive time instead of rejecting the message.
fn timestamp(at: &str) -> &str {
    if valid_timestamp(at.as_bytes()) {
        at
    } else {
        "-"
    }
}

fn valid_timestamp(b: &[u8]) -> bool {
    fn num(b: &[u8], at: usize, len: usize, min: u32, max: u32) -> bool {
        let Some(digits) = b.get(at..at + len) else {
            return false;
        };
        if !digits.iter().all(u8::is_ascii_digit) {
            return false;
        }
        let v = digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        (min..=max).contains(&v)
    }
    let fixed = num(b, 0, 4, 0, 9999)
        && b.get(4) == Some(&b'-')
        && num(b, 5, 2, 1, 12)
        && b.get(7) == Some(&b'-')
        && num(b, 8, 2, 1, 31)
        && b.get(10) == Some(&b'T')
        && num(b, 11, 2, 0, 23)
        && b.get(13) == Some(&b':')
        && num(b, 14, 2, 0, 59)
        && b.get(16) == Some(&b':')
        && num(b, 17, 2, 0, 59);
    if !fixed {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=6).contains(&digits) {
            return false;
        }
        i += 1 + digits;
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            num(b, i + 1, 2, 0, 23)
                && b.get(i + 3) == Some(&b':')
                && num(b, i + 4, 2, 0, 59)
                && i + 6 == b.len()
        }
        _ => false,
    }
}

/// RFC 6587 §3.4.1 octet-counting frame: `MSG-LEN SP SYSLOG-MSG`.
fn frame(msg: &str) -> Vec<u8> {
    let mut f = Vec::with_capacity(msg.len() + 6);
    f.extend_from_slice(msg.len().to_string().as_bytes());
    f.push(b' ');
    f.extend_from_slice(msg.as_bytes());
    f
}

#[derive(Default)]
struct Shared {
    sent: AtomicU64,
    dropped: AtomicU64,
    /// Accepted, not yet delivered or dropped; includes the event the task holds.
    queued: AtomicUsize,
    connected: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl Shared {
    fn record_error(&self, msg: &str) {
        let clean: String = truncate_utf8(msg, MAX_ERROR_LEN)
            .chars()
            .map(|c| if is_unsafe_char(c) { ' ' } else { c })
            .collect();
        // Nothing panics while holding this lock, but a poisoned value is still usable.
        let mut guard = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        *guard = Some(clean);
    }

    fn finish_one(&self, delivered: bool) {
        if delivered {
            self.sent.fetch_add(1, Ordering::Relaxed);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Everything the background task needs to reach the collector.
struct Target {
    host: String,
    port: u16,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    app_name: String,
    hostname: String,
    pid: u32,
    /// Tests connect to 127.0.0.1 while verifying the name "localhost"; production
    /// always resolves `host`.
    pinned_addr: Option<SocketAddr>,
}

/// Sender side of the forwarder; cheap to share behind an `Arc`.
pub struct Forwarder {
    tx: Option<mpsc::Sender<ForwardEvent>>,
    task: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    queue: usize,
}

impl Forwarder {
    /// Validates `cfg` and spawns the background task. Must be called inside a tokio
    /// runtime (returns `ForwardError::Config` otherwise). Does not connect yet.
    pub fn start(cfg: ForwardConfig) -> Result<Forwarder, ForwardError> {
        Self::start_inner(cfg, None)
    }

    fn start_inner(
        cfg: ForwardConfig,
        pinned_addr: Option<SocketAddr>,
    ) -> Result<Forwarder, ForwardError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            ForwardError::Config("must be started inside a tokio runtime".to_string())
        })?;
        let host = cfg.host.trim().to_string();
        if host.is_empty() || host.len() > 253 || !host.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ForwardError::Config(
                "host must be a non-empty host name or IP address".to_string(),
            ));
        }
        if cfg.port == 0 {
            return Err(ForwardError::Config("port must not be 0".to_string()));
        }
        if cfg.queue == 0 || cfg.queue > MAX_QUEUE {
            return Err(ForwardError::Config(format!(
                "queue must be between 1 and {MAX_QUEUE}"
            )));
        }
        let tls = match (cfg.tls, &cfg.ca_file) {
            (true, Some(ca)) => {
                let name = ServerName::try_from(host.clone()).map_err(|_| {
                    ForwardError::Config(format!("host {host:?} is not a valid TLS server name"))
                })?;
                Some((tls_connector(ca)?, name))
            }
            (true, None) => {
                return Err(ForwardError::Config(
                    "tls is enabled but no ca_file is configured".to_string(),
                ));
            }
            // Refused rather than ignored: a CA file suggests the operator expects TLS, and
            // silently sending security events in clear text would betray that.
            (false, Some(_)) => {
                return Err(ForwardError::Config(
                    "ca_file is set but tls is disabled".to_string(),
                ));
            }
            (false, None) => None,
        };
        let target = Target {
            host,
            port: cfg.port,
            tls,
            app_name: cfg.app_name,
            hostname: cfg.hostname,
            pid: std::process::id(),
            pinned_addr,
        };
        let (tx, rx) = mpsc::channel(cfg.queue);
        let shared = Arc::new(Shared::default());
        let task = runtime.spawn(run(target, rx, Arc::clone(&shared)));
        Ok(Forwarder {
            tx: Some(tx),
            task: Some(task),
            shared,
            queue: cfg.queue,
        })
    }

    /// Queues an event without blocking. When the queue is full (or the forwarder is
    /// shutting down) the event is counted in `dropped` and otherwise ignored.
    pub fn submit(&self, e: ForwardEvent) {
        let Some(tx) = &self.tx else {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        // Reserve a slot first: the bound must also cover the event the task has already
        // taken off the channel and is still trying to deliver.
        if self.shared.queued.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if tx.try_send(e).is_err() {
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn stats(&self) -> ForwarderStats {
        let last_error = self
            .shared
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        ForwarderStats {
            sent: self.shared.sent.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            connected: self.shared.connected.load(Ordering::Relaxed),
            last_error,
        }
    }

    /// Stops accepting events, lets the task deliver what is queued for up to `timeout`,
    /// then closes the connection (TLS close_notify included) or abandons the rest.
    pub async fn shutdown(mut self, timeout: Duration) {
        // Closing the channel is the task's signal to drain and exit.
        drop(self.tx.take());
        let Some(mut task) = self.task.take() else {
            return;
        };
        if tokio::time::timeout(timeout, &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
            let abandoned = self.shared.queued.swap(0, Ordering::AcqRel);
            self.shared
                .dropped
                .fetch_add(abandoned as u64, Ordering::Relaxed);
            self.shared.connected.store(false, Ordering::Relaxed);
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        // Without shutdown() nobody would ever stop a task retrying an unreachable peer.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn tls_connector(ca_file: &Path) -> Result<TlsConnector, ForwardError> {
    let shown = ca_file.display();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| ForwardError::Config(format!("cannot read ca_file {shown}: {e}")))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        let cert =
            cert.map_err(|e| ForwardError::Config(format!("cannot parse ca_file {shown}: {e}")))?;
        roots.add(cert).map_err(|e| {
            ForwardError::Config(format!("unusable certificate in ca_file {shown}: {e}"))
        })?;
    }
    if roots.is_empty() {
        return Err(ForwardError::Config(format!(
            "ca_file {shown} contains no certificates"
        )));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ForwardError::Config(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Conn = Box<dyn Io>;

async fn connect(t: &Target) -> Result<Conn, String> {
    let where_ = format!("{}:{}", t.host, t.port);
    let attempt = match t.pinned_addr {
        Some(addr) => tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await,
        None => {
            tokio::time::timeout(
                CONNECT_TIMEOUT,
                TcpStream::connect((t.host.as_str(), t.port)),
            )
            .await
        }
    };
    let tcp = match attempt {
        Err(_) => return Err(format!("connect to {where_}: timed out")),
        Ok(Err(e)) => return Err(format!("connect to {where_}: {e}")),
        Ok(Ok(tcp)) => tcp,
    };
    // Each event is flushed on its own; Nagle would only add latency.
    let _ = tcp.set_nodelay(true);
    let Some((connector, name)) = &t.tls else {
        return Ok(Box::new(tcp));
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(name.clone(), tcp)).await {
        Err(_) => Err(format!("TLS handshake with {where_}: timed out")),
        Ok(Err(e)) => Err(format!("TLS handshake with {where_}: {e}")),
        Ok(Ok(tls)) => Ok(Box::new(tls)),
    }
}

async fn write_frame(conn: &mut Conn, frame: &[u8]) -> Result<(), String> {
    let write = async {
        conn.write_all(frame).await?;
        conn.flush().await
    };
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Err(_) => Err("write timed out".to_string()),
        Ok(Err(e)) => Err(format!("write failed: {e}")),
        Ok(Ok(())) => Ok(()),
    }
}

/// Waits for the next event while watching the idle connection, so that a collector
/// that went away is noticed before we write into a dead socket. `Ok(None)` means the
/// channel is closed and drained; `Err` says why the connection is gone.
async fn next_while_connected(
    rx: &mut mpsc::Receiver<ForwardEvent>,
    conn: &mut Conn,
) -> Result<Option<ForwardEvent>, String> {
    let mut buf = [0u8; 512];
    let mut unexpected = 0usize;
    // Bounded: each pass either returns or consumes inbound bytes, capped below.
    loop {
        tokio::select! {
            biased;
            ev = rx.recv() => return Ok(ev),
            r = conn.read(&mut buf) => match r {
                Ok(0) => return Err("collector closed the connection".to_string()),
                Ok(n) => {
                    unexpected += n;
                    if unexpected > MAX_UNEXPECTED_INBOUND {
                        return Err("collector sent unexpected data".to_string());
                    }
                }
                Err(e) => return Err(format!("connection lost: {e}")),
            },
        }
    }
}

struct Pending {
    frame: Vec<u8>,
    failed_writes: u32,
}

/// The background task for a real collector.
async fn run(t: Target, rx: mpsc::Receiver<ForwardEvent>, shared: Arc<Shared>) {
    let render = |e: &ForwardEvent| format_rfc5424(e, &t.app_name, &t.hostname, t.pid);
    drive(|| connect(&t), render, rx, shared).await;
}

/// The delivery loop, independent of how connections are made so that the resend and
/// drop rules can be tested with scripted connections. It ends when the channel is
/// closed and drained, or is aborted by `shutdown`/`Drop`; every pass either takes an
/// event, delivers or drops one, or sleeps at least INITIAL_BACKOFF.
async fn drive<C, F>(
    mut connect: C,
    render: impl Fn(&ForwardEvent) -> String,
    mut rx: mpsc::Receiver<ForwardEvent>,
    shared: Arc<Shared>,
) where
    C: FnMut() -> F,
    F: Future<Output = Result<Conn, String>>,
{
    let mut conn: Option<Conn> = None;
    let mut pending: Option<Pending> = None;
    let mut backoff = INITIAL_BACKOFF;
    loop {
        let Some(p) = pending.as_mut() else {
            let next = match conn.as_mut() {
                Some(c) => next_while_connected(&mut rx, c).await,
                None => Ok(rx.recv().await),
            };
            match next {
                Ok(Some(e)) => {
                    pending = Some(Pending {
                        frame: frame(&render(&e)),
                        failed_writes: 0,
                    });
                }
                Ok(None) => break,
                Err(why) => {
                    shared.record_error(&why);
                    shared.connected.store(false, Ordering::Relaxed);
                    conn = None;
                }
            }
            continue;
        };
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match connect().await {
                Ok(c) => {
                    shared.connected.store(true, Ordering::Relaxed);
                    conn.insert(c)
                }
                Err(why) => {
                    // The event keeps its place: nothing of it was sent.
                    shared.record_error(&why);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            },
        };
        match write_frame(c, &p.frame).await {
            Ok(()) => {
                pending = None;
                shared.finish_one(true);
                backoff = INITIAL_BACKOFF;
            }
            Err(why) => {
                shared.record_error(&why);
                shared.connected.store(false, Ordering::Relaxed);
                conn = None;
                p.failed_writes += 1;
                if p.failed_writes > MAX_RESENDS {
                    pending = None;
                    shared.finish_one(false);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    if let Some(mut c) = conn {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, c.shutdown()).await;
    }
    shared.connected.store(false, Ordering::Relaxed);
}

#[cfg(test)]
impl Forwarder {
    fn start_pinned(cfg: ForwardConfig, addr: SocketAddr) -> Result<Forwarder, ForwardError> {
        Self::start_inner(cfg, Some(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::net::TcpListener;

    const WAIT: Duration = Duration::from_secs(10);

    fn event(id: i64, event_name: &str, outcome: &str) -> ForwardEvent {
        ForwardEvent {
            at: "2026-11-22T10:00:00.123Z".to_string(),
            instance: "acme".to_string(),
            event: event_name.to_string(),
            actor: "alice".to_string(),
            target: "alice".to_string(),
            source: "192.0.2.7".to_string(),
            outcome: outcome.to_string(),
            details: serde_json::json!({"reason": "bad_password"}),
            id,
            hash: "ab12".to_string(),
        }
    }

    fn config(host: &str, port: u16) -> ForwardConfig {
        ForwardConfig {
            host: host.to_string(),
            port,
            tls: false,
            ca_file: None,
            app_name: "holdfast".to_string(),
            hostname: "hub01.example".to_string(),
            queue: 100,
        }
    }

    /// A loopback port with nothing listening on it (bound, then released).
    async fn free_port() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    }

    async fn read_frames<R: AsyncRead + Unpin>(r: R, n: usize) -> Vec<String> {
        let mut r = BufReader::new(r);
        let mut out = Vec::new();
        for _ in 0..n {
            let mut len = Vec::new();
            r.read_until(b' ', &mut len).await.unwrap();
            let len: usize = std::str::from_utf8(&len[..len.len() - 1])
                .unwrap()
                .parse()
                .unwrap();
            let mut msg = vec![0u8; len];
            r.read_exact(&mut msg).await.unwrap();
            out.push(String::from_utf8(msg).unwrap());
        }
        out
    }

    async fn wait_until(f: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if f() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        f()
    }

    fn temp_pem(name: &str, pem: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("holdfast-fwd-{}-{name}.pem", std::process::id()));
        std::fs::write(&path, pem).unwrap();
        path
    }

    #[test]
    fn golden_message() {
        let got = format_rfc5424(
            &event(42, "login_failed", "failure"),
            "holdfast",
            "hub01.example",
            4242,
        );
        let want = "<85>1 2026-11-22T10:00:00.123Z hub01.example holdfast 4242 login_failed \
            [holdfast@32473 instance=\"acme\" event=\"login_failed\" actor=\"alice\" \
            target=\"alice\" source=\"192.0.2.7\" outcome=\"failure\" id=\"42\" hash=\"ab12\"] \
            login failed by alice from 192.0.2.7: failure details={\"reason\":\"bad_password\"}";
        assert_eq!(got, want);
    }

    #[test]
    fn param_values_are_escaped() {
        let mut e = event(1, "login", "success");
        e.actor = r#"a"b\c]d"#.to_string();
        e.target = "x\ny".to_string();
        let got = format_rfc5424(&e, "holdfast", "h", 1);
        assert!(got.contains(r#" actor="a\"b\\c\]d" "#), "{got}");
        assert!(got.contains(" target=\"x\u{FFFD}y\" "), "{got}");
        assert!(!got.contains('\n'));
    }

    #[test]
    fn severity_and_pri() {
        assert_eq!(severity_for("login", "success"), 6);
        assert_eq!(severity_for("login_failed", "failure"), 5);
        assert_eq!(severity_for("account_locked", "success"), 4);
        assert_eq!(severity_for("totp_lockout", "failure"), 4);
        assert_eq!(severity_for("support_granted", "success"), 5);
        assert_eq!(severity_for("login", "weird"), 5);
        let pri = |ev, out| {
            let m = format_rfc5424(&event(1, ev, out), "a", "h", 1);
            m[..m.find('>').unwrap() + 1].to_string()
        };
        assert_eq!(pri("login", "success"), "<86>");
        assert_eq!(pri("account_locked", "success"), "<84>");
        assert_eq!(pri("support_granted", "success"), "<85>");
    }

    #[test]
    fn header_fields_are_sanitised() {
        let e = event(1, "login", "success");
        let got = format_rfc5424(&e, "hold fast", "my host\tname", 7);
        assert!(
            got.starts_with("<86>1 2026-11-22T10:00:00.123Z my_host_name hold_fast 7 login ["),
            "{got}"
        );
        let got = format_rfc5424(&e, "", "  ", 7);
        assert!(
            got.starts_with("<86>1 2026-11-22T10:00:00.123Z - - 7 login ["),
            "{got}"
        );
        let got = format_rfc5424(&e, "hölldfast", "h", 7);
        assert!(got.contains(" h_lldfast 7 "), "{got}");
    }

    #[test]
    fn msgid_is_truncated_and_sanitised() {
        let long = "a_very_long_event_name_exceeding_thirty_two_characters";
        let got = format_rfc5424(&event(1, long, "success"), "holdfast", "h", 1);
        let msgid = got.split(' ').nth(5).unwrap();
        assert_eq!(msgid, &long[..32]);
        let got = format_rfc5424(&event(1, "odd event\u{e9}", "success"), "holdfast", "h", 1);
        assert_eq!(got.split(' ').nth(5).unwrap(), "odd_event_");
    }

    #[test]
    fn timestamps_are_validated() {
        for ok in [
            "2026-11-22T10:00:00.123Z",
            "2026-11-22T10:00:00Z",
            "2026-11-22T10:00:00.123456+01:00",
        ] {
            assert!(valid_timestamp(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "2026-11-22 10:00:00Z",
            "2026-13-22T10:00:00Z",
            "2026-11-22T10:00:00.1234567Z",
            "2026-11-22T10:00:00.123Zx",
        ] {
            assert!(!valid_timestamp(bad.as_bytes()), "{bad}");
        }
        let mut e = event(1, "login", "success");
        e.at = "yesterday".to_string();
        assert!(format_rfc5424(&e, "a", "h", 1).starts_with("<86>1 - h a 1 login "));
    }

    #[test]
    fn oversized_input_stays_within_bound() {
        let big = "\"]\\é".repeat(2000);
        let e = ForwardEvent {
            at: "2026-11-22T10:00:00.123Z".to_string(),
            instance: big.clone(),
            event: big.clone(),
            actor: big.clone(),
            target: big.clone(),
            source: big.clone(),
            outcome: big.clone(),
            details: serde_json::json!({ "k": big.clone() }),
            id: i64::MIN,
            hash: big.clone(),
        };
        let got = format_rfc5424(&e, &big, &"h".repeat(1000), u32::MAX);
        assert!(got.len() <= MAX_MESSAGE_LEN, "{}", got.len());
        assert!(got.contains(&format!(" id=\"{}\" ", i64::MIN)));
        // Non-ASCII MSG carries the BOM right after the structured data.
        assert!(got.contains("] \u{FEFF}"));
    }

    #[test]
    fn ascii_message_has_no_bom() {
        let got = format_rfc5424(&event(1, "login", "success"), "a", "h", 1);
        assert!(!got.contains('\u{FEFF}'));
    }

    #[test]
    fn start_outside_runtime_is_a_config_error() {
        let r = Forwarder::start(config("127.0.0.1", 6514));
        assert!(matches!(r, Err(ForwardError::Config(_))));
    }

    #[tokio::test]
    async fn config_is_validated() {
        let bad = |f: fn(&mut ForwardConfig)| {
            let mut c = config("127.0.0.1", 6514);
            f(&mut c);
            matches!(Forwarder::start(c), Err(ForwardError::Config(_)))
        };
        assert!(bad(|c| c.host = String::new()));
        assert!(bad(|c| c.host = "two words".to_string()));
        assert!(bad(|c| c.port = 0));
        assert!(bad(|c| c.queue = 0));
        assert!(bad(|c| c.tls = true));
        assert!(bad(
            |c| c.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"))
        ));
        assert!(bad(|c| {
            c.tls = true;
            c.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
        }));
        let empty = temp_pem("empty", "no certificates here\n");
        let mut c = config("127.0.0.1", 6514);
        c.tls = true;
        c.ca_file = Some(empty.clone());
        assert!(
            matches!(Forwarder::start(c), Err(ForwardError::Config(m)) if m.contains("no certificates"))
        );
        let _ = std::fs::remove_file(empty);
    }

    #[tokio::test]
    async fn tcp_delivers_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let fwd = Forwarder::start(config("127.0.0.1", port)).unwrap();
        let (e1, e2) = (
            event(1, "login", "success"),
            event(2, "login_failed", "failure"),
        );
        fwd.submit(e1.clone());
        fwd.submit(e2.clone());
        let frames = tokio::time::timeout(WAIT, async {
            let (sock, _) = listener.accept().await.unwrap();
            read_frames(sock, 2).await
        })
        .await
        .unwrap();
        let pid = std::process::id();
        assert_eq!(
            frames[0],
            format_rfc5424(&e1, "holdfast", "hub01.example", pid)
        );
        assert_eq!(
            frames[1],
            format_rfc5424(&e2, "holdfast", "hub01.example", pid)
        );
        assert!(wait_until(|| fwd.stats().sent == 2).await);
        let s = fwd.stats();
        assert!(s.connected);
        assert_eq!(s.dropped, 0);
        fwd.shutdown(Duration::from_secs(2)).await;
    }

    fn tls_server(cert: &rcgen::CertifiedKey<rcgen::KeyPair>) -> tokio_rustls::TlsAcceptor {
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
    }

    fn tls_config(port: u16, ca: PathBuf) -> ForwardConfig {
        ForwardConfig {
            tls: true,
            ca_file: Some(ca),
            ..config("localhost", port)
        }
    }

    #[tokio::test]
    async fn tls_delivers_with_right_ca() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let ca = temp_pem("good-ca", &cert.cert.pem());
        let acceptor = tls_server(&cert);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fwd = Forwarder::start_pinned(tls_config(addr.port(), ca.clone()), addr).unwrap();
        fwd.submit(event(1, "login", "success"));
        fwd.submit(event(2, "account_locked", "success"));
        let frames = tokio::time::timeout(WAIT, async {
            let (sock, _) = listener.accept().await.unwrap();
            let tls = acceptor.accept(sock).await.unwrap();
            read_frames(tls, 2).await
        })
        .await
        .unwrap();
        assert!(frames[0].starts_with("<86>1 ") && frames[0].contains(" id=\"1\" "));
        assert!(frames[1].starts_with("<84>1 ") && frames[1].contains(" id=\"2\" "));
        assert!(wait_until(|| fwd.stats().sent == 2).await);
        fwd.shutdown(Duration::from_secs(2)).await;
        let _ = std::fs::remove_file(ca);
    }

    #[tokio::test]
    async fn tls_rejects_wrong_ca() {
        let server_cert =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let ca = temp_pem("wrong-ca", &other.cert.pem());
        let acceptor = tls_server(&server_cert);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            for _ in 0..5 {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let _ = acceptor.accept(sock).await;
            }
        });
        let fwd = Forwarder::start_pinned(tls_config(addr.port(), ca.clone()), addr).unwrap();
        fwd.submit(event(1, "login", "success"));
        let saw = wait_until(|| {
            fwd.stats()
                .last_error
                .is_some_and(|e| e.contains("certificate"))
        })
        .await;
        let s = fwd.stats();
        eprintln!("wrong CA: {s:?}");
        assert!(saw, "{s:?}");
        assert_eq!(s.sent, 0);
        assert!(!s.connected);
        let started = Instant::now();
        fwd.shutdown(Duration::from_millis(200)).await;
        assert!(started.elapsed() < Duration::from_secs(2));
        server.abort();
        let _ = std::fs::remove_file(ca);
    }

    #[tokio::test]
    async fn reconnects_when_listener_appears() {
        let port = free_port().await;
        let fwd = Forwarder::start(config("127.0.0.1", port)).unwrap();
        fwd.submit(event(1, "login", "success"));
        fwd.submit(event(2, "logout", "success"));
        assert!(wait_until(|| fwd.stats().last_error.is_some()).await);
        assert_eq!(fwd.stats().sent, 0);
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let frames = tokio::time::timeout(WAIT, async {
            let (sock, _) = listener.accept().await.unwrap();
            read_frames(sock, 2).await
        })
        .await
        .unwrap();
        assert!(frames[0].contains(" id=\"1\" ") && frames[1].contains(" id=\"2\" "));
        assert!(wait_until(|| fwd.stats().sent == 2).await);
        fwd.shutdown(Duration::from_secs(2)).await;
    }

    #[tokio::test]
    async fn full_queue_drops_without_blocking() {
        let port = free_port().await;
        let fwd = Forwarder::start(ForwardConfig {
            queue: 3,
            ..config("127.0.0.1", port)
        })
        .unwrap();
        let started = Instant::now();
        for i in 0..10 {
            fwd.submit(event(i, "login", "success"));
        }
        assert!(started.elapsed() < Duration::from_millis(200));
        // Let the task take an event off the channel: the bound must still hold.
        tokio::time::sleep(Duration::from_millis(100)).await;
        fwd.submit(event(10, "login", "success"));
        let s = fwd.stats();
        assert!(s.dropped >= 8, "{s:?}");
        assert_eq!(s.sent, 0);
        let started = Instant::now();
        fwd.shutdown(Duration::from_millis(200)).await;
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    /// A connection whose writes always fail, as after a reset mid-write.
    struct BrokenConn;

    impl AsyncRead for BrokenConn {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Pending
        }
    }

    impl AsyncWrite for BrokenConn {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// Runs `drive` over scripted connections (`true` = healthy in-memory pipe,
    /// `false` = broken) until the given events are handled; returns the stats, the
    /// frames the healthy connections carried and how many connections were made.
    async fn drive_scripted(
        script: &[bool],
        events: Vec<ForwardEvent>,
    ) -> (ForwarderStats, Vec<String>, usize) {
        let conns: Vec<(Conn, Option<tokio::io::DuplexStream>)> = script
            .iter()
            .map(|&good| -> (Conn, Option<tokio::io::DuplexStream>) {
                if good {
                    let (ours, theirs) = tokio::io::duplex(64 * 1024);
                    (Box::new(ours), Some(theirs))
                } else {
                    (Box::new(BrokenConn), None)
                }
            })
            .collect();
        let mut peers = Vec::new();
        let mut ours = std::collections::VecDeque::new();
        for (c, peer) in conns {
            ours.push_back(c);
            peers.extend(peer);
        }
        let ours = Arc::new(Mutex::new(ours));
        let made = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel(16);
        let shared = Arc::new(Shared::default());
        let n = events.len();
        for e in events {
            shared.queued.fetch_add(1, Ordering::AcqRel);
            tx.try_send(e).unwrap();
        }
        drop(tx);
        let connect = {
            let (ours, made) = (Arc::clone(&ours), Arc::clone(&made));
            move || {
                made.fetch_add(1, Ordering::Relaxed);
                let next = ours.lock().unwrap().pop_front();
                async move { next.ok_or_else(|| "script exhausted".to_string()) }
            }
        };
        let render = |e: &ForwardEvent| format!("id={}", e.id);
        tokio::time::timeout(
            Duration::from_secs(600),
            drive(connect, render, rx, Arc::clone(&shared)),
        )
        .await
        .unwrap();
        let mut frames = Vec::new();
        for mut peer in peers {
            let mut raw = Vec::new();
            peer.read_to_end(&mut raw).await.unwrap();
            let mut rest = &raw[..];
            while !rest.is_empty() && frames.len() < n {
                let got = read_frames(rest, 1).await.pop().unwrap();
                let used = got.len().to_string().len() + 1 + got.len();
                rest = &rest[used..];
                frames.push(got);
            }
        }
        let stats = ForwarderStats {
            sent: shared.sent.load(Ordering::Relaxed),
            dropped: shared.dropped.load(Ordering::Relaxed),
            connected: shared.connected.load(Ordering::Relaxed),
            last_error: shared.last_error.lock().unwrap().clone(),
        };
        assert_eq!(shared.queued.load(Ordering::Relaxed), 0);
        (stats, frames, made.load(Ordering::Relaxed))
    }

    #[tokio::test(start_paused = true)]
    async fn failed_write_is_resent_once() {
        let events = vec![event(1, "login", "success"), event(2, "login", "success")];
        let (s, frames, made) = drive_scripted(&[false, true], events).await;
        assert_eq!(frames, ["id=1", "id=2"]);
        assert_eq!((s.sent, s.dropped, made), (2, 0, 2));
        assert!(s.last_error.unwrap().contains("write failed"));
    }

    #[tokio::test(start_paused = true)]
    async fn event_failing_twice_is_dropped() {
        let events = vec![event(1, "login", "success"), event(2, "login", "success")];
        let (s, frames, made) = drive_scripted(&[false, false, true], events).await;
        assert_eq!(frames, ["id=2"]);
        assert_eq!((s.sent, s.dropped, made), (1, 1, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn connect_failures_do_not_consume_the_resend() {
        // One broken connection uses up the resend; every later connect fails. Waiting for
        // a connection must not drop the event. The timeout below ends the test.
        let (tx, rx) = mpsc::channel(4);
        let shared = Arc::new(Shared::default());
        shared.queued.fetch_add(1, Ordering::AcqRel);
        tx.try_send(event(1, "login", "success")).unwrap();
        let mut script = std::collections::VecDeque::from([false]);
        let connect = move || {
            let next: Option<Conn> = script.pop_front().map(|_| Box::new(BrokenConn) as Conn);
            async move { next.ok_or_else(|| "connection refused".to_string()) }
        };
        let task = drive(connect, |e| format!("id={}", e.id), rx, Arc::clone(&shared));
        // Twenty minutes of virtual time: far more than the backoff cap.
        assert!(
            tokio::time::timeout(Duration::from_secs(1200), task)
                .await
                .is_err()
        );
        assert_eq!(shared.dropped.load(Ordering::Relaxed), 0);
        assert_eq!(shared.queued.load(Ordering::Relaxed), 1);
        drop(tx);
    }

    #[test]
    fn forwarder_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Forwarder>();
    }
}
