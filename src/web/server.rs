//! The listeners: HTTPS (TLS handshake, HTTP/1.1 and HTTP/2 over hyper), the optional plain-HTTP
//! redirect listener, connection limits and graceful shutdown.

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// The peer address of the connection a request arrived on.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(15);

fn builder() -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(200);
    b
}

/// Serves `router` over TLS until `shutdown` resolves, then lets in-flight requests finish for up to
/// `grace`.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    max_connections: usize,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let limit = Arc::new(Semaphore::new(max_connections));
    let http = Arc::new(builder());
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = Arc::clone(&limit).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let http = Arc::clone(&http);
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            // A client that is not speaking TLS (plain HTTP, scanners) fails here and gets no page.
            let tls_stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => return,
                };
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ClientAddr(peer));
                router.clone().oneshot(req.map(axum::body::Body::new))
            });
            let conn = http.serve_connection_with_upgrades(TokioIo::new(tls_stream), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(grace) => tracing::warn!(seconds = grace.as_secs(), "grace period over; closing remaining connections"),
    }
}

/// Plain HTTP listener whose only answer is a permanent redirect to the HTTPS port.
pub async fn serve_redirect(
    listener: TcpListener,
    https_port: u16,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => match a { Ok(a) => a, Err(_) => continue },
        };
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let resp = redirect_response(&req, https_port);
                async move { Ok::<_, std::convert::Infallible>(resp) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn redirect_response(
    req: &hyper::Request<Incoming>,
    https_port: u16,
) -> hyper::Response<axum::body::Body> {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(crate::instances::host_from_header)
        .filter(|h| crate::instances::normalise_hostname(h).is_ok());
    let Some(host) = host else {
        return hyper::Response::builder()
            .status(400)
            .body(axum::body::Body::from("HTTPS only; send a Host header.\n"))
            .unwrap_or_default();
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    hyper::Response::builder()
        .status(308)
        .header(
            hyper::header::LOCATION,
            format!("https://{host}{port}{path}"),
        )
        .header(
            hyper::header::STRICT_TRANSPORT_SECURITY,
            super::headers::HSTS,
        )
        .body(axum::body::Body::empty())
        .unwrap_or_default()
}
