//! The signed manifest: its model and JSON form, the SBOM it vouches for, and the rules a
//! manifest must meet on this appliance (product, architecture, versions, epoch, time, payload
//! names).

use super::{BundleError, CLOCK_SKEW_SECS, MAX_FILES, Policy, shown};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Component, Path};

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

pub(super) fn parse_manifest(bytes: &[u8]) -> Result<Manifest, BundleError> {
    serde_json::from_slice(bytes).map_err(|e| BundleError::BadManifest(shown(&e.to_string())))
}

/// The manifest rules [`verify`](super::verify) applies once the signatures hold, on their own: the fuzz harness
/// reaches them with manifests no key has signed.
pub fn check_manifest_rules(m: &Manifest, policy: &Policy) -> Result<(), BundleError> {
    check_manifest(m, policy)
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

pub(super) fn check_manifest(m: &Manifest, policy: &Policy) -> Result<(), BundleError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
