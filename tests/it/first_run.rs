//! The first run guides the operator: the sign-in page of an instance without an administrator says
//! what to run on the server, `admin setup-link` points at the address the server really listens
//! on, and console commands never create a data dir and say which one they looked at.

use crate::identity_support::*;
use crate::support::*;

/// The hint's command, as the sign-in page shows it.
const HINT: &str = "holdfast admin setup-link";

#[tokio::test]
async fn sign_in_page_says_how_to_create_the_first_administrator_until_one_exists() {
    let hub = Hub::start();
    let page = hub.get("/signin", None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("no administrator yet"), "{}", page.body);
    assert!(page.body.contains(HINT), "{}", page.body);
    // The hint names no instance, data dir or account: only the command to run on the server.
    let hint = page.body.split("id=\"no-admin\"").nth(1).unwrap();
    let hint = hint.split("</div>").next().unwrap();
    for secret in [hub.dir.path().to_str().unwrap(), "default", "root"] {
        assert!(!hint.contains(secret), "hint reveals `{secret}`: {hint}");
    }

    hub.add_admin();
    let page = hub.get("/signin", None).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(HINT), "{}", page.body);
    assert!(!page.body.contains("no administrator yet"), "{}", page.body);
}

#[tokio::test]
async fn setup_link_uses_the_address_the_server_listens_on() {
    // The server listens on 127.0.0.1:0, so the configured port (8443) is not where it is.
    let hub = Hub::start();
    let port = hub.server.addr.port();
    assert_ne!(port, 8443);
    let out = hub.console(&["admin", "setup-link"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let link = text(&out.stdout).trim().to_string();
    let prefix = format!("https://localhost:{port}/setup?token=");
    assert!(link.starts_with(&prefix), "{link}");
    assert!(!text(&out.stderr).contains("No server is running"));
    // The link opens the setup page on that server.
    let path = link
        .strip_prefix(&format!("https://localhost:{port}"))
        .unwrap();
    let page = hub.get(path, None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"token\""), "{}", page.body);
}

#[test]
fn setup_link_without_a_server_says_so_and_uses_the_configured_address() {
    let dir = data_dir();
    Server::start(dir.path()).stop();
    let out = holdfast(dir.path(), &["admin", "setup-link"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let link = text(&out.stdout);
    assert!(
        link.starts_with("https://localhost:8443/setup?token="),
        "{link}"
    );
    let note = text(&out.stderr);
    assert!(note.contains("No server is running"), "{note}");
    assert!(note.contains("configured address 127.0.0.1:8443"), "{note}");
}

#[test]
fn console_reads_in_an_empty_directory_create_nothing_and_name_the_dir_they_looked_at() {
    let cwd = tempfile::tempdir().unwrap();
    let expected = cwd.path().canonicalize().unwrap().join("holdfast-data");
    for args in [
        &["admin", "user", "list"][..],
        &["admin", "setup-link"],
        &["instance", "list"],
        &["backup", "list"],
    ] {
        let mut cmd = crate::app::bin_command(std::path::Path::new(BIN));
        cmd.args(args)
            .current_dir(cwd.path())
            .env_remove("HOLDFAST_CONFIG")
            .env_remove("HOLDFAST_DATA_DIR")
            .env_remove("HOLDFAST_INSTANCE")
            .env_remove("NOTIFY_SOCKET");
        let out = crate::app::run_with_stdin(cmd, "");
        let err = text(&out.stderr);
        assert!(!out.status.success(), "`{}` succeeded", args.join(" "));
        assert!(
            err.contains(&format!("no data dir at {}", expected.display())),
            "`{}`: {err}",
            args.join(" ")
        );
        assert!(
            !expected.exists(),
            "`{}` created {}",
            args.join(" "),
            expected.display()
        );
    }
    // Commands that only report leave nothing behind either.
    for args in [&["doctor"][..], &["update", "status"]] {
        let mut cmd = crate::app::bin_command(std::path::Path::new(BIN));
        cmd.args(args)
            .current_dir(cwd.path())
            .env_remove("HOLDFAST_CONFIG")
            .env_remove("HOLDFAST_DATA_DIR")
            .env_remove("NOTIFY_SOCKET");
        crate::app::run_with_stdin(cmd, "");
        assert!(!expected.exists(), "`{}` created it", args.join(" "));
    }
}

#[test]
fn console_names_the_data_dir_without_instances() {
    // An existing but empty data dir (made by hand, as the docs ask): the message says where it
    // looked, and nothing is created in it.
    let dir = data_dir();
    let out = holdfast(dir.path(), &["admin", "user", "list"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("no instances yet in {}", dir.path().display())),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
