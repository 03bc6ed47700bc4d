//! The `alerts` and `watch_seen` tables: alerts raised by the watch, folded per rule and subject,
//! their state, and the addresses seen per administrator or token.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::{OptionalExtension, params};

/// Ids of the log rows kept with one alert; the count goes on, the list stops.
pub const MAX_EVENT_IDS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub rule: String,
    pub subject: String,
    pub severity: String,
    pub state: String,
    /// English, for the syslog stream, webhooks and the API.
    pub summary: String,
    /// The summary as a catalogue message (`i18n::Message` JSON) that pages and mails word in the
    /// reader's language; '' on alerts raised before it was kept.
    pub summary_words: String,
    /// How pages and mails name the subject (`i18n::Message` JSON); '' when the subject is a name
    /// or a path shown as it is.
    pub subject_words: String,
    pub first_seen: String,
    pub last_seen: String,
    pub count: i64,
    pub events: Vec<i64>,
    pub log_filter: String,
    pub note: Option<String>,
    pub mailed_at: Option<String>,
    pub changed_at: String,
    pub changed_by: Option<String>,
}

const COLUMNS: &str = "id, rule, subject, severity, state, summary, first_seen, last_seen, count, \
events, log_filter, note, mailed_at, changed_at, changed_by, summary_words, subject_words";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<AlertRow> {
    let events: String = r.get(9)?;
    Ok(AlertRow {
        id: r.get(0)?,
        rule: r.get(1)?,
        subject: r.get(2)?,
        severity: r.get(3)?,
        state: r.get(4)?,
        summary: r.get(5)?,
        first_seen: r.get(6)?,
        last_seen: r.get(7)?,
        count: r.get(8)?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        log_filter: r.get(10)?,
        note: r.get(11)?,
        mailed_at: r.get(12)?,
        changed_at: r.get(13)?,
        changed_by: r.get(14)?,
        summary_words: r.get(15)?,
        subject_words: r.get(16)?,
    })
}

/// What the watch found: one occurrence of a rule for a subject.
pub struct Raise<'a> {
    pub rule: &'a str,
    pub subject: &'a str,
    pub severity: &'a str,
    pub summary: &'a str,
    pub summary_words: &'a str,
    pub subject_words: &'a str,
    pub log_filter: &'a str,
    pub event_id: Option<i64>,
    pub now: &'a str,
}

/// Folds `r` into the alert of its rule and subject that is not closed, or opens a new one.
/// Returns the alert and whether it is new.
pub fn raise(tx: &Transaction, r: &Raise) -> Result<(AlertRow, bool), StorageError> {
    let existing = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM alerts WHERE rule = ?1 AND subject = ?2 AND state <> 'closed'"
        ))?
        .query_row(params![r.rule, r.subject], from_row)
        .optional()?;
    if let Some(mut a) = existing {
        if let Some(id) = r.event_id
            && a.events.len() < MAX_EVENT_IDS
            && !a.events.contains(&id)
        {
            a.events.push(id);
        }
        a.count += 1;
        a.last_seen = r.now.to_string();
        a.summary = r.summary.to_string();
        a.summary_words = r.summary_words.to_string();
        tx.prepare_cached(
            "UPDATE alerts SET count = ?2, last_seen = ?3, events = ?4, summary = ?5,
                               summary_words = ?6
             WHERE id = ?1",
        )?
        .execute(params![
            a.id,
            a.count,
            a.last_seen,
            ids_json(&a.events),
            a.summary,
            a.summary_words
        ])?;
        return Ok((a, false));
    }
    let events: Vec<i64> = r.event_id.into_iter().collect();
    tx.prepare_cached(
        "INSERT INTO alerts (rule, subject, severity, state, summary, first_seen, last_seen, count,
                             events, log_filter, changed_at, summary_words, subject_words)
         VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?5, 1, ?6, ?7, ?5, ?8, ?9)",
    )?
    .execute(params![
        r.rule,
        r.subject,
        r.severity,
        r.summary,
        r.now,
        ids_json(&events),
        r.log_filter,
        r.summary_words,
        r.subject_words
    ])?;
    let id = tx.last_insert_rowid();
    let row = get(tx, id)?.ok_or(StorageError::Worker)?;
    Ok((row, true))
}

fn ids_json(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<AlertRow>, StorageError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM alerts WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// Alerts that are not closed (open first, then acknowledged; newest first), then up to `closed`
/// closed ones, newest first.
pub fn list(conn: &Connection, closed: usize) -> Result<Vec<AlertRow>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE state <> 'closed'
         ORDER BY state = 'acknowledged', last_seen DESC, id DESC"
    ))?;
    let mut out = stmt
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE state = 'closed' ORDER BY id DESC LIMIT ?1"
    ))?;
    out.extend(
        stmt.query_map([closed as i64], from_row)?
            .collect::<Result<Vec<_>, _>>()?,
    );
    Ok(out)
}

/// Open alerts (not acknowledged, not closed) by severity.
pub fn open_counts(conn: &Connection) -> Result<Vec<(String, i64)>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT severity, count(*) FROM alerts WHERE state = 'open' GROUP BY severity",
    )?;
    Ok(stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?)
}

pub fn set_state(
    tx: &Transaction,
    id: i64,
    state: &str,
    note: Option<&str>,
    by: &str,
    now: &str,
) -> Result<bool, StorageError> {
    let n = tx.execute(
        "UPDATE alerts SET state = ?2, note = coalesce(?3, note), changed_by = ?4, changed_at = ?5
         WHERE id = ?1",
        params![id, state, note, by, now],
    )?;
    Ok(n == 1)
}

/// Alerts not mailed yet (the digest's content), oldest first.
pub fn unmailed(conn: &Connection) -> Result<Vec<AlertRow>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE mailed_at IS NULL ORDER BY id LIMIT 500"
    ))?;
    Ok(stmt
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?)
}

pub fn mark_mailed(tx: &Transaction, ids: &[i64], now: &str) -> Result<(), StorageError> {
    let mut stmt = tx.prepare_cached("UPDATE alerts SET mailed_at = ?2 WHERE id = ?1")?;
    for id in ids {
        stmt.execute(params![id, now])?;
    }
    Ok(())
}

/// Records that `subject` (of `kind`) was seen at `address`; returns when it was seen there
/// before, if ever, and whether the subject had been seen anywhere before.
pub fn seen(
    tx: &Transaction,
    kind: &str,
    subject: &str,
    address: &str,
    now: &str,
) -> Result<(Option<String>, bool), StorageError> {
    let before: Option<String> = tx
        .prepare_cached(
            "SELECT last_seen FROM watch_seen WHERE kind = ?1 AND subject = ?2 AND address = ?3",
        )?
        .query_row(params![kind, subject, address], |r| r.get(0))
        .optional()?;
    let any: bool = before.is_some()
        || tx
            .prepare_cached("SELECT 1 FROM watch_seen WHERE kind = ?1 AND subject = ?2 LIMIT 1")?
            .query_row(params![kind, subject], |_| Ok(()))
            .optional()?
            .is_some();
    tx.prepare_cached(
        "INSERT INTO watch_seen (kind, subject, address, last_seen) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, subject, address) DO UPDATE SET last_seen = excluded.last_seen",
    )?
    .execute(params![kind, subject, address, now])?;
    Ok((before, any))
}

/// For the first look at a subject the watch has no memory of (an upgrade, a restored backup):
/// the newest earlier `event` row by `actor` from `source` since `since`, and whether `actor` has
/// any earlier `event` row at all. Uses the log's (event, at) index.
pub fn earlier_in_log(
    conn: &Connection,
    event: &str,
    actor: &str,
    source: &str,
    since: &str,
    before_id: i64,
) -> Result<(Option<String>, bool), StorageError> {
    let here: Option<String> = conn
        .prepare_cached(
            "SELECT max(at) FROM audit_log
             WHERE event = ?1 AND at >= ?4 AND actor = ?2 AND source = ?3 AND id < ?5",
        )?
        .query_row(params![event, actor, source, since, before_id], |r| {
            r.get(0)
        })?;
    let any = conn
        .prepare_cached(
            "SELECT 1 FROM audit_log WHERE event = ?1 AND actor = ?2 AND id < ?3 LIMIT 1",
        )?
        .query_row(params![event, actor, before_id], |_| Ok(()))
        .optional()?
        .is_some();
    Ok((here, any))
}
