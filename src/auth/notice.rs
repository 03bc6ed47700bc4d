//! Owns the pre-sign-in notice (a consent banner): text the administrator sets, shown on the
//! sign-in page before anyone signs in (for example "This system is for authorised use only;
//! activity is logged").

use super::accounts::AccountError;
use crate::audit::{self, By, Entry, Event};
use crate::clock::stamp;
use crate::instances::Instance;
use crate::storage::settings;
use serde_json::json;

const KEY: &str = "signin_notice";
/// The longest notice, in characters: a paragraph or two, not a document.
pub const MAX_CHARS: usize = 2000;

/// The notice, if one is set.
pub async fn get(inst: &Instance) -> Result<Option<String>, AccountError> {
    Ok(inst
        .db
        .read(|c| settings::get(c, KEY))
        .await?
        .filter(|t| !t.trim().is_empty()))
}

/// Sets (or with an empty text removes) the notice; audited with the old and new text.
pub async fn set(inst: &Instance, by: By, text: String) -> Result<(), AccountError> {
    let text = text.trim().replace("\r\n", "\n");
    if text.chars().count() > MAX_CHARS {
        return Err(AccountError::Invalid {
            field: "notice",
            message: crate::i18n::Sentence::new(
                "account-invalid-notice-long",
                format!("the notice has at most {MAX_CHARS} characters"),
            )
            .arg("max", MAX_CHARS),
        });
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AccountError::Invalid {
            field: "notice",
            message: crate::i18n::Sentence::new(
                "account-invalid-notice-control",
                "the notice may not contain control characters",
            ),
        });
    }
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let old = settings::get(tx, KEY)?.unwrap_or_default();
            settings::set(tx, KEY, &text, &stamp(by.now))?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::SigninNoticeChanged, by.actor, KEY, by.source)
                    .with(json!({ "from": old, "to": text })),
            )?;
            Ok(())
        })
        .await
}
