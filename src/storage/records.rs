//! Generic SQL for the business modules. Table and column names come only from the static schema
//! in `hub::schema` (never from a request), values are always bound parameters.

use super::StorageError;
use super::Value;
use super::search::{REJECTS_BEFORE_EXACT, search_table};
use super::{Connection, Transaction};
use crate::schema::{Kind, ModuleDef};
use rusqlite::{OptionalExtension, params, params_from_iter};

pub use super::search::{TextQuery, fts_query, index, search_all, unindex};

#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// Every field and computed column of the module, in schema order.
    pub values: Vec<(&'static str, Value)>,
}

impl Row {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

fn columns(def: &ModuleDef) -> Vec<&'static str> {
    def.fields
        .iter()
        .map(|f| f.name)
        .chain(def.computed.iter().copied())
        .collect()
}

/// The columns `read_row` expects, qualified with the table name (lists join the search table, whose
/// `title` column would otherwise be ambiguous).
fn select_list(def: &ModuleDef) -> String {
    let mut cols = vec!["id", "version", "created_at", "updated_at"];
    cols.extend(columns(def));
    cols.iter()
        .map(|c| format!("\"{}\".\"{c}\"", def.table))
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_row(def: &ModuleDef, r: &rusqlite::Row) -> rusqlite::Result<Row> {
    let names = columns(def);
    let mut values = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        values.push((*n, r.get::<_, Value>(i + 4)?));
    }
    Ok(Row {
        id: r.get(0)?,
        version: r.get(1)?,
        created_at: r.get(2)?,
        updated_at: r.get(3)?,
        values,
    })
}

fn known(def: &ModuleDef, col: &str) -> Result<&'static str, StorageError> {
    columns(def)
        .into_iter()
        .chain(["id", "updated_at", "created_at"])
        .find(|c| *c == col)
        .ok_or_else(|| StorageError::Open {
            path: def.table.into(),
            reason: format!("unknown column {col}"),
        })
}

pub fn get(conn: &Connection, def: &ModuleDef, id: i64) -> Result<Option<Row>, StorageError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {} FROM \"{}\" WHERE id = ?1",
            select_list(def),
            def.table
        ))?
        .query_row([id], |r| read_row(def, r))
        .optional()?)
}

pub fn exists(conn: &Connection, table: &str, id: i64) -> Result<bool, StorageError> {
    let table = crate::schema::ALL
        .iter()
        .map(|d| d.table)
        .find(|t| *t == table)
        .ok_or_else(|| StorageError::Open {
            path: table.into(),
            reason: "unknown table".into(),
        })?;
    Ok(conn
        .prepare_cached(&format!(
            "SELECT count(*) > 0 FROM \"{table}\" WHERE id = ?1"
        ))?
        .query_row([id], |r| r.get(0))?)
}

pub fn insert(
    tx: &Transaction,
    def: &ModuleDef,
    values: &[(&'static str, Value)],
    now: &str,
) -> Result<i64, StorageError> {
    let mut cols: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    for (c, v) in values {
        cols.push(known(def, c)?);
        args.push(v.clone());
    }
    cols.push("created_at");
    args.push(Value::Text(now.into()));
    cols.push("updated_at");
    args.push(Value::Text(now.into()));
    let sql = format!(
        "INSERT INTO \"{}\" ({}) VALUES ({})",
        def.table,
        cols.iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", "),
        vec!["?"; cols.len()].join(", ")
    );
    tx.prepare_cached(&sql)?.execute(params_from_iter(args))?;
    Ok(tx.last_insert_rowid())
}

/// Sets the given columns and bumps the version; `false` when the record does not exist.
pub fn update(
    tx: &Transaction,
    def: &ModuleDef,
    id: i64,
    values: &[(&'static str, Value)],
    now: &str,
) -> Result<bool, StorageError> {
    let mut sets = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    for (c, v) in values {
        sets.push(format!("\"{}\" = ?", known(def, c)?));
        args.push(v.clone());
    }
    sets.push("updated_at = ?".into());
    args.push(Value::Text(now.into()));
    sets.push("version = version + 1".into());
    args.push(Value::Integer(id));
    let sql = format!(
        "UPDATE \"{}\" SET {} WHERE id = ?",
        def.table,
        sets.join(", ")
    );
    Ok(tx.prepare_cached(&sql)?.execute(params_from_iter(args))? == 1)
}

pub fn delete(tx: &Transaction, def: &ModuleDef, id: i64) -> Result<bool, StorageError> {
    // Prepared once per connection: a table others refer to compiles a foreign-key check for each
    // of them into its DELETE, the largest statement a delete runs.
    Ok(tx
        .prepare_cached(&format!("DELETE FROM \"{}\" WHERE id = ?1", def.table))?
        .execute([id])?
        == 1)
}

/// How to list records.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub equals: Vec<(&'static str, Value)>,
    /// Inclusive ranges on date columns.
    pub ranges: Vec<(&'static str, Option<String>, Option<String>)>,
    /// Full-text query (made by `fts_query`).
    pub search: Option<TextQuery>,
    pub sort: Option<&'static str>,
    pub desc: bool,
    /// Keyset cursor: the sort value and id of the last row of the previous page.
    pub after: Option<(Value, i64)>,
    pub limit: usize,
}

/// The ORDER BY expression of a sort column, qualified with its table. Text that people type (names,
/// titles, e-mail addresses, user names) sorts without regard to letter case (ASCII `NOCASE`, the
/// same collation as the indexes on those columns, so a sorted page stays an index walk); nullable
/// columns sort as ''.
fn sort_expr(def: &ModuleDef, col: &str) -> String {
    let field = def.field(col);
    let not_null = field.is_some_and(|f| f.required || f.default.is_some())
        || matches!(col, "updated_at" | "created_at" | "status" | "total");
    let text = field.is_some_and(|f| {
        matches!(
            f.kind,
            Kind::Text { .. } | Kind::LongText | Kind::Email | Kind::User
        )
    });
    let qualified = format!("\"{}\".\"{col}\"", def.table);
    let e = if not_null {
        qualified
    } else {
        format!("ifnull({qualified}, '')")
    };
    if text {
        format!("{e} COLLATE NOCASE")
    } else {
        e
    }
}

/// The FROM and WHERE of a list (search and filters, no cursor), its arguments, and the column that
/// is the record id in it.
fn matching_sql(
    def: &ModuleDef,
    q: &ListQuery,
    exact: bool,
) -> Result<(String, Vec<Value>, String), StorageError> {
    let t = def.table;
    let mut args: Vec<Value> = Vec::new();
    // With a search, the module's full-text table drives the query (CROSS JOIN keeps it the outer
    // loop): newest first, FTS5 delivers the matches in rowid order and the LIMIT stops it early, so a
    // common word does not read every match.
    let (mut sql, id_col) = match &q.search {
        Some(s) => {
            let st = search_table(def);
            args.push(Value::Text(if exact { &s.exact } else { &s.fts }.clone()));
            (
                format!(
                    "FROM \"{st}\" CROSS JOIN \"{t}\" ON \"{t}\".id = \"{st}\".rowid WHERE \"{st}\" MATCH ?"
                ),
                format!("\"{st}\".rowid"),
            )
        }
        None => (format!("FROM \"{t}\" WHERE 1 = 1"), format!("\"{t}\".id")),
    };
    for (c, v) in &q.equals {
        sql.push_str(&format!(" AND \"{t}\".\"{}\" = ?", known(def, c)?));
        args.push(v.clone());
    }
    for (c, from, to) in &q.ranges {
        let c = known(def, c)?;
        if let Some(f) = from {
            sql.push_str(&format!(" AND \"{t}\".\"{c}\" >= ?"));
            args.push(Value::Text(f.clone()));
        }
        if let Some(to) = to {
            sql.push_str(&format!(" AND \"{t}\".\"{c}\" <= ?"));
            args.push(Value::Text(to.clone()));
        }
    }
    Ok((sql, args, id_col))
}

/// Which rows a list statement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// One page.
    Page,
    /// Candidates of a search with cut words, with the full-text title and body to check them
    /// against (`TextQuery::admits`): a page's worth and up to `REJECTS_BEFORE_EXACT` more.
    Candidates,
    /// One page by the uncut query (exact, but FTS5 merges the cut words' terms first).
    Exact,
}

/// The SQL and arguments of one list statement (separate from `list` so that tests can look at
/// its plan).
fn read_sql(
    def: &ModuleDef,
    q: &ListQuery,
    read: Read,
) -> Result<(String, Vec<Value>), StorageError> {
    let (matching, mut args, id_col) = matching_sql(def, q, read == Read::Exact)?;
    let text = if read == Read::Candidates {
        let st = search_table(def);
        format!(", \"{st}\".title, \"{st}\".body")
    } else {
        String::new()
    };
    let mut sql = format!("SELECT {}{text} {matching}", select_list(def));
    let (cmp, dir) = if q.desc { ("<", "DESC") } else { (">", "ASC") };
    match q.sort {
        Some(col) => {
            let e = sort_expr(def, known(def, col)?);
            if let Some((v, id)) = &q.after {
                // A row value: SQLite seeks the (column, id) index to the cursor.
                sql.push_str(&format!(" AND ({e}, {id_col}) {cmp} (?, ?)"));
                args.push(v.clone());
                args.push(Value::Integer(*id));
            }
            sql.push_str(&format!(" ORDER BY {e} {dir}, {id_col} {dir}"));
        }
        None => {
            if let Some((_, id)) = &q.after {
                sql.push_str(&format!(" AND {id_col} {cmp} ?"));
                args.push(Value::Integer(*id));
            }
            sql.push_str(&format!(" ORDER BY {id_col} {dir}"));
        }
    }
    sql.push_str(" LIMIT ?");
    let limit = match read {
        Read::Candidates => q.limit + REJECTS_BEFORE_EXACT,
        Read::Page | Read::Exact => q.limit,
    };
    args.push(Value::Integer(limit as i64));
    Ok((sql, args))
}

/// How many records a list's search and filters match (every page together).
pub fn count(conn: &Connection, def: &ModuleDef, q: &ListQuery) -> Result<i64, StorageError> {
    // Exact: a count reads every match anyway.
    let (matching, args, _) = matching_sql(def, q, true)?;
    Ok(conn
        .prepare_cached(&format!("SELECT count(*) {matching}"))?
        .query_row(params_from_iter(args), |r| r.get(0))?)
}

/// One page of records, ordered by the sort column then id (stable keyset paging).
pub fn list(conn: &Connection, def: &ModuleDef, q: &ListQuery) -> Result<Vec<Row>, StorageError> {
    let Some(search) = q.search.as_ref().filter(|s| !s.long_words.is_empty()) else {
        return read_page(conn, def, q, Read::Page);
    };
    // A cut word: read candidates in page order and keep those that really have the word.
    let (sql, args) = read_sql(def, q, Read::Candidates)?;
    let text_at = columns(def).len() + 4;
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    let (mut out, mut read) = (Vec::new(), 0usize);
    while let Some(r) = rows.next()? {
        read += 1;
        let title: Option<String> = r.get(text_at)?;
        let body: Option<String> = r.get(text_at + 1)?;
        if search.admits(
            title.as_deref().unwrap_or(""),
            body.as_deref().unwrap_or(""),
        ) {
            out.push(read_row(def, r)?);
            if out.len() == q.limit {
                return Ok(out);
            }
        }
    }
    if read < q.limit + REJECTS_BEFORE_EXACT {
        // Every candidate was looked at.
        return Ok(out);
    }
    read_page(conn, def, q, Read::Exact)
}

fn read_page(
    conn: &Connection,
    def: &ModuleDef,
    q: &ListQuery,
    read: Read,
) -> Result<Vec<Row>, StorageError> {
    let (sql, args) = read_sql(def, q, read)?;
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| read_row(def, r))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The display title of a record (for links), if it exists.
pub fn title_of(
    conn: &Connection,
    def: &ModuleDef,
    id: i64,
) -> Result<Option<String>, StorageError> {
    let title: Option<Option<String>> = conn
        .query_row(
            &format!(
                "SELECT CAST(\"{}\" AS TEXT) FROM \"{}\" WHERE id = ?1",
                def.title, def.table
            ),
            [id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(title.map(|t| t.unwrap_or_else(|| format!("#{id}"))))
}

pub use super::history::{Change, CommentRow, HistoryRow, add_comment, comments, history};

/// Records in `child` that point at `id` through `column` (for the related-records panel).
pub fn children(
    conn: &Connection,
    child: &ModuleDef,
    column: &str,
    id: i64,
    limit: usize,
) -> Result<Vec<(i64, String)>, StorageError> {
    let col = known(child, column)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, CAST(ifnull(\"{}\", '#' || id) AS TEXT) FROM \"{}\" WHERE \"{col}\" = ?1 ORDER BY id DESC LIMIT ?2",
        child.title, child.table
    ))?;
    let rows = stmt.query_map(params![id, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Which kind a column has, for turning stored values back into JSON.
pub fn kind_of(def: &ModuleDef, col: &str) -> Option<Kind> {
    def.field(col).map(|f| f.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Key256;
    use crate::schema::{CLIENTS, TASKS, TIME_ENTRIES};
    use crate::storage::{Database, Options};

    /// SQLite's plan for one list page, as its `detail` lines.
    fn plan(db: &Database, def: &ModuleDef, q: &ListQuery) -> String {
        let (sql, args) = read_sql(def, q, Read::Page).unwrap();
        db.read_blocking(|c| -> Result<String, StorageError> {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let rows = stmt.query_map(params_from_iter(args), |r| r.get::<_, String>(3))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?.join("\n"))
        })
        .unwrap()
    }

    fn db() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let key = Key256::generate().unwrap();
        let db = Database::open(
            &dir.path().join("db.sqlite"),
            &key,
            true,
            Options::default(),
        )
        .unwrap();
        (dir, db)
    }

    /// A sample value of the right type for a filter column.
    fn sample(kind: Kind) -> Value {
        match kind {
            Kind::Choice(options) => Value::Text(options[0].to_string()),
            Kind::Ref(_) | Kind::Int { .. } | Kind::Money | Kind::Bool => Value::Integer(1),
            _ => Value::Text("x".into()),
        }
    }

    #[test]
    fn every_list_filter_is_an_index_walk_newest_first() {
        let (_dir, db) = db();
        let mut problems = Vec::new();
        for def in crate::schema::ALL {
            for field in def.filters() {
                // A yes/no filter matches a large share of rows: walking the table newest first
                // fills a page after a few rows, no index needed.
                if matches!(field.kind, Kind::Bool) {
                    continue;
                }
                let q = ListQuery {
                    equals: vec![(field.name, sample(field.kind))],
                    desc: true,
                    limit: 50,
                    ..Default::default()
                };
                let p = plan(&db, def, &q);
                if p.contains("TEMP B-TREE") || !p.contains("USING INDEX") {
                    problems.push(format!("{}?{}=…: {p}", def.slug, field.name));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// Every sort a list offers, both directions, from the first page and from a cursor, walks an
    /// index and stops at the page size: a sort step would read every row of the module (2M time
    /// entries by `updated_at` or `minutes`).
    #[test]
    fn every_list_sort_is_an_index_walk() {
        let (_dir, db) = db();
        let mut problems = Vec::new();
        for def in crate::schema::ALL {
            for col in def.sortable {
                let kind = def.field(col).map(|f| f.kind);
                let sample = match kind {
                    Some(k) => sample(k),
                    None if matches!(*col, "total") => Value::Integer(100),
                    None => Value::Text("2026-01-01".into()),
                };
                for desc in [false, true] {
                    for after in [None, Some((sample.clone(), 10))] {
                        let q = ListQuery {
                            sort: Some(col),
                            desc,
                            after,
                            limit: 50,
                            ..Default::default()
                        };
                        let p = plan(&db, def, &q);
                        if p.contains("TEMP B-TREE") || !p.contains("INDEX") {
                            problems.push(format!("{}?sort={col} (desc {desc}): {p}", def.slug));
                        }
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// Deleting a record makes SQLite look for rows that refer to it (ON DELETE RESTRICT, SET NULL):
    /// that lookup must be an index search, or every delete scans the referring table in the writer.
    #[test]
    fn every_reference_column_is_indexed_for_deletes() {
        let (_dir, db) = db();
        let mut refs: Vec<(&str, &str)> = Vec::new();
        for def in crate::schema::ALL {
            for field in def.fields {
                if matches!(field.kind, Kind::Ref(_)) {
                    refs.push((def.table, field.name));
                }
            }
        }
        // References that holdfast sets itself (not fields of a form).
        refs.extend([
            ("time_entries", "invoice_id"),
            ("invoice_lines", "invoice_id"),
            ("document_versions", "document_id"),
        ]);
        let mut problems = Vec::new();
        for (table, column) in refs {
            let p = db
                .read_blocking(|c| -> Result<String, StorageError> {
                    let mut stmt = c.prepare(&format!(
                        "EXPLAIN QUERY PLAN SELECT 1 FROM \"{table}\" WHERE \"{column}\" = ?1"
                    ))?;
                    let rows = stmt.query_map([1], |r| r.get::<_, String>(3))?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?.join("\n"))
                })
                .unwrap();
            if !p.contains("USING INDEX") && !p.contains("USING COVERING INDEX") {
                problems.push(format!("{table}.{column}: {p}"));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn list_pages_are_index_walks_that_stop_at_the_limit() {
        let (_dir, db) = db();
        let page =
            |equals: Vec<(&'static str, Value)>, sort, desc, search: Option<TextQuery>| ListQuery {
                equals,
                sort,
                desc,
                search,
                after: None,
                limit: 50,
                ..Default::default()
            };
        // A busy project's time entries, newest first: the (project_id, id) index, no sort step.
        let p = plan(
            &db,
            &TIME_ENTRIES,
            &page(vec![("project_id", Value::Integer(7))], None, true, None),
        );
        assert!(p.contains("time_entries_project_id"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        // Sorted by name (case-insensitively), also from a cursor: the NOCASE name index.
        for after in [None, Some((Value::Text("Kar".into()), 10))] {
            let mut q = page(vec![], Some("name"), false, None);
            q.after = after;
            let p = plan(&db, &CLIENTS, &q);
            assert!(p.contains("clients_name"), "{p}");
            assert!(!p.contains("TEMP B-TREE"), "{p}");
        }
        let p = plan(&db, &TASKS, &page(vec![], Some("title"), true, None));
        assert!(p.contains("tasks_title"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        // A search, newest first: the module's own full-text table drives, in rowid order (no sort
        // step, so the LIMIT stops it), and each match is a primary-key lookup.
        let p = plan(
            &db,
            &CLIENTS,
            &page(vec![], None, true, fts_query("design")),
        );
        assert!(p.contains("search_clients VIRTUAL TABLE"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        assert!(p.contains("INTEGER PRIMARY KEY"), "{p}");
    }
}
