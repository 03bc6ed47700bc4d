//! `holdfast update apply|rollback|recover` on a binary install: the real server, real signed
//! bundles carrying real Debian packages, killed at every journaled step.

use crate::app::TestApp;
use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) const PASSWORD: &str = "harbour lantern quiet 42";

/// A binary install in temp dirs: a [`TestApp`] running its own copy of holdfast (the update
/// replaces it), with a vendor key the configuration trusts.
pub(crate) struct Rig {
    pub(crate) app: TestApp,
    bin: tempfile::TempDir,
    pub(crate) keys: tempfile::TempDir,
    _trusted: tempfile::TempDir,
}

/// The holdfast binary the rig installs and updates: the test build without its debug sections.
/// The debug build is ~280 MB, almost all DWARF; every apply hashes, stages, backs up and installs
/// it several times, which made these tests the slowest of the suite. Without the sections
/// (`strip`, binutils) it is ~35 MB and runs exactly the same code. Made once per test process.
pub(crate) fn installable() -> &'static Path {
    static STRIPPED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    STRIPPED.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let out = dir.join(format!("holdfast-stripped-{}", std::process::id()));
        let done = Command::new("strip")
            .arg("--strip-debug")
            .arg("-o")
            .arg(&out)
            .arg(BIN)
            .output()
            .unwrap();
        assert!(done.status.success(), "strip: {}", text(&done.stderr));
        let path = dir.join("holdfast-stripped");
        std::fs::rename(&out, &path).unwrap();
        path
    })
}

pub(crate) fn sha(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
}

impl Rig {
    pub(crate) fn new(ready_timeout: u64) -> Rig {
        Rig::on(ready_timeout, None)
    }

    /// A rig whose server listens on `listen` (default 127.0.0.1:0, which a restarted server would
    /// not keep: only a hand-over keeps the port).
    pub(crate) fn on(ready_timeout: u64, listen: Option<String>) -> Rig {
        let bin = tempfile::tempdir().unwrap();
        let exe = bin.path().join("holdfast");
        crate::support::install_executable(installable(), &exe);
        let (keys, trusted) = vendor_keys();
        let staged = TestApp::builder()
            .binary(exe)
            .config(&format!(
                "[update]\ntrusted_keys_dir = \"{}\"\nready_timeout_seconds = {ready_timeout}\n\n[server]\nshutdown_grace_seconds = 2\n",
                trusted.path().display()
            ))
            .prepare();
        staged.ok(&["init"]);
        staged.add_user("keeper", &["users"], PASSWORD);
        let rig = Rig {
            app: staged.start_on(listen),
            bin,
            keys,
            _trusted: trusted,
        };
        let pid = rig.app.server.child.id();
        let deadline = Instant::now() + Duration::from_secs(60);
        while rig.run_record().is_none_or(|r| r["pid"] != pid) {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(rig.ready());
        rig
    }

    pub(crate) fn d(&self) -> &Path {
        self.app.data()
    }

    pub(crate) fn exe(&self) -> PathBuf {
        self.bin.path().join("holdfast")
    }

    /// A console command run with the installed copy, as an operator would.
    pub(crate) fn cmd(&self, args: &[&str]) -> Output {
        self.app.console(args)
    }

    pub(crate) fn add_user(&self, name: &str) {
        self.app.add_user(name, &["users"], PASSWORD);
    }

    pub(crate) fn users(&self) -> String {
        text(&self.cmd(&["admin", "user", "list"]).stdout)
    }

    pub(crate) fn run_record(&self) -> Option<serde_json::Value> {
        let bytes = std::fs::read(self.d().join("run.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The server named in run.json answers /readyz (certificate pinned).
    pub(crate) fn ready(&self) -> bool {
        let Some(rec) = self.run_record() else {
            return false;
        };
        let addr = rec["listen"].as_str().unwrap().parse().unwrap();
        let client = Client::for_data_dir(self.d(), addr);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), client.get("localhost", "/readyz"))
                .await
                .is_ok_and(|r| r.status == 200)
        })
    }

    /// The running server executes the bytes now at the install path. (A server that was never
    /// stopped while an update swapped the file and put it back runs the unlinked first copy of
    /// the same bytes: it is the installed version all the same.)
    pub(crate) fn server_runs_installed_file(&self) -> bool {
        let Some(rec) = self.run_record() else {
            return false;
        };
        let running = std::fs::read(format!("/proc/{}/exe", rec["pid"])).unwrap_or_default();
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&running)) == sha(&self.exe())
    }

    /// A signed bundle of version `version` whose package installs `binary` as usr/bin/holdfast.
    pub(crate) fn bundle(&self, version: &str, binary: &[u8]) -> PathBuf {
        let deb = tiny_deb(self.keys.path(), version, binary);
        let bundle = self.keys.path().join(format!("holdfast-{version}.hfu"));
        let _ = std::fs::remove_file(&bundle);
        let out = Command::new(RELEASE)
            .args(["bundle", "--key"])
            .arg(self.keys.path().join("release.key"))
            .args([
                "--version",
                version,
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
        bundle
    }

    /// The real holdfast (as installed) with bytes appended: it runs the same, and its hash tells it apart.
    pub(crate) fn next_binary(&self, marker: &str) -> Vec<u8> {
        let mut b = std::fs::read(installable()).unwrap();
        b.extend_from_slice(marker.as_bytes());
        b
    }

    pub(crate) fn apply(&self, bundle: &Path) -> Output {
        self.cmd(&["update", "apply", bundle.to_str().unwrap(), "--no-backup"])
    }

    pub(crate) fn client(&self) -> Client {
        let rec = self.run_record().unwrap();
        Client::for_data_dir(self.d(), rec["listen"].as_str().unwrap().parse().unwrap())
    }

    pub(crate) fn status(&self) -> String {
        text(&self.cmd(&["update", "status"]).stdout)
    }
}

impl Drop for Rig {
    /// Ends any server the update started (its PID is in run.json, it serves this test's data dir
    /// and runs this test's copy of the binary, or the stripped build a test release's wrapper
    /// script hands over to); the first one stops with the app.
    fn drop(&mut self) {
        if let Some(rec) = self.run_record() {
            let pid = rec["pid"].as_i64().unwrap_or(0) as i32;
            let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
                .unwrap_or_default()
                .to_string_lossy()
                .replace(" (deleted)", "");
            let ours = [self.exe(), installable().to_path_buf()].map(|p| {
                std::fs::canonicalize(p)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            let serves_ours = std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                c.split(|b| *b == 0)
                    .any(|arg| arg == self.d().as_os_str().as_encoded_bytes())
            });
            if pid > 1 && ours.contains(&exe) && serves_ours {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

#[test]
fn apply_installs_keeps_data_and_rolls_back_on_request() {
    let rig = Rig::new(60);
    let old = sha(&rig.exe());
    let before = rig.run_record().unwrap();
    let bundle = rig.bundle("0.2.0", &rig.next_binary("release 0.2.0"));

    let out = rig.apply(&bundle);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("updated 0.1.0 → 0.2.0"));
    let after = rig.run_record().unwrap();
    assert_ne!(
        before["boot_id"], after["boot_id"],
        "the server was not restarted"
    );
    assert_ne!(sha(&rig.exe()), old, "the binary was not replaced");
    assert!(rig.ready() && rig.server_runs_installed_file());
    assert!(rig.users().contains("keeper"), "data lost: {}", rig.users());
    let status = rig.status();
    assert!(
        status.contains("installed version: 0.2.0") && status.contains("applied"),
        "{status}"
    );

    // The same bundle again is an "equal version": refused before anything is touched.
    let again = rig.apply(&bundle);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already installed"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(rig.run_record().unwrap()["boot_id"], after["boot_id"]);

    // A bundle whose payload was altered after signing never reaches the machine.
    let mut bytes = std::fs::read(rig.bundle("0.3.0", &rig.next_binary("0.3.0"))).unwrap();
    let n = bytes.len() - 100;
    bytes[n] ^= 0x40;
    let bad = rig.keys.path().join("bad.hfu");
    std::fs::write(&bad, &bytes).unwrap();
    let refused = rig.apply(&bad);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("refused"));
    assert_eq!(rig.run_record().unwrap()["boot_id"], after["boot_id"]);

    let back = rig.cmd(&["update", "rollback"]);
    assert!(
        back.status.success(),
        "{}{}",
        text(&back.stdout),
        text(&back.stderr)
    );
    assert_eq!(sha(&rig.exe()), old, "the old binary is not back");
    assert!(rig.ready() && rig.server_runs_installed_file());
    assert!(rig.users().contains("keeper"));
    assert!(rig.status().contains("installed version: 0.1.0"));
    let log = text(&rig.cmd(&["admin", "audit", "--json"]).stdout);
    for event in ["update_applied", "update_refused", "update_rolled_back"] {
        assert!(
            log.contains(event),
            "{event} missing from the security log: {log}"
        );
    }
}

/// Defect from the operator drill: a rollback after an update whose binary was byte-identical
/// to the old one took the running (new) server for the old one, waited for a restart nobody
/// made, failed after the ready timeout, and left a journal that wedged every later recover and
/// apply. Now the journal, not the binary's hash, says whether the old server still serves.
#[test]
fn a_rollback_after_an_identical_binary_restarts_and_never_wedges_recover() {
    let rig = Rig::new(20);
    let old = sha(&rig.exe());
    let identical = std::fs::read(rig.exe()).unwrap();
    let out = rig.apply(&rig.bundle("0.2.0", &identical));
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let applied = rig.run_record().unwrap();
    assert_eq!(sha(&rig.exe()), old);

    let back = rig.cmd(&["update", "rollback"]);
    assert!(
        back.status.success(),
        "{}{}",
        text(&back.stdout),
        text(&back.stderr)
    );
    let rolled = rig.run_record().unwrap();
    assert_ne!(
        rolled["boot_id"], applied["boot_id"],
        "a rollback restarts the server"
    );
    assert!(rig.ready() && rig.server_runs_installed_file());
    assert!(rig.status().contains("installed version: 0.1.0"));

    let recover = rig.cmd(&["update", "recover"]);
    assert!(recover.status.success(), "{}", text(&recover.stderr));
    let next = rig.apply(&rig.bundle("0.2.1", &rig.next_binary("0.2.1")));
    assert!(
        next.status.success(),
        "{}{}",
        text(&next.stdout),
        text(&next.stderr)
    );
    assert!(rig.status().contains("installed version: 0.2.1"));
    assert!(rig.users().contains("keeper"));
}

/// `pid` stopped itself (`HOLDFAST_UPDATE_PAUSE_AT`). Untraced it shows `T`; under strace `t`
/// (tracing stop), which a traced process also shows for the instant strace takes to note a
/// connect(), execve() or fork: a pause is `t` right after a kill system call, seen twice.
pub(crate) fn stopped(pid: u32) -> bool {
    let state = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let state = stat.rsplit(')').next()?.trim_start().chars().next()?;
        let call = std::fs::read_to_string(format!("/proc/{pid}/syscall"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<i64>().ok());
        Some((state, call))
    };
    let raised = |s: Option<(char, Option<i64>)>| match s {
        Some(('T', _)) => true,
        Some(('t', Some(call))) => [
            nix::libc::SYS_kill,
            nix::libc::SYS_tkill,
            nix::libc::SYS_tgkill,
        ]
        .contains(&call),
        _ => false,
    };
    raised(state()) && {
        std::thread::sleep(Duration::from_millis(50));
        raised(state())
    }
}

#[test]
fn sigkill_at_every_step_leaves_the_old_version_or_the_new_one_complete() {
    let rig = Rig::new(60);
    let old = sha(&rig.exe());
    let new_binary = rig.next_binary("release 0.2.0");
    let bundle = rig.bundle("0.2.0", &new_binary);
    let new = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&new_binary))
    };
    // A release that changes no schema is handed over: the new server starts on the old one's
    // sockets before the old one stops (docs/updating.md).
    let steps = [
        "staged",
        "backed_up",
        "swapped",
        "candidate",
        "stopping",
        "stopped",
        "started",
        "ready",
    ];
    let mut outcomes = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let marker = format!("keeper{n}");
        rig.add_user(&marker);
        let boot_before = rig.run_record().unwrap()["boot_id"].clone();
        let mut apply = rig
            .app
            .command(&["update", "apply", bundle.to_str().unwrap(), "--no-backup"])
            .env(holdfast::update::apply::PAUSE_ENV, step)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !stopped(apply.id()) {
            assert!(
                apply.try_wait().unwrap().is_none(),
                "apply ended without reaching step {step}"
            );
            assert!(Instant::now() < deadline, "apply never reached {step}");
            std::thread::sleep(Duration::from_millis(5));
        }
        apply.kill().unwrap();
        apply.wait().unwrap();

        let rec = rig.cmd(&["update", "recover"]);
        assert!(
            rec.status.success(),
            "recover after a kill at {step}: {}{}",
            text(&rec.stdout),
            text(&rec.stderr)
        );
        assert!(rig.ready(), "nothing serves after a kill at {step}");
        assert!(
            rig.server_runs_installed_file(),
            "after a kill at {step} the server runs another binary than the installed one"
        );
        if n < 4 {
            assert_eq!(
                rig.run_record().unwrap()["boot_id"],
                boot_before,
                "a kill at {step} stopped the old server, which had not been asked to stop"
            );
        }
        let installed = sha(&rig.exe());
        let status = rig.status();
        assert!(!status.contains("INTERRUPTED"), "{status}");
        if installed == new {
            assert!(
                status.contains("installed version: 0.2.0"),
                "{step}: {status}"
            );
            outcomes.push((step, "new"));
            let back = rig.cmd(&["update", "rollback"]);
            assert!(back.status.success(), "{}", text(&back.stderr));
        } else {
            assert_eq!(
                installed, old,
                "after a kill at {step} the binary is neither"
            );
            assert!(
                status.contains("installed version: 0.1.0"),
                "{step}: {status}"
            );
            outcomes.push((step, "old"));
        }
        let users = rig.users();
        assert!(
            (0..=n).all(|i| users.contains(&format!("keeper{i}"))),
            "data lost after a kill at {step}: {users}"
        );
    }
    // Up to `stopped` the new server was never told to serve: the old version must be back (and
    // before `stopping` it never stopped); at `started` it may have taken over; from `ready` on the
    // update was complete.
    assert!(
        outcomes[..6].iter().all(|(_, o)| *o == "old"),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[7].1, "new", "{outcomes:?}");
}

async fn sign_in(c: &Client, user: &str) -> (String, String) {
    api_sign_in(c, user, PASSWORD).await
}

fn bundle_form(bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "holdfast-update-boundary-Q81z";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"bundle\"; filename=\"b.hfu\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[test]
fn the_admin_console_shows_the_version_and_verifies_an_uploaded_bundle() {
    let rig = Rig::new(60);
    rig.app.add_user("chief", &["admins"], PASSWORD);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(admin_console(&rig));
}

async fn admin_page(c: &Client, cookie: &str) -> Resp {
    c.request(
        "GET",
        "localhost",
        "/admin/updates",
        &[("cookie", cookie)],
        b"",
    )
    .await
}

async fn admin_console(rig: &Rig) {
    // Small on purpose: the page takes bundles up to the request body limit (32 MiB here).
    let bundle = std::fs::read(rig.bundle("0.2.0", b"#!/bin/sh\nexit 0\n")).unwrap();
    let c = rig.client();
    let (cookie, csrf) = sign_in(&c, "chief").await;
    let page = admin_page(&c, &cookie).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("id=\"installed-version\">0.1.0<"),
        "{}",
        page.body
    );

    let post = |body: Vec<u8>, ct: String, token: Option<String>| {
        let c = &c;
        let cookie = cookie.clone();
        async move {
            // A page's form sends the token as the first part.
            let boundary = ct.rsplit('=').next().unwrap_or_default().to_string();
            let body = match token {
                Some(t) => {
                    let mut b = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{t}\r\n").into_bytes();
                    b.extend_from_slice(&body);
                    b
                }
                None => body,
            };
            let path = "/admin/updates/verify";
            c.request(
                "POST",
                "localhost",
                path,
                &[("cookie", cookie.as_str()), ("content-type", ct.as_str())],
                &body,
            )
            .await
        }
    };
    let (ct, body) = bundle_form(&bundle);
    let ok = post(body.clone(), ct.clone(), Some(csrf.clone())).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(
        ok.body.contains("Bundle OK") && ok.body.contains("version 0.2.0"),
        "{}",
        ok.body
    );

    // A cross-site form post without the token changes nothing and verifies nothing.
    let forged = post(body, ct, None).await;
    assert_eq!(forged.status, 403);

    let mut bad = bundle.clone();
    let n = bad.len() - 50;
    bad[n] ^= 1;
    let (ct, body) = bundle_form(&bad);
    let refused = post(body, ct, Some(csrf.clone())).await;
    assert_eq!(refused.status, 200);
    assert!(refused.body.contains("Bundle refused"), "{}", refused.body);

    // Nothing was installed, and nothing of the uploads is left on disk.
    assert!(rig.status().contains("installed version: 0.1.0"));
    let uploads = rig.d().join("update/uploads");
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 0);
    let history = admin_page(&c, &cookie).await;
    assert!(history.body.contains("accepted") && history.body.contains("refused"));
    let log = text(&rig.cmd(&["admin", "audit", "--json"]).stdout);
    assert!(
        log.contains("update_verified") && log.contains("update_refused"),
        "{log}"
    );

    // Staff without the admin permission do not see the page.
    let (staff, _) = sign_in(&c, "keeper").await;
    let denied = admin_page(&c, &staff).await;
    assert_eq!(denied.status, 403);
}
