//! Table `api_tokens`: tokens of connected services, stored hashed.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::{OptionalExtension, params};

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
    /// The person the token acts for (`None`: made on the console).
    pub owner_user_id: Option<i64>,
    /// The owner's user name, when there is one.
    pub owner: Option<String>,
    /// Whether the owner can no longer sign in (disabled or locked): the token is refused.
    pub owner_blocked: bool,
    /// Comma-separated networks the token may be used from (`None`: anywhere).
    pub networks: Option<String>,
    /// The address of the last use recorded in the security log.
    #[serde(skip)]
    pub last_used_source: Option<String>,
}

const COLUMNS: &str = "t.id, t.service, t.token_hash, t.scopes, t.created_by, t.created_at, t.expires_at, \
t.revoked_at, t.last_used_at, t.owner_user_id, u.username, \
(u.id IS NOT NULL AND (u.disabled_at IS NOT NULL OR u.locked_at IS NOT NULL)), t.networks, \
t.last_used_source";
const FROM: &str = "api_tokens t LEFT JOIN users u ON u.id = t.owner_user_id";

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
        owner_user_id: r.get(9)?,
        owner: r.get(10)?,
        owner_blocked: r.get::<_, i64>(11)? != 0,
        networks: r.get(12)?,
        last_used_source: r.get(13)?,
    })
}

/// What a new token is.
pub struct NewToken<'a> {
    pub service: &'a str,
    pub token_hash: &'a str,
    pub scopes: &'a str,
    pub created_by: &'a str,
    pub now: &'a str,
    pub expires_at: Option<&'a str>,
    pub owner_user_id: Option<i64>,
    pub networks: Option<&'a str>,
}

pub fn insert(tx: &Transaction, t: &NewToken) -> Result<i64, StorageError> {
    tx.execute(
        "INSERT INTO api_tokens (service, token_hash, scopes, created_by, created_at, expires_at,
                                 owner_user_id, networks)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            t.service,
            t.token_hash,
            t.scopes,
            t.created_by,
            t.now,
            t.expires_at,
            t.owner_user_id,
            t.networks
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

pub fn by_hash(conn: &Connection, token_hash: &str) -> Result<Option<TokenRow>, StorageError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE t.token_hash = ?1"
        ))?
        .query_row([token_hash], from_row)
        .optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<TokenRow>, StorageError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM {FROM} ORDER BY t.id"))?;
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

pub fn touch(tx: &Transaction, id: i64, now: &str, source: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE api_tokens SET last_used_at = ?2, last_used_source = ?3 WHERE id = ?1",
        params![id, now, source],
    )?;
    Ok(())
}
