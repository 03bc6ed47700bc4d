//! Owns the scheduled disabling of unused accounts (policy `inactive_disable_days`, off by
//! default): an account with no sign-in for that many days is disabled, its sessions end, and
//! the security log says why. Support accounts expire on their own and are left alone; the last
//! enabled administrator is never disabled this way (the console can still re-enable others).

use super::accounts::{AccountError, read_policy};
use crate::audit::{self, Actor, Entry, Event};
use crate::clock::stamp;
use crate::instances::Instance;
use crate::storage::{sessions, users};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// Disables every account unused for the policy's number of days; returns their names.
pub async fn disable_unused(
    inst: &Instance,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AccountError> {
    inst.db
        .write(move |tx| -> Result<Vec<String>, AccountError> {
            let days = read_policy(tx)?.inactive_disable_days();
            if days == 0 {
                return Ok(vec![]);
            }
            let cutoff = stamp(now - Duration::days(days as i64));
            let mut done = Vec::new();
            for u in users::inactive_since(tx, &cutoff)? {
                let admin = users::permissions(tx, u.id)?.iter().any(|p| p == "admin");
                if admin && users::count_enabled_admins(tx)? <= 1 {
                    continue;
                }
                users::set_disabled(tx, u.id, Some(&stamp(now)))?;
                let ended = sessions::revoke_all_for_user(tx, u.id, None, &stamp(now))?;
                audit::write(
                    tx,
                    now,
                    Entry::new(Event::UserDisabled, Actor::System, u.username.clone(), "-").with(
                        json!({
                            "reason": "unused",
                            "inactive_disable_days": days,
                            "last_sign_in": u.last_signin_at,
                            "sessions_revoked": ended,
                        }),
                    ),
                )?;
                done.push(u.username);
            }
            Ok(done)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{add_user, instance, services};

    #[tokio::test(flavor = "multi_thread")]
    async fn unused_accounts_are_disabled_after_the_policy_days_but_not_the_last_admin() {
        let (_dir, inst) = instance().await;
        let svc = services();
        let t0 = crate::clock::Clock::now(&crate::clock::SystemClock);
        for (name, groups) in [("ada", ["admins"]), ("bob", ["users"]), ("cy", ["users"])] {
            add_user(&svc, &inst, name, &groups, None, t0).await;
        }
        // Off by default: nothing happens however long nobody signs in.
        assert!(
            disable_unused(&inst, t0 + Duration::days(3650))
                .await
                .unwrap()
                .is_empty()
        );
        crate::auth::accounts::set_policy(
            &inst,
            crate::audit::By {
                actor: Actor::Console,
                source: "console".into(),
                now: t0,
            },
            "inactive_disable_days".into(),
            "30".into(),
        )
        .await
        .unwrap();
        // cy signs in on day 20.
        inst.db
            .write(move |tx| -> Result<_, crate::storage::StorageError> {
                let cy = users::by_name(tx, "cy")?.unwrap();
                users::record_signin(tx, cy.id, "192.0.2.7", &stamp(t0 + Duration::days(20)))
            })
            .await
            .unwrap();
        assert!(
            disable_unused(&inst, t0 + Duration::days(29))
                .await
                .unwrap()
                .is_empty()
        );
        // Day 31: bob is disabled; ada is the last enabled admin and stays; cy signed in on day 20.
        let gone = disable_unused(&inst, t0 + Duration::days(31))
            .await
            .unwrap();
        assert_eq!(gone, vec!["bob".to_string()]);
        let rows = inst
            .db
            .read(|c| {
                audit::query(
                    c,
                    &audit::Filter {
                        events: vec!["user_disabled".into()],
                        limit: 10,
                        ..Default::default()
                    },
                )
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].target, "bob");
        assert!(
            rows[0].details.contains("\"reason\":\"unused\""),
            "{}",
            rows[0].details
        );
        // Day 51: cy's last sign-in is 31 days old.
        let gone = disable_unused(&inst, t0 + Duration::days(51))
            .await
            .unwrap();
        assert_eq!(gone, vec!["cy".to_string()]);
    }
}
