//! CSV export and all-or-nothing import for every module. Export neutralises formula cells; import
//! reports every problem with its row and column and changes nothing unless the whole file is good.

use super::records::{FieldError, HubError, ListParams, count, create_in, list, validate};
use crate::audit::{self, By, Entry, Event};
use crate::instances::Instance;
use crate::schema::ModuleDef;
use crate::storage::Value;
use crate::storage::records::{self as store, Row};
use serde_json::{Map, Value as Json, json};
use std::sync::Arc;

/// Columns holdfast writes itself: exported, and skipped on import so that a file can go round trip.
const SYSTEM_COLUMNS: &[&str] = &["version", "created_at", "updated_at"];

fn header(def: &ModuleDef) -> Vec<&'static str> {
    let mut h = vec!["id"];
    h.extend(def.fields.iter().map(|f| f.name));
    h.extend(def.computed.iter().copied());
    h.extend(SYSTEM_COLUMNS.iter().copied());
    h
}

fn cell(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Rows per page an export reads (and so per chunk it sends).
const EXPORT_PAGE: usize = 500;

/// An export under way: the whole (filtered) list as CSV, newest first, a page at a time, so that
/// two million time entries start to arrive at once and never sit in memory together.
pub struct Export {
    inst: Arc<Instance>,
    def: &'static ModuleDef,
    params: ListParams,
    cols: Vec<&'static str>,
    /// The header row and the first page, made before anything is sent.
    first: Option<String>,
    done: bool,
}

/// Starts an export: reads the first page (a bad filter fails here, before anything is sent) and
/// records the export, with its filters and how many rows match, in the security log. The event is
/// written before the first byte leaves, so an export the client breaks off is recorded too.
pub async fn export(
    inst: Arc<Instance>,
    def: &'static ModuleDef,
    params: ListParams,
    by: By,
) -> Result<Export, HubError> {
    let mut p = params;
    p.limit = EXPORT_PAGE;
    p.cursor = None;
    let cols = header(def);
    let mut first = crate::csv::row(&cols);
    let page = list(&inst, def, &p).await?;
    push_rows(&mut first, def, &cols, &page.rows);
    let rows = match page.next_cursor {
        Some(_) => count(&inst, def, &p).await?,
        None => page.rows.len() as i64,
    };
    let filters: Vec<String> = p.filters.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let q = p.q.clone();
    inst.db
        .write(move |tx| {
            audit::write(
                tx,
                by.now,
                Entry::new(Event::DataExported, by.actor, def.slug, by.source)
                    .with(json!({ "rows": rows, "format": "csv", "filters": filters, "q": q })),
            )
        })
        .await?;
    p.cursor = page.next_cursor.clone();
    Ok(Export {
        inst,
        def,
        done: page.next_cursor.is_none(),
        params: p,
        cols,
        first: Some(first),
    })
}

impl Export {
    /// The next part of the file, `None` at its end.
    pub async fn next_chunk(&mut self) -> Result<Option<String>, HubError> {
        if let Some(first) = self.first.take() {
            return Ok(Some(first));
        }
        if self.done {
            return Ok(None);
        }
        let page = list(&self.inst, self.def, &self.params).await?;
        let mut out = String::new();
        push_rows(&mut out, self.def, &self.cols, &page.rows);
        match page.next_cursor {
            Some(c) => self.params.cursor = Some(c),
            None => self.done = true,
        }
        Ok(Some(out))
    }
}

fn push_rows(out: &mut String, def: &'static ModuleDef, cols: &[&'static str], rows: &[Row]) {
    for r in rows {
        let j = super::records::to_json(def, r);
        out.push_str(&crate::csv::row(
            &cols.iter().map(|c| cell(&j[*c])).collect::<Vec<_>>(),
        ));
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub row: usize,
    pub column: usize,
    pub field: String,
    /// The English sentence (API, console).
    pub message: String,
    /// The same problem as pages word it, when its kind is known.
    #[serde(skip)]
    pub kind: Option<FileProblem>,
}

/// What is wrong at one place of an imported file, for pages to word in the reader's language
/// (`key`, `args`); `Problem::message` is the English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    NotUtf8 {
        byte: usize,
    },
    UnreadableHeader {
        detail: String,
    },
    TooManyColumns {
        have: usize,
        max: usize,
    },
    UnknownColumn,
    ColumnTwice,
    MissingColumn,
    Malformed {
        detail: String,
    },
    NotPositiveId,
    TooManyRows,
    IdExists {
        id: i64,
    },
    /// A field's value refused by the module's checks.
    Field(crate::hub::problem::Problem),
}

impl FileProblem {
    /// Every catalogue key of a problem of the file itself (field problems have their own).
    pub const KEYS: &'static [&'static str] = &[
        "csv-not-utf8",
        "csv-unreadable-header",
        "csv-too-many-columns",
        "csv-unknown-column",
        "csv-column-twice",
        "csv-missing-column",
        "csv-malformed",
        "csv-not-positive-id",
        "csv-too-many-rows",
        "csv-id-exists",
    ];

    /// The problem as pages word it, in the reader's language (a field's problem as the field
    /// refused it).
    pub fn message(&self) -> crate::i18n::Message {
        use crate::i18n::Message;
        match self {
            FileProblem::Field(p) => p.message(),
            FileProblem::NotUtf8 { byte } => {
                Message::new("csv-not-utf8").arg("byte", byte.to_string())
            }
            FileProblem::UnreadableHeader { detail } => {
                Message::new("csv-unreadable-header").arg("detail", detail)
            }
            FileProblem::Malformed { detail } => {
                Message::new("csv-malformed").arg("detail", detail)
            }
            FileProblem::TooManyColumns { have, max } => Message::new("csv-too-many-columns")
                .arg("have", have.to_string())
                .arg("max", max.to_string()),
            FileProblem::IdExists { id } => Message::new("csv-id-exists").arg("id", id.to_string()),
            FileProblem::UnknownColumn => Message::new("csv-unknown-column"),
            FileProblem::ColumnTwice => Message::new("csv-column-twice"),
            FileProblem::MissingColumn => Message::new("csv-missing-column"),
            FileProblem::NotPositiveId => Message::new("csv-not-positive-id"),
            FileProblem::TooManyRows => Message::new("csv-too-many-rows"),
        }
    }
}

#[derive(Debug, serde::Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub created: usize,
    pub dry_run: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file has {} problem(s); nothing was imported", .0.len())]
    Problems(Vec<Problem>),
    #[error("{0}")]
    Hub(#[from] HubError),
}

impl From<crate::storage::StorageError> for ImportError {
    fn from(e: crate::storage::StorageError) -> Self {
        ImportError::Hub(e.into())
    }
}

struct Parsed {
    line: usize,
    id: Option<i64>,
    values: Vec<(&'static str, Value)>,
}

/// Rows that passed the field checks, every problem found so far, and the header (for columns).
/// A problem with the file as a whole (encoding, header) returns no rows.
fn parse(def: &'static ModuleDef, data: &[u8]) -> (Vec<Parsed>, Vec<Problem>, Vec<String>) {
    let mut problems = Vec::new();
    let text = match std::str::from_utf8(data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data)) {
        Ok(t) => t,
        Err(e) => {
            let p = Problem {
                row: 0,
                column: 0,
                field: String::new(),
                message: format!("the file is not UTF-8 (byte {})", e.valid_up_to()),
                kind: Some(FileProblem::NotUtf8 {
                    byte: e.valid_up_to(),
                }),
            };
            return (vec![], vec![p], vec![]);
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            let p = Problem {
                row: 1,
                column: 0,
                field: String::new(),
                message: format!("cannot read the header row: {e}"),
                kind: Some(FileProblem::UnreadableHeader {
                    detail: e.to_string(),
                }),
            };
            return (vec![], vec![p], vec![]);
        }
    };
    // A header longer than every column the module has cannot be right; refused as one problem,
    // before the per-column checks, which would otherwise compare every pair of a million columns.
    let columns = 1 + def.fields.len() + def.computed.len() + SYSTEM_COLUMNS.len();
    if headers.len() > columns {
        let p = Problem {
            row: 1,
            column: columns + 1,
            field: String::new(),
            message: format!(
                "the header has {} columns; a {} file has at most {columns}",
                headers.len(),
                def.singular
            ),
            kind: Some(FileProblem::TooManyColumns {
                have: headers.len(),
                max: columns,
            }),
        };
        return (vec![], vec![p], vec![]);
    }
    for (i, h) in headers.iter().enumerate() {
        let known = h == "id"
            || def.field(h).is_some()
            || def.computed.contains(&h.as_str())
            || SYSTEM_COLUMNS.contains(&h.as_str());
        if !known {
            problems.push(Problem {
                row: 1,
                column: i + 1,
                field: h.clone(),
                message: "unknown column".into(),
                kind: Some(FileProblem::UnknownColumn),
            });
        }
        if headers[..i].contains(h) {
            problems.push(Problem {
                row: 1,
                column: i + 1,
                field: h.clone(),
                message: "column appears twice".into(),
                kind: Some(FileProblem::ColumnTwice),
            });
        }
    }
    for f in def.fields.iter().filter(|f| f.required) {
        if !headers.iter().any(|h| h == f.name) {
            problems.push(Problem {
                row: 1,
                column: 0,
                field: f.name.into(),
                message: "required column is missing".into(),
                kind: Some(FileProblem::MissingColumn),
            });
        }
    }
    if !problems.is_empty() {
        return (vec![], problems, headers);
    }
    let mut out = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem {
                    row: line,
                    column: 0,
                    field: String::new(),
                    message: format!("malformed CSV: {e}"),
                    kind: Some(FileProblem::Malformed {
                        detail: e.to_string(),
                    }),
                });
                continue;
            }
        };
        let mut input = Map::new();
        let mut id = None;
        for (i, value) in record.iter().enumerate() {
            let h = headers[i].as_str();
            if h == "id" {
                if !value.trim().is_empty() {
                    match value.trim().parse::<i64>() {
                        Ok(v) if v > 0 => id = Some(v),
                        _ => problems.push(Problem {
                            row: line,
                            column: i + 1,
                            field: "id".into(),
                            message: "must be a positive whole number".into(),
                            kind: Some(FileProblem::NotPositiveId),
                        }),
                    }
                }
            } else if def.field(h).is_some() {
                input.insert(
                    h.to_string(),
                    Json::String(crate::csv::unneutralise(value).to_string()),
                );
            }
        }
        match validate(def, &input, false) {
            Ok(values) => out.push(Parsed { line, id, values }),
            Err(HubError::Invalid(errs)) => {
                for FieldError {
                    field,
                    message,
                    problem,
                } in errs
                {
                    let column = headers
                        .iter()
                        .position(|h| *h == field)
                        .map_or(0, |p| p + 1);
                    problems.push(Problem {
                        row: line,
                        column,
                        field,
                        message,
                        kind: problem.map(FileProblem::Field),
                    });
                }
            }
            Err(e) => problems.push(Problem {
                row: line,
                column: 0,
                field: String::new(),
                message: e.to_string(),
                kind: None,
            }),
        }
        if out.len() + problems.len() > 100_000 {
            problems.push(Problem {
                row: line,
                column: 0,
                field: String::new(),
                message: "at most 100,000 rows per import".into(),
                kind: Some(FileProblem::TooManyRows),
            });
            break;
        }
    }
    (out, problems, headers)
}

/// Checks a CSV file as [`import`] does before it reaches the database (encoding, header, every
/// field of every row) and returns how many rows passed, or every problem found. Reads nothing and
/// writes nothing, so references and ids in use are not checked: the fuzz harness drives it.
pub fn check(def: &'static ModuleDef, data: &[u8]) -> Result<usize, Vec<Problem>> {
    let (rows, problems, _) = parse(def, data);
    if problems.is_empty() {
        Ok(rows.len())
    } else {
        Err(problems)
    }
}

/// Imports a CSV file in ONE transaction: any problem (format, validation, missing reference, id in
/// use) rolls everything back and is reported with row and column. `dry_run` checks only.
pub async fn import(
    inst: &Instance,
    def: &'static ModuleDef,
    data: Vec<u8>,
    dry_run: bool,
    by: By,
) -> Result<ImportReport, ImportError> {
    let (rows, mut early, headers) = parse(def, &data);
    if rows.is_empty() && !early.is_empty() {
        return Err(ImportError::Problems(early));
    }
    let count = rows.len()
        + early
            .iter()
            .map(|p| p.row)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
    let column_of = move |field: &str| headers.iter().position(|h| h == field).map_or(0, |p| p + 1);
    let has_early = !early.is_empty();
    let apply = move |tx: &crate::storage::Transaction| -> Result<ImportReport, ImportError> {
        let mut problems = std::mem::take(&mut early);
        for r in &rows {
            if let Some(id) = r.id
                && store::exists(tx, def.table, id)?
            {
                problems.push(Problem {
                    row: r.line,
                    column: column_of("id"),
                    field: "id".into(),
                    message: format!("a {} with id {id} already exists", def.singular),
                    kind: Some(FileProblem::IdExists { id }),
                });
                continue;
            }
            let mut values = r.values.clone();
            if let Some(id) = r.id {
                values.push(("id", Value::Integer(id)));
            }
            match create_in(tx, def, &values, &by, false) {
                Ok(_) => {}
                Err(HubError::Invalid(errs) | HubError::Unresolved(errs)) => {
                    for e in errs {
                        problems.push(Problem {
                            row: r.line,
                            column: column_of(&e.field),
                            field: e.field,
                            message: e.message,
                            kind: e.problem.map(FileProblem::Field),
                        });
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| (p.row, p.column));
            return Err(ImportError::Problems(problems));
        }
        if !dry_run {
            audit::write(
                tx,
                by.now,
                Entry::new(
                    Event::DataImported,
                    by.actor.clone(),
                    def.slug,
                    by.source.clone(),
                )
                .with(json!({ "rows": count })),
            )?;
        }
        Ok(ImportReport {
            rows: count,
            created: if dry_run { 0 } else { count },
            dry_run,
        })
    };
    // With problems already found, the rows are still checked against the database (references,
    // ids in use) so that one answer lists everything — but in a rehearsal that is rolled back.
    if dry_run || has_early {
        inst.db.rehearse(apply).await
    } else {
        inst.db.write(apply).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::CLIENTS;

    #[test]
    fn a_header_of_many_columns_is_one_problem() {
        // Found by the fuzz harness: every extra column was compared with all before it (a 32 MiB
        // header is ~16 million columns) and gave one or two problems each.
        let mut file = "name".to_string();
        file.push_str(&",name".repeat(200_000));
        file.push_str("\r\nAcme\r\n");
        let problems = check(&CLIENTS, file.as_bytes()).unwrap_err();
        assert_eq!(
            problems.len(),
            1,
            "{:?}",
            &problems[..2.min(problems.len())]
        );
        assert!(
            problems[0].message.contains("200001 columns"),
            "{}",
            problems[0].message
        );
        // A full header of known columns is still fine.
        let ok = "id,name,tax_id,email,phone,address,status,notes,version,created_at,updated_at\r\n\
                  ,Acme,,,,,,,,,\r\n";
        let r = check(&CLIENTS, ok.as_bytes());
        assert!(matches!(r, Ok(1)), "{r:?}");
    }
}
