//! The invoice as a client receives it: seller and buyer, number, dates, lines, the tax summary by
//! rate, totals and payment details, read in one snapshot; the parties frozen when an invoice is
//! issued; money and quantities written out for people.

use super::invoice_profile::{Profile, lines as text_lines};
use super::money::{self, Locale};
use super::records::HubError;
use super::settings;
use crate::i18n::Tr;
use crate::instances::Instance;
use crate::schema::{CLIENTS, INVOICES};
use crate::storage::invoice_document as store;
use crate::storage::invoices as inv_store;
use crate::storage::records as recs;
use crate::storage::{Connection, Transaction, Value};
use serde::{Deserialize, Serialize};

/// The seller block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seller {
    pub name: String,
    pub address: Vec<String>,
    pub tax_id: String,
    pub bank_account: String,
    pub payment_details: String,
    /// Added for e-invoices (migration 13): parties frozen before then have none.
    #[serde(default)]
    pub country_code: String,
    #[serde(default)]
    pub vat_id: String,
}

/// The buyer block: the client record as it stood (name, address, tax ID, e-mail).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    pub name: String,
    pub address: Vec<String>,
    pub tax_id: String,
    pub email: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocStatus {
    Draft,
    Issued,
    Paid,
    /// Cancelled (voided) after or before issue; the number, if any, stays taken.
    Void,
}

impl DocStatus {
    fn from_status(s: &str) -> Self {
        match s {
            "draft" => DocStatus::Draft,
            "paid" => DocStatus::Paid,
            "cancelled" | "void" | "voided" => DocStatus::Void,
            _ => DocStatus::Issued,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocLine {
    pub description: String,
    pub quantity_milli: i64,
    pub unit_price: i64,
    pub tax_rate_bp: i64,
    pub net: i64,
    pub tax: i64,
}

/// One row of the tax summary: every line of one rate added up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxRow {
    pub rate_bp: i64,
    pub net: i64,
    pub tax: i64,
    pub gross: i64,
}

#[derive(Debug, Clone)]
pub struct InvoiceDocument {
    pub id: i64,
    pub status: DocStatus,
    pub number: Option<String>,
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
    pub paid_at: Option<String>,
    pub currency: String,
    /// How amounts, quantities and rates are written (the instance's money locale).
    pub locale: Locale,
    /// `None` until an administrator saves the invoice profile.
    pub seller: Option<Seller>,
    pub buyer: Buyer,
    pub lines: Vec<DocLine>,
    pub taxes: Vec<TaxRow>,
    pub subtotal: i64,
    pub tax_total: i64,
    pub total: i64,
    pub notes: Option<String>,
}

impl InvoiceDocument {
    /// "Invoice 2026-0007"; a draft is never titled like an invoice it is not yet.
    pub fn title(&self, tr: &Tr) -> String {
        match (&self.status, &self.number) {
            (DocStatus::Draft, _) | (_, None) => tr.t("invdoc-draft-title"),
            (_, Some(n)) => tr.t1("invdoc-title", "number", n),
        }
    }

    /// The stamp across the document: DRAFT, PAID or VOID; an issued invoice has none.
    pub fn mark(&self, tr: &Tr) -> Option<String> {
        match self.status {
            DocStatus::Draft => Some(tr.t("invdoc-mark-draft")),
            DocStatus::Paid => Some(tr.t("invdoc-mark-paid")),
            DocStatus::Void => Some(tr.t("invdoc-mark-void")),
            DocStatus::Issued => None,
        }
    }

    /// The word written large across every page of a document that must not be paid: a draft or
    /// a void invoice.
    pub fn watermark(&self, tr: &Tr) -> Option<String> {
        match self.status {
            DocStatus::Draft | DocStatus::Void => self.mark(tr),
            DocStatus::Paid | DocStatus::Issued => None,
        }
    }

    /// The facts under the title, as (label, value): number, dates.
    pub fn facts(&self, tr: &Tr) -> Vec<(String, String)> {
        let mut facts = Vec::new();
        if let Some(n) = &self.number {
            facts.push((tr.t("invdoc-number"), n.clone()));
        }
        facts.push((
            tr.t("invdoc-issue-date"),
            self.issue_date
                .clone()
                .unwrap_or_else(|| tr.t("invdoc-not-issued")),
        ));
        if let Some(due) = &self.due_date {
            facts.push((tr.t("invdoc-due-date"), due.clone()));
        }
        if let (DocStatus::Paid, Some(p)) = (self.status, &self.paid_at) {
            facts.push((tr.t("invdoc-paid-on"), p.clone()));
        }
        facts
    }

    /// How to pay, as (label, value): account, reference, date, amount.
    pub fn payment(&self, tr: &Tr) -> Vec<(String, String)> {
        let mut pay = Vec::new();
        if let Some(s) = &self.seller
            && !s.bank_account.is_empty()
        {
            pay.push((tr.t("invdoc-bank"), s.bank_account.clone()));
        }
        if let Some(r) = self.payment_reference() {
            pay.push((tr.t("invdoc-reference"), r.to_string()));
        }
        if let Some(due) = &self.due_date {
            pay.push((tr.t("invdoc-pay-by"), due.clone()));
        }
        pay.push((tr.t("invdoc-amount"), self.money(self.total)));
        pay
    }

    /// Above the payment details of a void or paid invoice: whether to pay at all.
    pub fn payment_note(&self, tr: &Tr) -> Option<String> {
        match self.status {
            DocStatus::Void => Some(tr.t("invdoc-void-note")),
            DocStatus::Paid => Some(tr.t("invdoc-paid-note")),
            _ => None,
        }
    }

    /// What the buyer writes on the transfer: the invoice number.
    pub fn payment_reference(&self) -> Option<&str> {
        match self.status {
            DocStatus::Draft => None,
            _ => self.number.as_deref(),
        }
    }

    /// The download's file name: only ASCII letters, digits, '-' and '.', whatever the number holds.
    pub fn file_name(&self) -> String {
        let stem = match (&self.status, &self.number) {
            (DocStatus::Draft, _) | (_, None) => format!("invoice-draft-{}", self.id),
            (_, Some(n)) => format!("invoice-{n}"),
        };
        let safe: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{safe}.pdf")
    }

    /// An amount in the invoice's currency: "1,234.50 EUR" / "1 234,50 PLN".
    pub fn money(&self, minor: i64) -> String {
        money::format_in(minor, &self.currency, self.locale)
    }

    /// An amount without the currency (table cells under a currency heading).
    pub fn amount(&self, minor: i64) -> String {
        money::format(minor, self.locale)
    }

    /// Thousandths with the trailing zeros cut: 2500 → "2.5" / "2,5".
    pub fn quantity(&self, milli: i64) -> String {
        money::format_quantity(milli, self.locale)
    }

    /// Basis points as a percentage: 2300 → "23 %", 850 → "8.5 %".
    pub fn rate(&self, bp: i64) -> String {
        money::format_percent(bp, self.locale)
    }
}

/// The tax summary: one row per rate, highest rate first. Each line's tax was rounded once when
/// the line was made, and the invoice's stored totals are the sums of those; the summary adds the
/// same numbers, so its rows always add up to the totals printed beneath them.
pub fn tax_summary(lines: &[DocLine]) -> Vec<TaxRow> {
    let mut rows: Vec<TaxRow> = Vec::new();
    for l in lines {
        match rows.iter_mut().find(|r| r.rate_bp == l.tax_rate_bp) {
            Some(r) => {
                r.net += l.net;
                r.tax += l.tax;
                r.gross += l.net + l.tax;
            }
            None => rows.push(TaxRow {
                rate_bp: l.tax_rate_bp,
                net: l.net,
                tax: l.tax,
                gross: l.net + l.tax,
            }),
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.rate_bp));
    rows
}

fn text(row: &recs::Row, name: &str) -> Option<String> {
    match row.get(name) {
        Some(Value::Text(t)) if !t.trim().is_empty() => Some(t.clone()),
        _ => None,
    }
}

fn int(row: &recs::Row, name: &str) -> i64 {
    match row.get(name) {
        Some(Value::Integer(i)) => *i,
        _ => 0,
    }
}

fn seller_now(conn: &Connection) -> Result<Option<Seller>, HubError> {
    Ok(store::profile(conn)?.map(|r| {
        let p = Profile::from_row(r);
        Seller {
            name: p.legal_name,
            address: p.address,
            tax_id: p.tax_id,
            bank_account: p.bank_account,
            payment_details: p.payment_details,
            country_code: p.country_code,
            vat_id: p.vat_id,
        }
    }))
}

fn buyer_now(conn: &Connection, client: i64) -> Result<Buyer, HubError> {
    let Some(c) = recs::get(conn, &CLIENTS, client)? else {
        return Ok(Buyer {
            name: format!("client #{client}"),
            ..Buyer::default()
        });
    };
    Ok(Buyer {
        name: text(&c, "name").unwrap_or_default(),
        address: text(&c, "address")
            .map(|a| text_lines(&a))
            .unwrap_or_default(),
        tax_id: text(&c, "tax_id").unwrap_or_default(),
        email: text(&c, "email").unwrap_or_default(),
    })
}

/// Freezes seller and buyer as they stand, inside the transaction that issues the invoice: what
/// was sent to the client must read the same when the profile or the client record changes later.
/// A seller not yet set is frozen as `null` (the document then shows the profile of the day).
pub fn freeze(tx: &Transaction, invoice: i64, now: &str) -> Result<(), HubError> {
    let row = recs::get(tx, &INVOICES, invoice)?.ok_or(HubError::NotFound)?;
    let seller = seller_now(tx)?;
    let buyer = buyer_now(tx, int(&row, "client_id"))?;
    let json = |v: serde_json::Result<String>| {
        v.map_err(|e| {
            HubError::stored_data(
                "conflict-parties-damaged",
                format!("the invoice's parties cannot be written: {e}"),
            )
        })
    };
    store::freeze_parties(
        tx,
        invoice,
        &json(serde_json::to_string(&seller))?,
        &json(serde_json::to_string(&buyer))?,
        now,
    )?;
    Ok(())
}

/// The document of invoice `id`, read in one snapshot.
pub async fn load(inst: &Instance, id: i64) -> Result<InvoiceDocument, HubError> {
    inst.db
        .read(move |c| -> Result<InvoiceDocument, HubError> {
            let row = recs::get(c, &INVOICES, id)?.ok_or(HubError::NotFound)?;
            let status = DocStatus::from_status(&text(&row, "status").unwrap_or_default());
            let frozen = store::parties(c, id)?;
            let bad = |e: serde_json::Error| {
                HubError::stored_data(
                    "conflict-parties-damaged",
                    format!("the parties frozen on invoice {id} cannot be read: {e}"),
                )
            };
            let (seller, buyer) = match frozen {
                Some((s, b)) => {
                    let seller: Option<Seller> = serde_json::from_str(&s).map_err(bad)?;
                    let seller = match seller {
                        // Frozen before the profile had a country and VAT ID (or while they were
                        // blank): those two come from the profile of the day, the rest stays.
                        Some(mut s) if s.country_code.is_empty() && s.vat_id.is_empty() => {
                            if let Some(now) = seller_now(c)? {
                                s.country_code = now.country_code;
                                s.vat_id = now.vat_id;
                            }
                            Some(s)
                        }
                        Some(s) => Some(s),
                        None => seller_now(c)?,
                    };
                    (seller, serde_json::from_str(&b).map_err(bad)?)
                }
                None => (seller_now(c)?, buyer_now(c, int(&row, "client_id"))?),
            };
            let lines: Vec<DocLine> = inv_store::lines(c, id)?
                .into_iter()
                .map(|l| DocLine {
                    description: l.description,
                    quantity_milli: l.quantity_milli,
                    unit_price: l.unit_price,
                    tax_rate_bp: l.tax_rate_bp,
                    net: l.net,
                    tax: l.tax,
                })
                .collect();
            Ok(InvoiceDocument {
                id,
                status,
                number: text(&row, "number"),
                issue_date: text(&row, "issue_date"),
                due_date: text(&row, "due_date"),
                paid_at: text(&row, "paid_at").map(|t| t.chars().take(10).collect()),
                currency: text(&row, "currency").unwrap_or_default(),
                locale: settings::read_locale(c)?,
                seller,
                buyer,
                taxes: tax_summary(&lines),
                lines,
                subtotal: int(&row, "subtotal"),
                tax_total: int(&row, "tax_total"),
                total: int(&row, "total"),
                notes: text(&row, "notes"),
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    fn en() -> crate::i18n::Tr {
        crate::i18n::Tr::new(
            std::sync::Arc::new(crate::i18n::Catalogue::embedded()),
            crate::i18n::Locale::En,
        )
    }

    use super::*;
    use crate::hub::invoices::line_amounts;

    fn line(q: i64, price: i64, bp: i64) -> DocLine {
        let (net, tax) = line_amounts(q, price, bp);
        DocLine {
            description: "x".into(),
            quantity_milli: q,
            unit_price: price,
            tax_rate_bp: bp,
            net,
            tax,
        }
    }

    #[test]
    fn the_summary_groups_by_rate_highest_first_and_adds_up_to_the_totals() {
        let lines = vec![
            line(1000, 333, 2300),
            line(2500, 1999, 800),
            line(1000, 333, 2300),
            line(1000, 10_000, 0),
            line(333, 100, 800),
        ];
        let rows = tax_summary(&lines);
        let rates: Vec<i64> = rows.iter().map(|r| r.rate_bp).collect();
        assert_eq!(rates, vec![2300, 800, 0]);
        // 3.33 at 23 % is 0.77 (0.7659 rounded half up per line), twice.
        assert_eq!(
            rows[0],
            TaxRow {
                rate_bp: 2300,
                net: 666,
                tax: 154,
                gross: 820
            }
        );
        // 2.5 × 19.99 = 49.975 → 49.98, 8 % = 4.00; 0.333 × 1.00 = 0.33, 8 % = 0.03.
        assert_eq!(
            rows[1],
            TaxRow {
                rate_bp: 800,
                net: 5_031,
                tax: 403,
                gross: 5_434
            }
        );
        assert_eq!(rows[2].tax, 0);
        let net: i64 = lines.iter().map(|l| l.net).sum();
        let tax: i64 = lines.iter().map(|l| l.tax).sum();
        assert_eq!(rows.iter().map(|r| r.net).sum::<i64>(), net);
        assert_eq!(rows.iter().map(|r| r.tax).sum::<i64>(), tax);
        assert_eq!(rows.iter().map(|r| r.gross).sum::<i64>(), net + tax);
        assert!(tax_summary(&[]).is_empty());
    }

    #[test]
    fn money_quantities_and_rates_read_as_people_write_them() {
        let mut d = document(DocStatus::Issued);
        d.currency = "EUR".into();
        assert_eq!(d.money(123_450), "1,234.50\u{a0}EUR");
        assert_eq!(d.amount(-100_000_000), "-1,000,000.00");
        assert_eq!(d.quantity(2500), "2.5");
        assert_eq!(d.quantity(1005), "1.005");
        assert_eq!(d.rate(850), "8.5\u{a0}%");
        d.locale = Locale::Pl;
        d.currency = "PLN".into();
        assert_eq!(d.money(123_450), "1\u{a0}234,50\u{a0}PLN");
        assert_eq!(d.quantity(2500), "2,5");
        assert_eq!(d.rate(2300), "23\u{a0}%");
    }

    fn document(status: DocStatus) -> InvoiceDocument {
        InvoiceDocument {
            id: 7,
            status,
            number: None,
            issue_date: None,
            due_date: None,
            paid_at: None,
            currency: "EUR".into(),
            locale: Locale::En,
            seller: None,
            buyer: Buyer::default(),
            lines: vec![],
            taxes: vec![],
            subtotal: 0,
            tax_total: 0,
            total: 0,
            notes: None,
        }
    }

    #[test]
    fn drafts_are_not_titled_as_invoices_and_file_names_are_safe() {
        let mut d = document(DocStatus::Draft);
        assert_eq!(d.title(&en()), "Draft invoice (not issued)");
        assert_eq!(d.mark(&en()).as_deref(), Some("DRAFT"));
        assert_eq!(d.file_name(), "invoice-draft-7.pdf");
        assert_eq!(d.payment_reference(), None);
        d.status = DocStatus::Issued;
        d.number = Some("2026-0007\"; x/../y".into());
        assert_eq!(d.file_name(), "invoice-2026-0007---x----y.pdf");
        d.number = Some("2026-0007".into());
        assert_eq!(d.title(&en()), "Invoice 2026-0007");
        assert_eq!(d.mark(&en()), None);
        assert_eq!(d.payment_reference(), Some("2026-0007"));
        assert_eq!(DocStatus::from_status("cancelled"), DocStatus::Void);
        assert_eq!(DocStatus::from_status("paid"), DocStatus::Paid);
    }
}
