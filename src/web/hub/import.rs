//! CSV import with a preview.

use super::*;

#[derive(Template)]
#[template(path = "hub_import.html")]
struct ImportPage {
    c: Chrome,
    def: &'static ModuleDef,
    module_label: String,
    columns: String,
    messages: Vec<String>,
    problems: Vec<Problem>,
    preview_rows: Option<usize>,
    csv: String,
}

async fn import_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    def: &'static ModuleDef,
    imported: Option<usize>,
    problems: Vec<Problem>,
    preview: Option<(usize, String)>,
) -> Result<Response, WebError> {
    let failed = !problems.is_empty();
    let c = chrome(state, inst, Some(s)).await?;
    let problems = problems
        .into_iter()
        .map(|p| Problem {
            message: crate::web::words::csv_problem(&c.tr, &p),
            ..p
        })
        .collect();
    render_refused(
        &ImportPage {
            module_label: labels::module(&c.tr, def),
            messages: imported
                .map(|n| c.count("import-done", n))
                .into_iter()
                .collect(),
            c,
            def,
            columns: std::iter::once("id")
                .chain(def.fields.iter().map(|f| f.name))
                .collect::<Vec<_>>()
                .join(","),
            problems,
            preview_rows: preview.as_ref().map(|p| p.0),
            csv: preview.map(|p| p.1).unwrap_or_default(),
        },
        failed,
    )
}

pub async fn import_form(
    Ctx { state, inst, s, .. }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
) -> Result<Response, WebError> {
    import_page(&state, &inst, &s, def, None, vec![], None).await
}

/// First post: the uploaded file is checked (dry run) and previewed; the confirmation posts the same
/// text back and imports it.
pub async fn import_submit(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let mut csv: Option<String> = None;
    let mut confirm = false;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("upload: {e}")))?
    {
        match field.name() {
            Some("file") | Some("csv") => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| WebError::BadRequest(format!("upload: {e}")))?;
                csv = Some(String::from_utf8_lossy(&bytes).into_owned());
            }
            Some("confirm") => confirm = true,
            _ => {}
        }
    }
    let csv = csv.ok_or_else(|| {
        WebError::refused(
            "file",
            crate::i18n::Sentence::new("problem-csv-choose", "choose a CSV file"),
        )
    })?;
    match csvio::import(&inst, def, csv.clone().into_bytes(), !confirm, by).await {
        Ok(r) if r.dry_run => {
            import_page(&state, &inst, &s, def, None, vec![], Some((r.rows, csv))).await
        }
        Ok(r) => import_page(&state, &inst, &s, def, Some(r.created), vec![], None).await,
        Err(ImportError::Problems(p)) => import_page(&state, &inst, &s, def, None, p, None).await,
        Err(ImportError::Hub(e)) => Err(e.into()),
    }
}
