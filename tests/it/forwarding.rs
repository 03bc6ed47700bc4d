//! Security-log forwarding to the customer's SIEM: RFC 5424 over TCP with octet counting.

use crate::app::TestApp;
use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

#[tokio::test]
async fn security_events_reach_the_syslog_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = TestApp::builder()
        .config(&format!(
            "[audit]\nforward_host = \"127.0.0.1\"\nforward_port = {port}\nforward_tls = false\n"
        ))
        .start();
    let c = app.client.clone();
    let r = c
        .request(
            "POST",
            "localhost",
            "/api/v1/session",
            &[("content-type", "application/json")],
            br#"{"username":"nobody-here","password":"wrong password 123"}"#,
        )
        .await;
    assert_eq!(r.status, 401);

    listener.set_nonblocking(false).unwrap();
    let (mut sock, _) = listener.accept().unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !String::from_utf8_lossy(&got).contains("login_failed") {
        if let Ok(n) = sock.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(
        text.contains("login_failed"),
        "no login_failed event forwarded: {text}"
    );
    // Octet counting: "<length> <PRI>1 …"
    let first = text
        .split_once(' ')
        .map(|(len, rest)| (len.parse::<usize>().is_ok(), rest.starts_with('<')))
        .unwrap();
    assert_eq!(first, (true, true), "{text}");
    assert!(text.contains("[holdfast@32473 "), "{text}");
    assert!(text.contains("outcome=\"failure\""), "{text}");
    assert!(
        !text.contains("wrong password 123"),
        "a password was forwarded"
    );
    assert!(app.stop().success());
}
