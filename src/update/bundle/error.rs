//! Why a bundle (or the trust configuration) was refused, in words written for an administrator.

use super::keys::PublicKeyError;
use super::{FORMAT_VERSION, FORMAT_VERSION_WITHOUT_SBOM, MAX_SIGNATURES};
use chrono::{DateTime, SecondsFormat, Utc};
use std::io;
use std::path::PathBuf;

/// Why a bundle (or the trust configuration) was refused. Messages are written for an administrator.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("bundle is {}, over the {} limit", human_size(*.size), human_size(*.limit))]
    TooLarge { size: u64, limit: u64 },
    #[error("{0} is not a regular file")]
    NotRegularFile(PathBuf),
    #[error("not a holdfast update bundle (wrong magic bytes)")]
    BadMagic,
    #[error(
        "bundle format version {0} is not supported (this appliance reads version {FORMAT_VERSION})"
    )]
    UnsupportedFormat(u16),
    #[error(
        "bundle format version {FORMAT_VERSION_WITHOUT_SBOM} carries no signed SBOM and is no longer accepted: ask the vendor for this release as a format {FORMAT_VERSION} bundle"
    )]
    FormatWithoutSbom,
    #[error(
        "the SBOM does not match the signed manifest ({0}): the bundle was altered or corrupted"
    )]
    SbomMismatch(&'static str),
    #[error("the SBOM is not a usable CycloneDX document: {0}")]
    BadSbom(String),
    #[error("{what} is {}, over the {} limit", human_size(*.len), human_size(*.limit))]
    SectionTooLarge {
        what: &'static str,
        len: u64,
        limit: u64,
    },
    #[error("bundle is truncated: {0}")]
    Truncated(String),
    #[error(
        "bundle has {0} unexpected byte(s) after the last payload file: data was appended or a file is not in the manifest"
    )]
    TrailingBytes(u64),
    #[error("signature block is malformed: {0}")]
    MalformedSignatureBlock(String),
    #[error("signature #{index} is malformed: {reason}")]
    MalformedSignature { index: usize, reason: &'static str },
    #[error("bundle carries {count} signatures, more than the {MAX_SIGNATURES} allowed")]
    TooManySignatures { count: usize },
    #[error("bundle carries no signatures")]
    Unsigned,
    #[error(
        "signature by trusted key {key_id} does not match the manifest: the bundle was altered or corrupted"
    )]
    BadSignature { key_id: String },
    #[error(
        "bundle signed by {valid} trusted key(s), {required} required (threshold){}",
        unknown_suffix(.unknown)
    )]
    ThresholdNotMet {
        valid: usize,
        required: usize,
        unknown: Vec<String>,
    },
    #[error("no trusted release keys are configured: no bundle can be accepted")]
    NoTrustedKeys,
    #[error(
        "[update] threshold is {threshold} but {available} trusted key(s) are configured: it must be between 1 and {available}"
    )]
    InvalidThreshold { threshold: usize, available: usize },
    #[error("public key {origin}: {reason}")]
    BadPublicKey {
        origin: String,
        #[source]
        reason: PublicKeyError,
    },
    #[error("public key {origin}: key id {key_id} is already used by a different key")]
    KeyIdCollision { origin: String, key_id: String },
    #[error("trusted key location {path}: {reason}")]
    UntrustedKeyLocation { path: PathBuf, reason: String },
    #[error("manifest is invalid: {0}")]
    BadManifest(String),
    #[error("bundle is for product `{found}`, this appliance is `{expected}`")]
    WrongProduct { expected: String, found: String },
    #[error("bundle is for architecture `{found}`, this appliance is `{expected}`")]
    WrongArch { expected: String, found: String },
    #[error("version {0} is already installed")]
    AlreadyInstalled(semver::Version),
    #[error("version {version} is older than the installed {installed}: rollback refused")]
    Rollback {
        version: semver::Version,
        installed: semver::Version,
    },
    #[error(
        "bundle updates from version {min_from} or later, the installed version is {installed}: install an intermediate update first"
    )]
    MinFromNotMet {
        min_from: semver::Version,
        installed: semver::Version,
    },
    #[error(
        "bundle security epoch {bundle} is below this appliance's epoch {stored}: it would reinstate a withdrawn release"
    )]
    EpochTooLow { bundle: u32, stored: u32 },
    #[error("bundle expired on {}", stamp(.expires_at))]
    Expired { expires_at: DateTime<Utc> },
    #[error(
        "bundle was created on {}, later than the system clock ({}): check the clock",
        stamp(.created_at),
        stamp(.now)
    )]
    CreatedInFuture {
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error(
        "system clock ({}) is earlier than the last time this appliance saw ({}): refusing, the clock may have been moved back",
        stamp(.now),
        stamp(.last_seen)
    )]
    ClockMovedBack {
        now: DateTime<Utc>,
        last_seen: DateTime<Utc>,
    },
    #[error("unsafe payload path `{path}`: {reason}")]
    UnsafePath { path: String, reason: &'static str },
    #[error("payload file {0} is listed twice in the manifest")]
    DuplicatePath(String),
    #[error("payload file {0}: SHA-256 mismatch")]
    HashMismatch(String),
    #[error(
        "payload file {0} no longer matches what was verified (SHA-256 mismatch): the bundle changed after verification; partial output removed"
    )]
    ChangedSinceVerify(String),
    #[error("{0} already exists: refusing to overwrite it")]
    OutputExists(PathBuf),
}

fn unknown_suffix(unknown: &[String]) -> String {
    if unknown.is_empty() {
        String::new()
    } else {
        format!("; signatures from unknown keys: {}", unknown.join(", "))
    }
}

fn stamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// "3.1 GiB" style, for size-limit messages.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(2 << 30), "2 GiB");
        assert_eq!(human_size(3_328_599_654), "3.1 GiB");
        assert_eq!(human_size(1536), "1.5 KiB");
    }
}
