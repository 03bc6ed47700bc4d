//! Tables `users`, `password_history`, `user_groups` (membership), `recovery_codes`.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::{OptionalExtension, params};

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub password_changed_at: String,
    pub must_change_password: bool,
    pub failed_attempts: i64,
    pub locked_at: Option<String>,
    pub disabled_at: Option<String>,
    pub second_factor: String,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_pending_secret: Option<Vec<u8>>,
    pub totp_last_step: Option<i64>,
    pub support_expires_at: Option<String>,
    pub support_networks: Option<String>,
    pub created_at: String,
    /// An admin reset the second factor: the next sign-in must enrol one.
    pub must_enrol: bool,
    pub last_signin_at: Option<String>,
    pub last_signin_source: Option<String>,
    pub enrolment_code_hash: Option<String>,
    pub enrolment_code_expires_at: Option<String>,
    /// The language code the person picked; `None` follows the instance's default.
    pub language: Option<String>,
}

const COLUMNS: &str = "id, username, email, password_hash, password_changed_at, must_change_password, \
failed_attempts, locked_at, disabled_at, second_factor, totp_secret, totp_pending_secret, totp_last_step, \
support_expires_at, support_networks, created_at, must_enrol, last_signin_at, last_signin_source, \
enrolment_code_hash, enrolment_code_expires_at, language";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        username: r.get(1)?,
        email: r.get(2)?,
        password_hash: r.get(3)?,
        password_changed_at: r.get(4)?,
        must_change_password: r.get::<_, i64>(5)? != 0,
        failed_attempts: r.get(6)?,
        locked_at: r.get(7)?,
        disabled_at: r.get(8)?,
        second_factor: r.get(9)?,
        totp_secret: r.get(10)?,
        totp_pending_secret: r.get(11)?,
        totp_last_step: r.get(12)?,
        support_expires_at: r.get(13)?,
        support_networks: r.get(14)?,
        created_at: r.get(15)?,
        must_enrol: r.get::<_, i64>(16)? != 0,
        last_signin_at: r.get(17)?,
        last_signin_source: r.get(18)?,
        enrolment_code_hash: r.get(19)?,
        enrolment_code_expires_at: r.get(20)?,
        language: r.get(21)?,
    })
}

pub fn by_name(conn: &Connection, username: &str) -> Result<Option<UserRow>, StorageError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM users WHERE username = ?1"),
            [username],
            from_row,
        )
        .optional()?)
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<UserRow>, StorageError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<UserRow>, StorageError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM users ORDER BY username"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub must_change_password: bool,
    pub support_expires_at: Option<&'a str>,
    pub support_networks: Option<&'a str>,
    pub now: &'a str,
}

pub fn insert(tx: &Transaction, u: &NewUser) -> Result<i64, StorageError> {
    tx.execute(
        "INSERT INTO users (username, email, password_hash, password_changed_at, must_change_password,
                            support_expires_at, support_networks, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?4)",
        params![
            u.username,
            u.email,
            u.password_hash,
            u.now,
            u.must_change_password as i64,
            u.support_expires_at,
            u.support_networks
        ],
    )?;
    let id = tx.last_insert_rowid();
    push_history(tx, id, u.password_hash, u.now)?;
    Ok(id)
}

pub fn set_failed_attempts(
    tx: &Transaction,
    id: i64,
    attempts: i64,
    locked_at: Option<&str>,
) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET failed_attempts = ?2, locked_at = coalesce(locked_at, ?3) WHERE id = ?1",
        params![id, attempts, locked_at],
    )?;
    Ok(())
}

pub fn unlock(tx: &Transaction, id: i64) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET failed_attempts = 0, locked_at = NULL WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

pub fn set_password(
    tx: &Transaction,
    id: i64,
    hash: &str,
    now: &str,
    must_change: bool,
) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET password_hash = ?2, password_changed_at = ?3, must_change_password = ?4 WHERE id = ?1",
        params![id, hash, now, must_change as i64],
    )?;
    push_history(tx, id, hash, now)
}

/// Records a completed sign-in: the time and address, and that the address is known for this user.
/// Returns whether the address was new for the user.
pub fn record_signin(
    tx: &Transaction,
    id: i64,
    source: &str,
    now: &str,
) -> Result<bool, StorageError> {
    tx.execute(
        "UPDATE users SET last_signin_at = ?2, last_signin_source = ?3 WHERE id = ?1",
        params![id, now, source],
    )?;
    let new = tx.execute(
        "INSERT OR IGNORE INTO signin_sources (user_id, source, first_at, last_at) VALUES (?1, ?2, ?3, ?3)",
        params![id, source, now],
    )? == 1;
    if !new {
        tx.execute(
            "UPDATE signin_sources SET last_at = ?3 WHERE user_id = ?1 AND source = ?2",
            params![id, source, now],
        )?;
    }
    Ok(new)
}

/// Whether the user ever completed a sign-in before (any address).
pub fn has_signed_in(conn: &Connection, id: i64) -> Result<bool, StorageError> {
    Ok(conn.query_row(
        "SELECT count(*) > 0 FROM signin_sources WHERE user_id = ?1",
        [id],
        |r| r.get(0),
    )?)
}

/// Sets or clears the flag that makes the next sign-in enrol a second factor.
pub fn set_must_enrol(tx: &Transaction, id: i64, must: bool) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET must_enrol = ?2 WHERE id = ?1",
        params![id, must as i64],
    )?;
    Ok(())
}

/// Stores (or with `None` clears) the hash of a one-time enrolment code and its expiry.
pub fn set_enrolment_code(
    tx: &Transaction,
    id: i64,
    code: Option<(&str, &str)>,
) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET enrolment_code_hash = ?2, enrolment_code_expires_at = ?3 WHERE id = ?1",
        params![id, code.map(|c| c.0), code.map(|c| c.1)],
    )?;
    Ok(())
}

/// Users who are enabled, not support accounts, and whose last sign-in (or creation, if they never
/// signed in) is before `cutoff`.
pub fn inactive_since(conn: &Connection, cutoff: &str) -> Result<Vec<UserRow>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM users
         WHERE disabled_at IS NULL AND support_expires_at IS NULL
           AND coalesce(last_signin_at, created_at) < ?1
         ORDER BY username"
    ))?;
    let rows = stmt.query_map([cutoff], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Replaces the stored hash with an upgraded one for the same password (parameters changed).
pub fn rehash(tx: &Transaction, id: i64, hash: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![id, hash],
    )?;
    Ok(())
}

fn push_history(tx: &Transaction, id: i64, hash: &str, now: &str) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO password_history (user_id, password_hash, created_at) VALUES (?1, ?2, ?3)",
        params![id, hash, now],
    )?;
    Ok(())
}

/// The user's last `n` password hashes, newest first.
pub fn recent_hashes(conn: &Connection, id: i64, n: u32) -> Result<Vec<String>, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT password_hash FROM password_history WHERE user_id = ?1 ORDER BY rowid DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![id, n], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn set_disabled(tx: &Transaction, id: i64, at: Option<&str>) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET disabled_at = ?2 WHERE id = ?1",
        params![id, at],
    )?;
    Ok(())
}

pub fn set_email(tx: &Transaction, id: i64, email: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET email = ?2 WHERE id = ?1",
        params![id, email],
    )?;
    Ok(())
}

pub fn set_language(tx: &Transaction, id: i64, code: Option<&str>) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET language = ?2 WHERE id = ?1",
        params![id, code],
    )?;
    Ok(())
}

pub fn set_second_factor(
    tx: &Transaction,
    id: i64,
    kind: &str,
    totp_secret: Option<&[u8]>,
) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET second_factor = ?2, totp_secret = ?3, totp_pending_secret = NULL, totp_last_step = NULL
         WHERE id = ?1",
        params![id, kind, totp_secret],
    )?;
    Ok(())
}

pub fn set_totp_pending(
    tx: &Transaction,
    id: i64,
    secret: Option<&[u8]>,
) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET totp_pending_secret = ?2 WHERE id = ?1",
        params![id, secret],
    )?;
    Ok(())
}

pub fn set_totp_last_step(tx: &Transaction, id: i64, step: i64) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET totp_last_step = ?2 WHERE id = ?1",
        params![id, step],
    )?;
    Ok(())
}

pub fn set_support(
    tx: &Transaction,
    id: i64,
    expires_at: Option<&str>,
) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE users SET support_expires_at = ?2 WHERE id = ?1",
        params![id, expires_at],
    )?;
    Ok(())
}

/// Permissions granted to the user through their groups.
pub fn permissions(conn: &Connection, id: i64) -> Result<Vec<String>, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT gp.permission FROM group_permissions gp
         JOIN user_groups ug ON ug.group_id = gp.group_id WHERE ug.user_id = ?1 ORDER BY 1",
    )?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn groups_of(conn: &Connection, id: i64) -> Result<Vec<String>, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT g.name FROM groups g JOIN user_groups ug ON ug.group_id = g.id
         WHERE ug.user_id = ?1 ORDER BY g.name",
    )?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Adds the user to the named group; `false` when no such group exists.
pub fn add_to_group(tx: &Transaction, id: i64, group: &str) -> Result<bool, StorageError> {
    let n = tx.execute(
        "INSERT OR IGNORE INTO user_groups (user_id, group_id) SELECT ?1, id FROM groups WHERE name = ?2",
        params![id, group],
    )?;
    let exists: bool = tx.query_row(
        "SELECT count(*) > 0 FROM groups WHERE name = ?1",
        [group],
        |r| r.get(0),
    )?;
    Ok(n > 0 || exists)
}

pub fn remove_from_group(tx: &Transaction, id: i64, group: &str) -> Result<(), StorageError> {
    tx.execute(
        "DELETE FROM user_groups WHERE user_id = ?1 AND group_id = (SELECT id FROM groups WHERE name = ?2)",
        params![id, group],
    )?;
    Ok(())
}

/// The addresses of every enabled administrator (a user holding `admin`, not a support account),
/// each with the language that administrator picked (`None`: the instance's default), so their notices are in it.
pub fn admin_readers(conn: &Connection) -> Result<Vec<(String, Option<String>)>, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT u.username, u.email, u.language FROM users u
         JOIN user_groups ug ON ug.user_id = u.id
         JOIN group_permissions gp ON gp.group_id = ug.group_id
         WHERE gp.permission = 'admin' AND u.disabled_at IS NULL AND u.support_expires_at IS NULL
         ORDER BY u.username",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Administrators who can sign in (enabled, not support accounts): what the last-administrator
/// rule protects.
pub fn count_enabled_admins(conn: &Connection) -> Result<i64, StorageError> {
    Ok(conn.query_row(
        "SELECT count(DISTINCT u.id) FROM users u
         JOIN user_groups ug ON ug.user_id = u.id
         JOIN group_permissions gp ON gp.group_id = ug.group_id
         WHERE gp.permission = 'admin' AND u.support_expires_at IS NULL AND u.disabled_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Accounts locked now (failed sign-ins or an administrator), for the monitoring endpoint.
pub fn count_locked(conn: &Connection) -> Result<i64, StorageError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM users WHERE locked_at IS NOT NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Administrators of any state (an instance with one needs no setup link).
pub fn count_admins(conn: &Connection) -> Result<i64, StorageError> {
    Ok(conn.query_row(
        "SELECT count(DISTINCT u.id) FROM users u
         JOIN user_groups ug ON ug.user_id = u.id
         JOIN group_permissions gp ON gp.group_id = ug.group_id
         WHERE gp.permission = 'admin' AND u.support_expires_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}

pub fn replace_recovery_codes(
    tx: &Transaction,
    id: i64,
    hashes: &[String],
) -> Result<(), StorageError> {
    tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [id])?;
    for h in hashes {
        tx.execute(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
            params![id, h],
        )?;
    }
    Ok(())
}

/// Unused recovery-code hashes with their row ids.
pub fn unused_recovery_codes(
    conn: &Connection,
    id: i64,
) -> Result<Vec<(i64, String)>, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT rowid, code_hash FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
    )?;
    let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn use_recovery_code(tx: &Transaction, rowid: i64, now: &str) -> Result<bool, StorageError> {
    Ok(tx.execute(
        "UPDATE recovery_codes SET used_at = ?2 WHERE rowid = ?1 AND used_at IS NULL",
        params![rowid, now],
    )? == 1)
}
