//! Owns the mails that tell a person (and the administrators) about changes to their account:
//! a sign-in from a new address, password, second-factor and e-mail changes, a factor reset, and
//! a first factor enrolled. Each is queued in the transaction of the change it reports.

use crate::audit::By;
use crate::clock::stamp;
use crate::storage::Transaction;
use crate::storage::{StorageError, users::UserRow};
use chrono::{DateTime, Utc};

const FOOTER: &str = "If this was not you, tell your administrator at once: they can end every \
session of your account and reset it.";

fn to_person(
    tx: &Transaction,
    to: &str,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    if to.is_empty() {
        return Ok(());
    }
    crate::mail::enqueue(tx, to, subject, &format!("{body}\n\n{FOOTER}"), now)?;
    Ok(())
}

/// A completed sign-in from an address this person never signed in from before.
pub fn new_address(
    tx: &Transaction,
    u: &UserRow,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    to_person(
        tx,
        &u.email,
        "holdfast: sign-in from a new address",
        &format!(
            "Your holdfast account \"{}\" was signed in at {} from {source}, an address it was \
             not used from before.",
            u.username,
            stamp(now)
        ),
        now,
    )
}

/// The password of the account was changed (by the person, in a session).
pub fn password_changed(tx: &Transaction, u: &UserRow, by: &By) -> Result<(), StorageError> {
    to_person(
        tx,
        &u.email,
        "holdfast: your password was changed",
        &format!(
            "The password of your holdfast account \"{}\" was changed at {} from {}. Your other \
             sessions were signed out.",
            u.username,
            stamp(by.now),
            by.source
        ),
        by.now,
    )
}

/// The second factor of the account was changed to `method` (by the person).
pub fn factor_changed(
    tx: &Transaction,
    u: &UserRow,
    by: &By,
    method: &str,
) -> Result<(), StorageError> {
    let what = match method {
        "totp" => "an authenticator app",
        "email" => "codes sent by e-mail",
        _ => "none (password only)",
    };
    to_person(
        tx,
        &u.email,
        "holdfast: your second factor was changed",
        &format!(
            "The second factor of your holdfast account \"{}\" is now {what}; changed at {} from \
             {}. Your other sessions were signed out.",
            u.username,
            stamp(by.now),
            by.source
        ),
        by.now,
    )
}

/// The e-mail address was changed: the old address is told (the new one may be the attacker's).
pub fn email_changed(
    tx: &Transaction,
    u: &UserRow,
    by: &By,
    new_email: &str,
) -> Result<(), StorageError> {
    let body = format!(
        "The e-mail address of your holdfast account \"{}\" was changed from {} to {new_email} \
         at {} from {}. Your other sessions were signed out.",
        u.username,
        u.email,
        stamp(by.now),
        by.source
    );
    to_person(
        tx,
        &u.email,
        "holdfast: your e-mail address was changed",
        &body,
        by.now,
    )?;
    to_person(
        tx,
        new_email,
        "holdfast: your e-mail address was changed",
        &body,
        by.now,
    )
}

/// An administrator reset the second factor.
pub fn factor_reset(
    tx: &Transaction,
    u: &UserRow,
    by: &By,
    must_enrol: bool,
) -> Result<(), StorageError> {
    let next = if must_enrol {
        " At your next sign-in you set up a second factor again."
    } else {
        ""
    };
    to_person(
        tx,
        &u.email,
        "holdfast: your second factor was reset",
        &format!(
            "An administrator ({}) reset the second factor of your holdfast account \"{}\" at \
             {}; every session of the account was ended.{next}",
            by.actor.name(),
            u.username,
            stamp(by.now)
        ),
        by.now,
    )
}

/// A person enrolled a second factor at sign-in (first enrolment or after a reset): the person
/// and every administrator are told, since a phished enrolment is how an account is taken over.
pub fn enrolled(
    tx: &Transaction,
    u: &UserRow,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let body = format!(
        "The holdfast account \"{}\" set up an authenticator app as its second factor at {} \
         from {source}.",
        u.username,
        stamp(now)
    );
    to_person(
        tx,
        &u.email,
        "holdfast: an authenticator app was set up",
        &body,
        now,
    )?;
    crate::mail::notify_admins(
        tx,
        &format!("holdfast: {} set up an authenticator app", u.username),
        &format!(
            "{body}\n\nIf you did not expect this, reset the account's second factor (Users page, or `holdfast admin user reset-factor {}`).",
            u.username
        ),
        now,
    )?;
    Ok(())
}
