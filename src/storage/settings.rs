//! The `settings` table: instance-wide key/value settings.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::{OptionalExtension, params};

/// The instance's default language (a locale code); the money settings page sets it, and pages
/// and mails fall back to it for people who picked none.
pub const DEFAULT_LOCALE: &str = "money.locale";

pub fn get(conn: &Connection, key: &str) -> Result<Option<String>, StorageError> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// When `key` was last set, if it ever was.
pub fn updated_at(conn: &Connection, key: &str) -> Result<Option<String>, StorageError> {
    Ok(conn
        .query_row(
            "SELECT updated_at FROM settings WHERE key = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn set(tx: &Transaction, key: &str, value: &str, now: &str) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![key, value, now],
    )?;
    Ok(())
}
