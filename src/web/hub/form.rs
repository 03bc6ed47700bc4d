//! Create and edit forms, with the messages per field.

use super::*;

struct FormField {
    name: &'static str,
    label: String,
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

fn value_string(v: Option<&Value>, kind: Kind, locale: Locale) -> String {
    match (kind, v) {
        (Kind::Bool, Some(Value::Integer(i))) => if *i != 0 { "true" } else { "false" }.into(),
        (Kind::Money, Some(Value::Integer(i))) => crate::hub::money::format_plain(*i, locale),
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
    let money = crate::hub::settings::get(inst).await?;
    let c = chrome(state, inst, Some(s)).await?;
    let tr = c.tr.clone();
    let locale = tr.locale;
    let mut fields = Vec::new();
    for f in def.fields {
        let value = match input.get(f.name) {
            Some(Json::String(v)) => v.clone(),
            _ => match existing {
                Some(r) => value_string(r.get(f.name), f.kind, locale),
                // A new record starts from the instance's money settings where they apply.
                None => match (def.module, f.name) {
                    (_, "currency") => money.currency.clone(),
                    (crate::access::Module::Projects, "hourly_rate") => {
                        crate::hub::money::format_plain(money.hourly_rate, locale)
                    }
                    _ => f.default.unwrap_or("").to_string(),
                },
            },
        };
        let widget = match f.kind {
            // Without the right to see the module, the reference is typed as an id.
            Kind::Ref(m) if !sees(s, m) => "number",
            Kind::LongText => "textarea",
            Kind::Choice(_) | Kind::Ref(_) | Kind::User | Kind::Bool => "select",
            Kind::Date => "date",
            Kind::Email => "email",
            Kind::Int { .. } => "number",
            // Typed in the currency with the locale's separators ("1 234,50"), which a number
            // field would refuse.
            Kind::Money => "money",
            Kind::Text { .. } => "text",
        };
        let options = options_for(inst, s, f.kind, &value, &tr).await?;
        fields.push(FormField {
            name: f.name,
            label: labels::field_name(&tr, def, f.name),
            required: f.required,
            widget,
            value,
            options,
            error: errors
                .iter()
                .find(|e| e.field == f.name)
                .map(|e| labels::problem(&tr, e)),
            wide: matches!(f.kind, Kind::LongText),
        });
    }
    let general: Vec<String> = errors
        .iter()
        .filter(|e| def.field(&e.field).is_none())
        .map(|e| {
            if e.field.is_empty() {
                labels::problem(&tr, e)
            } else {
                format!(
                    "{}: {}",
                    labels::field_name(&tr, def, &e.field),
                    labels::problem(&tr, e)
                )
            }
        })
        .collect();
    let failed = !errors.is_empty();
    let (heading, action, cancel, version) = match existing {
        Some(r) => (
            tr.t1("form-edit", "what", labels::singular(&tr, def)),
            format!("/m/{}/{}", def.slug, r.id),
            format!("/m/{}/{}", def.slug, r.id),
            Some(r.version),
        ),
        None => (
            tr.t1("form-new", "what", labels::singular(&tr, def)),
            format!("/m/{}", def.slug),
            format!("/m/{}", def.slug),
            None,
        ),
    };
    render_refused(
        &FormPage {
            heading,
            action,
            cancel,
            version,
            fields,
            errors: if failed && general.is_empty() {
                vec![tr.t("form-correct")]
            } else {
                general
            },
            c,
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

/// The money fields of a form, typed in the currency per `locale`, as the integer minor units
/// records take; a field that does not read as an amount gets its message and the form is shown
/// again unchanged. An empty field stays empty (no value).
fn money_input(
    def: &ModuleDef,
    input: &Map<String, Json>,
    tr: &Tr,
) -> Result<Map<String, Json>, Vec<records::FieldError>> {
    let mut out = input.clone();
    let mut errors = Vec::new();
    for f in def.fields.iter().filter(|f| f.kind == Kind::Money) {
        let Some(Json::String(text)) = input.get(f.name) else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match crate::hub::money::parse(text, tr.locale, schema::MONEY_MAX) {
            Ok(minor) => {
                out.insert(f.name.into(), Json::String(minor.to_string()));
            }
            Err(e) => errors.push(records::FieldError {
                field: f.name.into(),
                message: labels::money_problem(tr, &e),
                problem: None,
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn form_input(def: &ModuleDef, raw: &[u8]) -> (Map<String, Json>, Option<i64>) {
    let pairs = crate::web::form::pairs(raw);
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
    let tr = crate::web::pages::words(
        &state,
        crate::web::pages::reader_locale(&inst, Some(&s)).await?,
    );
    let values = match money_input(def, &input, &tr) {
        Ok(v) => v,
        Err(errs) => return form_page(&state, &inst, &s, def, None, &input, errs).await,
    };
    match records::create(&inst, def, values, by).await {
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
    let tr = crate::web::pages::words(
        &state,
        crate::web::pages::reader_locale(&inst, Some(&s)).await?,
    );
    let values = match money_input(def, &input, &tr) {
        Ok(v) => v,
        Err(errs) => {
            let row = records::get(&inst, def, id).await?;
            return form_page(&state, &inst, &s, def, Some(&row), &input, errs).await;
        }
    };
    match records::update(&inst, def, id, values, version, by).await {
        Ok(_) => Ok(Redirect::to(&format!("/m/{}/{id}", def.slug)).into_response()),
        Err(HubError::Invalid(errs) | HubError::Unresolved(errs)) => {
            let row = records::get(&inst, def, id).await?;
            form_page(&state, &inst, &s, def, Some(&row), &input, errs).await
        }
        Err(e @ (HubError::Conflict(_) | HubError::Refused(_))) => {
            let m = match e {
                HubError::Refused(c) => {
                    let locale = crate::web::pages::reader_locale(&inst, Some(&s)).await?;
                    crate::web::words::conflict(&crate::web::pages::words(&state, locale), &c)
                }
                HubError::Conflict(said) => {
                    let locale = crate::web::pages::reader_locale(&inst, Some(&s)).await?;
                    said.render(&crate::web::pages::words(&state, locale))
                }
                other => other.to_string(),
            };
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
                    problem: None,
                }],
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
