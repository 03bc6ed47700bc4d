//! Groups and their permissions, and which users belong to which group. Every change is audited.

use super::accounts::AccountError;
use crate::access::Permission;
use crate::audit::{self, By, Entry, Event};
use crate::instances::Instance;
use crate::storage::{groups, users};
use serde_json::json;

pub use crate::storage::groups::GroupRow;

fn validate_group_name(name: &str) -> Result<(), AccountError> {
    let ok = (2..=40).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid {
            field: "name",
            message: crate::i18n::Sentence::new(
                "account-invalid-group-name",
                "use 2–40 letters, digits, '-' or '_'",
            ),
        })
    }
}

pub async fn create(
    inst: &Instance,
    by: By,
    name: String,
    description: String,
) -> Result<(), AccountError> {
    validate_group_name(&name)?;
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            if groups::id_by_name(tx, &name)?.is_some() {
                return Err(AccountError::Exists(name));
            }
            groups::create(tx, &name, description.trim())?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::GroupChanged, by.actor, name.clone(), by.source)
                    .with(json!({ "change": "created", "description": description })),
            )?;
            Ok(())
        })
        .await
}

pub async fn delete(inst: &Instance, by: By, name: String) -> Result<(), AccountError> {
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let (id, builtin) = groups::id_by_name(tx, &name)?
                .ok_or_else(|| AccountError::NotFound(name.clone()))?;
            if builtin {
                return Err(AccountError::Invalid {
                    field: "name",
                    message: crate::i18n::Sentence::new(
                        "account-invalid-group-builtin",
                        format!("`{name}` is built in and cannot be deleted"),
                    )
                    .arg("name", name.as_str()),
                });
            }
            groups::delete(tx, id)?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::GroupChanged, by.actor, name, by.source)
                    .with(json!({ "change": "deleted" })),
            )?;
            Ok(())
        })
        .await
}

pub async fn set_permissions(
    inst: &Instance,
    by: By,
    name: String,
    perms: Vec<Permission>,
) -> Result<(), AccountError> {
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let (id, _) = groups::id_by_name(tx, &name)?
                .ok_or_else(|| AccountError::NotFound(name.clone()))?;
            let before: Vec<String> = groups::list(tx)?
                .into_iter()
                .find(|g| g.id == id)
                .map(|g| g.permissions)
                .unwrap_or_default();
            let mut after: Vec<String> = perms.iter().map(|p| p.to_string()).collect();
            after.sort();
            after.dedup();
            if name.eq_ignore_ascii_case("admins") && !after.iter().any(|p| p == "admin") {
                return Err(AccountError::LastAdmin);
            }
            groups::set_permissions(tx, id, &after)?;
            if users::count_enabled_admins(tx)? == 0 {
                return Err(AccountError::LastAdmin);
            }
            audit::write(
                tx,
                by.now,
                Entry::new(Event::PermissionChanged, by.actor, name, by.source)
                    .with(json!({ "from": before, "to": after })),
            )?;
            Ok(())
        })
        .await
}

/// Sets exactly which groups a user belongs to.
pub async fn set_membership(
    inst: &Instance,
    by: By,
    username: String,
    wanted: Vec<String>,
) -> Result<(), AccountError> {
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let u = users::by_name(tx, &username)?
                .ok_or_else(|| AccountError::NotFound(username.clone()))?;
            let before = users::groups_of(tx, u.id)?;
            for g in &before {
                users::remove_from_group(tx, u.id, g)?;
            }
            for g in &wanted {
                if !users::add_to_group(tx, u.id, g)? {
                    return Err(AccountError::Invalid {
                        field: "group",
                        message: crate::i18n::Sentence::new(
                            "account-invalid-no-group",
                            format!("no group named `{g}`"),
                        )
                        .arg("name", g.as_str()),
                    });
                }
            }
            if users::count_enabled_admins(tx)? == 0 {
                return Err(AccountError::LastAdmin);
            }
            let after = users::groups_of(tx, u.id)?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::GroupChanged, by.actor, u.username, by.source)
                    .with(json!({ "membership_from": before, "membership_to": after })),
            )?;
            Ok(())
        })
        .await
}

/// Every group with its permissions, for the admin's groups page.
pub async fn list(inst: &Instance) -> Result<Vec<GroupRow>, crate::storage::StorageError> {
    inst.db.read(groups::list).await
}
