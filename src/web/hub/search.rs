//! Search across the modules the caller may see (page and `GET /api/v1/search`).

use super::*;

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    results: Vec<(String, String, String)>,
    /// (module label, that module's list searched for the same words).
    module_links: Vec<(String, String)>,
}

/// Best matches across the modules the user may see: (module, link, title).
pub async fn search_results(
    inst: &Instance,
    s: &SessionInfo,
    q: &str,
) -> Result<Vec<(&'static ModuleDef, String, String)>, WebError> {
    if !views::searchable(q) {
        return Ok(vec![]);
    }
    let text = q.to_string();
    // Only the modules this person may see are searched at all.
    let visible: Vec<&'static schema::ModuleDef> = schema::ALL
        .iter()
        .copied()
        .filter(|def| can(s, def, Action::View))
        .collect();
    let hits = views::search(inst, text, visible, 100).await?;
    Ok(hits
        .into_iter()
        .filter_map(|(slug, id, title)| {
            let def = schema::by_slug(slug)?;
            Some((def, format!("/m/{slug}/{id}"), title))
        })
        .collect())
}

/// The `q` parameter of a search, or `""`.
fn search_term(query: Option<&str>) -> String {
    query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

pub async fn search(
    Ctx { state, inst, s, .. }: Ctx,
    RawQuery(q): RawQuery,
) -> Result<Response, WebError> {
    let q = search_term(q.as_deref());
    let c = chrome(&state, &inst, Some(&s)).await?;
    let results = search_results(&inst, &s, &q)
        .await?
        .into_iter()
        .map(|(def, link, title)| (crate::web::labels::module(&c.tr, def), link, title))
        .collect();
    // The cross-module list shows each module's best few; every match is one click away, paged.
    let encoded = serde_urlencoded::to_string([("q", q.as_str())]).unwrap_or_default();
    let module_links = schema::ALL
        .iter()
        .filter(|def| can(&s, def, Action::View))
        .map(|def| {
            (
                crate::web::labels::module(&c.tr, def),
                format!("/m/{}?{encoded}", def.slug),
            )
        })
        .collect();
    render(&SearchPage {
        c,
        q,
        results,
        module_links,
    })
}

pub async fn search_api(
    Ctx { inst, s, .. }: Ctx,
    RawQuery(q): RawQuery,
) -> Result<axum::Json<Json>, crate::web::ApiError> {
    let q = search_term(q.as_deref());
    let results = search_results(&inst, &s, &q).await?;
    Ok(axum::Json(serde_json::json!({
        "items": results.into_iter().map(|(m, link, title)| serde_json::json!({ "module": m.label, "title": title, "link": link })).collect::<Vec<_>>()
    })))
}
