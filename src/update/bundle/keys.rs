//! Release keys: their ids, the one-line public key file, and the set this appliance trusts
//! (built in, or read from a root-only directory).

use super::{BundleError, MAX_KEY_FILE_LEN, PUBLIC_KEY_TAG, io_err};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Hex of the first 8 bytes of SHA-256 over the raw public key: short enough to read aloud.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    hex::encode(&digest[..8])
}

/// The one-line public key file: `holdfast-release-ed25519 <base64> <comment>`.
pub fn format_public_key(key: &VerifyingKey, comment: &str) -> String {
    format!(
        "{PUBLIC_KEY_TAG} {} {comment}\n",
        B64.encode(key.as_bytes())
    )
}

/// What is wrong with the text of a public key file.
#[derive(Debug, thiserror::Error)]
pub enum PublicKeyError {
    #[error("no key line")]
    NoKeyLine,
    #[error("more than one key line (one key per file)")]
    SeveralKeyLines,
    #[error("does not start with `{PUBLIC_KEY_TAG}`")]
    WrongTag,
    #[error("missing base64 key")]
    MissingKey,
    #[error("key is not valid base64")]
    NotBase64,
    #[error("key is {0} bytes, expected 32")]
    WrongLength(usize),
    #[error("not an Ed25519 public key")]
    NotEd25519,
    #[error("weak (small-order) Ed25519 key refused")]
    Weak,
}

fn parse_public_key(text: &str) -> Result<VerifyingKey, PublicKeyError> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let line = lines.next().ok_or(PublicKeyError::NoKeyLine)?;
    if lines.next().is_some() {
        return Err(PublicKeyError::SeveralKeyLines);
    }
    let mut fields = line.split_whitespace();
    if fields.next() != Some(PUBLIC_KEY_TAG) {
        return Err(PublicKeyError::WrongTag);
    }
    let encoded = fields.next().ok_or(PublicKeyError::MissingKey)?;
    let raw = B64.decode(encoded).map_err(|_| PublicKeyError::NotBase64)?;
    let bytes: [u8; 32] = raw
        .as_slice()
        .try_into()
        .map_err(|_| PublicKeyError::WrongLength(raw.len()))?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| PublicKeyError::NotEd25519)?;
    if key.is_weak() {
        return Err(PublicKeyError::Weak);
    }
    Ok(key)
}

/// The release keys this appliance accepts signatures from, by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: BTreeMap<String, VerifyingKey>,
}

impl TrustedKeys {
    /// Parses public key files; `origin` names the file in error messages. The same key found
    /// twice (built in and in the directory) counts once.
    pub fn from_pub_files(texts: &[(&str, &str)]) -> Result<Self, BundleError> {
        let mut trusted = Self::default();
        for (origin, text) in texts {
            let key = parse_public_key(text).map_err(|reason| BundleError::BadPublicKey {
                origin: (*origin).to_string(),
                reason,
            })?;
            trusted.insert(origin, key)?;
        }
        Ok(trusted)
    }

    pub fn insert(&mut self, origin: &str, key: VerifyingKey) -> Result<(), BundleError> {
        let id = key_id(&key);
        match self.keys.get(&id) {
            Some(existing) if existing != &key => Err(BundleError::KeyIdCollision {
                origin: origin.to_string(),
                key_id: id,
            }),
            Some(_) => Ok(()),
            None => {
                self.keys.insert(id, key);
                Ok(())
            }
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    pub fn get(&self, key_id: &str) -> Option<&VerifyingKey> {
        self.keys.get(key_id)
    }
}

/// Reads the `*.pub` files of `[update] trusted_keys_dir` as `(path, content)` pairs for
/// [`TrustedKeys::from_pub_files`]. Anyone who can write there can authorise updates, so the
/// directory and each file must be root-owned and not writable by group or others, and links are
/// refused. A missing directory yields no keys.
pub fn read_pub_dir(dir: &Path) -> Result<Vec<(String, String)>, BundleError> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(format!("cannot read {}", dir.display()))(e)),
    };
    if !meta.is_dir() {
        return Err(location_error(dir, "not a directory (links are refused)"));
    }
    check_root_only(dir, &meta)?;
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(format!("cannot list {}", dir.display())))? {
        let entry = entry.map_err(io_err(format!("cannot list {}", dir.display())))?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "pub") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let meta = fs::symlink_metadata(&path)
            .map_err(io_err(format!("cannot read {}", path.display())))?;
        if !meta.is_file() {
            return Err(location_error(
                &path,
                "not a regular file (links are refused)",
            ));
        }
        check_root_only(&path, &meta)?;
        if meta.len() > MAX_KEY_FILE_LEN {
            return Err(location_error(&path, "too large for a public key file"));
        }
        let text =
            fs::read_to_string(&path).map_err(io_err(format!("cannot read {}", path.display())))?;
        out.push((path.display().to_string(), text));
    }
    Ok(out)
}

fn location_error(path: &Path, reason: &str) -> BundleError {
    BundleError::UntrustedKeyLocation {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn check_root_only(path: &Path, meta: &fs::Metadata) -> Result<(), BundleError> {
    if meta.uid() != 0 {
        return Err(location_error(
            path,
            &format!("owned by uid {}, must be owned by root", meta.uid()),
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(location_error(
            path,
            &format!(
                "mode {:04o} is writable by group or others",
                meta.mode() & 0o7777
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_parsing() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        let text = format!(
            "# vendor key\n{}",
            format_public_key(&key, "holdfast release key")
        );
        let trusted =
            TrustedKeys::from_pub_files(&[("a.pub", &text), ("b.pub", &text)]).expect("parse");
        assert_eq!(trusted.len(), 1, "the same key twice counts once");
        assert_eq!(trusted.get(&key_id(&key)), Some(&key));
        for bad in [
            "",
            "ssh-ed25519 AAAA",
            "holdfast-release-ed25519 !!!",
            "holdfast-release-ed25519 AAAA",
        ] {
            let err = TrustedKeys::from_pub_files(&[("k.pub", bad)]).expect_err(bad);
            assert!(matches!(err, BundleError::BadPublicKey { .. }), "{bad}");
            assert!(err.to_string().starts_with("public key k.pub: "));
        }
        let two = format!("{text}{text}");
        assert!(TrustedKeys::from_pub_files(&[("k.pub", &two)]).is_err());
    }
}
