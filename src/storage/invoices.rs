//! Invoice lines, totals, the gap-free number sequence, and billing of time entries.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::{OptionalExtension, params};

#[derive(Debug, Clone, serde::Serialize)]
pub struct LineRow {
    pub id: i64,
    pub position: i64,
    pub description: String,
    pub quantity_milli: i64,
    pub unit_price: i64,
    pub tax_rate_bp: i64,
    pub net: i64,
    pub tax: i64,
}

pub fn lines(conn: &Connection, invoice: i64) -> Result<Vec<LineRow>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, position, description, quantity_milli, unit_price, tax_rate_bp, net, tax
         FROM invoice_lines WHERE invoice_id = ?1 ORDER BY position, id",
    )?;
    let rows = stmt.query_map([invoice], |r| {
        Ok(LineRow {
            id: r.get(0)?,
            position: r.get(1)?,
            description: r.get(2)?,
            quantity_milli: r.get(3)?,
            unit_price: r.get(4)?,
            tax_rate_bp: r.get(5)?,
            net: r.get(6)?,
            tax: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub struct NewLine<'a> {
    pub description: &'a str,
    pub quantity_milli: i64,
    pub unit_price: i64,
    pub tax_rate_bp: i64,
    pub net: i64,
    pub tax: i64,
}

pub fn add_line(tx: &Transaction, invoice: i64, l: &NewLine) -> Result<i64, StorageError> {
    tx.execute(
        "INSERT INTO invoice_lines (invoice_id, position, description, quantity_milli, unit_price, tax_rate_bp, net, tax)
         VALUES (?1, (SELECT coalesce(max(position), 0) + 1 FROM invoice_lines WHERE invoice_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7)",
        params![invoice, l.description, l.quantity_milli, l.unit_price, l.tax_rate_bp, l.net, l.tax],
    )?;
    Ok(tx.last_insert_rowid())
}

pub fn remove_line(tx: &Transaction, invoice: i64, line: i64) -> Result<bool, StorageError> {
    Ok(tx.execute(
        "DELETE FROM invoice_lines WHERE id = ?1 AND invoice_id = ?2",
        params![line, invoice],
    )? == 1)
}

/// Recomputes the stored totals from the lines.
pub fn refresh_totals(tx: &Transaction, invoice: i64, now: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE invoices SET
            subtotal = (SELECT coalesce(sum(net), 0) FROM invoice_lines WHERE invoice_id = ?1),
            tax_total = (SELECT coalesce(sum(tax), 0) FROM invoice_lines WHERE invoice_id = ?1),
            total = (SELECT coalesce(sum(net + tax), 0) FROM invoice_lines WHERE invoice_id = ?1),
            updated_at = ?2, version = version + 1
         WHERE id = ?1",
        params![invoice, now],
    )?;
    Ok(())
}

/// Takes the next number of `year` (1, 2, 3, … with no gaps: it is only ever taken inside the
/// transaction that issues the invoice, so a failed issue takes nothing).
pub fn next_number(tx: &Transaction, year: i32) -> Result<i64, StorageError> {
    tx.execute(
        "INSERT INTO invoice_sequences (year, last) VALUES (?1, 1)
         ON CONFLICT (year) DO UPDATE SET last = last + 1",
        [year],
    )?;
    Ok(tx.query_row(
        "SELECT last FROM invoice_sequences WHERE year = ?1",
        [year],
        |r| r.get(0),
    )?)
}

pub fn set_issued(
    tx: &Transaction,
    invoice: i64,
    number: &str,
    issue_date: &str,
    due_date: &str,
    now: &str,
) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE invoices SET status = 'issued', number = ?2, issue_date = ?3, due_date = ?4, issued_at = ?5,
                updated_at = ?5, version = version + 1
         WHERE id = ?1 AND status = 'draft'",
        params![invoice, number, issue_date, due_date, now],
    )?;
    Ok(())
}

pub fn set_status(
    tx: &Transaction,
    invoice: i64,
    from: &str,
    to: &str,
    now: &str,
) -> Result<bool, StorageError> {
    let paid_at = (to == "paid").then_some(now);
    Ok(tx.execute(
        "UPDATE invoices SET status = ?3, paid_at = coalesce(?4, paid_at), updated_at = ?5, version = version + 1
         WHERE id = ?1 AND status = ?2",
        params![invoice, from, to, paid_at, now],
    )? == 1)
}

#[derive(Debug, Clone)]
pub struct Unbilled {
    pub id: i64,
    pub date: String,
    pub user: String,
    pub minutes: i64,
    pub note: Option<String>,
}

pub fn unbilled_time(conn: &Connection, project: i64) -> Result<Vec<Unbilled>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, date, user, minutes, note FROM time_entries
         WHERE project_id = ?1 AND invoice_id IS NULL AND billable = 1 ORDER BY date, id",
    )?;
    let rows = stmt.query_map([project], |r| {
        Ok(Unbilled {
            id: r.get(0)?,
            date: r.get(1)?,
            user: r.get(2)?,
            minutes: r.get(3)?,
            note: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn bill_time(
    tx: &Transaction,
    entry: i64,
    invoice: Option<i64>,
    now: &str,
) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE time_entries SET invoice_id = ?2, updated_at = ?3, version = version + 1 WHERE id = ?1",
        params![entry, invoice, now],
    )?;
    Ok(())
}

/// Time entries billed on an invoice go back to unbilled (when it is cancelled or voided); the
/// ids of the entries released, in id order.
pub fn release_time(tx: &Transaction, invoice: i64, now: &str) -> Result<Vec<i64>, StorageError> {
    let mut stmt = tx.prepare(
        "UPDATE time_entries SET invoice_id = NULL, updated_at = ?2, version = version + 1 WHERE invoice_id = ?1 RETURNING id",
    )?;
    let mut ids = stmt
        .query_map(params![invoice, now], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    // RETURNING gives no order.
    ids.sort_unstable();
    Ok(ids)
}

pub fn project_billing(
    conn: &Connection,
    project: i64,
) -> Result<Option<(i64, i64, String)>, StorageError> {
    Ok(conn
        .query_row(
            "SELECT client_id, hourly_rate, currency FROM projects WHERE id = ?1",
            [project],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

/// Voids an issued invoice with its reason; the number stays with it (numbers are never reused).
pub fn set_void(
    tx: &Transaction,
    invoice: i64,
    reason: &str,
    now: &str,
) -> Result<bool, StorageError> {
    Ok(tx.execute(
        "UPDATE invoices SET status = 'void', void_reason = ?2, updated_at = ?3, version = version + 1
         WHERE id = ?1 AND status = 'issued'",
        params![invoice, reason, now],
    )? == 1)
}
