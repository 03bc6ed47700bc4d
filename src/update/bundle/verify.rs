//! The decision whether a bundle may be installed: trust configuration, signatures against the
//! threshold, the manifest rules, the SBOM and every payload byte, in that order, in bounded
//! memory; its proof is a [`Verified`].

use super::envelope::{Envelope, open_bounded, read_envelope, read_section, signed_message};
use super::keys::TrustedKeys;
use super::manifest::{Manifest, SbomSummary, check_manifest, parse_manifest, sbom_summary};
use super::{BundleError, COPY_BUF_LEN, MAX_SBOM_LEN, io_err};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::path::Path;

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
/// up and hand it to [`extract`](super::extract).
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
