//! E-mail: queueing into the durable outbox (same transaction as the change that causes it), and
//! the sender that drains it over SMTP with retries.

pub mod sender;
pub mod smtp;

use crate::audit::{self, By, Entry, Event};
use crate::clock::stamp;
use crate::instances::Instance;
use crate::storage::Transaction;
use crate::storage::{StorageError, outbox, users};
use chrono::{DateTime, Utc};

pub use crate::storage::outbox::MailRow;

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

/// Queues a message to every enabled administrator of the instance, each written by `write` in
/// that administrator's language: (subject, body).
pub fn notify_admins_in(
    tx: &Transaction,
    words: &crate::i18n::MailWords,
    now: DateTime<Utc>,
    write: impl Fn(&crate::i18n::Words) -> (String, String),
) -> Result<usize, StorageError> {
    let admins = users::admin_readers(tx)?;
    for (email, language) in &admins {
        let w = words.for_reader(tx, language.as_deref())?;
        let (subject, body) = write(&w);
        enqueue(tx, email, &subject, &body, now)?;
    }
    Ok(admins.len())
}

/// The most recent `n` messages of the outbox, newest first, for the admin's mail page.
pub async fn recent(inst: &Instance, n: usize) -> Result<Vec<outbox::MailRow>, StorageError> {
    inst.db.read(move |c| outbox::recent(c, n)).await
}

/// Queues the admin's test message to `to`, in the language of the admin who sends it (`tr`), and
/// records who sent it, in one transaction.
pub async fn send_test(
    inst: &Instance,
    by: By,
    to: String,
    tr: &crate::i18n::Tr,
) -> Result<(), StorageError> {
    let (subject, body) = (tr.t("mail-test-subject"), tr.t("mail-test-body"));
    inst.db
        .write(move |tx| {
            enqueue(tx, &to, &subject, &body, by.now)?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::MailTestSent, by.actor, to.clone(), by.source),
            )?;
            Ok(())
        })
        .await
}
