//! Where the master key comes from: a systemd credential, else a 0600 file in the data dir.

use crate::crypto::{Key256, Secret};
use crate::fsutil;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// File name of the master key as a systemd credential (`LoadCredentialEncrypted=holdfast-master:…`).
pub const CREDENTIAL_NAME: &str = "holdfast-master";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Credential(PathBuf),
    File(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Credential(p) => write!(f, "systemd credential {}", p.display()),
            KeySource::File(p) => write!(f, "key file {}", p.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("master key {source_desc} cannot be read: {reason}")]
    Unreadable { source_desc: String, reason: String },
    #[error("master key {source_desc} is malformed: {reason}")]
    Malformed { source_desc: String, reason: String },
    #[error(
        "master key file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error(
        "master key missing: {path} does not exist, no systemd credential `{CREDENTIAL_NAME}` is loaded, and instances already exist; restore the key file or start holdfast with its credential — a new key would not open them"
    )]
    Missing { path: PathBuf },
    #[error("cannot create master key file {path}: {reason}")]
    Create { path: PathBuf, reason: String },
}

pub fn key_file_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("master.key")
}

/// The credential path when systemd handed us one.
pub fn credential_path() -> Option<PathBuf> {
    let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
    let path = Path::new(&dir).join(CREDENTIAL_NAME);
    path.exists().then_some(path)
}

/// Loads the master key. A new key file is created only when `may_create` (no instance exists yet):
/// creating one next to existing instances would lock them out for good.
pub fn load(data_dir: &Path, may_create: bool) -> Result<(Key256, KeySource), KeyError> {
    if let Some(path) = credential_path() {
        let source = KeySource::Credential(path.clone());
        return read_key(&path, &source).map(|k| (k, source));
    }
    let path = key_file_path(data_dir);
    let source = KeySource::File(path.clone());
    match std::fs::metadata(&path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::TooOpen { path, mode });
            }
            read_key(&path, &source).map(|k| (k, source))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !may_create {
                return Err(KeyError::Missing { path });
            }
            let key = Key256::generate().map_err(|e| KeyError::Create {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let hex = key.to_hex();
            fsutil::write_new_private(&path, format!("{}\n", hex.expose()).as_bytes()).map_err(
                |e| KeyError::Create {
                    path: path.clone(),
                    reason: e.to_string(),
                },
            )?;
            tracing::info!(path = %path.display(), key_id = %key.id(), "created a new master key");
            Ok((key, source))
        }
        Err(e) => Err(KeyError::Unreadable {
            source_desc: source.to_string(),
            reason: e.to_string(),
        }),
    }
}

fn read_key(path: &Path, source: &KeySource) -> Result<Key256, KeyError> {
    let bytes = Secret::new(std::fs::read(path).map_err(|e| KeyError::Unreadable {
        source_desc: source.to_string(),
        reason: e.to_string(),
    })?);
    Key256::parse(bytes.expose()).map_err(|e| KeyError::Malformed {
        source_desc: source.to_string(),
        reason: e.to_string(),
    })
}
