//! SQLCipher storage: opening with a raw key, connection pool (one writer, a few readers), migrations.
//! All SQL in holdfast lives under this module.

pub mod audit;
pub mod dashboard;
pub mod documents;
pub mod groups;
pub mod invoices;
mod migrations;
pub mod outbox;
pub mod records;
pub mod sessions;
pub mod settings;
pub mod tokens;
pub mod users;

use crate::crypto::{Key256, Secret};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

pub use migrations::LATEST_SCHEMA_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "the key does not open the database {path}: wrong key, or the file is not a holdfast database"
    )]
    WrongKey { path: PathBuf },
    #[error(
        "database {path} has schema version {found}, newer than this holdfast understands ({known}); install the newer holdfast"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database {path} cannot be opened: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("migration {version} ({name}) failed: {reason}")]
    Migration {
        version: i64,
        name: &'static str,
        reason: String,
    },
    #[error("the database is full or the disk is full")]
    Full,
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database worker stopped unexpectedly")]
    Worker,
}

/// Tunables that come from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub read_connections: usize,
    pub busy_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            read_connections: 2,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// An open instance database. Cheap to share behind an `Arc`.
pub struct Database {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    write_gate: Semaphore,
    readers: Arc<Mutex<Vec<Connection>>>,
    read_gate: Semaphore,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .finish()
    }
}

fn open_connection(
    path: &Path,
    key: &Key256,
    flags: OpenFlags,
    busy: Duration,
) -> Result<Connection, StorageError> {
    let open_err = |e: rusqlite::Error| StorageError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
    // SQLCipher would print its own decryption errors on stderr; holdfast reports them itself.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")
        .map_err(open_err)?;
    // The raw-key form skips SQLCipher's per-open key derivation: the key is already random.
    let pragma = Secret::new(format!("PRAGMA key = \"x'{}'\";", key.to_hex().expose()));
    conn.execute_batch(pragma.expose()).map_err(open_err)?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            return Err(StorageError::WrongKey {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(open_err(e)),
    }
    conn.busy_timeout(busy).map_err(open_err)?;
    // temp_store=MEMORY keeps sort and index scratch data off the disk, where it would be plaintext.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;",
    )
    .map_err(open_err)?;
    Ok(conn)
}

fn map_sql(e: rusqlite::Error) -> StorageError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == rusqlite::ErrorCode::DiskFull {
            return StorageError::Full;
        }
    }
    StorageError::Sql(e)
}

impl Database {
    /// Opens (creating when `create` is set) the database at `path` and applies pending migrations.
    pub fn open(
        path: &Path,
        key: &Key256,
        create: bool,
        opts: Options,
    ) -> Result<Self, StorageError> {
        if !create && !path.exists() {
            return Err(StorageError::Open {
                path: path.to_path_buf(),
                reason: "no such file".into(),
            });
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let mut writer = open_connection(path, key, flags, opts.busy_timeout)?;
        migrations::apply(&mut writer, path)?;
        let read_flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let readers = (0..opts.read_connections.max(1))
            .map(|_| open_connection(path, key, read_flags, opts.busy_timeout))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Arc::new(Mutex::new(writer)),
            write_gate: Semaphore::new(1),
            read_gate: Semaphore::new(readers.len()),
            readers: Arc::new(Mutex::new(readers)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a read-only connection on the blocking pool. `f` may fail with any error type
    /// that a storage error converts into, so domain errors cross unchanged.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let _permit = self
            .read_gate
            .acquire()
            .await
            .map_err(|_| StorageError::Worker)?;
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || with_reader(&readers, f))
            .await
            .map_err(|_| StorageError::Worker)?
    }

    /// Runs `f` inside one IMMEDIATE transaction on the single writer; commits when `f` succeeds and
    /// rolls back when it fails.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Transaction) -> Result<T, E> + Send + 'static,
    {
        self.on_writer(f, true).await
    }

    /// Runs `f` in a transaction on the writer and always rolls it back: a rehearsal (dry run) that
    /// sees exactly what a real write would, and leaves nothing behind.
    pub async fn rehearse<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Transaction) -> Result<T, E> + Send + 'static,
    {
        self.on_writer(f, false).await
    }

    async fn on_writer<T, E, F>(&self, f: F, commit: bool) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Transaction) -> Result<T, E> + Send + 'static,
    {
        let _permit = self
            .write_gate
            .acquire()
            .await
            .map_err(|_| StorageError::Worker)?;
        let writer = Arc::clone(&self.writer);
        tokio::task::spawn_blocking(move || with_writer_mode(&writer, f, commit))
            .await
            .map_err(|_| StorageError::Worker)?
    }

    /// For the local console, which has no async runtime.
    pub fn read_blocking<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        with_reader(&self.readers, f)
    }

    pub fn write_blocking<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&Transaction) -> Result<T, E>,
    ) -> Result<T, E> {
        with_writer(&self.writer, f)
    }

    /// `PRAGMA integrity_check` plus SQLCipher's page-level HMAC check; returns the problems found.
    pub fn integrity_problems(&self) -> Result<Vec<String>, StorageError> {
        self.write_blocking(|tx| -> Result<_, StorageError> {
            let mut problems = Vec::new();
            let mut stmt = tx.prepare("PRAGMA integrity_check")?;
            for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
                let row = row?;
                if row != "ok" {
                    problems.push(row);
                }
            }
            let mut stmt = tx.prepare("PRAGMA cipher_integrity_check")?;
            for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
                problems.push(row?);
            }
            Ok(problems)
        })
    }

    pub fn schema_version(&self) -> Result<i64, StorageError> {
        self.read_blocking(migrations::current_version)
    }

    /// Moves everything from the WAL into the main file; used before copying or closing.
    pub fn checkpoint(&self) -> Result<(), StorageError> {
        let conn = self.writer.lock().map_err(|_| StorageError::Worker)?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(map_sql)
    }
}

fn with_reader<T, E: From<StorageError>>(
    readers: &Mutex<Vec<Connection>>,
    f: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, E> {
    let conn = readers
        .lock()
        .map_err(|_| StorageError::Worker)?
        .pop()
        .ok_or(StorageError::Worker)?;
    let result = f(&conn);
    if let Ok(mut pool) = readers.lock() {
        pool.push(conn);
    }
    result
}

fn with_writer<T, E: From<StorageError>>(
    writer: &Mutex<Connection>,
    f: impl FnOnce(&Transaction) -> Result<T, E>,
) -> Result<T, E> {
    with_writer_mode(writer, f, true)
}

fn with_writer_mode<T, E: From<StorageError>>(
    writer: &Mutex<Connection>,
    f: impl FnOnce(&Transaction) -> Result<T, E>,
    commit: bool,
) -> Result<T, E> {
    let mut conn = writer.lock().map_err(|_| StorageError::Worker)?;
    let tx = Transaction::new(&mut conn, TransactionBehavior::Immediate).map_err(map_sql)?;
    let value = f(&tx);
    match (&value, commit) {
        (Ok(_), true) => tx.commit().map_err(map_sql)?,
        // A failed closure or a rehearsal: nothing it did stays.
        _ => tx.rollback().map_err(map_sql)?,
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_key_is_reported_and_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let key = Key256::generate().unwrap();
        let db = Database::open(&path, &key, true, Options::default()).unwrap();
        db.write_blocking(|tx| settings::set(tx, "title", "Alpha", "2026-01-01T00:00:00Z"))
            .unwrap();
        db.checkpoint().unwrap();
        drop(db);
        let before = std::fs::read(&path).unwrap();
        let other = Key256::generate().unwrap();
        let err = Database::open(&path, &other, false, Options::default()).unwrap_err();
        assert!(matches!(err, StorageError::WrongKey { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert!(!before.starts_with(b"SQLite format 3"));
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let key = Key256::generate().unwrap();
        let db = Database::open(&path, &key, true, Options::default()).unwrap();
        db.write_blocking(|tx| -> Result<(), StorageError> {
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 'x')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        drop(db);
        let err = Database::open(&path, &key, false, Options::default()).unwrap_err();
        assert!(
            matches!(err, StorageError::NewerSchema { found: 9999, .. }),
            "{err}"
        );
    }
}
