//! Durability: a client writes records over HTTPS while the server is killed with SIGKILL at
//! random moments; after every restart each write that was acknowledged with a 2xx is there and the
//! database passes its integrity checks.

use crate::support::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CYCLES: usize = 20;
const PASSWORD: &str = "durable granite lantern 88";

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    let dir = data_dir();
    let d = dir.path();
    let out = holdfast(d, &["init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    add_console_user(
        std::path::Path::new(BIN),
        d,
        None,
        "writer",
        "users",
        PASSWORD,
    );

    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut cookie = String::new();
    for cycle in 0..CYCLES {
        let server = Server::start(d);
        let c = server.client();
        // Everything acknowledged so far must be there.
        let so_far = acked.lock().unwrap().clone();
        for (id, name) in so_far {
            let r = c
                .request(
                    "GET",
                    "localhost",
                    &format!("/api/v1/clients/{id}"),
                    &[("cookie", &cookie)],
                    b"",
                )
                .await;
            if r.status == 401 {
                break;
            }
            assert_eq!(
                r.status, 200,
                "cycle {cycle}: acknowledged client {id} ({name}) is missing"
            );
            assert!(
                r.body.contains(&name),
                "cycle {cycle}: client {id} has the wrong content: {}",
                r.body
            );
        }
        let who = c
            .request(
                "GET",
                "localhost",
                "/api/v1/session",
                &[("cookie", &cookie)],
                b"",
            )
            .await;
        if who.status != 200 {
            cookie = api_sign_in(&c, "writer", PASSWORD).await.0;
        }
        // Writers: three at a time, until the server dies.
        let mut writers = Vec::new();
        for w in 0..3 {
            let (c, cookie, acked) = (c.clone(), cookie.clone(), Arc::clone(&acked));
            writers.push(tokio::spawn(async move {
                let deadline = Instant::now() + Duration::from_secs(5);
                let mut n = 0;
                while Instant::now() < deadline && n < 500 {
                    n += 1;
                    let name = format!("Durable {cycle}-{w}-{n}");
                    let body =
                        format!("{{\"name\":\"{name}\",\"notes\":\"written in cycle {cycle}\"}}");
                    let Ok(tls) = c.tls().await else { return };
                    let Ok((mut sender, conn)) =
                        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                            .await
                    else {
                        return;
                    };
                    tokio::spawn(conn);
                    let req = hyper::Request::post("/api/v1/clients")
                        .header("host", "localhost")
                        .header("content-type", "application/json")
                        .header("cookie", &cookie)
                        .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
                        .unwrap();
                    let Ok(resp) = sender.send_request(req).await else {
                        return;
                    };
                    if resp.status().as_u16() != 201 {
                        return;
                    }
                    let Ok(bytes) = http_body_util::BodyExt::collect(resp.into_body())
                        .await
                        .map(|b| b.to_bytes())
                    else {
                        return;
                    };
                    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    acked
                        .lock()
                        .unwrap()
                        .push((v["id"].as_i64().unwrap(), name));
                }
            }));
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = 40 + (seed >> 33) % 400;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        nix::sys::signal::kill(server.pid(), nix::sys::signal::Signal::SIGKILL).unwrap();
        for w in writers {
            let _ = w.await;
        }
        drop(server);
    }
    let total = acked.lock().unwrap().len();
    assert!(
        total > CYCLES,
        "the writers got too few writes through ({total}) for the test to mean anything"
    );
    let report = holdfast(d, &["doctor"]);
    assert!(
        text(&report.stdout)
            .lines()
            .any(|l| l.starts_with("OK") && l.contains("instance default")),
        "{}",
        text(&report.stdout)
    );
    // A final check after a clean start: every acknowledged write, by id and content.
    let server = Server::start(d);
    let c = server.client();
    let (cookie, _) = api_sign_in(&c, "writer", PASSWORD).await;
    let all = acked.lock().unwrap().clone();
    for (id, name) in &all {
        let r = c
            .request(
                "GET",
                "localhost",
                &format!("/api/v1/clients/{id}"),
                &[("cookie", &cookie)],
                b"",
            )
            .await;
        assert!(
            r.status == 200 && r.body.contains(name.as_str()),
            "client {id} ({name}) lost"
        );
    }
    assert!(server.stop().success());
}
