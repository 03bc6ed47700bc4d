//! Owns the mails that tell a person (and the administrators) about changes to their account:
//! a sign-in from a new address, password, second-factor and e-mail changes, a factor reset, and
//! a first factor enrolled. Each is queued in the transaction of the change it reports, in its
//! reader's language (their own choice, else the instance's default).

use crate::audit::By;
use crate::i18n::{Arg, MailWords, Words};
use crate::storage::Transaction;
use crate::storage::{StorageError, users::UserRow};
use chrono::{DateTime, Utc};

fn to_person(
    tx: &Transaction,
    to: &str,
    w: &Words,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    if to.is_empty() {
        return Ok(());
    }
    let footer = w.t("mail-footer");
    crate::mail::enqueue(tx, to, subject, &format!("{body}\n\n{footer}"), now)?;
    Ok(())
}

/// A completed sign-in from an address this person never signed in from before.
pub fn new_address(
    tx: &Transaction,
    m: &MailWords,
    u: &UserRow,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let w = m.for_reader(tx, u.language.as_deref())?;
    let body = w.with(
        "mail-new-address-body",
        &[
            ("username", u.username.as_str().into()),
            ("at", w.when(now).into()),
            ("source", source.into()),
        ],
    );
    to_person(
        tx,
        &u.email,
        &w,
        &w.t("mail-new-address-subject"),
        &body,
        now,
    )
}

/// The password of the account was changed (by the person, in a session).
pub fn password_changed(
    tx: &Transaction,
    m: &MailWords,
    u: &UserRow,
    by: &By,
) -> Result<(), StorageError> {
    let w = m.for_reader(tx, u.language.as_deref())?;
    let body = w.with(
        "mail-password-changed-body",
        &[
            ("username", u.username.as_str().into()),
            ("at", w.when(by.now).into()),
            ("source", by.source.as_str().into()),
        ],
    );
    to_person(
        tx,
        &u.email,
        &w,
        &w.t("mail-password-changed-subject"),
        &body,
        by.now,
    )
}

/// The second factor of the account was changed to `method` (by the person).
pub fn factor_changed(
    tx: &Transaction,
    m: &MailWords,
    u: &UserRow,
    by: &By,
    method: &str,
) -> Result<(), StorageError> {
    let w = m.for_reader(tx, u.language.as_deref())?;
    let what = w.t(match method {
        "totp" => "mail-factor-totp",
        "email" => "mail-factor-email",
        _ => "mail-factor-none",
    });
    let body = w.with(
        "mail-factor-changed-body",
        &[
            ("username", u.username.as_str().into()),
            ("method", what.into()),
            ("at", w.when(by.now).into()),
            ("source", by.source.as_str().into()),
        ],
    );
    to_person(
        tx,
        &u.email,
        &w,
        &w.t("mail-factor-changed-subject"),
        &body,
        by.now,
    )
}

/// The e-mail address was changed: the old address is told (the new one may be the attacker's).
pub fn email_changed(
    tx: &Transaction,
    m: &MailWords,
    u: &UserRow,
    by: &By,
    new_email: &str,
) -> Result<(), StorageError> {
    let w = m.for_reader(tx, u.language.as_deref())?;
    let body = w.with(
        "mail-email-changed-body",
        &[
            ("username", u.username.as_str().into()),
            ("old", u.email.as_str().into()),
            ("new", new_email.into()),
            ("at", w.when(by.now).into()),
            ("source", by.source.as_str().into()),
        ],
    );
    let subject = w.t("mail-email-changed-subject");
    to_person(tx, &u.email, &w, &subject, &body, by.now)?;
    to_person(tx, new_email, &w, &subject, &body, by.now)
}

/// An administrator reset the second factor.
pub fn factor_reset(
    tx: &Transaction,
    m: &MailWords,
    u: &UserRow,
    by: &By,
    must_enrol: bool,
) -> Result<(), StorageError> {
    let w = m.for_reader(tx, u.language.as_deref())?;
    let mut body = w.with(
        "mail-factor-reset-body",
        &[
            ("admin", by.actor.name().into()),
            ("username", u.username.as_str().into()),
            ("at", w.when(by.now).into()),
        ],
    );
    if must_enrol {
        body.push(' ');
        body.push_str(&w.t("mail-factor-reset-enrol"));
    }
    to_person(
        tx,
        &u.email,
        &w,
        &w.t("mail-factor-reset-subject"),
        &body,
        by.now,
    )
}

/// A person enrolled a second factor at sign-in (first enrolment or after a reset): the person
/// and every administrator are told, since a phished enrolment is how an account is taken over.
pub fn enrolled(
    tx: &Transaction,
    m: &MailWords,
    u: &UserRow,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let body = |w: &Words| {
        w.with(
            "mail-enrolled-body",
            &[
                ("username", u.username.as_str().into()),
                ("at", w.when(now).into()),
                ("source", source.into()),
            ],
        )
    };
    let w = m.for_reader(tx, u.language.as_deref())?;
    to_person(
        tx,
        &u.email,
        &w,
        &w.t("mail-enrolled-subject"),
        &body(&w),
        now,
    )?;
    let name: Arg = u.username.as_str().into();
    crate::mail::notify_admins_in(tx, m, now, |w| {
        (
            w.with("mail-enrolled-admin-subject", &[("username", name.clone())]),
            format!(
                "{}\n\n{}",
                body(w),
                w.with("mail-enrolled-admin-advice", &[("username", name.clone())])
            ),
        )
    })?;
    Ok(())
}

/// The mails that carry a one-time code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeMail {
    /// The second step of a sign-in.
    SignIn,
    /// Proof of the address before a first (or reset) factor is set up at sign-in.
    SetUp,
    /// Re-authentication before a change to the account.
    Confirm,
}

impl CodeMail {
    pub const ALL: [CodeMail; 3] = [CodeMail::SignIn, CodeMail::SetUp, CodeMail::Confirm];

    /// The subject, the line with the code, and what it is good for and how long.
    const fn keys(self) -> [&'static str; 3] {
        match self {
            CodeMail::SignIn => [
                "mail-code-signin-subject",
                "mail-code-signin",
                "mail-code-signin-valid",
            ],
            CodeMail::SetUp => [
                "mail-code-setup-subject",
                "mail-code-setup",
                "mail-code-setup-valid",
            ],
            CodeMail::Confirm => [
                "mail-code-confirm-subject",
                "mail-code-confirm",
                "mail-code-confirm-valid",
            ],
        }
    }

    /// (subject, body) of the mail with `code`, valid `minutes`, asked for from `source`.
    pub fn write(self, w: &Words, code: &str, source: &str, minutes: i64) -> (String, String) {
        let [subject, line, valid] = self.keys();
        let duration = w.with("mail-code-minutes", &[("minutes", minutes.into())]);
        (
            w.t(subject),
            format!(
                "{}\n\n{}",
                w.t1(line, "code", code),
                w.with(
                    valid,
                    &[("duration", duration.into()), ("source", source.into())],
                )
            ),
        )
    }
}

/// The catalogue keys the mails name through a value rather than literally (for the test that
/// every key exists in each language).
pub fn every_key() -> Vec<&'static str> {
    CodeMail::ALL.iter().flat_map(|k| k.keys()).collect()
}
