//! Module-specific parts of record cards: invoice lines and actions, the project's "invoice the
//! unbilled time" action, document versions and upload.

use crate::access::{Action, Module, Permission};
use crate::app::AppState;
use crate::auth::signin::SessionInfo;
use crate::hub::Value;
use crate::hub::invoices::{self, LineInput};
use crate::hub::records::HubError;
use crate::hub::views::Row;
use crate::instances::Instance;
use crate::schema::{INVOICES, ModuleDef, PROJECTS};
use crate::web::Ctx;
use crate::web::WebError;
use crate::web::hub::{CardExtras, card_after, money};
use axum::extract::{Path, RawForm};
use axum::response::{IntoResponse, Redirect, Response};

use crate::web::html::esc;

pub async fn card_extras(
    _state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    def: &'static ModuleDef,
    row: &Row,
) -> Result<CardExtras, WebError> {
    match def.module {
        Module::Invoices => invoice_extras(inst, s, row).await,
        Module::Projects
            if crate::web::INVOICE_FROM_PROJECT
                .iter()
                .all(|p| s.grants.allows(*p)) =>
        {
            Ok(CardExtras {
                actions: vec![(
                    format!("/m/projects/{}/invoice", row.id),
                    "Invoice unbilled time".into(),
                )],
                html: String::new(),
            })
        }
        Module::Documents => crate::web::documents::card(inst, s, row).await,
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
) -> Result<CardExtras, WebError> {
    let lines = invoices::lines(inst, row.id).await?;
    let status = match row.get("status") {
        Some(Value::Text(t)) => t.clone(),
        _ => String::new(),
    };
    let currency = match row.get("currency") {
        Some(Value::Text(t)) => t.clone(),
        _ => String::new(),
    };
    let amount = |k: &str| match row.get(k) {
        Some(Value::Integer(i)) => money(*i),
        _ => "0.00".into(),
    };
    let editable = status == "draft"
        && s.grants
            .allows(Permission::Module(Module::Invoices, Action::Edit));
    let csrf = esc(&s.csrf);
    let mut h = String::from(
        "<h2>Lines</h2><div class=\"table-wrap\"><table class=\"data\"><thead><tr><th>Description</th><th>Qty</th><th>Unit price</th><th>Tax</th><th class=\"money\">Net</th><th></th></tr></thead><tbody>",
    );
    for l in &lines {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"money\">{}</td><td>{}%</td><td class=\"money\">{}</td><td>",
            esc(&l.description),
            format_args!("{}.{:03}", l.quantity_milli / 1000, l.quantity_milli % 1000),
            money(l.unit_price),
            format_args!("{}.{:02}", l.tax_rate_bp / 100, l.tax_rate_bp % 100),
            money(l.net)
        ));
        if editable {
            h.push_str(&format!(
                "<form method=\"post\" action=\"/m/invoices/{}/lines/{}/delete\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button class=\"link\" type=\"submit\">Remove</button></form>",
                row.id, l.id
            ));
        }
        h.push_str("</td></tr>");
    }
    h.push_str(&format!(
        "</tbody></table></div><dl class=\"fields\"><dt>Status</dt><dd><span class=\"tag\">{}</span></dd><dt>Subtotal</dt><dd>{} {}</dd><dt>Tax</dt><dd>{} {}</dd><dt>Total</dt><dd><strong>{} {}</strong></dd></dl>",
        esc(&status), amount("subtotal"), esc(&currency), amount("tax_total"), esc(&currency), amount("total"), esc(&currency)
    ));
    if editable {
        h.push_str(&format!(
            "<form method=\"post\" action=\"/m/invoices/{}/lines\" class=\"form-grid\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label class=\"wide\">Description <input name=\"description\" required maxlength=\"500\"></label>\
             <label>Quantity <input name=\"quantity\" inputmode=\"decimal\" value=\"1\" required></label>\
             <label>Unit price (cents) <input name=\"unit_price\" type=\"number\" min=\"0\" step=\"1\" required></label>\
             <label>Tax rate (%) <input name=\"tax_rate\" inputmode=\"decimal\" value=\"23\" required></label>\
             <div class=\"wide\"><button class=\"button secondary\" type=\"submit\">Add line</button></div></form>",
            row.id
        ));
    }
    h.push_str(&crate::web::invoice_pages::card_links(s, row.id));
    let mut actions = Vec::new();
    if s.grants
        .allows(Permission::Module(Module::Invoices, Action::Edit))
    {
        match status.as_str() {
            "draft" => {
                actions.push((
                    format!("/m/invoices/{}/do/issue", row.id),
                    "Issue invoice".to_string(),
                ));
                actions.push((
                    format!("/m/invoices/{}/do/cancel", row.id),
                    "Cancel".to_string(),
                ));
            }
            "issued" => {
                actions.push((
                    format!("/m/invoices/{}/do/paid", row.id),
                    "Mark paid".to_string(),
                ));
                actions.push((
                    format!("/m/invoices/{}/do/cancel", row.id),
                    "Cancel".to_string(),
                ));
            }
            _ => {}
        }
    }
    Ok(CardExtras { actions, html: h })
}

/// The invoice and project cards word a refused field with its name: their forms have several.
fn named(e: crate::hub::records::FieldError) -> String {
    format!("{}: {}", e.field, e.message)
}

pub async fn add_line(
    ctx: Ctx,
    Path(id): Path<i64>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let f = crate::web::form::pairs(&raw);
    let price = crate::web::form::value(&f, "unit_price")
        .trim()
        .parse::<i64>()
        .map_err(|_| HubError::field("unit_price", "must be a whole number of cents"));
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
                .map(|()| "Line added.".to_string())
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
        .map(|()| "Line removed.".to_string());
    card_after(&ctx, &INVOICES, id, r, named).await
}

pub async fn transition(
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let (inst, b) = (&ctx.inst, ctx.by.clone());
    let r = match action.as_str() {
        "issue" => invoices::issue(inst, id, b)
            .await
            .map(|n| format!("Invoice {n} issued.")),
        "paid" => invoices::set_status(inst, id, "paid", b)
            .await
            .map(|()| "Marked paid.".to_string()),
        "cancel" => invoices::set_status(inst, id, "cancelled", b)
            .await
            .map(|()| "Cancelled.".to_string()),
        _ => return Err(WebError::NotFound),
    };
    card_after(&ctx, &INVOICES, id, r, named).await
}

pub async fn invoice_project(ctx: Ctx, Path(id): Path<i64>) -> Result<Response, WebError> {
    match invoices::from_project(&ctx.inst, id, "23".into(), ctx.by.clone()).await {
        Ok(inv) => Ok(Redirect::to(&format!("/m/invoices/{inv}")).into_response()),
        Err(e) => card_after(&ctx, &PROJECTS, id, Err(e), named).await,
    }
}
