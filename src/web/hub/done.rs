//! Post/redirect/get for the actions on a record card: what an action did travels back to the card
//! as a fixed key (`?done=issued`), and a `GET` on an action's address leads back to the card.

use super::*;

/// What an action on a card did. After it the browser is sent to the card (303), whose address
/// names the outcome by a key the card turns into a fixed sentence: the address never carries text
/// anyone typed, and a reload shows the card again instead of repeating the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Issued,
    Paid,
    Discarded,
    Voided,
    LineAdded,
    LineRemoved,
    Commented,
    Restored,
    Uploaded,
}

const ALL_DONE: [Done; 9] = [
    Done::Issued,
    Done::Paid,
    Done::Discarded,
    Done::Voided,
    Done::LineAdded,
    Done::LineRemoved,
    Done::Commented,
    Done::Restored,
    Done::Uploaded,
];

impl Done {
    pub fn key(self) -> &'static str {
        match self {
            Done::Issued => "issued",
            Done::Paid => "paid",
            Done::Discarded => "discarded",
            Done::Voided => "voided",
            Done::LineAdded => "line-added",
            Done::LineRemoved => "line-removed",
            Done::Commented => "commented",
            Done::Restored => "restored",
            Done::Uploaded => "uploaded",
        }
    }

    /// The catalogue key of the sentence the card shows: `done-issued`, ….
    pub fn message_key(self) -> String {
        format!("done-{}", self.key())
    }

    /// Every outcome's catalogue key, for the catalogue test.
    pub fn every_key() -> Vec<String> {
        ALL_DONE.iter().map(|d| d.message_key()).collect()
    }

    /// The outcome a card's query names, if it names a known one; anything else is ignored.
    pub fn from_query(query: Option<&str>) -> Option<Done> {
        let pairs = crate::web::form::pairs(query.unwrap_or("").as_bytes());
        let key = crate::web::form::value(&pairs, "done");
        ALL_DONE.into_iter().find(|d| d.key() == key)
    }

    /// The 303 to the card of record `id` of `def` that shows this outcome.
    pub fn redirect(self, def: &ModuleDef, id: i64) -> Response {
        Redirect::to(&format!("/m/{}/{id}?done={}", def.slug, self.key())).into_response()
    }
}

/// `GET` on a card action's address (`/m/invoices/1/do/issue` reloaded after the action, or a
/// bookmarked one): back to the card, instead of a blank "method not allowed".
pub async fn back_to_card(uri: axum::http::Uri) -> Result<Response, WebError> {
    let mut parts = uri.path().split('/').skip(1);
    let (m, slug, id) = (parts.next(), parts.next(), parts.next());
    let id = id.and_then(|i| i.parse::<i64>().ok());
    match (m, slug, id) {
        (Some("m"), Some(slug), Some(id)) if schema::ALL.iter().any(|d| d.slug == slug) => {
            Ok(Redirect::to(&format!("/m/{slug}/{id}")).into_response())
        }
        _ => Err(WebError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_reads_back_from_its_key_and_nothing_else_does() {
        for d in ALL_DONE {
            let q = format!("done={}", d.key());
            assert_eq!(Done::from_query(Some(&q)), Some(d));
        }
        assert_eq!(Done::from_query(Some("done=<script>")), None);
        assert_eq!(Done::from_query(Some("x=1")), None);
        assert_eq!(Done::from_query(None), None);
    }
}
