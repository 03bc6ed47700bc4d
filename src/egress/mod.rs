//! The one way out of the appliance: every outbound connection (SMTP relay, syslog collector,
//! webhook endpoints, and anything later) is opened here, and only to a destination an
//! administrator configured; anything else is refused and recorded in the security log.
//!
//! What "configured" means: the mail relay and the syslog collector come from the configuration
//! file (`Egress::from_config`, fixed for the life of the process); webhook endpoints live in each
//! instance's database, so the caller passes the endpoints it has just read (`allowed`). The
//! refusal is written through the caller-provided [`EgressLog`] (the server wires the audit
//! writer, `audit::egress::EgressBook`) before `connect` returns, so a refused attempt cannot
//! go unrecorded.
//!
//! Not egress, and therefore not here: the update tool's readiness probe (`update/probe.rs`)
//! connects to this server's own listener on the same machine, the systemd notification socket is
//! AF_UNIX, and listeners accept rather than connect. `tests/it/architecture.rs` fails when a
//! `TcpStream::connect`, `UdpSocket` or `TcpSocket` appears anywhere else.

pub mod tls;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

pub use tls::{TlsStream, client_config, connect_tls, handshake, peer_days_left, trust_from_file};

/// What a connection carries out of the appliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flow {
    /// Mail to the configured SMTP relay (`[mail]`).
    Mail,
    /// Security-log events to the configured syslog collector (`[audit_forward]`).
    Syslog,
    /// Webhook deliveries to an endpoint an admin added in an instance.
    Webhook,
}

impl Flow {
    pub const fn as_str(self) -> &'static str {
        match self {
            Flow::Mail => "mail",
            Flow::Syslog => "syslog",
            Flow::Webhook => "webhook",
        }
    }
}

/// A place a connection may go: the host exactly as configured (name or address) and its port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Destination {
    pub flow: Flow,
    pub host: String,
    pub port: u16,
}

impl Destination {
    pub fn new(flow: Flow, host: &str, port: u16) -> Destination {
        Destination {
            flow,
            host: normalise_host(host),
            port,
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Host names compare case-insensitively; IPv6 brackets are not part of the address.
fn normalise_host(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// A connection that was not made, as the security log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub destination: Destination,
    /// The instance on whose behalf the connection was wanted; `None` for the appliance itself
    /// (mail relay, syslog), which every instance's log then shows.
    pub instance: Option<String>,
}

/// Where the gate's decisions are recorded: refusals in the security log, and the last successful
/// connection per destination for the integrations page. Implemented by the server over the audit
/// writer and storage (`audit::egress::EgressBook`).
pub trait EgressLog: Send + Sync {
    fn refused<'a>(&'a self, refusal: Refusal) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
    fn connected<'a>(
        &'a self,
        destination: &'a Destination,
        instance: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    #[error("refused: {0} is not a destination an administrator configured")]
    Refused(Destination),
    #[error("connect to {0}: {1}")]
    Connect(Destination, String),
    #[error("connect to {0}: timed out after {1} s")]
    Timeout(Destination, u64),
    #[error("TLS with {0}: {1}")]
    Tls(Destination, String),
}

/// The gate every outbound connection passes. Cheap to share behind an `Arc`.
pub struct Egress {
    fixed: Vec<Destination>,
    log: Arc<dyn EgressLog>,
}

impl fmt::Debug for Egress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Egress")
            .field("fixed", &self.fixed)
            .finish_non_exhaustive()
    }
}

impl Egress {
    /// A gate that allows `fixed` (plus whatever callers pass as `allowed` per connection).
    pub fn new(fixed: Vec<Destination>, log: Arc<dyn EgressLog>) -> Egress {
        Egress { fixed, log }
    }

    /// The destinations the configuration file names: the SMTP relay and the syslog collector.
    pub fn from_config(config: &crate::config::Config, log: Arc<dyn EgressLog>) -> Egress {
        Egress::new(configured(config), log)
    }

    /// The fixed destinations, in the order the integrations page and the doctor list them.
    pub fn fixed(&self) -> &[Destination] {
        &self.fixed
    }

    /// True when `want` is among the fixed destinations or `allowed`.
    pub fn permits(&self, want: &Destination, allowed: &[Destination]) -> bool {
        let want = Destination::new(want.flow, &want.host, want.port);
        self.fixed.iter().chain(allowed).any(|d| {
            d.flow == want.flow && d.port == want.port && normalise_host(&d.host) == want.host
        })
    }

    /// Opens a TCP connection to `want` if it is configured (fixed, or among `allowed`, the
    /// caller's current list of enabled webhook endpoints); otherwise records the refusal for
    /// `instance` and returns [`EgressError::Refused`] without any packet leaving.
    pub async fn connect(
        &self,
        want: &Destination,
        allowed: &[Destination],
        instance: Option<&str>,
        timeout: Duration,
    ) -> Result<TcpStream, EgressError> {
        if !self.permits(want, allowed) {
            tracing::warn!(destination = %want, flow = want.flow.as_str(), "outbound connection refused: not configured");
            self.log
                .refused(Refusal {
                    destination: want.clone(),
                    instance: instance.map(str::to_string),
                })
                .await;
            return Err(EgressError::Refused(want.clone()));
        }
        let attempt = async {
            // Resolved here, after the check: the name the admin configured is what is checked,
            // and only its addresses are tried.
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((want.host.as_str(), want.port))
                .await
                .map_err(|e| EgressError::Connect(want.clone(), e.to_string()))?
                .collect();
            let mut last = String::from("no address");
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(s) => return Ok(s),
                    Err(e) => last = e.to_string(),
                }
            }
            Err(EgressError::Connect(want.clone(), last))
        };
        let stream = tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| EgressError::Timeout(want.clone(), timeout.as_secs()))??;
        self.log.connected(want, instance).await;
        Ok(stream)
    }
}

/// The destinations named in the configuration file.
pub fn configured(config: &crate::config::Config) -> Vec<Destination> {
    let mut out = Vec::new();
    if let Some(m) = &config.mail {
        out.push(Destination::new(Flow::Mail, &m.smtp_host, m.smtp_port));
    }
    if let Some(f) = &config.audit_forward {
        out.push(Destination::new(Flow::Syslog, &f.host, f.port));
    }
    out
}

/// A log that keeps refusals in memory and forgets connections: for tests of the callers and of
/// this module, and for `doctor --network`, which only looks.
#[derive(Default)]
pub struct MemoryLog(pub std::sync::Mutex<Vec<Refusal>>);

impl MemoryLog {
    pub fn taken(&self) -> Vec<Refusal> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl EgressLog for MemoryLog {
    fn refused<'a>(&'a self, refusal: Refusal) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            if let Ok(mut v) = self.0.lock() {
                v.push(refusal);
            }
        })
    }

    fn connected<'a>(
        &'a self,
        _destination: &'a Destination,
        _instance: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_configured_destinations_are_contacted_and_refusals_are_logged() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(MemoryLog::default());
        let egress = Egress::new(
            vec![Destination::new(Flow::Mail, "127.0.0.1", port)],
            log.clone(),
        );
        let t = Duration::from_secs(2);
        // Same address and port but another flow, another port, another host: all refused.
        for want in [
            Destination::new(Flow::Syslog, "127.0.0.1", port),
            Destination::new(Flow::Mail, "127.0.0.1", port.wrapping_add(1).max(1)),
            Destination::new(Flow::Mail, "127.0.0.2", port),
        ] {
            let r = egress.connect(&want, &[], Some("default"), t).await;
            assert!(matches!(r, Err(EgressError::Refused(_))), "{want}");
        }
        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(accepted.is_err(), "a refused destination was contacted");
        let refused = log.taken();
        assert_eq!(refused.len(), 3);
        assert_eq!(refused[2].destination.host, "127.0.0.2");
        assert_eq!(refused[2].instance.as_deref(), Some("default"));

        // The configured one, and a webhook the caller allows for this connection only.
        let ok = Destination::new(Flow::Mail, "127.0.0.1", port);
        egress.connect(&ok, &[], None, t).await.unwrap();
        let hook = Destination::new(Flow::Webhook, "127.0.0.1", port);
        egress
            .connect(&hook, std::slice::from_ref(&hook), None, t)
            .await
            .unwrap();
        assert_eq!(log.taken().len(), 3);
    }

    #[test]
    fn hosts_compare_without_case_or_brackets() {
        let egress = Egress::new(
            vec![Destination::new(Flow::Mail, "Relay.Example.MIL", 25)],
            Arc::new(MemoryLog::default()),
        );
        assert!(egress.permits(&Destination::new(Flow::Mail, "relay.example.mil", 25), &[]));
        let v6 = Destination::new(Flow::Webhook, "[::1]", 8443);
        assert!(egress.permits(
            &Destination::new(Flow::Webhook, "::1", 8443),
            std::slice::from_ref(&v6)
        ));
        assert_eq!(v6.to_string(), "[::1]:8443");
    }
}
