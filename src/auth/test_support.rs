//! Owns what the auth unit tests share: a real SQLCipher instance in a temporary directory and
//! accounts created through the domain, so tests can move time freely without a server.

use crate::audit::Actor;
use crate::auth::accounts::{self, NewAccount};
use crate::auth::services::AuthServices;
use crate::instances::Instance;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// A real instance (SQLCipher file) in its own directory.
pub async fn instance() -> (tempfile::TempDir, Arc<Instance>) {
    let dir = tempfile::tempdir().unwrap();
    let key = crate::crypto::Key256::generate().unwrap();
    let inst = crate::instances::create(
        dir.path(),
        &key,
        "default",
        &[],
        None,
        Default::default(),
        &crate::clock::SystemClock,
    )
    .unwrap();
    (dir, Arc::new(inst))
}

/// Auth services small enough for a test (one hashing thread, no mail).
pub fn services() -> AuthServices {
    AuthServices::new(1, 4, false).unwrap()
}

/// Creates `name` in `groups` at `now`; `password` `None` gives a temporary one, returned.
pub async fn add_user(
    svc: &AuthServices,
    inst: &Instance,
    name: &str,
    groups: &[&str],
    password: Option<&str>,
    now: DateTime<Utc>,
) -> Option<String> {
    let created = accounts::create_user(
        svc,
        inst,
        crate::audit::By {
            actor: Actor::Console,
            source: "console".into(),
            now,
        },
        NewAccount {
            username: name.into(),
            email: format!("{name}@example.org"),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            password: password.map(|p| crate::crypto::Secret::new(p.to_string())),
            support: None,
        },
    )
    .await
    .unwrap();
    created.temporary_password.map(|p| p.expose().clone())
}
