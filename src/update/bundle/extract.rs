//! Copying a verified payload out of a bundle: new private files only, every byte hashed again,
//! nothing left behind on failure.

use super::manifest::check_payload_path;
use super::verify::{Verified, copy_hashed};
use super::{BundleError, io_err};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Copies the verified payload files into `dest_dir`, re-hashing them because the bundle may have
/// changed since [`verify`](super::verify). New files only (mode 0600, never through a link, never over an
/// existing file), fsynced. On any error every file this call created is removed.
pub fn extract(
    path: &Path,
    verified: &Verified,
    dest_dir: &Path,
) -> Result<Vec<PathBuf>, BundleError> {
    let mut file =
        File::open(path).map_err(io_err(format!("cannot open bundle {}", path.display())))?;
    let mut created = Vec::new();
    match extract_into(&mut file, verified, dest_dir, &mut created) {
        Ok(()) => Ok(created),
        Err(e) => {
            for p in &created {
                let _ = fs::remove_file(p);
            }
            Err(e)
        }
    }
}

fn extract_into(
    file: &mut File,
    verified: &Verified,
    dest_dir: &Path,
    created: &mut Vec<PathBuf>,
) -> Result<(), BundleError> {
    let no_follow = nix::fcntl::OFlag::O_NOFOLLOW.bits();
    for (f, &offset) in verified
        .manifest()
        .files
        .iter()
        .zip(verified.payload_offsets())
    {
        check_payload_path(&f.path)?;
        let dest = dest_dir.join(&f.path);
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(no_follow)
            .open(&dest)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    BundleError::OutputExists(dest.clone())
                } else {
                    io_err(format!("cannot create {}", dest.display()))(e)
                }
            })?;
        created.push(dest.clone());
        file.seek(SeekFrom::Start(offset))
            .map_err(io_err("cannot read the bundle".into()))?;
        let (n, digest) = copy_hashed(file, f.size, &mut out).map_err(io_err(format!(
            "cannot copy payload file to {}",
            dest.display()
        )))?;
        if n != f.size || digest != f.sha256 {
            return Err(BundleError::ChangedSinceVerify(f.path.clone()));
        }
        out.sync_all()
            .map_err(io_err(format!("cannot sync {}", dest.display())))?;
    }
    File::open(dest_dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(format!("cannot sync {}", dest_dir.display())))
}
