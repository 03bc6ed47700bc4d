//! The security log of one instance as the pages, the API and the console use it: pages of rows,
//! the chain check, exports recorded in the log they read, and events that stand on their own.

use super::checkpoint::Checkpoint;
use super::{ChainReport, Entry, Event, Filter};
use crate::audit::By;
use crate::instances::Instance;
use crate::storage::StorageError;
use chrono::{DateTime, Utc};
use serde_json::json;

pub use crate::storage::audit::AuditRow;

/// The rows `filter` selects, newest first.
pub async fn page(inst: &Instance, filter: Filter) -> Result<Vec<AuditRow>, StorageError> {
    inst.db.read(move |c| super::query(c, &filter)).await
}

/// The rows `filter` selects and the state of the whole chain, read in one snapshot.
pub async fn page_checked(
    inst: &Instance,
    filter: Filter,
) -> Result<(Vec<AuditRow>, ChainReport), StorageError> {
    inst.db
        .read(move |c| Ok((super::query(c, &filter)?, super::verify(c)?)))
        .await
}

/// The rows `filter` selects, read in the transaction that records their export (`format`, the
/// row count and the `query` that chose them): whoever takes the log away leaves a trace in it.
pub async fn export(
    inst: &Instance,
    by: By,
    filter: Filter,
    format: &'static str,
    query: String,
) -> Result<Vec<AuditRow>, StorageError> {
    inst.db
        .write(move |tx| {
            let rows = super::query(tx, &filter)?;
            super::write(
                tx,
                by.now,
                Entry::new(Event::AuditExported, by.actor, "security log", by.source)
                    .with(json!({ "format": format, "rows": rows.len(), "filter": query })),
            )?;
            Ok(rows)
        })
        .await
}

/// An event with no change of its own beside it (a download, a check), in its own transaction.
pub async fn record(inst: &Instance, now: DateTime<Utc>, entry: Entry) -> Result<(), StorageError> {
    inst.db
        .write(move |tx| super::write(tx, now, entry).map(|_| ()))
        .await
}

/// `record` for the console's blocking paths (backups, updates), which run without a runtime.
pub fn record_blocking(
    inst: &Instance,
    now: DateTime<Utc>,
    entry: Entry,
) -> Result<(), StorageError> {
    inst.db
        .write_blocking(move |tx| super::write(tx, now, entry).map(|_| ()))
}

/// The state of the whole hash chain.
pub async fn verify(inst: &Instance) -> Result<ChainReport, StorageError> {
    inst.db.read(super::verify).await
}

/// A checkpoint of the chain's head now, for keeping outside the machine.
pub async fn checkpoint(
    inst: &Instance,
    now: DateTime<Utc>,
    why: &'static str,
) -> Result<Checkpoint, StorageError> {
    let name = inst.name.clone();
    inst.db
        .read(move |c| super::checkpoint::take(c, &name, now, why))
        .await
}

/// Whether every checkpoint of this instance in `all` still holds: a summary, or why not.
pub async fn check_checkpoints(
    inst: &Instance,
    all: Vec<Checkpoint>,
) -> Result<Result<String, String>, StorageError> {
    let name = inst.name.clone();
    inst.db
        .read(move |c| super::checkpoint::check_all(c, &name, &all))
        .await
}
