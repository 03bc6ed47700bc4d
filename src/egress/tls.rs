//! TLS on top of an egress connection: the client configuration every outbound flow uses (ring,
//! TLS 1.2/1.3, only the roots the admin's CA file or the system bundle gives, no compiled-in
//! public roots) and the handshake with its own time limit.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{Destination, Egress, EgressError};

pub type TlsStream = tokio_rustls::client::TlsStream<TcpStream>;

/// The system trust store (Debian/Ubuntu layout), used when no CA file is configured.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The certificates in `ca_file`, or the system bundle without one. With `strict`, every
/// certificate must be usable (a configured CA that is broken should be noticed at start);
/// otherwise the few a distribution bundle holds that webpki cannot parse are skipped.
pub fn trust_from_file(
    ca_file: Option<&Path>,
    strict: bool,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let path = ca_file.unwrap_or(Path::new(SYSTEM_CA_BUNDLE));
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut out = Vec::new();
    for (index, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        match cert {
            Ok(c) if rustls::RootCertStore::empty().add(c.clone()).is_ok() => out.push(c),
            Ok(_) | Err(_) if strict => {
                return Err(format!(
                    "{shown}: certificate {} is unusable or not valid PEM",
                    index + 1
                ));
            }
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(format!("{shown} holds no certificates usable as a CA"));
    }
    Ok(out)
}

/// A client configuration trusting exactly `roots`.
pub fn client_config(
    roots: Vec<CertificateDer<'static>>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut store = rustls::RootCertStore::empty();
    for cert in roots {
        store
            .add(cert)
            .map_err(|e| format!("unusable CA certificate: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// [`Egress::connect`], then a TLS handshake verifying the configured host name (within
/// `timeout` as well).
pub async fn connect_tls(
    egress: &Egress,
    want: &Destination,
    allowed: &[Destination],
    instance: Option<&str>,
    timeout: Duration,
    config: &Arc<rustls::ClientConfig>,
) -> Result<TlsStream, EgressError> {
    let tcp = egress.connect(want, allowed, instance, timeout).await?;
    handshake(tcp, want, timeout, config).await
}

/// A TLS handshake on a connection `egress` opened.
pub async fn handshake(
    tcp: TcpStream,
    want: &Destination,
    timeout: Duration,
    config: &Arc<rustls::ClientConfig>,
) -> Result<TlsStream, EgressError> {
    let name = ServerName::try_from(want.host.clone())
        .map_err(|e| EgressError::Tls(want.clone(), format!("server name: {e}")))?;
    match tokio::time::timeout(
        timeout,
        TlsConnector::from(config.clone()).connect(name, tcp),
    )
    .await
    {
        Err(_) => Err(EgressError::Timeout(want.clone(), timeout.as_secs())),
        Ok(Err(e)) => Err(EgressError::Tls(want.clone(), e.to_string())),
        Ok(Ok(s)) => Ok(s),
    }
}

/// Days until the certificate the peer presented expires (negative once expired), as
/// `doctor --network` reports it; `None` when there is none or it cannot be read.
pub fn peer_days_left(stream: &TlsStream, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let certs = stream.get_ref().1.peer_certificates()?;
    let (_, cert) = x509_parser::parse_x509_certificate(certs.first()?.as_ref()).ok()?;
    Some((cert.validity().not_after.timestamp() - now.timestamp()).div_euclid(86_400))
}
