//! Who the instance's accounts are, as the admin and account pages show them: how many, each with
//! its groups, one by id. Reads only; changes go through `accounts`.

use crate::instances::Instance;
use crate::storage::{StorageError, groups, users};

pub use crate::storage::users::UserRow;

/// How many accounts the instance has (support and disabled ones included).
pub async fn count(inst: &Instance) -> Result<usize, StorageError> {
    inst.db.read(|c| Ok(users::list(c)?.len())).await
}

/// How many accounts are locked now.
pub async fn locked_count(inst: &Instance) -> Result<u64, StorageError> {
    inst.db
        .read(|c| Ok(users::count_locked(c)?.max(0) as u64))
        .await
}

/// Every account with the names of its groups, and the names of every group, read together so
/// the page never shows a group a user is in but the list lacks.
pub async fn with_groups(
    inst: &Instance,
) -> Result<(Vec<(UserRow, Vec<String>)>, Vec<String>), StorageError> {
    inst.db
        .read(|c| {
            let mut out = Vec::new();
            for u in users::list(c)? {
                let g = users::groups_of(c, u.id)?;
                out.push((u, g));
            }
            let names = groups::list(c)?.into_iter().map(|g| g.name).collect();
            Ok((out, names))
        })
        .await
}

/// One account by its id.
pub async fn by_id(inst: &Instance, id: i64) -> Result<Option<UserRow>, StorageError> {
    inst.db.read(move |c| users::by_id(c, id)).await
}

/// One account by its user name (compared as the database does: ASCII case folded).
pub async fn by_name(inst: &Instance, name: &str) -> Result<Option<UserRow>, StorageError> {
    let name = name.to_string();
    inst.db.read(move |c| users::by_name(c, &name)).await
}

/// Every user name, for the choices of a user field.
pub async fn usernames(inst: &Instance) -> Result<Vec<String>, StorageError> {
    inst.db
        .read(|c| Ok(users::list(c)?.into_iter().map(|u| u.username).collect()))
        .await
}

/// What every page tells an administrator: the support accounts open at `now` (name, until) and
/// how many e-mail messages failed and wait for a retry, read in one snapshot.
pub async fn admin_attention(
    inst: &Instance,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<(String, String)>, (i64, i64)), StorageError> {
    inst.db
        .read(move |c| {
            Ok((
                super::accounts::active_support(c, now)?,
                crate::storage::outbox::problem_count(c)?,
            ))
        })
        .await
}
