//! Encrypted backups end to end: two copies, no plaintext, restore on a fresh data dir, refusal of
//! damaged archives and wrong codes, consistency under writes, retention.

use crate::support::*;
use std::path::Path;

/// A console command that reads the recovery code from standard input, as an operator pipes it
/// (never on the command line, where `ps` shows it).
fn holdfast_code(dir: &Path, args: &[&str], code: &str) -> std::process::Output {
    let mut cmd = crate::app::console_command(Path::new(crate::app::BIN), dir, None);
    cmd.args(args);
    crate::app::run_with_stdin(cmd, &format!("{code}\n"))
}

const PASSWORD: &str = "archival copper meadow 52";

fn add_admin(d: &Path, cfg: &str) {
    add_console_user(Path::new(BIN), d, Some(cfg), "keeper", "admins", PASSWORD);
}

async fn sign_in(c: &Client) -> (String, String) {
    api_sign_in(c, "keeper", PASSWORD).await
}

fn config(d: &Path, dests: &[&Path]) -> String {
    let cfg = d.join("holdfast.toml");
    let list = dests
        .iter()
        .map(|p| format!("\"{}\"", p.display()))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(&cfg, format!("[backup]\ndestinations = [{list}]\n")).unwrap();
    cfg.display().to_string()
}

fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "holdfast-test-boundary-7MA4YWxk";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn two_encrypted_copies_restore_on_a_fresh_machine() {
    let dir = data_dir();
    let d = dir.path();
    let disk_a = data_dir();
    let disk_b = data_dir();
    let cfg = config(d, &[disk_a.path(), disk_b.path()]);
    assert!(holdfast(d, &["--config", &cfg, "init"]).status.success());
    add_admin(d, &cfg);
    let server = Server::launch(
        d,
        Launch {
            args: vec!["--config".into(), cfg.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    let c = server.client();
    let (cookie, csrf) = sign_in(&c).await;
    let json = [
        ("content-type", "application/json"),
        ("cookie", cookie.as_str()),
    ];
    let r = c
        .request(
            "POST",
            "localhost",
            "/api/v1/clients",
            &json,
            br#"{"name":"Quillfeather Archive 9931","notes":"secret ledger note 55"}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = c
        .request(
            "POST",
            "localhost",
            "/api/v1/documents",
            &json,
            br#"{"title":"Charter","client_id":1}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let pdf = b"%PDF-1.4\n% distinctive document body: marmalade-zeppelin-4471\n%%EOF\n".to_vec();
    let (ct, body) = multipart("charter.pdf", &pdf);
    let r = c
        .request(
            "POST",
            "localhost",
            "/api/v1/documents/1/file",
            &[
                ("content-type", ct.as_str()),
                ("cookie", cookie.as_str()),
                ("x-csrf-token", csrf.as_str()),
            ],
            &body,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let out = holdfast(d, &["--config", &cfg, "backup", "run", "--all"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let copies_a = files_below(disk_a.path());
    let copies_b = files_below(disk_b.path());
    assert_eq!(copies_a.len(), 1, "{copies_a:?}");
    assert_eq!(copies_b.len(), 1, "{copies_b:?}");
    let archive = copies_a[0].clone();
    assert!(
        archive
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("holdfast-default-")
    );
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        std::fs::read(&copies_b[0]).unwrap()
    );
    for needle in [
        &b"Quillfeather"[..],
        b"secret ledger",
        b"marmalade-zeppelin",
        b"SQLite format 3",
        b"CREATE TABLE",
    ] {
        assert!(
            !file_contains(&archive, needle),
            "archive contains {:?}",
            String::from_utf8_lossy(needle)
        );
    }
    // No plaintext scratch files were left behind in the data dir either.
    for f in files_below(d) {
        assert!(
            !file_contains(&f, b"Quillfeather"),
            "{} holds plaintext",
            f.display()
        );
    }

    let verify = holdfast(
        d,
        &[
            "--config",
            &cfg,
            "backup",
            "verify",
            archive.to_str().unwrap(),
        ],
    );
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    assert!(
        text(&verify.stdout).contains("OK"),
        "{}",
        text(&verify.stdout)
    );
    let code = text(&holdfast(d, &["--config", &cfg, "backup", "export-key"]).stdout)
        .trim()
        .to_string();
    assert!(code.starts_with("HF1-"), "{code}");
    assert!(server.stop().success());

    // A new machine: empty data dir, only the archive and the recovery code.
    let fresh = data_dir();
    let f = fresh.path();
    let out = holdfast_code(f, &["restore", archive.to_str().unwrap()], &code);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let server = Server::start(f);
    let c = server.client();
    let (cookie, _) = sign_in(&c).await;
    let r = c
        .request(
            "GET",
            "localhost",
            "/api/v1/clients/1",
            &[("cookie", cookie.as_str())],
            b"",
        )
        .await;
    assert!(
        r.body.contains("Quillfeather Archive 9931") && r.body.contains("secret ledger note 55"),
        "{}",
        r.body
    );
    let r = c
        .request(
            "GET",
            "localhost",
            "/api/v1/documents/1/file",
            &[("cookie", cookie.as_str())],
            b"",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body.as_bytes(),
        &pdf[..],
        "the document came back different"
    );
    assert!(server.stop().success());
}

#[test]
fn damaged_archives_and_wrong_codes_are_refused_and_change_nothing() {
    let dir = data_dir();
    let d = dir.path();
    let disk = data_dir();
    let cfg = config(d, &[disk.path()]);
    assert!(holdfast(d, &["--config", &cfg, "init"]).status.success());
    let out = holdfast(d, &["--config", &cfg, "backup", "run", "--all"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let archive = files_below(disk.path()).remove(0);
    let good = std::fs::read(&archive).unwrap();
    let code = text(&holdfast(d, &["--config", &cfg, "backup", "export-key"]).stdout)
        .trim()
        .to_string();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x20;
    let truncated = good[..good.len() - 7].to_vec();
    let mut appended = good.clone();
    appended.extend_from_slice(&good[good.len() - 64..]);
    let cases: [(&str, Vec<u8>); 3] = [
        ("flipped", flipped),
        ("truncated", truncated),
        ("appended", appended),
    ];
    for (what, bytes) in cases {
        let p = d.join(format!("{what}.hfb"));
        std::fs::write(&p, &bytes).unwrap();
        let v = holdfast(
            d,
            &["--config", &cfg, "backup", "verify", p.to_str().unwrap()],
        );
        assert!(!v.status.success(), "{what} archive passed verification");
        let fresh = data_dir();
        let r = holdfast_code(fresh.path(), &["restore", p.to_str().unwrap()], &code);
        assert!(!r.status.success(), "{what} archive was restored");
        assert!(
            text(&r.stderr).contains("nothing was changed"),
            "{what}: {}",
            text(&r.stderr)
        );
        assert!(
            instance_dirs(fresh.path()).is_empty(),
            "{what}: a half-restored instance was left behind"
        );
    }
    // A valid code of another key, and a typo.
    let other = data_dir();
    assert!(holdfast(other.path(), &["init"]).status.success());
    let wrong = text(&holdfast(other.path(), &["backup", "export-key"]).stdout)
        .trim()
        .to_string();
    let fresh = data_dir();
    let r = holdfast_code(
        fresh.path(),
        &["restore", archive.to_str().unwrap()],
        &wrong,
    );
    assert!(
        !r.status.success() && text(&r.stderr).contains("recovery code does not open"),
        "{}",
        text(&r.stderr)
    );
    let mut typo = code.clone();
    typo.replace_range(5..6, if &code[5..6] == "A" { "B" } else { "A" });
    let r = holdfast_code(fresh.path(), &["restore", archive.to_str().unwrap()], &typo);
    assert!(
        !r.status.success() && text(&r.stderr).contains("typo"),
        "{}",
        text(&r.stderr)
    );
    assert!(instance_dirs(fresh.path()).is_empty());
}

fn instance_dirs(d: &Path) -> Vec<String> {
    std::fs::read_dir(d.join("instances"))
        .map(|e| {
            e.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn backup_during_writes_is_consistent_and_restore_refuses_a_running_server() {
    let dir = data_dir();
    let d = dir.path();
    let disk = data_dir();
    let cfg = config(d, &[disk.path()]);
    assert!(holdfast(d, &["--config", &cfg, "init"]).status.success());
    add_admin(d, &cfg);
    let server = Server::launch(
        d,
        Launch {
            args: vec!["--config".into(), cfg.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    let c = server.client();
    let (cookie, _) = sign_in(&c).await;
    let writer = {
        let (c, cookie) = (c.clone(), cookie.clone());
        tokio::spawn(async move {
            let mut ok = 0;
            for i in 0..300 {
                let body = format!("{{\"name\":\"Steady writer {i}\"}}");
                let r = c
                    .request(
                        "POST",
                        "localhost",
                        "/api/v1/clients",
                        &[
                            ("content-type", "application/json"),
                            ("cookie", cookie.as_str()),
                        ],
                        body.as_bytes(),
                    )
                    .await;
                if r.status == 201 {
                    ok += 1;
                }
            }
            ok
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let out = tokio::task::spawn_blocking({
        let (d, cfg) = (d.to_path_buf(), cfg.clone());
        move || holdfast(&d, &["--config", &cfg, "backup", "run", "--all"])
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = writer.await.unwrap();
    assert!(written > 0);
    let archive = files_below(disk.path()).remove(0);
    let v = holdfast(
        d,
        &[
            "--config",
            &cfg,
            "backup",
            "verify",
            archive.to_str().unwrap(),
        ],
    );
    assert!(
        v.status.success(),
        "a backup taken during writes is not consistent: {}",
        text(&v.stderr)
    );
    let code = text(&holdfast(d, &["--config", &cfg, "backup", "export-key"]).stdout)
        .trim()
        .to_string();
    // Replacing the instance of a running server is refused: it would keep the old database open.
    let r = holdfast_code(
        d,
        &[
            "--config",
            &cfg,
            "--instance",
            "default",
            "restore",
            archive.to_str().unwrap(),
        ],
        &code,
    );
    assert!(
        !r.status.success() && text(&r.stderr).contains("stop it"),
        "{}",
        text(&r.stderr)
    );
    assert!(server.stop().success());
    let r = holdfast_code(
        d,
        &[
            "--config",
            &cfg,
            "--instance",
            "default",
            "restore",
            archive.to_str().unwrap(),
        ],
        &code,
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(text(&r.stdout).contains("kept in"), "{}", text(&r.stdout));
}

/// Retention applies to what the schedule made. Defect from the operator drill: archives made by
/// hand the same day, and those an update took, were pruned at the next run; now they stay until
/// the operator prunes them explicitly (`backup prune --kept-older-than DAYS`).
#[test]
fn retention_keeps_exactly_the_daily_weekly_and_monthly_archives_and_never_the_kept_ones() {
    let dir = data_dir();
    let d = dir.path();
    let disk = data_dir();
    let cfg = d.join("holdfast.toml");
    std::fs::write(&cfg, format!("[backup]\ndestinations = [\"{}\"]\nkeep_daily = 2\nkeep_weekly = 1\nkeep_monthly = 2\n", disk.path().display())).unwrap();
    let cfg = cfg.display().to_string();
    assert!(holdfast(d, &["--config", &cfg, "init"]).status.success());
    // Old scheduled archives, one a day for ~90 days before today (contents do not matter for
    // retention), and one made by hand and one before an update, 60 days ago.
    let today = chrono::Utc::now().date_naive();
    for back in 1..=90u64 {
        let day = today - chrono::Days::new(back);
        let name = format!("holdfast-default-{}T023000Z.hfb", day.format("%Y%m%d"));
        std::fs::write(disk.path().join(name), b"old").unwrap();
    }
    let sixty = (today - chrono::Days::new(60)).format("%Y%m%d").to_string();
    let by_hand = format!("holdfast-default-{sixty}T120000Z.hand.hfb");
    let before_update = format!("holdfast-default-{sixty}T130000Z.update.hfb");
    std::fs::write(disk.path().join(&by_hand), b"old").unwrap();
    std::fs::write(disk.path().join(&before_update), b"old").unwrap();
    let names = || -> Vec<String> {
        files_below(disk.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };

    // A run by hand: its own archive is marked as such, and retention spares every kept one.
    let out = holdfast(d, &["--config", &cfg, "backup", "run", "--all"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let left = names();
    assert!(
        left.contains(&by_hand) && left.contains(&before_update),
        "{left:?}"
    );
    let todays: Vec<&String> = left
        .iter()
        .filter(|n| n.ends_with(".hand.hfb") && **n != by_hand)
        .collect();
    assert_eq!(todays.len(), 1, "{left:?}");
    let scheduled: Vec<&String> = left
        .iter()
        .filter(|n| !n.ends_with(".hand.hfb") && !n.ends_with(".update.hfb"))
        .collect();
    // Yesterday's and the day before's are the two dailies; the newest of this week is yesterday's;
    // the newest of this month and of the month before make the monthlies (some coincide).
    let yesterday = (today - chrono::Days::new(1)).format("%Y%m%d").to_string();
    assert!(scheduled.iter().any(|n| n.contains(&yesterday)), "{left:?}");
    assert!(
        (2..=3).contains(&scheduled.len()),
        "unexpected set kept: {left:?}"
    );
    let removed = text(&out.stdout).matches("retention: removed").count();
    assert_eq!(removed, 90 - scheduled.len(), "{}", text(&out.stdout));
    let list = text(&holdfast(d, &["--config", &cfg, "backup", "list"]).stdout);
    assert!(
        list.contains("(by hand, kept)") && list.contains("(before an update, kept)"),
        "{list}"
    );

    // The scheduled run's rule again: nothing more to remove, the kept ones stay.
    let out = holdfast(d, &["--config", &cfg, "backup", "prune"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("0 archive(s) removed"),
        "{}",
        text(&out.stdout)
    );
    // Zero days is refused: it would delete the archive just made.
    let out = holdfast(
        d,
        &[
            "--config",
            &cfg,
            "backup",
            "prune",
            "--kept-older-than",
            "0",
        ],
    );
    assert!(!out.status.success());
    assert_eq!(names(), left);
    // The explicit prune removes the kept archives older than 30 days, not today's.
    let out = holdfast(
        d,
        &[
            "--config",
            &cfg,
            "backup",
            "prune",
            "--kept-older-than",
            "30",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2 archive(s) removed"),
        "{}",
        text(&out.stdout)
    );
    let after = names();
    assert!(
        !after.contains(&by_hand) && !after.contains(&before_update),
        "{after:?}"
    );
    assert!(after.contains(todays[0]), "{after:?}");
    assert_eq!(after.len(), left.len() - 2);
}

#[test]
fn a_failing_destination_is_reported_and_the_other_still_gets_its_copy() {
    let dir = data_dir();
    let d = dir.path();
    let good = data_dir();
    // A regular file where a directory should be: like a share that is not mounted correctly.
    let broken = d.join("not-a-directory");
    std::fs::write(&broken, b"x").unwrap();
    let cfg = config(d, &[good.path(), &broken]);
    assert!(holdfast(d, &["--config", &cfg, "init"]).status.success());
    let out = holdfast(d, &["--config", &cfg, "backup", "run", "--all"]);
    assert!(
        !out.status.success(),
        "a failed destination must fail the command"
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        said.contains("FAILED") && said.contains("not-a-directory"),
        "{said}"
    );
    assert_eq!(
        files_below(good.path()).len(),
        1,
        "the healthy destination lost its copy"
    );
    let status = std::fs::read_to_string(d.join("backups/status.json")).unwrap();
    assert!(status.contains("last_error"), "{status}");
}

#[test]
fn every_instance_keeps_its_own_archives() {
    let dir = data_dir();
    let d = dir.path();
    let disk = data_dir();
    let cfg = config(d, &[disk.path()]);
    assert!(holdfast(d, &["--config", &cfg, "init"]).status.success());
    let out = holdfast(
        d,
        &[
            "--config",
            &cfg,
            "instance",
            "create",
            "records-2",
            "--hostname",
            "records.test",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = holdfast(d, &["--config", &cfg, "backup", "run", "--all"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let names: Vec<String> = files_below(disk.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("holdfast-default-")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("holdfast-records-2-")),
        "{names:?}"
    );
    // A restore over an existing instance while the server runs is refused even without --instance.
    let server = Server::launch(
        d,
        Launch {
            args: vec!["--config".into(), cfg.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    let code = text(&holdfast(d, &["--config", &cfg, "backup", "export-key"]).stdout)
        .trim()
        .to_string();
    let archive = disk.path().join(
        names
            .iter()
            .find(|n| n.starts_with("holdfast-default-"))
            .unwrap(),
    );
    let r = holdfast_code(
        d,
        &["--config", &cfg, "restore", archive.to_str().unwrap()],
        &code,
    );
    assert!(
        !r.status.success() && text(&r.stderr).contains("running"),
        "{}",
        text(&r.stderr)
    );
    // Under a new name it is allowed, and the copy does not take over the original's host names.
    let r = holdfast_code(
        d,
        &[
            "--config",
            &cfg,
            "--instance",
            "copy",
            "restore",
            archive.to_str().unwrap(),
        ],
        &code,
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(server.stop().success());
}

/// Defect from the operator drill: `restore --recovery-code CODE` was the only way in, so the
/// code sat in `ps` and the shell history. Now it comes from standard input or a file; the old
/// flag still works but warns, and an empty or oversized input is refused without a change.
#[test]
fn the_recovery_code_comes_from_stdin_or_a_file_never_only_from_the_command_line() {
    let dir = data_dir();
    let d = dir.path();
    let disk = data_dir();
    let cfg = config(d, &[disk.path()]);
    assert!(holdfast(d, &["--config", &cfg, "init"]).status.success());
    let out = holdfast(d, &["--config", &cfg, "backup", "run", "--all"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let archive = files_below(disk.path()).remove(0);
    let a = archive.to_str().unwrap();
    let code = text(&holdfast(d, &["--config", &cfg, "backup", "export-key"]).stdout)
        .trim()
        .to_string();

    // Nothing piped in: refused, nothing restored.
    let fresh = data_dir();
    let r = holdfast_code(fresh.path(), &["restore", a], "");
    assert!(
        !r.status.success() && text(&r.stderr).contains("no recovery code was given"),
        "{}",
        text(&r.stderr)
    );
    assert!(instance_dirs(fresh.path()).is_empty());

    // A file that is not a code (too large) is refused before anything else.
    let big = d.join("big.txt");
    std::fs::write(&big, "x".repeat(10_000)).unwrap();
    let r = holdfast(
        fresh.path(),
        &["restore", a, "--recovery-code-file", big.to_str().unwrap()],
    );
    assert!(
        !r.status.success() && text(&r.stderr).contains("that is not a recovery code"),
        "{}",
        text(&r.stderr)
    );
    assert!(instance_dirs(fresh.path()).is_empty());

    // From a file (mode 0600, as the docs show): restored, and the argv holds only the path.
    let code_file = d.join("code.txt");
    std::fs::write(&code_file, format!("{code}\n")).unwrap();
    let r = holdfast(
        fresh.path(),
        &[
            "restore",
            a,
            "--recovery-code-file",
            code_file.to_str().unwrap(),
        ],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(!text(&r.stderr).contains("warning"), "{}", text(&r.stderr));
    assert_eq!(instance_dirs(fresh.path()).len(), 1);

    // The old flag still restores, with a warning saying why not to use it.
    let other = data_dir();
    let r = holdfast(other.path(), &["restore", a, "--recovery-code", &code]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr)
            .contains("warning: --recovery-code puts the recovery code in the process list"),
        "{}",
        text(&r.stderr)
    );

    // `backup verify` of an archive from elsewhere takes the code the same way.
    let elsewhere = data_dir();
    assert!(holdfast(elsewhere.path(), &["init"]).status.success());
    let r = holdfast_code(
        elsewhere.path(),
        &["backup", "verify", a, "--recovery-code-file", "-"],
        &code,
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(text(&r.stdout).contains("OK"), "{}", text(&r.stdout));
}
