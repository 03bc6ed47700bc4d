//! A record's change history (field by field, for the card and restore) and its comments: rows
//! keyed by module and record id, written in the transaction of the change they describe.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::params;

#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryRow {
    pub change_id: i64,
    pub at: String,
    pub actor: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// One change to a record: every field it touches is a history row under the same change id,
/// time and author (restore undoes a change as a whole).
pub struct Change<'a> {
    module: &'a str,
    record_id: i64,
    id: i64,
    at: &'a str,
    actor: &'a str,
}

/// The next free history change id (bulk loaders start counting from it).
pub fn next_change_id(conn: &Connection) -> Result<i64, StorageError> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(change_id), 0) + 1 FROM record_history")?
        .query_row([], |r| r.get(0))?)
}

impl<'a> Change<'a> {
    /// Starts a change of record `record_id` of `module` with the next free change id.
    pub fn begin(
        tx: &Transaction,
        module: &'a str,
        record_id: i64,
        at: &'a str,
        actor: &'a str,
    ) -> Result<Self, StorageError> {
        Ok(Self::with_id(
            module,
            record_id,
            next_change_id(tx)?,
            at,
            actor,
        ))
    }

    /// A change whose id the caller allocated (bulk loaders number many changes at once).
    pub fn with_id(module: &'a str, record_id: i64, id: i64, at: &'a str, actor: &'a str) -> Self {
        Change {
            module,
            record_id,
            id,
            at,
            actor,
        }
    }

    /// The change id (the security log names it, so that a change can be found in the history).
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Records that `field` went from `old` to `new` in this change.
    pub fn field(
        &self,
        tx: &Transaction,
        field: &str,
        old: Option<&str>,
        new: Option<&str>,
    ) -> Result<(), StorageError> {
        tx.prepare_cached(
            "INSERT INTO record_history (module, record_id, change_id, at, actor, field, old_value, new_value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            self.module,
            self.record_id,
            self.id,
            self.at,
            self.actor,
            field,
            old,
            new
        ])?;
        Ok(())
    }
}

pub fn history(conn: &Connection, slug: &str, id: i64) -> Result<Vec<HistoryRow>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT change_id, at, actor, field, old_value, new_value FROM record_history
         WHERE module = ?1 AND record_id = ?2 ORDER BY change_id DESC, id",
    )?;
    let rows = stmt.query_map(params![slug, id], |r| {
        Ok(HistoryRow {
            change_id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            field: r.get(3)?,
            old_value: r.get(4)?,
            new_value: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CommentRow {
    pub id: i64,
    pub author: String,
    pub body: String,
    pub created_at: String,
}

pub fn add_comment(
    tx: &Transaction,
    slug: &str,
    id: i64,
    author: &str,
    body: &str,
    now: &str,
) -> Result<i64, StorageError> {
    tx.execute(
        "INSERT INTO comments (module, record_id, author, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![slug, id, author, body, now],
    )?;
    Ok(tx.last_insert_rowid())
}

pub fn comments(conn: &Connection, slug: &str, id: i64) -> Result<Vec<CommentRow>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, author, body, created_at FROM comments WHERE module = ?1 AND record_id = ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![slug, id], |r| {
        Ok(CommentRow {
            id: r.get(0)?,
            author: r.get(1)?,
            body: r.get(2)?,
            created_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
