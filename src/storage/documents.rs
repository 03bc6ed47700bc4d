//! Table `document_versions` (the `documents` rows themselves are generic records).

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::{OptionalExtension, params};

#[derive(Debug, Clone, serde::Serialize)]
pub struct VersionRow {
    pub id: i64,
    pub document_id: i64,
    pub version: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    #[serde(skip)]
    pub storage_name: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<VersionRow> {
    Ok(VersionRow {
        id: r.get(0)?,
        document_id: r.get(1)?,
        version: r.get(2)?,
        filename: r.get(3)?,
        content_type: r.get(4)?,
        size: r.get(5)?,
        sha256: r.get(6)?,
        storage_name: r.get(7)?,
        uploaded_by: r.get(8)?,
        uploaded_at: r.get(9)?,
    })
}

const COLUMNS: &str = "id, document_id, version, filename, content_type, size, sha256, storage_name, uploaded_by, uploaded_at";

pub fn versions(conn: &Connection, document: i64) -> Result<Vec<VersionRow>, StorageError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM document_versions WHERE document_id = ?1 ORDER BY version DESC"
    ))?;
    let rows = stmt.query_map([document], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn version(
    conn: &Connection,
    document: i64,
    version: i64,
) -> Result<Option<VersionRow>, StorageError> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM document_versions WHERE document_id = ?1 AND version = ?2"
            ),
            params![document, version],
            from_row,
        )
        .optional()?)
}

pub struct NewVersion<'a> {
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub storage_name: &'a str,
    pub uploaded_by: &'a str,
    pub now: &'a str,
}

/// Adds the next version and makes it current; returns its number.
pub fn add_version(tx: &Transaction, document: i64, v: &NewVersion) -> Result<i64, StorageError> {
    let next: i64 = tx.query_row(
        "SELECT coalesce(max(version), 0) + 1 FROM document_versions WHERE document_id = ?1",
        [document],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO document_versions (document_id, version, filename, content_type, size, sha256, storage_name, uploaded_by, uploaded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![document, next, v.filename, v.content_type, v.size, v.sha256, v.storage_name, v.uploaded_by, v.now],
    )?;
    tx.execute(
        "UPDATE documents SET current_version = ?2, updated_at = ?3, version = version + 1 WHERE id = ?1",
        params![document, next, v.now],
    )?;
    Ok(next)
}

/// Every stored file name (for backups and for removing a deleted document's files).
pub fn storage_names(
    conn: &Connection,
    document: Option<i64>,
) -> Result<Vec<String>, StorageError> {
    let (sql, arg) = match document {
        Some(d) => (
            "SELECT storage_name FROM document_versions WHERE document_id = ?1",
            d,
        ),
        None => (
            "SELECT storage_name FROM document_versions WHERE ?1 = ?1",
            0,
        ),
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([arg], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
