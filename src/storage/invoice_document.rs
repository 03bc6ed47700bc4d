//! The seller's invoice profile (one row per instance) and the parties frozen on issued invoices.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::{OptionalExtension, params};

/// The seller as an administrator keeps it; every field is stored as entered (already checked by
/// the domain), `address` with one line per `\n`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileRow {
    pub legal_name: String,
    pub address: String,
    pub tax_id: String,
    pub bank_account: String,
    pub payment_details: String,
    /// ISO 3166-1 alpha-2 country of the address, or empty (added for e-invoices).
    pub country_code: String,
    /// The VAT identifier with its country prefix, or empty (added for e-invoices).
    pub vat_id: String,
}

pub fn profile(conn: &Connection) -> Result<Option<ProfileRow>, StorageError> {
    Ok(conn
        .query_row(
            "SELECT legal_name, address, tax_id, bank_account, payment_details, country_code, vat_id
             FROM invoice_profile WHERE id = 1",
            [],
            |r| {
                Ok(ProfileRow {
                    legal_name: r.get(0)?,
                    address: r.get(1)?,
                    tax_id: r.get(2)?,
                    bank_account: r.get(3)?,
                    payment_details: r.get(4)?,
                    country_code: r.get(5)?,
                    vat_id: r.get(6)?,
                })
            },
        )
        .optional()?)
}

pub fn set_profile(tx: &Transaction, p: &ProfileRow, now: &str) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO invoice_profile (id, legal_name, address, tax_id, bank_account, payment_details,
             country_code, vat_id, updated_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET legal_name = excluded.legal_name, address = excluded.address,
             tax_id = excluded.tax_id, bank_account = excluded.bank_account,
             payment_details = excluded.payment_details, country_code = excluded.country_code,
             vat_id = excluded.vat_id, updated_at = excluded.updated_at",
        params![
            p.legal_name,
            p.address,
            p.tax_id,
            p.bank_account,
            p.payment_details,
            p.country_code,
            p.vat_id,
            now
        ],
    )?;
    Ok(())
}

/// The seller and buyer (JSON) frozen when the invoice was issued, if they were.
pub fn parties(conn: &Connection, invoice: i64) -> Result<Option<(String, String)>, StorageError> {
    Ok(conn
        .query_row(
            "SELECT seller, buyer FROM invoice_parties WHERE invoice_id = ?1",
            [invoice],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Freezes the parties of an invoice; an invoice is issued once, so a second call is an error
/// rather than a silent rewrite.
pub fn freeze_parties(
    tx: &Transaction,
    invoice: i64,
    seller: &str,
    buyer: &str,
    now: &str,
) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO invoice_parties (invoice_id, seller, buyer, frozen_at) VALUES (?1, ?2, ?3, ?4)",
        params![invoice, seller, buyer, now],
    )?;
    Ok(())
}
