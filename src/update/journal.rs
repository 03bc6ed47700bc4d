//! The journal of an update in progress (`update/work/journal.json`): every step is written durably
//! before the next begins, so that after a crash `update recover` knows exactly what to undo or
//! finish.

use super::record_file::{self, RecordFileError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Steps in the order they happen. Rollback steps come last so that `>=` comparisons on the
/// forward steps stay meaningful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Bundle copied, verified and unpacked into the work dir; nothing on the system changed.
    Staged,
    /// Pre-update backup archives written (when backups are configured).
    BackedUp,
    /// Hand-over: the new binary may be in place; the old server still serves from the old one.
    Swapped,
    /// Hand-over: the new server was started on the old one's sockets; it accepts nothing until
    /// the old one has exited.
    Candidate,
    /// The old server has been asked to stop.
    Stopping,
    /// The old server is stopped.
    Stopped,
    /// The databases are copied to the snapshot dir, complete and synced.
    Snapshotted,
    /// The new binary or package is in place.
    Installed,
    /// The new server has been started.
    Started,
    /// The new server answered `/readyz`: the update is complete.
    Ready,
    RollingBack,
    RolledBack,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Staged => "staged",
            Step::BackedUp => "backed_up",
            Step::Swapped => "swapped",
            Step::Candidate => "candidate",
            Step::Stopping => "stopping",
            Step::Stopped => "stopped",
            Step::Snapshotted => "snapshotted",
            Step::Installed => "installed",
            Step::Started => "started",
            Step::Ready => "ready",
            Step::RollingBack => "rolling_back",
            Step::RolledBack => "rolled_back",
        }
    }

    pub const ALL: [Step; 12] = [
        Step::Staged,
        Step::BackedUp,
        Step::Swapped,
        Step::Candidate,
        Step::Stopping,
        Step::Stopped,
        Step::Snapshotted,
        Step::Installed,
        Step::Started,
        Step::Ready,
        Step::RollingBack,
        Step::RolledBack,
    ];
}

/// How the new version gets onto the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallKind {
    /// `/usr/bin/holdfast` belongs to the Debian package: install with `dpkg -i`.
    Packaged {
        package: String,
        /// dpkg's version of the package before the update (what a rollback must bring back).
        installed: String,
    },
    /// A binary outside any package: replace the file atomically.
    Binary,
}

/// How the server is stopped and started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    Systemd {
        unit: String,
    },
    /// Not under a service manager: stop by PID, start the binary again with the same arguments.
    Detached {
        args: Vec<String>,
        cwd: PathBuf,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    pub id: String,
    pub step: Step,
    pub started_at: DateTime<Utc>,
    pub from_version: String,
    pub to_version: String,
    pub security_epoch: u32,
    pub kind: InstallKind,
    pub restart: Restart,
    /// The binary the server runs from (replaced in place for a binary install).
    pub exe: PathBuf,
    pub old_sha256: String,
    pub new_sha256: String,
    /// The payload package inside the work dir.
    pub payload: String,
    /// The old server's boot id and schemas; the new one must show another boot id.
    pub old_boot: Option<String>,
    pub old_schemas: std::collections::BTreeMap<String, i64>,
    pub new_boot: Option<String>,
    pub new_schemas: std::collections::BTreeMap<String, i64>,
    /// PID of a server this update started (detached restart), to stop it on rollback.
    pub started_pid: Option<u32>,
    /// When the old server stopped answering, for the downtime figure.
    pub stopped_at: Option<DateTime<Utc>>,
    pub ready_at: Option<DateTime<Utc>>,
    /// Why the update is being rolled back (set with `RollingBack`).
    pub rollback_reason: Option<String>,
    /// Rolling back a completed update also restores the databases (their schema changed).
    pub restore_databases: bool,
    /// The step the update had reached when the rollback began.
    pub step_before_rollback: Option<Step>,
    /// The new server was started beside the old one to take over its sockets (no schema change):
    /// no database snapshot was taken, because the old server wrote until it stopped and the new
    /// one writes only after that (docs/updating.md).
    #[serde(default)]
    pub hand_over: bool,
    /// The update held the listening sockets while the server changed: clients waited, none
    /// was refused.
    #[serde(default)]
    pub sockets_held: bool,
}

pub const FILE: &str = "journal.json";

/// Why the journal could not be read or written.
pub type JournalError = RecordFileError;

pub fn load(dir: &Path) -> Result<Option<Journal>, JournalError> {
    record_file::read(&dir.join(FILE))
}

/// Writes the journal durably (temp file, fsync, rename, fsync of the directory).
pub fn save(dir: &Path, j: &Journal) -> Result<(), JournalError> {
    record_file::write(&dir.join(FILE), j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_and_keep_their_order() {
        for (i, s) in Step::ALL.iter().enumerate() {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
            let back: Step = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *s);
            if i > 0 {
                assert!(Step::ALL[i - 1] < *s);
            }
        }
    }
}
