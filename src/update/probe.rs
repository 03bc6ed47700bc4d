//! Asks a local holdfast server whether it is ready (`GET /readyz` over TLS), trusting exactly the
//! certificate in the data dir: the update must talk to our server, not to whatever took the port.

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Why the readiness question could not be asked or answered.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0}")]
    Config(#[source] rustls::Error),
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Socket(#[source] std::io::Error),
    #[error("{0}")]
    ServerName(#[source] rustls::pki_types::InvalidDnsNameError),
    #[error("{0}")]
    Tls(#[source] rustls::Error),
    #[error("readiness request to {addr}: {source}")]
    Request {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("readiness answer from {addr}: {source}")]
    Answer {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server presented another certificate than holdfast's".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A reusable client for one server certificate.
pub struct Probe {
    config: Arc<rustls::ClientConfig>,
}

impl Probe {
    pub fn new(cert: CertificateDer<'static>) -> Result<Self, ProbeError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(ProbeError::Config)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned { cert, provider }))
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// True when the server at `addr` answers `/readyz` with 200. A wildcard listen address is
    /// asked on loopback.
    pub fn ready(&self, addr: SocketAddr) -> Result<bool, ProbeError> {
        let mut addr = addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .map_err(|source| ProbeError::Connect { addr, source })?;
        tcp.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(ProbeError::Socket)?;
        tcp.set_write_timeout(Some(Duration::from_secs(5)))
            .map_err(ProbeError::Socket)?;
        let name = ServerName::try_from("localhost").map_err(ProbeError::ServerName)?;
        let conn =
            rustls::ClientConnection::new(self.config.clone(), name).map_err(ProbeError::Tls)?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        tls.write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .map_err(|source| ProbeError::Request { addr, source })?;
        let mut head = [0u8; 12];
        tls.read_exact(&mut head)
            .map_err(|source| ProbeError::Answer { addr, source })?;
        Ok(&head == b"HTTP/1.1 200")
    }
}
