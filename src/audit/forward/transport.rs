//! The connection to the collector: TCP, optionally TLS against the configured CA, with
//! timeouts on every step, and the idle watch that notices a collector that went away.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;

use super::{ForwardError, ForwardEvent};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Collectors never talk back; a peer that streams this much at us is misbehaving.
const MAX_UNEXPECTED_INBOUND: usize = 64 * 1024;

/// Everything the background task needs to reach the collector.
pub(super) struct Target {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) tls: Option<(TlsConnector, ServerName<'static>)>,
    pub(super) app_name: String,
    pub(super) hostname: String,
    pub(super) pid: u32,
    /// Tests connect to 127.0.0.1 while verifying the name "localhost"; production
    /// always resolves `host`.
    pub(super) pinned_addr: Option<SocketAddr>,
}

pub(super) fn tls_connector(ca_file: &Path) -> Result<TlsConnector, ForwardError> {
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

pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub(super) type Conn = Box<dyn Io>;

pub(super) async fn connect(t: &Target) -> Result<Conn, String> {
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

pub(super) async fn write_frame(conn: &mut Conn, frame: &[u8]) -> Result<(), String> {
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
pub(super) async fn next_while_connected(
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
