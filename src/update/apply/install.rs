//! Putting a version in place and taking it back out: the Debian package path (`dpkg`, the kept
//! package for the next rollback) and the binary path (an atomic swap of the file the server
//! runs), and telling which version is in place.

use super::files::{self, FileError, copy_private};
use super::tool::{ToolError, run_tool, run_tool_with};
use crate::fsutil;
use crate::update::journal::{InstallKind, Journal};
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The path of the binary a Debian package installs.
pub const PACKAGED_EXE: &str = "/usr/bin/holdfast";
pub(super) const PACKAGE: &str = "holdfast";
/// Tells the package's postinst that `update apply` restarts the service itself.
const DRIVES_SERVICE_ENV: &str = "HOLDFAST_UPDATE_DRIVES_SERVICE";

/// Why a version could not be put in place or taken back out.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("package path is not UTF-8")]
    NotUtf8,
    #[error("cannot run dpkg-deb: {0}")]
    DpkgDebSpawn(#[source] io::Error),
    #[error("dpkg-deb gave no output")]
    DpkgDebNoOutput,
    #[error("dpkg-deb: {0}")]
    DpkgDebWait(#[source] io::Error),
    #[error("dpkg-deb cannot read the package: {stderr}")]
    DpkgDebFailed { stderr: String },
    #[error("package contents: {0}")]
    Contents(#[source] io::Error),
    #[error("usr/bin/holdfast in the package is not a regular file")]
    NotRegularFile,
    #[error("the package contains no usr/bin/holdfast")]
    NoBinary,
    #[error("the binary has no directory")]
    NoDirectory,
    #[error("cannot replace {}: {source}", .path.display())]
    Replace {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("previous package: {0}")]
    PreviousDir(#[source] io::Error),
    #[error("the previous package is missing from the update's work dir")]
    PreviousMissing,
    #[error("package has no file name")]
    NoFileName,
    #[error("{} is not the installed package ({PACKAGE} {installed} {arch})", .path.display())]
    NotInstalledPackage {
        path: PathBuf,
        installed: String,
        arch: String,
    },
    #[error(
        "no copy of the installed package ({PACKAGE} {installed}) is kept for a rollback: give it once with --previous-deb FILE (the .deb you installed from)"
    )]
    NoKeptPackage { installed: String },
}

pub(super) fn deb_field(deb: &Path, field: &str) -> Result<String, InstallError> {
    let p = deb.to_str().ok_or(InstallError::NotUtf8)?;
    Ok(run_tool("dpkg-deb", &["--field", p, field])?)
}

/// dpkg's version of the installed package, when dpkg has it installed.
pub(super) fn packaged_version() -> Option<String> {
    let status = run_tool("dpkg-query", &["--show", "--showformat=${Status}", PACKAGE]).ok()?;
    if status != "install ok installed" {
        return None;
    }
    run_tool(
        "dpkg-query",
        &["--show", "--showformat=${Version}", PACKAGE],
    )
    .ok()
}

/// Pulls `usr/bin/holdfast` out of a Debian package, through `dpkg-deb` (present on every Debian
/// system, and it knows every compression a package may use).
pub(super) fn binary_from_deb(deb: &Path, dest: &Path) -> Result<(), InstallError> {
    let mut child = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(InstallError::DpkgDebSpawn)?;
    let stdout = child.stdout.take().ok_or(InstallError::DpkgDebNoOutput)?;
    let mut archive = tar::Archive::new(stdout);
    let mut found = false;
    let entries = archive.entries().map_err(InstallError::Contents)?;
    for entry in entries {
        let mut entry = entry.map_err(InstallError::Contents)?;
        let path = entry.path().map_err(InstallError::Contents)?.to_path_buf();
        let wanted =
            path == Path::new("./usr/bin/holdfast") || path == Path::new("usr/bin/holdfast");
        if !wanted {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            return Err(InstallError::NotRegularFile);
        }
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o700)
            .open(dest)
            .map_err(files::io_at(dest))?;
        io::copy(&mut entry, &mut out).map_err(files::io_at(dest))?;
        out.sync_all().map_err(files::io_at(dest))?;
        found = true;
    }
    let out = child
        .wait_with_output()
        .map_err(InstallError::DpkgDebWait)?;
    if !out.status.success() {
        return Err(InstallError::DpkgDebFailed {
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    if !found {
        return Err(InstallError::NoBinary);
    }
    Ok(())
}

/// The package of the installed version: `given` when it is that package, else the copy kept in
/// `update/packages/` by the last packaged update.
pub(super) fn find_previous_deb(
    d: &Path,
    installed: &str,
    given: Option<&Path>,
) -> Result<PathBuf, InstallError> {
    let arch = run_tool("dpkg", &["--print-architecture"])?;
    let matches = |p: &Path| -> bool {
        deb_field(p, "Package").is_ok_and(|v| v == PACKAGE)
            && deb_field(p, "Version").is_ok_and(|v| v == installed)
            && deb_field(p, "Architecture").is_ok_and(|v| v == arch)
    };
    if let Some(p) = given {
        if matches(p) {
            return Ok(p.to_path_buf());
        }
        return Err(InstallError::NotInstalledPackage {
            path: p.to_path_buf(),
            installed: installed.to_string(),
            arch,
        });
    }
    if let Ok(entries) = fs::read_dir(super::packages_dir(d)) {
        for e in entries.flatten() {
            if matches(&e.path()) {
                return Ok(e.path());
            }
        }
    }
    Err(InstallError::NoKeptPackage {
        installed: installed.to_string(),
    })
}

/// Keeps the package just installed in `update/packages/`, for the next update's rollback.
pub(super) fn keep_package(d: &Path, deb: &Path) -> Result<(), InstallError> {
    let dir = super::packages_dir(d);
    fsutil::ensure_private_dir(&dir).map_err(files::io_at(&dir))?;
    let name = deb.file_name().ok_or(InstallError::NoFileName)?;
    let dest = dir.join(name);
    let _ = fs::remove_file(&dest);
    copy_private(deb, &dest, u64::MAX, 0o600)?;
    // One package is enough: the installed one, for the next update's rollback.
    if let Ok(entries) = fs::read_dir(&dir) {
        for e in entries.flatten() {
            if e.path() != dest {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

pub(super) fn install_new(work: &Path, j: &Journal) -> Result<(), InstallError> {
    match &j.kind {
        InstallKind::Packaged { .. } => {
            let deb = work.join("payload").join(&j.payload);
            dpkg_install(&deb)
        }
        InstallKind::Binary => replace_binary(&j.exe, &work.join("new").join("holdfast")),
    }
}

fn dpkg_install(deb: &Path) -> Result<(), InstallError> {
    let p = deb.to_str().ok_or(InstallError::NotUtf8)?;
    // Keep the admin's changed conffiles without asking: nobody answers prompts in an update. The
    // package's postinst restarts nothing while an update drives the service (debian/postinst):
    // the update restarts it at its own journaled step.
    run_tool_with(
        "dpkg",
        &["--force-confdef", "--force-confold", "--install", p],
        &[(DRIVES_SERVICE_ENV, "1")],
    )?;
    Ok(())
}

/// The atomic swap `self_update` does through its `self-replace` crate, done here for an explicit
/// path and with the syncs that crate leaves out: a copy beside the target, synced, renamed over
/// it, directory synced. The path always names a whole binary, old or new, even across a power cut.
fn replace_binary(exe: &Path, new: &Path) -> Result<(), InstallError> {
    let dir = exe.parent().ok_or(InstallError::NoDirectory)?;
    let mode = fs::metadata(exe)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o755);
    let tmp = dir.join(format!(".holdfast.update-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let result = (|| -> Result<(), InstallError> {
        copy_private(new, &tmp, u64::MAX, 0o700)?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode)).map_err(files::io_at(&tmp))?;
        if let Ok(m) = fs::metadata(exe) {
            files::chown_like(&tmp, &m)?;
        }
        fs::rename(&tmp, exe).map_err(|source| InstallError::Replace {
            path: exe.to_path_buf(),
            source,
        })?;
        fsutil::sync_dir(dir).map_err(files::io_at(dir))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Puts the previous version back. On a packaged install its package becomes the kept one: the
/// next update's rollback needs the package of the version then installed, and asking the operator
/// for it again (`--previous-deb`) after every rollback was a defect.
pub(super) fn install_old(d: &Path, work: &Path, j: &Journal) -> Result<(), InstallError> {
    match &j.kind {
        InstallKind::Packaged { .. } => {
            let prev = fs::read_dir(work.join("previous"))
                .map_err(InstallError::PreviousDir)?
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == "deb"))
                .ok_or(InstallError::PreviousMissing)?;
            dpkg_install(&prev)?;
            keep_package(d, &prev)
        }
        InstallKind::Binary => {
            // A copy, so that `previous/holdfast` survives for a second attempt.
            let tmp = work.join("previous").join("holdfast.restore");
            let _ = fs::remove_file(&tmp);
            copy_private(
                &work.join("previous").join("holdfast"),
                &tmp,
                u64::MAX,
                0o700,
            )?;
            replace_binary(&j.exe, &tmp)
        }
    }
}

pub(super) fn old_binary_in_place(j: &Journal) -> bool {
    let file_ok = files::sha256_file(&j.exe).is_ok_and(|h| h == j.old_sha256);
    match &j.kind {
        InstallKind::Packaged { installed, .. } => {
            file_ok && packaged_version().is_some_and(|v| &v == installed)
        }
        InstallKind::Binary => file_ok,
    }
}
