//! The files an update handles itself: private copies that never follow a link, SHA-256 of a
//! binary, and giving a file the owner of the one it replaces.

use crate::update::bundle;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why a file could not be copied, hashed or given its owner.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("copying {} to {}: {source}", .from.display(), .to.display())]
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} grew beyond {limit} bytes", .path.display())]
    Grew { path: PathBuf, limit: u64 },
    #[error("{}: {source}", .path.display())]
    Chown {
        path: PathBuf,
        #[source]
        source: nix::errno::Errno,
    },
}

pub(super) fn io_at(path: &Path) -> impl FnOnce(io::Error) -> FileError {
    let path = path.to_path_buf();
    move |source| FileError::Io { path, source }
}

pub(super) fn sha256_file(p: &Path) -> Result<String, FileError> {
    let mut f = File::open(p).map_err(io_at(p))?;
    let (_, digest) = bundle::copy_hashed(&mut f, u64::MAX, &mut io::sink()).map_err(io_at(p))?;
    Ok(hex::encode(digest))
}

/// Copies at most `limit` bytes into a new file `dest` (never through a link), synced; a source
/// longer than `limit` is refused.
pub(super) fn copy_private(
    src: &Path,
    dest: &Path,
    limit: u64,
    mode: u32,
) -> Result<(), FileError> {
    let mut input = File::open(src).map_err(io_at(src))?;
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(dest)
        .map_err(io_at(dest))?;
    let n =
        io::copy(&mut input.by_ref().take(limit), &mut out).map_err(|source| FileError::Copy {
            from: src.to_path_buf(),
            to: dest.to_path_buf(),
            source,
        })?;
    if n == limit {
        let mut probe = [0u8; 1];
        if input.read(&mut probe).map_err(io_at(src))? > 0 {
            return Err(FileError::Grew {
                path: src.to_path_buf(),
                limit,
            });
        }
    }
    out.sync_all().map_err(io_at(dest))
}

/// Only root can give a file away; anyone else already owns what it writes.
pub(super) fn chown_like(p: &Path, reference: &fs::Metadata) -> Result<(), FileError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    nix::unistd::chown(
        p,
        Some(nix::unistd::Uid::from_raw(reference.uid())),
        Some(nix::unistd::Gid::from_raw(reference.gid())),
    )
    .map_err(|source| FileError::Chown {
        path: p.to_path_buf(),
        source,
    })
}
