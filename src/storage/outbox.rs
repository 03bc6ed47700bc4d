//! Table `mail_outbox`: durable queue of e-mail with retry bookkeeping.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::params;

#[derive(Debug, Clone, serde::Serialize)]
pub struct MailRow {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
    pub failed_at: Option<String>,
}

const COLUMNS: &str = "id, recipient, subject, body, created_at, attempts, next_attempt_at, last_error, sent_at, failed_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<MailRow> {
    Ok(MailRow {
        id: r.get(0)?,
        recipient: r.get(1)?,
        subject: r.get(2)?,
        body: r.get(3)?,
        created_at: r.get(4)?,
        attempts: r.get(5)?,
        next_attempt_at: r.get(6)?,
        last_error: r.get(7)?,
        sent_at: r.get(8)?,
        failed_at: r.get(9)?,
    })
}

pub fn enqueue(
    tx: &Transaction,
    to: &str,
    subject: &str,
    body: &str,
    now: &str,
) -> Result<i64, StorageError> {
    tx.execute(
        "INSERT INTO mail_outbox (recipient, subject, body, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![to, subject, body, now],
    )?;
    Ok(tx.last_insert_rowid())
}

pub fn due(conn: &Connection, now: &str, limit: usize) -> Result<Vec<MailRow>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM mail_outbox
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?1
         ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![now, limit as i64], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn recent(conn: &Connection, limit: usize) -> Result<Vec<MailRow>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM mail_outbox ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Sent messages keep their envelope for the admin, but not their body (it may hold a sign-in code).
pub fn mark_sent(tx: &Transaction, id: i64, now: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE mail_outbox SET sent_at = ?2, attempts = attempts + 1, last_error = NULL, body = '' WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

pub fn mark_retry(tx: &Transaction, id: i64, error: &str, next: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
        params![id, error, next],
    )?;
    Ok(())
}

pub fn mark_failed(tx: &Transaction, id: i64, error: &str, now: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?2, failed_at = ?3 WHERE id = ?1",
        params![id, error, now],
    )?;
    Ok(())
}

/// Messages that gave up, and messages still retrying after at least one failure.
pub fn problem_count(conn: &Connection) -> Result<(i64, i64), StorageError> {
    Ok(conn.query_row(
        "SELECT count(*) FILTER (WHERE failed_at IS NOT NULL),
                count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL AND attempts > 0)
         FROM mail_outbox",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}
