//! Why a field's value was refused: one type that the API and CSV word in English (`Display`) and
//! pages word in the reader's language (`message`: a catalogue key with its arguments).

use crate::i18n::{Arg, Message, Sentence};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Required,
    /// A field with a default cannot be emptied on a change.
    CannotBeEmpty,
    NotSingleValue,
    TooLong {
        max: usize,
    },
    NotOneLine,
    NotEmail,
    NotDate,
    NotBool,
    NotWhole,
    OutOfRange {
        min: i64,
        max: i64,
    },
    NotCents,
    CentsOutOfRange,
    NotChoice {
        options: &'static [&'static str],
    },
    NotId,
    /// A reference to a record that does not exist.
    NoRecord {
        what: &'static str,
        id: i64,
    },
    NoUser {
        name: String,
    },
    /// A refusal particular to one check (an invoice line's quantity, a void reason, an upload):
    /// its English and its catalogue message.
    Said(Sentence),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Required => f.write_str("is required"),
            Problem::CannotBeEmpty => f.write_str("cannot be empty"),
            Problem::NotSingleValue => f.write_str("must be a single value, not a list or object"),
            Problem::TooLong { max } if *max == crate::schema::LONG_TEXT_MAX => {
                f.write_str("at most 20,000 characters")
            }
            Problem::TooLong { max } => write!(f, "at most {max} characters"),
            Problem::NotOneLine => f.write_str("must be a single line without control characters"),
            Problem::NotEmail => f.write_str("is not an e-mail address"),
            Problem::NotDate => f.write_str("must be a date like 2026-11-22"),
            Problem::NotBool => f.write_str("must be true or false"),
            Problem::NotWhole => f.write_str("must be a whole number"),
            Problem::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Problem::NotCents => f.write_str("must be a whole number of cents"),
            Problem::CentsOutOfRange => {
                f.write_str("must be between 0 and 1,000,000,000,000 cents")
            }
            Problem::NotChoice { options } => write!(f, "must be one of: {}", options.join(", ")),
            Problem::NotId => f.write_str("must be the id of a record"),
            Problem::NoRecord { what, id } => write!(f, "no {what} with id {id}"),
            Problem::NoUser { name } => write!(f, "no user named {name}"),
            Problem::Said(s) => f.write_str(&s.english),
        }
    }
}

impl Problem {
    /// Every catalogue key a problem can have, for the catalogue test.
    pub const KEYS: &'static [&'static str] = &[
        "problem-required",
        "problem-cannot-be-empty",
        "problem-not-single",
        "problem-too-long",
        "problem-not-one-line",
        "problem-not-email",
        "problem-not-date",
        "problem-not-bool",
        "problem-not-whole",
        "problem-out-of-range",
        "problem-not-cents",
        "problem-cents-range",
        "problem-not-choice",
        "problem-not-id",
        "problem-no-record",
        "problem-no-user",
    ];

    /// The problem as pages word it, in the reader's language: the kind's catalogue message with
    /// its limits or names, or the particular sentence a `Said` carries.
    pub fn message(&self) -> Message {
        let key = match self {
            Problem::Said(s) => return s.words.clone(),
            Problem::Required => "problem-required",
            Problem::CannotBeEmpty => "problem-cannot-be-empty",
            Problem::NotSingleValue => "problem-not-single",
            Problem::TooLong { .. } => "problem-too-long",
            Problem::NotOneLine => "problem-not-one-line",
            Problem::NotEmail => "problem-not-email",
            Problem::NotDate => "problem-not-date",
            Problem::NotBool => "problem-not-bool",
            Problem::NotWhole => "problem-not-whole",
            Problem::OutOfRange { .. } => "problem-out-of-range",
            Problem::NotCents => "problem-not-cents",
            Problem::CentsOutOfRange => "problem-cents-range",
            Problem::NotChoice { .. } => "problem-not-choice",
            Problem::NotId => "problem-not-id",
            Problem::NoRecord { .. } => "problem-no-record",
            Problem::NoUser { .. } => "problem-no-user",
        };
        // Limits and ids as text: numbers here are not counted, so they pick no plural form.
        let m = Message::new(key);
        match self {
            Problem::TooLong { max } => m.arg("max", max.to_string()),
            Problem::OutOfRange { min, max } => {
                m.arg("min", min.to_string()).arg("max", max.to_string())
            }
            Problem::NotChoice { options } => m.arg("options", options.join(", ")),
            Problem::NoRecord { what, id } => m.arg("what", *what).arg("id", id.to_string()),
            Problem::NoUser { name } => m.arg("name", name),
            _ => m,
        }
    }
}

/// Why a change was refused for the state of the data (409): one type that the API words in
/// English (`Display`) and pages word in the reader's language ([`Conflict::message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// An invoice that is no longer a draft.
    IssuedInvoice,
    /// A time entry billed on an invoice.
    BilledTime,
    /// A record other records still refer to, so it cannot be deleted.
    StillReferenced {
        slug: &'static str,
        singular: &'static str,
    },
    /// The record changed since the version the person edited.
    ChangedElsewhere {
        slug: &'static str,
        singular: &'static str,
        current: i64,
        edited: i64,
    },
    /// An invoice action that needs another status (`status` and `want` are status values).
    InvoiceStatus { status: String, want: &'static str },
    /// Issuing an invoice that has no lines.
    NoLines,
    /// "Cancel" on an issued invoice: it is voided, with a reason.
    VoidNotCancel,
    /// A status change the invoice's life does not allow.
    Transition { from: String, to: String },
    /// Voiding an invoice that is no longer issued.
    NotIssued,
    /// Billing a project with nothing left to bill.
    NoUnbilledTime,
    /// The accounting export before an administrator mapped its accounts.
    JournalAccountsUnset,
    /// An e-invoice asked of a draft.
    EinvoiceDraft,
    /// An e-invoice asked of a void invoice.
    EinvoiceVoid,
    /// An e-invoice before the seller's invoice profile is set.
    EinvoiceNoProfile,
    /// An e-invoice without the seller's country and VAT ID.
    EinvoiceNoVatId,
    /// An e-invoice of an invoice without lines.
    EinvoiceNoLines,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::IssuedInvoice => {
                f.write_str("an issued invoice cannot be changed; cancel it and issue a new one")
            }
            Conflict::BilledTime => {
                f.write_str("this time entry is billed on an invoice and cannot be changed")
            }
            Conflict::StillReferenced { singular, .. } => write!(
                f,
                "this {singular} cannot be deleted: other records still refer to it; remove or move them first"
            ),
            Conflict::ChangedElsewhere {
                singular,
                current,
                edited,
                ..
            } => write!(
                f,
                "this {singular} was changed by someone else (version {current} is current, you edited {edited}); reload and try again"
            ),
            Conflict::InvoiceStatus { status, want } => {
                write!(f, "this invoice is {status}; that needs a {want} invoice")
            }
            Conflict::NoLines => f.write_str("add at least one line before issuing"),
            Conflict::VoidNotCancel => {
                f.write_str("an issued invoice is voided, with a reason, not cancelled")
            }
            Conflict::Transition { from, to } => {
                write!(f, "an invoice that is {from} cannot become {to}")
            }
            Conflict::NotIssued => f.write_str("this invoice is no longer issued"),
            Conflict::NoUnbilledTime => f.write_str("this project has no unbilled billable time"),
            Conflict::JournalAccountsUnset => f.write_str(
                "the journal's accounts are not set: an administrator sets them on the accounting export page",
            ),
            Conflict::EinvoiceDraft => {
                f.write_str("a draft has no e-invoice: issue the invoice first")
            }
            Conflict::EinvoiceVoid => f.write_str("a void invoice is not sent as an e-invoice"),
            Conflict::EinvoiceNoProfile => f.write_str(
                "the seller's invoice profile is not set: an administrator completes it on the invoice profile page",
            ),
            Conflict::EinvoiceNoVatId => f.write_str(
                "an e-invoice needs the seller's country and VAT ID: an administrator adds them on the invoice profile page",
            ),
            Conflict::EinvoiceNoLines => f.write_str("an invoice without lines has no e-invoice"),
        }
    }
}

impl Conflict {
    /// Every catalogue key a conflict can have, for the catalogue test.
    pub const KEYS: &'static [&'static str] = &[
        "conflict-issued-invoice",
        "conflict-billed-time",
        "conflict-still-referenced",
        "conflict-changed-elsewhere",
        "conflict-invoice-status",
        "conflict-no-lines",
        "conflict-void-not-cancel",
        "conflict-transition",
        "conflict-not-issued",
        "conflict-no-unbilled-time",
        "conflict-journal-accounts",
        "conflict-einvoice-draft",
        "conflict-einvoice-void",
        "conflict-einvoice-no-profile",
        "conflict-einvoice-no-vat-id",
        "conflict-einvoice-no-lines",
    ];

    pub fn key(&self) -> &'static str {
        match self {
            Conflict::IssuedInvoice => "conflict-issued-invoice",
            Conflict::BilledTime => "conflict-billed-time",
            Conflict::StillReferenced { .. } => "conflict-still-referenced",
            Conflict::ChangedElsewhere { .. } => "conflict-changed-elsewhere",
            Conflict::InvoiceStatus { .. } => "conflict-invoice-status",
            Conflict::NoLines => "conflict-no-lines",
            Conflict::VoidNotCancel => "conflict-void-not-cancel",
            Conflict::Transition { .. } => "conflict-transition",
            Conflict::NotIssued => "conflict-not-issued",
            Conflict::NoUnbilledTime => "conflict-no-unbilled-time",
            Conflict::JournalAccountsUnset => "conflict-journal-accounts",
            Conflict::EinvoiceDraft => "conflict-einvoice-draft",
            Conflict::EinvoiceVoid => "conflict-einvoice-void",
            Conflict::EinvoiceNoProfile => "conflict-einvoice-no-profile",
            Conflict::EinvoiceNoVatId => "conflict-einvoice-no-vat-id",
            Conflict::EinvoiceNoLines => "conflict-einvoice-no-lines",
        }
    }

    /// The conflict as a catalogue message: the module's name (`$what`) and statuses are worded
    /// in the reader's language too.
    pub fn message(&self) -> Message {
        let m = Message::new(self.key());
        let status = |v: &str| Arg::Key(format!("choice-{v}"));
        match self {
            Conflict::StillReferenced { slug, .. } => {
                m.arg("what", Arg::Key(format!("module-{slug}-one")))
            }
            Conflict::ChangedElsewhere {
                slug,
                current,
                edited,
                ..
            } => m
                .arg("what", Arg::Key(format!("module-{slug}-one")))
                .arg("current", *current)
                .arg("edited", *edited),
            Conflict::InvoiceStatus { status: now, want } => {
                m.arg("status", status(now)).arg("want", status(want))
            }
            Conflict::Transition { from, to } => m.arg("from", status(from)).arg("to", status(to)),
            _ => m,
        }
    }

    /// The conflict worded twice: English for the API, the message for pages.
    pub fn sentence(&self) -> Sentence {
        Sentence {
            english: self.to_string(),
            words: self.message(),
        }
    }
}
