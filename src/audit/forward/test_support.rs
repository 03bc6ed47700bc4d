//! Fixtures the forwarding unit tests share: a sample event and configuration, a frame
//! reader, a bounded wait and temporary CA files.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::TcpListener;

use super::{ForwardConfig, ForwardEvent};

pub(super) const WAIT: Duration = Duration::from_secs(10);

pub(super) fn event(id: i64, event_name: &str, outcome: &str) -> ForwardEvent {
    ForwardEvent {
        at: "2026-11-22T10:00:00.123Z".to_string(),
        instance: "acme".to_string(),
        event: event_name.to_string(),
        actor: "alice".to_string(),
        target: "alice".to_string(),
        source: "192.0.2.7".to_string(),
        outcome: outcome.to_string(),
        details: serde_json::json!({"reason": "bad_password"}),
        id,
        hash: "ab12".to_string(),
    }
}

pub(super) fn config(host: &str, port: u16) -> ForwardConfig {
    ForwardConfig {
        host: host.to_string(),
        port,
        tls: false,
        ca_file: None,
        app_name: "holdfast".to_string(),
        hostname: "hub01.example".to_string(),
        queue: 100,
        egress: std::sync::Arc::new(crate::egress::Egress::new(
            vec![crate::egress::Destination::new(
                crate::egress::Flow::Syslog,
                host,
                port,
            )],
            std::sync::Arc::new(crate::egress::MemoryLog::default()),
        )),
    }
}

/// A loopback port with nothing listening on it (bound, then released).
pub(super) async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

pub(super) async fn read_frames<R: AsyncRead + Unpin>(r: R, n: usize) -> Vec<String> {
    let mut r = BufReader::new(r);
    let mut out = Vec::new();
    for _ in 0..n {
        let mut len = Vec::new();
        r.read_until(b' ', &mut len).await.unwrap();
        let len: usize = std::str::from_utf8(&len[..len.len() - 1])
            .unwrap()
            .parse()
            .unwrap();
        let mut msg = vec![0u8; len];
        r.read_exact(&mut msg).await.unwrap();
        out.push(String::from_utf8(msg).unwrap());
    }
    out
}

pub(super) async fn wait_until(f: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

pub(super) fn temp_pem(name: &str, pem: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("holdfast-fwd-{}-{name}.pem", std::process::id()));
    std::fs::write(&path, pem).unwrap();
    path
}
