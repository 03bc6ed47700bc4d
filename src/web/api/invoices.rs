//! Invoice-specific API: lines, issue, paid, cancel (drafts), void (issued, with a reason), and a
//! draft from a project's unbilled time. Money is integer minor units of the invoice's currency.

use super::ApiJson;
use super::ApiPath;
use crate::hub::invoices::{self, LineInput};
use crate::hub::records;
use crate::schema::INVOICES;
use crate::web::Ctx;
use crate::web::CurrentInstance;
use crate::web::error::ApiError;
use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    description: String,
    /// Decimal quantity as text or number, up to three decimals.
    quantity: Value,
    /// Price per unit in integer minor units of the invoice's currency (9550 = 95.50).
    unit_price: i64,
    /// Percent, up to three decimals (e.g. 23 or 8.5).
    tax_rate: Value,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn with_lines(inst: &crate::instances::Instance, id: i64) -> Result<Value, ApiError> {
    let row = records::get(inst, &INVOICES, id).await?;
    let mut j = records::to_json(&INVOICES, &row);
    j["lines"] = json!(invoices::lines(inst, id).await?);
    Ok(j)
}

pub async fn lines(
    CurrentInstance(inst): CurrentInstance,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(with_lines(&inst, id).await?))
}

pub async fn add_line(
    Ctx { inst, by, .. }: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<LineBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let line = LineInput {
        description: b.description,
        quantity: text(&b.quantity),
        unit_price: b.unit_price,
        tax_rate: text(&b.tax_rate),
    };
    invoices::add_line(&inst, id, line, by).await?;
    Ok((StatusCode::CREATED, Json(with_lines(&inst, id).await?)))
}

pub async fn remove_line(
    Ctx { inst, by, .. }: Ctx,
    ApiPath((id, line)): ApiPath<(i64, i64)>,
) -> Result<Json<Value>, ApiError> {
    invoices::remove_line(&inst, id, line, by).await?;
    Ok(Json(with_lines(&inst, id).await?))
}

pub async fn transition(
    Ctx { inst, by: b, .. }: Ctx,
    ApiPath((id, action)): ApiPath<(i64, String)>,
) -> Result<Json<Value>, ApiError> {
    match action.as_str() {
        "issue" => {
            invoices::issue(&inst, id, b).await?;
        }
        "paid" => invoices::set_status(&inst, id, "paid", b).await?,
        "cancel" => invoices::set_status(&inst, id, "cancelled", b).await?,
        _ => return Err(crate::web::WebError::NotFound.into()),
    }
    Ok(Json(with_lines(&inst, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoidBody {
    reason: String,
}

/// Voids an issued invoice; the reason is required (an empty one is refused with 422).
pub async fn void(
    Ctx { inst, by, .. }: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<VoidBody>,
) -> Result<Json<Value>, ApiError> {
    invoices::void(&inst, id, b.reason, by).await?;
    Ok(Json(with_lines(&inst, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromProject {
    project_id: i64,
    #[serde(default)]
    tax_rate: Option<Value>,
}

pub async fn from_project(
    Ctx { inst, by, .. }: Ctx,
    ApiJson(b): ApiJson<FromProject>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let rate = b.tax_rate.as_ref().map(text).unwrap_or_else(|| "0".into());
    let id = invoices::from_project(&inst, b.project_id, rate, by).await?;
    Ok((StatusCode::CREATED, Json(with_lines(&inst, id).await?)))
}
