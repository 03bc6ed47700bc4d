//! The recorded outcome of backups and verification restores per destination, for the admin page,
//! warnings and `holdfast backup list`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DestinationStatus {
    pub last_success: Option<String>,
    pub last_archive: Option<String>,
    pub last_size: Option<u64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub last_verified: Option<String>,
    pub last_verify_seconds: Option<f64>,
    pub last_verify_error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    /// Keyed by destination path.
    pub destinations: BTreeMap<String, DestinationStatus>,
    pub last_run: Option<String>,
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("backups").join("status.json")
}

pub fn load(data_dir: &Path) -> Status {
    std::fs::read_to_string(path(data_dir))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

pub fn save(data_dir: &Path, s: &Status) -> Result<(), String> {
    let dir = data_dir.join("backups");
    crate::fsutil::ensure_private_dir(&dir).map_err(|e| e.to_string())?;
    let text = serde_json::to_vec_pretty(s).map_err(|e| e.to_string())?;
    crate::fsutil::write_atomic(&path(data_dir), &text, 0o600).map_err(|e| e.to_string())
}
