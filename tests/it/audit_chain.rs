//! The security-log chain against someone who holds the database key (issue 11, defect 9): they can
//! rewrite an event and recompute every later hash, so plain verification passes; a checkpoint that
//! left the machine (syslog stream, backup archive, console copy) must still catch it.

use crate::app::TestApp;
use crate::support::*;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Collects everything sent to a syslog TCP listener until `stop` is set (or two minutes pass).
fn syslog_sink() -> (u16, Arc<Mutex<Vec<u8>>>, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (g, s) = (Arc::clone(&got), Arc::clone(&stop));
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !s.load(Ordering::Relaxed) && Instant::now() < deadline {
            match listener.accept() {
                Ok((mut sock, _)) => {
                    let g = Arc::clone(&g);
                    sock.set_nonblocking(false).unwrap();
                    sock.set_read_timeout(Some(Duration::from_secs(120)))
                        .unwrap();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = sock.read(&mut buf) {
                            if n == 0 {
                                break;
                            }
                            g.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    });
    (port, got, stop)
}

/// The octet-counted frames (RFC 6587) as one message per line, the way a collector stores them.
fn deframe(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = bytes;
    while let Some(sp) = rest.iter().position(|b| *b == b' ') {
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
        else {
            break;
        };
        let Some(msg) = rest.get(sp + 1..sp + 1 + len) else {
            break;
        };
        out.push_str(&String::from_utf8_lossy(msg));
        out.push('\n');
        rest = &rest[sp + 1 + len..];
    }
    out
}

/// The chain hash as holdfast computes it (the code is public; so is this attack).
fn chain_hash(prev: &str, fields: &[String]) -> String {
    let mut h = Sha256::new();
    for part in std::iter::once(prev).chain(fields.iter().map(String::as_str)) {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// What an insider with the master key does: open the SQLCipher file with its key, drop the
/// append-only trigger, rewrite one event and recompute the hash of it and every later row.
fn rewrite_and_rehash(data_dir: &Path, from_target: &str, to_target: &str) -> i64 {
    let (master, _) = holdfast::keys::load(data_dir, false).unwrap();
    let inst = holdfast::instances::open(data_dir, &master, "default", Default::default()).unwrap();
    // The attacker works on the file with SQLite itself, as holdfast offers no way to edit the log.
    let key = inst.db_key.to_hex();
    let db_path = inst.dir.join("db.sqlite");
    drop(inst);
    let conn = rusqlite::Connection::open(db_path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.expose()))
        .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    let victim = (|| -> rusqlite::Result<i64> {
        let victim: i64 = tx.query_row(
            "SELECT id FROM audit_log WHERE target = ?1 ORDER BY id LIMIT 1",
            [from_target],
            |r| r.get(0),
        )?;
        tx.execute_batch("DROP TRIGGER audit_log_no_update;")?;
        tx.execute(
            "UPDATE audit_log SET target = ?1 WHERE id = ?2",
            rusqlite::params![to_target, victim],
        )?;
        let mut prev: String = tx
            .query_row(
                "SELECT hash FROM audit_log WHERE id < ?1 ORDER BY id DESC LIMIT 1",
                [victim],
                |r| r.get(0),
            )
            .unwrap_or_else(|_| "0".repeat(64));
        let rows: Vec<(i64, Vec<String>)> = tx
            .prepare(
                "SELECT id, at, event, actor, actor_kind, target, source, outcome, details
                     FROM audit_log WHERE id >= ?1 ORDER BY id",
            )?
            .query_map([victim], |r| {
                Ok((
                    r.get(0)?,
                    (1..9)
                        .map(|i| r.get::<_, String>(i))
                        .collect::<Result<Vec<_>, _>>()?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        for (id, fields) in rows {
            let hash = chain_hash(&prev, &fields);
            tx.execute(
                "UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE id = ?3",
                rusqlite::params![prev, hash, id],
            )?;
            prev = hash;
        }
        Ok(victim)
    })()
    .unwrap();
    tx.commit().unwrap();
    victim
}

fn verify_with(dir: &Path, checkpoint: &Path) -> std::process::Output {
    holdfast(
        dir,
        &[
            "admin",
            "audit",
            "verify",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
        ],
    )
}

fn checkpoint_id(json_file: &Path) -> (i64, String) {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json_file).unwrap()).unwrap();
    (
        v["id"].as_i64().unwrap(),
        v["hash"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn a_rewritten_and_rehashed_log_passes_plain_verify_but_not_a_checkpoint() {
    let work = tempfile::tempdir().unwrap();
    let (port, syslog, sink_stop) = syslog_sink();
    let app = TestApp::builder()
        .config(&format!(
            "[audit]\nforward_host = \"127.0.0.1\"\nforward_port = {port}\nforward_tls = false\ncheckpoint_interval_seconds = 1\n"
        ))
        .start();
    let c = app.client.clone();
    for user in ["alice", "bob", "dave"] {
        let body = serde_json::json!({ "username": user, "password": "wrong password 123" });
        let r = c
            .request(
                "POST",
                "localhost",
                "/api/v1/session",
                &[("content-type", "application/json")],
                body.to_string().as_bytes(),
            )
            .await;
        assert_eq!(r.status, 401);
    }
    // Checkpoints reach the collector while the server runs, not only at start and stop.
    let periodic = eventually(Duration::from_secs(60), || {
        let text = deframe(&syslog.lock().unwrap());
        async move { text.contains(r#""checkpoint":"interval""#) }
    })
    .await;
    assert!(
        periodic,
        "no interval checkpoint forwarded: {}",
        deframe(&syslog.lock().unwrap())
    );
    let (status, dir) = app.stop_keep_data();
    assert!(status.success());
    let d = dir.data();
    let stopped = eventually(Duration::from_secs(30), || {
        let text = deframe(&syslog.lock().unwrap());
        async move { text.contains(r#""checkpoint":"stop""#) }
    })
    .await;
    sink_stop.store(true, Ordering::Relaxed);
    let syslog_file = work.path().join("collector.log");
    std::fs::write(&syslog_file, deframe(&syslog.lock().unwrap())).unwrap();
    assert!(
        stopped,
        "no stop checkpoint forwarded: {}",
        std::fs::read_to_string(&syslog_file).unwrap()
    );

    // A checkpoint kept by the admin, and one inside a backup archive.
    let out = holdfast(d, &["admin", "audit", "checkpoint"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let console_file = work.path().join("console.json");
    std::fs::write(&console_file, &out.stdout).unwrap();
    let out = holdfast(d, &["backup", "run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let archive: PathBuf = files_below(&d.join("backups/local"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "hfb"))
        .expect("a backup archive");
    let backup_file = work.path().join("backup.json");
    let out = holdfast(
        d,
        &[
            "backup",
            "verify",
            archive.to_str().unwrap(),
            "--save-checkpoint",
            backup_file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    for cp in [&syslog_file, &console_file, &backup_file] {
        let out = verify_with(d, cp);
        assert!(
            out.status.success(),
            "untouched log refused against {}: {}",
            cp.display(),
            text(&out.stderr)
        );
    }

    // The attack: bob's failed sign-in becomes carol's, and the whole chain is recomputed.
    let victim = rewrite_and_rehash(d, "bob", "carol");

    let out = holdfast(d, &["admin", "audit", "verify"]);
    assert!(
        out.status.success() && text(&out.stdout).contains("intact"),
        "plain verify should be fooled by a recomputed chain (that is why checkpoints exist): {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    for cp in [&console_file, &backup_file] {
        let (id, hash) = checkpoint_id(cp);
        assert!(id > victim, "the checkpoint should cover row {victim}");
        let out = verify_with(d, cp);
        let err = text(&out.stderr);
        eprintln!("verify --checkpoint: {err}");
        assert!(
            !out.status.success(),
            "rewrite not caught by {}",
            cp.display()
        );
        assert!(
            err.contains(&format!("row {id} has hash "))
                && err.contains(&format!("recorded {hash}"))
                && err.contains(&format!("the log was rewritten at or before row {id}")),
            "imprecise message for {}: {err}",
            cp.display()
        );
    }
    let out = verify_with(d, &syslog_file);
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "rewrite not caught by the syslog stream"
    );
    assert!(
        err.contains("has hash ") && err.contains("the log was rewritten at or before row"),
        "imprecise message for the syslog stream: {err}"
    );
}
