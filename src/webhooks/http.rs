//! A webhook delivery's HTTP exchange: the endpoint must be one an administrator configured and
//! still enabled, over the scheme it was allowed; the connection itself is opened by the
//! appliance's one egress path (`crate::egress`), which checks the destination again against the
//! enabled endpoints' hosts and ports and records a refusal in the security log.

use crate::egress::{Destination, Egress, Flow};
use crate::storage::webhooks::EndpointRow;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How much of a receiver's answer is kept for the delivery log.
pub const RESPONSE_KEEP: usize = 512;

/// A URL split into what a connection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Target {
    /// Parses `http(s)://host[:port][/path]`; user names, passwords and fragments are refused.
    pub fn parse(url: &str) -> Result<Target, String> {
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err("the URL must start with https://".into());
        };
        if url.contains('#') {
            return Err("the URL must not have a #fragment".into());
        }
        let cut = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(cut);
        if authority.contains('@') {
            return Err("the URL must not carry a user name or password".into());
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or("the URL's IPv6 address lacks its closing ]")?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| "the URL's port is not a number")?,
                None if after.is_empty() => default_port,
                None => return Err("the URL's host is malformed".into()),
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse().map_err(|_| "the URL's port is not a number")?,
                ),
                None => (authority.to_string(), default_port),
            }
        };
        let host = host.to_ascii_lowercase();
        let name_ok = !host.is_empty()
            && (host.parse::<IpAddr>().is_ok()
                || host.split('.').all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                }));
        if !name_ok || port == 0 {
            return Err("the URL's host or port is not valid".into());
        }
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        Ok(Target {
            https,
            host,
            port,
            path,
        })
    }

    /// Loopback, private (RFC 1918, fc00::/7), link-local, or `localhost`: where the http override
    /// may point.
    /// Where the egress gate must allow this URL to go.
    pub fn destination(&self) -> Destination {
        Destination::new(Flow::Webhook, &self.host, self.port)
    }

    pub fn is_internal(&self) -> bool {
        if self.host == "localhost" {
            return true;
        }
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => a.is_loopback() || a.is_private() || a.is_link_local(),
            Ok(IpAddr::V6(a)) => {
                a.is_loopback()
                    || (a.segments()[0] & 0xfe00) == 0xfc00
                    || (a.segments()[0] & 0xffc0) == 0xfe80
            }
            Err(_) => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    #[error("refused: {0} is not a configured, enabled webhook endpoint")]
    NotConfigured(String),
    #[error("refused: {0}")]
    Scheme(String),
    #[error("{0}")]
    Egress(#[from] crate::egress::EgressError),
    #[error("{0}")]
    Connect(String),
    #[error("no answer within {0} s")]
    Timeout(u64),
}

/// What came back.
pub struct Answer {
    pub status: u16,
    /// The first bytes of the body.
    pub head: String,
}

/// Posts `body` with `headers` to `endpoint`'s URL, after checking that the endpoint is among
/// `configured` (the enabled endpoints of `instance` just read from the database) with the same
/// URL, and that its scheme is still allowed. `tls` is required for https.
#[allow(clippy::too_many_arguments)]
pub async fn post(
    egress: &Egress,
    instance: &str,
    configured: &[EndpointRow],
    endpoint: &EndpointRow,
    tls: Option<&Arc<rustls::ClientConfig>>,
    headers: &[(&str, String)],
    body: String,
    timeout: Duration,
) -> Result<Answer, EgressError> {
    if !configured
        .iter()
        .any(|c| c.id == endpoint.id && c.url == endpoint.url && c.disabled_at.is_none())
    {
        return Err(EgressError::NotConfigured(endpoint.url.clone()));
    }
    super::check_url(&endpoint.url, endpoint.allow_http)
        .map_err(|s| EgressError::Scheme(s.english))?;
    let target = Target::parse(&endpoint.url).map_err(EgressError::Scheme)?;
    let allowed: Vec<Destination> = configured
        .iter()
        .filter(|c| c.disabled_at.is_none())
        .filter_map(|c| Target::parse(&c.url).ok())
        .map(|t| t.destination())
        .collect();
    let exchange = exchange(
        egress, instance, &allowed, &target, tls, headers, body, timeout,
    );
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| EgressError::Timeout(timeout.as_secs()))?
}

#[allow(clippy::too_many_arguments)]
async fn exchange(
    egress: &Egress,
    instance: &str,
    allowed: &[Destination],
    target: &Target,
    tls: Option<&Arc<rustls::ClientConfig>>,
    headers: &[(&str, String)],
    body: String,
    timeout: Duration,
) -> Result<Answer, EgressError> {
    let want = target.destination();
    let tcp = egress
        .connect(&want, allowed, Some(instance), timeout)
        .await?;
    if target.https {
        let config = tls.ok_or_else(|| {
            EgressError::Connect("no TLS trust store is loaded (see webhooks.ca_file)".into())
        })?;
        let stream = crate::egress::handshake(tcp, &want, timeout, config).await?;
        send(TokioIo::new(stream), target, headers, body).await
    } else {
        send(TokioIo::new(tcp), target, headers, body).await
    }
}

async fn send<IO>(
    io: IO,
    target: &Target,
    headers: &[(&str, String)],
    body: String,
) -> Result<Answer, EgressError>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| EgressError::Connect(format!("HTTP: {e}")))?;
    let driver = tokio::spawn(conn);
    let host = if (target.https && target.port == 443) || (!target.https && target.port == 80) {
        target.host.clone()
    } else if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut req = hyper::Request::post(target.path.as_str())
        .header(hyper::header::HOST, host)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, "holdfast-webhooks");
    for (name, value) in headers {
        req = req.header(*name, value.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| EgressError::Connect(format!("request: {e}")))?;
    let result = sender.send_request(req).await;
    let answer = match result {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let mut body = resp.into_body();
            let mut kept = Vec::new();
            // Only the first bytes matter; a receiver streaming more is not read further.
            while kept.len() < RESPONSE_KEEP {
                match body.frame().await {
                    Some(Ok(f)) => {
                        if let Some(d) = f.data_ref() {
                            kept.extend_from_slice(d);
                        }
                    }
                    _ => break,
                }
            }
            kept.truncate(RESPONSE_KEEP);
            Ok(Answer {
                status,
                head: String::from_utf8_lossy(&kept).into_owned(),
            })
        }
        Err(e) => Err(EgressError::Connect(format!("HTTP: {e}"))),
    };
    driver.abort();
    answer
}

/// The trust store for https endpoints: `ca_file` if configured, else the system bundle.
pub fn tls_config(ca_file: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    crate::egress::client_config(crate::egress::trust_from_file(ca_file, false)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(id: i64, url: &str, allow_http: bool) -> EndpointRow {
        EndpointRow {
            id,
            url: url.into(),
            events: "*".into(),
            scopes: "clients:read".into(),
            secret_sealed: vec![],
            allow_http,
            created_at: String::new(),
            created_by: String::new(),
            disabled_at: None,
            failing_since: None,
            last_success_at: None,
        }
    }

    #[tokio::test]
    async fn only_configured_enabled_endpoints_are_contacted() {
        // A listener that must never see a connection from the refused posts below.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let t = Duration::from_secs(2);
        let wanted = endpoint(1, &url, true);
        let log = Arc::new(crate::egress::MemoryLog::default());
        let gate = Egress::new(vec![], log.clone());
        let gate = &gate;
        let post_to = |configured: Vec<EndpointRow>, e: EndpointRow| async move {
            post(gate, "default", &configured, &e, None, &[], "{}".into(), t).await
        };
        // Not among the configured endpoints, or configured under another URL, or disabled.
        let r = post_to(vec![], wanted.clone()).await;
        assert!(matches!(r, Err(EgressError::NotConfigured(_))));
        let r = post_to(
            vec![endpoint(1, "http://127.0.0.1:1/x", true)],
            wanted.clone(),
        )
        .await;
        assert!(matches!(r, Err(EgressError::NotConfigured(_))));
        let mut off = wanted.clone();
        off.disabled_at = Some("2026-12-07T00:00:00.000Z".into());
        let r = post_to(vec![off.clone()], off).await;
        assert!(matches!(r, Err(EgressError::NotConfigured(_))));
        // Configured, but plain http without the override.
        let plain = endpoint(1, &url, false);
        let r = post_to(vec![plain.clone()], plain).await;
        assert!(matches!(r, Err(EgressError::Scheme(_))));
        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(accepted.is_err(), "a refused destination was contacted");
        // Refused before the egress gate was asked: nothing for it to record.
        assert!(log.taken().is_empty());
    }

    #[test]
    fn targets_parse() {
        let t = Target::parse("https://Hooks.example.com:8443/a/b?x=1").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path.as_str()),
            (true, "hooks.example.com", 8443, "/a/b?x=1")
        );
        let t = Target::parse("http://[::1]/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 80));
        assert!(Target::parse("https://a@b/").is_err());
        assert!(Target::parse("https://b/#x").is_err());
        assert!(Target::parse("https://:80/").is_err());
        assert!(Target::parse("gopher://b/").is_err());
    }
}
