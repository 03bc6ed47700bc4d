//! Update events the console could not write into the security log itself, handed to the running
//! service. Once the master key is sealed in a systemd credential (install.md section 6) only the
//! service receives it, so `holdfast update …` run by an operator cannot open the instances; it
//! appends its events to a spool file in the update dir instead, and the service writes them into
//! the `default` instance's security log through the one audit writer, exactly once each.

use crate::audit::{self, Actor, Entry, Event};
use crate::fsutil;
use crate::instances::Instance;
use crate::storage::{StorageError, settings};
use chrono::{DateTime, Utc};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Where the console appends; the service renames it to [`TAKING`] before reading, so events
/// handed over meanwhile start a new spool instead of being lost.
const SPOOL: &str = "audit-handover.jsonl";
const TAKING: &str = "audit-handover.taking";
/// A few hundred bytes per event; an update writes a handful. Far more means something is wrong,
/// and the service must not read an unbounded file.
const MAX_SPOOL_LEN: u64 = 1 << 20;
/// The SHA-256 of the last spool file taken in, written in the transaction that records its
/// events: a crash between that commit and the file's removal cannot record them twice.
const LAST_TAKEN: &str = "update.handover.last";

/// One event as the console handed it over.
#[derive(Debug, Serialize, Deserialize)]
struct Handed {
    at: DateTime<Utc>,
    event: String,
    ok: bool,
    detail: serde_json::Value,
}

/// Why an event could not be handed over or taken in.
#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds more than {MAX_SPOOL_LEN} bytes; it is not read", .0.display())]
    TooLarge(PathBuf),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> HandoverError + '_ {
    move |source| HandoverError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn update_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("update")
}

/// Appends one event for the service to record (synced: the update's next step may be a crash).
pub fn hand_over(
    data_dir: &Path,
    at: DateTime<Utc>,
    event: Event,
    ok: bool,
    detail: serde_json::Value,
) -> Result<(), HandoverError> {
    let dir = update_dir(data_dir);
    fsutil::ensure_private_dir(&dir).map_err(io_at(&dir))?;
    let path = dir.join(SPOOL);
    if fs::metadata(&path).is_ok_and(|m| m.len() > MAX_SPOOL_LEN) {
        return Err(HandoverError::TooLarge(path));
    }
    let line = serde_json::to_string(&Handed {
        at,
        event: event.as_str().to_string(),
        ok,
        detail,
    })
    .map_err(|e| HandoverError::Io {
        path: path.clone(),
        source: e.into(),
    })?;
    // The service renames the spool before reading it, under the same lock: a writer that opened
    // the old file checks, once it holds the lock, that the path still names it, else starts over.
    for _ in 0..8 {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_at(&path))?;
        let mut f = locked(f, &path)?;
        let same = match (f.metadata(), fs::metadata(&path)) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        };
        if !same {
            continue;
        }
        return f
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| f.sync_data())
            .map_err(io_at(&path));
    }
    Err(HandoverError::Io {
        path,
        source: std::io::Error::other("the spool kept being taken while it was written"),
    })
}

fn locked(f: fs::File, path: &Path) -> Result<Flock<fs::File>, HandoverError> {
    Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, errno)| HandoverError::Io {
        path: path.to_path_buf(),
        source: errno.into(),
    })
}

/// Whether anything waits to be taken in (a cheap check for the service's poll).
pub fn waiting(data_dir: &Path) -> bool {
    let dir = update_dir(data_dir);
    dir.join(SPOOL).exists() || dir.join(TAKING).exists()
}

/// Records every handed-over event in `inst`'s security log (the service calls it with the
/// `default` instance); returns how many were recorded.
pub async fn take_in(
    data_dir: &Path,
    inst: &Instance,
    now: DateTime<Utc>,
) -> Result<usize, HandoverError> {
    let dir = update_dir(data_dir);
    let taking = dir.join(TAKING);
    if !taking.exists() {
        let spool = dir.join(SPOOL);
        match fs::rename(&spool, &taking) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io_at(&spool)(e)),
        }
    }
    let mut bytes = Vec::new();
    // Waits for a writer that opened the file before the rename to finish its line.
    let f = locked(fs::File::open(&taking).map_err(io_at(&taking))?, &taking)?;
    (&*f)
        .take(MAX_SPOOL_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(io_at(&taking))?;
    drop(f);
    if bytes.len() as u64 > MAX_SPOOL_LEN {
        // Set aside, not deleted: an operator may want to see what filled it.
        let aside = dir.join("audit-handover.too-large");
        fs::rename(&taking, &aside).map_err(io_at(&taking))?;
        return Err(HandoverError::TooLarge(aside));
    }
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let entries: Vec<Entry> = String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(entry_of)
        .collect();
    let stamp = crate::clock::stamp(now);
    let recorded = inst
        .db
        .write(move |tx| {
            if settings::get(tx, LAST_TAKEN)?.as_deref() == Some(digest.as_str()) {
                return Ok::<usize, StorageError>(0);
            }
            let n = entries.len();
            for e in entries {
                audit::write(tx, now, e)?;
            }
            settings::set(tx, LAST_TAKEN, &digest, &stamp)?;
            Ok(n)
        })
        .await?;
    fs::remove_file(&taking).map_err(io_at(&taking))?;
    Ok(recorded)
}

/// The security-log entry for one spool line. A line that cannot be read is still recorded (as a
/// failed update event carrying the line), so that nothing handed over silently disappears.
fn entry_of(line: &str) -> Entry {
    let base = |event, ok: bool, detail| {
        let e = Entry::new(event, Actor::Console, "update", "console").with(detail);
        if ok { e } else { e.failed() }
    };
    match serde_json::from_str::<Handed>(line) {
        Ok(h) => match Event::parse(&h.event) {
            Some(event) => {
                let mut detail = h.detail;
                if let Some(map) = detail.as_object_mut() {
                    map.insert("handed_over_at".into(), h.at.to_rfc3339().into());
                }
                base(event, h.ok, detail)
            }
            None => base(
                Event::UpdateFailed,
                false,
                serde_json::json!({ "unknown_event": audit::cut(&h.event, 64), "handed_over_at": h.at.to_rfc3339() }),
            ),
        },
        Err(_) => base(
            Event::UpdateFailed,
            false,
            serde_json::json!({ "unreadable_handover": audit::cut(line, 200) }),
        ),
    }
}
