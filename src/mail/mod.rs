//! E-mail: queueing into the durable outbox (same transaction as the change that causes it), and
//! the sender that drains it over SMTP with retries.

pub mod sender;
pub mod smtp;

use crate::clock::stamp;
use crate::storage::Transaction;
use crate::storage::{StorageError, outbox, users};
use chrono::{DateTime, Utc};

/// Queues one message; it is sent after the transaction commits.
pub fn enqueue(
    tx: &Transaction,
    to: &str,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<i64, StorageError> {
    outbox::enqueue(tx, to, subject, body, &stamp(now))
}

/// Queues a message to every enabled administrator of the instance.
pub fn notify_admins(
    tx: &Transaction,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<usize, StorageError> {
    let admins = users::admin_contacts(tx)?;
    for (_, email) in &admins {
        enqueue(tx, email, subject, body, now)?;
    }
    Ok(admins.len())
}
