//! A validated caller as handlers and domain functions see it: a person's session (with what they
//! are told once signed in) or a connected service's API token. Its own module so that account
//! changes can take it without depending on the sign-in flow.

use crate::access::Grants;
use crate::audit::Actor;

/// What the person is told once signed in: the sign-in before this one, and failures since.
#[derive(Debug, Clone, Default)]
pub struct Prior {
    pub at: Option<String>,
    pub source: Option<String>,
    pub failures: i64,
}

/// A validated session, as handlers see it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id_hash: String,
    pub user_id: i64,
    pub username: String,
    pub email: String,
    pub stage: String,
    pub csrf: String,
    pub grants: Grants,
    pub support: bool,
    pub second_factor: String,
    /// Set when the caller is a connected service with an API token instead of a person.
    pub token_service: Option<String>,
    /// The language the person picked; `None` follows the instance's default.
    pub language: Option<crate::i18n::Locale>,
    /// The sign-in before this session's, and the failed attempts between (shown once signed in).
    pub prior: Prior,
}

impl SessionInfo {
    pub fn actor(&self) -> Actor {
        match &self.token_service {
            Some(service) => Actor::Token {
                service: service.clone(),
            },
            None => Actor::User {
                name: self.username.clone(),
                support: self.support,
            },
        }
    }

    /// A request authenticated by an API token: no cookie, no CSRF token, only the token's scopes.
    pub fn for_token(service: String, grants: Grants) -> Self {
        Self {
            id_hash: String::new(),
            user_id: 0,
            username: format!("token:{service}"),
            email: String::new(),
            stage: "active".into(),
            csrf: String::new(),
            grants,
            support: false,
            second_factor: "none".into(),
            token_service: Some(service),
            language: None,
            prior: Prior::default(),
        }
    }
}
