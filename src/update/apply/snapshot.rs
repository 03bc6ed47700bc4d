//! The databases' safety copy: every instance database (with a WAL left behind) copied aside
//! before the new version starts, and put back by a rollback.

use super::files::{self, FileError, copy_private};
use crate::fsutil;
use crate::instances::{self, InstanceError};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Why the databases could not be copied aside or put back.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Instances(#[source] InstanceError),
    #[error(transparent)]
    File(#[from] FileError),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SnapshotError {
    let path = path.to_path_buf();
    move |source| SnapshotError::Io { path, source }
}

/// Copies every instance database (with its WAL, if one is left) into `work/snapshot`, synced.
pub(super) fn snapshot(d: &Path, work: &Path) -> Result<(), SnapshotError> {
    snapshot_into(d, &work.join("snapshot"))
}

pub(super) fn snapshot_into(d: &Path, snap: &Path) -> Result<(), SnapshotError> {
    if snap.exists() {
        fs::remove_dir_all(snap).map_err(io_at(snap))?;
    }
    for name in instances::list_names(d).map_err(SnapshotError::Instances)? {
        let src = instances::instances_dir(d).join(&name);
        let dest = snap.join(&name);
        fsutil::ensure_private_dir(&dest).map_err(io_at(&dest))?;
        for file in ["db.sqlite", "db.sqlite-wal"] {
            let from = src.join(file);
            if from.exists() {
                copy_private(&from, &dest.join(file), u64::MAX, 0o600)?;
            }
        }
        fsutil::sync_dir(&dest).map_err(io_at(&dest))?;
    }
    fsutil::ensure_private_dir(snap).map_err(io_at(snap))?;
    fsutil::sync_dir(snap).map_err(io_at(snap))
}

/// Puts the snapshot back: each file is copied beside its target, synced, given the target's owner
/// and renamed over it; a WAL or shared-memory file of the newer version is removed.
pub(super) fn restore_snapshot(d: &Path, work: &Path) -> Result<(), SnapshotError> {
    let snap = work.join("snapshot");
    let entries = fs::read_dir(&snap).map_err(io_at(&snap))?;
    for e in entries.flatten() {
        let name = e.file_name();
        let target = instances::instances_dir(d).join(&name);
        if !target.is_dir() {
            continue;
        }
        let owner = fs::metadata(&target).map_err(io_at(&target))?;
        for file in ["db.sqlite", "db.sqlite-wal"] {
            let from = e.path().join(file);
            let to = target.join(file);
            if from.exists() {
                let tmp = target.join(format!(".{file}.restore"));
                let _ = fs::remove_file(&tmp);
                copy_private(&from, &tmp, u64::MAX, 0o600)?;
                files::chown_like(&tmp, &owner)?;
                fs::rename(&tmp, &to).map_err(io_at(&to))?;
            } else {
                match fs::remove_file(&to) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        return Err(io_at(&to)(e));
                    }
                    _ => {}
                }
            }
        }
        let _ = fs::remove_file(target.join("db.sqlite-shm"));
        fsutil::sync_dir(&target).map_err(io_at(&target))?;
    }
    Ok(())
}
