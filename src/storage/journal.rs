//! The accounting journal's account mapping (`journal_accounts`) and the issued invoices of a
//! period it posts.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::params;

/// Every (role, account) pair, by role.
pub fn accounts(conn: &Connection) -> Result<Vec<(String, String)>, StorageError> {
    let mut stmt =
        conn.prepare_cached("SELECT role, account FROM journal_accounts ORDER BY role")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Replaces the whole mapping (the admin page saves it as one).
pub fn replace_accounts(tx: &Transaction, rows: &[(String, String)]) -> Result<(), StorageError> {
    tx.execute("DELETE FROM journal_accounts", [])?;
    let mut stmt =
        tx.prepare_cached("INSERT INTO journal_accounts (role, account) VALUES (?1, ?2)")?;
    for (role, account) in rows {
        stmt.execute(params![role, account])?;
    }
    Ok(())
}

/// An invoice the journal posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalInvoice {
    pub id: i64,
    pub number: String,
    pub issue_date: String,
    pub currency: String,
    pub client_id: i64,
    pub total: i64,
}

/// Issued and paid invoices whose issue date lies in `from..=to` (ISO dates), by date and number.
/// Drafts were never issued; void invoices are left out (their reversal is the accountant's).
pub fn invoices(
    conn: &Connection,
    from: &str,
    to: &str,
) -> Result<Vec<JournalInvoice>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, number, issue_date, currency, client_id, total FROM invoices
         WHERE status IN ('issued', 'paid') AND number IS NOT NULL
           AND issue_date >= ?1 AND issue_date <= ?2
         ORDER BY issue_date, number",
    )?;
    let rows = stmt.query_map([from, to], |r| {
        Ok(JournalInvoice {
            id: r.get(0)?,
            number: r.get(1)?,
            issue_date: r.get(2)?,
            currency: r.get(3)?,
            client_id: r.get(4)?,
            total: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
