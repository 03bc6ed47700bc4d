//! Applying a verified bundle, rolling back, and recovering from an interrupted update. Each step is
//! journaled (`journal`) before the next begins; whatever happens, the machine ends with the old
//! version running on its old data or the new version complete, never a mix.
//!
//! Layout under `<data dir>/update/`: `work/` holds the update in progress (journal, private copy of
//! the bundle, payload, new and previous binary or package, database snapshot); after success it
//! becomes `last/`, which `rollback` uses; `packages/` keeps the installed package for the next
//! packaged rollback; `update.lock` keeps two updates apart; `server.log` receives the output of a
//! server started by an update outside systemd.

use super::bundle::{self, BundleError, Verified};
use super::journal::{self, InstallKind, Journal, Restart, Step};
use super::probe::Probe;
use super::runtime::{self, RunRecord};
use super::state;
use crate::audit::Event;
use crate::clock::Clock;
use crate::fsutil;
use chrono::{DateTime, Utc};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The path of the binary a Debian package installs.
pub const PACKAGED_EXE: &str = "/usr/bin/holdfast";
const PACKAGE: &str = "holdfast";
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
}

#[derive(Debug)]
pub enum ApplyError {
    /// The bundle was refused; nothing changed.
    Refused(BundleError),
    /// The update could not start or could not finish; the message says what state it left.
    Failed(String),
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApplyError::Refused(e) => write!(f, "update bundle refused: {e}"),
            ApplyError::Failed(m) => f.write_str(m),
        }
    }
}

impl From<String> for ApplyError {
    fn from(m: String) -> Self {
        ApplyError::Failed(m)
    }
}

#[derive(Debug, PartialEq)]
pub enum Outcome {
    Applied {
        from: String,
        to: String,
        downtime_ms: Option<i64>,
    },
    RolledBack {
        from: String,
        to: String,
        reason: String,
        downtime_ms: Option<i64>,
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

pub fn lock(d: &Path) -> Result<Lock, String> {
    let dir = update_dir(d);
    fsutil::ensure_private_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let p = dir.join("update.lock");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&p)
        .map_err(|e| format!("{}: {e}", p.display()))?;
    let lock = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|_| "another update, rollback or recovery is running".to_string())?;
    Ok(Lock { _lock: lock })
}

fn pause_point(step: Step) {
    if std::env::var(PAUSE_ENV).is_ok_and(|v| v == step.name()) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
    }
}

fn advance(work: &Path, j: &mut Journal, step: Step) -> Result<(), String> {
    j.step = step;
    journal::save(work, j)?;
    pause_point(step);
    Ok(())
}

fn sha256_file(p: &Path) -> Result<String, String> {
    let mut f = File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let (_, digest) = bundle::copy_hashed(&mut f, u64::MAX, &mut io::sink())
        .map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(hex::encode(digest))
}

fn run_tool(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn deb_field(deb: &Path, field: &str) -> Result<String, String> {
    let p = deb.to_str().ok_or("package path is not UTF-8")?;
    run_tool("dpkg-deb", &["--field", p, field])
}

fn packaged_version() -> Option<String> {
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

fn copy_private(src: &Path, dest: &Path, limit: u64, mode: u32) -> Result<(), String> {
    let mut input = File::open(src).map_err(|e| format!("{}: {e}", src.display()))?;
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(dest)
        .map_err(|e| format!("{}: {e}", dest.display()))?;
    let n = io::copy(&mut input.by_ref().take(limit), &mut out)
        .map_err(|e| format!("copying {} to {}: {e}", src.display(), dest.display()))?;
    if n == limit {
        let mut probe = [0u8; 1];
        if input.read(&mut probe).map_err(|e| e.to_string())? > 0 {
            return Err(format!("{} grew beyond {limit} bytes", src.display()));
        }
    }
    out.sync_all()
        .map_err(|e| format!("{}: {e}", dest.display()))
}

/// Pulls `usr/bin/holdfast` out of a Debian package, through `dpkg-deb` (present on every Debian
/// system, and it knows every compression a package may use).
fn binary_from_deb(deb: &Path, dest: &Path) -> Result<(), String> {
    let mut child = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run dpkg-deb: {e}"))?;
    let stdout = child.stdout.take().ok_or("dpkg-deb gave no output")?;
    let mut archive = tar::Archive::new(stdout);
    let mut found = false;
    let entries = archive
        .entries()
        .map_err(|e| format!("package contents: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("package contents: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("package contents: {e}"))?
            .to_path_buf();
        let wanted =
            path == Path::new("./usr/bin/holdfast") || path == Path::new("usr/bin/holdfast");
        if !wanted {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            return Err("usr/bin/holdfast in the package is not a regular file".into());
        }
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o700)
            .open(dest)
            .map_err(|e| format!("{}: {e}", dest.display()))?;
        io::copy(&mut entry, &mut out).map_err(|e| format!("{}: {e}", dest.display()))?;
        out.sync_all()
            .map_err(|e| format!("{}: {e}", dest.display()))?;
        found = true;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("dpkg-deb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "dpkg-deb cannot read the package: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if !found {
        return Err("the package contains no usr/bin/holdfast".into());
    }
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
    pub backup: &'a mut dyn FnMut() -> Result<Vec<String>, String>,
}

/// `holdfast update apply`: see the module comment and docs/updating.md.
pub fn apply(env: &Env, req: Request) -> Result<Outcome, ApplyError> {
    let d = env.data_dir;
    let _lock = lock(d)?;
    if let Some(o) = recover_locked(env)? {
        (env.say)(&format!("finished an interrupted update first: {o:?}"));
    }
    let work = work_dir(d);
    if work.exists() {
        fs::remove_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    }
    fsutil::ensure_private_dir(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let result = stage(env, &work, req);
    let mut j = match result {
        Ok(j) => j,
        Err(e) => {
            let _ = fs::remove_dir_all(&work);
            return Err(e);
        }
    };
    run_forward(env, &work, &mut j)
}

fn stage(env: &Env, work: &Path, req: Request) -> Result<Journal, ApplyError> {
    let d = env.data_dir;
    let now = env.clock.now();
    let meta = fs::metadata(req.bundle)
        .map_err(|e| ApplyError::Failed(format!("{}: {e}", req.bundle.display())))?;
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
    fsutil::ensure_private_dir(&payload_dir).map_err(|e| format!("{e}"))?;
    let paths = bundle::extract(&staged, &verified, &payload_dir).map_err(ApplyError::Refused)?;
    let deb = paths
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .cloned()
        .ok_or_else(|| ApplyError::Failed("the bundle carries no .deb package".into()))?;
    if deb_field(&deb, "Architecture")? != super::trust::arch() {
        return Err(ApplyError::Failed(format!(
            "{} is not built for {}",
            deb.display(),
            super::trust::arch()
        )));
    }
    if deb_field(&deb, "Package")? != PACKAGE {
        return Err(ApplyError::Failed(format!(
            "{} is not a holdfast package",
            deb.display()
        )));
    }

    let run = runtime::read(d)?;
    if !runtime::server_running(d) {
        return Err(ApplyError::Failed(
            "no holdfast server is running on this data dir: start it first, so that the update can check the new version against the running one".into(),
        ));
    }
    let run = run.ok_or_else(|| {
        ApplyError::Failed("the running server wrote no run.json (is it older than 0.1?)".into())
    })?;
    let own = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let same = |a: &Path, b: &Path| {
        fs::canonicalize(a)
            .ok()
            .is_some_and(|a| fs::canonicalize(b).ok() == Some(a))
    };
    if !same(&own, &run.exe) {
        return Err(ApplyError::Failed(format!(
            "the server runs {} but this command is {}: run `{} update apply` instead",
            run.exe.display(),
            own.display(),
            run.exe.display()
        )));
    }
    let exe = fs::canonicalize(&run.exe).map_err(|e| format!("{}: {e}", run.exe.display()))?;
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
    fsutil::ensure_private_dir(&previous).map_err(|e| format!("{e}"))?;
    let packaged = if exe == Path::new(PACKAGED_EXE) {
        packaged_version()
    } else {
        None
    };
    let (kind, new_sha) = match packaged {
        Some(installed) => {
            let prev = find_previous_deb(d, &installed, req.previous_deb)?;
            let name = prev
                .file_name()
                .ok_or_else(|| ApplyError::Failed("previous package has no file name".into()))?
                .to_owned();
            copy_private(&prev, &previous.join(name), u64::MAX, 0o600)?;
            let tmp = work.join("new-binary");
            binary_from_deb(&deb, &tmp)?;
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
            fsutil::ensure_private_dir(&new_dir).map_err(|e| format!("{e}"))?;
            let new_bin = new_dir.join("holdfast");
            binary_from_deb(&deb, &new_bin)?;
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
    for line in (req.backup)()? {
        (env.say)(&line);
    }
    advance(work, &mut j, Step::BackedUp)?;
    Ok(j)
}

fn find_previous_deb(d: &Path, installed: &str, given: Option<&Path>) -> Result<PathBuf, String> {
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
        return Err(format!(
            "{} is not the installed package ({PACKAGE} {installed} {arch})",
            p.display()
        ));
    }
    if let Ok(entries) = fs::read_dir(packages_dir(d)) {
        for e in entries.flatten() {
            if matches(&e.path()) {
                return Ok(e.path());
            }
        }
    }
    Err(format!(
        "no copy of the installed package ({PACKAGE} {installed}) is kept for a rollback: give it once with --previous-deb FILE (the .deb you installed from)"
    ))
}

/// From `BackedUp` on: stop, snapshot, install, start, wait; roll back by itself on failure.
fn run_forward(env: &Env, work: &Path, j: &mut Journal) -> Result<Outcome, ApplyError> {
    if let Err(e) = forward_steps(env, work, j) {
        (env.say)(&format!("update failed: {e}; rolling back"));
        return rollback_from(env, work, j, e).map_err(ApplyError::Failed);
    }
    finish_applied(env, work, j).map_err(ApplyError::Failed)
}

fn forward_steps(env: &Env, work: &Path, j: &mut Journal) -> Result<(), String> {
    let d = env.data_dir;
    j.stopped_at = Some(env.clock.now());
    advance(work, j, Step::Stopping)?;
    stop_server(env, j)?;
    advance(work, j, Step::Stopped)?;
    snapshot(d, work)?;
    advance(work, j, Step::Snapshotted)?;
    install_new(work, j)?;
    advance(work, j, Step::Installed)?;
    let mut child = start_server(env, j)?;
    j.started_pid = child.as_ref().map(Child::id);
    advance(work, j, Step::Started)?;
    let exclude = j.old_boot.clone().into_iter().collect::<Vec<_>>();
    let rec = match wait_ready(env, &exclude, child.as_mut()) {
        Ok(rec) => rec,
        Err(e) => {
            // A server this update started and that never became ready is ended here, by the
            // handle of the process we started (it may not have written run.json yet); the
            // snapshot restored by the rollback undoes whatever it did to the databases.
            if let Some(c) = child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
            return Err(e);
        }
    };
    if sha256_file(&j.exe)? != j.new_sha256 {
        return Err("the server that answered is not the new binary".into());
    }
    j.new_boot = Some(rec.boot_id);
    j.new_schemas = rec.schemas;
    j.ready_at = Some(env.clock.now());
    advance(work, j, Step::Ready)
}

fn downtime(j: &Journal) -> Option<i64> {
    Some((j.ready_at? - j.stopped_at?).num_milliseconds())
}

fn finish_applied(env: &Env, work: &Path, j: &mut Journal) -> Result<Outcome, String> {
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
            "from {}; unavailable {} ms",
            j.from_version,
            downtime(j).unwrap_or(0)
        ),
    )?;
    (env.audit)(
        Event::UpdateApplied,
        true,
        serde_json::json!({ "from": j.from_version, "to": j.to_version, "downtime_ms": downtime(j) }),
    );
    if let InstallKind::Packaged { .. } = j.kind {
        keep_package(d, &work.join("payload").join(&j.payload))?;
    }
    // Only what a later rollback needs stays.
    let _ = fs::remove_file(work.join("bundle.hfu"));
    let _ = fs::remove_dir_all(work.join("new"));
    let last = last_dir(d);
    let old = update_dir(d).join("last.old");
    let _ = fs::remove_dir_all(&old);
    if last.exists() {
        fs::rename(&last, &old).map_err(|e| format!("{}: {e}", last.display()))?;
    }
    fs::rename(work, &last).map_err(|e| format!("{}: {e}", work.display()))?;
    let _ = fs::remove_dir_all(&old);
    let _ = fsutil::sync_dir(&update_dir(d));
    Ok(Outcome::Applied {
        from: j.from_version.clone(),
        to: j.to_version.clone(),
        downtime_ms: downtime(j),
    })
}

fn keep_package(d: &Path, deb: &Path) -> Result<(), String> {
    let dir = packages_dir(d);
    fsutil::ensure_private_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = deb.file_name().ok_or("package has no file name")?;
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

/// Stops whatever server holds the data dir, and waits until it has let go of it.
fn stop_server(env: &Env, j: &Journal) -> Result<(), String> {
    let d = env.data_dir;
    if !runtime::server_running(d) {
        return Ok(());
    }
    match &j.restart {
        Restart::Systemd { unit } => {
            run_tool("systemctl", &["stop", unit])?;
        }
        Restart::Detached { .. } => {
            let rec = runtime::read(d)?
                .ok_or("a server holds the data dir but wrote no run.json; stop it yourself")?;
            let pid = nix::unistd::Pid::from_raw(
                i32::try_from(rec.pid).map_err(|_| "bad pid in run.json")?,
            );
            // Only a process that runs our binary is signalled (the PID could have been reused).
            let exe = fs::read_link(format!("/proc/{}/exe", rec.pid)).unwrap_or_default();
            let exe = exe.to_string_lossy().replace(" (deleted)", "");
            if Path::new(&exe) != j.exe {
                return Err(format!(
                    "process {} holds no holdfast binary ({exe}); stop the server yourself",
                    rec.pid
                ));
            }
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
                .map_err(|e| format!("cannot stop process {}: {e}", rec.pid))?;
            if !wait_until(env.stop_timeout, || !runtime::server_running(d)) {
                (env.say)(&format!(
                    "the server did not stop within {} s; killing it",
                    env.stop_timeout.as_secs()
                ));
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
    if !wait_until(Duration::from_secs(10), || !runtime::server_running(d)) {
        return Err("the server did not let go of the data dir".into());
    }
    Ok(())
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn start_server(env: &Env, j: &Journal) -> Result<Option<Child>, String> {
    match &j.restart {
        Restart::Systemd { unit } => {
            // With Type=notify this returns when the server said READY=1 or failed.
            run_tool("systemctl", &["start", unit])?;
            Ok(None)
        }
        Restart::Detached { args, cwd } => {
            let log_path = update_dir(env.data_dir).join("server.log");
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&log_path)
                .map_err(|e| format!("{}: {e}", log_path.display()))?;
            let err = log
                .try_clone()
                .map_err(|e| format!("{}: {e}", log_path.display()))?;
            use std::os::unix::process::CommandExt;
            let child = Command::new(&j.exe)
                .args(args)
                .current_dir(cwd)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(err)
                // Its own process group: a Ctrl-C meant for the update does not stop the server.
                .process_group(0)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", j.exe.display()))?;
            Ok(Some(child))
        }
    }
}

/// Waits until a server with a boot id not in `exclude` answers `/readyz` with 200.
fn wait_ready(
    env: &Env,
    exclude: &[String],
    child: Option<&mut Child>,
) -> Result<RunRecord, String> {
    let d = env.data_dir;
    let cert = crate::tls::load_chain(env.cert)
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or_else(|| format!("{} holds no certificate", env.cert.display()))?;
    let probe = Probe::new(cert)?;
    let end = Instant::now() + env.ready_timeout;
    let mut child = child;
    loop {
        if let Some(c) = child.as_deref_mut()
            && let Ok(Some(status)) = c.try_wait()
        {
            return Err(format!(
                "the new server exited ({status}) before it was ready; its output is in {}",
                update_dir(d).join("server.log").display()
            ));
        }
        if let Ok(Some(rec)) = runtime::read(d)
            && !exclude.contains(&rec.boot_id)
            && runtime::server_running(d)
            && probe.ready(rec.listen) == Ok(true)
        {
            return Ok(rec);
        }
        if Instant::now() >= end {
            return Err(format!(
                "the server did not become ready within {} s (a version that migrates a large \
                 instance may need longer: [update] ready_timeout_seconds)",
                env.ready_timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Copies every instance database (with its WAL, if one is left) into `work/snapshot`, synced.
fn snapshot(d: &Path, work: &Path) -> Result<(), String> {
    snapshot_into(d, &work.join("snapshot"))
}

fn snapshot_into(d: &Path, snap: &Path) -> Result<(), String> {
    let snap = snap.to_path_buf();
    if snap.exists() {
        fs::remove_dir_all(&snap).map_err(|e| format!("{}: {e}", snap.display()))?;
    }
    for name in crate::instances::list_names(d).map_err(|e| e.to_string())? {
        let src = crate::instances::instances_dir(d).join(&name);
        let dest = snap.join(&name);
        fsutil::ensure_private_dir(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        for file in ["db.sqlite", "db.sqlite-wal"] {
            let from = src.join(file);
            if from.exists() {
                copy_private(&from, &dest.join(file), u64::MAX, 0o600)?;
            }
        }
        fsutil::sync_dir(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    fsutil::ensure_private_dir(&snap).map_err(|e| format!("{}: {e}", snap.display()))?;
    fsutil::sync_dir(&snap).map_err(|e| format!("{}: {e}", snap.display()))
}

/// Puts the snapshot back: each file is copied beside its target, synced, given the target's owner
/// and renamed over it; a WAL or shared-memory file of the newer version is removed.
fn restore_snapshot(d: &Path, work: &Path) -> Result<(), String> {
    let snap = work.join("snapshot");
    let entries = fs::read_dir(&snap).map_err(|e| format!("{}: {e}", snap.display()))?;
    for e in entries.flatten() {
        let name = e.file_name();
        let target = crate::instances::instances_dir(d).join(&name);
        if !target.is_dir() {
            continue;
        }
        let owner = fs::metadata(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        for file in ["db.sqlite", "db.sqlite-wal"] {
            let from = e.path().join(file);
            let to = target.join(file);
            if from.exists() {
                let tmp = target.join(format!(".{file}.restore"));
                let _ = fs::remove_file(&tmp);
                copy_private(&from, &tmp, u64::MAX, 0o600)?;
                chown_like(&tmp, &owner)?;
                fs::rename(&tmp, &to).map_err(|e| format!("{}: {e}", to.display()))?;
            } else {
                match fs::remove_file(&to) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        return Err(format!("{}: {e}", to.display()));
                    }
                    _ => {}
                }
            }
        }
        let _ = fs::remove_file(target.join("db.sqlite-shm"));
        fsutil::sync_dir(&target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

fn chown_like(p: &Path, reference: &fs::Metadata) -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    nix::unistd::chown(
        p,
        Some(nix::unistd::Uid::from_raw(reference.uid())),
        Some(nix::unistd::Gid::from_raw(reference.gid())),
    )
    .map_err(|e| format!("{}: {e}", p.display()))
}

fn install_new(work: &Path, j: &Journal) -> Result<(), String> {
    match &j.kind {
        InstallKind::Packaged { .. } => {
            let deb = work.join("payload").join(&j.payload);
            dpkg_install(&deb)
        }
        InstallKind::Binary => replace_binary(&j.exe, &work.join("new").join("holdfast")),
    }
}

fn dpkg_install(deb: &Path) -> Result<(), String> {
    let p = deb.to_str().ok_or("package path is not UTF-8")?;
    // Keep the admin's changed conffiles without asking: nobody answers prompts in an update.
    run_tool(
        "dpkg",
        &["--force-confdef", "--force-confold", "--install", p],
    )
    .map(|_| ())
}

/// The atomic swap `self_update` does through its `self-replace` crate, done here for an explicit
/// path and with the syncs that crate leaves out: a copy beside the target, synced, renamed over
/// it, directory synced. The path always names a whole binary, old or new, even across a power cut.
fn replace_binary(exe: &Path, new: &Path) -> Result<(), String> {
    let dir = exe.parent().ok_or("the binary has no directory")?;
    let mode = fs::metadata(exe)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o755);
    let tmp = dir.join(format!(".holdfast.update-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        copy_private(new, &tmp, u64::MAX, 0o700)?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        if let Ok(m) = fs::metadata(exe) {
            chown_like(&tmp, &m)?;
        }
        fs::rename(&tmp, exe).map_err(|e| format!("cannot replace {}: {e}", exe.display()))?;
        fsutil::sync_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn install_old(work: &Path, j: &Journal) -> Result<(), String> {
    match &j.kind {
        InstallKind::Packaged { .. } => {
            let prev = fs::read_dir(work.join("previous"))
                .map_err(|e| format!("previous package: {e}"))?
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == "deb"))
                .ok_or("the previous package is missing from the update's work dir")?;
            dpkg_install(&prev)
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

fn old_binary_in_place(j: &Journal) -> bool {
    let file_ok = sha256_file(&j.exe).is_ok_and(|h| h == j.old_sha256);
    match &j.kind {
        InstallKind::Packaged { installed, .. } => {
            file_ok && packaged_version().is_some_and(|v| &v == installed)
        }
        InstallKind::Binary => file_ok,
    }
}

fn rollback_from(
    env: &Env,
    work: &Path,
    j: &mut Journal,
    reason: String,
) -> Result<Outcome, String> {
    if j.step < Step::RollingBack {
        // Before `Ready` no user could write to the new version, so a complete snapshot is
        // always put back; a completed update comes with the decision already made by `rollback`.
        j.step_before_rollback = Some(j.step);
        if j.step < Step::Ready {
            j.restore_databases = j.step >= Step::Snapshotted;
        }
        j.rollback_reason = Some(reason);
        advance(work, j, Step::RollingBack)?;
    }
    rollback_steps(env, work, j)?;
    advance(work, j, Step::RolledBack)?;
    finish_rolled_back(env, work, j)
}

fn rollback_steps(env: &Env, work: &Path, j: &mut Journal) -> Result<(), String> {
    let d = env.data_dir;
    let old_in_place = old_binary_in_place(j);
    if old_in_place && !j.restore_databases && runtime::server_running(d) {
        // Interrupted before anything changed: the old server is still (or again) serving.
        let any: Vec<String> = j.new_boot.clone().into_iter().collect();
        wait_ready(env, &any, None)?;
        return Ok(());
    }
    if j.stopped_at.is_none() {
        j.stopped_at = Some(env.clock.now());
    }
    stop_server(env, j)?;
    if !old_in_place {
        install_old(work, j)?;
    }
    if j.restore_databases {
        if j.step_before_rollback == Some(Step::Ready) {
            // The operator chose to discard what was written since the update; it is kept aside
            // (encrypted, as it was) in case that choice must be revisited.
            let aside = update_dir(d).join(format!("discarded-{}", j.id));
            if !aside.exists() {
                snapshot_into(d, &aside)?;
                (env.say)(&format!(
                    "the databases as they were before this rollback are kept in {}",
                    aside.display()
                ));
            }
        }
        restore_snapshot(d, work)?;
    }
    let mut child = start_server(env, j)?;
    let exclude: Vec<String> = j.old_boot.iter().chain(&j.new_boot).cloned().collect();
    let rec = wait_ready(env, &exclude, child.as_mut())
        .map_err(|e| format!("the old version was put back but did not become ready: {e}"))?;
    if !old_binary_in_place(j) {
        return Err("after the rollback the binary is not the old one".into());
    }
    j.new_boot = Some(rec.boot_id);
    j.ready_at = Some(env.clock.now());
    Ok(())
}

fn finish_rolled_back(env: &Env, work: &Path, j: &Journal) -> Result<Outcome, String> {
    let d = env.data_dir;
    let now = env.clock.now();
    let reason = j.rollback_reason.clone().unwrap_or_default();
    state::set_installed(d, &j.from_version)?;
    state::note(
        d,
        now,
        "rollback",
        Some(j.from_version.clone()),
        "rolled back",
        format!("from {}: {reason}", j.to_version),
    )?;
    (env.audit)(
        Event::UpdateRolledBack,
        true,
        serde_json::json!({ "from": j.to_version, "to": j.from_version, "reason": reason, "databases_restored": j.restore_databases }),
    );
    fs::remove_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    Ok(Outcome::RolledBack {
        from: j.to_version.clone(),
        to: j.from_version.clone(),
        reason,
        downtime_ms: downtime(j),
    })
}

/// Finishes an interrupted update: rolls it back unless the new version was already complete.
pub fn recover(env: &Env) -> Result<Option<Outcome>, String> {
    let _lock = lock(env.data_dir)?;
    recover_locked(env)
}

fn recover_locked(env: &Env) -> Result<Option<Outcome>, String> {
    let d = env.data_dir;
    let work = work_dir(d);
    let Some(mut j) = journal::load(&work)? else {
        if work.exists() {
            fs::remove_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
        }
        return Ok(None);
    };
    let at = j.step;
    (env.say)(&format!(
        "an update {} → {} was interrupted at step `{}`",
        j.from_version,
        j.to_version,
        at.name()
    ));
    let outcome = match at {
        Step::Staged | Step::BackedUp => {
            // The server was never asked to stop: nothing on the system changed.
            let now = env.clock.now();
            state::note(
                d,
                now,
                "apply",
                Some(j.to_version.clone()),
                "abandoned",
                format!("interrupted at step {} before any change", at.name()),
            )?;
            fs::remove_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
            Outcome::Discarded {
                to: j.to_version.clone(),
            }
        }
        Step::Started => {
            let exclude: Vec<String> = j.old_boot.clone().into_iter().collect();
            match wait_ready(env, &exclude, None) {
                Ok(rec) if sha256_file(&j.exe).is_ok_and(|h| h == j.new_sha256) => {
                    j.new_boot = Some(rec.boot_id);
                    j.new_schemas = rec.schemas;
                    j.ready_at = Some(env.clock.now());
                    advance(&work, &mut j, Step::Ready)?;
                    finish_applied(env, &work, &mut j)?
                }
                _ => rollback_from(
                    env,
                    &work,
                    &mut j,
                    format!("the update was interrupted at step {}", at.name()),
                )?,
            }
        }
        Step::Ready => finish_applied(env, &work, &mut j)?,
        Step::RolledBack => finish_rolled_back(env, &work, &j)?,
        Step::RollingBack => rollback_from(env, &work, &mut j, String::new())?,
        Step::Stopping | Step::Stopped | Step::Snapshotted | Step::Installed => rollback_from(
            env,
            &work,
            &mut j,
            format!("the update was interrupted at step {}", at.name()),
        )?,
    };
    Ok(Some(outcome))
}

/// `holdfast update rollback`: puts back the version before the last completed update. Its
/// databases come back too when the update changed their schema; then whatever was written since
/// the update is lost, so that needs `discard_changes`.
pub fn rollback(env: &Env, discard_changes: bool) -> Result<Outcome, String> {
    let d = env.data_dir;
    let _lock = lock(d)?;
    if let Some(o) = recover_locked(env)? {
        return Ok(o);
    }
    let last = last_dir(d);
    let mut j = journal::load(&last)?
        .filter(|j| j.step == Step::Ready)
        .ok_or("there is no completed update to roll back")?;
    let schema_changed = j.old_schemas != j.new_schemas;
    if schema_changed && !discard_changes {
        return Err(format!(
            "the update to {} changed the database schema ({:?} → {:?}): rolling back restores the databases as they were before the update on {}, and everything written since is lost. Take a backup, then run again with --discard-changes",
            j.to_version,
            j.old_schemas,
            j.new_schemas,
            j.started_at.to_rfc3339()
        ));
    }
    let work = work_dir(d);
    if work.exists() {
        fs::remove_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    }
    fs::rename(&last, &work).map_err(|e| format!("{}: {e}", last.display()))?;
    // The server now running is the new one; stopped_at is reset so the downtime is the rollback's.
    j.old_boot = j.new_boot.clone();
    j.restore_databases = schema_changed;
    j.stopped_at = Some(env.clock.now());
    j.ready_at = None;
    j.started_pid = None;
    rollback_from(
        env,
        &work,
        &mut j,
        "rollback requested by the operator".into(),
    )
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
