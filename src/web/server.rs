//! The listeners: HTTPS (TLS handshake, HTTP/1.1 and HTTP/2 over hyper), the optional plain-HTTP
//! redirect listener, connection limits (bookkeeping in `connections.rs`) and graceful shutdown.

use super::connections::{Limits, Slot, Table, TrackedBody};
use super::unread::{self, Unread};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// The peer address of the connection a request arrived on.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(15);
/// HTTP/2 PING every so often; a peer that does not answer within the timeout is gone (half-open
/// TCP, a vanished laptop) and its connection is closed. Pings do not count as activity: a peer
/// that only answers pings is still idle.
const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long an idle connection asked to close may take to say goodbye (HTTP/2 GOAWAY) before it
/// is dropped: a peer that does not read must not keep its slot.
const CLOSE_GRACE: Duration = Duration::from_millis(500);
/// While every slot is taken, how often the accept loop looks for idle connections to reclaim.
const FULL_RECHECK: Duration = Duration::from_millis(250);
/// At shutdown, how long an open HTTP/1.1 connection is still read: a request already on its way
/// (on a connection just accepted, or a kept-alive one) is answered, with `Connection: close`, and
/// the client's next request goes to the next server on the same sockets instead of meeting a
/// closed connection. After this, idle connections are closed (within the grace period).
const SHUTDOWN_LINGER: Duration = Duration::from_millis(250);

/// hyper's HTTP/1.1 header-read timer also runs while a kept-alive connection waits for its next
/// request, and ends the connection when it fires. With the bare `HEADER_READ_TIMEOUT` every idle
/// HTTP/1.1 connection was cut after 15 s, whatever `idle_timeout_seconds` said, and a request the
/// client sent just then met a closed connection (schemathesis saw "EOF occurred in violation of
/// protocol" under load). So the timer allows the idle wait plus the time to read a head; idle
/// connections are closed by the connection table instead (after the idle timeout, or earlier when
/// slots run short), gracefully.
fn builder(idle_timeout: Duration) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(idle_timeout.saturating_add(HEADER_READ_TIMEOUT));
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(200)
        .keep_alive_interval(H2_KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT);
    b
}

/// Serves `router` over TLS until `shutdown` resolves, then lets in-flight requests finish for up to
/// `grace`. At most `limits.max_connections` connections are open, at most `limits.per_address`
/// from one address; idle ones are closed after the idle timeout, and earlier (longest idle first)
/// when free slots run short.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    limits: Limits,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let table = Table::new(limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let http = Arc::new(builder(limits.idle_timeout));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    'accept: loop {
        let permit = loop {
            if let Ok(p) = Arc::clone(&slots).try_acquire_owned() {
                break p;
            }
            // Every slot is taken: make room by closing idle connections, if there are any.
            table.reclaim_if_short(0);
            tokio::select! {
                _ = &mut shutdown => break 'accept,
                p = Arc::clone(&slots).acquire_owned() => match p { Ok(p) => break p, Err(_) => break 'accept },
                _ = tokio::time::sleep(FULL_RECHECK) => {}
            }
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
        let slot = match table.admit(peer.ip()) {
            Ok(s) => s,
            Err(over) => {
                // Closed before any TLS work: refusing costs the attacker more than us.
                tracing::debug!(address = %over.key, open = over.open, "connection refused: per-address cap");
                drop(stream);
                continue;
            }
        };
        table.reclaim_if_short(slots.available_permits());
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let http = Arc::clone(&http);
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            serve_connection(stream, peer, slot, acceptor, router, http, stop).await;
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    tokio::select! {
        _ = slots.acquire_many(all) => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(grace) => tracing::warn!(seconds = grace.as_secs(), "grace period over; closing remaining connections"),
    }
}

/// One connection from TLS handshake to close. It ends when the peer closes, at the idle timeout,
/// when the table reclaims it, or at shutdown (after the requests in flight).
async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    slot: Slot,
    acceptor: TlsAcceptor,
    router: Router,
    http: Arc<auto::Builder<TokioExecutor>>,
    mut stop: watch::Receiver<bool>,
) {
    // A client that is not speaking TLS (plain HTTP, scanners) fails here and gets no page.
    let tls_stream = tokio::select! {
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => match r {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(peer = %peer, "TLS handshake timed out");
                return;
            }
        },
        _ = slot.state().close_requested() => {
            tracing::debug!(peer = %peer, "connection closed during its TLS handshake: its slot was reclaimed");
            return;
        }
        // At shutdown a handshake in progress is finished: the client's request is on its way.
    };
    let tracker = slot.tracker();
    let closing = stop.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let busy = tracker.begin();
        let http1 = req.version() < hyper::Version::HTTP_2;
        req.extensions_mut().insert(ClientAddr(peer));
        // HTTP/1.1 only: an HTTP/2 stream whose body is left unread is reset on its own, and the
        // connection goes on.
        let unread = http1.then(Unread::default);
        let declared = unread::declared_length(req.headers());
        let req = req.map(|b| match &unread {
            Some(u) => u.track(axum::body::Body::new(b)),
            None => axum::body::Body::new(b),
        });
        let response = router.clone().oneshot(req);
        let closing = *closing.borrow();
        async move {
            let mut response = response.await?;
            let mut close = closing;
            if let Some(rest) = unread.as_ref().and_then(Unread::take) {
                close |= !unread::drain(declared, rest).await;
            }
            if close && http1 {
                // Answered, then closed: the client reconnects (at shutdown, to the next server).
                response.headers_mut().insert(
                    hyper::header::CONNECTION,
                    hyper::header::HeaderValue::from_static("close"),
                );
            }
            Ok::<_, std::convert::Infallible>(
                response.map(|b| axum::body::Body::new(TrackedBody::new(b, busy))),
            )
        }
    });
    let conn = http.serve_connection_with_upgrades(TokioIo::new(tls_stream), service);
    tokio::pin!(conn);
    // Some(deadline) once an idle connection was asked to go: after it, the connection is dropped.
    let mut give_up: Option<tokio::time::Instant> = None;
    let mut stopping = false;
    // Some(end of the linger) once shutdown began.
    let mut linger: Option<tokio::time::Instant> = None;
    if *stop.borrow() {
        linger = Some(tokio::time::Instant::now() + SHUTDOWN_LINGER);
    }
    loop {
        let idle_at = tokio::time::Instant::from_std(slot.idle_deadline());
        let closing = give_up.is_some() || stopping;
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = slot.state().close_requested(), if !closing => {
                conn.as_mut().graceful_shutdown();
                give_up = Some(tokio::time::Instant::now() + CLOSE_GRACE);
            }
            _ = tokio::time::sleep_until(idle_at), if !closing => {
                if slot.idle_expired() {
                    tracing::debug!(peer = %peer, "idle connection closed");
                    slot.closing();
                    conn.as_mut().graceful_shutdown();
                    give_up = Some(tokio::time::Instant::now() + CLOSE_GRACE);
                }
            }
            _ = stop.wait_for(|s| *s), if !closing && linger.is_none() => {
                linger = Some(tokio::time::Instant::now() + SHUTDOWN_LINGER);
            }
            _ = tokio::time::sleep_until(linger.unwrap_or_else(tokio::time::Instant::now)), if !closing && linger.is_some() => {
                // Requests in flight finish; the server's grace period bounds how long.
                conn.as_mut().graceful_shutdown();
                stopping = true;
            }
            _ = tokio::time::sleep_until(give_up.unwrap_or_else(tokio::time::Instant::now)), if give_up.is_some() => {
                tracing::debug!(peer = %peer, "connection dropped: it did not close within the grace period");
                return;
            }
        }
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
