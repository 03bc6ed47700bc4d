//! TLS with rustls only (1.2 and 1.3, ring provider): the admin's PEM files, or a self-signed
//! certificate generated into the data dir on first start.

use crate::fsutil;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate {path}: {reason}")]
    Cert { path: PathBuf, reason: String },
    #[error("TLS private key {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
    #[error("certificate and key do not fit together or are unsupported: {0}")]
    Config(String),
}

/// Where the certificate in use lives.
#[derive(Debug, Clone)]
pub struct CertPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub self_signed: bool,
}

pub fn self_signed_paths(data_dir: &Path) -> CertPaths {
    let dir = data_dir.join("tls");
    CertPaths {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        self_signed: true,
    }
}

/// The admin's certificate when configured, else the generated one (created when missing).
pub fn ensure_certificate(
    data_dir: &Path,
    cert_file: Option<&Path>,
    key_file: Option<&Path>,
    extra_names: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CertPaths, TlsError> {
    if let (Some(cert), Some(key)) = (cert_file, key_file) {
        return Ok(CertPaths {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            self_signed: false,
        });
    }
    let paths = self_signed_paths(data_dir);
    if !paths.cert.exists() || !paths.key.exists() {
        generate_self_signed(&paths, extra_names, now)?;
    }
    Ok(paths)
}

fn generate_self_signed(
    paths: &CertPaths,
    extra_names: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), TlsError> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    if let Ok(h) = nix::unistd::gethostname()
        && let Some(h) = h.to_str().filter(|h| !h.is_empty())
    {
        names.push(h.to_ascii_lowercase());
    }
    for n in extra_names {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let gen_err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let key = rcgen::KeyPair::generate().map_err(gen_err)?;
    let mut params = rcgen::CertificateParams::new(names).map_err(gen_err)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "holdfast self-signed");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "holdfast appliance");
    let today = now.date_naive();
    use chrono::Datelike;
    let ymd = |d: chrono::NaiveDate| rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8);
    params.not_before = ymd(today - chrono::Days::new(1));
    // 397 days: the longest validity browsers accept for a server certificate.
    params.not_after = ymd(today + chrono::Days::new(397));
    let cert = params.self_signed(&key).map_err(gen_err)?;
    let dir = paths.cert.parent().unwrap_or(Path::new("."));
    fsutil::ensure_private_dir(dir).map_err(|e| TlsError::Generate(e.to_string()))?;
    fsutil::write_atomic(&paths.key, key.serialize_pem().as_bytes(), 0o600)
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    fsutil::write_atomic(&paths.cert, cert.pem().as_bytes(), 0o644)
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    tracing::info!(cert = %paths.cert.display(), "generated a self-signed TLS certificate; replace it with your own (docs/install.md)");
    Ok(())
}

pub fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |reason: String| TlsError::Cert {
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block in the file".into()));
    }
    Ok(certs)
}

/// rustls configuration: TLS 1.3 and 1.2 only, AEAD suites only (ring's defaults), ALPN h2 and http/1.1.
pub fn server_config(paths: &CertPaths) -> Result<Arc<ServerConfig>, TlsError> {
    config_with(paths, None)
}

/// The same configuration for the metrics listener; with `client_ca`, a client must present a
/// certificate that chains to one of the CA certificates in that PEM file.
pub fn metrics_server_config(
    paths: &CertPaths,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let verifier = match client_ca {
        None => None,
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in load_chain(ca)? {
                roots.add(cert).map_err(|e| TlsError::Cert {
                    path: ca.to_path_buf(),
                    reason: e.to_string(),
                })?;
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
            Some(v)
        }
    };
    config_with(paths, verifier)
}

fn config_with(
    paths: &CertPaths,
    client_verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = load_chain(&paths.cert)?;
    let key = PrivateKeyDer::from_pem_file(&paths.key).map_err(|e| TlsError::Key {
        path: paths.key.clone(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match client_verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Days until the first certificate in `path` expires (negative when expired).
pub fn days_until_expiry(path: &Path, now: chrono::DateTime<chrono::Utc>) -> Result<i64, TlsError> {
    let not_after = expiry(path)?;
    Ok((not_after - now.timestamp()).div_euclid(86_400))
}

/// The SHA-256 fingerprint of the first certificate in `path`, as browsers show it
/// (`AB:CD:…`), so an administrator can check it without `openssl`.
pub fn fingerprint(path: &Path) -> Result<String, TlsError> {
    use sha2::Digest;
    let certs = load_chain(path)?;
    let digest = sha2::Sha256::digest(certs[0].as_ref());
    Ok(digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

/// The addresses a self-signed certificate must name for the server to be reached on them:
/// the listen address itself, or every address of this machine's interfaces when it listens on
/// all of them (`0.0.0.0`, `[::]`) — so that `https://<LAN address>/` matches the certificate.
pub fn listen_names(listen: std::net::SocketAddr) -> Vec<String> {
    let ip = listen.ip();
    if !ip.is_unspecified() {
        return vec![ip.to_string()];
    }
    let mut out: Vec<String> = Vec::new();
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for a in addrs {
            let Some(addr) = a.address else { continue };
            let found: Option<std::net::IpAddr> = if let Some(v4) = addr.as_sockaddr_in() {
                Some(v4.ip().into())
            } else {
                addr.as_sockaddr_in6().map(|v6| v6.ip().into())
            };
            // A link-local IPv6 address needs a zone in a URL and cannot be in a certificate usefully.
            let usable = found.filter(|ip| match ip {
                std::net::IpAddr::V4(v4) => !v4.is_unspecified(),
                std::net::IpAddr::V6(v6) => !v6.is_unspecified() && !v6.is_unicast_link_local(),
            });
            // An IPv4 wildcard answers IPv4 only.
            let family_ok = |ip: &std::net::IpAddr| ip.is_ipv4() || listen.is_ipv6();
            if let Some(ip) = usable.filter(family_ok) {
                let text = ip.to_string();
                if !out.contains(&text) {
                    out.push(text);
                }
            }
        }
    }
    out
}

/// When the first certificate in `path` expires (Unix seconds).
pub fn expiry(path: &Path) -> Result<i64, TlsError> {
    let certs = load_chain(path)?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(certs[0].as_ref()).map_err(|e| TlsError::Cert {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(cert.validity().not_after.timestamp())
}
