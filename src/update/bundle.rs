//! Offline update bundles, appliance side: file format, trusted release keys, and every check
//! deciding whether a bundle may be installed. No private-key code lives here.
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

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    BadPublicKey { origin: String, reason: String },
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

/// The signed description of a bundle. Unknown fields are refused so that a future field with
/// security meaning is never silently ignored by an older appliance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub product: String,
    pub arch: String,
    #[serde(with = "version_text")]
    pub version: semver::Version,
    #[serde(with = "version_text")]
    pub min_from: semver::Version,
    pub security_epoch: u32,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub expires_at: DateTime<Utc>,
    pub files: Vec<PayloadFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The SBOM section that follows the signature block.
    pub sbom: SbomRef,
}

/// Size and hash of the bundle's SBOM: being in the manifest, they are covered by the signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SbomRef {
    pub size: u64,
    #[serde(with = "sha256_hex")]
    pub sha256: [u8; 32],
}

/// What `update verify` shows of an SBOM: enough to see what it describes without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomSummary {
    pub spec_version: String,
    pub subject_name: String,
    pub subject_version: String,
    pub components: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SbomHead {
    bom_format: String,
    spec_version: String,
    metadata: Option<SbomMetadata>,
    #[serde(default)]
    components: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct SbomMetadata {
    component: Option<SbomComponent>,
}

#[derive(Deserialize)]
struct SbomComponent {
    name: String,
    version: Option<String>,
}

/// Checks that `bytes` is a CycloneDX 1.5 or 1.6 JSON document describing `product`, and counts
/// its components. The vendor tool runs the same check before signing.
pub fn sbom_summary(bytes: &[u8], product: &str) -> Result<SbomSummary, BundleError> {
    let head: SbomHead =
        serde_json::from_slice(bytes).map_err(|e| BundleError::BadSbom(shown(&e.to_string())))?;
    if head.bom_format != "CycloneDX" {
        return Err(BundleError::BadSbom(format!(
            "bomFormat is `{}`, not `CycloneDX`",
            shown(&head.bom_format)
        )));
    }
    if !["1.5", "1.6"].contains(&head.spec_version.as_str()) {
        return Err(BundleError::BadSbom(format!(
            "specVersion {} (1.5 or 1.6 expected)",
            shown(&head.spec_version)
        )));
    }
    let subject = head
        .metadata
        .and_then(|m| m.component)
        .ok_or_else(|| BundleError::BadSbom("metadata.component is missing".into()))?;
    if subject.name != product {
        return Err(BundleError::BadSbom(format!(
            "it describes `{}`, not `{product}`",
            shown(&subject.name)
        )));
    }
    Ok(SbomSummary {
        spec_version: head.spec_version,
        subject_name: subject.name,
        subject_version: shown(subject.version.as_deref().unwrap_or("")),
        components: head.components.len(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadFile {
    pub path: String,
    pub size: u64,
    #[serde(with = "sha256_hex")]
    pub sha256: [u8; 32],
}

/// One entry of the signature block, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureEntry {
    pub key_id: String,
    pub signature: String,
}

mod version_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(v: &semver::Version, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<semver::Version, D::Error> {
        let text = String::deserialize(d)?;
        semver::Version::parse(&text).map_err(|e| D::Error::custom(format!("bad version: {e}")))
    }
}

mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| D::Error::custom(format!("not an RFC 3339 time: {e}")))
    }
}

mod sha256_hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out)
            .map_err(|_| D::Error::custom("sha256 must be 64 hex digits"))?;
        Ok(out)
    }
}

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

/// The exact bytes every bundle signature covers.
pub fn signed_message(manifest_bytes: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_CONTEXT.len() + manifest_bytes.len());
    message.extend_from_slice(SIGNING_CONTEXT);
    message.extend_from_slice(manifest_bytes);
    message
}

fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let line = lines.next().ok_or("no key line")?;
    if lines.next().is_some() {
        return Err("more than one key line (one key per file)".into());
    }
    let mut fields = line.split_whitespace();
    if fields.next() != Some(PUBLIC_KEY_TAG) {
        return Err(format!("does not start with `{PUBLIC_KEY_TAG}`"));
    }
    let encoded = fields.next().ok_or("missing base64 key")?;
    let raw = B64
        .decode(encoded)
        .map_err(|_| "key is not valid base64".to_string())?;
    let bytes: [u8; 32] = raw
        .as_slice()
        .try_into()
        .map_err(|_| format!("key is {} bytes, expected 32", raw.len()))?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| "not an Ed25519 public key")?;
    if key.is_weak() {
        return Err("weak (small-order) Ed25519 key refused".into());
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

/// What this appliance is and knows, against which a bundle is judged.
#[derive(Debug, Clone)]
pub struct Policy {
    pub threshold: usize,
    pub product: String,
    pub arch: String,
    pub current_version: semver::Version,
    pub current_epoch: u32,
    pub now: DateTime<Utc>,
    /// Newest time this appliance has seen (persisted by the caller, e.g. max of past `now`s and
    /// installed bundles' `created_at`): `now` more than 10 minutes before it means the clock went back.
    pub last_seen_time: Option<DateTime<Utc>>,
    pub max_size: u64,
}

/// Proof that a bundle passed [`verify`]. Fields are private so that no other code can make one
/// up and hand it to [`extract`].
#[derive(Debug, Clone)]
pub struct Verified {
    manifest: Manifest,
    signed_by: Vec<String>,
    payload_offsets: Vec<u64>,
    sbom: Vec<u8>,
    sbom_summary: SbomSummary,
}

impl Verified {
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Key ids of the trusted keys whose signatures were valid, sorted.
    pub fn signed_by(&self) -> &[String] {
        &self.signed_by
    }

    /// Byte offset of each payload file in the bundle, in `manifest().files` order.
    pub fn payload_offsets(&self) -> &[u64] {
        &self.payload_offsets
    }

    /// The SBOM exactly as signed (its hash matched the manifest).
    pub fn sbom(&self) -> &[u8] {
        &self.sbom
    }

    pub fn sbom_summary(&self) -> &SbomSummary {
        &self.sbom_summary
    }
}

/// What a bundle says about itself, read without checking any signature: for display only.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub manifest: Manifest,
    pub signer_key_ids: Vec<String>,
    pub payload_offset: u64,
}

struct Envelope {
    manifest_bytes: Vec<u8>,
    signatures: Vec<(String, Signature)>,
    payload_offset: u64,
}

/// Writes everything before the payload. The payload files follow, in manifest order.
pub fn write_envelope(
    out: &mut impl Write,
    manifest_bytes: &[u8],
    signature_block: &[u8],
) -> Result<(), BundleError> {
    let manifest_len = section_len("manifest", manifest_bytes.len(), MAX_MANIFEST_LEN)?;
    let block_len = section_len(
        "signature block",
        signature_block.len(),
        MAX_SIGNATURE_BLOCK_LEN,
    )?;
    let write = |out: &mut dyn Write| -> io::Result<()> {
        out.write_all(MAGIC)?;
        out.write_all(&FORMAT_VERSION.to_be_bytes())?;
        out.write_all(&manifest_len.to_be_bytes())?;
        out.write_all(manifest_bytes)?;
        out.write_all(&block_len.to_be_bytes())?;
        out.write_all(signature_block)
    };
    write(out).map_err(io_err("cannot write bundle header".into()))
}

fn section_len(what: &'static str, len: usize, limit: u32) -> Result<u32, BundleError> {
    match u32::try_from(len) {
        Ok(n) if n <= limit => Ok(n),
        _ => Err(BundleError::SectionTooLarge {
            what,
            len: len as u64,
            limit: u64::from(limit),
        }),
    }
}

fn read_section(file: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), BundleError> {
    file.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            BundleError::Truncated(format!("file ends inside the {what}"))
        } else {
            BundleError::Io {
                what: format!("cannot read the bundle {what}"),
                source: e,
            }
        }
    })
}

fn read_u32(file: &mut impl Read, what: &str) -> Result<u32, BundleError> {
    let mut raw = [0u8; 4];
    read_section(file, &mut raw, what)?;
    Ok(u32::from_be_bytes(raw))
}

/// Reads the header, manifest bytes and signature block; lengths are checked against both the
/// limits and the file size before anything is allocated.
fn read_envelope(file: &mut impl Read, file_len: u64) -> Result<Envelope, BundleError> {
    if file_len < FIXED_HEADER_LEN {
        let mut head = Vec::new();
        file.by_ref()
            .take(FIXED_HEADER_LEN)
            .read_to_end(&mut head)
            .map_err(io_err("cannot read the bundle header".into()))?;
        let n = head.len().min(MAGIC.len());
        if head[..n] != MAGIC[..n] {
            return Err(BundleError::BadMagic);
        }
        return Err(BundleError::Truncated("file ends inside the header".into()));
    }
    let mut magic = [0u8; 8];
    read_section(file, &mut magic, "header")?;
    if &magic != MAGIC {
        return Err(BundleError::BadMagic);
    }
    let mut version = [0u8; 2];
    read_section(file, &mut version, "header")?;
    let version = u16::from_be_bytes(version);
    if version == FORMAT_VERSION_WITHOUT_SBOM {
        return Err(BundleError::FormatWithoutSbom);
    }
    if version != FORMAT_VERSION {
        return Err(BundleError::UnsupportedFormat(version));
    }

    let manifest_len = read_u32(file, "header")?;
    if manifest_len > MAX_MANIFEST_LEN {
        return Err(BundleError::SectionTooLarge {
            what: "manifest",
            len: u64::from(manifest_len),
            limit: u64::from(MAX_MANIFEST_LEN),
        });
    }
    let mut pos = FIXED_HEADER_LEN + u64::from(manifest_len);
    if pos + 4 > file_len {
        return Err(BundleError::Truncated(
            "file ends inside the manifest".into(),
        ));
    }
    let mut manifest_bytes = vec![0u8; manifest_len as usize];
    read_section(file, &mut manifest_bytes, "manifest")?;

    let block_len = read_u32(file, "signature block length")?;
    if block_len > MAX_SIGNATURE_BLOCK_LEN {
        return Err(BundleError::SectionTooLarge {
            what: "signature block",
            len: u64::from(block_len),
            limit: u64::from(MAX_SIGNATURE_BLOCK_LEN),
        });
    }
    pos += 4 + u64::from(block_len);
    if pos > file_len {
        return Err(BundleError::Truncated(
            "file ends inside the signature block".into(),
        ));
    }
    let mut block = vec![0u8; block_len as usize];
    read_section(file, &mut block, "signature block")?;

    Ok(Envelope {
        manifest_bytes,
        signatures: parse_signature_block(&block)?,
        payload_offset: pos,
    })
}

fn parse_signature_block(block: &[u8]) -> Result<Vec<(String, Signature)>, BundleError> {
    let entries: Vec<SignatureEntry> = serde_json::from_slice(block)
        .map_err(|e| BundleError::MalformedSignatureBlock(shown(&e.to_string())))?;
    if entries.len() > MAX_SIGNATURES {
        return Err(BundleError::TooManySignatures {
            count: entries.len(),
        });
    }
    let mut out = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let malformed = |reason| BundleError::MalformedSignature { index, reason };
        let id_ok = entry.key_id.len() == KEY_ID_LEN
            && entry
                .key_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !id_ok {
            return Err(malformed("key_id is not 16 lowercase hex digits"));
        }
        let raw = B64
            .decode(&entry.signature)
            .map_err(|_| malformed("signature is not valid base64"))?;
        let bytes: [u8; 64] = raw
            .as_slice()
            .try_into()
            .map_err(|_| malformed("signature is not 64 bytes"))?;
        out.push((entry.key_id, Signature::from_bytes(&bytes)));
    }
    Ok(out)
}

/// Opens the bundle after checking its size from metadata, so an oversized file is refused
/// before a single byte of it is read; the size is checked again on the open handle in case the
/// path was swapped in between.
fn open_bounded(path: &Path, max_size: u64) -> Result<(File, u64), BundleError> {
    let check = |meta: &fs::Metadata| {
        if !meta.is_file() {
            return Err(BundleError::NotRegularFile(path.to_path_buf()));
        }
        if meta.len() > max_size {
            return Err(BundleError::TooLarge {
                size: meta.len(),
                limit: max_size,
            });
        }
        Ok(meta.len())
    };
    let what = || format!("cannot read bundle {}", path.display());
    check(&fs::metadata(path).map_err(io_err(what()))?)?;
    let file = File::open(path).map_err(io_err(what()))?;
    let len = check(&file.metadata().map_err(io_err(what()))?)?;
    Ok((file, len))
}

fn parse_manifest(bytes: &[u8]) -> Result<Manifest, BundleError> {
    serde_json::from_slice(bytes).map_err(|e| BundleError::BadManifest(shown(&e.to_string())))
}

/// Reads a bundle's manifest and signer key ids WITHOUT checking any signature or trust.
/// Nothing it returns may be relied on; use [`verify`] for that.
pub fn inspect(path: &Path, max_size: u64) -> Result<Inspection, BundleError> {
    let (mut file, len) = open_bounded(path, max_size)?;
    inspect_from(&mut file, len)
}

fn inspect_from(file: &mut impl Read, len: u64) -> Result<Inspection, BundleError> {
    let envelope = read_envelope(file, len)?;
    let manifest = parse_manifest(&envelope.manifest_bytes)?;
    let payload_offset = envelope.payload_offset.saturating_add(manifest.sbom.size);
    // Found by the fuzz run: a manifest may claim an SBOM longer than the file.
    if payload_offset > len {
        return Err(BundleError::Truncated(format!(
            "the SBOM section claims {} bytes, more than the bundle holds",
            manifest.sbom.size
        )));
    }
    Ok(Inspection {
        manifest,
        signer_key_ids: envelope.signatures.into_iter().map(|(id, _)| id).collect(),
        payload_offset,
    })
}

fn check_trust_config(keys: &TrustedKeys, threshold: usize) -> Result<(), BundleError> {
    if keys.is_empty() {
        return Err(BundleError::NoTrustedKeys);
    }
    // Threshold 0 would accept unsigned bundles; above the key count nothing could ever pass.
    if threshold == 0 || threshold > keys.len() {
        return Err(BundleError::InvalidThreshold {
            threshold,
            available: keys.len(),
        });
    }
    Ok(())
}

fn check_signatures(
    envelope: &Envelope,
    keys: &TrustedKeys,
    threshold: usize,
) -> Result<Vec<String>, BundleError> {
    if envelope.signatures.is_empty() {
        return Err(BundleError::Unsigned);
    }
    let message = signed_message(&envelope.manifest_bytes);
    let mut valid = BTreeSet::new();
    let mut unknown = BTreeSet::new();
    for (id, signature) in &envelope.signatures {
        match keys.get(id) {
            None => {
                unknown.insert(id.clone());
            }
            Some(key) => {
                // A trusted key's signature that fails means tampering or corruption: refuse
                // outright rather than hope the other signatures carry the threshold.
                key.verify_strict(&message, signature)
                    .map_err(|_| BundleError::BadSignature { key_id: id.clone() })?;
                valid.insert(id.clone());
            }
        }
    }
    // A set: the same key signing twice still counts once.
    if valid.len() < threshold {
        return Err(BundleError::ThresholdNotMet {
            valid: valid.len(),
            required: threshold,
            unknown: unknown.into_iter().collect(),
        });
    }
    Ok(valid.into_iter().collect())
}

/// Checks that a payload path is one plain `.deb` file name (see the module docs for the rule).
pub fn check_payload_path(path: &str) -> Result<(), BundleError> {
    let refuse = |reason| {
        Err(BundleError::UnsafePath {
            path: shown(path),
            reason,
        })
    };
    if path.is_empty() {
        return refuse("empty file name");
    }
    if path.len() > 255 {
        return refuse("longer than 255 bytes");
    }
    let mut components = Path::new(path).components();
    let single_normal =
        matches!(components.next(), Some(Component::Normal(_))) && components.next().is_none();
    if !single_normal || path.contains(['/', '\\']) {
        return refuse("must be a single file name (no `/`, `..` or absolute path)");
    }
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._+~-".contains(&b))
    {
        return refuse("only letters, digits and . _ + ~ - are allowed");
    }
    if path.starts_with(['.', '-']) {
        return refuse("must not start with `.` or `-`");
    }
    if !path.ends_with(".deb") || path.len() == ".deb".len() {
        return refuse("must be a .deb package file name");
    }
    Ok(())
}

fn check_manifest(m: &Manifest, policy: &Policy) -> Result<(), BundleError> {
    if m.product != policy.product {
        return Err(BundleError::WrongProduct {
            expected: policy.product.clone(),
            found: shown(&m.product),
        });
    }
    if m.arch != policy.arch {
        return Err(BundleError::WrongArch {
            expected: policy.arch.clone(),
            found: shown(&m.arch),
        });
    }
    // Precedence ignores build metadata: 0.2.0+a and 0.2.0+b are the same release.
    match m.version.cmp_precedence(&policy.current_version) {
        std::cmp::Ordering::Equal => return Err(BundleError::AlreadyInstalled(m.version.clone())),
        std::cmp::Ordering::Less => {
            return Err(BundleError::Rollback {
                version: m.version.clone(),
                installed: policy.current_version.clone(),
            });
        }
        std::cmp::Ordering::Greater => {}
    }
    if policy.current_version.cmp_precedence(&m.min_from) == std::cmp::Ordering::Less {
        return Err(BundleError::MinFromNotMet {
            min_from: m.min_from.clone(),
            installed: policy.current_version.clone(),
        });
    }
    if m.security_epoch < policy.current_epoch {
        return Err(BundleError::EpochTooLow {
            bundle: m.security_epoch,
            stored: policy.current_epoch,
        });
    }
    let skew = TimeDelta::seconds(CLOCK_SKEW_SECS);
    // Checked before expiry: with a clock moved back, "not expired" means nothing.
    if let Some(last_seen) = policy.last_seen_time.filter(|&t| policy.now < t - skew) {
        return Err(BundleError::ClockMovedBack {
            now: policy.now,
            last_seen,
        });
    }
    if m.created_at > policy.now + skew {
        return Err(BundleError::CreatedInFuture {
            created_at: m.created_at,
            now: policy.now,
        });
    }
    if m.expires_at <= m.created_at {
        return Err(BundleError::BadManifest(
            "expires_at is not after created_at".into(),
        ));
    }
    if m.expires_at <= policy.now {
        return Err(BundleError::Expired {
            expires_at: m.expires_at,
        });
    }
    if m.files.is_empty() {
        return Err(BundleError::BadManifest("no payload files".into()));
    }
    if m.files.len() > MAX_FILES {
        return Err(BundleError::BadManifest(format!(
            "{} payload files, at most {MAX_FILES} allowed",
            m.files.len()
        )));
    }
    let mut seen = BTreeSet::new();
    for file in &m.files {
        check_payload_path(&file.path)?;
        if !seen.insert(file.path.as_str()) {
            return Err(BundleError::DuplicatePath(file.path.clone()));
        }
        if file.size == 0 {
            return Err(BundleError::BadManifest(format!(
                "payload file {} is empty",
                file.path
            )));
        }
    }
    Ok(())
}

/// Streams up to `limit` bytes from `src` into `out`, hashing them in bounded memory.
/// Returns how many bytes were read (fewer than `limit` only at end of file) and their SHA-256.
pub fn copy_hashed(
    src: &mut impl Read,
    limit: u64,
    out: &mut impl Write,
) -> io::Result<(u64, [u8; 32])> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; COPY_BUF_LEN];
    let mut done: u64 = 0;
    while done < limit {
        let want = usize::try_from(limit - done).map_or(buf.len(), |n| n.min(buf.len()));
        let n = match src.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        done += n as u64;
    }
    Ok((done, hasher.finalize().into()))
}

/// Decides whether the bundle at `path` may be installed on this appliance. Order: size (from
/// metadata, before reading), format, signatures, manifest rules, paths, payload hashes, end of file.
/// Reads the payload in bounded memory and changes nothing on disk.
pub fn verify(path: &Path, keys: &TrustedKeys, policy: &Policy) -> Result<Verified, BundleError> {
    let (mut file, file_len) = open_bounded(path, policy.max_size)?;
    verify_from(&mut file, file_len, keys, policy)
}

/// [`verify`] over a bundle already in memory: the same checks in the same order, without the
/// file system. The fuzz harness drives the bundle parser through here.
pub fn verify_bytes(
    bytes: &[u8],
    keys: &TrustedKeys,
    policy: &Policy,
) -> Result<Verified, BundleError> {
    let len = bytes.len() as u64;
    if len > policy.max_size {
        return Err(BundleError::TooLarge {
            size: len,
            limit: policy.max_size,
        });
    }
    verify_from(&mut io::Cursor::new(bytes), len, keys, policy)
}

/// What [`inspect`] reports, for a bundle already in memory (nothing is trusted).
pub fn inspect_bytes(bytes: &[u8]) -> Result<Inspection, BundleError> {
    inspect_from(&mut io::Cursor::new(bytes), bytes.len() as u64)
}

/// The manifest rules [`verify`] applies once the signatures hold, on their own: the fuzz harness
/// reaches them with manifests no key has signed.
pub fn check_manifest_rules(m: &Manifest, policy: &Policy) -> Result<(), BundleError> {
    check_manifest(m, policy)
}

fn verify_from(
    file: &mut impl Read,
    file_len: u64,
    keys: &TrustedKeys,
    policy: &Policy,
) -> Result<Verified, BundleError> {
    check_trust_config(keys, policy.threshold)?;
    let envelope = read_envelope(file, file_len)?;
    let signed_by = check_signatures(&envelope, keys, policy.threshold)?;
    // Only now, with the manifest authenticated, is its JSON parsed.
    let manifest = parse_manifest(&envelope.manifest_bytes)?;
    check_manifest(&manifest, policy)?;

    if manifest.sbom.size > MAX_SBOM_LEN {
        return Err(BundleError::SectionTooLarge {
            what: "SBOM",
            len: manifest.sbom.size,
            limit: MAX_SBOM_LEN,
        });
    }
    let sbom_end = envelope
        .payload_offset
        .checked_add(manifest.sbom.size)
        .filter(|&end| end <= file_len)
        .ok_or_else(|| BundleError::Truncated("file ends inside the SBOM".into()))?;
    let mut payload_offsets = Vec::with_capacity(manifest.files.len());
    let mut end = sbom_end;
    for f in &manifest.files {
        payload_offsets.push(end);
        end = end
            .checked_add(f.size)
            .ok_or_else(|| BundleError::BadManifest("payload sizes overflow".into()))?;
    }
    if file_len < end {
        return Err(BundleError::Truncated(format!(
            "{} byte(s) of payload missing",
            end - file_len
        )));
    }
    if file_len > end {
        return Err(BundleError::TrailingBytes(file_len - end));
    }

    // Bounded above (MAX_SBOM_LEN) and by the file's real length, so the allocation is too.
    let mut sbom = vec![0u8; manifest.sbom.size as usize];
    read_section(file, &mut sbom, "SBOM")?;
    if Sha256::digest(&sbom).as_slice() != manifest.sbom.sha256 {
        return Err(BundleError::SbomMismatch("SHA-256 differs"));
    }
    let sbom_summary = sbom_summary(&sbom, &manifest.product)?;

    for f in &manifest.files {
        let (n, digest) = copy_hashed(file, f.size, &mut io::sink())
            .map_err(io_err(format!("cannot read payload file {}", f.path)))?;
        if n < f.size {
            return Err(BundleError::Truncated(format!(
                "file ends inside payload file {}",
                f.path
            )));
        }
        if digest != f.sha256 {
            return Err(BundleError::HashMismatch(f.path.clone()));
        }
    }
    // The length was checked up front; this catches a file that grew while it was read.
    let mut extra = [0u8; 1];
    if file
        .read(&mut extra)
        .map_err(io_err("cannot read the bundle".into()))?
        > 0
    {
        return Err(BundleError::TrailingBytes(1));
    }

    Ok(Verified {
        manifest,
        signed_by,
        payload_offsets,
        sbom,
        sbom_summary,
    })
}

/// Copies the verified payload files into `dest_dir`, re-hashing them because the bundle may have
/// changed since [`verify`]. New files only (mode 0600, never through a link, never over an
/// existing file), fsynced. On any error every file this call created is removed.
pub fn extract(
    path: &Path,
    verified: &Verified,
    dest_dir: &Path,
) -> Result<Vec<PathBuf>, BundleError> {
    let mut file =
        File::open(path).map_err(io_err(format!("cannot open bundle {}", path.display())))?;
    let mut created = Vec::new();
    match extract_into(&mut file, verified, dest_dir, &mut created) {
        Ok(()) => Ok(created),
        Err(e) => {
            for p in &created {
                let _ = fs::remove_file(p);
            }
            Err(e)
        }
    }
}

fn extract_into(
    file: &mut File,
    verified: &Verified,
    dest_dir: &Path,
    created: &mut Vec<PathBuf>,
) -> Result<(), BundleError> {
    let no_follow = nix::fcntl::OFlag::O_NOFOLLOW.bits();
    for (f, &offset) in verified
        .manifest
        .files
        .iter()
        .zip(&verified.payload_offsets)
    {
        check_payload_path(&f.path)?;
        let dest = dest_dir.join(&f.path);
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(no_follow)
            .open(&dest)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    BundleError::OutputExists(dest.clone())
                } else {
                    io_err(format!("cannot create {}", dest.display()))(e)
                }
            })?;
        created.push(dest.clone());
        file.seek(SeekFrom::Start(offset))
            .map_err(io_err("cannot read the bundle".into()))?;
        let (n, digest) = copy_hashed(file, f.size, &mut out).map_err(io_err(format!(
            "cannot copy payload file to {}",
            dest.display()
        )))?;
        if n != f.size || digest != f.sha256 {
            return Err(BundleError::ChangedSinceVerify(f.path.clone()));
        }
        out.sync_all()
            .map_err(io_err(format!("cannot sync {}", dest.display())))?;
    }
    File::open(dest_dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(format!("cannot sync {}", dest_dir.display())))
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

    #[test]
    fn payload_path_rule() {
        for ok in [
            "holdfast_0.2.0_amd64.deb",
            "holdfast_1.0.0~rc1+b2-1_amd64.deb",
        ] {
            assert!(check_payload_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../x.deb",
            "/abs.deb",
            "a/b.deb",
            ".deb",
            "..",
            ".hidden.deb",
            "-x.deb",
            "x.tar",
            "x y.deb",
            "x\\y.deb",
            "x\n.deb",
            "é.deb",
        ] {
            assert!(
                matches!(check_payload_path(bad), Err(BundleError::UnsafePath { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn shown_escapes_control_characters() {
        assert_eq!(shown("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert!(shown(&"x".repeat(500)).ends_with('…'));
    }

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
