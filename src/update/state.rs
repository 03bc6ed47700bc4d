//! What the appliance remembers about updates: the security epoch it has reached, the newest time it
//! has seen (so a clock moved back cannot revive an old bundle), and the history of attempts.

use super::record_file::{self, RecordFileError};
use crate::fsutil;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Why the update state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    File(#[from] RecordFileError),
    #[error("{0}")]
    OwnVersion(#[source] semver::Error),
    #[error("recorded version {version}: {source}")]
    RecordedVersion {
        version: String,
        #[source]
        source: semver::Error,
    },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateState {
    pub security_epoch: u32,
    pub last_seen_time: Option<DateTime<Utc>>,
    /// The version the last completed update (or rollback) installed.
    #[serde(default)]
    pub installed_version: Option<String>,
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub action: String,
    pub version: Option<String>,
    pub outcome: String,
    pub detail: String,
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("update").join("state.json")
}

pub fn load(data_dir: &Path) -> Result<UpdateState, StateError> {
    Ok(record_file::read(&path(data_dir))?.unwrap_or_default())
}

/// Records an attempt and moves `last_seen_time` forward (never back).
pub fn record(
    data_dir: &Path,
    now: DateTime<Utc>,
    entry: HistoryEntry,
) -> Result<UpdateState, StateError> {
    let mut st = load(data_dir)?;
    st.last_seen_time = Some(st.last_seen_time.map_or(now, |t| t.max(now)));
    st.history.push(entry);
    save(data_dir, &st)?;
    Ok(st)
}

/// [`record`] with the entry's fields spelled out.
pub fn note(
    data_dir: &Path,
    now: DateTime<Utc>,
    action: &str,
    version: Option<String>,
    outcome: &str,
    detail: impl Into<String>,
) -> Result<UpdateState, StateError> {
    record(
        data_dir,
        now,
        HistoryEntry {
            at: now,
            action: action.into(),
            version,
            outcome: outcome.into(),
            detail: detail.into(),
        },
    )
}

fn save(data_dir: &Path, st: &UpdateState) -> Result<(), StateError> {
    let dir = data_dir.join("update");
    fsutil::ensure_private_dir(&dir)
        .map_err(|source| RecordFileError::Write { path: dir, source })?;
    Ok(record_file::write(&path(data_dir), st)?)
}

/// After a completed update: the new version, the security epoch moved up (never down) and the
/// time moved forward.
pub fn complete_update(
    data_dir: &Path,
    now: DateTime<Utc>,
    epoch: u32,
    version: &str,
) -> Result<(), StateError> {
    let mut st = load(data_dir)?;
    st.security_epoch = st.security_epoch.max(epoch);
    st.last_seen_time = Some(st.last_seen_time.map_or(now, |t| t.max(now)));
    st.installed_version = Some(version.to_string());
    save(data_dir, &st)
}

/// After a rollback: the version that runs again. The security epoch stays where it was.
pub fn set_installed(data_dir: &Path, version: &str) -> Result<(), StateError> {
    let mut st = load(data_dir)?;
    st.installed_version = Some(version.to_string());
    save(data_dir, &st)
}

/// The version this appliance runs: the newer of the binary's own version and the last version an
/// update installed (a bundle's version is what the vendor released, even if the test build inside
/// it reports another).
pub fn installed_version(st: &UpdateState) -> Result<semver::Version, StateError> {
    let own = semver::Version::parse(env!("CARGO_PKG_VERSION")).map_err(StateError::OwnVersion)?;
    Ok(match &st.installed_version {
        Some(v) => {
            let v = semver::Version::parse(v).map_err(|source| StateError::RecordedVersion {
                version: v.clone(),
                source,
            })?;
            v.max(own)
        }
        None => own,
    })
}
