//! Stopping and starting the server an update replaces (through systemd, or by PID and the same
//! command line), and waiting until the one that answers is ready.
//!
//! Under systemd the service is not stopped but parked (`sockets::control`): its process stops
//! serving and lets go of the data dir, yet stays the unit's main process. A stopped service
//! would be started again by holdfast.socket as soon as a client connects — in the middle of the
//! snapshot or of dpkg. `systemctl restart` then replaces the parked process with the installed
//! version, on the socket systemd kept open: clients wait in its backlog throughout.

use super::Env;
use super::tool::{ToolError, run_tool};
use crate::sockets::takeover::{self, RecvError};
use crate::sockets::{self, Named, SocketsError};
use crate::update::journal::{Journal, Restart};
use crate::update::probe::{Probe, ProbeError};
use crate::update::runtime::{self, RunRecord, RuntimeError};
use std::fs::{self, OpenOptions};
use std::os::fd::BorrowedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Why the server could not be stopped or started, or did not become ready.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("a server holds the data dir but wrote no run.json; stop it yourself")]
    NoRunRecord,
    #[error("bad pid in run.json")]
    BadPid { pid: u32 },
    #[error("process {pid} holds no holdfast binary ({exe}); stop the server yourself")]
    ForeignProcess { pid: u32, exe: String },
    #[error("cannot stop process {pid}: {source}")]
    Signal {
        pid: u32,
        #[source]
        source: nix::errno::Errno,
    },
    #[error("the server did not let go of the data dir")]
    DidNotLetGo,
    #[error("{}: {source}", .path.display())]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start {}: {source}", .exe.display())]
    Start {
        exe: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Certificate(#[source] crate::tls::TlsError),
    #[error("{} holds no certificate", .path.display())]
    NoCertificate { path: PathBuf },
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("the new server exited ({status}) before it was ready; its output is in {}", .log.display())]
    Exited { status: ExitStatus, log: PathBuf },
    #[error(
        "the server did not become ready within {seconds} s (a version that migrates a large \
         instance may need longer: [update] ready_timeout_seconds)"
    )]
    NotReady { seconds: u64 },
    #[error("a hand-over needs a server outside systemd")]
    NotDetached,
    #[error(transparent)]
    Sockets(#[from] SocketsError),
    #[error("hand-over with the new server: {0}")]
    Handover(#[from] RecvError),
    #[error("the new server said {0} out of turn")]
    OutOfTurn(String),
    #[error(
        "the new server (PID {pid}) exited before it was ready; its output is in the service's journal (journalctl -u holdfast)"
    )]
    InUnitExited { pid: u32 },
    #[error("the running service did not start the new version (control request `spawn` refused)")]
    SpawnRefused,
    #[error("the running service refused to hand over to the new server (PID {pid})")]
    HandOverRefused { pid: u32 },
    #[error("the server that answered is {found}, not the new one ({expected})")]
    OtherServer { expected: String, found: String },
}

/// Stops whatever server holds the data dir (under systemd: parks it), and waits until it has let
/// go of it.
pub(super) fn stop_server(env: &Env, j: &mut Journal) -> Result<(), ServerError> {
    let d = env.data_dir;
    if !runtime::server_running(d) {
        return Ok(());
    }
    match &j.restart {
        Restart::Systemd { unit } => {
            let unit = unit.clone();
            let control = d.join(crate::sockets::control::FILE);
            let parking = match crate::sockets::control::park(&control) {
                Ok(p) => p,
                Err(e) => {
                    (env.say)(&format!("the service's control socket: {e}"));
                    false
                }
            };
            let parked = parking && wait_until(env.stop_timeout, || !runtime::server_running(d));
            if !parked {
                // A version that cannot park is stopped together with its socket units: clients
                // are refused until it is back, but no connection can start it again meanwhile.
                let sockets = unit_sockets(&unit, false);
                (env.say)(&format!(
                    "the service did not park; stopping {}",
                    sockets
                        .iter()
                        .chain(std::iter::once(&unit))
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
                let mut args = vec!["stop"];
                args.extend(sockets.iter().map(String::as_str));
                args.push(&unit);
                run_tool("systemctl", &args)?;
                j.sockets_held = false;
            }
        }
        Restart::Detached { .. } => {
            let rec = runtime::read(d)?.ok_or(ServerError::NoRunRecord)?;
            let pid = nix::unistd::Pid::from_raw(
                i32::try_from(rec.pid).map_err(|_| ServerError::BadPid { pid: rec.pid })?,
            );
            // Only a process that runs our binary is signalled (the PID could have been reused).
            let exe = fs::read_link(format!("/proc/{}/exe", rec.pid)).unwrap_or_default();
            let exe = exe.to_string_lossy().replace(" (deleted)", "");
            if Path::new(&exe) != j.exe {
                return Err(ServerError::ForeignProcess { pid: rec.pid, exe });
            }
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).map_err(|source| {
                ServerError::Signal {
                    pid: rec.pid,
                    source,
                }
            })?;
            if !wait_until(env.stop_timeout, || !runtime::server_running(d)) {
                (env.say)(&format!(
                    "the server did not stop within {} s; killing it",
                    env.stop_timeout.as_secs()
                ));
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
    if !wait_until(Duration::from_secs(10), || !runtime::server_running(d)) {
        return Err(ServerError::DidNotLetGo);
    }
    Ok(())
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts the server the journal names; a detached one is returned so that it can be ended by
/// its handle if it never becomes ready. A detached one gets `held`, the listening sockets this
/// update holds, instead of binding its own: clients wait in their backlog, never refused.
pub(super) fn start_server(
    env: &Env,
    j: &Journal,
    held: Option<&Named>,
) -> Result<Option<Child>, ServerError> {
    match &j.restart {
        Restart::Systemd { unit } => {
            retire_orphan_sockets(unit);
            // `restart`, not `start`: a parked server is still the running service. With
            // Type=notify this returns when the new server said READY=1 or failed; its socket unit
            // (Requires=) is started first if a fallback stopped it.
            run_tool("systemctl", &["restart", unit])?;
            Ok(None)
        }
        Restart::Detached { .. } => Ok(Some(spawn_detached(env, j, held, None)?)),
    }
}

/// The socket units that start `unit` (its `TriggeredBy=`); with `active_only`, those listening.
pub(super) fn unit_sockets(unit: &str, active_only: bool) -> Vec<String> {
    let Ok(list) = run_tool("systemctl", &["show", "--value", "-p", "TriggeredBy", unit]) else {
        return Vec::new();
    };
    list.split_whitespace()
        .filter(|s| s.ends_with(".socket"))
        .filter(|s| {
            !active_only || run_tool("systemctl", &["is-active", s]).is_ok_and(|a| a == "active")
        })
        .map(str::to_string)
        .collect()
}

/// A rollback to a version whose package has no holdfast.socket leaves that unit listening (dpkg
/// removed its file, nothing stopped it): the old version, binding the port itself, would fail.
/// So a socket unit named after the service whose file is gone is stopped before the start.
fn retire_orphan_sockets(unit: &str) {
    let Some(stem) = unit.strip_suffix(".service") else {
        return;
    };
    let socket = format!("{stem}.socket");
    let state = run_tool(
        "systemctl",
        &["show", "--value", "-p", "LoadState,ActiveState", &socket],
    )
    .unwrap_or_default();
    let mut lines = state.lines();
    if lines.next() == Some("not-found") && lines.next() == Some("active") {
        let _ = run_tool("systemctl", &["stop", &socket]);
    }
}

/// Starts the journal's binary with the old server's arguments (output to `update/server.log`),
/// with `held` and, for a hand-over, the channel end `takeover`.
pub(super) fn spawn_detached(
    env: &Env,
    j: &Journal,
    held: Option<&Named>,
    takeover: Option<BorrowedFd<'_>>,
) -> Result<Child, ServerError> {
    let (args, cwd) = match &j.restart {
        Restart::Detached { args, cwd } => (args, cwd),
        Restart::Systemd { .. } => return Err(ServerError::NotDetached),
    };
    let log_path = super::update_dir(env.data_dir).join("server.log");
    let log_error = |source| ServerError::Log {
        path: log_path.clone(),
        source,
    };
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(log_error)?;
    let err = log.try_clone().map_err(log_error)?;
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(&j.exe);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        // Its own process group: a Ctrl-C meant for the update does not stop the server.
        .process_group(0);
    match held {
        Some(held) => sockets::spawn_with(&mut cmd, held, takeover.map(|fd| (takeover::ENV, fd)))
            .map_err(ServerError::Sockets),
        None => cmd.spawn().map_err(|source| ServerError::Start {
            exe: j.exe.clone(),
            source,
        }),
    }
}

/// Waits until a server with a boot id not in `exclude` answers `/readyz` with 200.
pub(super) fn wait_ready(
    env: &Env,
    exclude: &[String],
    child: Option<&mut Child>,
) -> Result<RunRecord, ServerError> {
    let d = env.data_dir;
    let probe = pinned_probe(env)?;
    let end = Instant::now() + env.ready_timeout;
    let mut child = child;
    loop {
        if let Some(c) = child.as_deref_mut()
            && let Ok(Some(status)) = c.try_wait()
        {
            return Err(ServerError::Exited {
                status,
                log: super::update_dir(d).join("server.log"),
            });
        }
        if let Ok(Some(rec)) = runtime::read(d)
            && !exclude.contains(&rec.boot_id)
            && runtime::server_running(d)
            && matches!(probe.ready(rec.listen), Ok(true))
        {
            return Ok(rec);
        }
        if Instant::now() >= end {
            return Err(ServerError::NotReady {
                seconds: env.ready_timeout.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The readiness probe, trusting exactly the server's certificate.
pub(super) fn pinned_probe(env: &Env) -> Result<Probe, ServerError> {
    let cert = crate::tls::load_chain(env.cert)
        .map_err(ServerError::Certificate)?
        .into_iter()
        .next()
        .ok_or_else(|| ServerError::NoCertificate {
            path: env.cert.to_path_buf(),
        })?;
    Ok(Probe::new(cert)?)
}
