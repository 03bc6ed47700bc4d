//! Connection slots under attack (issue 11, defect 2): idle HTTP/2 connections from one address must
//! not lock anybody else out. The attacker connects from 127.0.0.1, the honest client from 127.0.0.2
//! (both loopback on Linux), so the per-address cap can tell them apart.

use crate::support::*;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;

const ATTACKER: &str = "127.0.0.1";
const HONEST: &str = "127.0.0.2";
/// The client preface (RFC 9113 §3.4) and an empty SETTINGS frame: a valid HTTP/2 start, then nothing.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";
/// Only there so that a broken server cannot hang the suite; never a pass/fail criterion.
const PATIENCE: Duration = Duration::from_secs(30);

fn tls_config(server: &Server, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let pem = std::fs::read(server.dir.join("tls/cert.pem")).unwrap();
    let mut cfg = (*client_config(&pem, rustls::ALL_VERSIONS)).clone();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(cfg)
}

async fn tcp_from(source: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source.parse::<IpAddr>().unwrap(), 0))?;
    socket.connect(to).await
}

async fn tls_from(
    source: &str,
    to: SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = tcp_from(source, to).await?;
    tokio_rustls::TlsConnector::from(cfg)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

/// One attacking connection: TLS with ALPN h2, the HTTP/2 preface, then silence. `None` when the
/// server refused it (or did not finish the handshake in time).
async fn idle_h2(to: SocketAddr, cfg: Arc<rustls::ClientConfig>) -> Option<TlsStream<TcpStream>> {
    let attempt = async {
        let mut s = tls_from(ATTACKER, to, cfg).await?;
        if s.get_ref().1.alpn_protocol() != Some(b"h2") {
            return Err(std::io::Error::other("server did not choose h2"));
        }
        s.write_all(H2_PREFACE).await?;
        s.flush().await?;
        Ok::<_, std::io::Error>(s)
    };
    tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .ok()?
        .ok()
}

/// Opens `count` idle HTTP/2 connections from the attacker's address, at most 64 handshakes at a
/// time; returns the ones the server kept.
async fn flood(server: &Server, count: usize) -> Vec<TlsStream<TcpStream>> {
    let cfg = tls_config(server, &[b"h2"]);
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count {
        let permit = Arc::clone(&gate).acquire_owned().await.unwrap();
        let cfg = Arc::clone(&cfg);
        let to = server.addr;
        tasks.spawn(async move {
            let s = idle_h2(to, cfg).await;
            drop(permit);
            s
        });
    }
    let mut held = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Some(s) = r.unwrap() {
            held.push(s);
        }
    }
    held
}

/// `GET /healthz` over HTTP/1.1 from `source`; the status, or why there was none.
async fn get_from(server: &Server, source: &str) -> Result<u16, String> {
    let cfg = tls_config(server, &[b"http/1.1"]);
    let attempt = async {
        let tls = tls_from(source, server.addr, cfg)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        tokio::spawn(conn);
        let req = hyper::Request::builder()
            .uri("/healthz")
            .header("host", "localhost")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = resp.status().as_u16();
        let _ = resp.into_body().collect().await;
        Ok(status)
    };
    tokio::time::timeout(PATIENCE, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {PATIENCE:?}")))
}

/// Reads what the server sends until it closes the connection; the HTTP/2 frame types seen, or
/// `None` if it was still open when our patience ran out.
async fn frames_until_closed(s: &mut TlsStream<TcpStream>) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read_all).await.ok()?;
    let mut types = Vec::new();
    let mut at = 0;
    while at + 9 <= bytes.len() {
        let len = usize::from(bytes[at]) << 16
            | usize::from(bytes[at + 1]) << 8
            | usize::from(bytes[at + 2]);
        types.push(bytes[at + 3]);
        at += 9 + len;
    }
    Some(types)
}

fn launch_with(dir: &std::path::Path, server_toml: &str) -> Server {
    let cfg = dir.join("holdfast.toml");
    std::fs::write(&cfg, format!("[server]\n{server_toml}")).unwrap();
    Server::launch(
        dir,
        Launch {
            args: vec!["--config".into(), cfg.display().to_string()],
            ..Default::default()
        },
    )
    .unwrap()
}

const GOAWAY: u8 = 7;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_http2_connections_from_one_address_leave_room_for_others() {
    // A small server (64 slots) so that twice as many idle connections as it has slots are cheap.
    let dir = data_dir();
    let server = launch_with(dir.path(), "max_connections = 64\n");
    let held = flood(&server, 128).await;
    let served = get_from(&server, HONEST).await;
    assert_eq!(
        served,
        Ok(200),
        "a client from another address was not served while {} idle HTTP/2 connections were open",
        held.len()
    );
    drop(held);
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_thousand_idle_http2_connections_with_the_default_limits() {
    let dir = data_dir();
    let server = Server::start(dir.path());
    let started = Instant::now();
    let held = flood(&server, 4096).await;
    let flooded = started.elapsed();
    let t = Instant::now();
    let served = get_from(&server, HONEST).await;
    eprintln!(
        "4096 idle HTTP/2 attempts in {flooded:?}: {} held open; the other address was answered {served:?} after {:?}",
        held.len(),
        t.elapsed()
    );
    assert_eq!(served, Ok(200), "{} idle connections held", held.len());
    drop(held);
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_full_of_idle_connections_are_reclaimed_longest_idle_first() {
    // One address may take every slot here, and nothing times out on its own: only reclaiming
    // can make room.
    let dir = data_dir();
    let server = launch_with(
        dir.path(),
        "max_connections = 32\nmax_connections_per_address = 32\nidle_timeout_seconds = 3600\n",
    );
    let cfg = tls_config(&server, &[b"h2"]);
    let mut first = idle_h2(server.addr, Arc::clone(&cfg))
        .await
        .expect("the first idle connection is accepted");
    let mut rest = Vec::new();
    for _ in 0..40 {
        if let Some(s) = idle_h2(server.addr, Arc::clone(&cfg)).await {
            rest.push(s);
        }
    }
    assert_eq!(get_from(&server, HONEST).await, Ok(200));
    // The oldest idle connection was the first to go, with a GOAWAY.
    let frames = frames_until_closed(&mut first)
        .await
        .expect("the longest-idle connection was not closed");
    assert!(frames.contains(&GOAWAY), "frames seen: {frames:?}");
    drop(rest);
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_address_cap_refuses_the_next_connection_while_others_get_in() {
    let dir = data_dir();
    let server = launch_with(dir.path(), "max_connections_per_address = 4\n");
    let cfg = tls_config(&server, &[b"h2"]);
    let mut held = Vec::new();
    for i in 0..4 {
        held.push(
            idle_h2(server.addr, Arc::clone(&cfg))
                .await
                .unwrap_or_else(|| panic!("connection {} of 4 refused", i + 1)),
        );
    }
    assert!(
        idle_h2(server.addr, Arc::clone(&cfg)).await.is_none(),
        "a fifth connection from the same address was accepted"
    );
    assert!(
        get_from(&server, ATTACKER).await.is_err(),
        "the capped address got a sixth connection"
    );
    assert_eq!(get_from(&server, HONEST).await, Ok(200));
    // Once one of them closes, the address may connect again.
    drop(held.pop());
    let again = eventually(PATIENCE, || async {
        get_from(&server, ATTACKER).await == Ok(200)
    })
    .await;
    assert!(
        again,
        "the address stayed refused after closing a connection"
    );
    drop(held);
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http2_connection_is_closed_after_the_idle_timeout() {
    let dir = data_dir();
    let server = launch_with(dir.path(), "idle_timeout_seconds = 1\n");
    let cfg = tls_config(&server, &[b"h2"]);
    let mut s = idle_h2(server.addr, cfg)
        .await
        .expect("connection accepted");
    let frames = frames_until_closed(&mut s)
        .await
        .expect("the idle HTTP/2 connection was never closed");
    assert!(frames.contains(&GOAWAY), "frames seen: {frames:?}");
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_thousand_idle_http2_connections_from_one_address_allowed_all_slots() {
    // The per-address cap lifted to the whole server: only reclaiming keeps room, at full size.
    let dir = data_dir();
    let server = launch_with(dir.path(), "max_connections_per_address = 4096\n");
    let started = Instant::now();
    let held = flood(&server, 4096).await;
    let flooded = started.elapsed();
    let t = Instant::now();
    let served = get_from(&server, HONEST).await;
    eprintln!(
        "4096 idle HTTP/2 attempts (no per-address cap) in {flooded:?}: {} still open; the other address was answered {served:?} after {:?}",
        held.len(),
        t.elapsed()
    );
    assert_eq!(served, Ok(200), "{} idle connections held", held.len());
    drop(held);
    assert!(server.stop().success());
}

/// One `GET /healthz` on an open HTTP/1.1 connection, kept alive: the status, or `None` when the
/// connection was closed or broken instead of answering.
async fn h1_healthz(s: &mut TlsStream<TcpStream>) -> Option<u16> {
    let ask = async {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .ok()?;
        s.flush().await.ok()?;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if got.len() >= end + 4 + length {
                    return text.get(9..12)?.parse().ok();
                }
            }
        }
    };
    tokio::time::timeout(PATIENCE, ask).await.ok()?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http1_connection_lasts_until_the_idle_timeout_and_is_then_closed() {
    // hyper's 15 s header-read timer used to cut every kept-alive HTTP/1.1 connection after 15 s
    // of idleness, whatever the idle timeout said; a request sent just then met a closed connection.
    let dir = data_dir();
    let server = launch_with(dir.path(), "idle_timeout_seconds = 40\n");
    let cfg = tls_config(&server, &[b"http/1.1"]);
    let mut s = tls_from(HONEST, server.addr, cfg)
        .await
        .expect("connection accepted");
    assert_eq!(h1_healthz(&mut s).await, Some(200));
    tokio::time::sleep(Duration::from_secs(17)).await;
    assert_eq!(
        h1_healthz(&mut s).await,
        Some(200),
        "the kept-alive connection was closed after 17 s idle, inside the 40 s idle timeout"
    );
    drop(s);
    assert!(server.stop().success());

    // And an idle HTTP/1.1 connection is still closed once the idle timeout has passed.
    let dir = data_dir();
    let server = launch_with(dir.path(), "idle_timeout_seconds = 1\n");
    let cfg = tls_config(&server, &[b"http/1.1"]);
    let mut s = tls_from(HONEST, server.addr, cfg)
        .await
        .expect("connection accepted");
    assert_eq!(h1_healthz(&mut s).await, Some(200));
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the idle HTTP/1.1 connection was never closed"
    );
    assert!(server.stop().success());
}
