//! Module-specific parts of record cards: invoice lines and actions (voiding asks for a reason on
//! its own page), the project's "invoice the unbilled time" action, document versions and upload.

use crate::access::{Action, Module, Permission};
use crate::app::AppState;
use crate::auth::signin::SessionInfo;
use crate::hub::Value;
use crate::hub::invoices::{self, LineInput};
use crate::hub::money::{self as fmt_money, Locale};
use crate::hub::records::HubError;
use crate::hub::settings::{self as money_settings, MoneySettings};
use crate::hub::views::Row;
use crate::instances::Instance;
use crate::schema::{INVOICES, ModuleDef, PROJECTS};
use crate::web::Ctx;
use crate::web::WebError;
use crate::web::hub::{CardExtras, Done, card_after};
use crate::web::pages::{Chrome, chrome, render_refused};
use askama::Template;
use axum::extract::{Path, RawForm};
use axum::response::{IntoResponse, Redirect, Response};

use crate::i18n::Tr;
use crate::web::html::esc;

pub async fn card_extras(
    _state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    def: &'static ModuleDef,
    row: &Row,
    tr: &Tr,
    when: crate::web::time::Shown,
) -> Result<CardExtras, WebError> {
    match def.module {
        Module::Invoices => invoice_extras(inst, s, row, tr).await,
        Module::Projects
            if crate::web::INVOICE_FROM_PROJECT
                .iter()
                .all(|p| s.grants.allows(*p)) =>
        {
            Ok(CardExtras {
                actions: vec![(
                    format!("/m/projects/{}/invoice", row.id),
                    tr.t("card-invoice-time"),
                )],
                html: String::new(),
            })
        }
        Module::Documents => crate::web::documents::card(inst, s, row, tr, when).await,
        _ => Ok(CardExtras {
            actions: vec![],
            html: String::new(),
        }),
    }
}

async fn invoice_extras(
    inst: &Instance,
    s: &SessionInfo,
    row: &Row,
    tr: &Tr,
) -> Result<CardExtras, WebError> {
    let lines = invoices::lines(inst, row.id).await?;
    let settings = money_settings::get(inst).await?;
    let locale = tr.locale;
    let status = match row.get("status") {
        Some(Value::Text(t)) => t.clone(),
        _ => String::new(),
    };
    let currency = match row.get("currency") {
        Some(Value::Text(t)) => t.clone(),
        _ => String::new(),
    };
    let amount = |k: &str| match row.get(k) {
        Some(Value::Integer(i)) => fmt_money::format_in(*i, &currency, locale),
        _ => fmt_money::format_in(0, &currency, locale),
    };
    let may_edit = s
        .grants
        .allows(Permission::Module(Module::Invoices, Action::Edit));
    let editable = status == "draft" && may_edit;
    let csrf = esc(&s.csrf);
    let mut h = format!(
        "<h2>{}</h2><div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-label=\"{}\"><table class=\"data\"><thead><tr><th>{}</th><th>{}</th><th class=\"money\">{}</th><th>{}</th><th class=\"money\">{}</th><th><span class=\"visually-hidden\">{}</span></th></tr></thead><tbody>",
        esc(&tr.t("card-lines")),
        esc(&tr.t("card-lines")),
        esc(&tr.t("card-description")),
        esc(&tr.t("card-qty")),
        esc(&tr.t("card-unit-price")),
        esc(&tr.t("card-tax")),
        esc(&tr.t("card-net")),
        esc(&tr.t("account-action")),
    );
    for l in &lines {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"money\">{}</td><td>{}</td><td class=\"money\">{}</td><td>",
            esc(&l.description),
            fmt_money::format_quantity(l.quantity_milli, locale),
            fmt_money::format(l.unit_price, locale),
            fmt_money::format_percent(l.tax_rate_bp, locale),
            fmt_money::format(l.net, locale)
        ));
        if editable {
            h.push_str(&format!(
                "<form method=\"post\" action=\"/m/invoices/{}/lines/{}/delete\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button class=\"link\" type=\"submit\">{}</button></form>",
                row.id,
                l.id,
                esc(&tr.t("card-remove"))
            ));
        }
        h.push_str("</td></tr>");
    }
    h.push_str(&format!(
        "</tbody></table></div><dl class=\"fields\"><dt>{}</dt><dd><span class=\"tag\">{}</span></dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd><strong>{}</strong></dd></dl>",
        esc(&tr.t("field-invoices-status")),
        esc(&crate::web::labels::choice(tr, &status)),
        esc(&tr.t("field-invoices-subtotal")),
        esc(&amount("subtotal")),
        esc(&tr.t("field-invoices-tax_total")),
        esc(&amount("tax_total")),
        esc(&tr.t("field-invoices-total")),
        esc(&amount("total"))
    ));
    if editable {
        h.push_str(&format!(
            "<form method=\"post\" action=\"/m/invoices/{}/lines\" class=\"form-grid\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label class=\"wide\">{} <input name=\"description\" required maxlength=\"500\"></label>\
             <label>{} <input name=\"quantity\" inputmode=\"decimal\" value=\"1\" required></label>\
             <label>{} ({}) <input name=\"unit_price\" type=\"text\" inputmode=\"decimal\" autocomplete=\"off\" placeholder=\"{}\" required></label>\
             <label>{} <select name=\"tax_rate\">{}</select></label>\
             <div class=\"wide\"><button class=\"button secondary\" type=\"submit\">{}</button></div></form>",
            row.id,
            esc(&tr.t("card-description")),
            esc(&tr.t("card-quantity")),
            esc(&tr.t("card-unit-price")),
            esc(&currency),
            esc(&fmt_money::format_plain(9550, locale)),
            esc(&tr.t("card-tax-rate")),
            tax_options(&settings, locale),
            esc(&tr.t("card-add-line"))
        ));
    }
    if status == "issued" && may_edit {
        // Voiding cannot be undone: it has its own page that asks for the reason.
        h.push_str(&format!(
            "<p><a class=\"button danger\" href=\"/m/invoices/{}/void\">{}…</a></p>",
            row.id,
            esc(&tr.t("void-button"))
        ));
    }
    h.push_str(&crate::web::invoice_pages::card_links(s, row.id, tr));
    let mut actions = Vec::new();
    if may_edit {
        match status.as_str() {
            "draft" => {
                actions.push((
                    format!("/m/invoices/{}/do/issue", row.id),
                    tr.t("card-issue"),
                ));
                actions.push((
                    format!("/m/invoices/{}/do/cancel", row.id),
                    tr.t("card-discard"),
                ));
            }
            "issued" => {
                actions.push((
                    format!("/m/invoices/{}/do/paid", row.id),
                    tr.t("card-mark-paid"),
                ));
            }
            _ => {}
        }
    }
    Ok(CardExtras { actions, html: h })
}

/// The `<option>`s of the configured tax rates, the default one selected. The value is the rate
/// in percent as the API takes it ("23.00").
fn tax_options(settings: &MoneySettings, locale: Locale) -> String {
    let any_default = settings.tax_rates.iter().any(|r| r.is_default);
    settings
        .tax_rates
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let selected = r.is_default || (!any_default && i == 0);
            format!(
                "<option value=\"{}.{:02}\"{}>{} ({})</option>",
                r.rate_bp / 100,
                r.rate_bp % 100,
                if selected { " selected" } else { "" },
                esc(&r.name),
                esc(&fmt_money::format_percent(r.rate_bp, locale))
            )
        })
        .collect()
}

/// A refused value of the invoice and project cards, whose forms have several fields: a particular
/// refusal is a whole sentence that names what it is about; a refusal of a kind ("is required")
/// follows the field's label.
fn named(tr: &Tr, e: crate::hub::records::FieldError) -> String {
    let said = crate::web::labels::problem(tr, &e);
    if matches!(e.problem, Some(crate::hub::problem::Problem::Said(_))) {
        return said;
    }
    let label = match e.field.as_str() {
        "description" => tr.t("card-description"),
        "quantity" => tr.t("card-quantity"),
        "unit_price" => tr.t("card-unit-price"),
        "tax_rate" => tr.t("card-tax-rate"),
        other => other.to_string(),
    };
    format!("{label}: {said}")
}

pub async fn add_line(
    ctx: Ctx,
    Path(id): Path<i64>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let f = crate::web::form::pairs(&raw);
    let tr = ctx.words().await?;
    let price = fmt_money::parse(
        &crate::web::form::value(&f, "unit_price"),
        tr.locale,
        crate::schema::MONEY_MAX,
    )
    .map_err(|e| {
        // Worded here already, in the reader's language, with the field's label.
        HubError::Invalid(vec![crate::hub::records::FieldError {
            field: tr.t("card-unit-price"),
            message: crate::web::labels::money_problem(&tr, &e),
            problem: None,
        }])
    });
    let r = match price {
        Ok(unit_price) => {
            let line = LineInput {
                description: crate::web::form::value(&f, "description"),
                quantity: crate::web::form::value(&f, "quantity"),
                unit_price,
                tax_rate: crate::web::form::value(&f, "tax_rate"),
            };
            invoices::add_line(&ctx.inst, id, line, ctx.by.clone())
                .await
                .map(|()| Done::LineAdded)
        }
        Err(e) => Err(e),
    };
    card_after(&ctx, &INVOICES, id, r, named).await
}

pub async fn remove_line(
    ctx: Ctx,
    Path((id, line)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let r = invoices::remove_line(&ctx.inst, id, line, ctx.by.clone())
        .await
        .map(|()| Done::LineRemoved);
    card_after(&ctx, &INVOICES, id, r, named).await
}

pub async fn transition(
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let (inst, b) = (&ctx.inst, ctx.by.clone());
    let r = match action.as_str() {
        "issue" => invoices::issue(inst, id, b).await.map(|_| Done::Issued),
        "paid" => invoices::set_status(inst, id, "paid", b)
            .await
            .map(|()| Done::Paid),
        "cancel" => invoices::set_status(inst, id, "cancelled", b)
            .await
            .map(|()| Done::Discarded),
        _ => return Err(WebError::NotFound),
    };
    card_after(&ctx, &INVOICES, id, r, named).await
}

pub async fn invoice_project(ctx: Ctx, Path(id): Path<i64>) -> Result<Response, WebError> {
    let bp = money_settings::get(&ctx.inst).await?.default_rate_bp();
    let rate = format!("{}.{:02}", bp / 100, bp % 100);
    match invoices::from_project(&ctx.inst, id, rate, ctx.by.clone()).await {
        Ok(inv) => Ok(Redirect::to(&format!("/m/invoices/{inv}")).into_response()),
        Err(e) => card_after(&ctx, &PROJECTS, id, Err(e), named).await,
    }
}

#[derive(Template)]
#[template(path = "invoice_void.html")]
struct VoidPage {
    c: Chrome,
    id: i64,
    number: String,
    total: String,
    reason: String,
    errors: Vec<String>,
}

async fn void_page(
    ctx: &Ctx,
    id: i64,
    reason: String,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let row = crate::hub::records::get(&ctx.inst, &INVOICES, id).await?;
    if row.get("status") != Some(&Value::Text("issued".into())) {
        return card_after(
            ctx,
            &INVOICES,
            id,
            Err(HubError::Refused(
                crate::hub::problem::Conflict::InvoiceStatus {
                    status: match row.get("status") {
                        Some(Value::Text(s)) => s.clone(),
                        _ => String::new(),
                    },
                    want: "issued",
                },
            )),
            named,
        )
        .await;
    }
    let c = chrome(&ctx.state, &ctx.inst, Some(&ctx.s)).await?;
    let locale = c.tr.locale;
    let number = match row.get("number") {
        Some(Value::Text(n)) => n.clone(),
        _ => String::new(),
    };
    let currency = match row.get("currency") {
        Some(Value::Text(c)) => c.clone(),
        _ => String::new(),
    };
    let total = match row.get("total") {
        Some(Value::Integer(t)) => fmt_money::format_in(*t, &currency, locale),
        _ => String::new(),
    };
    let refused = !errors.is_empty();
    render_refused(
        &VoidPage {
            c,
            id,
            number,
            total,
            reason,
            errors,
        },
        refused,
    )
}

/// `GET /m/invoices/{id}/void`: what voiding does, and the reason it needs.
pub async fn void_form(ctx: Ctx, Path(id): Path<i64>) -> Result<Response, WebError> {
    void_page(&ctx, id, String::new(), vec![]).await
}

/// `POST /m/invoices/{id}/void`: voids with the reason given; without one, nothing changes and
/// the page asks again.
pub async fn void_submit(
    ctx: Ctx,
    Path(id): Path<i64>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let reason = crate::web::form::value(&crate::web::form::pairs(&raw), "reason");
    match invoices::void(&ctx.inst, id, reason.clone(), ctx.by.clone()).await {
        Ok(()) => Ok(Done::Voided.redirect(&INVOICES, id)),
        Err(HubError::Invalid(e)) => {
            void_page(&ctx, id, reason, e.into_iter().map(|e| e.message).collect()).await
        }
        Err(e) => card_after(&ctx, &INVOICES, id, Err(e), named).await,
    }
}
