//! The handle callers hold: validates the configuration, starts the background task, queues
//! events without ever blocking, reports counters and shuts down within a deadline.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::delivery::{Shared, run};
use super::transport::{Target, tls_connector};
use super::{ForwardConfig, ForwardError, ForwardEvent, ForwarderStats, MAX_QUEUE};

/// Sender side of the forwarder; cheap to share behind an `Arc`.
pub struct Forwarder {
    tx: Option<mpsc::Sender<ForwardEvent>>,
    task: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    queue: usize,
}

impl Forwarder {
    /// Validates `cfg` and spawns the background task. Must be called inside a tokio
    /// runtime (returns `ForwardError::Config` otherwise). Does not connect yet.
    pub fn start(cfg: ForwardConfig) -> Result<Forwarder, ForwardError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            ForwardError::Config("must be started inside a tokio runtime".to_string())
        })?;
        let host = cfg.host.trim().to_string();
        if host.is_empty() || host.len() > 253 || !host.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ForwardError::Config(
                "host must be a non-empty host name or IP address".to_string(),
            ));
        }
        if cfg.port == 0 {
            return Err(ForwardError::Config("port must not be 0".to_string()));
        }
        if cfg.queue == 0 || cfg.queue > MAX_QUEUE {
            return Err(ForwardError::Config(format!(
                "queue must be between 1 and {MAX_QUEUE}"
            )));
        }
        let tls = match (cfg.tls, &cfg.ca_file) {
            (true, Some(ca)) => {
                ServerName::try_from(host.clone()).map_err(|_| {
                    ForwardError::Config(format!("host {host:?} is not a valid TLS server name"))
                })?;
                Some(tls_connector(ca)?)
            }
            (true, None) => {
                return Err(ForwardError::Config(
                    "tls is enabled but no ca_file is configured".to_string(),
                ));
            }
            // Refused rather than ignored: a CA file suggests the operator expects TLS, and
            // silently sending security events in clear text would betray that.
            (false, Some(_)) => {
                return Err(ForwardError::Config(
                    "ca_file is set but tls is disabled".to_string(),
                ));
            }
            (false, None) => None,
        };
        let target = Target {
            host,
            port: cfg.port,
            tls,
            app_name: cfg.app_name,
            hostname: cfg.hostname,
            pid: std::process::id(),
            egress: cfg.egress,
        };
        let (tx, rx) = mpsc::channel(cfg.queue);
        let shared = Arc::new(Shared::default());
        let task = runtime.spawn(run(target, rx, Arc::clone(&shared)));
        Ok(Forwarder {
            tx: Some(tx),
            task: Some(task),
            shared,
            queue: cfg.queue,
        })
    }

    /// Queues an event without blocking. When the queue is full (or the forwarder is
    /// shutting down) the event is counted in `dropped` and otherwise ignored.
    pub fn submit(&self, e: ForwardEvent) {
        let Some(tx) = &self.tx else {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        // Reserve a slot first: the bound must also cover the event the task has already
        // taken off the channel and is still trying to deliver.
        if self.shared.queued.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if tx.try_send(e).is_err() {
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn stats(&self) -> ForwarderStats {
        let last_error = self
            .shared
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        ForwarderStats {
            sent: self.shared.sent.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            connected: self.shared.connected.load(Ordering::Relaxed),
            last_error,
        }
    }

    /// Stops accepting events, lets the task deliver what is queued for up to `timeout`,
    /// then closes the connection (TLS close_notify included) or abandons the rest.
    pub async fn shutdown(mut self, timeout: Duration) {
        // Closing the channel is the task's signal to drain and exit.
        drop(self.tx.take());
        let Some(mut task) = self.task.take() else {
            return;
        };
        if tokio::time::timeout(timeout, &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
            let abandoned = self.shared.queued.swap(0, Ordering::AcqRel);
            self.shared
                .dropped
                .fetch_add(abandoned as u64, Ordering::Relaxed);
            self.shared.connected.store(false, Ordering::Relaxed);
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        // Without shutdown() nobody would ever stop a task retrying an unreachable peer.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::forward::format_rfc5424;
    use crate::audit::forward::test_support::{
        WAIT, config, event, free_port, read_frames, temp_pem, wait_until,
    };
    use std::path::PathBuf;
    use std::time::Instant;
    use tokio::net::TcpListener;

    #[test]
    fn start_outside_runtime_is_a_config_error() {
        let r = Forwarder::start(config("127.0.0.1", 6514));
        assert!(matches!(r, Err(ForwardError::Config(_))));
    }

    #[tokio::test]
    async fn config_is_validated() {
        let bad = |f: fn(&mut ForwardConfig)| {
            let mut c = config("127.0.0.1", 6514);
            f(&mut c);
            matches!(Forwarder::start(c), Err(ForwardError::Config(_)))
        };
        assert!(bad(|c| c.host = String::new()));
        assert!(bad(|c| c.host = "two words".to_string()));
        assert!(bad(|c| c.port = 0));
        assert!(bad(|c| c.queue = 0));
        assert!(bad(|c| c.tls = true));
        assert!(bad(
            |c| c.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"))
        ));
        assert!(bad(|c| {
            c.tls = true;
            c.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
        }));
        let empty = temp_pem("empty", "no certificates here\n");
        let mut c = config("127.0.0.1", 6514);
        c.tls = true;
        c.ca_file = Some(empty.clone());
        assert!(
            matches!(Forwarder::start(c), Err(ForwardError::Config(m)) if m.contains("no certificates"))
        );
        let _ = std::fs::remove_file(empty);
    }

    #[tokio::test]
    async fn tcp_delivers_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let fwd = Forwarder::start(config("127.0.0.1", port)).unwrap();
        let (e1, e2) = (
            event(1, "login", "success"),
            event(2, "login_failed", "failure"),
        );
        fwd.submit(e1.clone());
        fwd.submit(e2.clone());
        let frames = tokio::time::timeout(WAIT, async {
            let (sock, _) = listener.accept().await.unwrap();
            read_frames(sock, 2).await
        })
        .await
        .unwrap();
        let pid = std::process::id();
        assert_eq!(
            frames[0],
            format_rfc5424(&e1, "holdfast", "hub01.example", pid)
        );
        assert_eq!(
            frames[1],
            format_rfc5424(&e2, "holdfast", "hub01.example", pid)
        );
        assert!(wait_until(|| fwd.stats().sent == 2).await);
        let s = fwd.stats();
        assert!(s.connected);
        assert_eq!(s.dropped, 0);
        fwd.shutdown(Duration::from_secs(2)).await;
    }

    fn tls_server(cert: &rcgen::CertifiedKey<rcgen::KeyPair>) -> tokio_rustls::TlsAcceptor {
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
    }

    fn tls_config(port: u16, ca: PathBuf) -> ForwardConfig {
        ForwardConfig {
            tls: true,
            ca_file: Some(ca),
            ..config("localhost", port)
        }
    }

    #[tokio::test]
    async fn tls_delivers_with_right_ca() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let ca = temp_pem("good-ca", &cert.cert.pem());
        let acceptor = tls_server(&cert);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fwd = Forwarder::start(tls_config(addr.port(), ca.clone())).unwrap();
        fwd.submit(event(1, "login", "success"));
        fwd.submit(event(2, "account_locked", "success"));
        let frames = tokio::time::timeout(WAIT, async {
            let (sock, _) = listener.accept().await.unwrap();
            let tls = acceptor.accept(sock).await.unwrap();
            read_frames(tls, 2).await
        })
        .await
        .unwrap();
        assert!(frames[0].starts_with("<86>1 ") && frames[0].contains(" id=\"1\" "));
        assert!(frames[1].starts_with("<84>1 ") && frames[1].contains(" id=\"2\" "));
        assert!(wait_until(|| fwd.stats().sent == 2).await);
        fwd.shutdown(Duration::from_secs(2)).await;
        let _ = std::fs::remove_file(ca);
    }

    #[tokio::test]
    async fn tls_rejects_wrong_ca() {
        let server_cert =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let ca = temp_pem("wrong-ca", &other.cert.pem());
        let acceptor = tls_server(&server_cert);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            for _ in 0..5 {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let _ = acceptor.accept(sock).await;
            }
        });
        let fwd = Forwarder::start(tls_config(addr.port(), ca.clone())).unwrap();
        fwd.submit(event(1, "login", "success"));
        let saw = wait_until(|| {
            fwd.stats()
                .last_error
                .is_some_and(|e| e.contains("certificate"))
        })
        .await;
        let s = fwd.stats();
        eprintln!("wrong CA: {s:?}");
        assert!(saw, "{s:?}");
        assert_eq!(s.sent, 0);
        assert!(!s.connected);
        let started = Instant::now();
        fwd.shutdown(Duration::from_millis(200)).await;
        assert!(started.elapsed() < Duration::from_secs(2));
        server.abort();
        let _ = std::fs::remove_file(ca);
    }

    #[tokio::test]
    async fn reconnects_when_listener_appears() {
        let port = free_port().await;
        let fwd = Forwarder::start(config("127.0.0.1", port)).unwrap();
        fwd.submit(event(1, "login", "success"));
        fwd.submit(event(2, "logout", "success"));
        assert!(wait_until(|| fwd.stats().last_error.is_some()).await);
        assert_eq!(fwd.stats().sent, 0);
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let frames = tokio::time::timeout(WAIT, async {
            let (sock, _) = listener.accept().await.unwrap();
            read_frames(sock, 2).await
        })
        .await
        .unwrap();
        assert!(frames[0].contains(" id=\"1\" ") && frames[1].contains(" id=\"2\" "));
        assert!(wait_until(|| fwd.stats().sent == 2).await);
        fwd.shutdown(Duration::from_secs(2)).await;
    }

    #[tokio::test]
    async fn full_queue_drops_without_blocking() {
        let port = free_port().await;
        let fwd = Forwarder::start(ForwardConfig {
            queue: 3,
            ..config("127.0.0.1", port)
        })
        .unwrap();
        let started = Instant::now();
        for i in 0..10 {
            fwd.submit(event(i, "login", "success"));
        }
        assert!(started.elapsed() < Duration::from_millis(200));
        // Let the task take an event off the channel: the bound must still hold.
        tokio::time::sleep(Duration::from_millis(100)).await;
        fwd.submit(event(10, "login", "success"));
        let s = fwd.stats();
        assert!(s.dropped >= 8, "{s:?}");
        assert_eq!(s.sent, 0);
        let started = Instant::now();
        fwd.shutdown(Duration::from_millis(200)).await;
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn forwarder_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Forwarder>();
    }
}
