//! The `audit_log` table: append, read back in order, filtered queries. Rows are append-only (triggers).

use super::StorageError;
use super::Value;
use super::{Connection, Transaction};
use rusqlite::{params, params_from_iter};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub event: String,
    pub actor: String,
    pub actor_kind: String,
    pub target: String,
    pub source: String,
    pub outcome: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of the newest row, or `None` for an empty log.
pub fn last_hash(tx: &Transaction) -> Result<Option<String>, StorageError> {
    use rusqlite::OptionalExtension;
    Ok(tx
        .prepare_cached("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?)
}

/// The id and hash of the newest row (the chain head), or `None` for an empty log.
pub fn head(conn: &Connection) -> Result<Option<(i64, String)>, StorageError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The stored hash of row `id`, or `None` when there is no such row.
pub fn hash_of(conn: &Connection, id: i64) -> Result<Option<String>, StorageError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached("SELECT hash FROM audit_log WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

pub fn insert(tx: &Transaction, row: &AuditRow) -> Result<i64, StorageError> {
    tx.prepare_cached(
        "INSERT INTO audit_log (at, event, actor, actor_kind, target, source, outcome, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
            row.at,
            row.event,
            row.actor,
            row.actor_kind,
            row.target,
            row.source,
            row.outcome,
            row.details,
            row.prev_hash,
            row.hash
        ])?;
    Ok(tx.last_insert_rowid())
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: r.get(0)?,
        at: r.get(1)?,
        event: r.get(2)?,
        actor: r.get(3)?,
        actor_kind: r.get(4)?,
        target: r.get(5)?,
        source: r.get(6)?,
        outcome: r.get(7)?,
        details: r.get(8)?,
        prev_hash: r.get(9)?,
        hash: r.get(10)?,
    })
}

const COLUMNS: &str =
    "id, at, event, actor, actor_kind, target, source, outcome, details, prev_hash, hash";

/// Calls `f` for every row, oldest first (for chain verification).
pub fn for_each(
    conn: &Connection,
    mut f: impl FnMut(AuditRow) -> Result<(), StorageError>,
) -> Result<(), StorageError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM audit_log ORDER BY id"))?;
    let rows = stmt.query_map([], from_row)?;
    for row in rows {
        f(row?)?;
    }
    Ok(())
}

/// Calls `f` for up to `limit` rows with an id above `after`, oldest first (for forwarding).
pub fn for_each_after(
    conn: &Connection,
    after: i64,
    limit: usize,
    mut f: impl FnMut(AuditRow) -> Result<(), StorageError>,
) -> Result<(), StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after, limit as i64], from_row)?;
    for row in rows {
        f(row?)?;
    }
    Ok(())
}

/// The rows after `after` (up to `limit` of them) whose event is one of `events` or whose actor is
/// of `actor_kind`, oldest first, and the id of the last row in the range, matched or not (the
/// watch's next cursor). The other rows are skipped inside SQLite, never built.
pub fn matching_after(
    conn: &Connection,
    after: i64,
    limit: usize,
    events: &[&str],
    actor_kind: &str,
) -> Result<(Vec<AuditRow>, i64), StorageError> {
    let last: Option<i64> = conn
        .prepare_cached(
            "SELECT max(id) FROM (SELECT id FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2)",
        )?
        .query_row(params![after, limit as i64], |r| r.get(0))?;
    let Some(last) = last else {
        return Ok((Vec::new(), after));
    };
    let marks = vec!["?"; events.len()].join(", ");
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log WHERE id > ? AND id <= ? AND (event IN ({marks}) OR actor_kind = ?) ORDER BY id"
    );
    let mut args: Vec<Value> = vec![Value::Integer(after), Value::Integer(last)];
    args.extend(events.iter().map(|e| Value::Text(e.to_string())));
    args.push(Value::Text(actor_kind.to_string()));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args), from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, last))
}

/// Filters for reading the log; every field optional.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub events: Vec<String>,
    /// Matches the actor or the target.
    pub user: Option<String>,
    pub source: Option<String>,
    /// Only rows with an id below this (paging backwards from the newest).
    pub before_id: Option<i64>,
    pub limit: usize,
}

/// Newest first.
pub fn query(conn: &Connection, f: &Filter) -> Result<Vec<AuditRow>, StorageError> {
    let mut sql = format!("SELECT {COLUMNS} FROM audit_log WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if let Some(v) = &f.from {
        sql.push_str(" AND at >= ?");
        args.push(Value::Text(v.clone()));
    }
    if let Some(v) = &f.to {
        sql.push_str(" AND at < ?");
        args.push(Value::Text(v.clone()));
    }
    if !f.events.is_empty() {
        sql.push_str(" AND event IN (");
        sql.push_str(&vec!["?"; f.events.len()].join(", "));
        sql.push(')');
        args.extend(f.events.iter().cloned().map(Value::Text));
    }
    if let Some(v) = &f.user {
        sql.push_str(" AND (actor = ? COLLATE NOCASE OR target = ? COLLATE NOCASE)");
        args.push(Value::Text(v.clone()));
        args.push(Value::Text(v.clone()));
    }
    if let Some(v) = &f.source {
        sql.push_str(" AND source = ?");
        args.push(Value::Text(v.clone()));
    }
    if let Some(v) = f.before_id {
        sql.push_str(" AND id < ?");
        args.push(Value::Integer(v));
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    args.push(Value::Integer(f.limit.clamp(1, 10_000) as i64));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
