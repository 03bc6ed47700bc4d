//! Test support: an HTTPS client that trusts exactly the server's certificate, cookies, polling and
//! file probes. The process side (data dir, console commands, the server) is `app.rs`, re-exported
//! here so tests keep one import.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

pub use crate::app::{BIN, Launch, Server, add_console_user, data_dir, holdfast};
pub const RELEASE: &str = env!("CARGO_BIN_EXE_holdfast-release");

/// A vendor signing key made by `holdfast-release keygen` (`release.key`, `release.pub` in the
/// first directory) and a trusted-keys directory holding its public half as `vendor.pub`, with the
/// modes an admin gives them (0755 directory, 0644 key).
/// Puts a copy of `src` at `dst` as an executable, written by another process (`install`): a file
/// this process wrote itself could still be open for writing in a child that another test thread is
/// forking at that moment, and exec'ing it would then fail with "Text file busy" (ETXTBSY).
pub fn install_executable(src: &Path, dst: &Path) {
    let out = Command::new("install")
        .args(["-m", "0755"])
        .arg(src)
        .arg(dst)
        .output()
        .unwrap();
    assert!(out.status.success(), "install: {}", text(&out.stderr));
}

/// A real Debian package `holdfast_<version>_amd64.deb` in `dir`, built with `dpkg-deb`, whose
/// only file is `binary` as usr/bin/holdfast.
pub fn tiny_deb(dir: &Path, version: &str, binary: &[u8]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let root = dir.join(format!("pkg-{version}"));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: holdfast\nVersion: {version}\nArchitecture: amd64\nMaintainer: Test <t@example.test>\nDescription: test build\n"
        ),
    )
    .unwrap();
    let b = root.join("usr/bin/holdfast");
    std::fs::write(&b, binary).unwrap();
    std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o755)).unwrap();
    let deb = dir.join(format!("holdfast_{version}_amd64.deb"));
    let out = Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Znone", "--build"])
        .arg(&root)
        .arg(&deb)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    deb
}

pub fn vendor_keys() -> (tempfile::TempDir, tempfile::TempDir) {
    use std::os::unix::fs::PermissionsExt;
    let keys = tempfile::tempdir().unwrap();
    let out = Command::new(RELEASE)
        .args(["keygen", "--out"])
        .arg(keys.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let trusted = tempfile::tempdir().unwrap();
    std::fs::set_permissions(trusted.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let vendor = trusted.path().join("vendor.pub");
    std::fs::copy(keys.path().join("release.pub"), &vendor).unwrap();
    std::fs::set_permissions(&vendor, std::fs::Permissions::from_mode(0o644)).unwrap();
    (keys, trusted)
}

/// The session cookie's name.
pub const SESSION: &str = "__Host-hf_session";

/// Every `Set-Cookie` line of a response.
pub fn set_cookies(r: &Resp) -> Vec<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The full `Set-Cookie` line for cookie `name`.
pub fn set_cookie_line(r: &Resp, name: &str) -> Option<String> {
    set_cookies(r)
        .into_iter()
        .find(|l| l.split('=').next() == Some(name))
}

/// The value set for cookie `name` (None when not set or set empty, i.e. cleared).
pub fn set_cookie(r: &Resp, name: &str) -> Option<String> {
    set_cookie_line(r, name)
        .and_then(|l| {
            l.split(';')
                .next()
                .and_then(|kv| kv.split_once('='))
                .map(|(_, v)| v.to_string())
        })
        .filter(|v| !v.is_empty())
}

pub fn session_cookie(r: &Resp) -> Option<String> {
    set_cookie(r, SESSION)
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

/// HTTPS client pinned to one certificate, with a chosen TLS version set.
#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    pub server_name: String,
    /// The local address connections start from (any 127.0.0.0/8 address works on Linux), so the
    /// server sees another client host; None: the system's choice.
    source: Option<std::net::IpAddr>,
}

pub fn client_config(
    ca_pem: &[u8],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

impl Client {
    pub fn for_data_dir(dir: &Path, addr: SocketAddr) -> Client {
        let pem = std::fs::read(dir.join("tls/cert.pem")).unwrap();
        Self::trusting(&pem, "localhost", addr)
    }

    pub fn trusting(ca_pem: &[u8], server_name: &str, addr: SocketAddr) -> Client {
        Client {
            addr,
            config: client_config(ca_pem, rustls::ALL_VERSIONS),
            server_name: server_name.into(),
            source: None,
        }
    }

    /// The same client, connecting from `source`.
    pub fn with_source(&self, source: std::net::IpAddr) -> Client {
        Client {
            source: Some(source),
            ..self.clone()
        }
    }

    pub fn with_versions(
        mut self,
        ca_pem: &[u8],
        v: &[&'static rustls::SupportedProtocolVersion],
    ) -> Self {
        self.config = client_config(ca_pem, v);
        self
    }

    pub async fn tls(&self) -> Result<tokio_rustls::client::TlsStream<TcpStream>, std::io::Error> {
        let tcp = match self.source {
            None => TcpStream::connect(self.addr).await?,
            Some(ip) => {
                let socket = tokio::net::TcpSocket::new_v4()?;
                socket.bind(SocketAddr::new(ip, 0))?;
                socket.connect(self.addr).await?
            }
        };
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.config));
        connector
            .connect(ServerName::try_from(self.server_name.clone()).unwrap(), tcp)
            .await
    }

    pub async fn request(
        &self,
        method: &str,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let tls = self.tls().await.expect("TLS handshake");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", host);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = sender
            .send_request(req.body(Full::new(Bytes::copy_from_slice(body))).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    pub async fn get(&self, host: &str, path: &str) -> Resp {
        self.request("GET", host, path, &[], b"").await
    }
}

/// Polls `check` until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        // Short: each round is a cheap local check, and a test waits only as long as it must.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// True when `needle` occurs anywhere in the file (missing files contain nothing).
pub fn file_contains(path: &Path, needle: &[u8]) -> bool {
    match std::fs::read(path) {
        Ok(bytes) => bytes.windows(needle.len()).any(|w| w == needle),
        Err(_) => false,
    }
}

/// Every regular file below `dir`.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Signs in through the JSON API; returns the `name=value` session cookie and the CSRF token.
pub async fn api_sign_in(c: &Client, user: &str, password: &str) -> (String, String) {
    let body = serde_json::json!({ "username": user, "password": password }).to_string();
    let r = c
        .request(
            "POST",
            "localhost",
            "/api/v1/session",
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = format!("{SESSION}={}", session_cookie(&r).unwrap());
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    (cookie, v["csrf_token"].as_str().unwrap().to_string())
}
