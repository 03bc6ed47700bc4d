//! `SmtpSink`: a real ESMTP server on 127.0.0.1 for tests, recording every message it accepts.
//!
//! It runs on its own thread with its own tokio runtime, so it serves both `#[test]` and
//! `#[tokio::test]` callers and its blocking `wait_for` never starves the code under test.
//! Plain SMTP, STARTTLS and implicit TLS (certificate from a throw-away CA made with rcgen).
//! AUTH PLAIN/LOGIN accept any credentials; only the user name is kept, never the password.

// A shared helper: each test binary uses a different subset of the accessors.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A client that says nothing for this long is disconnected.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Advertised in EHLO as SIZE and enforced on DATA.
const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
/// RFC 5321 allows 512 for commands; AUTH lines with long tokens need more.
const MAX_COMMAND_LINE: usize = 4096;
/// RFC 5321 allows 1000 for text lines; be lenient, but bounded.
const MAX_DATA_LINE: usize = 64 * 1024;
/// Bounds the command loop of one connection.
const MAX_COMMANDS: usize = 1000;
const MAX_RECIPIENTS: usize = 1000;
const HOSTNAME: &str = "holdfast-sink.test";

/// One message accepted with 250 after DATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Envelope sender (MAIL FROM), without angle brackets; empty for the null sender.
    pub from: String,
    /// Envelope recipients (RCPT TO) that were accepted, in order.
    pub to: Vec<String>,
    /// The raw message as transmitted after DATA, dot-unstuffed, lines ending in CRLF.
    pub data: String,
    /// User name from a successful AUTH on this connection.
    pub auth_user: Option<String>,
    /// Whether the message travelled inside TLS (STARTTLS or implicit).
    pub tls: bool,
}

impl Received {
    /// First header `name` (case-insensitive), unfolded, still encoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut found: Option<String> = None;
        for line in self.header_block().split("\r\n") {
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some(value) = found.as_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((key, value)) = line.split_once(':')
                && key.trim().eq_ignore_ascii_case(name)
            {
                found = Some(value.trim().to_string());
            }
        }
        found
    }

    /// Subject with RFC 2047 encoded-words (B and Q; UTF-8, US-ASCII, ISO-8859-1) decoded.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject").map(|s| decode_rfc2047(&s))
    }

    /// Body of a single-part message with its Content-Transfer-Encoding (base64,
    /// quoted-printable) undone, read as UTF-8, line ends as `\n`, final line break dropped.
    pub fn body(&self) -> String {
        let raw = match self.data.find("\r\n\r\n") {
            Some(at) => &self.data[at + 4..],
            None => "",
        };
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "base64" => base64_decode(raw).unwrap_or_else(|| raw.as_bytes().to_vec()),
            "quoted-printable" => quoted_printable_decode(raw),
            _ => raw.as_bytes().to_vec(),
        };
        let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
        match text.strip_suffix('\n') {
            Some(stripped) => stripped.to_string(),
            None => text,
        }
    }

    fn header_block(&self) -> &str {
        match self.data.find("\r\n\r\n") {
            Some(at) => &self.data[..at],
            None => &self.data,
        }
    }
}

#[derive(Default)]
struct State {
    messages: Vec<Received>,
    rejected: Vec<String>,
    fail_next: usize,
    auth_users: Vec<String>,
    connections: usize,
}

#[derive(Clone)]
enum Security {
    Plain,
    StartTls(tokio_rustls::TlsAcceptor),
    Implicit(tokio_rustls::TlsAcceptor),
}

pub struct SmtpSink {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    ca_pem: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SmtpSink {
    /// Plain SMTP; EHLO offers no STARTTLS.
    pub fn start() -> SmtpSink {
        Self::launch(Security::Plain, None)
    }

    /// Plain connect with STARTTLS offered. Returns the PEM of the CA that signed the server
    /// certificate (valid for `localhost` and `127.0.0.1`): configure it as the client's CA file.
    pub fn start_starttls() -> (SmtpSink, String) {
        let (acceptor, ca_pem) = tls_acceptor();
        let sink = Self::launch(Security::StartTls(acceptor), Some(ca_pem.clone()));
        (sink, ca_pem)
    }

    /// TLS from the first byte (SMTPS). Returns the CA PEM as `start_starttls` does.
    pub fn start_implicit_tls() -> (SmtpSink, String) {
        let (acceptor, ca_pem) = tls_acceptor();
        let sink = Self::launch(Security::Implicit(acceptor), Some(ca_pem.clone()));
        (sink, ca_pem)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA PEM for TLS variants, `None` for plain.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        self.state.lock().unwrap().messages.clone()
    }

    /// User names of every successful AUTH, in order (also for sessions that sent no message).
    pub fn auth_users(&self) -> Vec<String> {
        self.state.lock().unwrap().auth_users.clone()
    }

    /// Connections accepted so far, including ones answered with 421.
    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }

    /// Blocks until a message matching `pred` has arrived (checked every 50 ms) or `timeout`.
    pub fn wait_for(
        &self,
        pred: impl Fn(&Received) -> bool,
        timeout: Duration,
    ) -> Option<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self.messages().into_iter().find(|m| pred(m)) {
                return Some(found);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50).min(deadline - now));
        }
    }

    /// RCPT TO for this address (case-insensitive) is answered with 550 from now on.
    pub fn reject_recipient(&self, address: &str) {
        self.state
            .lock()
            .unwrap()
            .rejected
            .push(address.trim().to_ascii_lowercase());
    }

    /// The next `n` connections get a 421 greeting and are closed, as a busy relay would.
    pub fn set_fail_next(&self, n: usize) {
        self.state.lock().unwrap().fail_next = n;
    }

    fn launch(security: Security, ca_pem: Option<String>) -> SmtpSink {
        // Bound here, not on the thread, so the address is known and bind errors surface now.
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let (stop, stopped) = oneshot::channel::<()>();
        let thread_state = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name(format!("smtp-sink-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(accept_loop(listener, security, thread_state, stopped));
                // Dropping the runtime here cancels every open session and closes its socket.
            })
            .unwrap();
        SmtpSink {
            addr,
            state,
            ca_pem,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    security: Security,
    state: Arc<Mutex<State>>,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    loop {
        tokio::select! {
            // Resolves on an explicit stop and also if the sender is dropped.
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    tokio::spawn(connection(stream, security.clone(), Arc::clone(&state)));
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
}

async fn connection(mut stream: TcpStream, security: Security, state: Arc<Mutex<State>>) {
    let refuse = {
        let mut st = state.lock().unwrap();
        st.connections += 1;
        if st.fail_next > 0 {
            st.fail_next -= 1;
            true
        } else {
            false
        }
    };
    if refuse {
        let bye = b"421 4.3.2 holdfast-sink.test Service not available, try again later\r\n";
        let _ = tokio::time::timeout(IDLE_TIMEOUT, stream.write_all(bye)).await;
        let _ = tokio::time::timeout(IDLE_TIMEOUT, stream.shutdown()).await;
        return;
    }
    match security {
        Security::Plain => {
            session(stream, &state, false, false, true).await;
        }
        Security::StartTls(acceptor) => {
            if let Some(plain) = session(stream, &state, false, true, true).await {
                let Ok(Ok(tls)) = tokio::time::timeout(IDLE_TIMEOUT, acceptor.accept(plain)).await
                else {
                    return;
                };
                // RFC 3207: no new greeting; the client starts over with EHLO.
                session(tls, &state, true, false, false).await;
            }
        }
        Security::Implicit(acceptor) => {
            let Ok(Ok(tls)) = tokio::time::timeout(IDLE_TIMEOUT, acceptor.accept(stream)).await
            else {
                return;
            };
            session(tls, &state, true, false, true).await;
        }
    }
}

#[derive(Default)]
struct Envelope {
    from: Option<String>,
    to: Vec<String>,
}

enum Line {
    Text(Vec<u8>),
    TooLong,
    Closed,
}

/// Runs SMTP on `stream` until QUIT, error or idle timeout. Returns the stream when the
/// client asked for STARTTLS (and `offer_starttls` was set), so the caller can wrap it.
async fn session<S>(
    stream: S,
    state: &Mutex<State>,
    tls: bool,
    offer_starttls: bool,
    greet: bool,
) -> Option<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut conn = BufReader::new(stream);
    if greet
        && !reply(
            &mut conn,
            &format!("220 {HOSTNAME} ESMTP holdfast test sink"),
        )
        .await
    {
        return None;
    }
    let mut said_hello = false;
    let mut auth_user: Option<String> = None;
    let mut envelope = Envelope::default();

    for _ in 0..MAX_COMMANDS {
        let line = match read_line(&mut conn, MAX_COMMAND_LINE).await {
            Line::Text(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Line::TooLong => {
                reply(&mut conn, "500 5.5.6 Line too long").await;
                return None;
            }
            Line::Closed => return None,
        };
        let (verb, arg) = match line.split_once(' ') {
            Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim().to_string()),
            None => (line.trim().to_ascii_uppercase(), String::new()),
        };
        let answer: String = match verb.as_str() {
            "EHLO" if arg.is_empty() => "501 5.5.4 EHLO needs a domain".into(),
            "EHLO" => {
                said_hello = true;
                envelope = Envelope::default();
                let mut lines = vec![
                    format!("{HOSTNAME} greets {arg}"),
                    "8BITMIME".to_string(),
                    format!("SIZE {MAX_MESSAGE_BYTES}"),
                    "SMTPUTF8".to_string(),
                ];
                if offer_starttls && !tls {
                    lines.push("STARTTLS".into());
                }
                lines.push("AUTH PLAIN LOGIN".into());
                lines.push("HELP".into());
                multiline(250, &lines)
            }
            "HELO" if arg.is_empty() => "501 5.5.4 HELO needs a domain".into(),
            "HELO" => {
                said_hello = true;
                envelope = Envelope::default();
                format!("250 {HOSTNAME}")
            }
            "MAIL" if !said_hello => "503 5.5.1 Send EHLO or HELO first".into(),
            "MAIL" if envelope.from.is_some() => "503 5.5.1 Nested MAIL command".into(),
            "MAIL" => match path_argument(&arg, "FROM:") {
                None => "501 5.5.4 Syntax: MAIL FROM:<address>".into(),
                Some((_, params)) if size_param(&params) > MAX_MESSAGE_BYTES => {
                    "552 5.3.4 Message size exceeds fixed limit".into()
                }
                Some((path, _)) => {
                    envelope.from = Some(path);
                    "250 2.1.0 Ok".into()
                }
            },
            "RCPT" if envelope.from.is_none() => "503 5.5.1 Need MAIL command first".into(),
            "RCPT" => match path_argument(&arg, "TO:") {
                None => "501 5.5.4 Syntax: RCPT TO:<address>".into(),
                Some((path, _)) if path.is_empty() => "501 5.1.3 Empty recipient".into(),
                Some((path, _)) if is_rejected(state, &path) => {
                    format!("550 5.1.1 <{path}>: Recipient address rejected: User unknown")
                }
                Some(_) if envelope.to.len() >= MAX_RECIPIENTS => {
                    "452 4.5.3 Too many recipients".into()
                }
                Some((path, _)) => {
                    envelope.to.push(path);
                    "250 2.1.5 Ok".into()
                }
            },
            "DATA" if envelope.from.is_none() => "503 5.5.1 Need MAIL command first".into(),
            "DATA" if envelope.to.is_empty() => "554 5.5.1 No valid recipients".into(),
            "DATA" if !arg.is_empty() => "501 5.5.4 DATA takes no argument".into(),
            "DATA" => {
                if !reply(&mut conn, "354 End data with <CR><LF>.<CR><LF>").await {
                    return None;
                }
                let Some(data) = read_data(&mut conn).await else {
                    reply(&mut conn, "552 5.3.4 Message too big or line too long").await;
                    return None;
                };
                let received = Received {
                    from: envelope.from.take().unwrap_or_default(),
                    to: std::mem::take(&mut envelope.to),
                    data,
                    auth_user: auth_user.clone(),
                    tls,
                };
                let id = {
                    let mut st = state.lock().unwrap();
                    st.messages.push(received);
                    st.messages.len()
                };
                format!("250 2.0.0 Ok: queued as {id}")
            }
            "RSET" => {
                envelope = Envelope::default();
                "250 2.0.0 Ok".into()
            }
            "NOOP" => "250 2.0.0 Ok".into(),
            "VRFY" => "252 2.0.0 Cannot VRFY user, but will accept message".into(),
            "HELP" => "214 2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP QUIT STARTTLS AUTH".into(),
            "QUIT" => {
                reply(&mut conn, "221 2.0.0 Bye").await;
                let _ = tokio::time::timeout(IDLE_TIMEOUT, conn.shutdown()).await;
                return None;
            }
            "STARTTLS" if !offer_starttls || tls => "502 5.5.1 STARTTLS not available".into(),
            "STARTTLS" if !arg.is_empty() => "501 5.5.4 STARTTLS takes no argument".into(),
            "STARTTLS" => {
                if !reply(&mut conn, "220 2.0.0 Ready to start TLS").await {
                    return None;
                }
                // into_inner drops anything the client pipelined after STARTTLS in plain text,
                // which must never be executed as if it had come over TLS.
                return Some(conn.into_inner());
            }
            "AUTH" if !said_hello => "503 5.5.1 Send EHLO first".into(),
            "AUTH" if auth_user.is_some() => "503 5.5.1 Already authenticated".into(),
            "AUTH" if envelope.from.is_some() => {
                "503 5.5.1 AUTH not allowed during a mail transaction".into()
            }
            "AUTH" => match authenticate(&mut conn, &arg).await {
                Auth::Ok(user) => {
                    state.lock().unwrap().auth_users.push(user.clone());
                    auth_user = Some(user);
                    "235 2.7.0 Authentication successful".into()
                }
                Auth::Failed(answer) => answer.into(),
                Auth::Closed => return None,
            },
            _ => "500 5.5.2 Command not recognized".into(),
        };
        if !reply(&mut conn, &answer).await {
            return None;
        }
    }
    reply(&mut conn, "421 4.7.0 Too many commands, closing").await;
    None
}

enum Auth {
    Ok(String),
    Failed(&'static str),
    Closed,
}

/// AUTH PLAIN and LOGIN, with or without an initial response. Any password is accepted and
/// immediately wiped; only the user name leaves this function.
async fn authenticate<S>(conn: &mut BufReader<S>, arg: &str) -> Auth
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mechanism, initial) = match arg.split_once(' ') {
        Some((m, rest)) => (m.to_ascii_uppercase(), Some(rest.trim().to_string())),
        None => (arg.to_ascii_uppercase(), None),
    };
    match mechanism.as_str() {
        "PLAIN" => {
            let token = match initial {
                Some(token) => token,
                None => match challenge(conn, "334 ").await {
                    Some(token) => token,
                    None => return Auth::Closed,
                },
            };
            if token == "*" {
                return Auth::Failed("501 5.0.0 Authentication cancelled");
            }
            let decoded = base64_decode(&token);
            wipe(token.into_bytes());
            let Some(decoded) = decoded else {
                return Auth::Failed("501 5.5.2 Invalid base64");
            };
            let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
            let user = match parts.as_slice() {
                [authzid, authcid, _password] => {
                    let name = if authcid.is_empty() { authzid } else { authcid };
                    Some(String::from_utf8_lossy(name).into_owned())
                }
                _ => None,
            };
            wipe(decoded);
            match user {
                Some(user) => Auth::Ok(user),
                None => Auth::Failed("501 5.5.2 Malformed PLAIN response"),
            }
        }
        "LOGIN" => {
            let user_token = match initial {
                Some(token) => token,
                // "Username:"
                None => match challenge(conn, "334 VXNlcm5hbWU6").await {
                    Some(token) => token,
                    None => return Auth::Closed,
                },
            };
            if user_token == "*" {
                return Auth::Failed("501 5.0.0 Authentication cancelled");
            }
            let Some(user) = base64_decode(&user_token) else {
                return Auth::Failed("501 5.5.2 Invalid base64");
            };
            // "Password:"
            let Some(mut password_token) = challenge(conn, "334 UGFzc3dvcmQ6").await else {
                return Auth::Closed;
            };
            let cancelled = password_token == "*";
            let valid = base64_decode(&password_token).map(wipe).is_some();
            wipe(std::mem::take(&mut password_token).into_bytes());
            if cancelled {
                return Auth::Failed("501 5.0.0 Authentication cancelled");
            }
            if !valid {
                return Auth::Failed("501 5.5.2 Invalid base64");
            }
            Auth::Ok(String::from_utf8_lossy(&user).into_owned())
        }
        _ => Auth::Failed("504 5.5.4 Unrecognized authentication type"),
    }
}

/// Overwrites credential bytes before they are freed.
fn wipe(mut bytes: Vec<u8>) {
    bytes.fill(0);
    std::hint::black_box(&bytes);
}

/// Sends a 334 challenge and returns the client's one-line answer.
async fn challenge<S>(conn: &mut BufReader<S>, prompt: &str) -> Option<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if !reply(conn, prompt).await {
        return None;
    }
    match read_line(conn, MAX_COMMAND_LINE).await {
        Line::Text(bytes) => Some(String::from_utf8_lossy(&bytes).trim().to_string()),
        Line::TooLong | Line::Closed => None,
    }
}

/// Reads the DATA section up to the lone dot; `None` when it breaks a size limit or the
/// client goes away.
async fn read_data<R: AsyncBufRead + Unpin>(conn: &mut R) -> Option<String> {
    let mut data: Vec<u8> = Vec::new();
    // Bounded: each pass consumes at least one byte, and the total is capped.
    loop {
        let line = match read_line(conn, MAX_DATA_LINE).await {
            Line::Text(line) => line,
            Line::TooLong | Line::Closed => return None,
        };
        if line == b"." {
            return Some(String::from_utf8_lossy(&data).into_owned());
        }
        // RFC 5321 4.5.2: the client doubled every leading dot.
        let content = line.strip_prefix(b".").unwrap_or(&line);
        if data.len() + content.len() + 2 > MAX_MESSAGE_BYTES {
            return None;
        }
        data.extend_from_slice(content);
        data.extend_from_slice(b"\r\n");
    }
}

/// One line without its CRLF (a bare LF is accepted too).
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, max: usize) -> Line {
    let mut buf = Vec::new();
    let mut limited = (&mut *reader).take(max as u64 + 2);
    match tokio::time::timeout(IDLE_TIMEOUT, limited.read_until(b'\n', &mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) | Err(_) => Line::Closed,
        Ok(Ok(_)) if !buf.ends_with(b"\n") => {
            if buf.len() as u64 >= max as u64 + 2 {
                Line::TooLong
            } else {
                Line::Closed
            }
        }
        Ok(Ok(_)) => {
            buf.pop();
            if buf.ends_with(b"\r") {
                buf.pop();
            }
            Line::Text(buf)
        }
    }
}

/// Writes one reply line; false when the client is gone or not reading.
async fn reply<W: AsyncWrite + Unpin>(conn: &mut W, text: &str) -> bool {
    let line = format!("{text}\r\n");
    let write = async {
        conn.write_all(line.as_bytes()).await?;
        conn.flush().await
    };
    matches!(tokio::time::timeout(IDLE_TIMEOUT, write).await, Ok(Ok(())))
}

fn multiline(code: u16, lines: &[String]) -> String {
    let last = lines.len().saturating_sub(1);
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{code}{}{l}", if i == last { ' ' } else { '-' }))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// Parses `FROM:<path> params` / `TO:<path> params`; tolerates a space after the colon.
fn path_argument(arg: &str, keyword: &str) -> Option<(String, String)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some((
        inner[..end].to_string(),
        inner[end + 1..].trim().to_string(),
    ))
}

/// The SIZE= parameter of MAIL FROM, 0 when absent.
fn size_param(params: &str) -> usize {
    params
        .split_whitespace()
        .find_map(|p| {
            let (key, value) = p.split_once('=')?;
            key.eq_ignore_ascii_case("SIZE")
                .then(|| value.parse().ok())?
        })
        .unwrap_or(0)
}

fn is_rejected(state: &Mutex<State>, address: &str) -> bool {
    let address = address.to_ascii_lowercase();
    state.lock().unwrap().rejected.contains(&address)
}

/// A CA and a server certificate for `localhost` / `127.0.0.1` signed by it, like a customer's
/// internal CA; returns the acceptor and the CA certificate in PEM.
pub fn tls_acceptor() -> (tokio_rustls::TlsAcceptor, String) {
    // Distinct CA names, so a client given another sink's CA fails as "unknown issuer",
    // the way a wrongly configured CA file fails in the field.
    static CA_SERIAL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    let serial = CA_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("holdfast smtp-sink test CA {serial}"),
    );
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let mut leaf_params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    // Explicit provider: the test binary must not depend on a process-wide default.
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_cert.pem(),
    )
}

fn base64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Standard alphabet; whitespace ignored, decoding stops at the first '='.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            break;
        }
        acc = (acc << 6) | base64_value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    let hi = (hi as char).to_digit(16)?;
    let lo = (lo as char).to_digit(16)?;
    Some((hi * 16 + lo) as u8)
}

fn quoted_printable_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines.len() - 1;
    for (index, line) in lines.iter().enumerate() {
        let line = line
            .strip_suffix('\r')
            .unwrap_or(line)
            .trim_end_matches([' ', '\t']);
        let (line, soft_break) = match line.strip_suffix('=') {
            Some(stripped) => (stripped, true),
            None => (line, false),
        };
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && let Some(b) = bytes.get(i + 1..i + 3).and_then(|h| hex_pair(h[0], h[1]))
            {
                out.push(b);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        if !soft_break && index != last {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Decodes one `=?charset?enc?text?=` starting at `s`; returns its bytes as UTF-8 and its length.
fn encoded_word(s: &str) -> Option<(Vec<u8>, usize)> {
    let body = s.strip_prefix("=?")?;
    let (charset, rest) = body.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let text = &rest[..end];
    let consumed = "=?".len() + charset.len() + 1 + encoding.len() + 1 + end + "?=".len();
    if text.contains(char::is_whitespace) {
        return None;
    }
    let raw = match encoding {
        "B" | "b" => base64_decode(text)?,
        "Q" | "q" => {
            let bytes = text.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'_' => {
                        out.push(b' ');
                        i += 1;
                    }
                    b'=' => {
                        let hi = *bytes.get(i + 1)?;
                        let lo = *bytes.get(i + 2)?;
                        out.push(hex_pair(hi, lo)?);
                        i += 3;
                    }
                    other => {
                        out.push(other);
                        i += 1;
                    }
                }
            }
            out
        }
        _ => return None,
    };
    // RFC 2231 allows a language suffix: utf-8*en.
    let charset = charset.split('*').next().unwrap_or("").to_ascii_lowercase();
    let utf8 = match charset.as_str() {
        "utf-8" | "utf8" | "us-ascii" => raw,
        "iso-8859-1" | "latin1" => raw
            .iter()
            .map(|&b| char::from(b))
            .collect::<String>()
            .into_bytes(),
        _ => return None,
    };
    Some((utf8, consumed))
}

/// RFC 2047 header decoding; whitespace between adjacent encoded-words is dropped.
fn decode_rfc2047(value: &str) -> String {
    let mut out = String::new();
    // Bytes of adjacent encoded-words are joined before UTF-8 decoding, so a character split
    // across two words still comes out whole.
    let mut pending: Vec<u8> = Vec::new();
    let mut rest = value;
    let mut after_word = false;
    while !rest.is_empty() {
        let Some(at) = rest.find("=?") else {
            break;
        };
        let before = &rest[..at];
        match encoded_word(&rest[at..]) {
            Some((bytes, consumed)) => {
                if !(after_word && before.trim().is_empty()) {
                    out.push_str(&String::from_utf8_lossy(&std::mem::take(&mut pending)));
                    out.push_str(before);
                }
                pending.extend_from_slice(&bytes);
                after_word = true;
                rest = &rest[at + consumed..];
            }
            None => {
                out.push_str(&String::from_utf8_lossy(&std::mem::take(&mut pending)));
                out.push_str(&rest[..at + 2]);
                after_word = false;
                rest = &rest[at + 2..];
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(&pending));
    out.push_str(rest);
    out
}
