//! E-invoices and the accounting export: the EN 16931 CII XML download of an issued invoice, and
//! the administrator's accounting export page (account mapping, journal CSV of a period).

use super::WebError;
use super::form::{pairs, value};
use super::pages::{Chrome, chrome, render_refused};
use crate::hub::einvoice;
use crate::hub::invoice_document as document;
use crate::hub::journal::{self, Accounts};
use crate::hub::records::HubError;
use crate::web::Ctx;
use askama::Template;
use axum::extract::{Path, Query, RawForm};
use axum::response::Response;
use chrono::Datelike;
use serde::Deserialize;

/// `GET /m/invoices/{id}/einvoice.xml`: the EN 16931 e-invoice of an issued or paid invoice, as a
/// download; a draft or void invoice, or a seller profile without country and VAT ID, is 409.
pub async fn einvoice_xml(
    Ctx { inst, .. }: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let d = document::load(&inst, id).await?;
    let name = einvoice::file_name(&d);
    let bytes = einvoice::build(&d)?;
    // The name holds only ASCII letters, digits, '-' and '.' (InvoiceDocument::file_name).
    Ok(super::headers::attachment(
        bytes,
        "application/xml; charset=utf-8",
        &name,
    ))
}

struct RateRow {
    role: String,
    name: String,
    account: String,
}

#[derive(Template)]
#[template(path = "admin_journal.html")]
struct JournalPage {
    c: Chrome,
    messages: Vec<String>,
    errors: Vec<String>,
    receivables: String,
    vat_payable: String,
    revenue: String,
    rates: Vec<RateRow>,
    from: String,
    to: String,
    account_max: usize,
}

async fn journal_page(
    ctx: &Ctx,
    messages: Vec<String>,
    errors: Vec<String>,
    typed: Option<&[(String, String)]>,
) -> Result<Response, WebError> {
    let stored: Accounts = journal::accounts(&ctx.inst).await?;
    let pick = |role: &str, stored: &str| match typed {
        Some(t) => value(t, role),
        None => stored.to_string(),
    };
    let today = ctx.by.now.date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let failed = !errors.is_empty();
    render_refused(
        &JournalPage {
            c: chrome(&ctx.state, &ctx.inst, Some(&ctx.s)).await?,
            messages,
            errors,
            receivables: pick(journal::RECEIVABLES, &stored.receivables),
            vat_payable: pick(journal::VAT_PAYABLE, &stored.vat_payable),
            revenue: pick(journal::REVENUE, &stored.revenue),
            rates: stored
                .by_rate
                .iter()
                .map(|(bp, name, account)| {
                    let role = journal::revenue_role(*bp);
                    RateRow {
                        account: pick(&role, account),
                        role,
                        name: name.clone(),
                    }
                })
                .collect(),
            from: first.format("%Y-%m-%d").to_string(),
            to: today.format("%Y-%m-%d").to_string(),
            account_max: journal::ACCOUNT_MAX,
        },
        failed,
    )
}

/// `GET /admin/journal`: the account mapping and the export form.
pub async fn show_journal(ctx: Ctx) -> Result<Response, WebError> {
    journal_page(&ctx, vec![], vec![], None).await
}

/// `POST /admin/journal`: saves the mapping; a bad account saves nothing and is named.
pub async fn save_journal(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let f = pairs(&raw);
    let input: Vec<(String, String)> = f
        .iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                journal::RECEIVABLES | journal::VAT_PAYABLE | journal::REVENUE
            ) || k.starts_with("revenue:")
        })
        .cloned()
        .collect();
    let tr = ctx.words().await?;
    match journal::set(&ctx.inst, input, ctx.by.clone()).await {
        Ok(0) => journal_page(&ctx, vec![tr.t("nothing-changed")], vec![], None).await,
        Ok(n) => journal_page(&ctx, vec![tr.count("einv-journal-saved", n)], vec![], None).await,
        Err(HubError::Invalid(errors)) => {
            let errors = errors
                .into_iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            journal_page(&ctx, vec![], errors, Some(&f)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct Period {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /admin/journal/export.csv?from=YYYY-MM-DD&to=YYYY-MM-DD`: the journal of the invoices
/// issued in the period, audited as an export.
pub async fn journal_csv(ctx: Ctx, Query(p): Query<Period>) -> Result<Response, WebError> {
    let from = p.from.unwrap_or_default();
    let to = p.to.unwrap_or_default();
    let postings = journal::postings(&ctx.inst, &from, &to, ctx.by.clone()).await?;
    let name = format!("holdfast-journal-{from}-{to}.csv");
    // The dates were checked (YYYY-MM-DD) by journal::period.
    Ok(super::headers::attachment(
        journal::csv(&postings).into_bytes(),
        "text/csv; charset=utf-8",
        &name,
    ))
}
