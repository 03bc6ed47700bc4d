//! Read-only figures for the dashboard: what is due, recent changes, hours per week, budget burn,
//! outstanding invoices by age.

use super::Connection;
use super::StorageError;
use rusqlite::params;

pub fn hours_per_week(conn: &Connection, from: &str) -> Result<Vec<(String, i64)>, StorageError> {
    // ISO-ish week start (Monday) as the bucket key.
    let mut stmt = conn.prepare_cached(
        "SELECT date(date, 'weekday 0', '-6 days') AS week, sum(minutes)
         FROM time_entries WHERE date >= ?1 GROUP BY week ORDER BY week",
    )?;
    let rows = stmt.query_map([from], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// (project id, name, budget hours, logged minutes) of active projects with a budget.
pub fn budget_burn(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<(i64, String, i64, i64)>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.id, p.name, p.budget_hours,
                (SELECT coalesce(sum(minutes), 0) FROM time_entries t WHERE t.project_id = p.id) AS used
         FROM projects p WHERE p.status = 'active' AND p.budget_hours > 0
         ORDER BY used * 1.0 / (p.budget_hours * 60) DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Outstanding (issued, unpaid) totals by days past due: [not due, 1–30, 31–60, 61–90, 90+].
pub fn outstanding_by_age(conn: &Connection, today: &str) -> Result<[i64; 5], StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT julianday(?1) - julianday(due_date) AS late, total FROM invoices WHERE status = 'issued'",
    )?;
    let mut buckets = [0i64; 5];
    let rows = stmt.query_map([today], |r| {
        Ok((r.get::<_, Option<f64>>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (late, total) = row?;
        let late = late.unwrap_or(0.0);
        let i = if late <= 0.0 {
            0
        } else if late <= 30.0 {
            1
        } else if late <= 60.0 {
            2
        } else if late <= 90.0 {
            3
        } else {
            4
        };
        buckets[i] += total;
    }
    Ok(buckets)
}

/// (id, title, due date, assignee)
pub type DueTask = (i64, String, String, Option<String>);
/// (module, record id, actor, at, field)
pub type Change = (String, i64, String, String, String);

/// Open tasks due within `until` (or overdue): (id, title, due date, assignee).
pub fn tasks_due(
    conn: &Connection,
    until: &str,
    limit: usize,
) -> Result<Vec<DueTask>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, title, due_date, assignee FROM tasks
         WHERE status != 'done' AND due_date IS NOT NULL AND due_date <= ?1 ORDER BY due_date LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![until, limit as i64], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Recent changes: (module, record id, actor, at, field).
pub fn recent_changes(conn: &Connection, limit: usize) -> Result<Vec<Change>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT module, record_id, actor, at, field FROM record_history ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
