//! A consistent copy of a live database file, still encrypted with its key, for backups.

use super::{StorageError, open_connection};
use crate::crypto::Key256;
use rusqlite::OpenFlags;
use std::path::Path;
use std::time::Duration;

/// Copies the database at `source` (opened read-only with `key`) into a new file `dest` with the
/// same key, every page in one step, so the copy is one read transaction while writers carry on
/// in the WAL. The copy is in rollback-journal mode (one self-contained file) and fsynced.
pub fn snapshot_to(source: &Path, key: &Key256, dest: &Path) -> Result<(), StorageError> {
    let copy_err = |e: rusqlite::Error| StorageError::Snapshot(e.to_string());
    let src = open_connection(
        source,
        key,
        OpenFlags::SQLITE_OPEN_READ_ONLY,
        Duration::from_secs(30),
    )?;
    let mut dst = open_connection(
        dest,
        key,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        Duration::from_secs(30),
    )?;
    {
        let b = rusqlite::backup::Backup::new(&src, &mut dst).map_err(copy_err)?;
        loop {
            match b.step(-1).map_err(copy_err)? {
                rusqlite::backup::StepResult::Done => break,
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    dst.execute_batch("PRAGMA journal_mode = DELETE;")
        .map_err(copy_err)?;
    drop(dst);
    std::fs::File::open(dest)
        .and_then(|f| f.sync_all())
        .map_err(|e| StorageError::Snapshot(format!("{}: {e}", dest.display())))
}
