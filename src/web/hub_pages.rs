//! The pages of every business module: list (search, filters, sort, paging), record card
//! (fields, related records, comments, history with restore), create/edit forms with messages per
//! field, CSV import with a preview.

use super::WebError;
use super::api::records::{ModuleRef, query_pairs};
use super::pages::{Chrome, chrome, render, render_refused};
use crate::access::{Action, Permission};
use crate::app::AppState;
use crate::auth::signin::SessionInfo;
use crate::hub::csvio::{self, ImportError, Problem};
use crate::hub::records::{self, HubError, ListParams};
use crate::hub::views::{self, Row};
use crate::instances::Instance;
use crate::schema::{self, Kind, ModuleDef};
use crate::web::Ctx;
use askama::Template;
use axum::extract::{Extension, Multipart, Path, RawForm, RawQuery};
use axum::response::{IntoResponse, Redirect, Response};
use rusqlite::types::Value;
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

fn can(s: &SessionInfo, def: &ModuleDef, a: Action) -> bool {
    s.grants.allows(Permission::Module(def.module, a))
}

/// Whether the caller may see records of module `m` — asked before a page shows anything of
/// another module (a referenced record's title, related records, a drop-down's choices).
fn sees(s: &SessionInfo, m: crate::access::Module) -> bool {
    s.grants.allows(Permission::Module(m, Action::View))
}

/// Cents as "1,234.56".
pub fn money(cents: i64) -> String {
    let neg = cents < 0;
    let c = cents.unsigned_abs();
    let units = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}{grouped}.{:02}", if neg { "-" } else { "" }, c % 100)
}

fn human(s: &str) -> String {
    let t = s.replace('_', " ");
    let mut c = t.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => t,
    }
}

/// Titles of referenced records, and the modules whose records the caller may not see (shown as
/// a bare id without a link).
struct Titles {
    names: HashMap<(&'static str, i64), String>,
    hidden: Vec<crate::access::Module>,
}

/// Titles of every record the rows refer to in modules the caller may see, fetched once per page.
async fn ref_titles(
    inst: &Instance,
    s: &SessionInfo,
    def: &'static ModuleDef,
    rows: &[Row],
) -> Result<Titles, WebError> {
    let hidden: Vec<crate::access::Module> = schema::ALL
        .iter()
        .map(|d| d.module)
        .filter(|m| !sees(s, *m))
        .collect();
    let mut wanted: Vec<(&'static str, i64)> = Vec::new();
    for r in rows {
        for f in def.fields {
            if let (Kind::Ref(m), Some(Value::Integer(id))) = (f.kind, r.get(f.name)) {
                if hidden.contains(&m) {
                    continue;
                }
                let key = (schema::by_module(m).slug, *id);
                if !wanted.contains(&key) {
                    wanted.push(key);
                }
            }
        }
    }
    let names = views::titles(inst, wanted).await?;
    Ok(Titles { names, hidden })
}

struct Cell {
    text: String,
    link: Option<String>,
}

fn display(def: &ModuleDef, name: &str, v: Option<&Value>, titles: &Titles) -> Cell {
    let kind = def.field(name).map(|f| f.kind);
    let none = || Cell {
        text: "—".into(),
        link: None,
    };
    match (kind, v) {
        (_, None | Some(Value::Null)) => none(),
        (Some(Kind::Ref(m)), Some(Value::Integer(id))) if titles.hidden.contains(&m) => Cell {
            text: format!("#{id}"),
            link: None,
        },
        (Some(Kind::Ref(m)), Some(Value::Integer(id))) => {
            let slug = schema::by_module(m).slug;
            Cell {
                text: titles
                    .names
                    .get(&(slug, *id))
                    .cloned()
                    .unwrap_or_else(|| format!("#{id}")),
                link: Some(format!("/m/{slug}/{id}")),
            }
        }
        (Some(Kind::Bool), Some(Value::Integer(i))) => Cell {
            text: if *i != 0 { "yes" } else { "no" }.into(),
            link: None,
        },
        (Some(Kind::Money), Some(Value::Integer(i))) => Cell {
            text: money(*i),
            link: None,
        },
        (None, Some(Value::Integer(i))) if ["subtotal", "tax_total", "total"].contains(&name) => {
            Cell {
                text: money(*i),
                link: None,
            }
        }
        (Some(Kind::Choice(_)), Some(Value::Text(t))) => Cell {
            text: human(t),
            link: None,
        },
        (_, Some(Value::Integer(i))) => Cell {
            text: i.to_string(),
            link: None,
        },
        (_, Some(Value::Text(t))) => Cell {
            text: t.clone(),
            link: None,
        },
        _ => none(),
    }
}

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
async fn options_for(
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
    let cols: Vec<&'static schema::Field> = def.fields.iter().filter(|f| f.list).collect();
    let mut headers: Vec<&'static str> = cols.iter().map(|f| f.label).collect();
    let extra: Vec<&'static str> = def
        .computed
        .iter()
        .copied()
        .filter(|c| ["number", "status", "total"].contains(c))
        .collect();
    headers.extend(extra.iter().map(|c| match *c {
        "number" => "Number",
        "status" => "Status",
        _ => "Total",
    }));
    let rows = page
        .rows
        .iter()
        .map(|r| {
            let mut cells: Vec<Cell> = cols
                .iter()
                .map(|f| display(def, f.name, r.get(f.name), &titles))
                .collect();
            cells.extend(extra.iter().map(|c| display(def, c, r.get(c), &titles)));
            if def.module == crate::access::Module::Invoices {
                // Invoices are named by their number; drafts have none yet.
                let num = display(def, "number", r.get("number"), &titles).text;
                cells.insert(
                    0,
                    Cell {
                        text: if num == "—" {
                            format!("Draft #{}", r.id)
                        } else {
                            num
                        },
                        link: None,
                    },
                );
                cells.pop();
                cells.retain(|_| true);
            }
            if cells.first().is_some_and(|c| c.text == "—") {
                cells[0].text = format!("{} #{}", human(def.singular), r.id);
            }
            ListRow { id: r.id, cells }
        })
        .collect();
    if def.module == crate::access::Module::Invoices {
        headers.insert(0, "Invoice");
        headers.retain(|h| *h != "Number");
    }
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

struct FormField {
    name: &'static str,
    label: &'static str,
    required: bool,
    widget: &'static str,
    value: String,
    options: Vec<(String, String)>,
    error: Option<String>,
    wide: bool,
}

#[derive(Template)]
#[template(path = "hub_form.html")]
struct FormPage {
    c: Chrome,
    heading: String,
    action: String,
    cancel: String,
    version: Option<i64>,
    fields: Vec<FormField>,
    errors: Vec<String>,
}

fn value_string(v: Option<&Value>, kind: Kind) -> String {
    match (kind, v) {
        (Kind::Bool, Some(Value::Integer(i))) => if *i != 0 { "true" } else { "false" }.into(),
        (_, Some(Value::Integer(i))) => i.to_string(),
        (_, Some(Value::Text(t))) => t.clone(),
        _ => String::new(),
    }
}

async fn form_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    def: &'static ModuleDef,
    existing: Option<&Row>,
    input: &Map<String, Json>,
    errors: Vec<records::FieldError>,
) -> Result<Response, WebError> {
    let mut fields = Vec::new();
    for f in def.fields {
        let value = match input.get(f.name) {
            Some(Json::String(v)) => v.clone(),
            _ => match existing {
                Some(r) => value_string(r.get(f.name), f.kind),
                None => f.default.unwrap_or("").to_string(),
            },
        };
        let widget = match f.kind {
            // Without the right to see the module, the reference is typed as an id.
            Kind::Ref(m) if !sees(s, m) => "number",
            Kind::LongText => "textarea",
            Kind::Choice(_) | Kind::Ref(_) | Kind::User | Kind::Bool => "select",
            Kind::Date => "date",
            Kind::Email => "email",
            Kind::Int { .. } | Kind::Money => "number",
            Kind::Text { .. } => "text",
        };
        let options = options_for(inst, s, f.kind, &value).await?;
        fields.push(FormField {
            name: f.name,
            label: f.label,
            required: f.required,
            widget,
            value,
            options,
            error: errors
                .iter()
                .find(|e| e.field == f.name)
                .map(|e| e.message.clone()),
            wide: matches!(f.kind, Kind::LongText),
        });
    }
    let general: Vec<String> = errors
        .iter()
        .filter(|e| def.field(&e.field).is_none())
        .map(|e| {
            if e.field.is_empty() {
                e.message.clone()
            } else {
                format!("{}: {}", e.field, e.message)
            }
        })
        .collect();
    let failed = !errors.is_empty();
    let (heading, action, cancel, version) = match existing {
        Some(r) => (
            format!("Edit {}", def.singular),
            format!("/m/{}/{}", def.slug, r.id),
            format!("/m/{}/{}", def.slug, r.id),
            Some(r.version),
        ),
        None => (
            format!("New {}", def.singular),
            format!("/m/{}", def.slug),
            format!("/m/{}", def.slug),
            None,
        ),
    };
    render_refused(
        &FormPage {
            c: chrome(state, inst, Some(s)).await?,
            heading,
            action,
            cancel,
            version,
            fields,
            errors: if failed && general.is_empty() {
                vec!["Please correct the marked fields.".into()]
            } else {
                general
            },
        },
        failed,
    )
}

pub async fn new_form(
    Ctx { state, inst, s, .. }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    RawQuery(q): RawQuery,
) -> Result<Response, WebError> {
    // Links such as "+ Add" on a client's card prefill the reference.
    let prefill: Map<String, Json> = query_pairs(q.as_deref())
        .into_iter()
        .filter(|(k, _)| def.field(k).is_some())
        .map(|(k, v)| (k, Json::String(v)))
        .collect();
    form_page(&state, &inst, &s, def, None, &prefill, vec![]).await
}

fn form_input(def: &ModuleDef, raw: &[u8]) -> (Map<String, Json>, Option<i64>) {
    let pairs = super::form::pairs(raw);
    let mut m = Map::new();
    let mut version = None;
    for (k, v) in pairs {
        if k == "_version" {
            version = v.parse().ok();
        } else if def.field(&k).is_some() {
            m.insert(k, Json::String(v));
        }
    }
    (m, version)
}

pub async fn create(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let (input, _) = form_input(def, &raw);
    match records::create(&inst, def, input.clone(), by).await {
        Ok(rec) => Ok(Redirect::to(&format!("/m/{}/{}", def.slug, rec["id"])).into_response()),
        Err(HubError::Invalid(errs) | HubError::Unresolved(errs)) => {
            form_page(&state, &inst, &s, def, None, &input, errs).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn edit_form(
    Ctx { state, inst, s, .. }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let row = records::get(&inst, def, id).await?;
    form_page(&state, &inst, &s, def, Some(&row), &Map::new(), vec![]).await
}

pub async fn update(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    Path(id): Path<i64>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let (input, version) = form_input(def, &raw);
    match records::update(&inst, def, id, input.clone(), version, by).await {
        Ok(_) => Ok(Redirect::to(&format!("/m/{}/{id}", def.slug)).into_response()),
        Err(HubError::Invalid(errs) | HubError::Unresolved(errs)) => {
            let row = records::get(&inst, def, id).await?;
            form_page(&state, &inst, &s, def, Some(&row), &input, errs).await
        }
        Err(HubError::Conflict(m)) => {
            let row = records::get(&inst, def, id).await?;
            form_page(
                &state,
                &inst,
                &s,
                def,
                Some(&row),
                &input,
                vec![records::FieldError {
                    field: String::new(),
                    message: m,
                }],
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

struct FieldView {
    label: &'static str,
    text: String,
    link: Option<String>,
}

struct Related {
    label: String,
    items: Vec<(String, String)>,
    new_link: Option<String>,
}

struct Change {
    id: i64,
    at: String,
    actor: String,
    diffs: Vec<(String, String, String)>,
    restorable: bool,
}

#[derive(Template)]
#[template(path = "hub_detail.html")]
struct DetailPage {
    c: Chrome,
    def: &'static ModuleDef,
    id: i64,
    title: String,
    fields: Vec<FieldView>,
    related: Vec<Related>,
    comments: Vec<views::CommentRow>,
    history: Vec<Change>,
    messages: Vec<String>,
    errors: Vec<String>,
    can_edit: bool,
    can_delete: bool,
    extra_actions: Vec<(String, String)>,
    sub_html: String,
}

/// Module-specific parts of a record card (invoice lines, document versions).
pub struct CardExtras {
    pub actions: Vec<(String, String)>,
    pub html: String,
}

pub async fn detail_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    def: &'static ModuleDef,
    id: i64,
    messages: Vec<String>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let row = records::get(inst, def, id).await?;
    let titles = ref_titles(inst, s, def, std::slice::from_ref(&row)).await?;
    let mut fields: Vec<FieldView> = def
        .fields
        .iter()
        .map(|f| {
            let c = display(def, f.name, row.get(f.name), &titles);
            FieldView {
                label: f.label,
                text: c.text,
                link: c.link,
            }
        })
        .collect();
    for c in def.computed {
        let cell = display(def, c, row.get(c), &titles);
        let label = match *c {
            "number" => "Number",
            "status" => "Status",
            "subtotal" => "Subtotal",
            "tax_total" => "Tax",
            "total" => "Total",
            "issued_at" => "Issued at",
            "paid_at" => "Paid at",
            "invoice_id" => "Billed on invoice",
            "current_version" => "Current version",
            _ => "Other",
        };
        if cell.text != "—" {
            fields.push(FieldView {
                label,
                text: cell.text,
                link: cell.link,
            });
        }
    }
    // Related records are listed only from modules the caller may see.
    let visible: Vec<&'static ModuleDef> = schema::ALL
        .iter()
        .copied()
        .filter(|child| sees(s, child.module))
        .collect();
    let views::Card {
        related,
        comments,
        history: hist,
    } = views::card(inst, def, id, visible).await?;
    let related = related
        .into_iter()
        .map(
            |views::Related {
                 module: child,
                 field,
                 items,
             }| Related {
                label: child.label.to_string(),
                items: items
                    .into_iter()
                    .map(|(cid, t)| (format!("/m/{}/{cid}", child.slug), t))
                    .collect(),
                new_link: can(s, child, Action::Create)
                    .then(|| format!("/m/{}/new?{field}={id}", child.slug)),
            },
        )
        .collect();
    let mut history: Vec<Change> = Vec::new();
    for h in hist {
        if history.last().map(|c| c.id) != Some(h.change_id) {
            history.push(Change {
                id: h.change_id,
                at: h.at.clone(),
                actor: h.actor.clone(),
                diffs: vec![],
                restorable: false,
            });
        }
        if let Some(ch) = history.last_mut() {
            if h.field == "(created)" {
                ch.diffs.push(("created".into(), "—".into(), "—".into()));
            } else {
                ch.restorable = true;
                ch.diffs.push((
                    def.field(&h.field)
                        .map(|f| f.label.to_string())
                        .unwrap_or(h.field.clone()),
                    h.old_value.unwrap_or_else(|| "—".into()),
                    h.new_value.unwrap_or_else(|| "—".into()),
                ));
            }
        }
    }
    let extras = super::hub_extras::card_extras(state, inst, s, def, &row).await?;
    let locked = match def.module {
        crate::access::Module::Invoices => row.get("status") != Some(&Value::Text("draft".into())),
        crate::access::Module::Time => !matches!(row.get("invoice_id"), None | Some(Value::Null)),
        _ => false,
    };
    let title = match row.get(def.title) {
        Some(Value::Text(t)) => t.clone(),
        _ => format!("{} #{id}", human(def.singular)),
    };
    let failed = !errors.is_empty();
    render_refused(
        &DetailPage {
            c: chrome(state, inst, Some(s)).await?,
            def,
            id,
            title,
            fields,
            related,
            comments,
            history,
            messages,
            errors,
            // Issued invoices and billed time are locked: no edit or delete buttons to fail.
            can_edit: can(s, def, Action::Edit) && !locked,
            can_delete: can(s, def, Action::Delete) && !locked,
            extra_actions: extras.actions,
            sub_html: extras.html,
        },
        failed,
    )
}

pub async fn detail(
    Ctx { state, inst, s, .. }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    detail_page(&state, &inst, &s, def, id, vec![], vec![]).await
}

pub async fn delete(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    match records::delete(&inst, def, id, by).await {
        Ok(()) => Ok(Redirect::to(&format!("/m/{}", def.slug)).into_response()),
        Err(HubError::Conflict(m)) => {
            detail_page(&state, &inst, &s, def, id, vec![], vec![m]).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn comment(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    Path(id): Path<i64>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let body = super::form::value(&super::form::pairs(&raw), "body");
    match records::add_comment(&inst, def, id, body, by).await {
        Ok(_) => Ok(Redirect::to(&format!("/m/{}/{id}", def.slug)).into_response()),
        Err(HubError::Invalid(e)) => {
            detail_page(
                &state,
                &inst,
                &s,
                def,
                id,
                vec![],
                e.into_iter().map(|e| e.message).collect(),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn restore(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    Path(id): Path<i64>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let change = super::form::value(&super::form::pairs(&raw), "change")
        .parse::<i64>()
        .ok()
        .ok_or_else(|| WebError::invalid("change", "which change to restore?"))?;
    match records::restore(&inst, def, id, change, by).await {
        Ok(_) => {
            detail_page(
                &state,
                &inst,
                &s,
                def,
                id,
                vec!["The earlier values are back.".into()],
                vec![],
            )
            .await
        }
        Err(HubError::Conflict(m)) => {
            detail_page(&state, &inst, &s, def, id, vec![], vec![m]).await
        }
        Err(HubError::Invalid(e)) => {
            detail_page(
                &state,
                &inst,
                &s,
                def,
                id,
                vec![],
                e.into_iter().map(|e| e.message).collect(),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "hub_import.html")]
struct ImportPage {
    c: Chrome,
    def: &'static ModuleDef,
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
    messages: Vec<String>,
    problems: Vec<Problem>,
    preview: Option<(usize, String)>,
) -> Result<Response, WebError> {
    let failed = !problems.is_empty();
    render_refused(
        &ImportPage {
            c: chrome(state, inst, Some(s)).await?,
            def,
            columns: std::iter::once("id")
                .chain(def.fields.iter().map(|f| f.name))
                .collect::<Vec<_>>()
                .join(","),
            messages,
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
    import_page(&state, &inst, &s, def, vec![], vec![], None).await
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
    let csv = csv.ok_or_else(|| WebError::invalid("file", "choose a CSV file"))?;
    match csvio::import(&inst, def, csv.clone().into_bytes(), !confirm, by).await {
        Ok(r) if r.dry_run => {
            import_page(&state, &inst, &s, def, vec![], vec![], Some((r.rows, csv))).await
        }
        Ok(r) => {
            import_page(
                &state,
                &inst,
                &s,
                def,
                vec![format!("Imported {} row(s).", r.created)],
                vec![],
                None,
            )
            .await
        }
        Err(ImportError::Problems(p)) => import_page(&state, &inst, &s, def, vec![], p, None).await,
        Err(ImportError::Hub(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    results: Vec<(&'static str, String, String)>,
    /// (module label, that module's list searched for the same words).
    module_links: Vec<(&'static str, String)>,
}

/// Best matches across the modules the user may see: (module label, link, title).
pub async fn search_results(
    inst: &Instance,
    s: &SessionInfo,
    q: &str,
) -> Result<Vec<(&'static str, String, String)>, WebError> {
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
            Some((def.label, format!("/m/{slug}/{id}"), title))
        })
        .collect())
}

pub async fn search(
    Ctx { state, inst, s, .. }: Ctx,
    RawQuery(q): RawQuery,
) -> Result<Response, WebError> {
    let q = query_pairs(q.as_deref())
        .into_iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let results = search_results(&inst, &s, &q).await?;
    // The cross-module list shows each module's best few; every match is one click away, paged.
    let encoded = serde_urlencoded::to_string([("q", q.as_str())]).unwrap_or_default();
    let module_links = schema::ALL
        .iter()
        .filter(|def| can(&s, def, Action::View))
        .map(|def| (def.label, format!("/m/{}?{encoded}", def.slug)))
        .collect();
    render(&SearchPage {
        c: chrome(&state, &inst, Some(&s)).await?,
        q,
        results,
        module_links,
    })
}

pub async fn search_api(
    Ctx { inst, s, .. }: Ctx,
    RawQuery(q): RawQuery,
) -> Result<axum::Json<Json>, super::ApiError> {
    let q = query_pairs(q.as_deref())
        .into_iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let results = search_results(&inst, &s, &q).await?;
    Ok(axum::Json(serde_json::json!({
        "items": results.into_iter().map(|(m, link, title)| serde_json::json!({ "module": m, "title": title, "link": link })).collect::<Vec<_>>()
    })))
}
