//! The instance registry: which host name maps to which instance, each with its own database and key.

use crate::clock::{Clock, stamp};
use crate::crypto::{self, Key256};
use crate::fsutil;
use crate::storage::{self, Database, StorageError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub const DEFAULT_INSTANCE: &str = "default";
const META_FILE: &str = "instance.toml";
const KEY_FILE: &str = "db.key";
const DB_FILE: &str = "db.sqlite";
const TITLE_KEY: &str = "instance.title";

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error(
        "instance name `{0}` is not allowed: use 1–32 lower-case letters, digits and '-', starting with a letter"
    )]
    BadName(String),
    #[error("host name `{0}` is not a valid DNS name or IP address")]
    BadHostname(String),
    #[error("instance `{0}` already exists")]
    Exists(String),
    #[error("no instance named `{0}`")]
    NotFound(String),
    #[error("host name `{host}` already belongs to instance `{owner}`")]
    HostTaken { host: String, owner: String },
    #[error("the `default` instance answers every unknown host and cannot be removed")]
    DefaultIsPermanent,
    #[error(
        "instance `{instance}` was keyed with master key {expected}, but the master key in use is {actual}: wrong master key, refusing to open it (nothing was changed)"
    )]
    WrongMasterKey {
        instance: String,
        expected: String,
        actual: String,
    },
    #[error(
        "the master key does not open the database key of instance `{0}` (the key file is damaged or belongs to another instance); nothing was changed"
    )]
    KeyUnwrap(String),
    #[error("instance `{instance}`: {path}: {reason}")]
    Files {
        instance: String,
        path: PathBuf,
        reason: String,
    },
    #[error("instance `{instance}`: {source}")]
    Storage {
        instance: String,
        #[source]
        source: StorageError,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    hostnames: Vec<String>,
    created_at: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrappedKey {
    format: u32,
    master_key_id: String,
    sealed: String,
}

/// One open instance.
#[derive(Debug)]
pub struct Instance {
    pub name: String,
    pub hostnames: Vec<String>,
    pub dir: PathBuf,
    pub db: Database,
    /// Encrypts attachments in `files/`; derived from the instance's database key.
    pub files_key: Key256,
    /// The database key itself: backups carry it (inside their own encryption) so that a restore
    /// on a new machine opens the same database and documents.
    pub db_key: Key256,
}

impl Instance {
    /// The files key that belongs to a database key (for checking restored documents).
    pub fn probe_files_key(db_key: &Key256) -> Key256 {
        files_key(db_key)
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.join(DB_FILE)
    }

    pub async fn title(&self) -> Result<String, StorageError> {
        let name = self.name.clone();
        self.db
            .read(move |c| Ok(storage::settings::get(c, TITLE_KEY)?.unwrap_or(name)))
            .await
    }

    pub fn title_blocking(&self) -> Result<String, StorageError> {
        let name = self.name.clone();
        self.db
            .read_blocking(move |c| Ok(storage::settings::get(c, TITLE_KEY)?.unwrap_or(name)))
    }

    pub fn set_title_blocking(&self, title: &str, clock: &dyn Clock) -> Result<(), StorageError> {
        let now = stamp(clock.now());
        self.db
            .write_blocking(|tx| storage::settings::set(tx, TITLE_KEY, title, &now))
    }
}

pub fn instances_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("instances")
}

pub fn removed_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("removed")
}

pub fn validate_name(name: &str) -> Result<(), InstanceError> {
    let ok = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(InstanceError::BadName(name.to_string()))
    }
}

/// Lower-cases and checks a host name an admin gives for an instance.
pub fn normalise_hostname(host: &str) -> Result<String, InstanceError> {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    if h.parse::<std::net::IpAddr>().is_ok() {
        return Ok(h);
    }
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if h.is_empty() || h.len() > 253 || !h.split('.').all(label_ok) {
        return Err(InstanceError::BadHostname(host.to_string()));
    }
    Ok(h)
}

/// Reduces a request's Host (or :authority) value to the bare, lower-case host name.
pub fn host_from_header(value: &str) -> String {
    let v = value.trim();
    let host = if let Some(rest) = v.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        v.rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(v, |(h, _)| h)
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Names of the instances present in the data dir, sorted.
pub fn list_names(data_dir: &Path) -> Result<Vec<String>, InstanceError> {
    let dir = instances_dir(data_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(files_err("*", &dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| files_err("*", &dir, e))?;
        if let Some(name) = entry.file_name().to_str()
            && validate_name(name).is_ok()
            && entry.path().join(KEY_FILE).exists()
        {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

fn files_err(instance: &str, path: &Path, e: impl std::fmt::Display) -> InstanceError {
    InstanceError::Files {
        instance: instance.to_string(),
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn key_context(name: &str) -> Vec<u8> {
    format!("holdfast:instance-db-key:v1:{name}").into_bytes()
}

fn read_meta(name: &str, dir: &Path) -> Result<Meta, InstanceError> {
    let path = dir.join(META_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| files_err(name, &path, e))?;
    toml::from_str(&text).map_err(|e| files_err(name, &path, e.message()))
}

fn unwrap_db_key(name: &str, dir: &Path, master: &Key256) -> Result<Key256, InstanceError> {
    let path = dir.join(KEY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| files_err(name, &path, e))?;
    let wrapped: WrappedKey = serde_json::from_str(&text).map_err(|e| files_err(name, &path, e))?;
    if wrapped.master_key_id != master.id() {
        return Err(InstanceError::WrongMasterKey {
            instance: name.to_string(),
            expected: wrapped.master_key_id,
            actual: master.id(),
        });
    }
    let sealed = hex::decode(&wrapped.sealed).map_err(|e| files_err(name, &path, e))?;
    let raw = crypto::open(master, &key_context(name), &sealed)
        .map_err(|_| InstanceError::KeyUnwrap(name.to_string()))?;
    Key256::parse(raw.expose()).map_err(|_| InstanceError::KeyUnwrap(name.to_string()))
}

/// A separate key for attachments, so that a file and a database page never share a key.
fn files_key(db_key: &Key256) -> Key256 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"holdfast-files-key:v1:");
    h.update(db_key.expose());
    let mut bytes = [0u8; crypto::KEY_LEN];
    bytes.copy_from_slice(&h.finalize());
    Key256::from_bytes(bytes)
}

/// An existing instance's directory and database key (unwrapped with the master key).
fn existing(
    data_dir: &Path,
    master: &Key256,
    name: &str,
) -> Result<(PathBuf, Key256), InstanceError> {
    validate_name(name)?;
    let dir = instances_dir(data_dir).join(name);
    if !dir.join(KEY_FILE).exists() {
        return Err(InstanceError::NotFound(name.to_string()));
    }
    let key = unwrap_db_key(name, &dir, master)?;
    Ok((dir, key))
}

/// The schema version an existing instance's database records, read without opening the instance
/// (which would migrate it to this build's schema).
pub fn recorded_schema_version(
    data_dir: &Path,
    master: &Key256,
    name: &str,
    opts: storage::Options,
) -> Result<i64, InstanceError> {
    let (dir, key) = existing(data_dir, master, name)?;
    storage::recorded_schema_version(&dir.join(DB_FILE), &key, opts).map_err(|source| {
        InstanceError::Storage {
            instance: name.to_string(),
            source,
        }
    })
}

/// Opens an existing instance.
pub fn open(
    data_dir: &Path,
    master: &Key256,
    name: &str,
    opts: storage::Options,
) -> Result<Instance, InstanceError> {
    let (dir, key) = existing(data_dir, master, name)?;
    let meta = read_meta(name, &dir)?;
    let db = Database::open(&dir.join(DB_FILE), &key, false, opts).map_err(|source| {
        InstanceError::Storage {
            instance: name.to_string(),
            source,
        }
    })?;
    Ok(Instance {
        name: name.to_string(),
        hostnames: meta.hostnames,
        dir,
        db,
        files_key: files_key(&key),
        db_key: key,
    })
}

/// Installs an instance from restored parts (database file and files already in `staging`) under
/// `name`, wrapping `db_key` with the current master key. Returns the staging path ready to rename.
pub fn seal_restored(
    staging: &Path,
    master: &Key256,
    name: &str,
    hostnames: &[String],
    db_key: &Key256,
    clock: &dyn Clock,
) -> Result<(), InstanceError> {
    let err = |p: &Path, e: &dyn std::fmt::Display| files_err(name, p, e);
    let sealed =
        crypto::seal(master, &key_context(name), db_key.expose()).map_err(|e| err(staging, &e))?;
    let wrapped = WrappedKey {
        format: 1,
        master_key_id: master.id(),
        sealed: hex::encode(sealed),
    };
    let key_json = serde_json::to_vec_pretty(&wrapped).map_err(|e| err(staging, &e))?;
    fsutil::write_new_private(&staging.join(KEY_FILE), &key_json).map_err(|e| err(staging, &e))?;
    let meta = Meta {
        hostnames: hostnames.to_vec(),
        created_at: stamp(clock.now()),
    };
    let meta_toml = toml::to_string(&meta).map_err(|e| err(staging, &e))?;
    fsutil::write_atomic(&staging.join(META_FILE), meta_toml.as_bytes(), 0o600)
        .map_err(|e| err(staging, &e))?;
    Ok(())
}

/// Creates a new instance: built in a hidden staging folder and renamed into place,
/// so a crash never leaves a half-made instance behind.
pub fn create(
    data_dir: &Path,
    master: &Key256,
    name: &str,
    hostnames: &[String],
    title: Option<&str>,
    opts: storage::Options,
    clock: &dyn Clock,
) -> Result<Instance, InstanceError> {
    validate_name(name)?;
    let hostnames = hostnames
        .iter()
        .map(|h| normalise_hostname(h))
        .collect::<Result<Vec<_>, _>>()?;
    let root = instances_dir(data_dir);
    fsutil::ensure_private_dir(&root).map_err(|e| files_err(name, &root, e))?;
    let final_dir = root.join(name);
    if final_dir.exists() {
        return Err(InstanceError::Exists(name.to_string()));
    }
    for other in list_names(data_dir)? {
        let meta = read_meta(&other, &root.join(&other))?;
        if let Some(h) = hostnames.iter().find(|h| meta.hostnames.contains(h)) {
            return Err(InstanceError::HostTaken {
                host: h.clone(),
                owner: other,
            });
        }
    }
    let staging = root.join(format!(".creating-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = build_instance(&staging, master, name, &hostnames, title, clock);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    std::fs::rename(&staging, &final_dir).map_err(|e| files_err(name, &final_dir, e))?;
    fsutil::sync_dir(&root).map_err(|e| files_err(name, &root, e))?;
    tracing::info!(instance = name, "instance created");
    open(data_dir, master, name, opts)
}

fn build_instance(
    dir: &Path,
    master: &Key256,
    name: &str,
    hostnames: &[String],
    title: Option<&str>,
    clock: &dyn Clock,
) -> Result<(), InstanceError> {
    let err = |p: &Path, e: &dyn std::fmt::Display| files_err(name, p, e);
    fsutil::ensure_private_dir(&dir.join("files")).map_err(|e| err(dir, &e))?;
    let db_key = Key256::generate().map_err(|e| err(dir, &e))?;
    let sealed =
        crypto::seal(master, &key_context(name), db_key.expose()).map_err(|e| err(dir, &e))?;
    let wrapped = WrappedKey {
        format: 1,
        master_key_id: master.id(),
        sealed: hex::encode(sealed),
    };
    let key_json = serde_json::to_vec_pretty(&wrapped).map_err(|e| err(dir, &e))?;
    fsutil::write_new_private(&dir.join(KEY_FILE), &key_json).map_err(|e| err(dir, &e))?;
    let meta = Meta {
        hostnames: hostnames.to_vec(),
        created_at: stamp(clock.now()),
    };
    let meta_toml = toml::to_string(&meta).map_err(|e| err(dir, &e))?;
    fsutil::write_atomic(&dir.join(META_FILE), meta_toml.as_bytes(), 0o600)
        .map_err(|e| err(dir, &e))?;
    let db = Database::open(
        &dir.join(DB_FILE),
        &db_key,
        true,
        storage::Options::default(),
    )
    .map_err(|source| InstanceError::Storage {
        instance: name.to_string(),
        source,
    })?;
    let now = stamp(clock.now());
    let title = title.unwrap_or(name).to_string();
    db.write_blocking(|tx| storage::settings::set(tx, TITLE_KEY, &title, &now))
        .and_then(|_| db.checkpoint())
        .map_err(|source| InstanceError::Storage {
            instance: name.to_string(),
            source,
        })?;
    Ok(())
}

/// Removes an instance from service, keeping its encrypted files (database and wrapped key) under
/// `removed/<name>-<time>/` as the final copy. Returns where they went.
pub fn remove(data_dir: &Path, name: &str, clock: &dyn Clock) -> Result<PathBuf, InstanceError> {
    validate_name(name)?;
    if name == DEFAULT_INSTANCE {
        return Err(InstanceError::DefaultIsPermanent);
    }
    let dir = instances_dir(data_dir).join(name);
    if !dir.join(KEY_FILE).exists() {
        return Err(InstanceError::NotFound(name.to_string()));
    }
    let graveyard = removed_dir(data_dir);
    fsutil::ensure_private_dir(&graveyard).map_err(|e| files_err(name, &graveyard, e))?;
    let target = graveyard.join(format!("{name}-{}", clock.now().format("%Y%m%dT%H%M%SZ")));
    std::fs::rename(&dir, &target).map_err(|e| files_err(name, &target, e))?;
    fsutil::sync_dir(&graveyard).map_err(|e| files_err(name, &graveyard, e))?;
    fsutil::sync_dir(&instances_dir(data_dir)).map_err(|e| files_err(name, &dir, e))?;
    tracing::info!(instance = name, kept = %target.display(), "instance removed");
    Ok(target)
}

struct Snapshot {
    by_name: BTreeMap<String, Arc<Instance>>,
    by_host: HashMap<String, Arc<Instance>>,
}

impl Snapshot {
    fn build(instances: BTreeMap<String, Arc<Instance>>) -> Self {
        let by_host = instances
            .values()
            .flat_map(|i| i.hostnames.iter().map(move |h| (h.clone(), Arc::clone(i))))
            .collect();
        Self {
            by_name: instances,
            by_host,
        }
    }
}

/// All instances the server has open, and the host-name routing between them.
pub struct Registry {
    data_dir: PathBuf,
    master: Key256,
    opts: storage::Options,
    default: Arc<Instance>,
    snapshot: RwLock<Arc<Snapshot>>,
}

impl Registry {
    /// Opens every instance in the data dir, creating `default` on first start.
    pub fn open_all(
        data_dir: &Path,
        master: Key256,
        opts: storage::Options,
        clock: &dyn Clock,
    ) -> Result<Self, InstanceError> {
        if !list_names(data_dir)?.iter().any(|n| n == DEFAULT_INSTANCE) {
            create(
                data_dir,
                &master,
                DEFAULT_INSTANCE,
                &[],
                Some("holdfast"),
                opts,
                clock,
            )?;
        }
        let mut by_name = BTreeMap::new();
        for name in list_names(data_dir)? {
            let inst = open(data_dir, &master, &name, opts)?;
            by_name.insert(name, Arc::new(inst));
        }
        let default = by_name
            .get(DEFAULT_INSTANCE)
            .cloned()
            .ok_or_else(|| InstanceError::NotFound(DEFAULT_INSTANCE.into()))?;
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            master,
            opts,
            default,
            snapshot: RwLock::new(Arc::new(Snapshot::build(by_name))),
        })
    }

    fn current(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => Arc::clone(&s),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The instance for a request's host; unknown or missing hosts get `default`.
    pub fn resolve(&self, host: Option<&str>) -> Arc<Instance> {
        host.map(host_from_header)
            .and_then(|h| self.current().by_host.get(&h).cloned())
            .unwrap_or_else(|| Arc::clone(&self.default))
    }

    pub fn get(&self, name: &str) -> Option<Arc<Instance>> {
        self.current().by_name.get(name).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Instance>> {
        self.current().by_name.values().cloned().collect()
    }

    /// Picks up instances created or removed by the local console while the server runs.
    /// Returns the names opened and closed.
    pub fn refresh(&self) -> Result<(Vec<String>, Vec<String>), InstanceError> {
        let names = list_names(&self.data_dir)?;
        let snap = self.current();
        let mut next = snap.by_name.clone();
        let mut opened = Vec::new();
        for name in &names {
            if !next.contains_key(name) {
                let inst = open(&self.data_dir, &self.master, name, self.opts)?;
                next.insert(name.clone(), Arc::new(inst));
                opened.push(name.clone());
            }
        }
        let closed: Vec<String> = next
            .keys()
            .filter(|n| !names.contains(n) && n.as_str() != DEFAULT_INSTANCE)
            .cloned()
            .collect();
        for n in &closed {
            next.remove(n);
        }
        if !opened.is_empty() || !closed.is_empty() {
            let built = Arc::new(Snapshot::build(next));
            match self.snapshot.write() {
                Ok(mut s) => *s = built,
                Err(poisoned) => *poisoned.into_inner() = built,
            }
        }
        Ok((opened, closed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_forms() {
        assert_eq!(host_from_header("Beta.Example:8443"), "beta.example");
        assert_eq!(host_from_header("beta.example."), "beta.example");
        assert_eq!(host_from_header("[::1]:8443"), "::1");
        assert_eq!(host_from_header("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn names_and_hostnames_are_checked() {
        assert!(validate_name("records-2").is_ok());
        for bad in ["", "Default", "1abc", "a/b", "..", "a_b"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert_eq!(normalise_hostname("Hub.Example.").unwrap(), "hub.example");
        assert!(normalise_hostname("bad host").is_err());
        assert!(normalise_hostname("-x.example").is_err());
    }

    #[test]
    fn key_files_are_bound_to_their_instance() {
        let dir = tempfile::tempdir().unwrap();
        let master = Key256::generate().unwrap();
        let clock = crate::clock::SystemClock;
        let opts = storage::Options::default();
        create(
            dir.path(),
            &master,
            "alpha",
            &["a.test".into()],
            None,
            opts,
            &clock,
        )
        .unwrap();
        create(
            dir.path(),
            &master,
            "beta",
            &["b.test".into()],
            None,
            opts,
            &clock,
        )
        .unwrap();
        let root = instances_dir(dir.path());
        std::fs::copy(
            root.join("alpha").join(KEY_FILE),
            root.join("beta").join(KEY_FILE),
        )
        .unwrap();
        let err = open(dir.path(), &master, "beta", opts).unwrap_err();
        assert!(matches!(err, InstanceError::KeyUnwrap(_)), "{err}");
        let taken = create(
            dir.path(),
            &master,
            "gamma",
            &["A.test".into()],
            None,
            opts,
            &clock,
        )
        .unwrap_err();
        assert!(matches!(taken, InstanceError::HostTaken { .. }), "{taken}");
    }
}
