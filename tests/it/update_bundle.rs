//! Update bundles end to end: real bundles from the vendor signer, judged by the appliance
//! verifier, and the `holdfast-release` binary driven as a process.

#[path = "../../src/update/sign.rs"]
mod sign;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, TimeDelta, Utc};
use ed25519_dalek::{Signer as _, SigningKey};
use holdfast::update::bundle::{
    self, BundleError, Manifest, PayloadFile, Policy, SbomRef, SignatureEntry, TrustedKeys,
};
use sign::{BundleSpec, SignError};
use tempfile::TempDir;

const DEB_NAME: &str = "holdfast_0.2.0_amd64.deb";
const DEB_LEN: usize = 300_000;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn id(k: &SigningKey) -> String {
    bundle::key_id(&k.verifying_key())
}

fn trusted(keys: &[&SigningKey]) -> TrustedKeys {
    let texts: Vec<String> = keys
        .iter()
        .map(|k| bundle::format_public_key(&k.verifying_key(), "test key"))
        .collect();
    let pairs: Vec<(&str, &str)> = texts.iter().map(|t| ("test.pub", t.as_str())).collect();
    TrustedKeys::from_pub_files(&pairs).unwrap()
}

fn policy() -> Policy {
    Policy {
        threshold: 1,
        product: "holdfast".into(),
        arch: "amd64".into(),
        current_version: semver::Version::new(0, 1, 0),
        current_epoch: 1,
        now: now(),
        last_seen_time: Some(now() - TimeDelta::days(1)),
        max_size: 1 << 30,
    }
}

/// The real SBOM of this source tree, generated once by the vendor code (cargo metadata).
fn test_sbom() -> &'static [u8] {
    static SBOM: OnceLock<Vec<u8>> = OnceLock::new();
    SBOM.get_or_init(|| {
        sign::sbom::generate(&sign::sbom::Request {
            manifest_path: Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"),
            arch: "amd64".into(),
            created_at: now(),
        })
        .unwrap()
    })
}

fn sbom_ref(sbom: &[u8]) -> SbomRef {
    let (size, sha256) =
        bundle::copy_hashed(&mut &sbom[..], u64::MAX, &mut std::io::sink()).unwrap();
    SbomRef { size, sha256 }
}

fn spec(version: &str) -> BundleSpec {
    BundleSpec {
        product: "holdfast".into(),
        arch: "amd64".into(),
        version: version.parse().unwrap(),
        min_from: "0.1.0".parse().unwrap(),
        security_epoch: 1,
        created_at: now() - TimeDelta::hours(1),
        expires_at: now() + TimeDelta::days(30),
        notes: Some("test release".into()),
        sbom: test_sbom().to_vec(),
    }
}

/// Deterministic bytes that look like an `ar` archive at the start.
fn deb_bytes() -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    let mut out = b"!<arch>\n".to_vec();
    out.extend((out.len()..DEB_LEN).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        (x >> 24) as u8
    }));
    out
}

struct Env {
    dir: TempDir,
    deb: PathBuf,
}

impl Env {
    fn new() -> Self {
        let dir = crate::app::data_dir();
        let deb = dir.path().join(DEB_NAME);
        fs::write(&deb, deb_bytes()).unwrap();
        Env { dir, deb }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn build(&self, keys: &[SigningKey], spec: &BundleSpec) -> PathBuf {
        let out = self.path("update.hfu");
        sign::build_bundle(keys, spec, &self.deb, &out).unwrap();
        out
    }

    fn good(&self) -> PathBuf {
        self.build(&[key(1)], &spec("0.2.0"))
    }
}

fn refused(path: &Path, keys: &TrustedKeys, policy: &Policy) -> BundleError {
    match bundle::verify(path, keys, policy) {
        Ok(v) => panic!("bundle accepted: {:?}", v.manifest()),
        Err(e) => e,
    }
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset] ^= 0x01;
    fs::write(path, bytes).unwrap();
}

fn manifest_len(path: &Path) -> usize {
    let bytes = fs::read(path).unwrap();
    u32::from_be_bytes(bytes[10..14].try_into().unwrap()) as usize
}

/// Test-only writer: any manifest, signed by any keys, with this tree's SBOM and any payload.
fn raw_bundle(path: &Path, manifest_json: &[u8], signers: &[&SigningKey], payload: &[u8]) {
    raw_bundle_with_sbom(path, manifest_json, signers, test_sbom(), payload)
}

fn raw_bundle_with_sbom(
    path: &Path,
    manifest_json: &[u8],
    signers: &[&SigningKey],
    sbom: &[u8],
    payload: &[u8],
) {
    let message = bundle::signed_message(manifest_json);
    let entries: Vec<SignatureEntry> = signers
        .iter()
        .map(|k| SignatureEntry {
            key_id: id(k),
            signature: B64.encode(k.sign(&message).to_bytes()),
        })
        .collect();
    let block = serde_json::to_vec(&entries).unwrap();
    let mut out = Vec::new();
    bundle::write_envelope(&mut out, manifest_json, &block).unwrap();
    out.extend_from_slice(sbom);
    out.extend_from_slice(payload);
    fs::write(path, out).unwrap();
}

fn manifest_with_path(payload: &[u8], path: &str) -> Manifest {
    let (size, sha256) =
        bundle::copy_hashed(&mut &payload[..], u64::MAX, &mut std::io::sink()).unwrap();
    Manifest {
        product: "holdfast".into(),
        arch: "amd64".into(),
        version: "0.2.0".parse().unwrap(),
        min_from: "0.1.0".parse().unwrap(),
        security_epoch: 1,
        created_at: now() - TimeDelta::hours(1),
        expires_at: now() + TimeDelta::days(30),
        files: vec![PayloadFile {
            path: path.into(),
            size,
            sha256,
        }],
        notes: None,
        sbom: sbom_ref(test_sbom()),
    }
}

#[test]
fn good_bundle_verifies_and_extracts() {
    let env = Env::new();
    let path = env.good();
    let v = bundle::verify(&path, &trusted(&[&key(1)]), &policy()).unwrap();
    assert_eq!(v.signed_by(), [id(&key(1))]);
    let m = v.manifest();
    assert_eq!(m.version.to_string(), "0.2.0");
    assert_eq!(m.files[0].path, DEB_NAME);
    assert_eq!(m.files[0].size, DEB_LEN as u64);
    assert_eq!(m.notes.as_deref(), Some("test release"));
    let len = fs::metadata(&path).unwrap().len();
    assert_eq!(v.payload_offsets()[0] + DEB_LEN as u64, len);
    assert!(!env.path("update.hfu.tmp").exists());

    let dest = env.path("out");
    fs::create_dir(&dest).unwrap();
    let files = bundle::extract(&path, &v, &dest).unwrap();
    assert_eq!(files, [dest.join(DEB_NAME)]);
    assert_eq!(fs::read(&files[0]).unwrap(), deb_bytes());
    let mode = fs::metadata(&files[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Byte offset of the SBOM section: after the header, the manifest and the signature block.
fn sbom_offset(path: &Path) -> usize {
    let bytes = fs::read(path).unwrap();
    let at = 14 + manifest_len(path);
    at + 4 + u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
}

#[test]
fn sbom_travels_signed_in_the_bundle() {
    let env = Env::new();
    let path = env.good();
    let v = bundle::verify(&path, &trusted(&[&key(1)]), &policy()).unwrap();
    assert_eq!(v.sbom(), test_sbom());
    let at = sbom_offset(&path);
    assert_eq!(
        &fs::read(&path).unwrap()[at..at + test_sbom().len()],
        test_sbom()
    );
    assert_eq!(v.payload_offsets()[0], (at + test_sbom().len()) as u64);

    let doc: serde_json::Value = serde_json::from_slice(test_sbom()).unwrap();
    let components = doc["components"].as_array().unwrap();
    let summary = v.sbom_summary();
    assert_eq!(summary.spec_version, "1.6");
    assert_eq!(summary.subject_name, "holdfast");
    assert_eq!(summary.subject_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(summary.components, components.len());
    assert!(components.len() > 100, "{}", components.len());
    let find = |name: &str| components.iter().find(|c| c["name"] == name).cloned();
    // Every crates.io component is identified (purl) and pinned (SHA-256 of the .crate, from Cargo.lock).
    for c in components {
        assert!(c["purl"].as_str().unwrap().starts_with("pkg:cargo/"), "{c}");
        assert_eq!(c["hashes"][0]["alg"], "SHA-256", "{c}");
        assert_eq!(c["hashes"][0]["content"].as_str().unwrap().len(), 64, "{c}");
    }
    // The fixed `time` (RUSTSEC-2026-0009), the statically built OpenSSL (a build dependency
    // whose code is in the binary), but no dev-dependency and nothing only Windows uses.
    let time: semver::Version = find("time").unwrap()["version"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(time >= semver::Version::new(0, 3, 47), "{time}");
    let openssl = find("openssl-src").expect("openssl-src in the SBOM");
    assert_eq!(openssl["properties"][0]["value"], "build");
    assert!(find("rustls").unwrap().get("properties").is_none());
    assert!(find("tempfile").is_none() && find("schannel").is_none());
    let root_deps = doc["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == doc["metadata"]["component"]["bom-ref"])
        .unwrap();
    assert!(root_deps["dependsOn"].to_string().contains("#rusqlite@"));
    assert!(!test_sbom().windows(7).any(|w| w == b"file://"));
}

#[test]
fn sbom_passes_the_cyclonedx_reference_validator() {
    let env = Env::new();
    let file = env.path("holdfast.cdx.json");
    fs::write(&file, test_sbom()).unwrap();
    let broken = env.path("broken.cdx.json");
    let mut doc: serde_json::Value = serde_json::from_slice(test_sbom()).unwrap();
    doc["components"][0]["hashes"][0]["alg"] = "SHA-257".into();
    fs::write(&broken, serde_json::to_vec(&doc).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/cyclonedx-validate");
    let out = Command::new(&script).arg(&file).output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &*String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.starts_with("valid: "), "{said}");
    // The validator does refuse what the schema forbids, so the pass above means something.
    let out = Command::new(&script).arg(&broken).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("SHA-257"));
}

#[test]
fn altered_sbom_refused() {
    let env = Env::new();
    let keys = trusted(&[&key(1)]);
    let path = env.good();
    let at = sbom_offset(&path);
    // One byte of the SBOM changed, e.g. a version number made to look patched.
    let bytes = fs::read(&path).unwrap();
    let version_at = at
        + bytes[at..]
            .windows(11)
            .position(|w| w == b"\"version\": ")
            .unwrap()
        + 12;
    let mut changed = bytes.clone();
    changed[version_at] = if bytes[version_at] == b'9' {
        b'8'
    } else {
        b'9'
    };
    fs::write(&path, &changed).unwrap();
    let e = refused(&path, &keys, &policy());
    assert!(matches!(e, BundleError::SbomMismatch(_)), "{e}");
    assert_eq!(
        e.to_string(),
        "the SBOM does not match the signed manifest (SHA-256 differs): the bundle was altered or corrupted"
    );

    // The same change with the manifest's SBOM hash rewritten to match: the signature fails.
    let old = hex_of(&sbom_ref(test_sbom()).sha256);
    let new = hex_of(&sbom_ref(&changed[at..at + test_sbom().len()]).sha256);
    let m_at = 14 + manifest_len(&path);
    let pos = changed[14..m_at]
        .windows(64)
        .position(|w| w == old.as_bytes())
        .unwrap()
        + 14;
    changed[pos..pos + 64].copy_from_slice(new.as_bytes());
    fs::write(&path, &changed).unwrap();
    let e = refused(&path, &keys, &policy());
    assert!(matches!(e, BundleError::BadSignature { .. }), "{e}");

    // An SBOM cut short leaves the file a byte shorter than the manifest accounts for.
    let path = env.good();
    let mut bytes = fs::read(&path).unwrap();
    bytes.remove(sbom_offset(&path) + 10);
    fs::write(&path, &bytes).unwrap();
    let e = refused(&path, &keys, &policy());
    assert!(matches!(e, BundleError::Truncated(_)), "{e}");
}

#[test]
fn format_1_bundle_refused_with_its_reason() {
    let env = Env::new();
    let path = env.good();
    let mut bytes = fs::read(&path).unwrap();
    bytes[8..10].copy_from_slice(&1u16.to_be_bytes());
    fs::write(&path, &bytes).unwrap();
    let e = refused(&path, &trusted(&[&key(1)]), &policy());
    assert!(matches!(e, BundleError::FormatWithoutSbom), "{e}");
    assert_eq!(
        e.to_string(),
        "bundle format version 1 carries no signed SBOM and is no longer accepted: ask the vendor for this release as a format 2 bundle"
    );
}

#[test]
fn signed_but_unusable_sbom_refused() {
    let env = Env::new();
    let keys = trusted(&[&key(1)]);
    let payload = deb_bytes();
    let spdx = br#"{"spdxVersion":"SPDX-2.3","bomFormat":"SPDX","specVersion":"1.6"}"#;
    let other = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"type":"application","name":"otherapp"}}}"#;
    let old = br#"{"bomFormat":"CycloneDX","specVersion":"1.2","metadata":{"component":{"type":"application","name":"holdfast"}}}"#;
    for (sbom, needle) in [
        (&b"not json"[..], "expected"),
        (&spdx[..], "bomFormat is `SPDX`"),
        (&other[..], "describes `otherapp`"),
        (&old[..], "specVersion 1.2"),
    ] {
        let mut m = manifest_with_path(&payload, DEB_NAME);
        m.sbom = sbom_ref(sbom);
        let path = env.path("x.hfu");
        raw_bundle_with_sbom(
            &path,
            &serde_json::to_vec(&m).unwrap(),
            &[&key(1)],
            sbom,
            &payload,
        );
        let e = refused(&path, &keys, &policy());
        assert!(matches!(e, BundleError::BadSbom(_)), "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }

    // An SBOM size past the limit or past the end of the file is refused before it is read.
    let mut m = manifest_with_path(&payload, DEB_NAME);
    m.sbom.size = bundle::MAX_SBOM_LEN + 1;
    let path = env.path("x.hfu");
    raw_bundle(
        &path,
        &serde_json::to_vec(&m).unwrap(),
        &[&key(1)],
        &payload,
    );
    let e = refused(&path, &keys, &policy());
    assert!(
        matches!(e, BundleError::SectionTooLarge { what: "SBOM", .. }),
        "{e}"
    );
    m.sbom.size = (test_sbom().len() + payload.len() + 1) as u64;
    raw_bundle(
        &path,
        &serde_json::to_vec(&m).unwrap(),
        &[&key(1)],
        &payload,
    );
    let e = refused(&path, &keys, &policy());
    assert!(matches!(e, BundleError::Truncated(_)), "{e}");

    // The signer refuses to sign what the appliance would refuse.
    let mut s = spec("0.2.0");
    s.sbom = spdx.to_vec();
    let out = env.path("y.hfu");
    let e = sign::build_bundle(&[key(1)], &s, &env.deb, &out).unwrap_err();
    assert!(
        matches!(e, SignError::Bundle(BundleError::BadSbom(_))),
        "{e}"
    );
    assert!(!out.exists());
}

#[test]
fn two_of_three_accepted_and_three_of_three_not_met() {
    let env = Env::new();
    let (a, b, c) = (key(1), key(2), key(3));
    let path = env.build(&[a.clone(), c.clone()], &spec("0.2.0"));
    let keys = trusted(&[&a, &b, &c]);
    let mut p = policy();
    p.threshold = 2;
    let v = bundle::verify(&path, &keys, &p).unwrap();
    let mut expected = vec![id(&a), id(&c)];
    expected.sort();
    assert_eq!(v.signed_by(), expected);

    p.threshold = 3;
    let e = refused(&path, &keys, &p);
    assert!(matches!(
        e,
        BundleError::ThresholdNotMet {
            valid: 2,
            required: 3,
            ..
        }
    ));
}

#[test]
fn flipped_manifest_byte_refused() {
    let env = Env::new();
    let path = env.good();
    flip(&path, 14 + manifest_len(&path) / 2);
    let e = refused(&path, &trusted(&[&key(1)]), &policy());
    assert!(matches!(e, BundleError::BadSignature { .. }), "{e}");
    assert!(e.to_string().contains("altered or corrupted"));
}

#[test]
fn flipped_signature_byte_refused() {
    let env = Env::new();
    let path = env.good();
    let bytes = fs::read(&path).unwrap();
    let block_start = 14 + manifest_len(&path) + 4;
    let marker = b"\"signature\":\"";
    let at = block_start
        + bytes[block_start..]
            .windows(marker.len())
            .position(|w| w == marker)
            .unwrap()
        + marker.len()
        + 20;

    // Another valid base64 character: a well-formed signature that does not verify.
    let mut changed = bytes.clone();
    changed[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    fs::write(&path, &changed).unwrap();
    let e = refused(&path, &trusted(&[&key(1)]), &policy());
    assert!(matches!(e, BundleError::BadSignature { .. }), "{e}");

    // A character outside base64: the signature cannot even be decoded.
    changed[at] = b'!';
    fs::write(&path, &changed).unwrap();
    let e = refused(&path, &trusted(&[&key(1)]), &policy());
    assert!(
        matches!(e, BundleError::MalformedSignature { index: 0, .. }),
        "{e}"
    );
}

#[test]
fn flipped_payload_byte_refused() {
    let env = Env::new();
    let path = env.good();
    let len = fs::metadata(&path).unwrap().len() as usize;
    flip(&path, len - 1000);
    let e = refused(&path, &trusted(&[&key(1)]), &policy());
    assert!(
        matches!(e, BundleError::HashMismatch(ref p) if p == DEB_NAME),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!("payload file {DEB_NAME}: SHA-256 mismatch")
    );
}

#[test]
fn truncated_and_appended_refused() {
    let env = Env::new();
    let path = env.good();
    let len = fs::metadata(&path).unwrap().len();

    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 1).unwrap();
    let e = refused(&path, &trusted(&[&key(1)]), &policy());
    assert!(matches!(e, BundleError::Truncated(_)), "{e}");

    let path = env.good();
    let mut content = fs::read(&path).unwrap();
    content.push(0);
    fs::write(&path, &content).unwrap();
    let e = refused(&path, &trusted(&[&key(1)]), &policy());
    assert!(matches!(e, BundleError::TrailingBytes(1)), "{e}");
}

#[test]
fn no_signatures_refused() {
    let env = Env::new();
    let payload = deb_bytes();
    let m = serde_json::to_vec(&manifest_with_path(&payload, DEB_NAME)).unwrap();
    let path = env.path("x.hfu");
    raw_bundle(&path, &m, &[], &payload);
    let e = refused(&path, &trusted(&[&key(1)]), &policy());
    assert!(matches!(e, BundleError::Unsigned), "{e}");
}

#[test]
fn unknown_key_only_refused_and_reported() {
    let env = Env::new();
    let path = env.build(&[key(9)], &spec("0.2.0"));
    let e = refused(&path, &trusted(&[&key(1)]), &policy());
    assert!(matches!(
        e,
        BundleError::ThresholdNotMet {
            valid: 0,
            required: 1,
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        format!(
            "bundle signed by 0 trusted key(s), 1 required (threshold); signatures from unknown keys: {}",
            id(&key(9))
        )
    );
}

#[test]
fn one_of_two_required_refused() {
    let env = Env::new();
    let path = env.good();
    let mut p = policy();
    p.threshold = 2;
    let e = refused(&path, &trusted(&[&key(1), &key(2)]), &p);
    assert!(matches!(
        e,
        BundleError::ThresholdNotMet {
            valid: 1,
            required: 2,
            ..
        }
    ));
    assert!(
        e.to_string()
            .starts_with("bundle signed by 1 trusted key(s), 2 required (threshold)")
    );
}

#[test]
fn same_key_twice_counts_once() {
    let env = Env::new();
    let payload = deb_bytes();
    let m = serde_json::to_vec(&manifest_with_path(&payload, DEB_NAME)).unwrap();
    let path = env.path("x.hfu");
    let a = key(1);
    raw_bundle(&path, &m, &[&a, &a], &payload);
    let mut p = policy();
    p.threshold = 2;
    let e = refused(&path, &trusted(&[&a, &key(2)]), &p);
    assert!(
        matches!(
            e,
            BundleError::ThresholdNotMet {
                valid: 1,
                required: 2,
                ..
            }
        ),
        "{e}"
    );

    // The signer refuses to produce such a bundle in the first place.
    let out = env.path("y.hfu");
    let e = sign::build_bundle(&[a.clone(), a], &spec("0.2.0"), &env.deb, &out).unwrap_err();
    assert!(matches!(e, SignError::BadSpec(_)), "{e}");
    assert!(!out.exists());
}

#[test]
fn equal_and_older_versions_refused() {
    let env = Env::new();
    let keys = trusted(&[&key(1)]);
    let mut p = policy();
    p.current_version = "0.2.0".parse().unwrap();
    let path = env.good();
    let e = refused(&path, &keys, &p);
    assert!(matches!(e, BundleError::AlreadyInstalled(_)), "{e}");
    assert_eq!(e.to_string(), "version 0.2.0 is already installed");

    // Build metadata does not make the same release newer.
    p.current_version = "0.2.0+build7".parse().unwrap();
    assert!(matches!(
        refused(&path, &keys, &p),
        BundleError::AlreadyInstalled(_)
    ));

    p.current_version = "0.3.0".parse().unwrap();
    let e = refused(&path, &keys, &p);
    assert!(matches!(e, BundleError::Rollback { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "version 0.2.0 is older than the installed 0.3.0: rollback refused"
    );
}

#[test]
fn min_from_above_current_refused() {
    let env = Env::new();
    let mut s = spec("0.2.0");
    s.min_from = "0.1.5".parse().unwrap();
    let path = env.build(&[key(1)], &s);
    let e = refused(&path, &trusted(&[&key(1)]), &policy());
    assert!(matches!(e, BundleError::MinFromNotMet { .. }), "{e}");
}

#[test]
fn epoch_below_current_refused() {
    let env = Env::new();
    let path = env.good();
    let mut p = policy();
    p.current_epoch = 2;
    let e = refused(&path, &trusted(&[&key(1)]), &p);
    assert!(
        matches!(
            e,
            BundleError::EpochTooLow {
                bundle: 1,
                stored: 2
            }
        ),
        "{e}"
    );
}

#[test]
fn expired_and_future_bundles_refused() {
    let env = Env::new();
    let path = env.good();
    let keys = trusted(&[&key(1)]);
    let mut p = policy();
    p.now = now() + TimeDelta::days(31);
    let e = refused(&path, &keys, &p);
    assert!(matches!(e, BundleError::Expired { .. }), "{e}");
    assert_eq!(e.to_string(), "bundle expired on 2026-03-31T00:00:00Z");

    let mut s = spec("0.2.0");
    s.created_at = now() + TimeDelta::hours(1);
    let path = env.build(&[key(1)], &s);
    let e = refused(&path, &keys, &policy());
    assert!(matches!(e, BundleError::CreatedInFuture { .. }), "{e}");
}

#[test]
fn clock_moved_back_refused() {
    let env = Env::new();
    let path = env.good();
    let keys = trusted(&[&key(1)]);
    let mut p = policy();
    p.last_seen_time = Some(now() + TimeDelta::hours(1));
    let e = refused(&path, &keys, &p);
    assert!(matches!(e, BundleError::ClockMovedBack { .. }), "{e}");
    assert!(e.to_string().contains("the clock may have been moved back"));

    // Within the 10-minute tolerance.
    p.last_seen_time = Some(now() + TimeDelta::minutes(5));
    assert!(bundle::verify(&path, &keys, &p).is_ok());
}

#[test]
fn other_product_and_arch_refused() {
    let env = Env::new();
    let keys = trusted(&[&key(1)]);
    let mut s = spec("0.2.0");
    s.product = "otherapp".into();
    // The signer only signs an SBOM that describes the product.
    let mut doc: serde_json::Value = serde_json::from_slice(&s.sbom).unwrap();
    doc["metadata"]["component"]["name"] = "otherapp".into();
    s.sbom = serde_json::to_vec(&doc).unwrap();
    let e = refused(&env.build(&[key(1)], &s), &keys, &policy());
    assert!(matches!(e, BundleError::WrongProduct { .. }), "{e}");

    let mut s = spec("0.2.0");
    s.arch = "arm64".into();
    let e = refused(&env.build(&[key(1)], &s), &keys, &policy());
    assert!(matches!(e, BundleError::WrongArch { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "bundle is for architecture `arm64`, this appliance is `amd64`"
    );
}

#[test]
fn unsafe_payload_paths_refused() {
    let env = Env::new();
    let payload = deb_bytes();
    let keys = trusted(&[&key(1)]);
    for bad in ["../x.deb", "/abs.deb", "a/b.deb", "", "x.sh"] {
        let m = serde_json::to_vec(&manifest_with_path(&payload, bad)).unwrap();
        let path = env.path("x.hfu");
        raw_bundle(&path, &m, &[&key(1)], &payload);
        let e = refused(&path, &keys, &policy());
        assert!(matches!(e, BundleError::UnsafePath { .. }), "{bad:?}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("unsafe payload path `{bad}`"))
        );
    }

    // The signer refuses a payload name the appliance would refuse.
    let odd = env.path("holdfast release.deb");
    fs::copy(&env.deb, &odd).unwrap();
    let e = sign::build_bundle(&[key(1)], &spec("0.2.0"), &odd, &env.path("y.hfu")).unwrap_err();
    assert!(
        matches!(e, SignError::Bundle(BundleError::UnsafePath { .. })),
        "{e}"
    );
}

#[test]
fn unknown_manifest_field_refused() {
    let env = Env::new();
    let payload = deb_bytes();
    let mut value = serde_json::to_value(manifest_with_path(&payload, DEB_NAME)).unwrap();
    value["allow_downgrade"] = serde_json::Value::Bool(true);
    let path = env.path("x.hfu");
    raw_bundle(
        &path,
        &serde_json::to_vec(&value).unwrap(),
        &[&key(1)],
        &payload,
    );
    let e = refused(&path, &trusted(&[&key(1)]), &policy());
    assert!(matches!(e, BundleError::BadManifest(_)), "{e}");
    assert!(e.to_string().contains("allow_downgrade"));
}

#[test]
fn oversized_file_refused_before_reading() {
    let env = Env::new();
    let keys = trusted(&[&key(1)]);
    // Garbage that would fail every parse: only the size check can have produced the error.
    let garbage = env.path("garbage.hfu");
    fs::write(&garbage, vec![0xa5u8; 4096]).unwrap();
    let mut p = policy();
    p.max_size = 1000;
    let e = refused(&garbage, &keys, &p);
    assert!(
        matches!(
            e,
            BundleError::TooLarge {
                size: 4096,
                limit: 1000
            }
        ),
        "{e}"
    );
    assert_eq!(e.to_string(), "bundle is 4 KiB, over the 1000 bytes limit");
    p.max_size = 1 << 20;
    assert!(matches!(
        refused(&garbage, &keys, &p),
        BundleError::BadMagic
    ));

    let path = env.good();
    let len = fs::metadata(&path).unwrap().len();
    p.max_size = len - 1;
    assert!(matches!(
        refused(&path, &keys, &p),
        BundleError::TooLarge { .. }
    ));
    p.max_size = len;
    assert!(bundle::verify(&path, &keys, &p).is_ok());
}

#[test]
fn header_problems_refused() {
    let env = Env::new();
    let keys = trusted(&[&key(1)]);
    let path = env.good();
    let mut bytes = fs::read(&path).unwrap();
    bytes[9] = 3;
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        refused(&path, &keys, &policy()),
        BundleError::UnsupportedFormat(3)
    ));

    let short = env.path("short.hfu");
    fs::write(&short, b"HFUPD").unwrap();
    assert!(matches!(
        refused(&short, &keys, &policy()),
        BundleError::Truncated(_)
    ));

    // A manifest length pointing past the end of the file is not allocated, just refused.
    let mut head = bundle::MAGIC.to_vec();
    head.extend_from_slice(&bundle::FORMAT_VERSION.to_be_bytes());
    head.extend_from_slice(&(900_000u32).to_be_bytes());
    fs::write(&short, &head).unwrap();
    assert!(matches!(
        refused(&short, &keys, &policy()),
        BundleError::Truncated(_)
    ));
    head.truncate(10);
    head.extend_from_slice(&(2u32 << 20).to_be_bytes());
    fs::write(&short, &head).unwrap();
    assert!(matches!(
        refused(&short, &keys, &policy()),
        BundleError::SectionTooLarge {
            what: "manifest",
            ..
        }
    ));
}

#[test]
fn trust_configuration_checked() {
    let env = Env::new();
    let path = env.good();
    let mut p = policy();
    p.threshold = 0;
    assert!(matches!(
        refused(&path, &trusted(&[&key(1)]), &p),
        BundleError::InvalidThreshold { threshold: 0, .. }
    ));
    p.threshold = 2;
    assert!(matches!(
        refused(&path, &trusted(&[&key(1)]), &p),
        BundleError::InvalidThreshold {
            threshold: 2,
            available: 1
        }
    ));
    p.threshold = 1;
    assert!(matches!(
        refused(&path, &TrustedKeys::default(), &p),
        BundleError::NoTrustedKeys
    ));
}

#[test]
fn extract_rehash_mismatch_leaves_nothing() {
    let env = Env::new();
    let path = env.good();
    let v = bundle::verify(&path, &trusted(&[&key(1)]), &policy()).unwrap();
    let len = fs::metadata(&path).unwrap().len() as usize;
    flip(&path, len - 10);
    let dest = env.path("out");
    fs::create_dir(&dest).unwrap();
    let e = bundle::extract(&path, &v, &dest).unwrap_err();
    assert!(matches!(e, BundleError::ChangedSinceVerify(_)), "{e}");
    assert_eq!(fs::read_dir(&dest).unwrap().count(), 0);
}

#[test]
fn extract_never_overwrites() {
    let env = Env::new();
    let path = env.good();
    let v = bundle::verify(&path, &trusted(&[&key(1)]), &policy()).unwrap();
    let dest = env.path("out");
    fs::create_dir(&dest).unwrap();
    fs::write(dest.join(DEB_NAME), b"precious").unwrap();
    let e = bundle::extract(&path, &v, &dest).unwrap_err();
    assert!(matches!(e, BundleError::OutputExists(_)), "{e}");
    assert_eq!(fs::read(dest.join(DEB_NAME)).unwrap(), b"precious");

    // Nor through a link planted where the output goes.
    fs::remove_file(dest.join(DEB_NAME)).unwrap();
    std::os::unix::fs::symlink(env.path("elsewhere"), dest.join(DEB_NAME)).unwrap();
    assert!(bundle::extract(&path, &v, &dest).is_err());
    assert!(!env.path("elsewhere").exists());
}

#[test]
fn keygen_refuses_overwrite_and_keys_round_trip() {
    let env = Env::new();
    let dir = env.path("keys");
    let (secret, public) = sign::keygen(&dir).unwrap();
    assert_eq!(secret, dir.join("release.key"));
    let mode = fs::metadata(&secret).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let before = fs::read(&secret).unwrap();
    assert!(before.starts_with(b"holdfast-release-ed25519-secret "));

    let e = sign::keygen(&dir).unwrap_err();
    assert!(matches!(e, SignError::KeyExists(_)), "{e}");
    assert_eq!(fs::read(&secret).unwrap(), before);

    let loaded = sign::load_signing_key(&secret).unwrap();
    let pub_text = fs::read_to_string(&public).unwrap();
    let keys = TrustedKeys::from_pub_files(&[("release.pub", &pub_text)]).unwrap();
    assert_eq!(keys.key_ids().collect::<Vec<_>>(), [id(&loaded)]);
    assert!(
        pub_text
            .trim_end()
            .ends_with(&format!("holdfast release key {}", id(&loaded)))
    );
}

#[test]
fn open_or_malformed_signing_key_refused_without_leaking() {
    let env = Env::new();
    let dir = env.path("keys");
    let (secret, _) = sign::keygen(&dir).unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o644)).unwrap();
    let e = sign::load_signing_key(&secret).unwrap_err();
    assert!(
        matches!(e, SignError::KeyFileTooOpen { mode: 0o644, .. }),
        "{e}"
    );

    let bad = env.path("bad.key");
    fs::write(&bad, "holdfast-release-ed25519-secret SECRETSTUFF\n").unwrap();
    fs::set_permissions(&bad, fs::Permissions::from_mode(0o600)).unwrap();
    let e = sign::load_signing_key(&bad).unwrap_err();
    assert!(matches!(e, SignError::KeyFileMalformed(_)));
    assert!(!format!("{e} {e:?}").contains("SECRETSTUFF"));
    assert!(!format!("{:?}", key(1)).contains(&hex_of(&[1u8; 32])));
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn trusted_keys_dir_must_be_root_only() {
    let env = Env::new();
    let dir = env.path("trusted");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    assert!(
        bundle::read_pub_dir(&env.path("missing"))
            .unwrap()
            .is_empty()
    );

    let file = dir.join("vendor.pub");
    fs::write(
        &file,
        bundle::format_public_key(&key(1).verifying_key(), "v"),
    )
    .unwrap();
    fs::write(dir.join("README"), "not a key").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    // Ownership by root can only be met when the tests run as root (as CI does).
    if fs::metadata(&file).unwrap().uid() == 0 {
        let found = bundle::read_pub_dir(&dir).unwrap();
        assert_eq!(found.len(), 1);
        let pairs: Vec<(&str, &str)> = found
            .iter()
            .map(|(o, t)| (o.as_str(), t.as_str()))
            .collect();
        assert_eq!(TrustedKeys::from_pub_files(&pairs).unwrap().len(), 1);
    }
    fs::set_permissions(&file, fs::Permissions::from_mode(0o666)).unwrap();
    let e = bundle::read_pub_dir(&dir).unwrap_err();
    assert!(matches!(e, BundleError::UntrustedKeyLocation { .. }), "{e}");

    fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(&env.deb, &file).unwrap();
    let e = bundle::read_pub_dir(&dir).unwrap_err();
    assert!(matches!(e, BundleError::UntrustedKeyLocation { .. }), "{e}");
}

#[test]
fn inspect_reads_without_trust() {
    let env = Env::new();
    let path = env.build(&[key(9)], &spec("0.2.0"));
    let found = bundle::inspect(&path, u64::MAX).unwrap();
    assert_eq!(found.manifest.version.to_string(), "0.2.0");
    assert_eq!(found.signer_key_ids, [id(&key(9))]);
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_holdfast-release"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code() == Some(0),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn assert_one_line_error(stderr: &str, code_ok: bool, needle: &str) {
    assert!(!code_ok);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("holdfast-release: error: "), "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
}

#[test]
fn release_binary_end_to_end() {
    let env = Env::new();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (k1, k2) = (env.path("k1"), env.path("k2"));
    for dir in [&k1, &k2] {
        let (ok, out, err) = run(&["keygen", "--out", &s(dir)]);
        assert!(ok, "{err}");
        assert!(out.contains("release.pub"));
    }
    let hfu = env.path("holdfast_0.2.0.hfu");
    let real_deb = crate::support::tiny_deb(env.dir.path(), "0.2.0", b"#!/bin/sh\n");
    let (ok, out, err) = run(&[
        "bundle",
        "--key",
        &s(&k1.join("release.key")),
        "--key",
        &s(&k2.join("release.key")),
        "--version",
        "0.2.0",
        "--deb",
        &s(&real_deb),
        "--min-from",
        "0.1.0",
        "--expires-days",
        "30",
        "--epoch",
        "3",
        "--notes",
        "fixes",
        "--out",
        &s(&hfu),
        "--allow-version-mismatch",
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("wrote "), "{out}");
    assert!(out.contains("SBOM: CycloneDX 1.6, "), "{out}");

    // Without the test flag, a bundle version other than the tree's is refused: the SBOM would
    // describe another release than the one installed.
    let (ok, _, err) = run(&[
        "bundle",
        "--key",
        &s(&k1.join("release.key")),
        "--version",
        "0.2.0",
        "--deb",
        &s(&real_deb),
        "--out",
        &s(&env.path("mismatch.hfu")),
    ]);
    assert_one_line_error(
        &err,
        ok,
        "the source tree is holdfast 0.1.0, the bundle says 0.2.0",
    );
    assert!(!env.path("mismatch.hfu").exists());

    // The SBOM on its own, as the vendor publishes it; never over an existing file.
    let cdx = env.path("holdfast.cdx.json");
    let (ok, _, err) = run(&["sbom", "--out", &s(&cdx)]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&cdx).unwrap()).unwrap();
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["metadata"]["component"]["name"], "holdfast");
    let (ok, _, err) = run(&["sbom", "--out", &s(&cdx)]);
    assert_one_line_error(&err, ok, "already exists");
    let (ok, _, err) = run(&["sbom", "--arch", "mips"]);
    assert_one_line_error(
        &err,
        ok,
        "no Rust target is known for Debian architecture `mips`",
    );

    let pubs: Vec<String> = [&k1, &k2]
        .iter()
        .map(|d| fs::read_to_string(d.join("release.pub")).unwrap())
        .collect();
    let keys =
        TrustedKeys::from_pub_files(&[("k1", pubs[0].as_str()), ("k2", pubs[1].as_str())]).unwrap();
    let mut p = policy();
    p.threshold = 2;
    p.current_epoch = 3;
    p.now = Utc::now();
    p.last_seen_time = None;
    let v = bundle::verify(&hfu, &keys, &p).unwrap();
    assert_eq!(v.signed_by().len(), 2);
    assert_eq!(v.manifest().security_epoch, 3);
    assert_eq!(v.manifest().notes.as_deref(), Some("fixes"));
    assert_eq!(
        v.manifest().expires_at - v.manifest().created_at,
        TimeDelta::days(30)
    );

    let (ok, out, err) = run(&["inspect", &s(&hfu)]);
    assert!(ok, "{err}");
    assert!(out.contains("\"version\": \"0.2.0\""), "{out}");
    for id in keys.key_ids() {
        assert!(out.contains(id), "{out}");
    }

    let (ok, _, err) = run(&["keygen", "--out", &s(&k1)]);
    assert_one_line_error(&err, ok, "already exists");
    let (ok, _, err) = run(&[
        "bundle",
        "--key",
        &s(&k1.join("release.key")),
        "--version",
        "0.3.0",
        "--deb",
        &s(&env.path("missing.deb")),
        "--out",
        &s(&env.path("x.hfu")),
        "--allow-version-mismatch",
    ]);
    assert_one_line_error(&err, ok, "missing.deb");
    let (ok, _, err) = run(&["inspect", &s(&env.deb)]);
    assert_one_line_error(&err, ok, "not a holdfast update bundle");

    // Defect from the operator drill: a bundle labelled 0.3.0 around a 0.1.0 package was signed.
    let old_deb = crate::support::tiny_deb(env.dir.path(), "0.1.0", b"#!/bin/sh\n");
    let (ok, _, err) = run(&[
        "bundle",
        "--key",
        &s(&k1.join("release.key")),
        "--version",
        "0.3.0",
        "--deb",
        &s(&old_deb),
        "--out",
        &s(&env.path("liar.hfu")),
        "--allow-version-mismatch",
    ]);
    assert_one_line_error(&err, ok, "is holdfast 0.1.0, the bundle would say 0.3.0");
    assert!(!env.path("liar.hfu").exists());
    let (ok, _, err) = run(&["bundle", "--version", "0.3.0"]);
    assert_one_line_error(&err, ok, "required");
    let (ok, _, err) = run(&[]);
    assert_one_line_error(&err, ok, "a command is required");
}

/// Defect from the operator drill: `update verify` said "bundle OK" for a bundle labelled 0.3.0
/// around a 0.1.0 package. A signer that skips the vendor tool's check (or an old tool) can still
/// make one; the appliance's package check (used by `update verify` and by `update apply` before
/// anything changes) refuses it.
#[test]
fn the_appliance_refuses_a_bundle_whose_package_is_another_version() {
    let env = Env::new();
    let old_deb = crate::support::tiny_deb(env.dir.path(), "0.1.0", b"#!/bin/sh\n");
    let out = env.path("liar.hfu");
    sign::build_bundle(&[key(1)], &spec("0.3.0"), &old_deb, &out).unwrap();
    let v = bundle::verify(&out, &trusted(&[&key(1)]), &policy()).unwrap();
    let into = env.path("payload");
    fs::create_dir(&into).unwrap();
    let e = holdfast::update::apply::checked_package(&out, &v, &into).unwrap_err();
    assert!(
        e.to_string()
            .contains("the bundle says version 0.3.0 but the package inside it is holdfast 0.1.0"),
        "{e}"
    );

    // The same package under its own version passes.
    let honest = env.path("honest.hfu");
    let deb = crate::support::tiny_deb(env.dir.path(), "0.2.0", b"#!/bin/sh\n");
    sign::build_bundle(&[key(1)], &spec("0.2.0"), &deb, &honest).unwrap();
    let v = bundle::verify(&honest, &trusted(&[&key(1)]), &policy()).unwrap();
    let into = env.path("payload2");
    fs::create_dir(&into).unwrap();
    let got = holdfast::update::apply::checked_package(&honest, &v, &into).unwrap();
    assert_eq!(fs::read(got).unwrap(), fs::read(&deb).unwrap());
}
