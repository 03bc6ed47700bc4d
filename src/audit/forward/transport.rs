//! The connection to the collector: TCP, optionally TLS against the configured CA, with
//! timeouts on every step, and the idle watch that notices a collector that went away.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::egress::tls::handshake;
use crate::egress::{Destination, Egress, Flow, client_config, trust_from_file};

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
    pub(super) tls: Option<Arc<ClientConfig>>,
    pub(super) app_name: String,
    pub(super) hostname: String,
    pub(super) pid: u32,
    /// The one way out (`crate::egress`): the collector must be the configured destination.
    pub(super) egress: Arc<Egress>,
}

pub(super) fn tls_connector(ca_file: &Path) -> Result<Arc<ClientConfig>, ForwardError> {
    let roots = trust_from_file(Some(ca_file), true)
        .map_err(|e| ForwardError::Config(format!("ca_file: {e}")))?;
    client_config(roots).map_err(ForwardError::Config)
}

pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub(super) type Conn = Box<dyn Io>;

pub(super) async fn connect(t: &Target) -> Result<Conn, String> {
    let want = Destination::new(Flow::Syslog, &t.host, t.port);
    let tcp = t
        .egress
        .connect(&want, &[], None, CONNECT_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    // Each event is flushed on its own; Nagle would only add latency.
    let _ = tcp.set_nodelay(true);
    let Some(config) = &t.tls else {
        return Ok(Box::new(tcp));
    };
    match handshake(tcp, &want, HANDSHAKE_TIMEOUT, config).await {
        Err(e) => Err(format!("TLS handshake: {e}")),
        Ok(tls) => Ok(Box::new(tls)),
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
