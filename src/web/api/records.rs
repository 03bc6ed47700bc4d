//! `/api/v1/<module>`: list, create, read, change, delete, CSV export and import for every module.
//! Which module is handled comes from the route table (one set of routes per module, each with its
//! own permission).

use super::ApiJson;
use super::ApiPath;
use crate::hub::csvio;
use crate::hub::records::{self, ListParams};
use crate::schema::ModuleDef;
use crate::web::Ctx;
use crate::web::error::ApiError;
use crate::web::{CurrentInstance, WebError};
use axum::Json;
use axum::extract::{Extension, RawQuery};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Which module a route serves; set by the route table.
#[derive(Clone, Copy)]
pub struct ModuleRef(pub &'static ModuleDef);

pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
        .unwrap_or_default()
}

pub async fn list(
    CurrentInstance(inst): CurrentInstance,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    RawQuery(q): RawQuery,
) -> Result<Json<records::PageJson>, ApiError> {
    let params = ListParams::from_api_pairs(def, &query_pairs(q.as_deref()), 50)?;
    let page = records::list(&inst, def, &params).await?;
    Ok(Json(records::PageJson { def, page }))
}

pub async fn create(
    Ctx { inst, by, .. }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Response, ApiError> {
    records::check_json_types(def, &body, false)?;
    let rec = records::create(&inst, def, body, by).await?;
    let location = format!("/api/v1/{}/{}", def.slug, rec["id"]);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(rec),
    )
        .into_response())
}

pub async fn get(
    CurrentInstance(inst): CurrentInstance,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let row = records::get(&inst, def, id).await?;
    Ok(Json(records::to_json(def, &row)))
}

/// `If-Match: <version>` makes the change conditional on nobody else having changed the record.
pub async fn patch(
    Ctx { inst, by, .. }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    records::check_json_types(def, &body, true)?;
    let expected = match headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        Some(v) => Some(v.trim_matches('"').parse::<i64>().map_err(|_| {
            WebError::BadRequest("If-Match must be the record's version number".into())
        })?),
        None => None,
    };
    Ok(Json(
        records::update(&inst, def, id, body, expected, by).await?,
    ))
}

pub async fn delete(
    Ctx { inst, by, .. }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    records::delete(&inst, def, id, by).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn comments(
    CurrentInstance(inst): CurrentInstance,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let items = records::comments(&inst, def, id).await?;
    Ok(Json(json!({ "items": items })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    body: String,
}

/// A comment is a change to the record's card: the route asks for the module's edit right.
pub async fn add_comment(
    Ctx { inst, by, .. }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<CommentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    records::add_comment(&inst, def, id, b.body, by).await?;
    let items = records::comments(&inst, def, id).await?;
    Ok((StatusCode::CREATED, Json(json!({ "items": items }))))
}

pub async fn export_csv(
    Ctx { inst, by, .. }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = ListParams::from_api_pairs(def, &query_pairs(q.as_deref()), 500)?;
    let mut export = csvio::export(inst, def, params, by).await?;
    // Pages are read while the client takes the earlier ones (two in flight at most); when the
    // client goes away the sender fails and reading stops. A failure part-way cannot change the
    // status any more: the response is cut off, so the client sees an incomplete file, not a short one.
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let slug = def.slug;
    tokio::spawn(async move {
        loop {
            let item = match export.next_chunk().await {
                Ok(Some(chunk)) => Ok(bytes::Bytes::from(chunk)),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(module = slug, error = %e, "CSV export broke off");
                    Err(std::io::Error::other(e.to_string()))
                }
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    let disposition = format!("attachment; filename=\"holdfast-{}.csv\"", def.slug);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        axum::body::Body::new(ChunkBody(rx)),
    )
        .into_response())
}

/// A response body fed, chunk by chunk, by a task through a channel.
struct ChunkBody(tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>);

impl http_body::Body for ChunkBody {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|item| item.map(|r| r.map(http_body::Frame::data)))
    }
}

const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;

pub async fn import_csv(
    Ctx { inst, by, .. }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    super::ApiBytes(body): super::ApiBytes,
) -> Result<Response, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("text/csv") {
        return Err(WebError::BadRequest("send the file as Content-Type: text/csv".into()).into());
    }
    if body.len() > MAX_IMPORT_BYTES {
        return Err(WebError::BadRequest(format!(
            "the file is larger than {} MiB",
            MAX_IMPORT_BYTES / 1024 / 1024
        ))
        .into());
    }
    let dry_run = query_pairs(q.as_deref())
        .iter()
        .any(|(k, v)| k == "dry_run" && (v == "true" || v == "1"));
    let report = csvio::import(&inst, def, body.to_vec(), dry_run, by).await?;
    let status = if dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(json!(report))).into_response())
}
