//! Offline update bundles, appliance side: the file format's constants and the public face of its
//! parts. No private-key code lives here. The parts: `error` (why a bundle is refused),
//! `manifest` (the signed description, its SBOM and the rules it must meet), `keys` (release
//! keys), `envelope` (reading and writing the container), `verify` (the whole decision) and
//! `extract` (copying a verified payload out).
//!
//! File layout (integers big-endian):
//!
//! ```text
//! b"HFUPDATE" | u16 format version (2) | u32 manifest length (<= 1 MiB) | manifest JSON
//!             | u32 signature-block length (<= 64 KiB) | signatures JSON
//!             | SBOM (CycloneDX JSON, <= 8 MiB) | payload files, concatenated in manifest order | EOF
//! ```
//!
//! The signatures cover `SIGNING_CONTEXT || manifest bytes` exactly as stored, and the manifest
//! carries the size and SHA-256 of the SBOM and of every payload file, so one signature check
//! authenticates the whole file. Format 1 had no SBOM; it is refused with its own message. There is no file table besides the manifest: bytes that no manifest entry accounts
//! for are "appended data" and refused.
//!
//! Payload paths are a single plain file name from `[A-Za-z0-9._+~-]`, not starting with `.` or
//! `-`, ending in `.deb`: this product only ships Debian packages, and an allow-list leaves no
//! room for `..`, absolute paths, separators, or names that mean something to a shell.

mod envelope;
mod error;
mod extract;
mod keys;
mod manifest;
mod verify;

pub use envelope::{Inspection, inspect, inspect_bytes, signed_message, write_envelope};
pub use error::{BundleError, human_size};
pub use extract::extract;
pub use keys::{PublicKeyError, TrustedKeys, format_public_key, key_id, read_pub_dir};
pub use manifest::{
    Manifest, PayloadFile, SbomRef, SbomSummary, SignatureEntry, check_manifest_rules,
    check_payload_path, sbom_summary,
};
pub use verify::{Policy, Verified, copy_hashed, verify, verify_bytes};

use std::io;

pub const MAGIC: &[u8; 8] = b"HFUPDATE";
pub const FORMAT_VERSION: u16 = 2;
/// The format before bundles carried an SBOM.
pub const FORMAT_VERSION_WITHOUT_SBOM: u16 = 1;
/// A CycloneDX document of a few hundred crates is well under 1 MiB; this leaves room to grow.
pub const MAX_SBOM_LEN: u64 = 8 << 20;
pub const MAX_MANIFEST_LEN: u32 = 1 << 20;
pub const MAX_SIGNATURE_BLOCK_LEN: u32 = 64 << 10;
/// More signatures than any sane threshold needs; bounds the work an attacker can make us do.
pub const MAX_SIGNATURES: usize = 32;
pub const MAX_FILES: usize = 16;
/// Domain separation: a signature made with the same key for anything else cannot pass as a
/// bundle signature.
/// Versioned with the format, so no format 1 signature can vouch for a format 2 manifest.
pub const SIGNING_CONTEXT: &[u8] = b"holdfast-update-bundle-v2\0";
pub const PUBLIC_KEY_TAG: &str = "holdfast-release-ed25519";
pub const PRODUCT: &str = "holdfast";
/// Tolerated clock disagreement between the vendor's machine and the appliance, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 600;

const FIXED_HEADER_LEN: u64 = 8 + 2 + 4;
const KEY_ID_LEN: usize = 16;
const MAX_KEY_FILE_LEN: u64 = 4096;
const COPY_BUF_LEN: usize = 64 * 1024;

/// Text from a bundle goes into admin-facing messages and logs: keep it short and free of control characters.
fn shown(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(120)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().count() > 120 {
        out.push('…');
    }
    out
}

fn io_err(what: String) -> impl FnOnce(io::Error) -> BundleError {
    move |source| BundleError::Io { what, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_control_characters() {
        assert_eq!(shown("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert!(shown(&"x".repeat(500)).ends_with('…'));
    }
}
