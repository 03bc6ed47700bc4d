//! Table `api_tokens`: tokens of connected services, stored hashed.

use super::StorageError;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub service: String,
    #[serde(skip)]
    pub token_hash: String,
    pub scopes: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

const COLUMNS: &str =
    "id, service, token_hash, scopes, created_by, created_at, expires_at, revoked_at, last_used_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0)?,
        service: r.get(1)?,
        token_hash: r.get(2)?,
        scopes: r.get(3)?,
        created_by: r.get(4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        revoked_at: r.get(7)?,
        last_used_at: r.get(8)?,
    })
}

pub fn insert(
    tx: &Transaction,
    service: &str,
    token_hash: &str,
    scopes: &str,
    created_by: &str,
    now: &str,
    expires_at: Option<&str>,
) -> Result<i64, StorageError> {
    tx.execute(
        "INSERT INTO api_tokens (service, token_hash, scopes, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![service, token_hash, scopes, created_by, now, expires_at],
    )?;
    Ok(tx.last_insert_rowid())
}

pub fn by_hash(conn: &Connection, token_hash: &str) -> Result<Option<TokenRow>, StorageError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = ?1"
        ))?
        .query_row([token_hash], from_row)
        .optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<TokenRow>, StorageError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY id"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn revoke(tx: &Transaction, id: i64, now: &str) -> Result<Option<String>, StorageError> {
    let service: Option<String> = tx
        .query_row(
            "SELECT service FROM api_tokens WHERE id = ?1 AND revoked_at IS NULL",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    tx.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now],
    )?;
    Ok(service)
}

pub fn touch(tx: &Transaction, id: i64, now: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}
