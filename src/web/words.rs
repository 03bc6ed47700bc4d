//! The sentences the domain writes, in the reader's language: each typed refusal (a password the
//! policy refuses, an account change that conflicts, a CSV import problem) has an English
//! `Display` for the API and console and a catalogue key with arguments, which pages word here.

use crate::auth::accounts::AccountError;
use crate::auth::policy::PasswordProblem;
use crate::i18n::{Arg, Tr};

/// Why a new password was refused.
pub fn password_problem(tr: &Tr, p: &PasswordProblem) -> String {
    let args: Vec<(&str, Arg)> = p.args().into_iter().map(|(n, v)| (n, v.into())).collect();
    tr.with(p.key(), &args)
}

/// Every reason in a refusal.
pub fn password_problems(tr: &Tr, ps: &[PasswordProblem]) -> Vec<String> {
    ps.iter().map(|p| password_problem(tr, p)).collect()
}

/// An account change refused for the person's own doing (a name taken, the last administrator, a
/// password the policy refuses…), as one sentence in the reader's language; `None` for errors that
/// are not the person's to fix.
pub fn account_error(tr: &Tr, e: &AccountError) -> Option<String> {
    Some(match e {
        AccountError::NotFound(name) => tr.t1("account-error-not-found", "name", name),
        AccountError::Exists(name) => tr.t1("account-error-exists", "name", name),
        AccountError::PasswordRejected(ps) => password_problems(tr, ps).join(" "),
        AccountError::WrongPassword => tr.t("account-error-wrong-password"),
        AccountError::LastAdmin => tr.t("account-error-last-admin"),
        AccountError::Throttled(s) => tr.t1("error-throttled", "seconds", s),
        AccountError::Invalid { message, .. } => message.render(tr),
        AccountError::Policy(p) => p.message().render(tr),
        AccountError::Auth(_) | AccountError::Storage(_) => return None,
    })
}

/// A problem of an imported file in the reader's language (the English one when its kind is not
/// known).
pub fn csv_problem(tr: &Tr, p: &crate::hub::csvio::Problem) -> String {
    match &p.kind {
        Some(k) => k.message().render(tr),
        None => p.message.clone(),
    }
}

/// A change refused for the state of the data, in the reader's language.
pub fn conflict(tr: &Tr, c: &crate::hub::problem::Conflict) -> String {
    c.message().render(tr)
}

/// The catalogue keys named through values in this file and in the mails (for the catalogue
/// test, through `labels::every_key`).
pub fn every_key() -> Vec<String> {
    let mut keys: Vec<String> = PasswordProblem::KEYS
        .iter()
        .chain(crate::hub::csvio::FileProblem::KEYS)
        .chain(crate::hub::problem::Conflict::KEYS)
        .chain(crate::auth::policy::PolicyError::KEYS)
        .map(|k| k.to_string())
        .collect();
    keys.extend(
        super::admin::DETAIL_LABELS
            .iter()
            .map(|k| format!("log-detail-{k}")),
    );
    keys.extend(
        super::admin::WORDED_VALUES
            .iter()
            .map(|v| super::admin::value_key(v)),
    );
    keys.extend(
        crate::auth::notices::every_key()
            .into_iter()
            .map(String::from),
    );
    keys
}
