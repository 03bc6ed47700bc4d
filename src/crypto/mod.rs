//! Key material, authenticated encryption of small blobs, and random tokens — pure functions, no I/O.

mod secret;

pub use secret::Secret;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// Length in bytes of every symmetric key holdfast uses (AES-256, SQLCipher raw key).
pub const KEY_LEN: usize = 32;
/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;

/// A 256-bit symmetric key. Never printed, wiped on drop.
#[derive(Clone)]
pub struct Key256(Secret<[u8; KEY_LEN]>);

impl Key256 {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Secret::new(bytes))
    }

    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut bytes = [0u8; KEY_LEN];
        fill_random(&mut bytes)?;
        let key = Self::from_bytes(bytes);
        bytes.zeroize();
        Ok(key)
    }

    /// Accepts the key as 32 raw bytes or as 64 hexadecimal characters (surrounding white space allowed),
    /// so that both `systemd-creds` blobs and hand-made key files work.
    pub fn parse(material: &[u8]) -> Result<Self, CryptoError> {
        if material.len() == KEY_LEN {
            let mut bytes = [0u8; KEY_LEN];
            bytes.copy_from_slice(material);
            let key = Self::from_bytes(bytes);
            bytes.zeroize();
            return Ok(key);
        }
        let text = std::str::from_utf8(material).map_err(|_| CryptoError::KeyFormat)?;
        let mut decoded = hex::decode(text.trim()).map_err(|_| CryptoError::KeyFormat)?;
        if decoded.len() != KEY_LEN {
            decoded.zeroize();
            return Err(CryptoError::KeyFormat);
        }
        let key = Self::parse(&decoded);
        decoded.zeroize();
        key
    }

    pub fn expose(&self) -> &[u8; KEY_LEN] {
        self.0.expose()
    }

    /// Hex form, for handing the key to SQLCipher as a raw key. The result is itself secret.
    pub fn to_hex(&self) -> Secret<String> {
        Secret::new(hex::encode(self.expose()))
    }

    /// A short public identifier of the key (not reversible), so that messages can say *which*
    /// key was expected without revealing it.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"holdfast-key-id:v1:");
        h.update(self.expose());
        hex::encode(&h.finalize()[..8])
    }
}

impl std::fmt::Debug for Key256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key256(id={})", self.id())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the operating system's random number generator failed")]
    Random,
    #[error("key material must be 32 bytes or 64 hexadecimal characters")]
    KeyFormat,
    #[error("authentication failed: wrong key, or the data was altered")]
    Authentication,
    #[error("sealed data is too short to be valid")]
    Truncated,
}

pub fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::Random)
}

/// Encrypts `plaintext` under `key`, binding it to `context` (authenticated, not stored).
/// Output: nonce ‖ ciphertext ‖ tag.
pub fn seal(key: &Key256, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = Aes256Gcm::new_from_slice(key.expose()).map_err(|_| CryptoError::KeyFormat)?;
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    let body = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: context,
            },
        )
        .map_err(|_| CryptoError::Authentication)?;
    let mut out = Vec::with_capacity(NONCE_LEN + body.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reverses [`seal`]; fails if the key or the context differ, or if any byte was changed.
pub fn open(key: &Key256, context: &[u8], sealed: &[u8]) -> Result<Secret<Vec<u8>>, CryptoError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(CryptoError::Truncated);
    }
    let cipher = Aes256Gcm::new_from_slice(key.expose()).map_err(|_| CryptoError::KeyFormat)?;
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&sealed[..NONCE_LEN]);
    cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &sealed[NONCE_LEN..],
                aad: context,
            },
        )
        .map(Secret::new)
        .map_err(|_| CryptoError::Authentication)
}

/// A random token of `bytes` bytes as URL-safe base64 without padding.
pub fn random_token(bytes: usize) -> Result<Secret<String>, CryptoError> {
    use base64::Engine;
    let mut raw = vec![0u8; bytes];
    fill_random(&mut raw)?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw);
    raw.zeroize();
    Ok(Secret::new(token))
}

/// SHA-256 as lowercase hex; used to store tokens so that a database dump does not reveal them.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Constant-time comparison of two byte strings of possibly different length.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        let key = Key256::generate().unwrap();
        let sealed = seal(&key, b"ctx", b"hello").unwrap();
        assert_eq!(open(&key, b"ctx", &sealed).unwrap().expose(), b"hello");
        assert_eq!(
            open(&key, b"other", &sealed).err(),
            Some(CryptoError::Authentication)
        );
        let mut flipped = sealed.clone();
        flipped[NONCE_LEN + 1] ^= 1;
        assert_eq!(
            open(&key, b"ctx", &flipped).err(),
            Some(CryptoError::Authentication)
        );
        let other = Key256::generate().unwrap();
        assert_eq!(
            open(&other, b"ctx", &sealed).err(),
            Some(CryptoError::Authentication)
        );
        assert_eq!(
            open(&key, b"ctx", &sealed[..10]).err(),
            Some(CryptoError::Truncated)
        );
    }

    #[test]
    fn key_parse_accepts_raw_and_hex_only() {
        let key = Key256::generate().unwrap();
        let hex = format!("{}\n", key.to_hex().expose());
        assert_eq!(Key256::parse(hex.as_bytes()).unwrap().id(), key.id());
        assert_eq!(Key256::parse(key.expose()).unwrap().id(), key.id());
        assert_eq!(Key256::parse(b"short").err(), Some(CryptoError::KeyFormat));
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = Key256::from_bytes([0xab; KEY_LEN]);
        let shown = format!("{key:?}");
        assert!(!shown.contains("abab"), "{shown}");
    }
}
