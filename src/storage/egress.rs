//! Table `egress_destinations`: per outbound destination, since when it has been in use and when a
//! connection to it last succeeded (the integrations page and `doctor --network` read it).

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::params;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRow {
    pub flow: String,
    pub destination: String,
    pub first_seen_at: String,
    pub last_success_at: Option<String>,
}

/// Notes that `destination` is configured, keeping the first time it was.
pub fn seen(
    tx: &Transaction,
    flow: &str,
    destination: &str,
    now: &str,
) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO egress_destinations (flow, destination, first_seen_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (flow, destination) DO NOTHING",
        params![flow, destination, now],
    )?;
    Ok(())
}

/// Notes a successful connection to `destination`.
pub fn connected(
    tx: &Transaction,
    flow: &str,
    destination: &str,
    now: &str,
) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO egress_destinations (flow, destination, first_seen_at, last_success_at)
         VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (flow, destination) DO UPDATE SET last_success_at = excluded.last_success_at",
        params![flow, destination, now],
    )?;
    Ok(())
}

pub fn all(conn: &Connection) -> Result<Vec<SeenRow>, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT flow, destination, first_seen_at, last_success_at FROM egress_destinations
         ORDER BY flow, destination",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(SeenRow {
            flow: r.get(0)?,
            destination: r.get(1)?,
            first_seen_at: r.get(2)?,
            last_success_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
