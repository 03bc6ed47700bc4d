//! Generic SQL for the business modules. Table and column names come only from the static schema
//! in `hub::schema` (never from a request), values are always bound parameters.

use super::StorageError;
use crate::schema::{Kind, ModuleDef};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};

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

fn select_list(def: &ModuleDef) -> String {
    let mut cols = vec!["id", "version", "created_at", "updated_at"];
    cols.extend(columns(def));
    cols.iter()
        .map(|c| format!("\"{c}\""))
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
        .query_row(
            &format!(
                "SELECT {} FROM \"{}\" WHERE id = ?1",
                select_list(def),
                def.table
            ),
            [id],
            |r| read_row(def, r),
        )
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
    Ok(conn.query_row(
        &format!("SELECT count(*) > 0 FROM \"{table}\" WHERE id = ?1"),
        [id],
        |r| r.get(0),
    )?)
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
    tx.execute(&sql, params_from_iter(args))?;
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
    Ok(tx.execute(&sql, params_from_iter(args))? == 1)
}

pub fn delete(tx: &Transaction, def: &ModuleDef, id: i64) -> Result<bool, StorageError> {
    Ok(tx.execute(
        &format!("DELETE FROM \"{}\" WHERE id = ?1", def.table),
        [id],
    )? == 1)
}

/// How to list records.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub equals: Vec<(&'static str, Value)>,
    /// Inclusive ranges on date columns.
    pub ranges: Vec<(&'static str, Option<String>, Option<String>)>,
    /// Full-text query (already reduced to FTS5 syntax by `fts_query`).
    pub search: Option<String>,
    pub sort: Option<&'static str>,
    pub desc: bool,
    /// Keyset cursor: the sort value and id of the last row of the previous page.
    pub after: Option<(Value, i64)>,
    pub limit: usize,
}

fn sort_expr(def: &ModuleDef, col: &str) -> String {
    let not_null = def
        .field(col)
        .is_some_and(|f| f.required || f.default.is_some())
        || matches!(col, "updated_at" | "created_at" | "status" | "total");
    if not_null {
        format!("\"{col}\"")
    } else {
        format!("ifnull(\"{col}\", '')")
    }
}

/// One page of records, ordered by the sort column then id (stable keyset paging).
pub fn list(conn: &Connection, def: &ModuleDef, q: &ListQuery) -> Result<Vec<Row>, StorageError> {
    let mut sql = format!(
        "SELECT {} FROM \"{}\" WHERE 1 = 1",
        select_list(def),
        def.table
    );
    let mut args: Vec<Value> = Vec::new();
    for (c, v) in &q.equals {
        sql.push_str(&format!(" AND \"{}\" = ?", known(def, c)?));
        args.push(v.clone());
    }
    for (c, from, to) in &q.ranges {
        let c = known(def, c)?;
        if let Some(f) = from {
            sql.push_str(&format!(" AND \"{c}\" >= ?"));
            args.push(Value::Text(f.clone()));
        }
        if let Some(t) = to {
            sql.push_str(&format!(" AND \"{c}\" <= ?"));
            args.push(Value::Text(t.clone()));
        }
    }
    if let Some(s) = &q.search {
        sql.push_str(" AND id IN (SELECT record_id FROM search_index WHERE search_index MATCH ? AND module = ?)");
        args.push(Value::Text(s.clone()));
        args.push(Value::Text(def.slug.into()));
    }
    let (cmp, dir) = if q.desc { ("<", "DESC") } else { (">", "ASC") };
    match q.sort {
        Some(col) => {
            let e = sort_expr(def, known(def, col)?);
            if let Some((v, id)) = &q.after {
                sql.push_str(&format!(" AND ({e} {cmp} ? OR ({e} = ? AND id {cmp} ?))"));
                args.push(v.clone());
                args.push(v.clone());
                args.push(Value::Integer(*id));
            }
            sql.push_str(&format!(" ORDER BY {e} {dir}, id {dir}"));
        }
        None => {
            if let Some((_, id)) = &q.after {
                sql.push_str(&format!(" AND id {cmp} ?"));
                args.push(Value::Integer(*id));
            }
            sql.push_str(&format!(" ORDER BY id {dir}"));
        }
    }
    sql.push_str(" LIMIT ?");
    args.push(Value::Integer(q.limit as i64));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| read_row(def, r))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Turns what a person typed into an FTS5 query: every word must occur (as a prefix).
pub fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.' && c != '-')
        .filter(|w| !w.is_empty())
        .take(8)
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}

/// Each record's search row has a rowid derived from module and id, so it is found without a scan
/// (FTS5 cannot index its UNINDEXED columns).
fn search_rowid(slug: &str, id: i64) -> i64 {
    let module = crate::schema::ALL
        .iter()
        .position(|d| d.slug == slug)
        .unwrap_or(15) as i64;
    id * 16 + module
}

pub fn index(
    tx: &Transaction,
    slug: &str,
    id: i64,
    title: &str,
    body: &str,
) -> Result<(), StorageError> {
    unindex(tx, slug, id)?;
    tx.execute(
        "INSERT INTO search_index (rowid, module, record_id, title, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![search_rowid(slug, id), slug, id, title, body],
    )?;
    Ok(())
}

pub fn unindex(tx: &Transaction, slug: &str, id: i64) -> Result<(), StorageError> {
    tx.execute(
        "DELETE FROM search_index WHERE rowid = ?1",
        [search_rowid(slug, id)],
    )?;
    Ok(())
}

/// Best matches across every module: (module slug, id, title).
pub fn search_all(
    conn: &Connection,
    fts: &str,
    limit: usize,
) -> Result<Vec<(String, i64, String)>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT module, record_id, title FROM search_index WHERE search_index MATCH ?1 ORDER BY rank LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![fts, limit as i64], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
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

#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryRow {
    pub change_id: i64,
    pub at: String,
    pub actor: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

pub fn next_change_id(tx: &Transaction) -> Result<i64, StorageError> {
    Ok(tx.query_row(
        "SELECT coalesce(max(change_id), 0) + 1 FROM record_history",
        [],
        |r| r.get(0),
    )?)
}

#[allow(clippy::too_many_arguments)]
pub fn add_history(
    tx: &Transaction,
    slug: &str,
    id: i64,
    change_id: i64,
    at: &str,
    actor: &str,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO record_history (module, record_id, change_id, at, actor, field, old_value, new_value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![slug, id, change_id, at, actor, field, old, new],
    )?;
    Ok(())
}

pub fn history(conn: &Connection, slug: &str, id: i64) -> Result<Vec<HistoryRow>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT change_id, at, actor, field, old_value, new_value FROM record_history
         WHERE module = ?1 AND record_id = ?2 ORDER BY change_id DESC, id",
    )?;
    let rows = stmt.query_map(params![slug, id], |r| {
        Ok(HistoryRow {
            change_id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            field: r.get(3)?,
            old_value: r.get(4)?,
            new_value: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CommentRow {
    pub id: i64,
    pub author: String,
    pub body: String,
    pub created_at: String,
}

pub fn add_comment(
    tx: &Transaction,
    slug: &str,
    id: i64,
    author: &str,
    body: &str,
    now: &str,
) -> Result<i64, StorageError> {
    tx.execute(
        "INSERT INTO comments (module, record_id, author, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![slug, id, author, body, now],
    )?;
    Ok(tx.last_insert_rowid())
}

pub fn comments(conn: &Connection, slug: &str, id: i64) -> Result<Vec<CommentRow>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, author, body, created_at FROM comments WHERE module = ?1 AND record_id = ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![slug, id], |r| {
        Ok(CommentRow {
            id: r.get(0)?,
            author: r.get(1)?,
            body: r.get(2)?,
            created_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

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
