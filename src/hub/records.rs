//! Creating, changing, deleting, listing and restoring records of any module, with field-level
//! validation, a change history per field, full-text indexing and audit events — all in the
//! transaction that makes the change.

pub use super::problem::Problem;
use crate::access::Module;
use crate::audit::{self, By, Entry, Event};
use crate::clock::stamp;
use crate::i18n::Sentence;
use crate::instances::Instance;
use crate::schema::{Field, Kind, ModuleDef};
use crate::storage::Transaction;
use crate::storage::Value;
use crate::storage::records::{self as store, ListQuery, Row};
use crate::storage::{StorageError, users};
use serde_json::{Map, Value as Json, json};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// The same refusal as pages word it, when the domain knows its kind (`message` is its English).
    #[serde(skip)]
    pub problem: Option<Problem>,
}

/// A list parameter that names no filter of the module.
fn filter_refused() -> Sentence {
    Sentence::new("problem-not-filter", "is not a filter of this list")
}

fn not_a_filter(k: &str) -> HubError {
    HubError::field(k, filter_refused())
}

impl FieldError {
    /// A refusal of a known kind: its English message and its catalogue key together.
    pub fn of(field: impl Into<String>, problem: Problem) -> Self {
        FieldError {
            field: field.into(),
            message: problem.to_string(),
            problem: Some(problem),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// A conflict of a known kind (409), worded per language on pages.
    #[error("{0}")]
    Refused(crate::hub::problem::Conflict),
    /// Well-formed values that name a record or user that does not exist, or a record that belongs
    /// to another client or project: refused for the current state of the data, not for their shape
    /// (the API answers 409, so that every request its OpenAPI schema allows is either done or
    /// refused for a reason the schema cannot know).
    #[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Unresolved(Vec<FieldError>),
    #[error("no such record")]
    NotFound,
    /// Refused for damaged or unwritable stored data (a file, an invoice's frozen parties): the
    /// English detail for the API and the log, a sentence for pages.
    #[error("{0}")]
    Conflict(Sentence),
    #[error("{0}")]
    Storage(#[from] StorageError),
}

impl HubError {
    /// One field refused with a particular reason, worded twice (English, and a catalogue
    /// message for pages).
    /// Stored data that is damaged or could not be written (a file, an invoice's frozen
    /// parties): refused with the reader's sentence, and the English detail logged for the
    /// administrator, since the person who met it cannot fix it.
    pub fn stored_data(key: &str, english: impl Into<String>) -> Self {
        let english = english.into();
        tracing::warn!(detail = %english, "stored data refused");
        HubError::Conflict(Sentence::new(key, english))
    }

    pub fn field(field: &str, said: crate::i18n::Sentence) -> Self {
        HubError::Invalid(vec![FieldError::of(field, Problem::Said(said))])
    }
}

fn as_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A calendar day as `YYYY-MM-DD` (RFC 3339 `full-date`, years 0001–9999): exactly what the
/// OpenAPI `format: date` promises, no signs, spaces or short fields.
fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && !s.starts_with("0000")
        && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// An e-mail address of a record (contact data, never used to sign in): one `@` after a non-empty
/// local part, a dotted domain, no spaces or control characters, at most 254 characters — the
/// same rule as [`crate::schema::EMAIL_PATTERN`] states for API clients, counted in characters as
/// JSON Schema counts.
fn valid_email(t: &str) -> bool {
    t.chars().count() <= crate::schema::EMAIL_MAX
        && !t.chars().any(|c| c.is_whitespace() || c.is_control())
        && t.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
}

/// Parses one input value for `field`; `Ok(None)` means "empty" (stored as NULL).
/// Accepts JSON types and the string forms that forms and CSV send.
fn parse_value(field: &Field, v: &Json) -> Result<Option<Value>, Problem> {
    if v.is_null() {
        return Ok(None);
    }
    let text = as_text(v).ok_or(Problem::NotSingleValue)?;
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    Ok(Some(match field.kind {
        Kind::Text { max } => {
            if t.chars().count() > max {
                return Err(Problem::TooLong { max });
            }
            if t.chars().any(|c| c.is_control()) {
                return Err(Problem::NotOneLine);
            }
            Value::Text(t.to_string())
        }
        Kind::LongText => {
            if t.chars().count() > crate::schema::LONG_TEXT_MAX {
                return Err(Problem::TooLong {
                    max: crate::schema::LONG_TEXT_MAX,
                });
            }
            Value::Text(text.replace("\r\n", "\n"))
        }
        Kind::Email => {
            if !valid_email(t) {
                return Err(Problem::NotEmail);
            }
            Value::Text(t.to_string())
        }
        Kind::Date => {
            if !valid_date(t) {
                return Err(Problem::NotDate);
            }
            Value::Text(t.to_string())
        }
        Kind::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Value::Integer(1),
            "false" | "0" | "no" | "off" => Value::Integer(0),
            _ => return Err(Problem::NotBool),
        },
        Kind::Int { min, max } => {
            let n: i64 = t.parse().map_err(|_| Problem::NotWhole)?;
            if n < min || n > max {
                return Err(Problem::OutOfRange { min, max });
            }
            Value::Integer(n)
        }
        Kind::Money => {
            let n: i64 = t.parse().map_err(|_| Problem::NotCents)?;
            if !(0..=crate::schema::MONEY_MAX).contains(&n) {
                return Err(Problem::CentsOutOfRange);
            }
            Value::Integer(n)
        }
        Kind::Choice(options) => {
            if !options.contains(&t) {
                return Err(Problem::NotChoice { options });
            }
            Value::Text(t.to_string())
        }
        Kind::Ref(_) => {
            let n: i64 = t.parse().map_err(|_| Problem::NotId)?;
            Value::Integer(n)
        }
        Kind::User => Value::Text(t.to_string()),
    }))
}

/// The JSON API's reading of a body, stricter than forms and CSV (which send only text): every
/// value has the JSON type its field declares in the OpenAPI document, and strings are checked as
/// sent, before trimming, against the same lengths, patterns, formats and choices the document
/// states. `validate` then applies the rules common to every way in.
/// `partial`: a change, where absent fields stay as they are; on a create a required field that is
/// absent or null is reported with the type problems, so one answer names every problem.
pub fn check_json_types(
    def: &ModuleDef,
    input: &Map<String, Json>,
    partial: bool,
) -> Result<(), HubError> {
    use crate::schema::{EMAIL_MAX, LONG_TEXT_MAX, USER_MAX};
    let mut errors = Vec::new();
    for (key, v) in input {
        let Some(field) = def.field(key) else {
            continue;
        };
        let problem: Option<String> = match (field.kind, v) {
            (_, Json::Null) => None,
            (Kind::Bool, Json::Bool(_)) => None,
            (Kind::Bool, _) => Some("must be true or false (a JSON boolean)".into()),
            (Kind::Int { .. } | Kind::Money | Kind::Ref(_), Json::Number(n)) if n.is_i64() => None,
            (Kind::Money, _) => {
                Some("must be a whole number of cents (a JSON integer: 12050 for 120.50)".into())
            }
            (Kind::Int { .. } | Kind::Ref(_), _) => {
                Some("must be a whole number (a JSON integer)".into())
            }
            (Kind::Text { max }, Json::String(s)) => {
                if s.chars().count() > max {
                    Some(format!("at most {max} characters"))
                } else if s.chars().any(char::is_control) {
                    Some("must be a single line without control characters".into())
                } else {
                    None
                }
            }
            (Kind::LongText, Json::String(s)) => (s.chars().count() > LONG_TEXT_MAX)
                .then(|| format!("at most {LONG_TEXT_MAX} characters")),
            (Kind::Email, Json::String(s)) => (s.chars().count() > EMAIL_MAX || !valid_email(s))
                .then(|| "is not an e-mail address".into()),
            (Kind::Date, Json::String(s)) => {
                (!valid_date(s)).then(|| "must be a date like 2026-11-22".into())
            }
            (Kind::Choice(options), Json::String(s)) => (!options.contains(&s.as_str()))
                .then(|| format!("must be one of: {}", options.join(", "))),
            (Kind::User, Json::String(s)) => {
                (s.chars().count() > USER_MAX).then(|| format!("at most {USER_MAX} characters"))
            }
            (_, _) => Some("must be a string".into()),
        };
        if let Some(message) = problem {
            errors.push(FieldError {
                field: key.clone(),
                message,
                problem: None,
            });
        }
    }
    if !partial {
        for f in def.fields.iter().filter(|f| f.required) {
            if input.get(f.name).is_none_or(Json::is_null) {
                errors.push(FieldError {
                    field: f.name.into(),
                    message: "is required".into(),
                    problem: None,
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(HubError::Invalid(errors))
    }
}

/// Checks references and user names inside the transaction that writes them.
fn check_links(
    tx: &crate::storage::Connection,
    def: &ModuleDef,
    values: &[(&'static str, Value)],
) -> Result<(), HubError> {
    let mut errors = Vec::new();
    for (name, v) in values {
        let Some(field) = def.field(name) else {
            continue;
        };
        let problem = match (field.kind, v) {
            (Kind::Ref(m), Value::Integer(id)) => {
                let target = crate::schema::by_module(m);
                (!store::exists(tx, target.table, *id)?).then_some(Problem::NoRecord {
                    what: target.singular,
                    id: *id,
                })
            }
            (Kind::User, Value::Text(u)) => users::by_name(tx, u)?
                .is_none()
                .then(|| Problem::NoUser { name: u.clone() }),
            _ => None,
        };
        if let Some(problem) = problem {
            errors.push(FieldError::of(*name, problem));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(HubError::Unresolved(errors))
    }
}

/// A reference that must agree with another field of the same record: the record named by `field`
/// (in module `target`) must have `target_field` equal to this record's `own_field`.
struct Agreement {
    module: Module,
    field: &'static str,
    target: &'static ModuleDef,
    target_field: &'static str,
    own_field: &'static str,
    what: &'static str,
}

const AGREEMENTS: &[Agreement] = &[
    // A time entry's task belongs to the entry's project.
    Agreement {
        module: Module::Time,
        field: "task_id",
        target: &crate::schema::TASKS,
        target_field: "project_id",
        own_field: "project_id",
        what: "project",
    },
    // An invoice's or a document's project belongs to its client.
    Agreement {
        module: Module::Invoices,
        field: "project_id",
        target: &crate::schema::PROJECTS,
        target_field: "client_id",
        own_field: "client_id",
        what: "client",
    },
    Agreement {
        module: Module::Documents,
        field: "project_id",
        target: &crate::schema::PROJECTS,
        target_field: "client_id",
        own_field: "client_id",
        what: "client",
    },
];

/// Checks the module's agreements. `values` are the fields being written; on a change, `old`
/// supplies the ones that stay as they are. When either side is empty there is nothing to agree.
fn check_agreements(
    conn: &crate::storage::Connection,
    def: &ModuleDef,
    values: &[(&'static str, Value)],
    old: Option<&Row>,
) -> Result<(), HubError> {
    let given = |name: &str| values.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
    let current = |name: &str| given(name).or_else(|| old.and_then(|o| o.get(name)));
    for a in AGREEMENTS.iter().filter(|a| a.module == def.module) {
        if given(a.field).is_none() && given(a.own_field).is_none() {
            continue;
        }
        let (Some(Value::Integer(id)), Some(Value::Integer(own))) =
            (current(a.field), current(a.own_field))
        else {
            continue;
        };
        // A reference to nothing is reported by check_links.
        let Some(target) = store::get(conn, a.target, *id)? else {
            continue;
        };
        if target.get(a.target_field) != Some(&Value::Integer(*own)) {
            return Err(HubError::Unresolved(vec![FieldError {
                field: a.field.into(),
                message: format!(
                    "{} {id} belongs to another {}, not to {} {own}",
                    a.target.singular, a.what, a.what
                ),
                problem: None,
            }]));
        }
    }
    Ok(())
}

/// Validates an input object. `partial`: only the given fields (PATCH); otherwise required fields
/// must be present and defaults apply. Unknown fields are refused (no mass assignment).
pub fn validate(
    def: &ModuleDef,
    input: &Map<String, Json>,
    partial: bool,
) -> Result<Vec<(&'static str, Value)>, HubError> {
    let mut errors = Vec::new();
    for key in input.keys() {
        if def.field(key).is_none() {
            let why = if def.computed.contains(&key.as_str())
                || ["id", "version", "created_at", "updated_at"].contains(&key.as_str())
            {
                "is set by holdfast and cannot be written"
            } else {
                "is not a field of this module"
            };
            errors.push(FieldError {
                field: key.clone(),
                message: why.into(),
                problem: None,
            });
        }
    }
    let mut out = Vec::new();
    for field in def.fields {
        let given = input.get(field.name);
        if partial && given.is_none() {
            continue;
        }
        let parsed = match given {
            Some(v) => parse_value(field, v),
            None => match field.default {
                Some(d) => parse_value(field, &Json::String(d.into())),
                None => Ok(None),
            },
        };
        let parsed = match (parsed, field.default) {
            // An empty value for a field with a default: the default on create; on change it
            // cannot be emptied (the column always has a value).
            (Ok(None), Some(d)) if !partial => parse_value(field, &Json::String(d.into())),
            (Ok(None), Some(_)) => Err(Problem::CannotBeEmpty),
            (other, _) => other,
        };
        match parsed {
            Ok(Some(v)) => out.push((field.name, v)),
            Ok(None) if field.required => {
                errors.push(FieldError::of(field.name, Problem::Required))
            }
            Ok(None) => out.push((field.name, Value::Null)),
            Err(problem) => errors.push(FieldError::of(field.name, problem)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(HubError::Invalid(errors))
    }
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(r) => Some(r.to_string()),
        Value::Text(t) => Some(t.clone()),
        Value::Blob(_) => Some("(binary)".into()),
    }
}

/// One stored value as JSON sees it, borrowed: the one mapping from column values to JSON types,
/// used both for `serde_json::Value`s and for serialising list pages directly.
enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Text(&'a str),
}

impl<'a> Cell<'a> {
    fn of(def: &ModuleDef, name: &str, v: &'a Value) -> Self {
        match (def.field(name).map(|f| f.kind), v) {
            (_, Value::Null) => Cell::Null,
            (Some(Kind::Bool), Value::Integer(i)) => Cell::Bool(*i != 0),
            (_, Value::Integer(i)) => Cell::Int(*i),
            (_, Value::Text(t)) => Cell::Text(t),
            (_, Value::Real(r)) => Cell::Real(*r),
            (_, Value::Blob(_)) => Cell::Null,
        }
    }

    fn to_json(&self) -> Json {
        match self {
            Cell::Null => Json::Null,
            Cell::Bool(b) => Json::Bool(*b),
            Cell::Int(i) => json!(i),
            Cell::Real(r) => json!(r),
            Cell::Text(t) => json!(t),
        }
    }
}

impl serde::Serialize for Cell<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Null => s.serialize_unit(),
            Cell::Bool(b) => s.serialize_bool(*b),
            Cell::Int(i) => s.serialize_i64(*i),
            // serde_json writes a non-finite number as null, as json!() does.
            Cell::Real(r) => s.serialize_f64(*r),
            Cell::Text(t) => s.serialize_str(t),
        }
    }
}

/// A record's JSON members, in the order `serde_json::Map` keeps them (sorted by name).
fn cells<'a>(def: &ModuleDef, row: &'a Row) -> Vec<(&'a str, Cell<'a>)> {
    let mut out = Vec::with_capacity(row.values.len() + 4);
    out.push(("id", Cell::Int(row.id)));
    for (name, v) in &row.values {
        out.push((*name, Cell::of(def, name, v)));
    }
    out.push(("version", Cell::Int(row.version)));
    out.push(("created_at", Cell::Text(&row.created_at)));
    out.push(("updated_at", Cell::Text(&row.updated_at)));
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

/// A record as JSON: typed values, dates as strings, money as integer cents.
pub fn to_json(def: &ModuleDef, row: &Row) -> Json {
    Json::Object(
        cells(def, row)
            .into_iter()
            .map(|(name, c)| (name.to_string(), c.to_json()))
            .collect(),
    )
}

struct RowJson<'a>(&'a ModuleDef, &'a Row);

impl serde::Serialize for RowJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let cells = cells(self.0, self.1);
        let mut m = s.serialize_map(Some(cells.len()))?;
        for (name, c) in &cells {
            m.serialize_entry(name, c)?;
        }
        m.end()
    }
}

struct RowsJson<'a>(&'a ModuleDef, &'a [Row]);

impl serde::Serialize for RowsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.1.iter().map(|r| RowJson(self.0, r)))
    }
}

/// A list page as the API returns it, `{"items": [records as `to_json` makes them], "next_cursor"}`,
/// serialised straight from the rows without building `serde_json::Value`s first (a page of 50 is
/// the most common API response).
pub struct PageJson {
    pub def: &'static ModuleDef,
    pub page: Page,
}

impl serde::Serialize for PageJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("items", &RowsJson(self.def, &self.page.rows))?;
        m.serialize_entry("next_cursor", &self.page.next_cursor)?;
        m.end()
    }
}

fn index_row(tx: &Transaction, def: &ModuleDef, row: &Row) -> Result<(), StorageError> {
    let title = row
        .get(def.title)
        .and_then(value_text)
        .unwrap_or_else(|| format!("{} #{}", def.singular, row.id));
    let body: Vec<String> = def
        .fields
        .iter()
        .filter(|f| {
            matches!(
                f.kind,
                Kind::Text { .. } | Kind::LongText | Kind::Email | Kind::User
            )
        })
        .filter(|f| f.name != def.title)
        .filter_map(|f| row.get(f.name).and_then(value_text))
        .chain(
            def.computed
                .iter()
                .filter(|c| **c == "number")
                .filter_map(|c| row.get(c).and_then(value_text)),
        )
        .collect();
    store::index(tx, def, row.id, &title, &body.join(" "))
}

/// Blocks changes the business rules forbid (issued invoices, billed time).
fn ensure_mutable(def: &ModuleDef, row: &Row) -> Result<(), HubError> {
    match def.module {
        Module::Invoices if row.get("status") != Some(&Value::Text("draft".into())) => Err(
            HubError::Refused(crate::hub::problem::Conflict::IssuedInvoice),
        ),
        Module::Time if !matches!(row.get("invoice_id"), None | Some(Value::Null)) => {
            Err(HubError::Refused(crate::hub::problem::Conflict::BilledTime))
        }
        _ => Ok(()),
    }
}

fn fk_error(e: StorageError, def: &ModuleDef) -> HubError {
    if e.is_foreign_key_violation() {
        return HubError::Refused(crate::hub::problem::Conflict::StillReferenced {
            slug: def.slug,
            singular: def.singular,
        });
    }
    HubError::Storage(e)
}

/// Queues the webhook event `{module}.{what}` with the record as the API returns it, in `tx`
/// (only endpoints whose scopes may read the module get it; see `webhooks::emit`).
pub(crate) fn notify(
    tx: &Transaction,
    now: chrono::DateTime<chrono::Utc>,
    def: &ModuleDef,
    id: i64,
    what: &str,
) -> Result<(), StorageError> {
    let event = format!("{}.{what}", def.module.as_str());
    if !crate::webhooks::wanted(tx, &event)? {
        return Ok(());
    }
    let data = match store::get(tx, def, id)? {
        Some(row) => to_json(def, &row),
        None => json!({ "id": id }),
    };
    crate::webhooks::emit(tx, now, &event, &data)
}

/// Creates a record inside `tx` (shared by the API, forms and CSV import) and queues its
/// `{module}.created` webhook event.
pub fn create_in(
    tx: &Transaction,
    def: &ModuleDef,
    values: &[(&'static str, Value)],
    by: &By,
    audit_it: bool,
) -> Result<Row, HubError> {
    let row = create_unannounced(tx, def, values, by, audit_it)?;
    notify(tx, by.now, def, row.id, "created")?;
    Ok(row)
}

/// [`create_in`] without the webhook event, for a caller that completes the record in the same
/// transaction first (an invoice and its lines) and then calls [`notify`] itself, so that the
/// event carries the finished record.
pub(crate) fn create_unannounced(
    tx: &Transaction,
    def: &ModuleDef,
    values: &[(&'static str, Value)],
    by: &By,
    audit_it: bool,
) -> Result<Row, HubError> {
    check_links(tx, def, values)?;
    check_agreements(tx, def, values, None)?;
    let now = stamp(by.now);
    let id = store::insert(tx, def, values, &now)?;
    let row = store::get(tx, def, id)?.ok_or(HubError::NotFound)?;
    index_row(tx, def, &row)?;
    let actor = by.actor.name();
    store::Change::begin(tx, def.slug, id, &now, &actor)?.field(tx, "(created)", None, None)?;
    if audit_it {
        audit::write(
            tx,
            by.now,
            Entry::new(
                Event::RecordCreated,
                by.actor.clone(),
                format!("{}/{id}", def.slug),
                by.source.clone(),
            ),
        )?;
    }
    Ok(row)
}

pub async fn create(
    inst: &Instance,
    def: &'static ModuleDef,
    mut input: Map<String, Json>,
    by: By,
) -> Result<Json, HubError> {
    // A record in money that does not name its currency is in the instance's (the schema's EUR is
    // only the fallback of an instance that never chose one).
    let unnamed = input
        .get("currency")
        .is_none_or(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()));
    if def.field("currency").is_some() && unnamed {
        let currency = super::settings::get(inst).await?.currency;
        input.insert("currency".into(), Json::String(currency));
    }
    let values = validate(def, &input, false)?;
    inst.db
        .write(move |tx| -> Result<Json, HubError> {
            Ok(to_json(def, &create_in(tx, def, &values, &by, true)?))
        })
        .await
}

pub async fn get(inst: &Instance, def: &'static ModuleDef, id: i64) -> Result<Row, HubError> {
    inst.db
        .read(move |c| -> Result<Row, HubError> {
            store::get(c, def, id)?.ok_or(HubError::NotFound)
        })
        .await
}

/// Applies changed fields, recording each change in the history. `expected_version` guards against
/// overwriting someone else's edit.
fn update_in(
    tx: &Transaction,
    def: &ModuleDef,
    id: i64,
    values: Vec<(&'static str, Value)>,
    expected_version: Option<i64>,
    by: &By,
    event: Event,
) -> Result<Row, HubError> {
    let old = store::get(tx, def, id)?.ok_or(HubError::NotFound)?;
    ensure_mutable(def, &old)?;
    if let Some(v) = expected_version
        && v != old.version
    {
        return Err(HubError::Refused(
            crate::hub::problem::Conflict::ChangedElsewhere {
                slug: def.slug,
                singular: def.singular,
                current: old.version,
                edited: v,
            },
        ));
    }
    let changed: Vec<(&'static str, Value)> = values
        .into_iter()
        .filter(|(n, v)| old.get(n) != Some(v))
        .collect();
    if changed.is_empty() {
        return Ok(old);
    }
    check_links(tx, def, &changed)?;
    check_agreements(tx, def, &changed, Some(&old))?;
    let now = stamp(by.now);
    store::update(tx, def, id, &changed, &now)?;
    let actor = by.actor.name();
    let change = store::Change::begin(tx, def.slug, id, &now, &actor)?;
    for (name, v) in &changed {
        let before = old.get(name).and_then(value_text);
        change.field(tx, name, before.as_deref(), value_text(v).as_deref())?;
    }
    let row = store::get(tx, def, id)?.ok_or(HubError::NotFound)?;
    index_row(tx, def, &row)?;
    notify(tx, by.now, def, id, "updated")?;
    audit::write(
        tx,
        by.now,
        Entry::new(event, by.actor.clone(), format!("{}/{id}", def.slug), by.source.clone())
            .with(json!({ "fields": changed.iter().map(|(n, _)| *n).collect::<Vec<_>>(), "change": change.id() })),
    )?;
    Ok(row)
}

pub async fn update(
    inst: &Instance,
    def: &'static ModuleDef,
    id: i64,
    input: Map<String, Json>,
    expected_version: Option<i64>,
    by: By,
) -> Result<Json, HubError> {
    let values = validate(def, &input, true)?;
    inst.db
        .write(move |tx| -> Result<Json, HubError> {
            Ok(to_json(
                def,
                &update_in(
                    tx,
                    def,
                    id,
                    values,
                    expected_version,
                    &by,
                    Event::RecordUpdated,
                )?,
            ))
        })
        .await
}

/// Puts back the values a field had before change `change_id` (itself recorded as a new change).
pub async fn restore(
    inst: &Instance,
    def: &'static ModuleDef,
    id: i64,
    change_id: i64,
    by: By,
) -> Result<Json, HubError> {
    inst.db
        .write(move |tx| -> Result<Json, HubError> {
            let hist = store::history(tx, def.slug, id)?;
            let mut values = Vec::new();
            for h in hist.iter().filter(|h| h.change_id == change_id) {
                if let Some(field) = def.field(&h.field) {
                    let v = match &h.old_value {
                        None => Value::Null,
                        Some(s) => parse_value(field, &Json::String(s.clone()))
                            .map_err(|p| HubError::Invalid(vec![FieldError::of(field.name, p)]))?
                            .unwrap_or(Value::Null),
                    };
                    values.push((field.name, v));
                }
            }
            if values.is_empty() {
                return Err(HubError::field(
                    "change",
                    Sentence::new(
                        "problem-no-change",
                        "no field change with that number on this record",
                    ),
                ));
            }
            Ok(to_json(
                def,
                &update_in(tx, def, id, values, None, &by, Event::RecordRestored)?,
            ))
        })
        .await
}

pub async fn delete(
    inst: &Instance,
    def: &'static ModuleDef,
    id: i64,
    by: By,
) -> Result<(), HubError> {
    let files = inst
        .db
        .write(move |tx| -> Result<Vec<String>, HubError> {
            let mut stored_files = Vec::new();
            let old = store::get(tx, def, id)?.ok_or(HubError::NotFound)?;
            ensure_mutable(def, &old)?;
            if def.module == Module::Documents {
                // Files go after the commit; collect their names while the rows still exist.
                stored_files.extend(crate::storage::documents::storage_names(tx, Some(id))?);
            }
            store::delete(tx, def, id).map_err(|e| fk_error(e, def))?;
            store::unindex(tx, def, id)?;
            crate::webhooks::emit(
                tx,
                by.now,
                &format!("{}.deleted", def.module.as_str()),
                &json!({ "id": id }),
            )?;
            let title = old.get(def.title).and_then(value_text).unwrap_or_default();
            audit::write(
                tx,
                by.now,
                Entry::new(
                    Event::RecordDeleted,
                    by.actor.clone(),
                    format!("{}/{id}", def.slug),
                    by.source.clone(),
                )
                .with(json!({ "title": title })),
            )?;
            Ok(stored_files)
        })
        .await?;
    for f in files {
        let _ = std::fs::remove_file(inst.dir.join("files").join(f));
    }
    Ok(())
}

/// Longest comment, in characters (after trimming).
pub const COMMENT_MAX: usize = 5000;

pub async fn add_comment(
    inst: &Instance,
    def: &'static ModuleDef,
    id: i64,
    body: String,
    by: By,
) -> Result<i64, HubError> {
    let body = body.trim().to_string();
    if body.is_empty() || body.chars().count() > COMMENT_MAX {
        return Err(HubError::field(
            "body",
            Sentence::new(
                "problem-comment-length",
                format!("write 1–{COMMENT_MAX} characters"),
            )
            .arg("max", COMMENT_MAX),
        ));
    }
    inst.db
        .write(move |tx| -> Result<i64, HubError> {
            if store::get(tx, def, id)?.is_none() {
                return Err(HubError::NotFound);
            }
            let comment =
                store::add_comment(tx, def.slug, id, &by.actor.name(), &body, &stamp(by.now))?;
            audit::write(
                tx,
                by.now,
                Entry::new(
                    Event::CommentAdded,
                    by.actor.clone(),
                    format!("{}/{id}", def.slug),
                    by.source.clone(),
                )
                .with(json!({ "comment": comment, "characters": body.chars().count() })),
            )?;
            Ok(comment)
        })
        .await
}

/// The comments on one record, oldest first.
pub async fn comments(
    inst: &Instance,
    def: &'static ModuleDef,
    id: i64,
) -> Result<Vec<store::CommentRow>, HubError> {
    inst.db
        .read(move |c| -> Result<Vec<store::CommentRow>, HubError> {
            if store::get(c, def, id)?.is_none() {
                return Err(HubError::NotFound);
            }
            Ok(store::comments(c, def.slug, id)?)
        })
        .await
}

/// Longest search text of a list, in characters.
pub const SEARCH_MAX: usize = 200;

/// Query parameters of a list, from a URL query string (API and pages alike).
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub q: Option<String>,
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub limit: usize,
    pub filters: Vec<(String, String)>,
}

impl ListParams {
    /// Reads `q`, `sort`, `cursor`, `limit` and field filters; unknown parameters are refused.
    pub fn from_pairs(
        def: &ModuleDef,
        pairs: &[(String, String)],
        default_limit: usize,
    ) -> Result<Self, HubError> {
        let mut p = ListParams {
            limit: default_limit,
            ..Default::default()
        };
        let mut errors = Vec::new();
        for (k, v) in pairs {
            match k.as_str() {
                "q" if v.chars().count() > SEARCH_MAX => {
                    errors.push(FieldError::of("q", Problem::TooLong { max: SEARCH_MAX }))
                }
                // Text without a letter or digit searches for nothing: no condition at all.
                "q" => p.q = Some(v.clone()).filter(|s| store::fts_query(s).is_some()),
                "sort" => p.sort = Some(v.clone()).filter(|s| !s.is_empty()),
                "cursor" => p.cursor = Some(v.clone()).filter(|s| !s.is_empty()),
                "limit" => match v.parse::<usize>() {
                    Ok(n) if (1..=500).contains(&n) => p.limit = n,
                    _ => errors.push(FieldError::of(
                        "limit",
                        Problem::OutOfRange { min: 1, max: 500 },
                    )),
                },
                "csrf" | "dry_run" => {}
                _ => {
                    let base = k
                        .strip_suffix("_from")
                        .or_else(|| k.strip_suffix("_to"))
                        .unwrap_or(k);
                    let date = |name: &str| {
                        def.field(name)
                            .is_some_and(|f| matches!(f.kind, Kind::Date))
                    };
                    if def.filter_field(k).is_some() || date(base) {
                        if !v.is_empty() {
                            p.filters.push((k.clone(), v.clone()));
                        }
                    } else {
                        errors.push(FieldError::of(k.as_str(), Problem::Said(filter_refused())));
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(HubError::Invalid(errors))
        }
    }

    /// The API's reading: as [`ListParams::from_pairs`], but a parameter given with no value is
    /// refused rather than ignored (only `q` and `sort` may be empty, as the OpenAPI document
    /// says), so that a client's mistake is not silently read as "no filter". Pages keep the
    /// lenient reading because a filter form sends its empty fields.
    pub fn from_api_pairs(
        def: &ModuleDef,
        pairs: &[(String, String)],
        default_limit: usize,
    ) -> Result<Self, HubError> {
        let empty: Vec<FieldError> = pairs
            .iter()
            .filter(|(k, v)| v.is_empty() && k != "q" && k != "sort")
            .map(|(k, _)| FieldError {
                field: k.clone(),
                message: "give a value or leave the parameter out".into(),
                problem: None,
            })
            .collect();
        if !empty.is_empty() {
            return Err(HubError::Invalid(empty));
        }
        Self::from_pairs(def, pairs, default_limit)
    }

    fn to_query(&self, def: &'static ModuleDef) -> Result<ListQuery, HubError> {
        let mut q = ListQuery {
            limit: self.limit,
            desc: true,
            ..Default::default()
        };
        for (k, v) in &self.filters {
            if let Some(base) = k.strip_suffix("_from").filter(|b| def.field(b).is_some()) {
                let f = def.field(base).ok_or_else(|| not_a_filter(k))?;
                if !valid_date(v) {
                    return Err(HubError::Invalid(vec![FieldError::of(
                        k.as_str(),
                        Problem::NotDate,
                    )]));
                }
                q.ranges.push((f.name, Some(v.clone()), None));
            } else if let Some(base) = k.strip_suffix("_to").filter(|b| def.field(b).is_some()) {
                let f = def.field(base).ok_or_else(|| not_a_filter(k))?;
                if !valid_date(v) {
                    return Err(HubError::Invalid(vec![FieldError::of(
                        k.as_str(),
                        Problem::NotDate,
                    )]));
                }
                q.ranges.push((f.name, None, Some(v.clone())));
            } else {
                // A date field also filters for one day.
                let f = def
                    .filter_field(k)
                    .or_else(|| def.field(k).filter(|f| matches!(f.kind, Kind::Date)))
                    .ok_or_else(|| not_a_filter(k))?;
                if matches!(
                    f.kind,
                    Kind::User | Kind::Text { .. } | Kind::LongText | Kind::Email
                ) && v.chars().count() > crate::schema::USER_MAX
                {
                    return Err(HubError::Invalid(vec![FieldError::of(
                        k.as_str(),
                        Problem::TooLong {
                            max: crate::schema::USER_MAX,
                        },
                    )]));
                }
                let parsed = parse_value(f, &Json::String(v.clone()))
                    .map_err(|p| HubError::Invalid(vec![FieldError::of(k.as_str(), p)]))?;
                q.equals.push((f.name, parsed.unwrap_or(Value::Null)));
            }
        }
        if let Some(text) = &self.q {
            q.search = Some(store::fts_query(text).ok_or_else(|| {
                HubError::field(
                    "q",
                    Sentence::new("problem-search-empty", "type a word to search for"),
                )
            })?);
        }
        if let Some(s) = &self.sort {
            let (name, desc) = match s.strip_prefix('-') {
                Some(n) => (n, true),
                None => (s.as_str(), false),
            };
            let col = def
                .sortable
                .iter()
                .copied()
                .find(|c| *c == name)
                .ok_or_else(|| {
                    HubError::field(
                        "sort",
                        Sentence::new(
                            "problem-sort",
                            format!("sort by one of: {}", def.sortable.join(", ")),
                        )
                        .arg("options", def.sortable.join(", ")),
                    )
                })?;
            q.sort = Some(col);
            q.desc = desc;
        }
        if let Some(c) = &self.cursor {
            q.after = Some(decode_cursor(c).ok_or_else(|| {
                HubError::field(
                    "cursor",
                    Sentence::new("problem-cursor", "this paging cursor is not valid"),
                )
            })?);
        }
        Ok(q)
    }
}

/// A paging cursor is the last row's sort value and id, readable and exact: `.ID` (no sort value),
/// `-?DIGITS.ID` (a number), `xHEX.ID` (text as UTF-8 in lower-case hex). Every string of that shape
/// is a position to page from (text that is not UTF-8 is read lossily), so the OpenAPI pattern
/// states exactly what the server accepts.
pub const CURSOR_PATTERN: &str = r"^(-?[0-9]{1,18}|x([0-9a-f]{2})*)?\.[0-9]{1,18}$";
/// Longest cursor: a sort value of 200 characters of 4 bytes each, in hex, and an id.
pub const CURSOR_MAX: usize = 2 + 200 * 4 * 2 + 1 + 18;

fn encode_cursor(v: Option<&Value>, id: i64) -> String {
    match v {
        Some(Value::Integer(i)) => format!("{i}.{id}"),
        Some(Value::Text(t)) => {
            let mut out = String::with_capacity(2 + t.len() * 2 + 20);
            out.push('x');
            for b in t.bytes() {
                out.push_str(&format!("{b:02x}"));
            }
            out.push('.');
            out.push_str(&id.to_string());
            out
        }
        _ => format!(".{id}"),
    }
}

fn decode_cursor(c: &str) -> Option<(Value, i64)> {
    fn digits(s: &str) -> Option<i64> {
        let body = s.strip_prefix('-').unwrap_or(s);
        if body.is_empty() || body.len() > 18 || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }
    if c.len() > CURSOR_MAX {
        return None;
    }
    let (sort, id) = c.rsplit_once('.')?;
    if id.starts_with('-') {
        return None;
    }
    let id = digits(id)?;
    let sort = if sort.is_empty() {
        Value::Text(String::new())
    } else if let Some(hex) = sort.strip_prefix('x') {
        if hex.len() % 2 != 0 {
            return None;
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| {
                let pair = hex.get(i..i + 2)?;
                if pair.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    u8::from_str_radix(pair, 16).ok()
                } else {
                    None
                }
            })
            .collect::<Option<Vec<u8>>>()?;
        Value::Text(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        Value::Integer(digits(sort)?)
    };
    Some((sort, id))
}

pub struct Page {
    pub rows: Vec<Row>,
    pub next_cursor: Option<String>,
}

pub async fn list(
    inst: &Instance,
    def: &'static ModuleDef,
    params: &ListParams,
) -> Result<Page, HubError> {
    let q = params.to_query(def)?;
    let limit = q.limit;
    let sort = q.sort;
    let rows = inst.db.read(move |c| store::list(c, def, &q)).await?;
    let next_cursor = (rows.len() == limit).then(|| {
        let last = &rows[rows.len() - 1];
        // Nullable sort columns are ordered as '' (see storage::records::sort_expr).
        let v = sort.map(|s| match s {
            "updated_at" => Value::Text(last.updated_at.clone()),
            _ => match last.get(s) {
                None | Some(Value::Null) => Value::Text(String::new()),
                Some(v) => v.clone(),
            },
        });
        encode_cursor(v.as_ref(), last.id)
    });
    Ok(Page { rows, next_cursor })
}

/// How many records the list's search and filters match, across every page.
pub async fn count(
    inst: &Instance,
    def: &'static ModuleDef,
    params: &ListParams,
) -> Result<i64, HubError> {
    let q = params.to_query(def)?;
    Ok(inst.db.read(move |c| store::count(c, def, &q)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CLIENTS, TIME_ENTRIES};

    fn row(values: Vec<(&'static str, Value)>) -> Row {
        Row {
            id: 42,
            version: 3,
            created_at: "2026-11-22T10:00:00Z".into(),
            updated_at: "2026-11-22T11:00:00Z".into(),
            values,
        }
    }

    #[test]
    fn a_cursor_reads_back_as_the_position_it_was_made_from() {
        for (v, id) in [
            (Some(Value::Integer(-17)), 9),
            (Some(Value::Integer(i64::from(i32::MAX))), 1),
            (Some(Value::Text("Zürich AG. 2".into())), 123_456),
            (Some(Value::Text(String::new())), 0),
        ] {
            let c = encode_cursor(v.as_ref(), id);
            assert!(c.len() <= CURSOR_MAX, "{c}");
            assert_eq!(decode_cursor(&c), v.map(|v| (v, id)), "{c}");
        }
        assert_eq!(
            decode_cursor(&encode_cursor(None, 5)),
            Some((Value::Text(String::new()), 5))
        );
    }

    #[test]
    fn any_cursor_of_the_documented_shape_is_a_position_and_no_other_is() {
        // Text that is not UTF-8 is still a position (read lossily), as the pattern promises.
        assert_eq!(
            decode_cursor("xff41.7"),
            Some((Value::Text("\u{fffd}A".into()), 7))
        );
        assert_eq!(
            decode_cursor("999999999999999999.999999999999999999"),
            Some((
                Value::Integer(999_999_999_999_999_999),
                999_999_999_999_999_999
            ))
        );
        for bad in [
            "",
            ".",
            "5",
            "x4.1",
            "xAB.1",
            "x4g.1",
            "1.-1",
            "1.1234567890123456789",
            "+1.2",
            "1..2",
            "a.1",
            "1.2 ",
            "\u{0661}.1",
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad:?}");
        }
        assert_eq!(
            decode_cursor(&format!("x{}.1", "41".repeat(CURSOR_MAX))),
            None
        );
    }

    #[test]
    fn a_page_serialises_exactly_as_its_records_json_values() {
        let entry = row(vec![
            ("user", Value::Text("anna".into())),
            ("project_id", Value::Integer(7)),
            ("task_id", Value::Null),
            ("date", Value::Text("2026-06-01".into())),
            ("minutes", Value::Integer(90)),
            ("billable", Value::Integer(1)),
            (
                "note",
                Value::Text("Zażółć \"gęślą\" \\ jaźń\n\u{1}".into()),
            ),
            ("invoice_id", Value::Blob(vec![1, 2])),
        ]);
        let client = row(vec![
            ("name", Value::Text("Acme".into())),
            ("status", Value::Text("active".into())),
            ("odd", Value::Real(1.5)),
            ("nan", Value::Real(f64::NAN)),
        ]);
        for (def, r) in [(&TIME_ENTRIES, entry), (&CLIENTS, client)] {
            let want =
                json!({ "items": [to_json(def, &r), to_json(def, &r)], "next_cursor": "abc" });
            let page = PageJson {
                def,
                page: Page {
                    rows: vec![r.clone(), r],
                    next_cursor: Some("abc".into()),
                },
            };
            let text = serde_json::to_string(&page).unwrap();
            assert_eq!(serde_json::from_str::<Json>(&text).unwrap(), want);
            // Same bytes as serialising the Value (keys in the same order).
            assert_eq!(text, serde_json::to_string(&want).unwrap());
        }
        assert_eq!(
            to_json(&TIME_ENTRIES, &row(vec![("billable", Value::Integer(0))]))["billable"],
            Json::Bool(false)
        );
    }
}
