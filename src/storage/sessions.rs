//! Tables `sessions` (signed-in and half-signed-in browsers and scripts) and `setup_tokens`.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::{OptionalExtension, params};

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id_hash: String,
    pub user_id: i64,
    pub stage: String,
    pub csrf_token: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub absolute_expires_at: String,
    pub source: String,
    pub code_hash: Option<String>,
    pub code_expires_at: Option<String>,
    pub code_attempts: i64,
    pub revoked_at: Option<String>,
    /// The address of the latest request.
    pub last_source: String,
    /// The browser's User-Agent, cut to 200 characters.
    pub user_agent: String,
    /// The sign-in before this one, and the failed attempts since it: told once signed in.
    pub prior_signin_at: Option<String>,
    pub prior_signin_source: Option<String>,
    pub failures_since: i64,
    /// When password and factor were last proved again inside this session.
    pub reauth_at: Option<String>,
}

const COLUMNS: &str = "id_hash, user_id, stage, csrf_token, created_at, last_seen_at, absolute_expires_at, \
source, code_hash, code_expires_at, code_attempts, revoked_at, last_source, user_agent, prior_signin_at, \
prior_signin_source, failures_since, reauth_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id_hash: r.get(0)?,
        user_id: r.get(1)?,
        stage: r.get(2)?,
        csrf_token: r.get(3)?,
        created_at: r.get(4)?,
        last_seen_at: r.get(5)?,
        absolute_expires_at: r.get(6)?,
        source: r.get(7)?,
        code_hash: r.get(8)?,
        code_expires_at: r.get(9)?,
        code_attempts: r.get(10)?,
        revoked_at: r.get(11)?,
        last_source: r.get(12)?,
        user_agent: r.get(13)?,
        prior_signin_at: r.get(14)?,
        prior_signin_source: r.get(15)?,
        failures_since: r.get(16)?,
        reauth_at: r.get(17)?,
    })
}

pub fn insert(tx: &Transaction, s: &SessionRow) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO sessions (id_hash, user_id, stage, csrf_token, created_at, last_seen_at,
                               absolute_expires_at, source, last_source, user_agent, prior_signin_at,
                               prior_signin_source, failures_since, reauth_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            s.id_hash,
            s.user_id,
            s.stage,
            s.csrf_token,
            s.created_at,
            s.last_seen_at,
            s.absolute_expires_at,
            s.source,
            s.user_agent,
            s.prior_signin_at,
            s.prior_signin_source,
            s.failures_since,
            s.reauth_at,
        ],
    )?;
    Ok(())
}

pub fn by_hash(conn: &Connection, id_hash: &str) -> Result<Option<SessionRow>, StorageError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM sessions WHERE id_hash = ?1"),
            [id_hash],
            from_row,
        )
        .optional()?)
}

/// A user's sessions that are neither revoked nor past `now` (idle ones included: the caller
/// knows the idle limit), newest first.
pub fn live_for_user(
    conn: &Connection,
    user_id: i64,
    now: &str,
) -> Result<Vec<SessionRow>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM sessions
         WHERE user_id = ?1 AND revoked_at IS NULL AND absolute_expires_at > ?2
         ORDER BY created_at DESC"
    ))?;
    let rows = stmt.query_map(params![user_id, now], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Revokes the user's live session whose id hash starts with `handle` (the 16 characters shown
/// to the person); `false` when there is none.
pub fn revoke_by_handle(
    tx: &Transaction,
    user_id: i64,
    handle: &str,
    now: &str,
) -> Result<bool, StorageError> {
    if handle.len() != 16 || !handle.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    Ok(tx.execute(
        "UPDATE sessions SET revoked_at = ?3
         WHERE user_id = ?1 AND substr(id_hash, 1, 16) = ?2 AND revoked_at IS NULL",
        params![user_id, handle.to_ascii_lowercase(), now],
    )? >= 1)
}

/// Revokes every live session of the instance; returns how many.
pub fn revoke_everyone(
    tx: &Transaction,
    keep: Option<&str>,
    now: &str,
) -> Result<usize, StorageError> {
    Ok(tx.execute(
        "UPDATE sessions SET revoked_at = ?2 WHERE revoked_at IS NULL AND id_hash IS NOT ?1",
        params![keep, now],
    )?)
}

/// Records that the session's holder proved password and factor again.
pub fn set_reauth(tx: &Transaction, id_hash: &str, now: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE sessions SET reauth_at = ?2, code_hash = NULL, code_expires_at = NULL WHERE id_hash = ?1",
        params![id_hash, now],
    )?;
    Ok(())
}

pub fn touch(tx: &Transaction, id_hash: &str, now: &str, source: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE sessions SET last_seen_at = ?2, last_source = ?3 WHERE id_hash = ?1",
        params![id_hash, now, source],
    )?;
    Ok(())
}

pub fn set_code(
    tx: &Transaction,
    id_hash: &str,
    code_hash: &str,
    expires_at: &str,
) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE sessions SET code_hash = ?2, code_expires_at = ?3, code_attempts = 0 WHERE id_hash = ?1",
        params![id_hash, code_hash, expires_at],
    )?;
    Ok(())
}

pub fn count_code_attempt(tx: &Transaction, id_hash: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE sessions SET code_attempts = code_attempts + 1 WHERE id_hash = ?1",
        [id_hash],
    )?;
    Ok(())
}

pub fn revoke(tx: &Transaction, id_hash: &str, now: &str) -> Result<bool, StorageError> {
    Ok(tx.execute(
        "UPDATE sessions SET revoked_at = ?2 WHERE id_hash = ?1 AND revoked_at IS NULL",
        params![id_hash, now],
    )? == 1)
}

/// Revokes every live session of a user (optionally keeping one); returns how many.
pub fn revoke_all_for_user(
    tx: &Transaction,
    user_id: i64,
    keep: Option<&str>,
    now: &str,
) -> Result<usize, StorageError> {
    Ok(tx.execute(
        "UPDATE sessions SET revoked_at = ?3
         WHERE user_id = ?1 AND revoked_at IS NULL AND id_hash IS NOT ?2",
        params![user_id, keep, now],
    )?)
}

/// Drops sessions that ended before `cutoff`: revoked, past their absolute limit, or idle since
/// before `idle_cutoff`.
pub fn purge(tx: &Transaction, cutoff: &str, idle_cutoff: &str) -> Result<usize, StorageError> {
    Ok(tx.execute(
        "DELETE FROM sessions WHERE absolute_expires_at < ?1 OR revoked_at < ?1 OR last_seen_at < ?2",
        params![cutoff, idle_cutoff],
    )?)
}

/// Sessions stored, live or not (for the purge test and the doctor).
pub fn count(conn: &Connection) -> Result<i64, StorageError> {
    Ok(conn.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))?)
}

pub fn insert_setup_token(
    tx: &Transaction,
    token_hash: &str,
    now: &str,
    expires_at: &str,
) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?1, ?2, ?3)",
        params![token_hash, now, expires_at],
    )?;
    Ok(())
}

/// Marks a setup token used if it exists, is unused and not expired; `true` when it was.
pub fn consume_setup_token(
    tx: &Transaction,
    token_hash: &str,
    now: &str,
) -> Result<bool, StorageError> {
    Ok(tx.execute(
        "UPDATE setup_tokens SET used_at = ?2
         WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
        params![token_hash, now],
    )? == 1)
}

pub fn setup_token_valid(
    conn: &Connection,
    token_hash: &str,
    now: &str,
) -> Result<bool, StorageError> {
    Ok(conn.query_row(
        "SELECT count(*) > 0 FROM setup_tokens WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
        params![token_hash, now],
        |r| r.get(0),
    )?)
}
