//! Sending plain-text e-mail through the customer's SMTP relay (lettre's SMTP client over a
//! connection the appliance's one egress path opened, rustls with ring).
//!
//! Trust for TLS comes only from the configured `ca_file` or, without one, the system bundle at
//! [`SYSTEM_CA_BUNDLE`]: the relay normally carries a certificate from an internal CA, and no public
//! root list is compiled in. Every delivery opens its own connection (no pool): volume is low, no
//! background task is needed, and no idle connection goes stale behind a firewall.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, CertificateStore, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::crypto::Secret;
use crate::egress::{Destination, Egress, EgressError, Flow};

/// Trust store used when no `ca_file` is configured (Debian/Ubuntu layout).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain SMTP. Only acceptable to a relay on the same host or a trusted segment.
    None,
    /// Plain connect, then STARTTLS; failing to upgrade fails the delivery (never falls back).
    StartTls,
    /// TLS from the first byte ("implicit TLS", SMTPS).
    Tls,
}

impl TlsMode {
    /// The spelling used in the configuration file.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::None => "none",
            TlsMode::StartTls => "starttls",
            TlsMode::Tls => "tls",
        }
    }

    /// The port a relay conventionally listens on for this mode (25, 587, 465).
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::None => 25,
            TlsMode::StartTls => 587,
            TlsMode::Tls => 465,
        }
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TlsMode {
    type Err = MailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        [TlsMode::None, TlsMode::StartTls, TlsMode::Tls]
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                MailError::Config(format!(
                    "unknown SMTP TLS mode {s:?}: expected one of \"none\", \"starttls\", \"tls\""
                ))
            })
    }
}

/// Everything needed to reach the relay. `Debug` is safe: the password prints as `[redacted]`.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub smtp_host: String,
    pub smtp_port: u16,
    pub tls: TlsMode,
    /// Sender, e.g. `holdfast@example.mil` or `Holdfast <holdfast@example.mil>`.
    pub from: String,
    pub username: Option<String>,
    pub password: Option<Secret<String>>,
    /// PEM file with the CA certificate(s) to trust for the relay; replaces the system bundle.
    pub ca_file: Option<PathBuf>,
    /// Upper bound for one whole attempt: connect, TLS, authentication and the message.
    pub timeout: Duration,
    /// The admin's explicit, documented choice to send mail (sign-in codes among it) unencrypted
    /// to a relay that is not on this machine (`[mail] allow_unencrypted_relay`).
    pub allow_unencrypted_relay: bool,
}

/// One plain-text UTF-8 message to one recipient.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    pub to: String,
    pub subject: String,
    pub body_text: String,
}

/// Why mail could not be sent. No variant ever carries the SMTP password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// A sender or recipient address that is not a valid mailbox.
    #[error("invalid e-mail address: {0}")]
    BadAddress(String),
    /// The mail settings are unusable (bad TLS mode, unreadable CA file, ...).
    #[error("mail configuration: {0}")]
    Config(String),
    /// Worth retrying later: connection refused or dropped, timeout, 4xx reply.
    #[error("temporary mail failure: {0}")]
    Transient(String),
    /// Retrying will not help: 5xx reply, rejected recipient, failed TLS verification.
    #[error("mail rejected: {0}")]
    Permanent(String),
}

impl MailError {
    /// True when a later attempt may succeed without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(self, MailError::Transient(_))
    }
}

/// A configured client for the relay. Cheap to share behind an `Arc`; `send` takes `&self`.
pub struct Mailer {
    session: Arc<Session>,
    from: Mailbox,
    relay: String,
    tls: TlsMode,
    timeout: Duration,
    // Kept only to scrub it from server replies that end up in error messages.
    password: Option<Secret<String>>,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("relay", &self.relay)
            .field("tls", &self.tls)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Checks the settings and prepares the session; no network traffic happens here. Every
    /// connection goes through `egress`, which must allow the relay.
    pub fn new(settings: &MailSettings, egress: Arc<Egress>) -> Result<Self, MailError> {
        let host = settings.smtp_host.trim();
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(MailError::Config(format!(
                "SMTP host {:?} is not a host name or address",
                settings.smtp_host
            )));
        }
        if settings.smtp_port == 0 {
            return Err(MailError::Config("SMTP port must not be 0".into()));
        }
        if settings.timeout.is_zero() {
            return Err(MailError::Config("SMTP timeout must be above zero".into()));
        }
        let from: Mailbox = settings
            .from
            .trim()
            .parse()
            .map_err(|e| MailError::BadAddress(format!("sender {:?}: {e}", settings.from)))?;

        // Sign-in and confirmation codes travel in these mails: across a network they are
        // encrypted unless the admin explicitly accepted the risk.
        if settings.tls == TlsMode::None && !is_loopback(host) && !settings.allow_unencrypted_relay
        {
            return Err(MailError::Config(format!(
                "refusing to send mail unencrypted to {host}: sign-in codes would cross the network \
                 in clear text; use tls = \"starttls\" or \"tls\", or, for a relay on a segment you \
                 trust, set allow_unencrypted_relay = true in [mail] (see docs/configuration.md)"
            )));
        }
        let credentials = match (&settings.username, &settings.password) {
            (None, None) => None,
            (Some(user), Some(password)) => {
                if settings.tls == TlsMode::None && !is_loopback(host) {
                    return Err(MailError::Config(format!(
                        "refusing to send the SMTP password unencrypted to {host}: \
                         use TLS mode \"starttls\" or \"tls\""
                    )));
                }
                Some(Credentials::new(user.clone(), password.expose().clone()))
            }
            (Some(_), None) => {
                return Err(MailError::Config(
                    "SMTP username is set but the password is not".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(MailError::Config(
                    "SMTP password is set but the username is not".into(),
                ));
            }
        };

        let (starttls, wrapper) = match settings.tls {
            TlsMode::None => (None, None),
            TlsMode::StartTls => (
                Some(tls_parameters(host, settings.ca_file.as_deref())?),
                None,
            ),
            TlsMode::Tls => {
                let roots = trust_roots(settings.ca_file.as_deref())?;
                let config = crate::egress::client_config(roots)
                    .map_err(|e| MailError::Config(format!("TLS settings for {host}: {e}")))?;
                (None, Some(config))
            }
        };

        Ok(Self {
            session: Arc::new(Session {
                egress,
                relay: Destination::new(Flow::Mail, host, settings.smtp_port),
                starttls,
                wrapper,
                credentials,
                timeout: settings.timeout,
            }),
            from,
            relay: format!("{host}:{}", settings.smtp_port),
            tls: settings.tls,
            timeout: settings.timeout,
            password: settings.password.clone(),
        })
    }

    /// Delivers one message to the relay; `Ok` means the relay accepted it (250 after DATA).
    pub async fn send(&self, msg: &OutgoingMessage) -> Result<(), MailError> {
        let email = self.build_message(msg)?;
        // lettre's own timeout covers only the TCP connect; a relay that stalls later would
        // otherwise hold the caller forever.
        // lettre runs in a task of its own: its EHLO parser panics on a reply line of blanks
        // (found by the `smtp` fuzz target), and whatever the relay, or anyone on the path
        // before STARTTLS, sends must cost one failed attempt, never the sender or the process.
        let session = Arc::clone(&self.session);
        let task = tokio::spawn(async move {
            let mut conn = session.open().await?;
            let sent = conn
                .send(email.envelope(), &email.formatted())
                .await
                .map_err(Failure::Smtp);
            conn.abort().await;
            sent
        });
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(Ok(_response))) => Ok(()),
            Ok(Ok(Err(err))) => Err(self.classify(&err)),
            Ok(Err(_panicked)) => Err(self.unreadable()),
            Err(_) => Err(self.timed_out()),
        }
    }

    fn unreadable(&self) -> MailError {
        MailError::Transient(format!(
            "SMTP relay {} sent a reply that could not be read",
            self.relay
        ))
    }

    /// Connects, negotiates TLS, authenticates if configured, sends NOOP and QUIT.
    pub async fn test_connection(&self) -> Result<(), MailError> {
        let session = Arc::clone(&self.session);
        let task = tokio::spawn(async move {
            let mut conn = session.open().await?;
            let alive = conn.test_connected().await;
            conn.abort().await;
            Ok::<bool, Failure>(alive)
        });
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(Ok(true))) => Ok(()),
            Ok(Ok(Ok(false))) => Err(MailError::Transient(format!(
                "SMTP relay {} did not answer NOOP",
                self.relay
            ))),
            Ok(Ok(Err(err))) => Err(self.classify(&err)),
            Ok(Err(_panicked)) => Err(self.unreadable()),
            Err(_) => Err(self.timed_out()),
        }
    }

    /// The exact message `send` would transmit; lettre's builder encodes headers, so user text
    /// cannot add header lines.
    pub fn build_message(&self, msg: &OutgoingMessage) -> Result<Message, MailError> {
        let to: Mailbox = msg
            .to
            .trim()
            .parse()
            .map_err(|e| MailError::BadAddress(format!("recipient {:?}: {e}", msg.to)))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(single_line(&msg.subject))
            .date_now()
            .message_id(None)
            .header(ContentType::TEXT_PLAIN)
            .body(msg.body_text.clone())
            .map_err(|e| MailError::Permanent(format!("could not build the message: {e}")))
    }

    fn timed_out(&self) -> MailError {
        MailError::Transient(format!(
            "SMTP relay {} did not finish within {} s",
            self.relay,
            self.timeout.as_secs_f32()
        ))
    }

    fn classify(&self, failure: &Failure) -> MailError {
        let err = match failure {
            // Only a settings change can make a refused or unverifiable relay work.
            Failure::Egress(e @ (EgressError::Refused(_) | EgressError::Tls(..))) => {
                return MailError::Permanent(self.scrub(format!("SMTP relay: {e}")));
            }
            Failure::Egress(e) => {
                return MailError::Transient(self.scrub(format!("SMTP relay: {e}")));
            }
            Failure::Smtp(err) => err,
        };
        let text = self.scrub(format!("SMTP relay {}: {err}", self.relay));
        if err.is_permanent() {
            MailError::Permanent(text)
        } else if err.is_transient() || err.is_timeout() {
            MailError::Transient(text)
        } else if tls_failure(err) {
            // Certificate or protocol mismatch: only a settings change (ca_file, TLS mode,
            // port) can fix it, so retrying would just repeat the failure.
            MailError::Permanent(format!("{text} (TLS handshake failed)"))
        } else if err.is_client() {
            // e.g. STARTTLS or AUTH not offered by the server: a settings problem too.
            MailError::Permanent(text)
        } else {
            // Refused or dropped connection, malformed reply, DNS failure.
            MailError::Transient(text)
        }
    }

    fn scrub(&self, text: String) -> String {
        match &self.password {
            Some(p) if !p.expose().is_empty() && text.contains(p.expose().as_str()) => {
                text.replace(p.expose().as_str(), "[redacted]")
            }
            _ => text,
        }
    }
}

/// Why a session with the relay failed: the connection (egress gate, TCP, implicit TLS) or SMTP.
#[derive(Debug)]
enum Failure {
    Egress(EgressError),
    Smtp(lettre::transport::smtp::Error),
}

impl From<lettre::transport::smtp::Error> for Failure {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        Failure::Smtp(e)
    }
}

/// What one connection to the relay needs; shared with the task each delivery runs in.
struct Session {
    egress: Arc<Egress>,
    relay: Destination,
    /// STARTTLS parameters (mode `starttls`): the upgrade is required, never skipped.
    starttls: Option<TlsParameters>,
    /// Implicit TLS (mode `tls`): the handshake happens before the relay's greeting.
    wrapper: Option<Arc<rustls::ClientConfig>>,
    credentials: Option<Credentials>,
    timeout: Duration,
}

impl Session {
    /// Connects through the egress gate, reads the greeting, says EHLO, upgrades and
    /// authenticates as configured.
    async fn open(&self) -> Result<AsyncSmtpConnection, Failure> {
        let tcp = self
            .egress
            .connect(&self.relay, &[], None, self.timeout)
            .await
            .map_err(Failure::Egress)?;
        let stream: Box<dyn AsyncTokioStream> = match &self.wrapper {
            Some(config) => Box::new(Implicit(
                crate::egress::handshake(tcp, &self.relay, self.timeout, config)
                    .await
                    .map_err(Failure::Egress)?,
            )),
            None => Box::new(tcp),
        };
        let hello = ClientId::default();
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &hello).await?;
        if let Some(params) = &self.starttls {
            conn.starttls(params.clone(), &hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }
}

/// An implicit-TLS connection handed to lettre, which only takes streams of its own trait.
struct Implicit(crate::egress::TlsStream);

impl fmt::Debug for Implicit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Implicit(TLS)")
    }
}

impl AsyncRead for Implicit {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Implicit {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for Implicit {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// True when the error chain contains a rustls error (tokio-rustls wraps it in an io::Error).
fn tls_failure(err: &lettre::transport::smtp::Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    // The chain is short; the bound only guards against a cyclic `source` implementation.
    for _ in 0..16 {
        let Some(e) = current else { return false };
        if e.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
        {
            return true;
        }
        current = e.source();
    }
    false
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Subjects are one line: control characters (CR, LF, ...) become spaces.
fn single_line(subject: &str) -> String {
    subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn trust_roots(ca_file: Option<&Path>) -> Result<Vec<CertificateDer<'static>>, MailError> {
    match ca_file {
        Some(path) => load_ca_file(path),
        None => load_system_bundle(),
    }
}

fn tls_parameters(host: &str, ca_file: Option<&Path>) -> Result<TlsParameters, MailError> {
    let roots = trust_roots(ca_file)?;
    let mut builder = TlsParameters::builder(host.to_owned())
        // Nothing beyond `roots`: no compiled-in public root list, no platform verifier.
        .certificate_store(CertificateStore::None);
    for der in roots {
        let cert = Certificate::from_der(der.as_ref().to_vec())
            .map_err(|e| MailError::Config(format!("CA certificate: {e}")))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map_err(|e| MailError::Config(format!("TLS settings for {host}: {e}")))
}

/// Every certificate in `path` must be usable: a broken configured CA should be noticed now.
fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, MailError> {
    let shown = path.display();
    let pem = std::fs::read(path)
        .map_err(|e| MailError::Config(format!("cannot read SMTP CA file {shown}: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| MailError::Config(format!("SMTP CA file {shown} is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(MailError::Config(format!(
            "SMTP CA file {shown} contains no CERTIFICATE block"
        )));
    }
    for (index, cert) in certs.iter().enumerate() {
        rustls::RootCertStore::empty()
            .add(cert.clone())
            .map_err(|e| {
                MailError::Config(format!(
                    "SMTP CA file {shown}: certificate {} is unusable: {e}",
                    index + 1
                ))
            })?;
    }
    Ok(certs)
}

/// The distribution bundle may hold a few certificates webpki cannot parse; those are skipped
/// rather than making mail unusable.
fn load_system_bundle() -> Result<Vec<CertificateDer<'static>>, MailError> {
    let pem = std::fs::read(SYSTEM_CA_BUNDLE).map_err(|e| {
        MailError::Config(format!(
            "no SMTP CA file configured and the system bundle {SYSTEM_CA_BUNDLE} is unreadable: {e}"
        ))
    })?;
    let usable: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .filter(|cert| rustls::RootCertStore::empty().add(cert.clone()).is_ok())
        .collect();
    if usable.is_empty() {
        return Err(MailError::Config(format!(
            "no SMTP CA file configured and the system bundle {SYSTEM_CA_BUNDLE} holds no usable certificate"
        )));
    }
    Ok(usable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MailSettings {
        MailSettings {
            smtp_host: "127.0.0.1".into(),
            smtp_port: 2525,
            tls: TlsMode::None,
            from: "Holdfast <hub@example.test>".into(),
            username: None,
            password: None,
            ca_file: None,
            timeout: Duration::from_secs(5),
            allow_unencrypted_relay: false,
        }
    }

    /// A mailer whose egress gate allows exactly the configured relay.
    fn mailer(s: &MailSettings) -> Result<Mailer, MailError> {
        let gate = Egress::new(
            vec![Destination::new(Flow::Mail, &s.smtp_host, s.smtp_port)],
            Arc::new(crate::egress::MemoryLog::default()),
        );
        Mailer::new(s, Arc::new(gate))
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_relay_reply_that_panics_lettre_is_one_failed_attempt() {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        // The reply the `smtp` fuzz target found: an EHLO extension line of blanks makes lettre
        // unwrap a `None` (release builds would have aborted the whole server).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let relay = tokio::spawn(async move {
            for _ in 0..2 {
                let (sock, _) = listener.accept().await.unwrap();
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 hostile.test ESMTP\r\n").await.unwrap();
                let _ehlo = lines.next_line().await;
                w.write_all(b"250-hostile.test\r\n250-   \r\n250 SIZE 1000\r\n")
                    .await
                    .unwrap();
                let _ = lines.next_line().await;
            }
        });
        let mut s = settings();
        s.smtp_port = port;
        let mailer = mailer(&s).unwrap();
        let msg = OutgoingMessage {
            to: "someone@example.test".into(),
            subject: "hello".into(),
            body_text: "body".into(),
        };
        for _ in 0..2 {
            let err = mailer
                .send(&msg)
                .await
                .expect_err("the hostile relay cannot take mail");
            assert!(err.is_retryable(), "{err}");
            assert!(err.to_string().contains("could not be read"), "{err}");
        }
        relay.abort();
    }

    #[test]
    fn plaintext_to_a_remote_relay_is_refused_without_the_explicit_override() {
        let mut s = settings();
        s.smtp_host = "192.0.2.10".into();
        let err = mailer(&s).expect_err("refused").to_string();
        assert!(err.contains("allow_unencrypted_relay"), "{err}");
        s.smtp_host = "mail.example.mil".into();
        assert!(mailer(&s).is_err());
        // Loopback (a local relay) is fine, and so is the admin's explicit choice.
        s.smtp_host = "localhost".into();
        assert!(mailer(&s).is_ok());
        s.smtp_host = "192.0.2.10".into();
        s.allow_unencrypted_relay = true;
        assert!(mailer(&s).is_ok());
        // With the override, a password still never travels in clear.
        s.username = Some("hub".into());
        s.password = Some(Secret::new("pw".into()));
        assert!(mailer(&s).is_err());
    }

    #[test]
    fn tls_mode_parses_config_strings() {
        assert_eq!("none".parse::<TlsMode>().unwrap(), TlsMode::None);
        assert_eq!("starttls".parse::<TlsMode>().unwrap(), TlsMode::StartTls);
        assert_eq!(" TLS ".parse::<TlsMode>().unwrap(), TlsMode::Tls);
        let err = "ssl".parse::<TlsMode>().unwrap_err().to_string();
        assert!(err.contains("\"ssl\""), "{err}");
        assert!(err.contains("\"none\", \"starttls\", \"tls\""), "{err}");
        for mode in [TlsMode::None, TlsMode::StartTls, TlsMode::Tls] {
            assert_eq!(mode.to_string().parse::<TlsMode>().unwrap(), mode);
        }
    }

    #[test]
    fn bad_sender_is_bad_address() {
        let mut s = settings();
        s.from = "not an address".into();
        assert!(matches!(mailer(&s), Err(MailError::BadAddress(_))));
    }

    #[test]
    fn bad_recipient_is_bad_address() {
        let mailer = mailer(&settings()).unwrap();
        let msg = OutgoingMessage {
            to: "nobody at all".into(),
            subject: "s".into(),
            body_text: "b".into(),
        };
        assert!(matches!(
            mailer.build_message(&msg),
            Err(MailError::BadAddress(_))
        ));
    }

    #[test]
    fn half_credentials_are_config_errors() {
        let mut s = settings();
        s.username = Some("user".into());
        assert!(matches!(mailer(&s), Err(MailError::Config(_))));
        let mut s = settings();
        s.password = Some(Secret::new("pw".into()));
        assert!(matches!(mailer(&s), Err(MailError::Config(_))));
    }

    #[test]
    fn password_never_travels_unencrypted_off_host() {
        let mut s = settings();
        s.smtp_host = "mail.example.test".into();
        s.username = Some("user".into());
        s.password = Some(Secret::new("hunter2-secret".into()));
        let err = mailer(&s).unwrap_err();
        assert!(matches!(err, MailError::Config(_)));
        assert!(!err.to_string().contains("hunter2"));
        // Loopback relays (a local MTA) are fine.
        s.smtp_host = "localhost".into();
        assert!(mailer(&s).is_ok());
    }

    #[test]
    fn debug_output_hides_password() {
        let mut s = settings();
        s.username = Some("user".into());
        s.password = Some(Secret::new("hunter2-secret".into()));
        let mailer = mailer(&s).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{mailer:?}").contains("hunter2"));
        let scrubbed = mailer.scrub("535 bad password hunter2-secret".into());
        assert_eq!(scrubbed, "535 bad password [redacted]");
    }

    #[test]
    fn unreadable_or_empty_ca_file_is_config_error() {
        let mut s = settings();
        s.tls = TlsMode::Tls;
        s.ca_file = Some("/nonexistent/holdfast-ca.pem".into());
        assert!(matches!(mailer(&s), Err(MailError::Config(_))));

        let path =
            std::env::temp_dir().join(format!("holdfast-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "no certificates here\n").unwrap();
        s.ca_file = Some(path.clone());
        let err = mailer(&s).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(
            matches!(err, MailError::Config(ref m) if m.contains("no CERTIFICATE")),
            "{err}"
        );
    }

    #[test]
    fn subject_cannot_inject_headers() {
        let mailer = mailer(&settings()).unwrap();
        let msg = OutgoingMessage {
            to: "user@example.test".into(),
            subject: "Hello\r\nBcc: x@y\r\n".into(),
            body_text: "body".into(),
        };
        let raw = String::from_utf8(mailer.build_message(&msg).unwrap().formatted()).unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(
            !headers
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "{raw}"
        );
        assert!(headers.contains("Date: "), "{raw}");
        assert!(headers.contains("Message-ID: <"), "{raw}");
        assert!(
            headers.contains("Content-Type: text/plain; charset=utf-8"),
            "{raw}"
        );
    }
}
