//! A module's list page: search, filters, sort, paging; the choices of filters and forms.

use super::*;

struct ListRow {
    id: i64,
    cells: Vec<Cell>,
}

struct FilterView {
    name: String,
    label: &'static str,
    options: Vec<(String, String)>,
    selected: String,
}

#[derive(Template)]
#[template(path = "hub_list.html")]
struct ListPage {
    c: Chrome,
    def: &'static ModuleDef,
    headers: Vec<&'static str>,
    rows: Vec<ListRow>,
    errors: Vec<String>,
    q: String,
    sort: String,
    sorts: Vec<(String, String)>,
    filters: Vec<FilterView>,
    filter_query: String,
    next: Option<String>,
    can_create: bool,
    can_export: bool,
    can_import: bool,
}

/// The choices of a select. A reference offers the first 500 records by name, and always `current`
/// (the record's value, the chosen filter): were it missing, the browser would show another choice
/// and a saved form would silently point the record somewhere else. A reference to a module the
/// caller may not see offers no titles at all (see `ref_widget`).
pub(super) async fn options_for(
    inst: &Instance,
    s: &SessionInfo,
    kind: Kind,
    current: &str,
) -> Result<Vec<(String, String)>, WebError> {
    match kind {
        Kind::Ref(m) if !sees(s, m) => Ok(vec![]),
        Kind::Ref(m) => {
            let d = schema::by_module(m);
            let current: Option<i64> = current.parse().ok();
            let (rows, extra) = views::choices(inst, d, current).await?;
            let mut options: Vec<(String, String)> = rows
                .iter()
                .map(|r| {
                    let t = match r.get(d.title) {
                        Some(Value::Text(t)) => t.clone(),
                        _ => format!("#{}", r.id),
                    };
                    (r.id.to_string(), t)
                })
                .collect();
            if let Some((id, title)) = extra {
                options.insert(0, (id.to_string(), title));
            }
            Ok(options)
        }
        Kind::User => Ok(crate::auth::directory::usernames(inst)
            .await?
            .into_iter()
            .map(|u| (u.clone(), u))
            .collect()),
        Kind::Choice(opts) => Ok(opts.iter().map(|o| (o.to_string(), human(o))).collect()),
        Kind::Bool => Ok(vec![
            ("true".into(), "yes".into()),
            ("false".into(), "no".into()),
        ]),
        _ => Ok(vec![]),
    }
}

pub async fn list(
    Ctx { state, inst, s, .. }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    RawQuery(q): RawQuery,
) -> Result<Response, WebError> {
    let pairs = query_pairs(q.as_deref());
    let mut errors = Vec::new();
    let params = match ListParams::from_pairs(def, &pairs, 50) {
        Ok(p) => p,
        Err(e) => {
            errors.push(e.to_string());
            ListParams {
                limit: 50,
                ..Default::default()
            }
        }
    };
    let page = match records::list(&inst, def, &params).await {
        Ok(p) => p,
        Err(HubError::Invalid(e)) => {
            errors.extend(e.into_iter().map(|e| format!("{}: {}", e.field, e.message)));
            records::list(
                &inst,
                def,
                &ListParams {
                    limit: 50,
                    ..Default::default()
                },
            )
            .await?
        }
        Err(e) => return Err(e.into()),
    };
    let titles = ref_titles(&inst, &s, def, &page.rows).await?;
    let fmt = crate::hub::settings::locale(&inst).await?;
    let cols: Vec<&'static schema::Field> = def.fields.iter().filter(|f| f.list).collect();
    let invoices = def.module == crate::access::Module::Invoices;
    let mut headers: Vec<&'static str> = cols.iter().map(|f| f.label).collect();
    // Invoices are named by their number (first column, drafts have none yet) and end with their
    // status and total; every header is pushed together with its cell below, so the two stay in
    // step.
    if invoices {
        headers.insert(0, "Invoice");
        headers.extend(["Status", "Total"]);
    }
    let rows = page
        .rows
        .iter()
        .map(|r| {
            let mut cells: Vec<Cell> = cols
                .iter()
                .map(|f| display(def, f.name, r, &titles, fmt))
                .collect();
            if invoices {
                let num = display(def, "number", r, &titles, fmt).text;
                let name = if num == "—" {
                    format!("Draft #{}", r.id)
                } else {
                    num
                };
                cells.insert(
                    0,
                    Cell {
                        text: name,
                        link: None,
                    },
                );
                cells.push(display(def, "status", r, &titles, fmt));
                cells.push(Cell {
                    text: amount_in(r, "total", fmt),
                    link: None,
                });
            }
            if cells.first().is_some_and(|c| c.text == "—") {
                cells[0].text = format!("{} #{}", human(def.singular), r.id);
            }
            ListRow { id: r.id, cells }
        })
        .collect();
    let mut filters = Vec::new();
    // A filter by a record of a module the caller may not see would list that module's titles.
    for f in def
        .filters()
        .filter(|f| !matches!(f.kind, Kind::Ref(m) if !sees(&s, m)))
    {
        let selected = params
            .filters
            .iter()
            .find(|(k, _)| k == f.name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        filters.push(FilterView {
            name: f.name.into(),
            label: f.label,
            options: options_for(&inst, &s, f.kind, &selected).await?,
            selected,
        });
    }
    let keep: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "cursor")
        .cloned()
        .collect();
    let page_view = ListPage {
        c: chrome(&state, &inst, Some(&s)).await?,
        def,
        headers,
        rows,
        errors,
        q: params.q.clone().unwrap_or_default(),
        sort: params.sort.clone().unwrap_or_default(),
        sorts: def
            .sortable
            .iter()
            .flat_map(|c| {
                let label = def
                    .field(c)
                    .map(|f| f.label.to_string())
                    .unwrap_or_else(|| human(c));
                [
                    (c.to_string(), format!("{label} ↑")),
                    (format!("-{c}"), format!("{label} ↓")),
                ]
            })
            .collect(),
        filters,
        filter_query: serde_urlencoded::to_string(&keep).unwrap_or_default(),
        next: page.next_cursor,
        can_create: can(&s, def, Action::Create),
        can_export: can(&s, def, Action::Export),
        can_import: can(&s, def, Action::Import),
    };
    render(&page_view)
}
