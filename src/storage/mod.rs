//! SQLCipher storage: opening with a raw key, connection pool (one writer, a few readers), migrations.
//! All SQL in holdfast lives under this module.

pub mod alerts;
pub mod audit;
pub mod dashboard;
pub mod documents;
pub mod egress;
mod engine;
pub mod feeds;
pub mod groups;
pub mod history;
pub mod invoice_document;
pub mod invoices;
pub mod journal;
mod migrations;
pub mod outbox;
pub mod records;
mod search;
pub mod sessions;
pub mod settings;
mod snapshot;
pub mod tax_rates;
pub mod tokens;
pub mod users;
mod value;
pub mod webhooks;
mod writer;

use crate::crypto::{Key256, Secret};
use rusqlite::{OpenFlags, TransactionBehavior};
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
    #[error("database copy failed: {0}")]
    Snapshot(String),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database worker stopped unexpectedly")]
    Worker,
    /// [`Database::close_writer`] closed the writer: the server is parking for an update.
    #[error("the database {path} is closed for writing (the server is stopping for an update)")]
    Closed { path: PathBuf },
    /// The closure succeeded, but the transaction it was batched into could not be committed.
    #[error("the change was not saved: {0}")]
    NotSaved(String),
}

impl StorageError {
    /// A change refused because other rows still refer to the row (a foreign key), so callers can
    /// say so without knowing the engine's error codes.
    pub fn is_foreign_key_violation(&self) -> bool {
        match self {
            StorageError::Sql(rusqlite::Error::SqliteFailure(f, msg)) => {
                f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
                    || (f.code == rusqlite::ErrorCode::ConstraintViolation
                        && msg.as_deref().is_some_and(|m| m.contains("FOREIGN KEY")))
            }
            _ => false,
        }
    }
}

impl StorageError {
    /// The same failure again, for each caller of a batch that it ended (errors are not `Clone`).
    fn again(&self) -> StorageError {
        match self {
            StorageError::Full => StorageError::Full,
            other => StorageError::NotSaved(other.to_string()),
        }
    }
}

/// Tunables that come from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub read_connections: usize,
    pub busy_timeout: Duration,
}

impl From<&crate::config::Config> for Options {
    fn from(config: &crate::config::Config) -> Self {
        Options {
            read_connections: config.read_connections,
            busy_timeout: Duration::from_millis(config.busy_timeout_ms),
        }
    }
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
    /// The one write connection: the writer thread's, and the console's (`write_blocking`).
    /// `None` once [`Database::close_writer`] closed it: no write can reach the file any more.
    writer: Arc<Mutex<Option<rusqlite::Connection>>>,
    /// The writer thread, which runs queued writes in batches; ended and joined when the database
    /// is dropped.
    batcher: writer::Writer,
    readers: Arc<Mutex<Vec<rusqlite::Connection>>>,
    read_gate: Semaphore,
}

pub use engine::{Connection, Transaction};
pub use snapshot::snapshot_to;
pub use value::Value;
pub use writer::{BATCH_BUCKETS, WriterFigures};

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
) -> Result<rusqlite::Connection, StorageError> {
    let open_err = |e: rusqlite::Error| StorageError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(open_err)?;
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
    // Lists build one statement per module, filter and sort; the default cache holds only 16.
    conn.set_prepared_statement_cache_capacity(128);
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

/// The schema version recorded in the database at `path`, read on a read-only connection: unlike
/// [`Database::open`], this migrates nothing. An update's console, once the update has switched
/// releases, is not the release that serves the data; it must not migrate that release's databases.
pub fn recorded_schema_version(
    path: &Path,
    key: &Key256,
    opts: Options,
) -> Result<i64, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = open_connection(path, key, flags, opts.busy_timeout)?;
    migrations::current_version(&conn)
}

fn map_sql(e: rusqlite::Error) -> StorageError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && f.code == rusqlite::ErrorCode::DiskFull
    {
        return StorageError::Full;
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
        let writer = Arc::new(Mutex::new(Some(writer)));
        let batcher = writer::Writer::start(Arc::clone(&writer), path)?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
            batcher,
            read_gate: Semaphore::new(readers.len()),
            readers: Arc::new(Mutex::new(readers)),
        })
    }

    /// Queued writes and batch sizes so far (read by the monitoring endpoint; no lock but the
    /// queue's, held for one length read).
    pub fn writer_figures(&self) -> WriterFigures {
        self.batcher.figures()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the database answers a query on a reader (the readiness probe).
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.read(|c| -> Result<(), StorageError> {
            c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
            Ok(())
        })
        .await
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

    /// Runs a bounded point lookup `f` (rows found by a unique key, such as the token or session
    /// behind a request) on the calling thread when a reader is free, else on the blocking pool as
    /// [`Database::read`] does. Every authenticated request makes one such lookup; sending it to
    /// the blocking pool and back costs two thread wake-ups, more than the lookup itself (see
    /// "Writes" in docs/PERFORMANCE.md). Never for scans, lists or anything that grows with the data.
    pub async fn lookup<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        match self.read_gate.try_acquire() {
            Ok(_permit) => with_reader(&self.readers, f),
            Err(_) => self.read(f).await,
        }
    }

    /// Runs `f` on the single writer, inside an IMMEDIATE transaction: its changes are kept when `f`
    /// succeeds and undone when it fails. Returns only once the changes are durable.
    ///
    /// Group commit: writes that queue up while the writer is busy run one after another in one
    /// transaction, each inside its own savepoint, and share one COMMIT (one WAL fsync). A failing
    /// `f` rolls back to its savepoint and so undoes only its own changes; every caller gets its own
    /// result, and only after the COMMIT has returned. If the COMMIT itself fails, every caller whose
    /// `f` succeeded gets that error instead. `f` sees the changes of the writes batched before it,
    /// exactly as if they had committed just before.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Transaction) -> Result<T, E> + Send + 'static,
    {
        self.on_writer(f, true).await
    }

    /// Runs `f` on the writer and always undoes its changes: a rehearsal (dry run) that sees exactly
    /// what a real write would, and leaves nothing behind.
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
        self.batcher.submit(f, commit).await
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
        with_writer(&self.writer, &self.path, f)
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
        self.read_blocking(|c| migrations::current_version(c.raw()))
    }

    /// Moves everything from the WAL into the main file; used before copying or closing.
    pub fn checkpoint(&self) -> Result<(), StorageError> {
        let conn = self.writer.lock().map_err(|_| StorageError::Worker)?;
        let conn = conn.as_ref().ok_or_else(|| StorageError::Closed {
            path: self.path.clone(),
        })?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(map_sql)
    }

    /// Closes the writer as soon as no write runs on it, waiting until `deadline` at most. Once it
    /// is closed every write through this handle fails with [`StorageError::Closed`] (readers are
    /// read-only connections), so nothing holding an `Arc` of it — a request still in flight, a
    /// blocking task the runtime could not end — can change the file any more: what a server
    /// parking for an update must know before it lets go of the data dir (`cli/serve.rs`).
    /// `false` when a write still ran at the deadline (and may still change the database).
    pub fn close_writer(&self, deadline: std::time::Instant) -> bool {
        loop {
            match self.writer.try_lock() {
                Ok(mut conn) => {
                    drop(conn.take());
                    return true;
                }
                // A write panicked while it held the writer; none runs now.
                Err(std::sync::TryLockError::Poisoned(p)) => {
                    drop(p.into_inner().take());
                    return true;
                }
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn with_reader<T, E: From<StorageError>>(
    readers: &Mutex<Vec<rusqlite::Connection>>,
    f: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, E> {
    let conn = readers
        .lock()
        .map_err(|_| StorageError::Worker)?
        .pop()
        .ok_or(StorageError::Worker)?;
    let result = f(&Connection::new(&conn));
    if let Ok(mut pool) = readers.lock() {
        pool.push(conn);
    }
    result
}

fn with_writer<T, E: From<StorageError>>(
    writer: &Mutex<Option<rusqlite::Connection>>,
    path: &Path,
    f: impl FnOnce(&Transaction) -> Result<T, E>,
) -> Result<T, E> {
    let mut conn = writer.lock().map_err(|_| StorageError::Worker)?;
    let conn = conn.as_mut().ok_or_else(|| StorageError::Closed {
        path: path.to_path_buf(),
    })?;
    let tx = rusqlite::Transaction::new(conn, TransactionBehavior::Immediate).map_err(map_sql)?;
    let handle = Transaction::new(&tx);
    // Its full-text entries, kept until its writes were done (`search::TextChange`), are written
    // before the COMMIT; a failure there fails the transaction like a failed closure.
    let value = f(&handle).and_then(|v| search::write_text(&handle).map(|()| v).map_err(E::from));
    drop(handle);
    match &value {
        Ok(_) => tx.commit().map_err(map_sql)?,
        // A failed closure: nothing it did stays.
        Err(_) => tx.rollback().map_err(map_sql)?,
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
    /// Opens a database with a one-column table for the group-commit tests.
    fn batch_db(dir: &Path) -> Arc<Database> {
        let key = Key256::generate().unwrap();
        let db = Database::open(&dir.join("db.sqlite"), &key, true, Options::default()).unwrap();
        db.write_blocking(|tx| -> Result<(), StorageError> {
            tx.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY) STRICT;")?;
            Ok(())
        })
        .unwrap();
        Arc::new(db)
    }

    fn committed(db: &Database) -> Vec<i64> {
        db.read_blocking(|c| -> Result<Vec<i64>, StorageError> {
            let mut stmt = c.prepare("SELECT x FROM t ORDER BY x")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_writer_refuses_queued_and_blocking_writes_and_keeps_what_was_committed() {
        let dir = tempfile::tempdir().unwrap();
        let db = batch_db(dir.path());
        db.write(|tx| -> Result<(), StorageError> {
            tx.execute("INSERT INTO t (x) VALUES (1)", [])?;
            Ok(())
        })
        .await
        .unwrap();
        assert!(db.close_writer(std::time::Instant::now()));
        let queued = db
            .write(|tx| -> Result<(), StorageError> {
                tx.execute("INSERT INTO t (x) VALUES (2)", [])?;
                Ok(())
            })
            .await;
        // A batch answers every caller with the batch's failure in its own words.
        assert!(queued.is_err(), "{queued:?}");
        let blocking = db.write_blocking(|tx| -> Result<(), StorageError> {
            tx.execute("INSERT INTO t (x) VALUES (3)", [])?;
            Ok(())
        });
        assert!(matches!(blocking, Err(StorageError::Closed { .. })));
        assert!(matches!(db.checkpoint(), Err(StorageError::Closed { .. })));
        // Closing twice is harmless; the readers still read.
        assert!(db.close_writer(std::time::Instant::now()));
        assert_eq!(committed(&db), vec![1]);
    }

    async fn until_queued(db: &Database, n: usize) {
        for _ in 0..2_000 {
            if db.batcher.queued() == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{n} writes never queued up");
    }

    /// The FTS5 segments of a full-text table (each has at least one row in its `_idx` table).
    fn segments(db: &Database, table: &str) -> i64 {
        db.read_blocking(|c| -> Result<i64, StorageError> {
            Ok(c.query_row(
                &format!("SELECT count(DISTINCT segid) FROM \"{table}_idx\""),
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_writes_one_full_text_segment_and_keeps_only_its_kept_writes_entries() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key256::generate().unwrap();
        let db = Arc::new(
            Database::open(
                &dir.path().join("db.sqlite"),
                &key,
                true,
                Options::default(),
            )
            .unwrap(),
        );
        let def = &crate::schema::CLIENTS;
        assert_eq!(segments(&db, "search_clients"), 0);
        // A first write holds the writer until the others have queued behind it.
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let db = Arc::clone(&db);
            async move {
                db.write(move |tx| -> Result<(), StorageError> {
                    started_tx.send(()).unwrap();
                    wait.recv().unwrap();
                    search::index(tx, def, 1, "Acme one", "first")
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || started.recv().unwrap())
            .await
            .unwrap();
        let mut queued = Vec::new();
        for id in 2..=12_i64 {
            queued.push(tokio::spawn({
                let db = Arc::clone(&db);
                async move {
                    db.write(move |tx| -> Result<(), StorageError> {
                        search::index(tx, def, id, &format!("Acme {id}"), "queued")?;
                        // A record indexed twice in its write keeps the last entry.
                        search::index(tx, def, id, &format!("Acme {id}"), "queued again")
                    })
                    .await
                }
            }));
            until_queued(&db, queued.len()).await;
        }
        // A write that fails after indexing, and a rehearsal: neither entry may stay.
        let failing = tokio::spawn({
            let db = Arc::clone(&db);
            async move {
                db.write(|tx| -> Result<(), StorageError> {
                    search::index(tx, def, 50, "Acme failing", "")?;
                    Err(StorageError::NotSaved("refused on purpose".into()))
                })
                .await
            }
        });
        until_queued(&db, queued.len() + 1).await;
        let rehearsal = tokio::spawn({
            let db = Arc::clone(&db);
            async move {
                db.rehearse(|tx| -> Result<(), StorageError> {
                    search::index(tx, def, 51, "Acme rehearsed", "")
                })
                .await
            }
        });
        until_queued(&db, queued.len() + 2).await;
        // A removal queued after its record's entry: the entry goes.
        let removal = tokio::spawn({
            let db = Arc::clone(&db);
            async move {
                db.write(|tx| -> Result<(), StorageError> { search::unindex(tx, def, 12) })
                    .await
            }
        });
        until_queued(&db, queued.len() + 3).await;
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        for q in queued {
            q.await.unwrap().unwrap();
        }
        assert!(failing.await.unwrap().is_err());
        rehearsal.await.unwrap().unwrap();
        removal.await.unwrap().unwrap();
        assert_eq!(
            db.writer_figures()
                .batches
                .iter()
                .map(|(_, n)| n)
                .sum::<u64>(),
            2
        );
        // One segment per batch. FTS5 writes a segment whenever a savepoint opens after it was
        // written to, and every write has its savepoint: had each write indexed at once, the second
        // batch alone would have made 11.
        assert_eq!(segments(&db, "search_clients"), 2);
        let found = db
            .read_blocking(|c| -> Result<Vec<(i64, String)>, StorageError> {
                let mut stmt = c.prepare(
                    "SELECT rowid, body FROM search_clients WHERE search_clients MATCH 'acme' ORDER BY rowid",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .unwrap();
        let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, (1..=11).collect::<Vec<_>>());
        assert!(
            found[1..].iter().all(|(_, b)| b == "queued again"),
            "{found:?}"
        );
        // A write on its own (not through the batch writer) writes its entries too.
        db.write_blocking(|tx| search::index(tx, def, 60, "Acme alone", ""))
            .unwrap();
        assert_eq!(segments(&db, "search_clients"), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_share_a_commit_and_each_keeps_its_own_result() {
        let dir = tempfile::tempdir().unwrap();
        let db = batch_db(dir.path());
        // A first write holds the writer until the others have queued behind it.
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let db = Arc::clone(&db);
            async move {
                db.write(move |tx| -> Result<i64, StorageError> {
                    started_tx.send(()).unwrap();
                    wait.recv().unwrap();
                    tx.execute("INSERT INTO t (x) VALUES (0)", [])?;
                    Ok(0)
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || started.recv().unwrap())
            .await
            .unwrap();

        let ok_one = tokio::spawn({
            let db = Arc::clone(&db);
            async move {
                db.write(|tx| -> Result<i64, StorageError> {
                    tx.execute("INSERT INTO t (x) VALUES (1)", [])?;
                    Ok(tx.last_insert_rowid())
                })
                .await
            }
        });
        until_queued(&db, 1).await;
        // Fails half-way, after a successful insert: only its own insert may be undone.
        let failing = tokio::spawn({
            let db = Arc::clone(&db);
            async move {
                db.write(|tx| -> Result<i64, StorageError> {
                    tx.execute("INSERT INTO t (x) VALUES (2)", [])?;
                    tx.execute("INSERT INTO t (x) VALUES (1)", [])?;
                    Ok(2)
                })
                .await
            }
        });
        until_queued(&db, 2).await;
        // Another result type in the same batch; it also looks at what a reader sees meanwhile.
        let reader_view = tokio::spawn({
            let db = Arc::clone(&db);
            async move {
                let inner = Arc::clone(&db);
                db.write(move |tx| -> Result<String, StorageError> {
                    tx.execute("INSERT INTO t (x) VALUES (3)", [])?;
                    let seen_here: i64 =
                        tx.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
                    Ok(format!("{seen_here} {:?}", committed(&inner)))
                })
                .await
            }
        });
        until_queued(&db, 3).await;
        let rehearsal = tokio::spawn({
            let db = Arc::clone(&db);
            async move {
                db.rehearse(|tx| -> Result<i64, StorageError> {
                    tx.execute("INSERT INTO t (x) VALUES (4)", [])?;
                    Ok(tx.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
                })
                .await
            }
        });
        until_queued(&db, 4).await;
        // A caller that gives up while its write is still queued: the write never happens.
        let abandoned = tokio::spawn({
            let db = Arc::clone(&db);
            async move {
                db.write(|tx| -> Result<(), StorageError> {
                    tx.execute("INSERT INTO t (x) VALUES (5)", [])?;
                    Ok(())
                })
                .await
            }
        });
        until_queued(&db, 5).await;
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());

        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 0);
        assert_eq!(ok_one.await.unwrap().unwrap(), 1);
        let err = failing.await.unwrap().unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
        // Inside the batch it sees rows 0, 1 and its own 3 (not the failed 2); a reader sees only
        // the first write's 0: 1 was not committed on its own but together with it, afterwards.
        assert_eq!(reader_view.await.unwrap().unwrap(), "3 [0]");
        assert_eq!(rehearsal.await.unwrap().unwrap(), 4);
        assert_eq!(committed(&db), vec![0, 1, 3]);
        assert_eq!(db.batcher.queued(), 0);

        // The writer goes on working after a batch with a failure in it.
        db.write(|tx| -> Result<(), StorageError> {
            tx.execute("INSERT INTO t (x) VALUES (6)", [])?;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(committed(&db), vec![0, 1, 3, 6]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_fails_alone_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = batch_db(dir.path());
        let err = db
            .write(|tx| -> Result<(), StorageError> {
                tx.execute("INSERT INTO t (x) VALUES (1)", [])?;
                panic!("a bug in a write closure");
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::Worker), "{err}");
        db.write(|tx| -> Result<(), StorageError> {
            tx.execute("INSERT INTO t (x) VALUES (2)", [])?;
            Ok(())
        })
        .await
        .unwrap();
        // Nothing of the panicked write stayed.
        assert_eq!(committed(&db), vec![2]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_last_handle_may_be_dropped_by_a_write_on_the_writer_thread() {
        let dir = tempfile::tempdir().unwrap();
        let db = batch_db(dir.path());
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (done_tx, done) = std::sync::mpsc::channel();
        let inner = Arc::clone(&db);
        let caller = tokio::spawn({
            let db = Arc::clone(&db);
            async move {
                db.write(move |tx| -> Result<(), StorageError> {
                    started_tx.send(()).unwrap();
                    wait.recv().unwrap();
                    tx.execute("INSERT INTO t (x) VALUES (1)", [])?;
                    // By now the last handle: dropping it here ends the database on its own
                    // writer thread, which must not wait for itself.
                    drop(inner);
                    done_tx.send(()).unwrap();
                    Ok(())
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || started.recv().unwrap())
            .await
            .unwrap();
        // The caller gives up (its handle goes), and so does everyone else but the closure.
        caller.abort();
        let _ = caller.await;
        let weak = Arc::downgrade(&db);
        drop(db);
        release.send(()).unwrap();
        tokio::task::spawn_blocking(move || done.recv_timeout(Duration::from_secs(30)))
            .await
            .unwrap()
            .expect("the closure finished after dropping the last handle");
        assert!(weak.upgrade().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_writers_all_get_their_own_answer() {
        let dir = tempfile::tempdir().unwrap();
        let db = batch_db(dir.path());
        let tasks: Vec<_> = (1..=200i64)
            .map(|i| {
                let db = Arc::clone(&db);
                tokio::spawn(async move {
                    db.write(move |tx| -> Result<i64, StorageError> {
                        tx.execute("INSERT INTO t (x) VALUES (?1)", [i])?;
                        if i % 7 == 0 {
                            // Every seventh fails after its insert.
                            tx.execute("INSERT INTO t (x) VALUES (?1)", [i])?;
                        }
                        Ok(i * 10)
                    })
                    .await
                })
            })
            .collect();
        for (i, t) in (1..=200i64).zip(tasks) {
            match t.await.unwrap() {
                Ok(v) => assert!(i % 7 != 0 && v == i * 10, "{i}: {v}"),
                Err(e) => assert!(i % 7 == 0, "{i}: {e}"),
            }
        }
        let want: Vec<i64> = (1..=200).filter(|i| i % 7 != 0).collect();
        assert_eq!(committed(&db), want);
        // Every queued write is counted once, in some batch; none waits any more.
        let figures = db.writer_figures();
        assert_eq!(figures.writes, 200);
        assert_eq!(figures.queued, 0);
        let batches: u64 = figures.batches.iter().map(|(_, n)| n).sum();
        assert!((4..=200).contains(&batches), "{figures:?}");
        // The writer's time is counted, COMMIT as a part of it (each COMMIT made an fsync).
        assert!(figures.commit_seconds > 0.0, "{figures:?}");
        assert!(
            figures.busy_seconds >= figures.commit_seconds,
            "{figures:?}"
        );
    }
}
