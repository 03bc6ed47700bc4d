//! `GET /api/v1/audit`: the security log for SIEM scripts, with the same filters as the admin page.

use crate::app::AppState;
use crate::audit;
use crate::web::CurrentInstance;
use crate::web::admin::LogQuery;
use crate::web::error::ApiError;
use axum::Json;
use axum::extract::State;
use serde_json::json;

pub async fn list(
    State(_state): State<AppState>,
    CurrentInstance(inst): CurrentInstance,
    super::ApiQuery(q): super::ApiQuery<LogQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let filter = q.filter(100)?;
    let limit = filter.limit;
    let rows = audit::log::page(&inst, filter).await?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(Json(json!({ "entries": rows, "next_before": next })))
}
