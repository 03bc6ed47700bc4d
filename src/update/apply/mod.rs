//! Applying a verified bundle: the journaled step machine from staging to a ready new server, and
//! the public entry points for rollback and recovery (`recover`). Each step is journaled
//! (`update::journal`) before the next begins; whatever happens, the machine ends with the old
//! version running on its old data or the new version complete, never a mix.
//!
//! Layout under `<data dir>/update/`: `work/` holds the update in progress (journal, private copy of
//! the bundle, payload, new and previous binary or package, database snapshot); after success it
//! becomes `last/`, which `rollback` uses; `packages/` keeps the installed package for the next
//! packaged rollback; `update.lock` keeps two updates apart; `server.log` receives the output of a
//! server started by an update outside systemd.
//!
//! The parts: `stage` (everything before the server is touched), `install` (package or binary in
//! place and back), `server` (stop, start, wait for ready), `snapshot` (the databases' safety
//! copy), `recover` (rollback and recovery), `files` and `tool` (file copies and system tools).

mod files;
mod install;
mod recover;
mod server;
mod snapshot;
mod stage;
mod takeover;
mod tool;

pub use files::FileError;
pub use install::{InstallError, PACKAGED_EXE};
pub use recover::{recover, rollback};
pub use server::ServerError;
pub use snapshot::SnapshotError;
pub use stage::{checked_package, package_version};
pub use tool::ToolError;

use super::bundle::{BundleError, Verified};
use super::journal::{self, InstallKind, Journal, JournalError, Step};
use super::runtime::{self, RuntimeError};
use super::state::{self, StateError};
use crate::audit::Event;
use crate::clock::Clock;
use crate::fsutil;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

/// A test hook: the update stops itself (SIGSTOP) right after journaling the named step, so that a
/// test can kill it exactly there. It changes no decision of the update.
pub const PAUSE_ENV: &str = "HOLDFAST_UPDATE_PAUSE_AT";

/// Everything an update needs from its caller.
pub struct Env<'a> {
    pub data_dir: &'a Path,
    /// The server's TLS certificate, pinned by the readiness probe.
    pub cert: &'a Path,
    pub ready_timeout: Duration,
    pub stop_timeout: Duration,
    pub clock: &'a dyn Clock,
    /// Progress lines for the operator.
    pub say: &'a dyn Fn(&str),
    /// Writes one event to the security log.
    pub audit: &'a dyn Fn(Event, bool, serde_json::Value),
    /// Start the next version beside the running one when the schema allows (`false`: stop or
    /// park the running one first, `--stop-first`).
    pub hand_over: bool,
}

/// Why the caller's pre-update backup failed, in the caller's words.
pub type BackupError = Box<dyn std::error::Error + Send + Sync>;

/// Why an update, rollback or recovery did not happen. `Refused` means the bundle was refused and
/// nothing changed; every other variant says what could not be done, and the message what state
/// it left.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("update bundle refused: {0}")]
    Refused(#[source] BundleError),
    #[error("another update, rollback or recovery is running")]
    Busy,
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("the bundle carries no .deb package")]
    NoPackage,
    #[error("{} is not built for {arch}", .deb.display())]
    WrongArch { deb: PathBuf, arch: String },
    #[error("{} is not a holdfast package", .deb.display())]
    NotHoldfast { deb: PathBuf },
    #[error(
        "the bundle says version {bundle} but the package inside it is holdfast {package}: a bundle must carry the release it names (nothing was changed)"
    )]
    VersionMismatch { bundle: String, package: String },
    #[error(
        "no holdfast server is running on this data dir: start it first, so that the update can check the new version against the running one"
    )]
    NoServer,
    #[error("the running server wrote no run.json (is it older than 0.1?)")]
    NoRunRecord,
    #[error("own executable: {0}")]
    OwnExe(#[source] std::io::Error),
    #[error(
        "the server runs {} but this command is {}: run `{} update apply` instead",
        .server.display(),
        .own.display(),
        .server.display()
    )]
    OtherBinary { server: PathBuf, own: PathBuf },
    #[error("previous package has no file name")]
    PreviousNoFileName,
    #[error("{0}")]
    Backup(#[source] BackupError),
    #[error("the server that answered is not the new binary")]
    NotNewBinary,
    #[error("the old version was put back but did not become ready: {0}")]
    OldNotReady(#[source] ServerError),
    #[error("after the rollback the binary is not the old one")]
    NotOldBinary,
    #[error("there is no completed update to roll back")]
    NothingToRollBack,
    #[error(
        "the update to {to} changed the database schema ({:?} → {:?}): rolling back restores the databases as they were before the update on {}, and everything written since is lost. Take a backup, then run again with --discard-changes",
        .old,
        .new,
        .started_at.to_rfc3339()
    )]
    SchemaChanged {
        to: String,
        old: BTreeMap<String, i64>,
        new: BTreeMap<String, i64>,
        started_at: DateTime<Utc>,
    },
}

impl ApplyError {
    fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> ApplyError {
        let path = path.to_path_buf();
        move |source| ApplyError::Io { path, source }
    }
}

#[derive(Debug, PartialEq)]
pub enum Outcome {
    Applied {
        from: String,
        to: String,
        downtime_ms: Option<i64>,
        /// The listening sockets stayed open: clients waited up to `downtime_ms`, none refused.
        sockets_held: bool,
    },
    RolledBack {
        from: String,
        to: String,
        reason: String,
        downtime_ms: Option<i64>,
        sockets_held: bool,
    },
    /// An interrupted update had not touched the system yet; its files were removed.
    Discarded { to: String },
}

fn update_dir(d: &Path) -> PathBuf {
    d.join("update")
}
pub fn work_dir(d: &Path) -> PathBuf {
    update_dir(d).join("work")
}
pub fn last_dir(d: &Path) -> PathBuf {
    update_dir(d).join("last")
}
fn packages_dir(d: &Path) -> PathBuf {
    update_dir(d).join("packages")
}

/// Held for the whole of an apply, rollback or recovery.
pub struct Lock {
    _lock: nix::fcntl::Flock<File>,
}

pub fn lock(d: &Path) -> Result<Lock, ApplyError> {
    let dir = update_dir(d);
    fsutil::ensure_private_dir(&dir).map_err(ApplyError::io_at(&dir))?;
    let p = dir.join("update.lock");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&p)
        .map_err(ApplyError::io_at(&p))?;
    let lock = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|_| ApplyError::Busy)?;
    Ok(Lock { _lock: lock })
}

pub(super) fn pause_point(step: Step) {
    if std::env::var(PAUSE_ENV).is_ok_and(|v| v == step.name()) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
    }
}

fn advance(work: &Path, j: &mut Journal, step: Step) -> Result<(), JournalError> {
    j.step = step;
    journal::save(work, j)?;
    pause_point(step);
    Ok(())
}

/// What the caller checks before anything is touched.
pub struct Request<'a> {
    pub bundle: &'a Path,
    pub max_size: u64,
    pub verify: &'a dyn Fn(&Path) -> Result<Verified, BundleError>,
    /// The package of the installed version, for the first packaged update (later ones keep it).
    pub previous_deb: Option<&'a Path>,
    /// Writes the pre-update backup archives (the server still runs); lines for the operator.
    pub backup: &'a mut dyn FnMut() -> Result<Vec<String>, BackupError>,
}

/// `holdfast update apply`: see the module comment and docs/updating.md.
pub fn apply(env: &Env, req: Request) -> Result<Outcome, ApplyError> {
    let d = env.data_dir;
    let _lock = lock(d)?;
    if let Some(o) = recover::recover_locked(env)? {
        (env.say)(&format!("finished an interrupted update first: {o:?}"));
    }
    let work = work_dir(d);
    if work.exists() {
        fs::remove_dir_all(&work).map_err(ApplyError::io_at(&work))?;
    }
    fsutil::ensure_private_dir(&work).map_err(ApplyError::io_at(&work))?;
    let result = stage::stage(env, &work, req);
    let mut j = match result {
        Ok(j) => j,
        Err(e) => {
            let _ = fs::remove_dir_all(&work);
            return Err(e);
        }
    };
    run_forward(env, &work, &mut j)
}

/// From `BackedUp` on: hand over to the new version beside the old one (outside systemd with the
/// sockets this update holds, under systemd inside the service), or stop (park), snapshot,
/// install, start, wait; roll back by itself on failure.
fn run_forward(env: &Env, work: &Path, j: &mut Journal) -> Result<Outcome, ApplyError> {
    let held = held_sockets(env, j);
    j.sockets_held = held.is_some() || unit_sockets_listen(j);
    if let Err(e) = forward_steps(env, work, j, held.as_ref()) {
        (env.say)(&format!("update failed: {e}; rolling back"));
        return recover::rollback_from(env, work, j, e.to_string(), held.as_ref());
    }
    finish_applied(env, work, j)
}

/// Under systemd: whether a socket unit holds the service's listening socket (holdfast.socket), so
/// that clients wait while the service restarts.
pub(super) fn unit_sockets_listen(j: &Journal) -> bool {
    match &j.restart {
        journal::Restart::Systemd { unit } => !server::unit_sockets(unit, true).is_empty(),
        journal::Restart::Detached { .. } => false,
    }
}

/// The running server's listening sockets, from its control socket, when it runs outside systemd
/// (under systemd, `holdfast.socket` holds them). `None` from a version without a control socket:
/// that update stops the old server before the new one binds its own.
pub(super) fn held_sockets(env: &Env, j: &Journal) -> Option<crate::sockets::Named> {
    if !matches!(j.restart, journal::Restart::Detached { .. }) {
        return None;
    }
    let path = env.data_dir.join(crate::sockets::control::FILE);
    match crate::sockets::control::fetch(&path) {
        Ok(held) => held,
        Err(e) => {
            (env.say)(&format!(
                "the running server did not hand over its sockets ({e}); it is stopped before the new one starts"
            ));
            None
        }
    }
}

fn forward_steps(
    env: &Env,
    work: &Path,
    j: &mut Journal,
    held: Option<&crate::sockets::Named>,
) -> Result<(), ApplyError> {
    let d = env.data_dir;
    if env.hand_over && (held.is_some() || takeover::in_unit(env, j)) {
        j.hand_over = true;
        advance(work, j, Step::Swapped)?;
        install::install_new(work, j)?;
        let mut mark =
            |j: &mut Journal, step: Step| -> Result<(), ApplyError> { Ok(advance(work, j, step)?) };
        match takeover::take_over(env, j, held, &mut mark)? {
            takeover::TakeOver::Serving(rec) => return ready(env, work, j, *rec),
            takeover::TakeOver::SchemaChange => {
                // The journal says so before the old server is touched: a rollback from here on
                // puts the snapshot back.
                j.hand_over = false;
                journal::save(work, j)?;
            }
        }
    }
    j.stopped_at = Some(env.clock.now());
    advance(work, j, Step::Stopping)?;
    server::stop_server(env, j)?;
    advance(work, j, Step::Stopped)?;
    snapshot::snapshot(d, work)?;
    advance(work, j, Step::Snapshotted)?;
    install::install_new(work, j)?;
    advance(work, j, Step::Installed)?;
    let mut child = server::start_server(env, j, held)?;
    j.started_pid = child.as_ref().map(Child::id);
    advance(work, j, Step::Started)?;
    let exclude = j.old_boot.clone().into_iter().collect::<Vec<_>>();
    let rec = match server::wait_ready(env, &exclude, child.as_mut()) {
        Ok(rec) => rec,
        Err(e) => {
            // A server this update started and that never became ready is ended here, by the
            // handle of the process we started (it may not have written run.json yet); the
            // snapshot restored by the rollback undoes whatever it did to the databases.
            if let Some(c) = child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
            return Err(e.into());
        }
    };
    ready(env, work, j, rec)
}

/// The new server answered ready: it must run the new binary; the update is complete.
fn ready(
    env: &Env,
    work: &Path,
    j: &mut Journal,
    rec: runtime::RunRecord,
) -> Result<(), ApplyError> {
    if files::sha256_file(&j.exe)? != j.new_sha256 {
        return Err(ApplyError::NotNewBinary);
    }
    j.new_boot = Some(rec.boot_id);
    j.new_schemas = rec.schemas;
    j.ready_at = Some(env.clock.now());
    Ok(advance(work, j, Step::Ready)?)
}

fn downtime(j: &Journal) -> Option<i64> {
    Some((j.ready_at? - j.stopped_at?).num_milliseconds())
}

fn finish_applied(env: &Env, work: &Path, j: &mut Journal) -> Result<Outcome, ApplyError> {
    let d = env.data_dir;
    let now = env.clock.now();
    state::complete_update(d, now, j.security_epoch, &j.to_version)?;
    state::note(
        d,
        now,
        "apply",
        Some(j.to_version.clone()),
        "applied",
        format!(
            "from {}; {} {} ms",
            j.from_version,
            if j.sockets_held {
                "new connections waited up to"
            } else {
                "unavailable"
            },
            downtime(j).unwrap_or(0)
        ),
    )?;
    (env.audit)(
        Event::UpdateApplied,
        true,
        serde_json::json!({ "from": j.from_version, "to": j.to_version, "downtime_ms": downtime(j), "handed_over": j.hand_over, "sockets_held": j.sockets_held }),
    );
    if let InstallKind::Packaged { .. } = j.kind {
        install::keep_package(d, &work.join("payload").join(&j.payload))?;
    }
    // Only what a later rollback needs stays.
    let _ = fs::remove_file(work.join("bundle.hfu"));
    let _ = fs::remove_dir_all(work.join("new"));
    let last = last_dir(d);
    let old = update_dir(d).join("last.old");
    let _ = fs::remove_dir_all(&old);
    if last.exists() {
        fs::rename(&last, &old).map_err(ApplyError::io_at(&last))?;
    }
    fs::rename(work, &last).map_err(ApplyError::io_at(work))?;
    let _ = fs::remove_dir_all(&old);
    let _ = fsutil::sync_dir(&update_dir(d));
    Ok(Outcome::Applied {
        from: j.from_version.clone(),
        to: j.to_version.clone(),
        downtime_ms: downtime(j),
        sockets_held: j.sockets_held,
    })
}

/// The last completed update, if a rollback is still possible.
pub fn last_completed(d: &Path) -> Option<Journal> {
    journal::load(&last_dir(d))
        .ok()
        .flatten()
        .filter(|j| j.step == Step::Ready)
}

/// An update that did not finish (shown by `update status`).
pub fn interrupted(d: &Path) -> Option<Journal> {
    journal::load(&work_dir(d)).ok().flatten()
}

/// One line on the last completed update and what `update rollback` would do (console and web).
pub fn describe_last(j: &Journal) -> String {
    format!(
        "{} → {} on {} (`holdfast update rollback` puts {} back{})",
        j.from_version,
        j.to_version,
        since(j.ready_at),
        j.from_version,
        if j.old_schemas != j.new_schemas {
            "; the schema changed, so the databases would return to their state before the update and need --discard-changes"
        } else {
            "; the data written since stays"
        }
    )
}

pub fn since(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into())
}
