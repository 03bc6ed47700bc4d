//! The hand-over: the installed binary is started beside the running server, on its listening
//! sockets, opens the instances and becomes ready on a private port; only then is the running
//! server stopped (it stops accepting, finishes what is in flight, exits) and the new one told to
//! serve. Clients connecting in between wait in the sockets' backlog. A new server that exits,
//! hangs or never answers ready is ended, and the running one was never asked to stop.
//!
//! Outside systemd this update starts the new server itself, on the sockets it holds (taken from
//! the running server's control socket). Under systemd the running service starts it (control
//! request `spawn`), so that it runs inside the service with the service's sandbox, and at the
//! switch makes it the service's main process (`handover`: `MAINPID=`) before it stops; the
//! sockets are holdfast.socket's. This update drives both the same way, over the channel.

use super::server::{self, ServerError};
use super::{ApplyError, Env};
use crate::sockets::Named;
use crate::sockets::takeover::{Channel, Msg, RecvError};
use crate::update::journal::{Journal, Restart, Step};
use crate::update::runtime::{self, RunRecord};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// The new server a hand-over started: this update's own child (outside systemd), or the running
/// service's child, known by its PID only (under systemd).
enum Candidate {
    Child(Child),
    InUnit(u32),
}

impl Candidate {
    fn id(&self) -> u32 {
        match self {
            Candidate::Child(c) => c.id(),
            Candidate::InUnit(pid) => *pid,
        }
    }

    fn child(&mut self) -> Option<&mut Child> {
        match self {
            Candidate::Child(c) => Some(c),
            Candidate::InUnit(_) => None,
        }
    }

    /// Why it is gone, if it is.
    fn exited(&mut self, env: &Env) -> Option<ServerError> {
        match self {
            Candidate::Child(c) => c.try_wait().ok().flatten().map(|s| exited(env, s)),
            Candidate::InUnit(pid) => {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                (stat.is_empty() || state.starts_with('Z'))
                    .then_some(ServerError::InUnitExited { pid: *pid })
            }
        }
    }

    /// Ends it: by its handle, or (inside the service, where the running server reaps it) by its
    /// PID, only while that PID runs our binary.
    fn end(&mut self, exe: &Path) {
        match self {
            Candidate::Child(c) => {
                let _ = c.kill();
                let _ = c.wait();
            }
            Candidate::InUnit(pid) => kill_if_ours(*pid, exe),
        }
    }
}

/// SIGKILL to `pid` if it runs `exe` (the PID could have been reused).
pub(super) fn kill_if_ours(pid: u32, exe: &Path) {
    let running = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    let running = running.to_string_lossy().replace(" (deleted)", "");
    if Path::new(&running) == exe
        && let Ok(pid) = i32::try_from(pid)
    {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Whether the running service can start the next version inside itself and hand over to it:
/// under systemd, with a server that understands `spawn` and `handover`.
pub(super) fn in_unit(env: &Env, j: &Journal) -> bool {
    if !matches!(j.restart, Restart::Systemd { .. }) {
        return false;
    }
    let control = env.data_dir.join(crate::sockets::control::FILE);
    let caps = crate::sockets::control::caps(&control).unwrap_or_default();
    ["spawn", "handover"]
        .iter()
        .all(|c| caps.iter().any(|have| have == c))
}

/// How a hand-over ended, when it did not fail.
pub(super) enum TakeOver {
    /// The new server serves; its record.
    Serving(Box<RunRecord>),
    /// The new version would migrate a database: the old server must stop first (and the
    /// databases be snapshotted), so nothing was changed but the binary.
    SchemaChange,
}

/// Journals a step of the hand-over (the forward path advances the journal; a rollback only
/// saves it, staying at `rolling_back`).
pub(super) type Mark<'a> = dyn FnMut(&mut Journal, Step) -> Result<(), ApplyError> + 'a;

/// Hands the running server's place to the binary now at `j.exe`; see the module comment.
/// `held`: the sockets this update holds (outside systemd); `None` under systemd.
pub(super) fn take_over(
    env: &Env,
    j: &mut Journal,
    held: Option<&Named>,
    mark: &mut Mark<'_>,
) -> Result<TakeOver, ApplyError> {
    let (mut ch, theirs) = Channel::pair().map_err(ServerError::Sockets)?;
    let mut child = match (&j.restart, held) {
        (Restart::Detached { .. }, Some(held)) => Candidate::Child(server::spawn_detached(
            env,
            j,
            Some(held),
            Some(theirs.as_fd()),
        )?),
        (Restart::Systemd { .. }, _) => {
            let control = env.data_dir.join(crate::sockets::control::FILE);
            let pid = crate::sockets::control::spawn(&control, theirs.as_fd())
                .map_err(ServerError::Sockets)?
                .ok_or(ServerError::SpawnRefused)?;
            Candidate::InUnit(pid)
        }
        (Restart::Detached { .. }, None) => return Err(ServerError::NotDetached.into()),
    };
    // Only the new server holds its end now: if it exits, the channel says so at once.
    drop(theirs);
    j.started_pid = Some(child.id());
    let end = Instant::now() + env.ready_timeout;
    let candidate = mark(j, Step::Candidate)
        .and_then(|()| Ok(candidate_ready(env, j, &mut ch, &mut child, end)?));
    let boot = match candidate {
        Ok(Some(boot)) => boot,
        Ok(None) => {
            child.end(&j.exe);
            return Ok(TakeOver::SchemaChange);
        }
        Err(e) => {
            child.end(&j.exe);
            return Err(e);
        }
    };
    let serving = switch(env, j, &mut ch, &mut child, &boot, mark);
    if serving.is_err() {
        child.end(&j.exe);
    }
    serving.map(|rec| TakeOver::Serving(Box::new(rec)))
}

/// Until the new server is ready on its private port: `Some(its boot id)`, or `None` when it
/// would change a schema.
fn candidate_ready(
    env: &Env,
    j: &Journal,
    ch: &mut Channel,
    child: &mut Candidate,
    end: Instant,
) -> Result<Option<String>, ServerError> {
    let schema = match recv(env, ch, child, end)? {
        Msg::Schema(n) => n,
        other => return Err(ServerError::OutOfTurn(format!("{other:?}"))),
    };
    if j.old_schemas.values().any(|v| *v != schema) {
        (env.say)(&format!(
            "the new version uses database schema {schema} (now {:?}): the old server stops first",
            j.old_schemas
        ));
        return Ok(None);
    }
    ch.send(&Msg::Open)?;
    let (addr, boot) = match recv(env, ch, child, end)? {
        Msg::Probe { addr, boot } => (addr, boot),
        other => return Err(ServerError::OutOfTurn(format!("{other:?}"))),
    };
    // Ready as the update judges it: /readyz over TLS with the server's certificate pinned, not
    // merely what the new server says of itself.
    let probe = server::pinned_probe(env)?;
    loop {
        if let Some(e) = child.exited(env) {
            return Err(e);
        }
        if matches!(probe.ready(addr), Ok(true)) {
            return Ok(Some(boot));
        }
        if Instant::now() >= end {
            return Err(not_ready(env));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The old server stops (accepting first, then finishing what is in flight); once it has let go
/// of the data dir, the new one takes the lock and accepts.
fn switch(
    env: &Env,
    j: &mut Journal,
    ch: &mut Channel,
    child: &mut Candidate,
    boot: &str,
    mark: &mut Mark<'_>,
) -> Result<RunRecord, ApplyError> {
    j.stopped_at = Some(env.clock.now());
    mark(j, Step::Stopping)?;
    match child {
        Candidate::Child(_) => server::stop_server(env, j)?,
        Candidate::InUnit(pid) => hand_over(env, *pid)?,
    }
    mark(j, Step::Stopped)?;
    ch.send(&Msg::Go).map_err(ServerError::from)?;
    mark(j, Step::Started)?;
    let exclude: Vec<String> = j.old_boot.iter().chain(&j.new_boot).cloned().collect();
    let rec = server::wait_ready(env, &exclude, child.child())?;
    if rec.boot_id != boot {
        return Err(ServerError::OtherServer {
            expected: boot.to_string(),
            found: rec.boot_id,
        }
        .into());
    }
    Ok(rec)
}

/// Inside the service: the running server makes `pid` the service's main process and stops; done
/// once it has let go of the data dir.
fn hand_over(env: &Env, pid: u32) -> Result<(), ServerError> {
    let d = env.data_dir;
    let control = d.join(crate::sockets::control::FILE);
    if !crate::sockets::control::hand_over(&control, pid)? {
        return Err(ServerError::HandOverRefused { pid });
    }
    let end = Instant::now() + env.stop_timeout;
    while runtime::server_running(d) {
        if Instant::now() >= end {
            return Err(ServerError::DidNotLetGo);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

fn recv(
    env: &Env,
    ch: &mut Channel,
    child: &mut Candidate,
    end: Instant,
) -> Result<Msg, ServerError> {
    loop {
        match ch.recv(Some(Duration::from_millis(100))) {
            Ok(m) => return Ok(m),
            Err(RecvError::TimedOut) => {}
            Err(RecvError::Closed) => {
                // It closed its end: it exited or is exiting; its status, if it is there yet.
                let deadline = Instant::now() + Duration::from_secs(2);
                while Instant::now() < deadline {
                    if let Some(e) = child.exited(env) {
                        return Err(e);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                return Err(RecvError::Closed.into());
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(e) = child.exited(env) {
            return Err(e);
        }
        if Instant::now() >= end {
            return Err(not_ready(env));
        }
    }
}

fn exited(env: &Env, status: std::process::ExitStatus) -> ServerError {
    ServerError::Exited {
        status,
        log: super::update_dir(env.data_dir).join("server.log"),
    }
}

fn not_ready(env: &Env) -> ServerError {
    ServerError::NotReady {
        seconds: env.ready_timeout.as_secs(),
    }
}
