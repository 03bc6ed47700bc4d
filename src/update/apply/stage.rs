//! Staging an update while the old server still runs: a private copy of the bundle verified and
//! unpacked, the package checked, the previous version kept for a rollback, the journal begun and
//! the pre-update backup written. Nothing on the system changes here.

use super::files::{copy_private, sha256_file};
use super::install::{self, PACKAGE, PACKAGED_EXE};
use super::{ApplyError, Env, Request, advance};
use crate::fsutil;
use crate::update::bundle::{self, BundleError};
use crate::update::journal::{InstallKind, Journal, Restart, Step};
use crate::update::{runtime, state};
use std::fs;
use std::path::{Path, PathBuf};

pub(super) fn stage(env: &Env, work: &Path, req: Request) -> Result<Journal, ApplyError> {
    let d = env.data_dir;
    let now = env.clock.now();
    let meta = fs::metadata(req.bundle).map_err(ApplyError::io_at(req.bundle))?;
    if !meta.is_file() {
        return Err(ApplyError::Refused(BundleError::NotRegularFile(
            req.bundle.to_path_buf(),
        )));
    }
    if meta.len() > req.max_size {
        return Err(ApplyError::Refused(BundleError::TooLarge {
            size: meta.len(),
            limit: req.max_size,
        }));
    }
    // Verify the private copy, never the original: nobody can change it between check and use.
    let staged = work.join("bundle.hfu");
    copy_private(req.bundle, &staged, req.max_size, 0o600)?;
    let verified = (req.verify)(&staged).map_err(ApplyError::Refused)?;
    let m = verified.manifest().clone();
    let payload_dir = work.join("payload");
    fsutil::ensure_private_dir(&payload_dir).map_err(ApplyError::io_at(&payload_dir))?;
    let deb = checked_package(&staged, &verified, &payload_dir)?;

    let run = runtime::read(d)?;
    if !runtime::server_running(d) {
        return Err(ApplyError::NoServer);
    }
    let run = run.ok_or(ApplyError::NoRunRecord)?;
    let own = std::env::current_exe().map_err(ApplyError::OwnExe)?;
    let same = |a: &Path, b: &Path| {
        fs::canonicalize(a)
            .ok()
            .is_some_and(|a| fs::canonicalize(b).ok() == Some(a))
    };
    if !same(&own, &run.exe) {
        return Err(ApplyError::OtherBinary {
            server: run.exe.clone(),
            own,
        });
    }
    let exe = fs::canonicalize(&run.exe).map_err(ApplyError::io_at(&run.exe))?;
    let restart = match &run.systemd_unit {
        Some(unit) => Restart::Systemd { unit: unit.clone() },
        None => Restart::Detached {
            args: run.args.clone(),
            cwd: run.cwd.clone(),
        },
    };
    let st = state::load(d)?;
    let from = state::installed_version(&st)?;
    let previous = work.join("previous");
    fsutil::ensure_private_dir(&previous).map_err(ApplyError::io_at(&previous))?;
    let packaged = if exe == Path::new(PACKAGED_EXE) {
        install::packaged_version()
    } else {
        None
    };
    let (kind, new_sha) = match packaged {
        Some(installed) => {
            let prev = install::find_previous_deb(d, &installed, req.previous_deb)?;
            let name = prev
                .file_name()
                .ok_or(ApplyError::PreviousNoFileName)?
                .to_owned();
            copy_private(&prev, &previous.join(name), u64::MAX, 0o600)?;
            let tmp = work.join("new-binary");
            install::binary_from_deb(&deb, &tmp)?;
            let sha = sha256_file(&tmp)?;
            let _ = fs::remove_file(&tmp);
            (
                InstallKind::Packaged {
                    package: PACKAGE.into(),
                    installed,
                },
                sha,
            )
        }
        None => {
            let new_dir = work.join("new");
            fsutil::ensure_private_dir(&new_dir).map_err(ApplyError::io_at(&new_dir))?;
            let new_bin = new_dir.join("holdfast");
            install::binary_from_deb(&deb, &new_bin)?;
            copy_private(&exe, &previous.join("holdfast"), u64::MAX, 0o700)?;
            (InstallKind::Binary, sha256_file(&new_bin)?)
        }
    };
    let mut j = Journal {
        id: now.format("%Y%m%dT%H%M%SZ").to_string(),
        step: Step::Staged,
        started_at: now,
        from_version: from.to_string(),
        to_version: m.version.to_string(),
        security_epoch: m.security_epoch,
        kind,
        restart,
        old_sha256: sha256_file(&exe)?,
        exe,
        new_sha256: new_sha,
        payload: deb
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string(),
        old_boot: Some(run.boot_id.clone()),
        old_schemas: run.schemas.clone(),
        new_boot: None,
        new_schemas: Default::default(),
        started_pid: None,
        stopped_at: None,
        ready_at: None,
        rollback_reason: None,
        restore_databases: false,
        step_before_rollback: None,
        hand_over: false,
        sockets_held: false,
    };
    advance(work, &mut j, Step::Staged)?;
    (env.say)(&format!(
        "staged {} → {} ({}), signed by {}",
        j.from_version,
        j.to_version,
        match j.kind {
            InstallKind::Packaged { .. } => "Debian package",
            InstallKind::Binary => "binary",
        },
        verified.signed_by().join(", ")
    ));
    for line in (req.backup)().map_err(ApplyError::Backup)? {
        (env.say)(&line);
    }
    advance(work, &mut j, Step::BackedUp)?;
    Ok(j)
}

/// Extracts a verified bundle's package into `into` and checks that it is what the signed manifest
/// names: a holdfast package, for this machine's architecture, of exactly the manifest's version
/// (a bundle labelled 0.3.0 around a 0.1.0 package would make `update status`, dpkg and
/// `--version` disagree). Returns the package's path.
pub fn checked_package(
    bundle_file: &Path,
    verified: &bundle::Verified,
    into: &Path,
) -> Result<PathBuf, ApplyError> {
    let paths = bundle::extract(bundle_file, verified, into).map_err(ApplyError::Refused)?;
    let deb = paths
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .cloned()
        .ok_or(ApplyError::NoPackage)?;
    let arch = crate::update::trust::arch();
    if install::deb_field(&deb, "Architecture")? != arch {
        return Err(ApplyError::WrongArch { deb, arch });
    }
    if install::deb_field(&deb, "Package")? != PACKAGE {
        return Err(ApplyError::NotHoldfast { deb });
    }
    let package = package_version(&deb)?;
    let named = verified.manifest().version.to_string();
    if package != named {
        return Err(ApplyError::VersionMismatch {
            bundle: named,
            package,
        });
    }
    Ok(deb)
}

/// The `Version` field of a Debian package (the vendor's signing tool checks it too).
pub fn package_version(deb: &Path) -> Result<String, ApplyError> {
    Ok(install::deb_field(deb, "Version")?)
}
