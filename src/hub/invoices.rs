//! Invoices: lines with integer money, computed totals, issuing with a gap-free number per year,
//! paid, cancelled (drafts) or void (issued, with a reason), and building a draft from a project's unbilled billable time.

use super::problem::Conflict;
use super::records::{HubError, create_unannounced, validate};
use crate::audit::{self, By, Entry, Event};
use crate::clock::stamp;
use crate::i18n::Sentence;
use crate::instances::Instance;
use crate::schema::{INVOICES, TIME_ENTRIES};
use crate::storage::Transaction;
use crate::storage::Value;
use crate::storage::invoices::{self as store, NewLine};
use crate::storage::records as recs;
use chrono::{Datelike, Duration};
use serde_json::{Map, Value as Json, json};

/// Longest line description, in characters.
pub const LINE_TEXT_MAX: usize = 500;
/// Largest quantity of a line, in thousandths (1,000,000).
pub const MAX_QUANTITY: i64 = 1_000_000_000;
/// Largest tax rate, in thousandths of a percent (100 %).
pub const MAX_TAX_RATE: i64 = 100_000;

/// The JSON Schema pattern of what [`parse_thousandths`] accepts as text up to `max_thousandths`
/// (a power of ten times 1000), zero only when `zero_ok`.
pub fn decimal_pattern(max_thousandths: i64, zero_ok: bool) -> String {
    let max = max_thousandths / 1000;
    let digits = max.to_string().len().saturating_sub(1).max(1);
    let top = format!("0*{max}(?:[.,]0{{0,3}})?");
    if zero_ok {
        format!("^(?:0*[0-9]{{1,{digits}}}(?:[.,][0-9]{{0,3}})?|{top})$")
    } else {
        let rest = digits.saturating_sub(1);
        format!(
            "^(?:0*[1-9][0-9]{{0,{rest}}}(?:[.,][0-9]{{0,3}})?|0+[.,](?:[1-9][0-9]{{0,2}}|0[1-9][0-9]?|00[1-9])|{top})$"
        )
    }
}

/// "1.5" → 1500 thousandths; up to three decimals.
pub fn parse_thousandths(field: &str, text: &str, max: i64) -> Result<i64, HubError> {
    let t = text.trim();
    let (whole, frac) = t.split_once(['.', ',']).unwrap_or((t, ""));
    let bad = || {
        HubError::field(
            field,
            Sentence::new(
                "problem-decimal-three",
                "must be a number with at most three decimals, like 1.5",
            ),
        )
    };
    if whole.is_empty()
        || frac.len() > 3
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let w: i64 = whole.parse().map_err(|_| bad())?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<3}").parse().map_err(|_| bad())?
    };
    let v = w
        .checked_mul(1000)
        .and_then(|x| x.checked_add(f))
        .ok_or_else(bad)?;
    if v > max {
        return Err(HubError::field(
            field,
            Sentence::new("problem-too-large", "is too large"),
        ));
    }
    Ok(v)
}

fn line_description() -> Sentence {
    Sentence::new("problem-line-description", "write 1–500 characters")
}

/// Rounds half away from zero in integer arithmetic.
fn div_round(n: i128, d: i128) -> i64 {
    let q = (2 * n + d) / (2 * d);
    q as i64
}

/// Net and tax of a line, in minor units.
pub fn line_amounts(quantity_milli: i64, unit_price: i64, tax_rate_bp: i64) -> (i64, i64) {
    let net = div_round(quantity_milli as i128 * unit_price as i128, 1000);
    let tax = div_round(net as i128 * tax_rate_bp as i128, 10_000);
    (net, tax)
}

fn ensure_status(tx: &Transaction, id: i64, want: &'static str) -> Result<(), HubError> {
    let row = recs::get(tx, &INVOICES, id)?.ok_or(HubError::NotFound)?;
    let status = match row.get("status") {
        Some(Value::Text(s)) => s.clone(),
        _ => String::new(),
    };
    if status != want {
        return Err(HubError::Refused(Conflict::InvoiceStatus { status, want }));
    }
    Ok(())
}

pub struct LineInput {
    pub description: String,
    pub quantity: String,
    pub unit_price: i64,
    pub tax_rate: String,
}

pub async fn add_line(inst: &Instance, id: i64, line: LineInput, by: By) -> Result<(), HubError> {
    // Counted as sent, as the OpenAPI `maxLength` counts.
    if line.description.chars().count() > LINE_TEXT_MAX {
        return Err(HubError::field("description", line_description()));
    }
    let description = line.description.trim().to_string();
    if description.is_empty() {
        return Err(HubError::field("description", line_description()));
    }
    let q = parse_thousandths("quantity", &line.quantity, MAX_QUANTITY)?;
    if q == 0 {
        return Err(HubError::field(
            "quantity",
            Sentence::new("problem-quantity-positive", "must be more than 0"),
        ));
    }
    if !(0..=1_000_000_000_000).contains(&line.unit_price) {
        return Err(HubError::field(
            "unit_price",
            Sentence::new("problem-unit-price", "must be 0 or more cents"),
        ));
    }
    let rate_milli = parse_thousandths("tax_rate", &line.tax_rate, MAX_TAX_RATE)?;
    let bp = rate_milli / 10;
    let (net, tax) = line_amounts(q, line.unit_price, bp);
    inst.db
        .write(move |tx| -> Result<(), HubError> {
            ensure_status(tx, id, "draft")?;
            let line_id = store::add_line(
                tx,
                id,
                &NewLine {
                    description: &description,
                    quantity_milli: q,
                    unit_price: line.unit_price,
                    tax_rate_bp: bp,
                    net,
                    tax,
                },
            )?;
            store::refresh_totals(tx, id, &stamp(by.now))?;
            audit::write(
                tx,
                by.now,
                invoice_entry(Event::InvoiceLineAdded, &by, id)
                .with(json!({ "line": line_id, "quantity_milli": q, "unit_price": line.unit_price, "net": net, "tax": tax })),
            )?;
            Ok(())
        })
        .await
}

pub async fn remove_line(inst: &Instance, id: i64, line: i64, by: By) -> Result<(), HubError> {
    inst.db
        .write(move |tx| -> Result<(), HubError> {
            ensure_status(tx, id, "draft")?;
            let Some(old) = store::lines(tx, id)?.into_iter().find(|l| l.id == line) else {
                return Err(HubError::NotFound);
            };
            if !store::remove_line(tx, id, line)? {
                return Err(HubError::NotFound);
            }
            store::refresh_totals(tx, id, &stamp(by.now))?;
            audit::write(
                tx,
                by.now,
                invoice_entry(Event::InvoiceLineRemoved, &by, id)
                .with(json!({ "line": line, "description": old.description, "net": old.net, "tax": old.tax })),
            )?;
            Ok(())
        })
        .await
}

pub async fn lines(inst: &Instance, id: i64) -> Result<Vec<store::LineRow>, HubError> {
    Ok(inst.db.read(move |c| store::lines(c, id)).await?)
}

/// Issues a draft: takes the next number of the issue year (e.g. `2026-0007`), fixes the dates.
/// From then on the invoice cannot be changed, only marked paid or cancelled.
pub async fn issue(inst: &Instance, id: i64, by: By) -> Result<String, HubError> {
    inst.db
        .write(move |tx| -> Result<String, HubError> {
            ensure_status(tx, id, "draft")?;
            if store::lines(tx, id)?.is_empty() {
                return Err(HubError::Refused(Conflict::NoLines));
            }
            let row = recs::get(tx, &INVOICES, id)?.ok_or(HubError::NotFound)?;
            let today = by.now.date_naive();
            let issue_date = match row.get("issue_date") {
                Some(Value::Text(d)) => {
                    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap_or(today)
                }
                _ => today,
            };
            let due = match row.get("due_date") {
                Some(Value::Text(d)) => d.clone(),
                _ => {
                    let terms = super::settings::read(tx)?.payment_terms_days;
                    (issue_date + Duration::days(terms))
                        .format("%Y-%m-%d")
                        .to_string()
                }
            };
            let n = store::next_number(tx, issue_date.year())?;
            let number = format!("{}-{n:04}", issue_date.year());
            store::set_issued(
                tx,
                id,
                &number,
                &issue_date.format("%Y-%m-%d").to_string(),
                &due,
                &stamp(by.now),
            )?;
            super::invoice_document::freeze(tx, id, &stamp(by.now))?;
            record_status(tx, id, &by, "draft", "issued")?;
            audit::write(
                tx,
                by.now,
                invoice_entry(Event::InvoiceIssued, &by, id).with(json!({ "number": number })),
            )?;
            super::records::notify(tx, by.now, &INVOICES, id, "issued")?;
            let row = recs::get(tx, &INVOICES, id)?.ok_or(HubError::NotFound)?;
            let title = format!("Invoice {number}");
            recs::index(tx, &INVOICES, id, &number, &title)?;
            let _ = row;
            Ok(number)
        })
        .await
}

/// `paid` (from issued) or `cancelled` (a draft; its time entries become unbilled). An issued
/// invoice is not cancelled but voided, with a reason ([`void`]).
pub async fn set_status(
    inst: &Instance,
    id: i64,
    to: &'static str,
    by: By,
) -> Result<(), HubError> {
    inst.db
        .write(move |tx| -> Result<(), HubError> {
            let row = recs::get(tx, &INVOICES, id)?.ok_or(HubError::NotFound)?;
            let from = match row.get("status") {
                Some(Value::Text(s)) => s.clone(),
                _ => String::new(),
            };
            let allowed = matches!(
                (from.as_str(), to),
                ("issued", "paid") | ("draft", "cancelled")
            );
            if from == "issued" && to == "cancelled" {
                return Err(HubError::Refused(Conflict::VoidNotCancel));
            }
            if !allowed {
                return Err(HubError::Refused(Conflict::Transition {
                    from,
                    to: to.to_string(),
                }));
            }
            let now = stamp(by.now);
            store::set_status(tx, id, &from, to, &now)?;
            let released = if to == "cancelled" {
                store::release_time(tx, id, &now)?
            } else {
                Vec::new()
            };
            record_status(tx, id, &by, &from, to)?;
            audit::write(
                tx,
                by.now,
                invoice_entry(Event::RecordUpdated, &by, id)
                    .with(json!({ "status": to, "time_entries_released": released.len() })),
            )?;
            let what = if to == "paid" { "paid" } else { "updated" };
            super::records::notify(tx, by.now, &INVOICES, id, what)?;
            time_updated(tx, &by, &released)?;
            Ok(())
        })
        .await
}

/// Longest reason for voiding an invoice, in characters.
pub const VOID_REASON_MAX: usize = 500;

/// Voids an issued invoice: its status becomes `void`, the reason is kept with it and in the
/// security log, the number stays taken (numbering remains gap-free) and its time entries become
/// unbilled again. Without a reason nothing changes.
pub async fn void(inst: &Instance, id: i64, reason: String, by: By) -> Result<(), HubError> {
    // Counted as sent, as the OpenAPI `maxLength` counts; free text like a record's notes.
    let too_long = reason.chars().count() > VOID_REASON_MAX;
    let reason = reason.trim().to_string();
    if reason.is_empty() || too_long {
        return Err(HubError::field(
            "reason",
            Sentence::new(
                "problem-void-reason",
                format!("say why the invoice is void (1–{VOID_REASON_MAX} characters)"),
            )
            .arg("max", VOID_REASON_MAX),
        ));
    }
    inst.db
        .write(move |tx| -> Result<(), HubError> {
            ensure_status(tx, id, "issued")?;
            let now = stamp(by.now);
            if !store::set_void(tx, id, &reason, &now)? {
                return Err(HubError::Refused(Conflict::NotIssued));
            }
            let released = store::release_time(tx, id, &now)?;
            record_status(tx, id, &by, "issued", "void")?;
            let number = match recs::get(tx, &INVOICES, id)?.and_then(|r| r.get("number").cloned())
            {
                Some(Value::Text(n)) => n,
                _ => String::new(),
            };
            audit::write(
                tx,
                by.now,
                invoice_entry(Event::InvoiceVoided, &by, id).with(json!({
                    "number": number,
                    "reason": reason,
                    "time_entries_released": released.len()
                })),
            )?;
            super::records::notify(tx, by.now, &INVOICES, id, "updated")?;
            time_updated(tx, &by, &released)?;
            Ok(())
        })
        .await
}

/// A draft invoice for the project's client with one line per unbilled billable time entry, at the
/// project's hourly rate; the entries are marked as billed on it.
pub async fn from_project(
    inst: &Instance,
    project: i64,
    tax_rate: String,
    by: By,
) -> Result<i64, HubError> {
    let rate_milli = parse_thousandths("tax_rate", &tax_rate, 100_000)?;
    inst.db
        .write(move |tx| -> Result<i64, HubError> {
            let (client, hourly, currency) =
                store::project_billing(tx, project)?.ok_or(HubError::NotFound)?;
            let entries = store::unbilled_time(tx, project)?;
            if entries.is_empty() {
                return Err(HubError::Refused(Conflict::NoUnbilledTime));
            }
            let mut input = Map::new();
            input.insert("client_id".into(), json!(client));
            input.insert("project_id".into(), json!(project));
            input.insert("currency".into(), Json::String(currency));
            let values = validate(&INVOICES, &input, false)?;
            // Announced once its lines and totals are in, so the event carries the invoice as
            // the API returns it afterwards.
            let inv = create_unannounced(tx, &INVOICES, &values, &by, true)?;
            let now = stamp(by.now);
            for e in &entries {
                // Net from the minutes themselves: rounding the quantity first would lose cents.
                let q = div_round(e.minutes as i128 * 1000, 60);
                let net = div_round(e.minutes as i128 * hourly as i128, 60);
                let tax = div_round(net as i128 * (rate_milli / 10) as i128, 10_000);
                let desc = format!(
                    "{} · {} · {}",
                    e.date,
                    e.user,
                    e.note.clone().unwrap_or_else(|| "work".into())
                );
                store::add_line(
                    tx,
                    inv.id,
                    &NewLine {
                        description: &desc,
                        quantity_milli: q,
                        unit_price: hourly,
                        tax_rate_bp: rate_milli / 10,
                        net,
                        tax,
                    },
                )?;
                store::bill_time(tx, e.id, Some(inv.id), &now)?;
            }
            store::refresh_totals(tx, inv.id, &now)?;
            super::records::notify(tx, by.now, &INVOICES, inv.id, "created")?;
            let ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
            time_updated(tx, &by, &ids)?;
            // Which entries were billed, so that the log alone shows what left the time module. The
            // list stops at 500 ids (4 KiB) to stay under the writer's cap on details; the count
            // is always exact.
            let billed: Vec<i64> = entries.iter().map(|e| e.id).take(500).collect();
            audit::write(
                tx,
                by.now,
                Entry::new(
                    Event::TimeBilled,
                    by.actor.clone(),
                    format!("invoices/{}", inv.id),
                    by.source.clone(),
                )
                .with(
                    json!({ "project": project, "count": entries.len(), "time_entries": billed }),
                ),
            )?;
            Ok(inv.id)
        })
        .await
}

/// `time.updated` for each time entry an invoice billed or released (its `invoice_id` changed).
/// Asked once whether any endpoint wants it: an invoice may bill hundreds of entries.
fn time_updated(tx: &Transaction, by: &By, entries: &[i64]) -> Result<(), HubError> {
    if entries.is_empty() || !crate::webhooks::wanted(tx, "time.updated")? {
        return Ok(());
    }
    for id in entries {
        super::records::notify(tx, by.now, &TIME_ENTRIES, *id, "updated")?;
    }
    Ok(())
}

/// The security-log entry of a change to invoice `id`; callers add the details.
fn invoice_entry(event: Event, by: &By, id: i64) -> Entry {
    Entry::new(
        event,
        by.actor.clone(),
        format!("invoices/{id}"),
        by.source.clone(),
    )
}

/// The invoice's history row for a status change (the card shows it like any field edit).
fn record_status(tx: &Transaction, id: i64, by: &By, from: &str, to: &str) -> Result<(), HubError> {
    let (now, actor) = (stamp(by.now), by.actor.name());
    recs::Change::begin(tx, INVOICES.slug, id, &now, &actor)?.field(
        tx,
        "status",
        Some(from),
        Some(to),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_bill_to_the_cent() {
        assert_eq!(div_round(10 * 12_000, 60), 2_000);
        assert_eq!(div_round(20 * 12_000, 60), 4_000);
        assert_eq!(div_round(7 * 10_000, 60), 1_167);
    }

    #[test]
    fn money_is_integer_and_rounds_half_up() {
        assert_eq!(line_amounts(1500, 10_000, 2300), (15_000, 3_450));
        assert_eq!(line_amounts(1000, 333, 2300), (333, 77));
        assert_eq!(line_amounts(333, 100, 0), (33, 0));
        assert_eq!(line_amounts(1000, 5, 1000), (5, 1));
        assert_eq!(parse_thousandths("q", "1.5", 10_000).unwrap(), 1500);
        assert_eq!(parse_thousandths("q", "2,25", 10_000).unwrap(), 2250);
        assert_eq!(parse_thousandths("q", "7", 10_000).unwrap(), 7000);
        assert!(parse_thousandths("q", "1.2345", 10_000).is_err());
        assert!(parse_thousandths("q", "-1", 10_000).is_err());
        assert!(parse_thousandths("q", "abc", 10_000).is_err());
    }
}
