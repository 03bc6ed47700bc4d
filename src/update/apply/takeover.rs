//! The hand-over outside systemd: the installed binary is started beside the running server, on
//! the listening sockets this update holds (taken from the running server's control socket), opens
//! the instances and becomes ready on a private port; only then is the running server stopped
//! (it stops accepting, finishes what is in flight, exits) and the new one told to serve. Clients
//! connecting in between wait in the sockets' backlog. A new server that exits, hangs or never
//! answers ready is ended, and the running one was never asked to stop.

use super::server::{self, ServerError};
use super::{ApplyError, Env};
use crate::sockets::Named;
use crate::sockets::takeover::{Channel, Msg, RecvError};
use crate::update::journal::{Journal, Step};
use crate::update::runtime::RunRecord;
use std::os::fd::AsFd;
use std::process::Child;
use std::time::{Duration, Instant};

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
pub(super) fn take_over(
    env: &Env,
    j: &mut Journal,
    held: &Named,
    mark: &mut Mark<'_>,
) -> Result<TakeOver, ApplyError> {
    let (mut ch, theirs) = Channel::pair().map_err(ServerError::Sockets)?;
    let mut child = server::spawn_detached(env, j, Some(held), Some(theirs.as_fd()))?;
    // Only the new server holds its end now: if it exits, the channel says so at once.
    drop(theirs);
    j.started_pid = Some(child.id());
    let end = Instant::now() + env.ready_timeout;
    let candidate = mark(j, Step::Candidate)
        .and_then(|()| Ok(candidate_ready(env, j, &mut ch, &mut child, end)?));
    let boot = match candidate {
        Ok(Some(boot)) => boot,
        Ok(None) => {
            end_child(&mut child);
            return Ok(TakeOver::SchemaChange);
        }
        Err(e) => {
            end_child(&mut child);
            return Err(e);
        }
    };
    let serving = switch(env, j, &mut ch, &mut child, &boot, mark);
    if serving.is_err() {
        end_child(&mut child);
    }
    serving.map(|rec| TakeOver::Serving(Box::new(rec)))
}

/// Until the new server is ready on its private port: `Some(its boot id)`, or `None` when it
/// would change a schema.
fn candidate_ready(
    env: &Env,
    j: &Journal,
    ch: &mut Channel,
    child: &mut Child,
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
        if let Some(status) = child.try_wait().ok().flatten() {
            return Err(exited(env, status));
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
    child: &mut Child,
    boot: &str,
    mark: &mut Mark<'_>,
) -> Result<RunRecord, ApplyError> {
    j.stopped_at = Some(env.clock.now());
    mark(j, Step::Stopping)?;
    server::stop_server(env, j)?;
    mark(j, Step::Stopped)?;
    ch.send(&Msg::Go).map_err(ServerError::from)?;
    mark(j, Step::Started)?;
    let exclude: Vec<String> = j.old_boot.iter().chain(&j.new_boot).cloned().collect();
    let rec = server::wait_ready(env, &exclude, Some(child))?;
    if rec.boot_id != boot {
        return Err(ServerError::OtherServer {
            expected: boot.to_string(),
            found: rec.boot_id,
        }
        .into());
    }
    Ok(rec)
}

fn recv(env: &Env, ch: &mut Channel, child: &mut Child, end: Instant) -> Result<Msg, ServerError> {
    loop {
        match ch.recv(Some(Duration::from_millis(100))) {
            Ok(m) => return Ok(m),
            Err(RecvError::TimedOut) => {}
            Err(RecvError::Closed) => {
                // It closed its end: it exited or is exiting; its status, if it is there yet.
                let deadline = Instant::now() + Duration::from_secs(2);
                while Instant::now() < deadline {
                    if let Some(status) = child.try_wait().ok().flatten() {
                        return Err(exited(env, status));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                return Err(RecvError::Closed.into());
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(status) = child.try_wait().ok().flatten() {
            return Err(exited(env, status));
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

/// A new server that did not take over is ended by the handle of the process this update started.
fn end_child(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
