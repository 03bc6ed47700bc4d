//! A module's list page: search, filters, sort, paging; the choices of filters and forms.

use super::*;

struct ListRow {
    id: i64,
    cells: Vec<Cell>,
}

struct FilterView {
    name: String,
    label: String,
    options: Vec<(String, String)>,
    selected: String,
}

#[derive(Template)]
#[template(path = "hub_list.html")]
struct ListPage {
    c: Chrome,
    def: &'static ModuleDef,
    headers: Vec<String>,
    /// The module's name and one of its records, in the reader's language.
    title: String,
    singular: String,
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
    tr: &Tr,
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
        Kind::Choice(opts) => Ok(opts
            .iter()
            .map(|o| (o.to_string(), labels::choice(tr, o)))
            .collect()),
        Kind::Bool => Ok(vec![
            ("true".into(), labels::yes_no(tr, true)),
            ("false".into(), labels::yes_no(tr, false)),
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
    let c = chrome(&state, &inst, Some(&s)).await?;
    let tr = c.tr.clone();
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
    let cols: Vec<&'static schema::Field> = def.fields.iter().filter(|f| f.list).collect();
    let invoices = def.module == crate::access::Module::Invoices;
    let mut headers: Vec<String> = cols
        .iter()
        .map(|f| labels::field_name(&tr, def, f.name))
        .collect();
    // Invoices are named by their number (first column, drafts have none yet) and end with their
    // status and total; every header is pushed together with its cell below, so the two stay in
    // step.
    if invoices {
        headers.insert(0, tr.t("invoice-column"));
        headers.extend([
            labels::field_name(&tr, def, "status"),
            labels::field_name(&tr, def, "total"),
        ]);
    }
    let rows = page
        .rows
        .iter()
        .map(|r| {
            let mut cells: Vec<Cell> = cols
                .iter()
                .map(|f| display(def, f.name, r, &titles, &tr))
                .collect();
            if invoices {
                let num = display(def, "number", r, &titles, &tr).text;
                let name = if num == "—" {
                    tr.t1("invoice-draft-id", "id", r.id)
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
                cells.push(display(def, "status", r, &titles, &tr));
                cells.push(Cell {
                    text: amount_in(r, "total", tr.locale),
                    link: None,
                });
            }
            if cells.first().is_some_and(|c| c.text == "—") {
                cells[0].text = format!("{} #{}", labels::singular(&tr, def), r.id);
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
            label: labels::field_name(&tr, def, f.name),
            options: options_for(&inst, &s, f.kind, &selected, &tr).await?,
            selected,
        });
    }
    let keep: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "cursor")
        .cloned()
        .collect();
    let page_view = ListPage {
        title: labels::module(&tr, def),
        singular: labels::singular(&tr, def),
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
                let label = labels::field_name(&tr, def, c);
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
        c,
    };
    render(&page_view)
}
