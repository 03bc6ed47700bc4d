//! Updates no user notices (issue 17): on a binary install, `update apply` and `update rollback`
//! start the next version on the running server's listening sockets and stop the running one only
//! once the next one is ready, so a steady client load sees every request answered and the
//! answering server change exactly once; a release that exits, hangs or never answers ready leaves
//! the running server untouched. `cargo bench --bench update -- handover` prints the same figures
//! with 16 + 16 clients for the hand-over and for the old stop-then-start path.

use crate::load::{Load, Spec, Summary};
use crate::support::*;
use crate::update_apply::{PASSWORD, Rig, sha};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

fn boot(rig: &Rig) -> String {
    rig.run_record().unwrap()["boot_id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn load(rig: &Rig, keep_alive: usize, new_connection: usize, pause: Duration) -> Load {
    let rec = rig.run_record().unwrap();
    Load::start(Spec {
        addr: rec["listen"].as_str().unwrap().parse().unwrap(),
        tls: client_config(
            &std::fs::read(rig.d().join("tls/cert.pem")).unwrap(),
            rustls::ALL_VERSIONS,
        ),
        keep_alive,
        new_connection,
        pause,
        max_requests: 50_000,
        max_time: Duration::from_secs(240),
    })
}

/// Runs the console command `args` under `load`, with a moment of load before and after.
fn under_load(rig: &Rig, load: Load, args: &[&str]) -> (Output, Summary) {
    std::thread::sleep(Duration::from_millis(300));
    let out = rig.cmd(args);
    std::thread::sleep(Duration::from_millis(300));
    (out, load.finish())
}

fn said(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// Sign-ins (each a write: a session and a security-log event) in a loop while the update runs.
fn sign_ins(
    rig: &Rig,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<usize>,
) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = rig.client();
    let flag = std::sync::Arc::clone(&stop);
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut n = 0;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) && n < 200 {
            rt.block_on(api_sign_in(&client, "keeper", PASSWORD));
            n += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        n
    });
    (stop, handle)
}

#[test]
fn apply_and_rollback_under_load_answer_every_request_and_switch_servers_once() {
    let rig = Rig::new(60);
    let old = sha(&rig.exe());
    let first = boot(&rig);
    let bundle = rig.bundle("0.2.0", &rig.next_binary("release 0.2.0"));

    let (stop, writer) = sign_ins(&rig);
    let l = load(&rig, 4, 4, Duration::from_millis(5));
    let (out, seen) = under_load(
        &rig,
        l,
        &["update", "apply", bundle.to_str().unwrap(), "--no-backup"],
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let signed_in = writer
        .join()
        .expect("every sign-in during the update succeeded");
    println!("apply under load: {}; {signed_in} sign-ins", seen.line());
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        text(&out.stdout).contains("updated 0.1.0 → 0.2.0"),
        "{}",
        said(&out)
    );
    let second = boot(&rig);
    assert_ne!(second, first, "the new version does not serve");
    assert!(rig.ready() && rig.server_runs_installed_file());
    assert!(seen.failures().is_empty(), "{:?}", seen.failures());
    assert!(seen.answered() > 0);
    assert_eq!(seen.boots(), vec![first.clone(), second.clone()]);
    assert_eq!(
        seen.most_switches(),
        1,
        "a client saw the servers alternate"
    );

    let l = load(&rig, 4, 4, Duration::from_millis(5));
    let (out, seen) = under_load(&rig, l, &["update", "rollback"]);
    println!("rollback under load: {}", seen.line());
    assert!(out.status.success(), "{}", said(&out));
    let third = boot(&rig);
    assert!(third != second && third != first);
    assert_eq!(sha(&rig.exe()), old, "the old binary is not back");
    assert!(rig.ready() && rig.server_runs_installed_file());
    assert!(rig.status().contains("installed version: 0.1.0"));
    assert!(seen.failures().is_empty(), "{:?}", seen.failures());
    assert_eq!(seen.boots(), vec![second, third]);
    assert_eq!(seen.most_switches(), 1);

    // The two servers never wrote beside each other: the security log, written by both around
    // each switch, is one unbroken hash chain.
    let verify = rig.cmd(&["admin", "audit", "verify"]);
    assert!(verify.status.success(), "{}", said(&verify));
    assert!(rig.users().contains("keeper"));
}

#[test]
fn a_release_that_exits_hangs_or_is_never_ready_leaves_the_old_server_serving() {
    let rig = Rig::new(3);
    let old = sha(&rig.exe());
    let first = boot(&rig);
    let schema = holdfast::storage::LATEST_SCHEMA_VERSION;
    // The last speaks the hand-over protocol and then names a probe address where nothing answers.
    let never_ready = format!(
        "#!/bin/bash\necho \"schema {schema}\" >&\"$HOLDFAST_TAKEOVER_FD\"\nread -r _ <&\"$HOLDFAST_TAKEOVER_FD\"\necho \"probe 127.0.0.1:1 f00d\" >&\"$HOLDFAST_TAKEOVER_FD\"\nexec sleep 30\n"
    );
    let releases = [
        ("0.2.0", "exits at start", "#!/bin/sh\nexit 3\n".to_string()),
        ("0.2.1", "hangs", "#!/bin/sh\nexec sleep 30\n".to_string()),
        ("0.2.2", "is never ready", never_ready),
    ];
    for (version, what, script) in releases {
        let bundle = rig.bundle(version, script.as_bytes());
        let l = load(&rig, 2, 2, Duration::from_millis(10));
        let (out, seen) = under_load(
            &rig,
            l,
            &["update", "apply", bundle.to_str().unwrap(), "--no-backup"],
        );
        println!("a release that {what}: {}", seen.line());
        assert!(!out.status.success(), "a release that {what} was accepted");
        assert!(
            text(&out.stdout).contains(&format!("rolled back {version} → 0.1.0")),
            "{what}: {}",
            said(&out)
        );
        assert!(seen.failures().is_empty(), "{what}: {:?}", seen.failures());
        assert_eq!(
            seen.boots(),
            vec![first.clone()],
            "{what}: another server answered"
        );
        assert_eq!(boot(&rig), first, "{what}: the old server was restarted");
        assert_eq!(sha(&rig.exe()), old, "{what}: its binary stayed installed");
        assert!(rig.ready() && rig.server_runs_installed_file(), "{what}");
        let status = rig.status();
        assert!(
            status.contains("installed version: 0.1.0") && status.contains("rolled back"),
            "{what}: {status}"
        );
    }
    assert!(rig.users().contains("keeper"));
}

/// The control socket hands the listening sockets only to the server's own user, and only to
/// one who asks properly; without it (a version before the hand-over) `apply` stops the old server
/// first, as before, and still succeeds.
#[test]
fn the_control_socket_is_private_and_its_absence_falls_back_to_stop_then_start() {
    let rig = Rig::new(60);
    let control = rig.d().join(holdfast::sockets::control::FILE);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&control).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "control socket mode {mode:o}");
    // A wrong request gets nothing (the connection is closed without descriptors).
    {
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(&control).unwrap();
        s.write_all(b"sockets!!!\n").unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        assert!(buf.is_empty(), "answered a wrong request: {buf:?}");
    }
    // A process of another user is refused (checked when the test runs as root, which can start
    // one with setpriv, util-linux).
    if nix::unistd::geteuid().is_root() {
        assert!(
            foreign_uid_gets_nothing(&control, "listeners"),
            "the control socket answered another user"
        );
    }
    let first = boot(&rig);
    std::fs::remove_file(&control).unwrap();
    let bundle = rig.bundle("0.2.0", &rig.next_binary("release 0.2.0"));
    let out = rig.apply(&bundle);
    assert!(out.status.success(), "{}", said(&out));
    assert_ne!(boot(&rig), first);
    assert!(rig.ready() && rig.server_runs_installed_file());
    assert!(control.exists(), "the new server has a control socket");
}

/// Asks `control` for the sockets from a process running as nobody (uid 65534); true when it got
/// no descriptor. The data dir is private, so the socket is reached through a hard link in an open
/// directory, and its inode is opened to everyone for the moment of the check: only the server's
/// own check of the peer's uid stands in the way.
fn foreign_uid_gets_nothing(control: &Path, request: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let open_dir = tempfile::tempdir_in(control.parent().unwrap().parent().unwrap()).unwrap();
    let mut up = open_dir.path().to_path_buf();
    let mut loosened = Vec::new();
    // Every directory above the link must let nobody through.
    while let Some(parent) = up.parent() {
        let mode = std::fs::metadata(&up).unwrap().permissions().mode();
        if mode & 0o001 == 0 {
            std::fs::set_permissions(&up, std::fs::Permissions::from_mode(mode | 0o011)).unwrap();
            loosened.push((up.clone(), mode));
        }
        up = parent.to_path_buf();
    }
    let link = open_dir.path().join("c.sock");
    std::fs::hard_link(control, &link).unwrap();
    let mode = std::fs::metadata(control).unwrap().permissions().mode();
    std::fs::set_permissions(&link, std::fs::Permissions::from_mode(0o666)).unwrap();
    let script = format!(
        "import socket\ns=socket.socket(socket.AF_UNIX)\ns.connect({:?})\ntry:\n  s.sendall(b'{request}\\n')\n  msg,anc,_,_=s.recvmsg(256,socket.CMSG_SPACE(64))\nexcept (ConnectionResetError, BrokenPipeError):\n  msg,anc=b'',[]\nprint(len(anc), len(msg))\n",
        link.to_str().unwrap()
    );
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "/usr/bin/python3",
            "-c",
        ])
        .arg(&script)
        .output()
        .unwrap();
    std::fs::set_permissions(control, std::fs::Permissions::from_mode(mode)).unwrap();
    std::fs::remove_file(&link).unwrap();
    for (dir, mode) in loosened.into_iter().rev() {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    assert!(
        out.status.success(),
        "the check itself failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout).trim() == "0 0"
}

/// Socket activation (what `holdfast.socket` would do under systemd): the HTTPS socket is made by
/// the service manager before the server runs; a client that connects first waits in its backlog
/// and is answered by the server started for it, which binds nothing itself. Driven by
/// `systemd-socket-activate` (package systemd), which passes `LISTEN_FDS`/`LISTEN_FDNAMES` exactly
/// as systemd does.
#[test]
fn serve_takes_its_https_socket_from_socket_activation() {
    let dir = data_dir();
    let d = dir.path();
    let out = holdfast(d, &["init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // Under strace when the suite is traced: strace's -D keeps the PID the activator names in
    // LISTEN_PID for holdfast itself.
    let (mut server, trace) = crate::traced::argv(
        std::path::Path::new(BIN),
        crate::traced::dir_for(Some(d)).as_deref(),
    );
    if trace.is_some() {
        server[0] = "/usr/bin/strace".into();
    }
    let mut activator = std::process::Command::new("systemd-socket-activate")
        .args([
            "-l",
            &addr.to_string(),
            "--fdname=https",
            "-E",
            "HOLDFAST_LOG=warn",
        ])
        .args(&server)
        .arg("--data-dir")
        .arg(d)
        // The configured address is ignored in favour of the socket handed over.
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("systemd-socket-activate (package systemd)");
    // The activator listens at once; the server starts only when the first connection arrives
    // (this probe's), and that connection is the request below's predecessor in the backlog.
    let end = std::time::Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            std::time::Instant::now() < end,
            "the activator never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Client::for_data_dir(d, addr);
    let r = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), client.get("localhost", "/readyz")).await
    });
    let answered = r.is_ok_and(|r| r.status == 200);
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("run.json")).unwrap()).unwrap();
    let pid = rec["pid"].as_i64().unwrap() as i32;
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = activator.kill();
    let _ = activator.wait();
    if let Some(trace) = trace {
        // Not our child: ended once its PID is gone or a zombie.
        let end = std::time::Instant::now() + Duration::from_secs(30);
        while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| !r.trim_start().starts_with('Z'))
        }) && std::time::Instant::now() < end
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        crate::traced::check(&trace, "the socket-activated server");
    }
    assert!(
        answered,
        "the first request, made before the server ran, was not answered"
    );
    assert_eq!(
        rec["listen"],
        addr.to_string(),
        "the server bound its own socket"
    );
}

/// A release that changes a schema is not handed over: the old server stops first and the
/// databases are snapshotted, as before — but `apply` holds the listening sockets meanwhile, so
/// clients wait for the new version instead of being refused. (The release here is the same
/// holdfast behind a wrapper that, asked to take over, claims another schema.)
#[test]
fn a_schema_changing_release_stops_the_old_server_first_but_refuses_no_client() {
    let rig = Rig::new(60);
    let first = boot(&rig);
    let real = crate::update_apply::installable();
    let wrapper = format!(
        "#!/bin/bash\nif [ -n \"$HOLDFAST_TAKEOVER_FD\" ]; then\n  echo \"schema 9999\" >&\"$HOLDFAST_TAKEOVER_FD\"\n  read -r _ <&\"$HOLDFAST_TAKEOVER_FD\"\n  exit 0\nfi\nexec {} \"$@\"\n",
        real.display()
    );
    let bundle = rig.bundle("0.2.0", wrapper.as_bytes());
    let l = load(&rig, 4, 4, Duration::from_millis(5));
    let (out, seen) = under_load(
        &rig,
        l,
        &["update", "apply", bundle.to_str().unwrap(), "--no-backup"],
    );
    println!("schema-changing apply under load: {}", seen.line());
    assert!(out.status.success(), "{}", said(&out));
    let said_out = text(&out.stdout);
    assert!(
        said_out.contains("the old server stops first"),
        "{said_out}"
    );
    assert!(said_out.contains("none was refused"), "{said_out}");
    let second = boot(&rig);
    assert_ne!(second, first);
    assert!(rig.ready());
    assert!(
        rig.d().join("update/last/snapshot").exists(),
        "no snapshot was taken before the stop"
    );
    assert!(seen.failures().is_empty(), "{:?}", seen.failures());
    assert_eq!(seen.boots(), vec![first, second]);
    assert!(rig.users().contains("keeper"));
}

/// The operator's rollback by hand-over, killed at each of its steps: after `update recover`
/// exactly one version serves — the old one, complete — and no data is lost.
#[test]
fn sigkill_during_a_hand_over_rollback_leaves_one_version_serving() {
    let rig = Rig::new(60);
    let old = sha(&rig.exe());
    let bundle = rig.bundle("0.2.0", &rig.next_binary("release 0.2.0"));
    for (n, step) in ["candidate", "stopping", "stopped", "started"]
        .iter()
        .enumerate()
    {
        let out = rig.apply(&bundle);
        assert!(out.status.success(), "{}", said(&out));
        let marker = format!("rollback-keeper{n}");
        rig.add_user(&marker);
        let mut rollback = rig
            .app
            .command(&["update", "rollback"])
            .env(holdfast::update::apply::PAUSE_ENV, step)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while !crate::update_apply::stopped(rollback.id()) {
            assert!(
                rollback.try_wait().unwrap().is_none(),
                "rollback ended without reaching step {step}"
            );
            assert!(
                std::time::Instant::now() < deadline,
                "rollback never reached {step}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        rollback.kill().unwrap();
        rollback.wait().unwrap();
        let rec = rig.cmd(&["update", "recover"]);
        assert!(
            rec.status.success(),
            "recover after a kill at {step}: {}",
            said(&rec)
        );
        assert!(rig.ready(), "nothing serves after a kill at {step}");
        assert!(
            rig.server_runs_installed_file(),
            "after a kill at {step} the server runs another binary than the installed one"
        );
        assert_eq!(
            sha(&rig.exe()),
            old,
            "after a kill at {step} the old binary is not back"
        );
        let status = rig.status();
        assert!(
            !status.contains("INTERRUPTED") && status.contains("installed version: 0.1.0"),
            "{step}: {status}"
        );
        let users = rig.users();
        assert!(
            (0..=n).all(|i| users.contains(&format!("rollback-keeper{i}"))),
            "data lost after a kill at {step}: {users}"
        );
    }
}

/// Under systemd `update apply` parks the service instead of stopping it: a stopped service would
/// be started again by holdfast.socket as soon as a client connects, in the middle of the snapshot
/// or of dpkg. A parked server stops serving and lets go of the data dir but stays alive (the
/// unit's main process), exits cleanly on SIGTERM (the update's `systemctl restart`), and cannot
/// be asked twice; another user cannot park it.
#[test]
fn a_parked_server_lets_go_of_the_data_dir_stays_alive_and_stops_on_sigterm() {
    let mut app = crate::app::TestApp::builder().start();
    let d = app.data().to_path_buf();
    let control = d.join(holdfast::sockets::control::FILE);
    assert!(holdfast::update::runtime::server_running(&d));
    if nix::unistd::geteuid().is_root() {
        assert!(
            foreign_uid_gets_nothing(&control, "park"),
            "the control socket answered another user's park request"
        );
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            holdfast::update::runtime::server_running(&d),
            "another user parked the server"
        );
    }
    assert!(holdfast::sockets::control::park(&control).unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while holdfast::update::runtime::server_running(&d) {
        assert!(
            std::time::Instant::now() < deadline,
            "the parked server kept the data dir"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        app.server
            .wait_for_line("parked for an update", Duration::from_secs(10))
            .is_some(),
        "{}",
        app.server.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        app.server.child.try_wait().unwrap().is_none(),
        "the parked server exited: {}",
        app.server.log()
    );
    assert!(
        !holdfast::sockets::control::park(&control).unwrap(),
        "a parked server was parked again"
    );
    let status = app.stop();
    assert!(
        status.success(),
        "exit after SIGTERM while parked: {status}"
    );
}

/// What a parking server does with its data-dir lock (`runtime::release_when_closed`): it lets go
/// only once every instance's writer is closed. A write that still runs at the deadline (a
/// blocking task the runtime's shutdown could not end) keeps the lock held and is named; once no
/// write runs, the writer closes, the lock goes, and no later write through any handle of that
/// database reaches the file.
#[test]
fn a_parking_server_keeps_the_data_dir_locked_while_a_write_still_runs() {
    use holdfast::storage::StorageError;
    use holdfast::update::runtime::{lock, release_when_closed, server_running};
    use std::sync::{Arc, mpsc};
    use std::time::Instant;
    let dir = data_dir();
    let d = dir.path();
    let out = holdfast(d, &["init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (master, _) = holdfast::keys::load(d, false).unwrap();
    let inst =
        Arc::new(holdfast::instances::open(d, &master, "default", Default::default()).unwrap());
    let held = lock(d).unwrap().unwrap();
    assert!(server_running(d));

    // A write in progress: its transaction is open until the test lets it end.
    let (started_tx, started) = mpsc::channel();
    let (finish, finish_rx) = mpsc::channel::<()>();
    let writing = {
        let inst = Arc::clone(&inst);
        std::thread::spawn(move || {
            inst.db.write_blocking(|_tx| -> Result<(), StorageError> {
                started_tx.send(()).unwrap();
                finish_rx.recv().unwrap();
                Ok(())
            })
        })
    };
    started.recv().unwrap();
    let still = release_when_closed(
        held,
        std::slice::from_ref(&inst),
        Instant::now() + Duration::from_millis(100),
    )
    .expect_err("the lock was let go while a write still ran");
    assert_eq!(still.instances, ["default"]);
    assert!(server_running(d), "the data dir was freed under a write");

    finish.send(()).unwrap();
    writing.join().unwrap().unwrap();
    release_when_closed(
        still.lock,
        std::slice::from_ref(&inst),
        Instant::now() + Duration::from_secs(30),
    )
    .unwrap();
    assert!(!server_running(d), "the lock was kept once nothing wrote");
    let late = inst.db.write_blocking(|_tx| -> Result<(), StorageError> {
        panic!("a write ran after the writer was closed")
    });
    assert!(matches!(late, Err(StorageError::Closed { .. })), "{late:?}");
}

/// Under systemd the hand-over happens inside the service: the running server starts the next
/// version as its own child (control request `spawn`, with the update's channel end), and at the
/// switch hands the service to it (`handover <pid>`: `MAINPID=`, then it stops and exits). Driven
/// here step by step as `update apply` drives it, outside systemd (where `MAINPID=` goes nowhere):
/// one next version at a time, no hand-over to any other PID, the old server serves until the
/// hand-over and exits after it, and the child then serves on the same socket.
#[test]
fn the_running_server_starts_the_next_version_itself_and_hands_over_to_it() {
    use holdfast::sockets::control;
    use holdfast::sockets::takeover::{Channel, Msg};
    use std::os::fd::AsFd;
    let mut rig = Rig::new(60);
    let first = boot(&rig);
    let listen = rig.run_record().unwrap()["listen"].clone();
    let d = rig.d().to_path_buf();
    let sock = d.join(control::FILE);
    let caps = control::caps(&sock).unwrap();
    assert!(
        caps.iter().any(|c| c == "spawn") && caps.iter().any(|c| c == "handover"),
        "{caps:?}"
    );
    let (mut ch, theirs) = Channel::pair().unwrap();
    let pid = control::spawn(&sock, theirs.as_fd())
        .unwrap()
        .expect("the server started the next version");
    drop(theirs);
    let (_other, theirs2) = Channel::pair().unwrap();
    assert_eq!(
        control::spawn(&sock, theirs2.as_fd()).unwrap(),
        None,
        "a second next version was started"
    );
    let wait = Some(Duration::from_secs(60));
    assert!(matches!(ch.recv(wait).unwrap(), Msg::Schema(_)));
    ch.send(&Msg::Open).unwrap();
    assert!(matches!(ch.recv(wait).unwrap(), Msg::Probe { .. }));
    assert!(
        !control::hand_over(&sock, pid + 1).unwrap(),
        "handed over to a process it did not start"
    );
    assert!(
        rig.ready() && boot(&rig) == first,
        "the old server stopped serving early"
    );
    assert!(control::hand_over(&sock, pid).unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while holdfast::update::runtime::server_running(&d) {
        assert!(
            std::time::Instant::now() < deadline,
            "the old server kept the data dir"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    ch.send(&Msg::Go).unwrap();
    while rig.run_record().is_none_or(|r| r["pid"] != pid) || !rig.ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "the next version did not take over"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_ne!(boot(&rig), first);
    assert_eq!(
        rig.run_record().unwrap()["listen"],
        listen,
        "another socket"
    );
    let status = loop {
        if let Some(s) = rig.app.server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the old server did not exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "the old server's exit: {status}");
}
