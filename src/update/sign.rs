//! Vendor side of update bundles: release key generation and loading, signed bundle writing.
//! Compiled only into `holdfast-release`, never into the appliance.
//!
//! This file is not a module of the library: the `holdfast-release` binary (and the tests) pull
//! it in with `#[path]`, and it reaches the format code through `holdfast::update::bundle`.

#[path = "sbom.rs"]
pub mod sbom;

use std::ffi::OsString;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer as _, SigningKey};
use holdfast::update::bundle::{
    self, BundleError, Manifest, PayloadFile, Policy, SbomRef, SignatureEntry, TrustedKeys,
};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

pub const SECRET_KEY_TAG: &str = "holdfast-release-ed25519-secret";
const KEY_FILE_NAME: &str = "release.key";
const PUB_FILE_NAME: &str = "release.pub";
const MAX_SECRET_FILE_LEN: usize = 4096;

/// Errors of the signing tool. No variant carries key material.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("{0} already exists: refusing to overwrite a release key")]
    KeyExists(PathBuf),
    #[error(
        "signing key {path} is accessible by group or others (mode {mode:04o}): run `chmod 600` on it"
    )]
    KeyFileTooOpen { path: PathBuf, mode: u32 },
    #[error("{0} is not a holdfast release secret key file")]
    KeyFileMalformed(PathBuf),
    #[error("the system random number generator failed: {0}")]
    Random(String),
    #[error("invalid bundle parameters: {0}")]
    BadSpec(String),
    #[error("{0} changed while the bundle was being written: try again")]
    PayloadChanged(PathBuf),
    #[error("{0} exists, left by an interrupted run? Remove it and try again")]
    TmpExists(PathBuf),
    #[error("{0}")]
    Bundle(#[from] BundleError),
    #[error("cannot generate the SBOM: {0}")]
    Sbom(#[from] sbom::SbomError),
}

fn io_err(what: String) -> impl FnOnce(io::Error) -> SignError {
    move |source| SignError::Io { what, source }
}

fn no_follow() -> i32 {
    nix::fcntl::OFlag::O_NOFOLLOW.bits()
}

fn sync_dir(dir: &Path) -> Result<(), SignError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(format!("cannot sync {}", dir.display())))
}

/// Creates a new file (never replacing one, never through a link) and fsyncs it.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), SignError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(no_follow())
        .open(path)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                SignError::KeyExists(path.to_path_buf())
            } else {
                io_err(format!("cannot create {}", path.display()))(e)
            }
        })?;
    io::Write::write_all(&mut file, contents)
        .and_then(|()| file.sync_all())
        .map_err(io_err(format!("cannot write {}", path.display())))
}

/// Generates a release key pair: `DIR/release.key` (0600, the 32-byte seed) and `DIR/release.pub`.
/// Refuses if either file already exists: overwriting a release key is never what anyone wants.
pub fn keygen(dir: &Path) -> Result<(PathBuf, PathBuf), SignError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err(format!("cannot create {}", dir.display())))?;
    let key_path = dir.join(KEY_FILE_NAME);
    let pub_path = dir.join(PUB_FILE_NAME);
    for path in [&key_path, &pub_path] {
        if fs::symlink_metadata(path).is_ok() {
            return Err(SignError::KeyExists(path.clone()));
        }
    }

    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|e| SignError::Random(e.to_string()))?;
    let signing = SigningKey::from_bytes(&seed);
    // Sized up front so the string never reallocates and leaves an unzeroized copy behind.
    let mut secret_line = Zeroizing::new(String::with_capacity(SECRET_KEY_TAG.len() + 48));
    secret_line.push_str(SECRET_KEY_TAG);
    secret_line.push(' ');
    B64.encode_string(seed.as_ref(), &mut secret_line);
    secret_line.push('\n');

    let id = bundle::key_id(&signing.verifying_key());
    let public = bundle::format_public_key(
        &signing.verifying_key(),
        &format!("holdfast release key {id}"),
    );
    write_new(&key_path, secret_line.as_bytes(), 0o600)?;
    if let Err(e) = write_new(&pub_path, public.as_bytes(), 0o644) {
        // Only this call created the secret half; without its public half it is useless.
        let _ = fs::remove_file(&key_path);
        return Err(e);
    }
    sync_dir(dir)?;
    Ok((key_path, pub_path))
}

/// Loads a secret release key, refusing a file that group or others can access.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, SignError> {
    let what = || format!("cannot read signing key {}", path.display());
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(no_follow())
        .open(path)
        .map_err(io_err(what()))?;
    let meta = file.metadata().map_err(io_err(what()))?;
    if !meta.is_file() {
        return Err(SignError::KeyFileMalformed(path.to_path_buf()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(SignError::KeyFileTooOpen {
            path: path.to_path_buf(),
            mode: meta.mode() & 0o7777,
        });
    }
    let malformed = || SignError::KeyFileMalformed(path.to_path_buf());

    // A fixed buffer rather than read_to_string: no reallocation leaves secret copies in freed memory.
    let mut buf = Zeroizing::new(vec![0u8; MAX_SECRET_FILE_LEN + 1]);
    let mut len = 0;
    loop {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(what())(e)),
        }
        if len > MAX_SECRET_FILE_LEN {
            return Err(malformed());
        }
    }
    let text = std::str::from_utf8(&buf[..len]).map_err(|_| malformed())?;
    let mut fields = text.split_whitespace();
    if fields.next() != Some(SECRET_KEY_TAG) {
        return Err(malformed());
    }
    let encoded = fields.next().ok_or_else(malformed)?;
    if fields.next().is_some() {
        return Err(malformed());
    }
    let mut decoded = Zeroizing::new([0u8; 48]);
    let n = B64
        .decode_slice(encoded, decoded.as_mut())
        .map_err(|_| malformed())?;
    if n != 32 {
        return Err(malformed());
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    seed.copy_from_slice(&decoded[..32]);
    Ok(SigningKey::from_bytes(&seed))
}

/// The manifest fields the vendor chooses; the payload entry is computed from the `.deb`.
#[derive(Debug, Clone)]
pub struct BundleSpec {
    pub product: String,
    pub arch: String,
    pub version: semver::Version,
    pub min_from: semver::Version,
    pub security_epoch: u32,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub notes: Option<String>,
    /// CycloneDX JSON of the binary in the `.deb` ([`sbom::generate`]); signed with the manifest.
    pub sbom: Vec<u8>,
}

fn check_spec(keys: &[SigningKey], spec: &BundleSpec) -> Result<(), SignError> {
    if keys.is_empty() {
        return Err(SignError::BadSpec(
            "at least one signing key is needed".into(),
        ));
    }
    let mut ids: Vec<String> = keys
        .iter()
        .map(|k| bundle::key_id(&k.verifying_key()))
        .collect();
    ids.sort();
    if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(SignError::BadSpec(format!(
            "key {} given twice: it would count once",
            pair[0]
        )));
    }
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    if !plain(&spec.product) || !plain(&spec.arch) {
        return Err(SignError::BadSpec(
            "product and architecture must be plain names".into(),
        ));
    }
    // An appliance must be at >= min_from and < version, so min_from < version or nothing can install it.
    if spec.min_from.cmp_precedence(&spec.version) != std::cmp::Ordering::Less {
        return Err(SignError::BadSpec(format!(
            "minimum version {} must be lower than the bundle version {}",
            spec.min_from, spec.version
        )));
    }
    if spec.expires_at <= spec.created_at {
        return Err(SignError::BadSpec("expiry must be after creation".into()));
    }
    if spec.sbom.len() as u64 > bundle::MAX_SBOM_LEN {
        return Err(SignError::BadSpec(
            "the SBOM is over the 8 MiB limit".into(),
        ));
    }
    // The appliance's own check: a bundle it would refuse for its SBOM is never signed.
    bundle::sbom_summary(&spec.sbom, &spec.product)?;
    Ok(())
}

/// Writes a signed bundle holding `deb` to `out` (through `out.tmp` and a rename) and returns its
/// manifest. The `.deb` is read twice, streaming: once to hash it for the manifest, which precedes
/// the payload, and once to copy it, re-hashed to catch a file changed in between. The result is
/// then checked with the appliance's own `verify` before it is renamed into place.
pub fn build_bundle(
    keys: &[SigningKey],
    spec: &BundleSpec,
    deb: &Path,
    out: &Path,
) -> Result<Manifest, SignError> {
    check_spec(keys, spec)?;
    let name = deb
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| SignError::BadSpec(format!("{} has no file name", deb.display())))?;
    bundle::check_payload_path(name)?;

    let mut deb_file = File::open(deb).map_err(io_err(format!("cannot open {}", deb.display())))?;
    let deb_meta = deb_file
        .metadata()
        .map_err(io_err(format!("cannot read {}", deb.display())))?;
    if !deb_meta.is_file() {
        return Err(BundleError::NotRegularFile(deb.to_path_buf()).into());
    }
    let (size, sha256) = bundle::copy_hashed(&mut deb_file, u64::MAX, &mut io::sink())
        .map_err(io_err(format!("cannot read {}", deb.display())))?;
    if size == 0 {
        return Err(SignError::BadSpec(format!("{} is empty", deb.display())));
    }

    let manifest = Manifest {
        product: spec.product.clone(),
        arch: spec.arch.clone(),
        version: spec.version.clone(),
        min_from: spec.min_from.clone(),
        security_epoch: spec.security_epoch,
        created_at: spec.created_at,
        expires_at: spec.expires_at,
        files: vec![PayloadFile {
            path: name.to_string(),
            size,
            sha256,
        }],
        notes: spec.notes.clone(),
        sbom: SbomRef {
            size: spec.sbom.len() as u64,
            sha256: Sha256::digest(&spec.sbom).into(),
        },
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| SignError::BadSpec(format!("cannot encode the manifest: {e}")))?;
    let message = bundle::signed_message(&manifest_bytes);
    let entries: Vec<SignatureEntry> = keys
        .iter()
        .map(|key| SignatureEntry {
            key_id: bundle::key_id(&key.verifying_key()),
            signature: B64.encode(key.sign(&message).to_bytes()),
        })
        .collect();
    let signature_block = serde_json::to_vec(&entries)
        .map_err(|e| SignError::BadSpec(format!("cannot encode the signatures: {e}")))?;

    let mut tmp_name = OsString::from(out.as_os_str());
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut tmp_file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(no_follow())
        .open(&tmp)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                SignError::TmpExists(tmp.clone())
            } else {
                io_err(format!("cannot create {}", tmp.display()))(e)
            }
        })?;
    let written = (|| {
        bundle::write_envelope(&mut tmp_file, &manifest_bytes, &signature_block)?;
        io::Write::write_all(&mut tmp_file, &spec.sbom).map_err(io_err(format!(
            "cannot write the SBOM into {}",
            tmp.display()
        )))?;
        deb_file
            .seek(SeekFrom::Start(0))
            .map_err(io_err(format!("cannot read {}", deb.display())))?;
        // One byte more than expected: a .deb that grew is caught too.
        let (copied, digest) =
            bundle::copy_hashed(&mut deb_file, size.saturating_add(1), &mut tmp_file).map_err(
                io_err(format!("cannot copy {} into the bundle", deb.display())),
            )?;
        if copied != size || digest != sha256 {
            return Err(SignError::PayloadChanged(deb.to_path_buf()));
        }
        tmp_file
            .sync_all()
            .map_err(io_err(format!("cannot sync {}", tmp.display())))?;
        self_check(keys, &manifest, &tmp)
    })();
    drop(tmp_file);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = fs::rename(&tmp, out) {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(format!(
            "cannot rename {} to {}",
            tmp.display(),
            out.display()
        ))(e));
    }
    sync_dir(out.parent().unwrap_or(Path::new(".")))?;
    Ok(manifest)
}

/// Verifies the freshly written bundle as an appliance at `min_from` would, so that a bundle the
/// appliance would refuse never leaves the vendor's machine.
fn self_check(keys: &[SigningKey], manifest: &Manifest, path: &Path) -> Result<(), SignError> {
    let mut trusted = TrustedKeys::default();
    for key in keys {
        trusted.insert("signing key", key.verifying_key())?;
    }
    let policy = Policy {
        threshold: keys.len(),
        product: manifest.product.clone(),
        arch: manifest.arch.clone(),
        current_version: manifest.min_from.clone(),
        current_epoch: manifest.security_epoch,
        now: manifest.created_at,
        last_seen_time: None,
        max_size: u64::MAX,
    };
    bundle::verify(path, &trusted, &policy)?;
    Ok(())
}
