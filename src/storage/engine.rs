//! The handles a `Database::read` / `write` closure gets: storage's own types, opaque above storage.
//!
//! Code above storage can hold a `Connection` or `Transaction` and pass it back to storage
//! functions, but cannot run SQL on it or see which engine is underneath: the methods that reach
//! the engine are visible inside `storage` only. A second engine changes this file and the SQL
//! files beside it, never their callers.

use super::search::TextChange;
use rusqlite::{CachedStatement, Params, Row, Statement};
use std::cell::RefCell;

/// A read view of one instance database (a pooled reader, or the writer inside a transaction).
pub struct Connection<'c> {
    raw: &'c rusqlite::Connection,
}

/// The write transaction a `Database::write` closure runs in. Everything a `Connection` reads, a
/// `Transaction` reads too, including its own uncommitted changes, except its full-text entries:
/// those are kept aside and written just before the transaction commits (`search::TextChange`).
pub struct Transaction<'c> {
    conn: Connection<'c>,
    text: RefCell<Vec<TextChange>>,
}

impl<'c> Connection<'c> {
    pub(in crate::storage) fn new(raw: &'c rusqlite::Connection) -> Self {
        Self { raw }
    }

    /// For storage's own plumbing (migrations, integrity checks) that works on the engine itself.
    pub(in crate::storage) fn raw(&self) -> &'c rusqlite::Connection {
        self.raw
    }

    pub(in crate::storage) fn execute<P: Params>(
        &self,
        sql: &str,
        params: P,
    ) -> rusqlite::Result<usize> {
        self.raw.execute(sql, params)
    }

    #[cfg(test)]
    pub(in crate::storage) fn execute_batch(&self, sql: &str) -> rusqlite::Result<()> {
        self.raw.execute_batch(sql)
    }

    pub(in crate::storage) fn prepare(&self, sql: &str) -> rusqlite::Result<Statement<'c>> {
        self.raw.prepare(sql)
    }

    pub(in crate::storage) fn prepare_cached(
        &self,
        sql: &str,
    ) -> rusqlite::Result<CachedStatement<'c>> {
        self.raw.prepare_cached(sql)
    }

    pub(in crate::storage) fn query_row<T, P, F>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    {
        self.raw.query_row(sql, params, f)
    }

    pub(in crate::storage) fn last_insert_rowid(&self) -> i64 {
        self.raw.last_insert_rowid()
    }
}

impl Connection<'_> {
    /// The database's size in bytes as it will be once checkpointed (the WAL counts already).
    pub fn size_bytes(&self) -> Result<u64, super::StorageError> {
        let bytes: i64 = self.raw.query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    /// Gives this connection a page cache of `mib` MiB for one large bulk load (fixture
    /// generators); SQLite's default of 8 MiB spills a big transaction to the file. The setting
    /// stays with the connection, so the server itself never calls it.
    pub fn widen_cache_for_bulk_load(&self, mib: u32) -> Result<(), super::StorageError> {
        let kib = i64::from(mib) * 1024;
        self.raw
            .execute_batch(&format!("PRAGMA cache_size = -{kib};"))?;
        Ok(())
    }
}

#[cfg(test)]
impl Connection<'_> {
    /// For unit tests above storage that play someone with the raw key editing the file by hand.
    pub(crate) fn raw_sql_as_attacker(&self, sql: &str) -> Result<(), super::StorageError> {
        self.raw
            .execute_batch(sql)
            .map_err(super::StorageError::Sql)
    }
}

impl<'c> Transaction<'c> {
    /// `raw` must be inside a transaction the caller commits or rolls back.
    pub(in crate::storage) fn new(raw: &'c rusqlite::Connection) -> Self {
        Self {
            conn: Connection::new(raw),
            text: RefCell::new(Vec::new()),
        }
    }

    /// Keeps a full-text change until the transaction's writes are done.
    pub(in crate::storage) fn defer_text(&self, change: TextChange) {
        self.text.borrow_mut().push(change);
    }

    /// How many full-text changes are kept so far (a write's savepoint starts here).
    pub(in crate::storage) fn text_mark(&self) -> usize {
        self.text.borrow().len()
    }

    /// Forgets the full-text changes kept after `mark` (their write was undone).
    pub(in crate::storage) fn forget_text_after(&self, mark: usize) {
        self.text.borrow_mut().truncate(mark);
    }

    /// Takes the kept full-text changes, oldest first, to be written.
    pub(in crate::storage) fn take_text(&self) -> Vec<TextChange> {
        std::mem::take(&mut *self.text.borrow_mut())
    }
}

impl<'c> std::ops::Deref for Transaction<'c> {
    type Target = Connection<'c>;

    fn deref(&self) -> &Connection<'c> {
        &self.conn
    }
}
