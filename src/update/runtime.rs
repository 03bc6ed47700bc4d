//! The running server: the lock `serve` holds on its data dir, and its record (`run.json`): which
//! process serves, from which binary and arguments, on which address, with which schema per
//! instance. `serve` writes the record once it is ready; `update apply` reads it to stop, restart and
//! recognise the new version; restore and update check the lock. A server parking for an update
//! lets go of the lock only once no write can reach a database (`release_when_closed`).

use super::record_file::{self, RecordFileError};
use chrono::{DateTime, Utc};
use nix::fcntl::Flock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why the run record could not be read, written or made.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    File(#[from] RecordFileError),
    /// `getrandom::Error` is not a `std::error::Error` without its `std` feature, so it is shown only.
    #[error("no randomness for the boot id: {0}")]
    Randomness(getrandom::Error),
    #[error("own executable: {0}")]
    OwnExe(#[source] std::io::Error),
    #[error("current directory: {0}")]
    CurrentDir(#[source] std::io::Error),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    pub pid: u32,
    /// Random per start: tells a restarted server from the one before it, even with the same PID.
    pub boot_id: String,
    pub version: String,
    pub exe: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub listen: SocketAddr,
    /// The systemd service that runs this server, when it runs under one.
    pub systemd_unit: Option<String>,
    pub schemas: BTreeMap<String, i64>,
    pub ready_at: DateTime<Utc>,
}

/// The lock `serve` holds on its data dir for as long as it runs.
pub const LOCK_FILE: &str = "serve.lock";

/// The lock a server holds on its data dir, taken without waiting; `None` when another process
/// holds it.
pub fn lock(data_dir: &Path) -> std::io::Result<Option<Flock<std::fs::File>>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(data_dir.join(LOCK_FILE))?;
    Ok(Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock).ok())
}

/// A parking server that could not let go of its data dir: the lock, still held, and the
/// instances whose writer still ran a write at the deadline.
#[derive(Debug)]
pub struct StillWriting {
    pub lock: Flock<std::fs::File>,
    pub instances: Vec<String>,
}

/// Lets go of `lock` only once the writer of every one of `instances` is closed
/// (`Database::close_writer`), which waits until `deadline` for a write in progress to end. Then
/// nothing in this process can change a database any more — not a request still in flight, not a
/// blocking task the runtime could not end — and `update apply` may snapshot, migrate and replace
/// the files. Otherwise the lock is given back, held: releasing it would let the update copy a
/// database that a write is still changing.
pub fn release_when_closed(
    lock: Flock<std::fs::File>,
    instances: &[std::sync::Arc<crate::instances::Instance>],
    deadline: std::time::Instant,
) -> Result<(), StillWriting> {
    let busy: Vec<String> = instances
        .iter()
        .filter(|i| !i.db.close_writer(deadline))
        .map(|i| i.name.clone())
        .collect();
    if !busy.is_empty() {
        return Err(StillWriting {
            lock,
            instances: busy,
        });
    }
    drop(lock);
    Ok(())
}

/// True while a `holdfast serve` holds the data dir's lock.
pub fn server_running(data_dir: &Path) -> bool {
    let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(data_dir.join(LOCK_FILE))
    else {
        return false;
    };
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock).is_err()
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("run.json")
}

pub fn write(data_dir: &Path, rec: &RunRecord) -> Result<(), RuntimeError> {
    Ok(record_file::write(&path(data_dir), rec)?)
}

/// The last record written, whether or not that server still runs (see `serve::server_running`).
pub fn read(data_dir: &Path) -> Result<Option<RunRecord>, RuntimeError> {
    Ok(record_file::read(&path(data_dir))?)
}

/// The systemd unit this process runs in, from its cgroup (`0::/system.slice/holdfast.service`).
pub fn own_systemd_unit() -> Option<String> {
    std::env::var_os("INVOCATION_ID")?;
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroup
        .lines()
        .filter_map(|l| l.rsplit('/').next())
        .find(|last| last.ends_with(".service"))
        .map(str::to_string)
}

/// A random boot id for a server starting now.
pub fn new_boot_id() -> Result<String, RuntimeError> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(RuntimeError::Randomness)?;
    Ok(hex::encode(id))
}

/// The record for this process, from what `serve` knows once it listens.
pub fn for_this_process(
    listen: SocketAddr,
    schemas: BTreeMap<String, i64>,
    now: DateTime<Utc>,
    boot_id: String,
) -> Result<RunRecord, RuntimeError> {
    Ok(RunRecord {
        pid: std::process::id(),
        boot_id,
        version: env!("CARGO_PKG_VERSION").into(),
        exe: std::env::current_exe().map_err(RuntimeError::OwnExe)?,
        args: std::env::args().skip(1).collect(),
        cwd: std::env::current_dir().map_err(RuntimeError::CurrentDir)?,
        listen,
        systemd_unit: own_systemd_unit(),
        schemas,
        ready_at: now,
    })
}
