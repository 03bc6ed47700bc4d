//! fail2ban against the lines a real server wrote: every refused sign-in (wrong password, unknown
//! name, throttled address) is one line the shipped filter matches, with the client's address, and
//! nothing the person typed is in the log; and the shipped jail loads in fail2ban with that filter.

use crate::app::TestApp;
use crate::metrics::failed_sign_in;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const ALICE_PW: &str = "velvet horse battery staple 42";
const TYPED_PW: &str = "Typed-Secret-Guess-99";

/// fail2ban-regex's count of matched lines of `log` under `filter`.
fn matched(log: &Path, filter: &Path) -> (usize, String) {
    let out = Command::new("fail2ban-regex")
        .arg(log)
        .arg(filter)
        .output()
        .expect("fail2ban-regex (apt-get install fail2ban; tests/run installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    // "Lines: 40 lines, 0 ignored, 17 matched, 23 missed"
    let n = text
        .lines()
        .find(|l| l.starts_with("Lines:"))
        .and_then(|l| l.split(", ").find(|p| p.ends_with(" matched")))
        .and_then(|p| p.trim_end_matches(" matched").parse().ok())
        .unwrap_or_else(|| panic!("no match count in:\n{text}"));
    (n, text)
}

#[tokio::test]
async fn fail2ban_filter_matches_every_refused_sign_in_the_server_logged() {
    let app = TestApp::builder().start();
    app.add_user("alice", &[], ALICE_PW);
    let mut sent = 0;
    for _ in 0..3 {
        assert_eq!(failed_sign_in(&app.client, "alice", TYPED_PW).await, 401);
        assert_eq!(failed_sign_in(&app.client, TYPED_PW, TYPED_PW).await, 401);
        sent += 2;
    }
    // A second client host keeps failing until its address is throttled (10 in a burst); the
    // throttled attempts are refusals too.
    let other: IpAddr = "127.0.0.2".parse().unwrap();
    let attacker = app.client.with_source(other);
    let mut throttled = false;
    for _ in 0..40 {
        sent += 1;
        if failed_sign_in(&attacker, "admin", TYPED_PW).await == 429 {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "the throttle never refused 127.0.0.2");

    // The lines are written as the answers go out; wait (bounded) until all are there.
    let refusals = |log: &str| log.matches("sign-in refused:").count();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while refusals(&app.server.log()) < sent && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = app.server.log();
    assert_eq!(refusals(&log), sent, "{log}");
    assert!(
        log.contains("address=127.0.0.2 step=password reason=throttled"),
        "{log}"
    );
    // Neither the typed password nor the typed names reach the log.
    assert!(!log.contains(TYPED_PW), "{log}");
    assert!(!log.contains("alice"), "{log}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("holdfast.log");
    std::fs::write(&file, &log).unwrap();
    let filter = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/fail2ban/holdfast.conf");
    let (n, report) = matched(&file, &filter);
    assert_eq!(n, sent, "{report}");
}

/// Copies of the system's fail2ban configuration with the shipped filter and jail installed as
/// the packaging comments say (Debian's default sshd jail left out: it needs a log this
/// machine may not have).
fn fail2ban_config_with(jail: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copied = Command::new("cp")
        .arg("-r")
        .arg("/etc/fail2ban/.")
        .arg(dir.path())
        .status()
        .expect("cp");
    assert!(copied.success(), "/etc/fail2ban (apt-get install fail2ban)");
    let _ = std::fs::remove_file(dir.path().join("jail.d/defaults-debian.conf"));
    let packaging = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/fail2ban");
    std::fs::copy(
        packaging.join("holdfast.conf"),
        dir.path().join("filter.d/holdfast.conf"),
    )
    .unwrap();
    std::fs::write(dir.path().join("jail.d/holdfast.local"), jail).unwrap();
    dir
}

/// `fail2ban-client --test` on a configuration: (passed, what it said).
fn fail2ban_test(dir: &Path) -> (bool, String) {
    let out = Command::new("fail2ban-client")
        .arg("-c")
        .arg(dir)
        .arg("--test")
        .output()
        .expect("fail2ban-client (apt-get install fail2ban)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_shipped_jail_loads_in_fail2ban_with_its_filter_and_the_journal() {
    let jail = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/fail2ban/holdfast.local"),
    )
    .unwrap();
    let dir = fail2ban_config_with(&jail);
    let (ok, said) = fail2ban_test(dir.path());
    assert!(ok, "{said}");
    // What fail2ban would run: the jail on the journal of holdfast's unit, with the filter.
    let dump = Command::new("fail2ban-client")
        .arg("-c")
        .arg(dir.path())
        .arg("-d")
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&dump.stdout).into_owned();
    for part in [
        "['add', 'holdfast', 'systemd']",
        "'addjournalmatch', '_SYSTEMD_UNIT=holdfast.service'",
        "sign-in refused: address=<ADDR>",
    ] {
        assert!(dump.contains(part), "missing {part}:\n{dump}");
    }
    // The check can fail: a jail naming a filter that is not there is refused.
    let broken = jail.replace("filter   = holdfast\n", "filter   = holdfast-missing\n");
    assert_ne!(broken, jail, "the jail's filter line changed form");
    let (ok, said) = fail2ban_test(fail2ban_config_with(&broken).path());
    assert!(!ok, "{said}");
}
