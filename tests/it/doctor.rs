//! `holdfast doctor`'s socket-unit check: the address the installed `holdfast.socket` (with its
//! drop-ins) listens on must be `listen` in holdfast.toml; read under a test root
//! (`--systemd-root`), never the machine's own /etc or /lib.

use crate::app::console_command;
use crate::support::*;
use std::path::Path;

const SHIPPED: &str = include_str!("../../systemd/holdfast.socket");

fn doctor(d: &Path, config: &Path, root: &Path) -> (bool, String) {
    let mut cmd = console_command(Path::new(BIN), d, Some(config));
    cmd.arg("doctor").arg("--systemd-root").arg(root);
    let out = crate::app::run_with_stdin(cmd, "");
    (out.status.success(), text(&out.stdout))
}

fn line(report: &str) -> String {
    report
        .lines()
        .find(|l| l.contains(" socket unit: "))
        .unwrap_or_else(|| panic!("no socket unit line: {report}"))
        .to_string()
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn doctor_fails_when_the_socket_unit_and_listen_name_different_addresses() {
    let dir = data_dir();
    let d = dir.path();
    let conf_dir = tempfile::tempdir().unwrap();
    let config = conf_dir.path().join("holdfast.toml");
    std::fs::write(&config, "[server]\nlisten = \"0.0.0.0:443\"\n").unwrap();
    let mut init = console_command(Path::new(BIN), d, Some(&config));
    init.arg("init");
    let out = crate::app::run_with_stdin(init, "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let root = tempfile::tempdir().unwrap();
    let r = root.path();

    // A binary install: no socket unit, nothing to disagree with.
    let (ok, report) = doctor(d, &config, r);
    assert!(ok, "{report}");
    assert!(line(&report).starts_with("OK") && line(&report).contains("binary install"));

    // The package's unit says what the package's holdfast.toml says.
    write(r, "lib/systemd/system/holdfast.socket", SHIPPED);
    let (ok, report) = doctor(d, &config, r);
    assert!(ok, "{report}");
    assert!(
        line(&report).starts_with("OK") && line(&report).contains("0.0.0.0:443"),
        "{report}"
    );

    // `systemctl edit holdfast.socket` moved the socket; holdfast.toml was left behind.
    write(
        r,
        "etc/systemd/system/holdfast.socket.d/override.conf",
        "[Socket]\nListenStream=\nListenStream=127.0.0.2:8443\n",
    );
    let (ok, report) = doctor(d, &config, r);
    assert!(!ok, "a mismatch passed: {report}");
    let l = line(&report);
    assert!(l.starts_with("FAIL"), "{l}");
    for named in [
        "127.0.0.2:8443",
        "0.0.0.0:443",
        "override.conf",
        &config.display().to_string(),
        "systemctl edit holdfast.socket",
        "systemctl restart holdfast.socket holdfast.service",
    ] {
        assert!(l.contains(named), "{named} not named: {l}");
    }

    // Fixed on the config side: the drop-in's address is the one compared.
    std::fs::write(&config, "[server]\nlisten = \"127.0.0.2:8443\"\n").unwrap();
    let (ok, report) = doctor(d, &config, r);
    assert!(ok && line(&report).starts_with("OK"), "{report}");

    // A drop-in of the same name lower down is hidden by /etc's; one of another name adds an
    // address without clearing: two sockets, holdfast serves one.
    write(
        r,
        "lib/systemd/system/holdfast.socket.d/override.conf",
        "[Socket]\nListenStream=\nListenStream=127.0.0.3:1\n",
    );
    let (ok, report) = doctor(d, &config, r);
    assert!(ok, "{report}");
    write(
        r,
        "etc/systemd/system/holdfast.socket.d/zz-extra.conf",
        "[Socket]\nListenStream=127.0.0.2:9443\n",
    );
    let (ok, report) = doctor(d, &config, r);
    assert!(!ok, "two addresses passed: {report}");
    assert!(
        line(&report).starts_with("FAIL") && line(&report).contains("127.0.0.2:9443"),
        "{report}"
    );
    std::fs::remove_file(r.join("etc/systemd/system/holdfast.socket.d/zz-extra.conf")).unwrap();

    // A whole unit in /etc replaces the package's (drop-ins still apply on top of it).
    write(
        r,
        "etc/systemd/system/holdfast.socket",
        "[Socket]\nListenStream=8443\n",
    );
    std::fs::remove_dir_all(r.join("etc/systemd/system/holdfast.socket.d")).unwrap();
    std::fs::remove_dir_all(r.join("lib/systemd/system/holdfast.socket.d")).unwrap();
    let (ok, report) = doctor(d, &config, r);
    assert!(!ok, "{report}");
    assert!(
        line(&report).contains("[::]:8443") && line(&report).contains("127.0.0.2:8443"),
        "{report}"
    );
}
