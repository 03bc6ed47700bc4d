//! Document pages and API: the versions panel on a document's card, upload (multipart) and download
//! (always as an attachment, with the type holdfast detected).

use super::hub::{CardExtras, detail_page};
use super::pages::Notes;
use super::{ApiError, CurrentInstance, WebError};
use crate::access::{Action, Module, Permission};
use crate::auth::signin::SessionInfo;
use crate::hub::documents;
use crate::hub::records::HubError;
use crate::hub::views::Row;
use crate::i18n::Sentence;
use crate::instances::Instance;
use crate::schema::DOCUMENTS;
use crate::web::Ctx;
use axum::extract::{Multipart, Path};
use axum::http::StatusCode;
use axum::response::Response;

use crate::web::html::esc;

pub async fn card(
    inst: &Instance,
    s: &SessionInfo,
    row: &Row,
    tr: &crate::i18n::Tr,
    when: super::time::Shown,
) -> Result<CardExtras, WebError> {
    let versions = documents::versions(inst, row.id).await?;
    let mut h = format!("<h2>{}</h2>", esc(&tr.t("doc-versions")));
    if versions.is_empty() {
        h.push_str(&format!(
            "<p class=\"hint\">{}</p>",
            esc(&tr.t("doc-no-file"))
        ));
    } else {
        h.push_str("<ul class=\"links\">");
        for v in &versions {
            h.push_str(&format!(
                "<li><a href=\"/m/documents/{}/download/{}\">v{} · {}</a> <span class=\"hint\">{} KiB · {} · {} · {}</span></li>",
                row.id,
                v.version,
                v.version,
                esc(&crate::hub::filetype::download_name(&v.filename, &v.content_type)),
                (v.size + 1023) / 1024,
                esc(&v.content_type),
                esc(&v.uploaded_by),
                when.at(&v.uploaded_at)
            ));
        }
        h.push_str("</ul>");
    }
    if s.grants
        .allows(Permission::Module(Module::Documents, Action::Edit))
    {
        h.push_str(&format!(
            "<form method=\"post\" action=\"/m/documents/{}/upload\" enctype=\"multipart/form-data\" class=\"stack\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <label>{} <input type=\"file\" name=\"file\" required></label>\
             <button class=\"button secondary\" type=\"submit\">{}</button></form>",
            row.id,
            esc(&s.csrf),
            esc(&tr.t("doc-upload-label")),
            esc(&tr.t("doc-upload"))
        ));
    }
    Ok(CardExtras {
        actions: vec![],
        html: h,
    })
}

/// Reads the one `file` part of an upload. The body is read to its end whatever it holds, so the
/// client always sees the answer: a part of another name or a second file is refused (as the
/// OpenAPI document says: one `file` part and nothing else), as is a file over `max` bytes.
pub(crate) async fn read_file(
    form: &mut Multipart,
    max: u64,
) -> Result<(String, Vec<u8>), WebError> {
    let mut found: Option<(String, Vec<u8>)> = None;
    let mut problem: Option<WebError> = None;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("upload: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        let wanted = name == "file" && found.is_none() && problem.is_none();
        if !wanted && problem.is_none() {
            problem = Some(if name == "file" {
                WebError::invalid("file", "send one file per upload")
            } else {
                WebError::invalid(
                    if name.is_empty() { "part" } else { &name },
                    "an upload takes one part, `file`, and nothing else",
                )
            });
        }
        let file_name = field.file_name().unwrap_or("document").to_string();
        let mut data = Vec::new();
        let mut too_large = false;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| WebError::BadRequest(format!("upload: {e}")))?
        {
            // Past the limit (or in a part that is refused anyway) the rest is read and dropped;
            // the request body limit bounds it. Answering before the client has sent everything
            // would close the connection under it, and the client could lose the answer.
            if !wanted || too_large || (data.len() + chunk.len()) as u64 > max {
                too_large = wanted;
                data = Vec::new();
                continue;
            }
            data.extend_from_slice(&chunk);
        }
        if too_large {
            problem = Some(WebError::refused("file", documents::too_large(max)));
        } else if wanted {
            found = Some((file_name, data));
        }
    }
    match (problem, found) {
        (Some(e), _) => Err(e),
        (None, Some(file)) => Ok(file),
        (None, None) => Err(WebError::refused(
            "file",
            Sentence::new("problem-file-choose", "choose a file"),
        )),
    }
}

/// Reads what is left of a multipart body and drops it (see `read_file`).
pub(super) async fn drain(form: &mut Multipart) {
    while let Ok(Some(mut field)) = form.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

pub async fn upload_page(
    ctx: Ctx,
    Path(id): Path<i64>,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let max = ctx.state.config.document_max_bytes;
    let result = match read_file(&mut form, max).await {
        Ok((name, data)) => documents::upload(&ctx.inst, id, &name, data, max, ctx.by.clone())
            .await
            .map_err(WebError::from),
        Err(e) => Err(e),
    };
    let notes = match result {
        Ok(_) => return Ok(super::hub::Done::Uploaded.redirect(&DOCUMENTS, id)),
        Err(e @ (WebError::Invalid { .. } | WebError::Conflict(_))) => {
            Notes::refused(vec![e.message_in(&ctx.words().await?)])
        }
        Err(e) => return Err(e),
    };
    detail_page(&ctx, &DOCUMENTS, id, notes).await
}

pub async fn upload_api(
    Ctx {
        state, inst, by, ..
    }: Ctx,
    super::api::ApiPath(id): super::api::ApiPath<i64>,
    super::api::ApiMultipart(mut form): super::api::ApiMultipart,
) -> Result<(StatusCode, axum::Json<serde_json::Value>), ApiError> {
    let max = state.config.document_max_bytes;
    let (name, data) = read_file(&mut form, max).await?;
    let v = documents::upload(&inst, id, &name, data, max, by).await?;
    let versions = documents::versions(&inst, id).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({ "version": v, "versions": versions })),
    ))
}

fn attachment(row: &crate::hub::documents::VersionRow, bytes: Vec<u8>) -> Response {
    super::headers::attachment(
        bytes,
        &row.content_type,
        &crate::hub::filetype::download_name(&row.filename, &row.content_type),
    )
}

pub async fn download(
    CurrentInstance(inst): CurrentInstance,
    Path((id, version)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let (row, data) = documents::download(&inst, id, version).await?;
    Ok(attachment(&row, data.expose().clone()))
}

pub async fn download_api(
    CurrentInstance(inst): CurrentInstance,
    super::api::ApiPath(id): super::api::ApiPath<i64>,
) -> Result<Response, ApiError> {
    let (row, data) = documents::download(&inst, id, 0)
        .await
        .map_err(|e: HubError| ApiError(e.into()))?;
    Ok(attachment(&row, data.expose().clone()))
}
