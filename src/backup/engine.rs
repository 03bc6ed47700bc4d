//! Backup, verification and restore of one instance. The database is copied page by page inside one
//! read transaction (users keep working), still encrypted with the instance key; the archive adds
//! compression and its own encryption. No plaintext database or document ever touches the disk.

use super::format::{ArchiveReader, ArchiveWriter, Header, HeaderMeta};
use super::pack::{Packer, Unpacker};
use crate::audit::checkpoint::{self, Checkpoint};
use crate::clock::Clock;
use crate::crypto::{Key256, Secret};
use crate::fsutil;
use crate::instances::{self, Instance};
use crate::storage::{self, Database};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{BufWriter, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Archive(String),
    #[error("{path}: {reason}")]
    Files { path: PathBuf, reason: String },
    #[error("database copy failed: {0}")]
    Snapshot(String),
    #[error("{0}")]
    Invalid(String),
}

impl From<super::pack::PackError> for BackupError {
    fn from(e: super::pack::PackError) -> Self {
        BackupError::Archive(e.to_string())
    }
}

fn files_err(path: &Path, e: impl std::fmt::Display) -> BackupError {
    BackupError::Files {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn archive_err(e: impl std::fmt::Display) -> BackupError {
    BackupError::Archive(e.to_string())
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceInfo {
    name: String,
    hostnames: Vec<String>,
}

/// A reader that reports progress.
struct Counting<'a, R> {
    inner: R,
    progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

/// Copies the live database into `dest` (same key) in one consistent step.
fn snapshot(inst: &Instance, dest: &Path) -> Result<(), BackupError> {
    storage::snapshot_to(&inst.db_path(), &inst.db_key, dest).map_err(|e| match e {
        storage::StorageError::Snapshot(why) => BackupError::Snapshot(why),
        other => BackupError::Snapshot(other.to_string()),
    })
}

/// Who made an archive. Retention deletes only what the schedule made: an archive an operator
/// asked for, or one an update took before changing anything, stays until an explicit prune.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Made {
    Schedule,
    Hand,
    Update,
}

impl Made {
    /// Instance names cannot contain a dot, so the mark cannot be mistaken for a name.
    fn mark(self) -> &'static str {
        match self {
            Made::Schedule => "",
            Made::Hand => ".hand",
            Made::Update => ".update",
        }
    }

    /// The maker an archive's file name records (names before the mark existed: the schedule's).
    pub fn of(name: &str) -> Made {
        let stem = name.strip_suffix(".hfb").unwrap_or(name);
        if stem.ends_with(Made::Hand.mark()) {
            Made::Hand
        } else if stem.ends_with(Made::Update.mark()) {
            Made::Update
        } else {
            Made::Schedule
        }
    }

    /// The catalogue key of the backups page's words for it.
    pub fn key(self) -> &'static str {
        match self {
            Made::Schedule => "backups-made-scheduled",
            Made::Hand => "backups-made-hand",
            Made::Update => "backups-made-update",
        }
    }

    pub const ALL: [Made; 3] = [Made::Schedule, Made::Hand, Made::Update];

    /// How `backup list` (operator text, English) says it.
    pub fn label(self) -> &'static str {
        match self {
            Made::Schedule => "scheduled",
            Made::Hand => "by hand, kept",
            Made::Update => "before an update, kept",
        }
    }
}

/// `holdfast-<instance>-<UTC time>[.hand|.update].hfb`
pub fn archive_name(instance: &str, clock: &dyn Clock, made: Made) -> String {
    format!(
        "holdfast-{instance}-{}{}.hfb",
        clock.now().format("%Y%m%dT%H%M%SZ"),
        made.mark()
    )
}

pub struct RunOutcome {
    pub name: String,
    pub size: u64,
    pub seconds: f64,
    /// Per destination: where it went, or why not.
    pub results: Vec<(PathBuf, Result<PathBuf, String>)>,
}

/// Backs up `inst` to every destination. The archive is built once (encrypted) in the data dir's
/// scratch area, then copied to each destination under a temporary name, fsynced and renamed.
pub fn run(
    data_dir: &Path,
    inst: &Instance,
    backup_key: &Key256,
    destinations: &[PathBuf],
    clock: &dyn Clock,
    made: Made,
    progress: &mut dyn FnMut(u64),
) -> Result<RunOutcome, BackupError> {
    let started = Instant::now();
    let scratch = data_dir.join("backups").join("tmp");
    fsutil::ensure_private_dir(&scratch).map_err(|e| files_err(&scratch, e))?;
    let name = archive_name(&inst.name, clock, made);
    let snap = scratch.join(format!("{}.snapshot-{}", inst.name, std::process::id()));
    let partial = scratch.join(format!("{name}.partial-{}", std::process::id()));
    let result = (|| {
        let _ = fs::remove_file(&snap);
        snapshot(inst, &snap)?;
        let snap_db = Database::open(
            &snap,
            &inst.db_key,
            false,
            storage::Options {
                read_connections: 1,
                ..Default::default()
            },
        )
        .map_err(|e| BackupError::Snapshot(e.to_string()))?;
        let schema = snap_db
            .schema_version()
            .map_err(|e| BackupError::Snapshot(e.to_string()))?;
        // Taken from the copy, so it covers exactly the security log inside this archive.
        let now = clock.now();
        let audit_checkpoint = snap_db
            .read_blocking(|c| checkpoint::take(c, &inst.name, now, checkpoint::reason::BACKUP))
            .map_err(|e| BackupError::Snapshot(e.to_string()))?
            .to_json();
        drop(snap_db);
        let out = File::options()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(|e| files_err(&partial, e))?;
        let meta = HeaderMeta {
            instance: inst.name.clone(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            schema_version: schema,
            created_at: crate::clock::stamp(clock.now()),
        };
        let writer = ArchiveWriter::new(BufWriter::with_capacity(1 << 20, out), backup_key, meta)
            .map_err(archive_err)?;
        let mut pack = Packer::new(writer);
        let info = serde_json::to_vec(&InstanceInfo {
            name: inst.name.clone(),
            hostnames: inst.hostnames.clone(),
        })
        .map_err(archive_err)?;
        pack.add_file("instance.json", info.len() as u64, &info[..])
            .map_err(archive_err)?;
        pack.add_file(
            checkpoint::ARCHIVE_ENTRY,
            audit_checkpoint.len() as u64,
            audit_checkpoint.as_bytes(),
        )
        .map_err(archive_err)?;
        let key_hex = inst.db_key.to_hex();
        pack.add_file(
            "db.key",
            key_hex.expose().len() as u64,
            key_hex.expose().as_bytes(),
        )
        .map_err(archive_err)?;
        let f = File::open(&snap).map_err(|e| files_err(&snap, e))?;
        let size = f.metadata().map_err(|e| files_err(&snap, e))?.len();
        pack.add_file(
            "db.sqlite",
            size,
            Counting {
                inner: f,
                progress: &mut *progress,
            },
        )
        .map_err(archive_err)?;
        let files_dir = inst.dir.join("files");
        if let Ok(entries) = fs::read_dir(&files_dir) {
            let mut names: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            names.sort();
            for p in names {
                let Some(fname) = p.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let f = File::open(&p).map_err(|e| files_err(&p, e))?;
                let size = f.metadata().map_err(|e| files_err(&p, e))?.len();
                pack.add_file(
                    &format!("files/{fname}"),
                    size,
                    Counting {
                        inner: f,
                        progress: &mut *progress,
                    },
                )
                .map_err(archive_err)?;
            }
        }
        let writer = pack.finish().map_err(archive_err)?;
        let buf = writer.finish().map_err(archive_err)?;
        let file = buf
            .into_inner()
            .map_err(|e| files_err(&partial, e.error()))?;
        file.sync_all().map_err(|e| files_err(&partial, e))?;
        let size = file.metadata().map_err(|e| files_err(&partial, e))?.len();
        let mut results = Vec::new();
        for dest in destinations {
            results.push((dest.clone(), copy_into(&partial, dest, &name)));
        }
        Ok(RunOutcome {
            name: name.clone(),
            size,
            seconds: started.elapsed().as_secs_f64(),
            results,
        })
    })();
    let _ = fs::remove_file(&snap);
    let _ = fs::remove_file(&partial);
    result
}

fn copy_into(archive: &Path, dest: &Path, name: &str) -> Result<PathBuf, String> {
    fsutil::ensure_private_dir(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let tmp = dest.join(format!(".{name}.tmp-{}", std::process::id()));
    let target = dest.join(name);
    let copy = || -> std::io::Result<()> {
        let mut src = File::open(archive)?;
        let mut out = File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        std::io::copy(&mut src, &mut out)?;
        out.sync_all()?;
        fs::rename(&tmp, &target)?;
        fsutil::sync_dir(dest)
    };
    copy().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("{}: {e}", dest.display())
    })?;
    Ok(target)
}

/// Archives in a destination, oldest first, with their times (from their names).
pub fn list(dest: &Path) -> Vec<(String, chrono::DateTime<chrono::Utc>, u64)> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dest) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".hfb") else {
                continue;
            };
            let stem = stem.strip_suffix(Made::of(&name).mark()).unwrap_or(stem);
            let Some(ts) = stem.rsplit('-').next() else {
                continue;
            };
            if let Ok(t) = chrono::NaiveDateTime::parse_from_str(ts, "%Y%m%dT%H%M%SZ") {
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                out.push((name, t.and_utc(), size));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    out
}

/// Applies the retention rule to one destination; returns the deleted names.
/// The archives of one instance in a destination, oldest first.
pub fn list_instance(
    dest: &Path,
    instance: &str,
) -> Vec<(String, chrono::DateTime<chrono::Utc>, u64)> {
    let prefix = format!("holdfast-{instance}-");
    list(dest)
        .into_iter()
        .filter(|(n, _, _)| {
            n.strip_prefix(&prefix)
                .is_some_and(|rest| !rest.contains('-'))
        })
        .collect()
}

/// Applies the retention rule to the scheduled archives of one instance in one destination (each
/// instance keeps its own dailies, weeklies and monthlies); returns the deleted names. Archives
/// made by hand or before an update take no part: only [`prune_kept`] removes them.
pub fn prune(
    dest: &Path,
    instance: &str,
    daily: u32,
    weekly: u32,
    monthly: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    let archives: Vec<(String, chrono::DateTime<chrono::Utc>)> = list_instance(dest, instance)
        .into_iter()
        .filter(|(n, _, _)| Made::of(n) == Made::Schedule)
        .map(|(n, t, _)| (n, t))
        .collect();
    let doomed = super::retention::to_delete(&archives, daily, weekly, monthly, now);
    doomed
        .into_iter()
        .filter(|n| fs::remove_file(dest.join(n)).is_ok())
        .collect()
}

/// The operator's explicit prune: removes one instance's archives made by hand or before an
/// update that are older than `before`; returns the deleted names.
pub fn prune_kept(
    dest: &Path,
    instance: &str,
    before: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    list_instance(dest, instance)
        .into_iter()
        .filter(|(n, t, _)| Made::of(n) != Made::Schedule && *t < before)
        .map(|(n, _, _)| n)
        .filter(|n| fs::remove_file(dest.join(n)).is_ok())
        .collect()
}

pub struct Unpacked {
    pub header: Header,
    pub instance: String,
    pub hostnames: Vec<String>,
    pub db_key: Key256,
    pub files: usize,
    pub bytes: u64,
    /// The security-log checkpoint of the archived database (archives made before 0.1 have none).
    pub checkpoint: Option<Checkpoint>,
}

/// Decrypts and checks every byte of an archive, writing the (still SQLCipher-encrypted) database
/// and the (still encrypted) documents into `into`.
fn unpack(
    archive: &Path,
    key: &Key256,
    into: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Unpacked, BackupError> {
    let f = File::open(archive).map_err(|e| files_err(archive, e))?;
    let (header, reader) = ArchiveReader::open(std::io::BufReader::with_capacity(1 << 20, f), key)
        .map_err(archive_err)?;
    header
        .check_schema(storage::LATEST_SCHEMA_VERSION)
        .map_err(archive_err)?;
    fsutil::ensure_private_dir(&into.join("files")).map_err(|e| files_err(into, e))?;
    let mut info: Option<InstanceInfo> = None;
    let mut db_key: Option<Key256> = None;
    let mut audit_checkpoint: Option<Checkpoint> = None;
    let mut files = 0usize;
    let mut bytes = 0u64;
    Unpacker::new(reader)
        .for_each(
            |name: &str, size: u64, r: &mut dyn Read| -> Result<(), BackupError> {
                bytes += size;
                match name {
                    "instance.json" => {
                        let mut buf = Vec::new();
                        r.take(64 * 1024)
                            .read_to_end(&mut buf)
                            .map_err(archive_err)?;
                        info = Some(serde_json::from_slice(&buf).map_err(archive_err)?);
                    }
                    checkpoint::ARCHIVE_ENTRY => {
                        let mut buf = String::new();
                        r.take(64 * 1024)
                            .read_to_string(&mut buf)
                            .map_err(archive_err)?;
                        let mut found = checkpoint::parse(&buf).map_err(BackupError::Invalid)?;
                        if found.len() != 1 {
                            return Err(BackupError::Invalid(
                                "the archive's security-log checkpoint is not one checkpoint"
                                    .into(),
                            ));
                        }
                        audit_checkpoint = found.pop();
                    }
                    "db.key" => {
                        let mut raw = Vec::new();
                        r.take(256).read_to_end(&mut raw).map_err(archive_err)?;
                        let raw = Secret::new(raw);
                        db_key = Some(Key256::parse(raw.expose()).map_err(archive_err)?);
                    }
                    _ => {
                        let rel = if name == "db.sqlite" {
                            PathBuf::from("db.sqlite")
                        } else if let Some(f) = name.strip_prefix("files/") {
                            files += 1;
                            Path::new("files").join(f)
                        } else {
                            return Err(BackupError::Invalid(format!(
                                "unexpected entry `{name}` in the archive"
                            )));
                        };
                        let path = into.join(rel);
                        let mut out = File::options()
                            .write(true)
                            .create_new(true)
                            .open(&path)
                            .map_err(|e| files_err(&path, e))?;
                        let mut counting = Counting {
                            inner: r,
                            progress: &mut *progress,
                        };
                        std::io::copy(&mut counting, &mut out).map_err(archive_err)?;
                        out.sync_all().map_err(|e| files_err(&path, e))?;
                    }
                }
                Ok(())
            },
        )
        .map_err(|e: BackupError| e)?;
    let info =
        info.ok_or_else(|| BackupError::Invalid("the archive has no instance description".into()))?;
    let db_key =
        db_key.ok_or_else(|| BackupError::Invalid("the archive has no database key".into()))?;
    if !into.join("db.sqlite").exists() {
        return Err(BackupError::Invalid("the archive has no database".into()));
    }
    Ok(Unpacked {
        header,
        instance: info.name,
        hostnames: info.hostnames,
        db_key,
        files,
        bytes,
        checkpoint: audit_checkpoint,
    })
}

pub struct VerifyReport {
    pub instance: String,
    pub created_at: String,
    pub schema_version: i64,
    pub files: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub checkpoint: Option<Checkpoint>,
}

/// A full test restore into `scratch` (removed afterwards): every chunk authenticated, the database
/// opened with its key and checked (`integrity_check`, `cipher_integrity_check`), every document
/// decrypted.
pub fn verify(
    archive: &Path,
    key: &Key256,
    scratch: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifyReport, BackupError> {
    let started = Instant::now();
    let dir = scratch.join(format!(
        "verify-{}-{}",
        std::process::id(),
        started.elapsed().as_nanos()
    ));
    let _ = fs::remove_dir_all(&dir);
    let result = (|| {
        let u = unpack(archive, key, &dir, progress)?;
        check_restored(&dir, &u)?;
        Ok(VerifyReport {
            instance: u.instance,
            created_at: u.header.created_at.clone(),
            schema_version: u.header.schema_version,
            files: u.files,
            bytes: u.bytes,
            seconds: started.elapsed().as_secs_f64(),
            checkpoint: u.checkpoint,
        })
    })();
    let _ = fs::remove_dir_all(&dir);
    result
}

fn check_restored(dir: &Path, u: &Unpacked) -> Result<(), BackupError> {
    let db = Database::open(
        &dir.join("db.sqlite"),
        &u.db_key,
        false,
        storage::Options {
            read_connections: 1,
            ..Default::default()
        },
    )
    .map_err(|e| BackupError::Invalid(format!("the restored database does not open: {e}")))?;
    let problems = db
        .integrity_problems()
        .map_err(|e| BackupError::Invalid(e.to_string()))?;
    if !problems.is_empty() {
        return Err(BackupError::Invalid(format!(
            "the restored database is damaged: {}",
            problems.join("; ")
        )));
    }
    // The archive is authenticated as a whole, so this holds unless holdfast itself is wrong; it
    // also walks the restored security log's chain.
    if let Some(cp) = &u.checkpoint {
        let verdict = db
            .read_blocking(|c| checkpoint::check(c, cp))
            .map_err(|e| BackupError::Invalid(e.to_string()))?;
        if let checkpoint::Verdict::Contradicted(why) = verdict {
            return Err(BackupError::Invalid(format!(
                "the archived security log does not match the archive's checkpoint: {why}"
            )));
        }
    }
    drop(db);
    // Documents are sealed with the files key derived from this database key.
    let probe = Instance::probe_files_key(&u.db_key);
    if let Ok(entries) = fs::read_dir(dir.join("files")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let sealed = fs::read(e.path()).map_err(|err| files_err(&e.path(), err))?;
            let ctx = format!("holdfast:document:v1:{}:{name}", u.instance);
            crate::crypto::open(&probe, ctx.as_bytes(), &sealed).map_err(|_| {
                BackupError::Invalid(format!("document {name} in the archive does not decrypt"))
            })?;
        }
    }
    Ok(())
}

pub struct RestoreReport {
    pub instance: String,
    pub replaced: Option<PathBuf>,
    pub seconds: f64,
    pub files: usize,
}

/// Restores an archive as instance `name` (default: the archive's own) in `data_dir`. Everything is
/// unpacked and checked in a hidden staging folder first; only then is it swapped in, so a failure
/// at any point leaves the existing instance untouched.
pub fn restore(
    archive: &Path,
    key: &Key256,
    data_dir: &Path,
    master: &Key256,
    name: Option<&str>,
    clock: &dyn Clock,
    progress: &mut dyn FnMut(u64),
) -> Result<RestoreReport, BackupError> {
    let started = Instant::now();
    let root = instances::instances_dir(data_dir);
    fsutil::ensure_private_dir(&root).map_err(|e| files_err(&root, e))?;
    let staging = root.join(format!(".restoring-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let result = (|| {
        let u = unpack(archive, key, &staging, progress)?;
        check_restored(&staging, &u)?;
        let target_name = name.map(str::to_string).unwrap_or(u.instance.clone());
        instances::validate_name(&target_name).map_err(|e| BackupError::Invalid(e.to_string()))?;
        instances::seal_restored(
            &staging,
            master,
            &target_name,
            &u.hostnames,
            &u.db_key,
            clock,
        )
        .map_err(|e| BackupError::Invalid(e.to_string()))?;
        let target = root.join(&target_name);
        let mut replaced = None;
        if target.exists() {
            let graveyard = instances::removed_dir(data_dir);
            fsutil::ensure_private_dir(&graveyard).map_err(|e| files_err(&graveyard, e))?;
            let kept = graveyard.join(format!(
                "{target_name}-before-restore-{}",
                clock.now().format("%Y%m%dT%H%M%SZ")
            ));
            fs::rename(&target, &kept).map_err(|e| files_err(&target, e))?;
            replaced = Some(kept);
        }
        fs::rename(&staging, &target).map_err(|e| files_err(&target, e))?;
        fsutil::sync_dir(&root).map_err(|e| files_err(&root, e))?;
        Ok(RestoreReport {
            instance: target_name,
            replaced,
            seconds: started.elapsed().as_secs_f64(),
            files: u.files,
        })
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}
