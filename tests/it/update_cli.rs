//! `holdfast update verify|status` on the real binary, with bundles made by the real vendor tool.

use crate::app::console_command;
use crate::support::*;
use std::path::Path;
use std::process::Command;

/// A holdfast.toml in `d` that trusts the vendor keys in `trusted`, as a `--config` argument.
fn config_trusting(d: &Path, trusted: &Path) -> String {
    let cfg = d.join("holdfast.toml");
    std::fs::write(
        &cfg,
        format!("[update]\ntrusted_keys_dir = \"{}\"\n", trusted.display()),
    )
    .unwrap();
    cfg.display().to_string()
}

#[test]
fn verify_accepts_a_signed_bundle_and_refuses_a_tampered_one() {
    let dir = data_dir();
    let d = dir.path();
    assert!(holdfast(d, &["init"]).status.success());
    let (keys, trusted) = vendor_keys();
    let cfg_s = config_trusting(d, trusted.path());
    let deb = tiny_deb(
        d,
        "0.2.0",
        &b"#!/bin/sh\n# a package body for the test\n".repeat(100),
    );
    let bundle = d.join("holdfast-0.2.0.hfu");
    let out = Command::new(RELEASE)
        .args(["bundle", "--key"])
        .arg(keys.path().join("release.key"))
        .args([
            "--version",
            "0.2.0",
            "--min-from",
            "0.1.0",
            "--allow-version-mismatch",
            "--deb",
        ])
        .arg(&deb)
        .arg("--out")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bundle_s = bundle.display().to_string();

    let ok = holdfast(d, &["--config", &cfg_s, "update", "verify", &bundle_s]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains("bundle OK") && text(&ok.stdout).contains("0.2.0"),
        "{}",
        text(&ok.stdout)
    );

    // The SBOM summary, and the SBOM itself exactly as signed into the bundle.
    let summary = text(&ok.stdout);
    let line = summary
        .lines()
        .find(|l| l.trim_start().starts_with("SBOM CycloneDX 1.6: "))
        .unwrap_or_else(|| panic!("no SBOM line: {summary}"));
    let sbom = holdfast(
        d,
        &["--config", &cfg_s, "update", "verify", &bundle_s, "--sbom"],
    );
    assert!(sbom.status.success(), "{}", text(&sbom.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&sbom.stdout).unwrap();
    let count = doc["components"].as_array().unwrap().len();
    assert!(
        line.contains(&format!(": {count} components of holdfast ")),
        "{line}"
    );
    let raw = std::fs::read(&bundle).unwrap();
    assert!(raw.windows(sbom.stdout.len()).any(|w| w == sbom.stdout));

    // One byte of the SBOM changed: refused, and --sbom prints nothing.
    let at = raw
        .windows(13)
        .position(|w| w == b"\"bomFormat\": ")
        .unwrap()
        + 14;
    let mut altered = raw.clone();
    altered[at] ^= 0x20;
    let bad_sbom = d.join("sbom-altered.hfu");
    std::fs::write(&bad_sbom, &altered).unwrap();
    let out = holdfast(
        d,
        &[
            "--config",
            &cfg_s,
            "update",
            "verify",
            &bad_sbom.display().to_string(),
            "--sbom",
        ],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("the SBOM does not match the signed manifest"),
        "{}",
        text(&out.stderr)
    );

    let payload_dir = d.join("payload");
    let ex = holdfast(
        d,
        &[
            "--config",
            &cfg_s,
            "update",
            "extract",
            &bundle_s,
            "--to",
            &payload_dir.display().to_string(),
        ],
    );
    assert!(ex.status.success(), "{}", text(&ex.stderr));
    assert_eq!(
        std::fs::read(payload_dir.join("holdfast_0.2.0_amd64.deb")).unwrap(),
        std::fs::read(&deb).unwrap()
    );

    // One flipped byte in the payload: refused, with a reason.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 1;
    let bad = d.join("tampered.hfu");
    std::fs::write(&bad, &bytes).unwrap();
    let refused = holdfast(
        d,
        &[
            "--config",
            &cfg_s,
            "update",
            "verify",
            &bad.display().to_string(),
        ],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("refused"),
        "{}",
        text(&refused.stderr)
    );

    // Without the vendor key in the trusted directory, the same good bundle is refused.
    let plain = holdfast(d, &["update", "verify", &bundle_s]);
    assert!(
        !plain.status.success(),
        "a bundle signed by an untrusted key was accepted"
    );

    let status = text(&holdfast(d, &["--config", &cfg_s, "update", "status"]).stdout);
    assert!(
        status.contains("accepted") && status.contains("refused"),
        "{status}"
    );
    let log = text(&holdfast(d, &["admin", "audit", "--json"]).stdout);
    assert!(
        log.contains("update_verified") && log.contains("update_refused"),
        "{log}"
    );
}

/// Defect from the operator drill: once the master key is sealed in a systemd credential only
/// the service receives, the console could not open the instances and no update event reached the
/// security log (0 of 14). The console now hands its events to the running service, which records
/// each exactly once.
#[test]
fn update_events_reach_the_security_log_when_only_the_service_has_the_key() {
    let dir = data_dir();
    let d = dir.path();
    assert!(holdfast(d, &["init"]).status.success());
    let (keys, trusted) = vendor_keys();
    let cfg_s = config_trusting(d, trusted.path());
    // Sealed: the key leaves the data dir; only the server is given it, as systemd would.
    let creds = data_dir();
    std::fs::rename(
        d.join("keys/master.key"),
        creds.path().join("holdfast-master"),
    )
    .unwrap();
    let cred_env = ("CREDENTIALS_DIRECTORY", creds.path().display().to_string());
    let server = Server::launch(
        d,
        Launch {
            args: vec!["--config".into(), cfg_s.clone()],
            env: vec![cred_env.clone()],
            ..Default::default()
        },
    )
    .unwrap();

    let deb = tiny_deb(d, "0.2.0", b"#!/bin/sh\n");
    let bundle = d.join("holdfast-0.2.0.hfu");
    let out = Command::new(RELEASE)
        .args(["bundle", "--key"])
        .arg(keys.path().join("release.key"))
        .args(["--version", "0.2.0", "--allow-version-mismatch", "--deb"])
        .arg(&deb)
        .arg("--out")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let garbage = d.join("garbage.hfu");
    std::fs::write(&garbage, b"HFUPDATE not really").unwrap();

    // The operator's console has no key.
    let ok = holdfast(
        d,
        &[
            "--config",
            &cfg_s,
            "update",
            "verify",
            bundle.to_str().unwrap(),
        ],
    );
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let refused = holdfast(
        d,
        &[
            "--config",
            &cfg_s,
            "update",
            "verify",
            garbage.to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success());

    // The service records both within its poll; read back through the credential, as the docs
    // show (systemd-run with LoadCredentialEncrypted does the same).
    let audit = || {
        let mut cmd = console_command(Path::new(BIN), d, Some(Path::new(&cfg_s)));
        cmd.env(cred_env.0, &cred_env.1)
            .args(["admin", "audit", "--json"]);
        let out = crate::app::run_with_stdin(cmd, "");
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let log = loop {
        let log = audit();
        if log.contains("update_verified") && log.contains("update_refused") {
            break log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the handed-over events never reached the security log: {log}\n{}",
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(log.contains("handed_over_at"), "{log}");
    assert_eq!(log.matches("update_verified").count(), 1, "{log}");
    assert!(
        !d.join("update/audit-handover.jsonl").exists()
            && !d.join("update/audit-handover.taking").exists()
    );
    let mut cmd = console_command(Path::new(BIN), d, Some(Path::new(&cfg_s)));
    cmd.env(cred_env.0, &cred_env.1)
        .args(["admin", "audit", "verify"]);
    let chain = crate::app::run_with_stdin(cmd, "");
    assert!(chain.status.success(), "{}", text(&chain.stderr));
    assert!(server.stop().success());
}

/// Defect from the package check's schema drill (packaging/ci-package-check.sh): the console that
/// runs an update is the release installed when it started, and after the update switched releases
/// that is not the release of the data. To write its security-log event it opened the `default`
/// instance, and opening migrates: a newer release's `rollback --discard-changes` migrated the
/// restored databases again under the old server (which then refused them at its next start), and
/// an older release's `apply` could not open the newer schema and lost the event. The console now
/// migrates nothing for the log: a database at another schema than its own gets the event through
/// the service. Both cases are made here by changing the schema the database records.
#[test]
fn an_update_console_of_another_schema_migrates_nothing_and_hands_its_events_to_the_service() {
    let dir = data_dir();
    let d = dir.path();
    assert!(holdfast(d, &["init"]).status.success());
    let (keys, trusted) = vendor_keys();
    let cfg_s = config_trusting(d, trusted.path());
    let deb = tiny_deb(d, "0.2.0", b"#!/bin/sh\n");
    let bundle = d.join("holdfast-0.2.0.hfu");
    let out = Command::new(RELEASE)
        .args(["bundle", "--key"])
        .arg(keys.path().join("release.key"))
        .args(["--version", "0.2.0", "--allow-version-mismatch", "--deb"])
        .arg(&deb)
        .arg("--out")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let server = Server::launch(
        d,
        Launch {
            args: vec!["--config".into(), cfg_s.clone()],
            ..Default::default()
        },
    )
    .unwrap();

    // The database as a release of another schema leaves it, changed with SQLite itself.
    let (master, _) = holdfast::keys::load(d, false).unwrap();
    let inst = holdfast::instances::open(d, &master, "default", Default::default()).unwrap();
    let key = inst.db_key.to_hex();
    let db = rusqlite::Connection::open(inst.dir.join("db.sqlite")).unwrap();
    drop(inst);
    db.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.expose()))
        .unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let recorded = || -> i64 {
        db.query_row("SELECT max(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let latest = holdfast::storage::LATEST_SCHEMA_VERSION;
    assert_eq!(recorded(), latest);
    let verify = || {
        let out = holdfast(
            d,
            &[
                "--config",
                &cfg_s,
                "update",
                "verify",
                bundle.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    let taken_in = || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while d.join("update/audit-handover.jsonl").exists()
            || d.join("update/audit-handover.taking").exists()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the service never took the handed-over event in: {}",
                server.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };

    // One schema older: what a newer release's rollback finds once the snapshot is back.
    let (name, at): (String, String) = db
        .query_row(
            "SELECT name, applied_at FROM schema_migrations WHERE version = ?1",
            [latest],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    db.execute("DELETE FROM schema_migrations WHERE version = ?1", [latest])
        .unwrap();
    verify();
    assert_eq!(recorded(), latest - 1, "the console migrated the database");
    taken_in();
    db.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
        rusqlite::params![latest, name, at],
    )
    .unwrap();

    // One schema newer: what an older release's apply finds once the new release has migrated.
    db.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, 'next', 'x')",
        [latest + 1],
    )
    .unwrap();
    verify();
    assert_eq!(recorded(), latest + 1);
    taken_in();
    db.execute(
        "DELETE FROM schema_migrations WHERE version = ?1",
        [latest + 1],
    )
    .unwrap();

    // Both events reached the security log, each through the service.
    let log = text(&holdfast(d, &["admin", "audit", "--json"]).stdout);
    let verified: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("update_verified"))
        .collect();
    assert_eq!(verified.len(), 2, "{log}");
    assert!(
        verified.iter().all(|l| l.contains("handed_over_at")),
        "{log}"
    );
    assert!(server.stop().success());
}
