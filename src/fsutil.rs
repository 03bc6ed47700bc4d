//! Small durable-file helpers: private directories, write-to-temp-then-rename with fsync.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Creates `dir` (and parents) with mode 0700 where it does not exist yet.
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Writes a new 0600 file atomically: temp file, fsync, rename, fsync of the directory.
/// Fails if the target already exists, so that a key is never overwritten.
pub fn write_new_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_private_dir(dir)?;
    if path.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} already exists", path.display()),
        ));
    }
    let tmp = temp_beside(dir, path);
    write_synced(
        OpenOptions::new().create_new(true).mode(0o600),
        &tmp,
        contents,
    )?;
    // hard_link fails when the target exists, unlike rename: no window in which a key is replaced.
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    linked?;
    sync_dir(dir)
}

/// Writes (or replaces) a file atomically with the given mode.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = temp_beside(dir, path);
    write_synced(
        OpenOptions::new().create(true).truncate(true).mode(mode),
        &tmp,
        contents,
    )?;
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// Where a file is written before it takes its place: the same directory (so that the last step
/// is atomic), hidden, and named for this process.
fn temp_beside(dir: &Path, path: &Path) -> PathBuf {
    dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("new"),
        std::process::id()
    ))
}

/// Writes `contents` to a file opened for writing with `opts`, and syncs it to disk.
fn write_synced(opts: &mut OpenOptions, at: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut f = opts.write(true).open(at)?;
    f.write_all(contents)?;
    f.sync_all()
}

pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}
