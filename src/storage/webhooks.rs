//! Tables `webhook_endpoints` and `webhook_deliveries`: registered receivers and the durable,
//! per-endpoint ordered queue of events with their delivery bookkeeping.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::{OptionalExtension, params};

#[derive(Debug, Clone, serde::Serialize)]
pub struct EndpointRow {
    pub id: i64,
    pub url: String,
    pub events: String,
    pub scopes: String,
    #[serde(skip)]
    pub secret_sealed: Vec<u8>,
    pub allow_http: bool,
    pub created_at: String,
    pub created_by: String,
    pub disabled_at: Option<String>,
    pub failing_since: Option<String>,
    pub last_success_at: Option<String>,
}

const ENDPOINT_COLUMNS: &str = "id, url, events, scopes, secret_sealed, allow_http, created_at, created_by, disabled_at, failing_since, last_success_at";

fn endpoint(r: &rusqlite::Row) -> rusqlite::Result<EndpointRow> {
    Ok(EndpointRow {
        id: r.get(0)?,
        url: r.get(1)?,
        events: r.get(2)?,
        scopes: r.get(3)?,
        secret_sealed: r.get(4)?,
        allow_http: r.get::<_, i64>(5)? != 0,
        created_at: r.get(6)?,
        created_by: r.get(7)?,
        disabled_at: r.get(8)?,
        failing_since: r.get(9)?,
        last_success_at: r.get(10)?,
    })
}

pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub events: &'a str,
    pub scopes: &'a str,
    pub allow_http: bool,
    pub now: &'a str,
    pub by: &'a str,
}

/// Inserts an endpoint with an empty secret; the caller seals the secret with the new id as context.
pub fn insert_endpoint(tx: &Transaction, e: &NewEndpoint) -> Result<i64, StorageError> {
    tx.execute(
        "INSERT INTO webhook_endpoints (url, events, scopes, secret_sealed, allow_http, created_at, created_by)
         VALUES (?1, ?2, ?3, x'', ?4, ?5, ?6)",
        params![e.url, e.events, e.scopes, e.allow_http as i64, e.now, e.by],
    )?;
    Ok(tx.last_insert_rowid())
}

pub fn set_secret(tx: &Transaction, id: i64, sealed: &[u8]) -> Result<bool, StorageError> {
    Ok(tx.execute(
        "UPDATE webhook_endpoints SET secret_sealed = ?2 WHERE id = ?1",
        params![id, sealed],
    )? == 1)
}

pub fn disable(tx: &Transaction, id: i64, now: &str) -> Result<bool, StorageError> {
    Ok(tx.execute(
        "UPDATE webhook_endpoints SET disabled_at = ?2 WHERE id = ?1 AND disabled_at IS NULL",
        params![id, now],
    )? == 1)
}

pub fn endpoints(conn: &Connection) -> Result<Vec<EndpointRow>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY id"
    ))?;
    let rows = stmt.query_map([], endpoint)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn endpoint_by_id(conn: &Connection, id: i64) -> Result<Option<EndpointRow>, StorageError> {
    Ok(conn
        .query_row(
            &format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?1"),
            [id],
            endpoint,
        )
        .optional()?)
}

pub fn active_endpoints(conn: &Connection) -> Result<Vec<EndpointRow>, StorageError> {
    // Every create, update and delete asks (webhooks::wanted, emit): prepared once per connection.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE disabled_at IS NULL ORDER BY id"
    ))?;
    let rows = stmt.query_map([], endpoint)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn mark_endpoint_ok(tx: &Transaction, id: i64, now: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE webhook_endpoints SET failing_since = NULL, last_success_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Marks the endpoint failing; true only when it was not failing already (so admins hear once).
pub fn mark_endpoint_failing(tx: &Transaction, id: i64, now: &str) -> Result<bool, StorageError> {
    Ok(tx.execute(
        "UPDATE webhook_endpoints SET failing_since = ?2 WHERE id = ?1 AND failing_since IS NULL",
        params![id, now],
    )? == 1)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub endpoint_id: i64,
    pub msg_id: String,
    pub event: String,
    #[serde(skip)]
    pub body: String,
    pub created_at: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub delivered_at: Option<String>,
    pub failed_at: Option<String>,
    pub last_status: Option<i64>,
    pub last_latency_ms: Option<i64>,
    pub last_response: Option<String>,
}

const DELIVERY_COLUMNS: &str = "id, endpoint_id, msg_id, event, body, created_at, attempts, next_attempt_at, delivered_at, failed_at, last_status, last_latency_ms, last_response";

fn delivery(r: &rusqlite::Row) -> rusqlite::Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.get(0)?,
        endpoint_id: r.get(1)?,
        msg_id: r.get(2)?,
        event: r.get(3)?,
        body: r.get(4)?,
        created_at: r.get(5)?,
        attempts: r.get(6)?,
        next_attempt_at: r.get(7)?,
        delivered_at: r.get(8)?,
        failed_at: r.get(9)?,
        last_status: r.get(10)?,
        last_latency_ms: r.get(11)?,
        last_response: r.get(12)?,
    })
}

pub fn enqueue(
    tx: &Transaction,
    endpoint_id: i64,
    msg_id: &str,
    event: &str,
    body: &str,
    now: &str,
) -> Result<i64, StorageError> {
    tx.execute(
        "INSERT INTO webhook_deliveries (endpoint_id, msg_id, event, body, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![endpoint_id, msg_id, event, body, now],
    )?;
    Ok(tx.last_insert_rowid())
}

/// The oldest undelivered event of each active endpoint, if it is due: later events of an endpoint
/// wait behind it, which keeps each endpoint's order.
pub fn due_heads(conn: &Connection, now: &str) -> Result<Vec<DeliveryRow>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
         WHERE id IN (SELECT min(d.id) FROM webhook_deliveries d
                      JOIN webhook_endpoints e ON e.id = d.endpoint_id
                      WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND e.disabled_at IS NULL
                      GROUP BY d.endpoint_id)
           AND next_attempt_at <= ?1
         ORDER BY id"
    ))?;
    let rows = stmt.query_map([now], delivery)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn deliveries(
    conn: &Connection,
    endpoint_id: i64,
    limit: usize,
) -> Result<Vec<DeliveryRow>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![endpoint_id, limit as i64], delivery)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub struct Attempt<'a> {
    pub status: Option<i64>,
    pub latency_ms: i64,
    pub response: &'a str,
}

pub fn mark_delivered(
    tx: &Transaction,
    id: i64,
    a: &Attempt,
    now: &str,
) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, delivered_at = ?2, last_status = ?3,
                last_latency_ms = ?4, last_response = ?5 WHERE id = ?1",
        params![id, now, a.status, a.latency_ms, a.response],
    )?;
    Ok(())
}

pub fn mark_retry(tx: &Transaction, id: i64, a: &Attempt, next: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?2, last_status = ?3,
                last_latency_ms = ?4, last_response = ?5 WHERE id = ?1",
        params![id, next, a.status, a.latency_ms, a.response],
    )?;
    Ok(())
}

pub fn mark_failed(tx: &Transaction, id: i64, a: &Attempt, now: &str) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, failed_at = ?2, last_status = ?3,
                last_latency_ms = ?4, last_response = ?5 WHERE id = ?1",
        params![id, now, a.status, a.latency_ms, a.response],
    )?;
    Ok(())
}

/// Queues a delivered or failed event again, at the back of its endpoint's queue (a new row, the
/// same `webhook-id`, so a receiver that already has it can tell).
pub fn redeliver(
    tx: &Transaction,
    endpoint_id: i64,
    id: i64,
    now: &str,
) -> Result<bool, StorageError> {
    let row: Option<(String, String, String, String)> = tx
        .query_row(
            "SELECT msg_id, event, body, created_at FROM webhook_deliveries
             WHERE id = ?1 AND endpoint_id = ?2 AND (delivered_at IS NOT NULL OR failed_at IS NOT NULL)",
            params![id, endpoint_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((msg_id, event, body, _created)) = row else {
        return Ok(false);
    };
    tx.execute(
        "INSERT INTO webhook_deliveries (endpoint_id, msg_id, event, body, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![endpoint_id, msg_id, event, body, now],
    )?;
    Ok(true)
}
