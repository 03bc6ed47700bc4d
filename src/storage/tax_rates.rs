//! The `tax_rates` table: the instance's named tax rates, one of them the default.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::params;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRateRow {
    pub name: String,
    /// Hundredths of a percent (2300 = 23 %).
    pub rate_bp: i64,
    pub is_default: bool,
}

/// Every rate in the admin's order.
pub fn list(conn: &Connection) -> Result<Vec<TaxRateRow>, StorageError> {
    let mut stmt = conn
        .prepare_cached("SELECT name, rate_bp, is_default FROM tax_rates ORDER BY position, id")?;
    let rows = stmt.query_map([], |r| {
        Ok(TaxRateRow {
            name: r.get(0)?,
            rate_bp: r.get(1)?,
            is_default: r.get::<_, i64>(2)? != 0,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Replaces the whole list (the admin page saves it as one). Lines keep their own copy of a rate,
/// so nothing refers to these rows.
pub fn replace(tx: &Transaction, rates: &[TaxRateRow]) -> Result<(), StorageError> {
    tx.execute("DELETE FROM tax_rates", [])?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO tax_rates (position, name, rate_bp, is_default) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (i, r) in rates.iter().enumerate() {
        stmt.execute(params![
            i as i64 + 1,
            r.name,
            r.rate_bp,
            r.is_default as i64
        ])?;
    }
    Ok(())
}
