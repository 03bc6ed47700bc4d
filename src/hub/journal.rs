//! The accounting journal: the accounts an administrator maps postings to (receivables, revenue
//! per tax rate, VAT payable), checked and audited, and the balanced postings of the invoices
//! issued in a period, written as CSV through the formula-neutralising `csv` module.

use super::einvoice::amount;
use super::invoice_document::Buyer;
use super::records::{FieldError, HubError};
use crate::audit::{self, By, Entry, Event};
use crate::instances::Instance;
use crate::schema::CLIENTS;
use crate::storage::invoice_document as parties;
use crate::storage::invoices as inv_store;
use crate::storage::journal as store;
use crate::storage::records as recs;
use crate::storage::tax_rates;
use crate::storage::{Connection, Value};
use chrono::Datelike;
use serde_json::{Map, Value as Json, json};

/// Longest account code, in characters.
pub const ACCOUNT_MAX: usize = 30;
/// The longest period one export covers, in days (a bound on one response's size and time).
pub const PERIOD_MAX_DAYS: i64 = 366 * 2;

pub const RECEIVABLES: &str = "receivables";
pub const VAT_PAYABLE: &str = "vat_payable";
/// Revenue at any rate without an account of its own.
pub const REVENUE: &str = "revenue";

/// The role of revenue at one rate: `revenue:2300`.
pub fn revenue_role(bp: i64) -> String {
    format!("{REVENUE}:{bp}")
}

/// The mapping as the admin page shows it: the three fixed roles, then one per tax rate of the
/// instance (with the rate's name), each with its account or empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    pub receivables: String,
    pub vat_payable: String,
    pub revenue: String,
    /// (rate in basis points, rate's name, account or empty).
    pub by_rate: Vec<(i64, String, String)>,
}

impl Accounts {
    /// The revenue account of a rate: its own, else the general one.
    pub fn revenue_for(&self, bp: i64) -> &str {
        self.by_rate
            .iter()
            .find(|(r, _, a)| *r == bp && !a.is_empty())
            .map_or(self.revenue.as_str(), |(_, _, a)| a.as_str())
    }

    fn pairs(&self) -> Vec<(String, String)> {
        let mut out = vec![
            (RECEIVABLES.to_string(), self.receivables.clone()),
            (VAT_PAYABLE.to_string(), self.vat_payable.clone()),
            (REVENUE.to_string(), self.revenue.clone()),
        ];
        for (bp, _, a) in &self.by_rate {
            if !a.is_empty() {
                out.push((revenue_role(*bp), a.clone()));
            }
        }
        out
    }
}

fn read_accounts(c: &Connection) -> Result<Accounts, HubError> {
    let stored = store::accounts(c)?;
    let get = |role: &str| {
        stored
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, a)| a.clone())
            .unwrap_or_default()
    };
    let mut by_rate: Vec<(i64, String, String)> = Vec::new();
    for r in tax_rates::list(c)? {
        if !by_rate.iter().any(|(bp, _, _)| *bp == r.rate_bp) {
            by_rate.push((r.rate_bp, r.name, get(&revenue_role(r.rate_bp))));
        }
    }
    Ok(Accounts {
        receivables: get(RECEIVABLES),
        vat_payable: get(VAT_PAYABLE),
        revenue: get(REVENUE),
        by_rate,
    })
}

/// The mapping (empty accounts until an administrator sets them).
pub async fn accounts(inst: &Instance) -> Result<Accounts, HubError> {
    inst.db.read(read_accounts).await
}

/// An account code: letters, digits, '.', '-', '/', spaces, at most [`ACCOUNT_MAX`] characters.
fn account_ok(a: &str) -> bool {
    a.chars().count() <= ACCOUNT_MAX
        && a.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '/' | ' ' | '_'))
}

/// Checks what the administrator typed: (role, account) pairs, `revenue:<bp>` only for a rate the
/// instance has. The three fixed accounts are required.
pub fn check(input: &[(String, String)], rates: &[i64]) -> Result<Vec<(String, String)>, HubError> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for role in [RECEIVABLES, VAT_PAYABLE, REVENUE] {
        let a = input
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, a)| a.trim().to_string())
            .unwrap_or_default();
        if a.is_empty() {
            errors.push(FieldError {
                field: role.into(),
                message: "write an account for this posting".into(),
                problem: None,
            });
        } else if !account_ok(&a) {
            errors.push(FieldError {
                field: role.into(),
                message: format!(
                    "an account has at most {ACCOUNT_MAX} letters, digits, spaces, '.', '-', '/' or '_'"
                ),
                problem: None,
            });
        } else {
            out.push((role.to_string(), a));
        }
    }
    for (role, a) in input {
        let Some(bp) = role.strip_prefix("revenue:") else {
            continue;
        };
        let a = a.trim();
        let known = bp.parse::<i64>().ok().filter(|b| rates.contains(b));
        match known {
            None => errors.push(FieldError {
                field: role.clone(),
                message: "no such tax rate".into(),
                problem: None,
            }),
            Some(_) if a.is_empty() => {}
            Some(_) if !account_ok(a) => errors.push(FieldError {
                field: role.clone(),
                message: format!(
                    "an account has at most {ACCOUNT_MAX} letters, digits, spaces, '.', '-', '/' or '_'"
                ),
                problem: None,
            }),
            Some(b) => out.push((revenue_role(b), a.to_string())),
        }
    }
    if !errors.is_empty() {
        return Err(HubError::Invalid(errors));
    }
    out.sort();
    out.dedup_by(|x, y| x.0 == y.0);
    Ok(out)
}

/// Saves the mapping; the security log gets each changed role, before and after. Returns how
/// many roles changed (0: nothing written, nothing logged).
pub async fn set(inst: &Instance, input: Vec<(String, String)>, by: By) -> Result<usize, HubError> {
    inst.db
        .write(move |tx| -> Result<usize, HubError> {
            let current = read_accounts(tx)?;
            let rates: Vec<i64> = current.by_rate.iter().map(|(bp, _, _)| *bp).collect();
            let new = check(&input, &rates)?;
            let old = current.pairs();
            let mut from = Map::new();
            let mut to = Map::new();
            for (role, a) in &new {
                let before = old.iter().find(|(r, _)| r == role).map(|(_, a)| a.clone());
                if before.as_deref().unwrap_or("") != a {
                    from.insert(role.clone(), before.map_or(Json::Null, Json::String));
                    to.insert(role.clone(), Json::String(a.clone()));
                }
            }
            for (role, a) in &old {
                if !a.is_empty() && !new.iter().any(|(r, _)| r == role) {
                    from.insert(role.clone(), Json::String(a.clone()));
                    to.insert(role.clone(), Json::Null);
                }
            }
            if to.is_empty() {
                return Ok(0);
            }
            store::replace_accounts(tx, &new)?;
            let changed = to.len();
            audit::write(
                tx,
                by.now,
                Entry::new(
                    Event::JournalAccountsChanged,
                    by.actor.clone(),
                    "journal_accounts",
                    by.source.clone(),
                )
                .with(json!({ "from": from, "to": to })),
            )?;
            Ok(changed)
        })
        .await
}

/// One journal line: a debit or a credit (never both) in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub date: String,
    pub number: String,
    pub account: String,
    pub debit: i64,
    pub credit: i64,
    /// The tax rate of a revenue or VAT posting; `None` for the receivable.
    pub rate_bp: Option<i64>,
    pub client: String,
    pub currency: String,
}

/// A calendar date `YYYY-MM-DD`, as days since the epoch (for the period's length).
fn day(field: &str, text: &str) -> Result<i64, HubError> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(|d| i64::from(d.num_days_from_ce()))
        .map_err(|_| HubError::field(field, "a date written YYYY-MM-DD"))
}

/// Checks a period: two dates, the first not after the second, at most [`PERIOD_MAX_DAYS`] apart.
pub fn period(from: &str, to: &str) -> Result<(String, String), HubError> {
    let (a, b) = (day("from", from)?, day("to", to)?);
    if a > b {
        return Err(HubError::field("to", "the period ends before it starts"));
    }
    if b - a > PERIOD_MAX_DAYS {
        return Err(HubError::field(
            "to",
            format!("one export covers at most {PERIOD_MAX_DAYS} days"),
        ));
    }
    Ok((from.trim().to_string(), to.trim().to_string()))
}

fn client_name(c: &Connection, invoice: i64, client: i64) -> Result<String, HubError> {
    // The buyer as frozen at issue, like the document; the client record otherwise.
    if let Some((_, buyer)) = parties::parties(c, invoice)?
        && let Ok(b) = serde_json::from_str::<Buyer>(&buyer)
    {
        return Ok(b.name);
    }
    Ok(match recs::get(c, &CLIENTS, client)? {
        Some(row) => match row.get("name") {
            Some(Value::Text(t)) => t.clone(),
            _ => String::new(),
        },
        None => String::new(),
    })
}

fn push(out: &mut Vec<Posting>, base: &Posting, account: &str, signed: i64, rate: Option<i64>) {
    if signed == 0 {
        return;
    }
    // Positive is a debit; a negative amount (a credit note's lines) goes to the other side.
    out.push(Posting {
        account: account.to_string(),
        debit: signed.max(0),
        credit: (-signed).max(0),
        rate_bp: rate,
        ..base.clone()
    });
}

/// The postings of every invoice issued in `from..=to`: the receivable debited with the total,
/// revenue (per rate) credited with the net, VAT payable (per rate) with the tax; each invoice's
/// debits equal its credits because its total is its net plus its tax. Audited as an export.
/// Refused while the mapping is incomplete.
pub async fn postings(
    inst: &Instance,
    from: &str,
    to: &str,
    by: By,
) -> Result<Vec<Posting>, HubError> {
    let (from, to) = period(from, to)?;
    let (f, t) = (from.clone(), to.clone());
    let out = inst
        .db
        .read(move |c| -> Result<Vec<Posting>, HubError> {
            let acc = read_accounts(c)?;
            if acc.receivables.is_empty() || acc.vat_payable.is_empty() || acc.revenue.is_empty() {
                return Err(HubError::Refused(
                    super::problem::Conflict::JournalAccountsUnset,
                ));
            }
            let mut out = Vec::new();
            for inv in store::invoices(c, &f, &t)? {
                let lines = inv_store::lines(c, inv.id)?;
                let doc_lines: Vec<super::invoice_document::DocLine> = lines
                    .into_iter()
                    .map(|l| super::invoice_document::DocLine {
                        description: l.description,
                        quantity_milli: l.quantity_milli,
                        unit_price: l.unit_price,
                        tax_rate_bp: l.tax_rate_bp,
                        net: l.net,
                        tax: l.tax,
                    })
                    .collect();
                let base = Posting {
                    date: inv.issue_date.clone(),
                    number: inv.number.clone(),
                    account: String::new(),
                    debit: 0,
                    credit: 0,
                    rate_bp: None,
                    client: client_name(c, inv.id, inv.client_id)?,
                    currency: inv.currency.clone(),
                };
                push(&mut out, &base, &acc.receivables, inv.total, None);
                // The same rows as the document's tax summary, so the journal agrees with it.
                for row in super::invoice_document::tax_summary(&doc_lines) {
                    let rate = Some(row.rate_bp);
                    push(
                        &mut out,
                        &base,
                        acc.revenue_for(row.rate_bp),
                        -row.net,
                        rate,
                    );
                    push(&mut out, &base, &acc.vat_payable, -row.tax, rate);
                }
            }
            Ok(out)
        })
        .await?;
    let invoices = {
        let mut n: Vec<&str> = out.iter().map(|p| p.number.as_str()).collect();
        n.dedup();
        n.len()
    };
    let rows = out.len();
    inst.db
        .write(move |tx| {
            audit::write(
                tx,
                by.now,
                Entry::new(
                    Event::DataExported,
                    by.actor,
                    "accounting journal",
                    by.source,
                )
                .with(json!({ "format": "csv", "from": from, "to": to, "invoices": invoices, "rows": rows })),
            )
        })
        .await?;
    Ok(out)
}

/// The CSV header.
pub const COLUMNS: [&str; 8] = [
    "date", "number", "account", "debit", "credit", "vat_rate", "client", "currency",
];

/// The journal as CSV: amounts as plain decimals ("1234.50"), the rate in percent ("23.00");
/// every cell through `csv::cell`, so a client named "=cmd|…" stays text in a spreadsheet.
pub fn csv(postings: &[Posting]) -> String {
    let mut out = crate::csv::row(&COLUMNS);
    for p in postings {
        let money = |m: i64| if m == 0 { String::new() } else { amount(m) };
        out.push_str(&crate::csv::row(&[
            p.date.clone(),
            p.number.clone(),
            p.account.clone(),
            money(p.debit),
            money(p.credit),
            p.rate_bp.map(amount).unwrap_or_default(),
            p.client.clone(),
            p.currency.clone(),
        ]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(r, a)| (r.to_string(), a.to_string()))
            .collect()
    }

    #[test]
    fn the_mapping_needs_the_three_accounts_and_known_rates() {
        let ok = check(
            &input(&[
                ("receivables", " 201 "),
                ("vat_payable", "222"),
                ("revenue", "700"),
                ("revenue:2300", "701"),
                ("revenue:800", ""),
            ]),
            &[2300, 800],
        )
        .unwrap();
        assert_eq!(
            ok,
            input(&[
                ("receivables", "201"),
                ("revenue", "700"),
                ("revenue:2300", "701"),
                ("vat_payable", "222")
            ])
        );
        let HubError::Invalid(e) = check(
            &input(&[
                ("receivables", "=1+1"),
                ("revenue", "700"),
                ("revenue:999", "1"),
            ]),
            &[2300],
        )
        .unwrap_err() else {
            panic!("not a field error")
        };
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["receivables", "vat_payable", "revenue:999"]);
    }

    #[test]
    fn periods_are_checked() {
        assert!(period("2026-01-01", "2026-12-31").is_ok());
        assert!(period("2026-02-01", "2026-01-31").is_err());
        assert!(period("2026-13-01", "2026-12-31").is_err());
        assert!(period("2020-01-01", "2026-12-31").is_err());
    }

    #[test]
    fn csv_cells_are_neutralised_and_amounts_plain() {
        let p = Posting {
            date: "2026-12-07".into(),
            number: "2026-0001".into(),
            account: "701".into(),
            debit: 0,
            credit: 123_450,
            rate_bp: Some(2300),
            client: "=HYPERLINK(\"x\")".into(),
            currency: "PLN".into(),
        };
        let text = csv(&[p]);
        assert_eq!(
            text,
            "date,number,account,debit,credit,vat_rate,client,currency\r\n\
             2026-12-07,2026-0001,701,,1234.50,23.00,\"'=HYPERLINK(\"\"x\"\")\",PLN\r\n"
        );
    }
}
