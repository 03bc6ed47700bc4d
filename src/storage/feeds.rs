//! Table `feed_tokens` (calendar feed tokens, stored hashed) and the dated records one person's
//! calendar feed shows: tasks they are assigned, deadlines of projects they manage, their time.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::{OptionalExtension, params};

/// A person's feed token, never the token itself.
#[derive(Debug, Clone)]
pub struct FeedRow {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub include_time: bool,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    /// The owner can no longer sign in (disabled or locked): the feed answers as if unknown.
    pub owner_blocked: bool,
}

const COLUMNS: &str = "f.id, f.user_id, u.username, f.include_time, f.created_at, f.revoked_at, \
f.last_used_at, (u.disabled_at IS NOT NULL OR u.locked_at IS NOT NULL)";
const FROM: &str = "feed_tokens f JOIN users u ON u.id = f.user_id";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<FeedRow> {
    Ok(FeedRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        username: r.get(2)?,
        include_time: r.get::<_, i64>(3)? != 0,
        created_at: r.get(4)?,
        revoked_at: r.get(5)?,
        last_used_at: r.get(6)?,
        owner_blocked: r.get::<_, i64>(7)? != 0,
    })
}

/// Revokes the person's live feed token, if any; its id.
pub fn revoke_live(tx: &Transaction, user_id: i64, now: &str) -> Result<Option<i64>, StorageError> {
    let id: Option<i64> = tx
        .query_row(
            "SELECT id FROM feed_tokens WHERE user_id = ?1 AND revoked_at IS NULL",
            [user_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = id {
        tx.execute(
            "UPDATE feed_tokens SET revoked_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
    }
    Ok(id)
}

pub fn insert(
    tx: &Transaction,
    user_id: i64,
    token_hash: &str,
    include_time: bool,
    now: &str,
) -> Result<i64, StorageError> {
    tx.execute(
        "INSERT INTO feed_tokens (user_id, token_hash, include_time, created_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![user_id, token_hash, i64::from(include_time), now],
    )?;
    Ok(tx.last_insert_rowid())
}

pub fn by_hash(conn: &Connection, token_hash: &str) -> Result<Option<FeedRow>, StorageError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE f.token_hash = ?1"
        ))?
        .query_row([token_hash], from_row)
        .optional()?)
}

/// The person's live feed, if they have one.
pub fn live_of(conn: &Connection, user_id: i64) -> Result<Option<FeedRow>, StorageError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE f.user_id = ?1 AND f.revoked_at IS NULL"
        ))?
        .query_row([user_id], from_row)
        .optional()?)
}

/// Records a use when the last recorded one is at or before `cutoff` (both RFC 3339 UTC stamps of
/// one format, so they compare as text); whether it did. Decided inside the writer's transaction,
/// so two polls at once cannot both record one.
pub fn touch_if_before(
    tx: &Transaction,
    id: i64,
    now: &str,
    cutoff: &str,
) -> Result<bool, StorageError> {
    let n = tx.execute(
        "UPDATE feed_tokens SET last_used_at = ?2
         WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?3)",
        params![id, now, cutoff],
    )?;
    Ok(n == 1)
}

/// The newest recorded use of any feed token of the instance (recorded at most hourly per token).
pub fn last_use(conn: &Connection) -> Result<Option<String>, StorageError> {
    Ok(
        conn.query_row("SELECT max(last_used_at) FROM feed_tokens", [], |r| {
            r.get(0)
        })?,
    )
}

/// One dated record of a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dated {
    pub id: i64,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub title: String,
    /// The project's name (for a project's own deadline, its client's name).
    pub context: String,
    /// Task status and priority; for time, the minutes; for a project, its status.
    pub status: String,
    pub detail: String,
    pub updated_at: String,
    pub version: i64,
}

/// What one person's feed shows, read in one snapshot, each list bounded by `limit`, dates from
/// `since` on.
#[derive(Debug, Clone, Default)]
pub struct FeedData {
    pub tasks: Vec<Dated>,
    pub deadlines: Vec<Dated>,
    pub time: Vec<Dated>,
}

/// Which kinds of records a feed may show (the owner's view permissions, and their choice of time).
#[derive(Debug, Clone, Copy)]
pub struct Kinds {
    pub tasks: bool,
    pub deadlines: bool,
    pub time: bool,
}

pub fn data(
    conn: &Connection,
    username: &str,
    kinds: Kinds,
    since: &str,
    limit: i64,
) -> Result<FeedData, StorageError> {
    let map = |r: &rusqlite::Row| -> rusqlite::Result<Dated> {
        Ok(Dated {
            id: r.get(0)?,
            date: r.get(1)?,
            title: r.get(2)?,
            context: r.get(3)?,
            status: r.get(4)?,
            detail: r.get(5)?,
            updated_at: r.get(6)?,
            version: r.get(7)?,
        })
    };
    let tasks = if !kinds.tasks {
        Vec::new()
    } else {
        conn.prepare_cached(
            "SELECT t.id, t.due_date, t.title, p.name, t.status, t.priority, t.updated_at, t.version
             FROM tasks t JOIN projects p ON p.id = t.project_id
             WHERE t.assignee = ?1 AND t.due_date IS NOT NULL AND t.due_date >= ?2
             ORDER BY t.due_date, t.id LIMIT ?3",
        )?
        .query_map(params![username, since, limit], map)?
        .collect::<Result<Vec<_>, _>>()?
    };
    let deadlines = if !kinds.deadlines {
        Vec::new()
    } else {
        conn.prepare_cached(
            "SELECT p.id, p.end_date, p.name, c.name, p.status, '', p.updated_at, p.version
             FROM projects p JOIN clients c ON c.id = p.client_id
             WHERE p.manager = ?1 AND p.end_date IS NOT NULL AND p.end_date >= ?2
             ORDER BY p.end_date, p.id LIMIT ?3",
        )?
        .query_map(params![username, since, limit], map)?
        .collect::<Result<Vec<_>, _>>()?
    };
    let time = if kinds.time {
        conn.prepare_cached(
            "SELECT e.id, e.date, coalesce(e.note, ''), p.name, CAST(e.minutes AS TEXT), '',
                    e.updated_at, e.version
             FROM time_entries e JOIN projects p ON p.id = e.project_id
             WHERE e.user = ?1 AND e.date >= ?2
             ORDER BY e.date, e.id LIMIT ?3",
        )?
        .query_map(params![username, since, limit], map)?
        .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    Ok(FeedData {
        tasks,
        deadlines,
        time,
    })
}
