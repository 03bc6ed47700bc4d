//! The backup key: separate from every database key, kept sealed under the master key in
//! `keys/backup.key`, and exported once as a recovery code for restores on new hardware.

use crate::crypto::{self, Key256};
use crate::fsutil;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const CONTEXT: &[u8] = b"holdfast:backup-key:v1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    format: u32,
    master_key_id: String,
    sealed: String,
    exported_at: Option<String>,
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("backup.key")
}

fn read(data_dir: &Path) -> Result<Option<Sealed>, String> {
    match std::fs::read_to_string(path(data_dir)) {
        Ok(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path(data_dir).display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path(data_dir).display())),
    }
}

fn open(master: &Key256, s: &Sealed) -> Result<Key256, String> {
    if s.master_key_id != master.id() {
        return Err(format!(
            "the backup key was sealed with master key {}, but the master key in use is {}",
            s.master_key_id,
            master.id()
        ));
    }
    let raw = hex::decode(&s.sealed).map_err(|e| e.to_string())?;
    let plain = crypto::open(master, CONTEXT, &raw).map_err(|e| format!("backup key: {e}"))?;
    Key256::parse(plain.expose()).map_err(|e| e.to_string())
}

/// The backup key, created on first use.
pub fn load_or_create(data_dir: &Path, master: &Key256) -> Result<Key256, String> {
    if let Some(s) = read(data_dir)? {
        return open(master, &s);
    }
    let key = Key256::generate().map_err(|e| e.to_string())?;
    let sealed = crypto::seal(master, CONTEXT, key.expose()).map_err(|e| e.to_string())?;
    let s = Sealed {
        format: 1,
        master_key_id: master.id(),
        sealed: hex::encode(sealed),
        exported_at: None,
    };
    let text = serde_json::to_vec_pretty(&s).map_err(|e| e.to_string())?;
    fsutil::write_new_private(&path(data_dir), &text)
        .map_err(|e| format!("{}: {e}", path(data_dir).display()))?;
    Ok(key)
}

/// Whether (and when) the recovery code was exported.
pub fn exported_at(data_dir: &Path) -> Option<String> {
    read(data_dir).ok().flatten().and_then(|s| s.exported_at)
}

pub fn mark_exported(data_dir: &Path, when: &str) -> Result<(), String> {
    let mut s = read(data_dir)?.ok_or("no backup key yet")?;
    s.exported_at = Some(when.to_string());
    let text = serde_json::to_vec_pretty(&s).map_err(|e| e.to_string())?;
    fsutil::write_atomic(&path(data_dir), &text, 0o600).map_err(|e| e.to_string())
}
