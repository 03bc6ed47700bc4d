//! The invoice a client receives: its document page (printable), its PDF download, the links to
//! both on the invoice card, and the administrator's invoice profile page (the seller's details).

use super::WebError;
use super::form::{pairs, value};
use super::pages::{Chrome, chrome, render, render_refused};
use crate::access::{Action, Module, Permission};
use crate::app::AppState;
use crate::auth::signin::SessionInfo;
use crate::hub::invoice_document::{self as document, DocStatus, InvoiceDocument};
use crate::hub::invoice_profile::{self as profile, ProfileInput};
use crate::hub::records::HubError;
use crate::i18n::Tr;
use crate::instances::Instance;
use crate::web::Ctx;
use askama::Template;
use axum::extract::{Path, RawForm};
use axum::response::Response;

/// The document shows the buyer's record (name, address, tax ID) beside the invoice: it reads two
/// modules, so it needs the right to see both.
pub(crate) const INVOICE_DOCUMENT: &[Permission] = &[
    Permission::Module(Module::Invoices, Action::View),
    Permission::Module(Module::Clients, Action::View),
];

/// The links on the invoice card, for those who may open the document.
pub fn card_links(s: &SessionInfo, id: i64, tr: &crate::i18n::Tr) -> String {
    if !INVOICE_DOCUMENT.iter().all(|p| s.grants.allows(*p)) {
        return String::new();
    }
    format!(
        "<p class=\"doc-links\"><a href=\"/m/invoices/{id}/document\">{}</a> · <a href=\"/m/invoices/{id}/document.pdf\">{}</a> · <a href=\"/m/invoices/{id}/einvoice.xml\">{}</a></p>",
        super::html::esc(&tr.t("doc-print-view")),
        super::html::esc(&tr.t("doc-download-pdf")),
        super::html::esc(&tr.t("einv-download-xml"))
    )
}

struct LineView {
    no: usize,
    description: String,
    quantity: String,
    unit_price: String,
    rate: String,
    net: String,
}

struct TaxView {
    rate: String,
    net: String,
    tax: String,
    gross: String,
}

#[derive(Template)]
#[template(path = "invoice_document.html")]
struct DocumentPage {
    c: Chrome,
    /// The document's own words: the language invoices are written in (the instance's default),
    /// whatever the reader's.
    doc: Tr,
    id: i64,
    title: String,
    mark: Option<String>,
    /// `draft`, `issued`, `paid` or `void`: a class on the sheet.
    state: &'static str,
    facts: Vec<(String, String)>,
    seller: Option<document::Seller>,
    buyer: document::Buyer,
    currency: String,
    lines: Vec<LineView>,
    taxes: Vec<TaxView>,
    subtotal: String,
    tax_total: String,
    total: String,
    payment: Vec<(String, String)>,
    payment_note: Option<String>,
    payment_details: Vec<String>,
    notes: Vec<String>,
    admin: bool,
}

fn page(c: Chrome, doc: Tr, d: InvoiceDocument, admin: bool) -> DocumentPage {
    let plain = |m: i64| d.amount(m);
    DocumentPage {
        id: d.id,
        title: d.title(&doc),
        mark: d.mark(&doc),
        state: match d.status {
            DocStatus::Draft => "draft",
            DocStatus::Issued => "issued",
            DocStatus::Paid => "paid",
            DocStatus::Void => "void",
        },
        facts: d.facts(&doc),
        lines: d
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| LineView {
                no: i + 1,
                description: l.description.clone(),
                quantity: d.quantity(l.quantity_milli),
                unit_price: plain(l.unit_price),
                rate: d.rate(l.tax_rate_bp),
                net: plain(l.net),
            })
            .collect(),
        taxes: d
            .taxes
            .iter()
            .map(|t| TaxView {
                rate: d.rate(t.rate_bp),
                net: plain(t.net),
                tax: plain(t.tax),
                gross: plain(t.gross),
            })
            .collect(),
        subtotal: d.money(d.subtotal),
        tax_total: d.money(d.tax_total),
        total: d.money(d.total),
        payment: d.payment(&doc),
        payment_note: d.payment_note(&doc),
        payment_details: d
            .seller
            .as_ref()
            .map(|s| s.payment_details.lines().map(str::to_string).collect())
            .unwrap_or_default(),
        notes: d
            .notes
            .as_deref()
            .map(|n| n.lines().map(str::to_string).collect())
            .unwrap_or_default(),
        currency: d.currency.clone(),
        seller: d.seller.clone(),
        buyer: d.buyer.clone(),
        admin,
        doc,
        c,
    }
}

/// `GET /m/invoices/{id}/document`: the invoice as the client receives it, laid out for print.
pub async fn document_page(
    Ctx { state, inst, s, .. }: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let d = document::load(&inst, id).await?;
    let c = chrome(&state, &inst, Some(&s)).await?;
    let doc = super::pages::words(&state, d.locale);
    render(&page(c, doc, d, s.grants.is_admin()))
}

/// `GET /m/invoices/{id}/document.pdf`: the same document as a PDF, always as a download.
pub async fn document_pdf(
    Ctx { state, inst, .. }: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let d = document::load(&inst, id).await?;
    let name = d.file_name();
    let doc = super::pages::words(&state, d.locale);
    // Laying out and subsetting fonts is CPU work: off the async workers.
    let bytes = tokio::task::spawn_blocking(move || crate::hub::invoice_pdf::render(&d, &doc))
        .await
        .map_err(|e| WebError::Internal(format!("PDF task: {e}")))?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    // The name holds only ASCII letters, digits, '-' and '.' (InvoiceDocument::file_name).
    Ok(super::headers::attachment(bytes, "application/pdf", &name))
}

#[derive(Template)]
#[template(path = "admin_invoice_profile.html")]
struct ProfilePage {
    c: Chrome,
    messages: Vec<String>,
    errors: Vec<(String, String)>,
    legal_name: String,
    address: String,
    tax_id: String,
    bank_account: String,
    payment_details: String,
    country_code: String,
    vat_id: String,
    name_max: usize,
    lines_max: usize,
    line_max: usize,
    tax_id_max: usize,
    account_max: usize,
    details_max: usize,
}

async fn profile_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    messages: Vec<String>,
    errors: Vec<(String, String)>,
    typed: Option<ProfileInput>,
) -> Result<Response, WebError> {
    let shown = match typed {
        Some(t) => t,
        None => profile::get(inst)
            .await?
            .map(|p| ProfileInput {
                legal_name: p.legal_name,
                address: p.address.join("\n"),
                tax_id: p.tax_id,
                bank_account: p.bank_account,
                payment_details: p.payment_details,
                country_code: p.country_code,
                vat_id: p.vat_id,
            })
            .unwrap_or_default(),
    };
    let failed = !errors.is_empty();
    render_refused(
        &ProfilePage {
            c: chrome(state, inst, Some(s)).await?,
            messages,
            errors,
            legal_name: shown.legal_name,
            address: shown.address,
            tax_id: shown.tax_id,
            bank_account: shown.bank_account,
            payment_details: shown.payment_details,
            country_code: shown.country_code,
            vat_id: shown.vat_id,
            name_max: profile::NAME_MAX,
            lines_max: profile::ADDRESS_LINES_MAX,
            line_max: profile::ADDRESS_LINE_MAX,
            tax_id_max: profile::TAX_ID_MAX,
            account_max: profile::ACCOUNT_MAX,
            details_max: profile::DETAILS_MAX,
        },
        failed,
    )
}

/// `GET /admin/invoice-profile`.
pub async fn show_profile(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    profile_page(&state, &inst, &s, vec![], vec![], None).await
}

/// `POST /admin/invoice-profile`: every field checked; one bad field saves nothing and the page
/// shows what was typed with each problem named.
pub async fn save_profile(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let f = pairs(&raw);
    let input = ProfileInput {
        legal_name: value(&f, "legal_name"),
        address: value(&f, "address"),
        tax_id: value(&f, "tax_id"),
        bank_account: value(&f, "bank_account"),
        payment_details: value(&f, "payment_details"),
        country_code: value(&f, "country_code"),
        vat_id: value(&f, "vat_id"),
    };
    match profile::set(&inst, input.clone(), by).await {
        Ok(0) => {
            profile_page(
                &state,
                &inst,
                &s,
                vec![ctx_words(&state, &inst, &s).await?.t("nothing-changed")],
                vec![],
                None,
            )
            .await
        }
        Ok(n) => {
            profile_page(
                &state,
                &inst,
                &s,
                vec![
                    ctx_words(&state, &inst, &s)
                        .await?
                        .count("profile-saved", n),
                ],
                vec![],
                None,
            )
            .await
        }
        Err(HubError::Invalid(errors)) => {
            let errors = errors.into_iter().map(|e| (e.field, e.message)).collect();
            profile_page(&state, &inst, &s, vec![], errors, Some(input)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The reader's words, for the messages a handler writes before its page.
async fn ctx_words(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
) -> Result<crate::i18n::Tr, WebError> {
    let locale = super::pages::reader_locale(inst, Some(s)).await?;
    Ok(super::pages::words(state, locale))
}
