//! Account management: the policy, creating users, passwords (change, reset, history), lock state,
//! enabling and disabling, support accounts, setup links. Every change is audited in its transaction.

use super::policy::{Policy, PolicyError, check_new_password};
use super::services::AuthServices;
use super::{AuthError, cidr};
use crate::audit::{self, Actor, By, Entry, Event};
use crate::clock::stamp;
use crate::crypto::{self, Secret};
use crate::instances::Instance;
use crate::storage::{self, StorageError, settings, users};
use crate::storage::{Connection, Transaction};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("no user named `{0}`")]
    NotFound(String),
    #[error("a user named `{0}` already exists")]
    Exists(String),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: crate::i18n::Sentence,
    },
    #[error("the password is not acceptable: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" "))]
    PasswordRejected(Vec<super::policy::PasswordProblem>),
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("too many failed attempts from this address; try again in {0} seconds")]
    Throttled(u64),
    #[error("{0}")]
    Policy(#[from] PolicyError),
    #[error("this would leave the instance without an enabled administrator")]
    LastAdmin,
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Storage(#[from] StorageError),
}

const POLICY_PREFIX: &str = "policy.";

pub fn read_policy(conn: &Connection) -> Result<Policy, AccountError> {
    let mut pairs = Vec::new();
    for key in super::policy::KEYS {
        if let Some(v) = settings::get(conn, &format!("{POLICY_PREFIX}{key}"))? {
            pairs.push((key.to_string(), v));
        }
    }
    Ok(Policy::from_pairs(pairs)?)
}

pub async fn policy(inst: &Instance) -> Result<Policy, AccountError> {
    inst.db.read(read_policy).await
}

/// Changes one policy setting; refuses bad values with the allowed range and changes nothing.
pub async fn set_policy(
    inst: &Instance,
    by: By,
    key: String,
    value: String,
) -> Result<Policy, AccountError> {
    let By { actor, source, now } = by;
    inst.db
        .write(move |tx| -> Result<_, AccountError> {
            let mut p = read_policy(tx)?;
            let old = p.get(&key).unwrap_or_default();
            p.set(&key, &value)?;
            let new = p.get(&key).unwrap_or_default();
            settings::set(tx, &format!("{POLICY_PREFIX}{key}"), &new, &stamp(now))?;
            audit::write(
                tx,
                now,
                Entry::new(Event::PolicyChanged, actor, key.clone(), source)
                    .with(json!({ "key": key, "from": old, "to": new })),
            )?;
            Ok(p)
        })
        .await
}

pub fn validate_username(name: &str) -> Result<(), AccountError> {
    let ok = (2..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid {
            field: "username",
            message: crate::i18n::Sentence::new(
                "account-invalid-username",
                "use 2–64 letters, digits, '.', '-', '_' or '@'",
            ),
        })
    }
}

pub fn validate_email(email: &str) -> Result<(), AccountError> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        });
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid {
            field: "email",
            message: crate::i18n::Sentence::new(
                "account-invalid-email",
                "this is not an e-mail address",
            ),
        })
    }
}

/// A random temporary password (about 100 bits) for console-created users and resets.
pub fn temporary_password() -> Result<Secret<String>, AccountError> {
    let t = crypto::random_token(15).map_err(|_| AuthError::Random)?;
    let s = t.expose();
    Ok(Secret::new(format!(
        "{}-{}-{}-{}",
        &s[0..5],
        &s[5..10],
        &s[10..15],
        &s[15..20]
    )))
}

/// Checks a new password against the policy, the common list, the user's names and history.
pub async fn vet_password(
    svc: &AuthServices,
    policy: &Policy,
    password: &Secret<String>,
    username: &str,
    email: &str,
    history: &[String],
) -> Result<(), AccountError> {
    if let Err(problems) =
        check_new_password(policy, &svc.common, password.expose(), username, email)
    {
        return Err(AccountError::PasswordRejected(problems));
    }
    for old in history.iter().take(policy.password_history() as usize) {
        if svc.hasher.verify(password.clone(), old).await?.ok {
            return Err(AccountError::PasswordRejected(vec![
                super::policy::PasswordProblem::Reused {
                    count: policy.password_history(),
                },
            ]));
        }
    }
    Ok(())
}

pub struct NewAccount {
    pub username: String,
    pub email: String,
    pub groups: Vec<String>,
    /// `None`: a temporary password is generated and must be changed at first sign-in.
    pub password: Option<Secret<String>>,
    pub support: Option<SupportGrant>,
}

pub struct SupportGrant {
    pub expires_at: DateTime<Utc>,
    pub networks: Vec<String>,
}

pub struct Created {
    pub id: i64,
    pub temporary_password: Option<Secret<String>>,
}

pub async fn create_user(
    svc: &AuthServices,
    inst: &Instance,
    by: By,
    acc: NewAccount,
) -> Result<Created, AccountError> {
    let By { actor, source, now } = by;
    validate_username(&acc.username)?;
    validate_email(&acc.email)?;
    if let Some(s) = &acc.support {
        for n in &s.networks {
            cidr::parse(n).map_err(|m| AccountError::Invalid {
                field: "from",
                message: crate::i18n::Sentence::new("account-invalid-network", m).arg("value", n),
            })?;
        }
    }
    let name = acc.username.clone();
    if inst
        .db
        .read(move |c| users::by_name(c, &name))
        .await?
        .is_some()
    {
        return Err(AccountError::Exists(acc.username));
    }
    let (password, temporary) = match acc.password {
        Some(p) => {
            let policy = policy(inst).await?;
            vet_password(svc, &policy, &p, &acc.username, &acc.email, &[]).await?;
            (p, false)
        }
        None => (temporary_password()?, true),
    };
    let hash = svc.hasher.hash(password.clone()).await?;
    let event = if acc.support.is_some() {
        Event::SupportGranted
    } else {
        Event::UserCreated
    };
    let id = inst
        .db
        .write(move |tx| -> Result<_, AccountError> {
            let now_s = stamp(now);
            let expires = acc.support.as_ref().map(|s| stamp(s.expires_at));
            let networks = acc.support.as_ref().map(|s| s.networks.join(","));
            let id = users::insert(
                tx,
                &users::NewUser {
                    username: &acc.username,
                    email: &acc.email,
                    password_hash: &hash,
                    must_change_password: temporary,
                    support_expires_at: expires.as_deref(),
                    support_networks: networks.as_deref(),
                    now: &now_s,
                },
            )?;
            for g in &acc.groups {
                if !users::add_to_group(tx, id, g)? {
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
            audit::write(
                tx,
                now,
                Entry::new(event, actor, acc.username.clone(), source).with(json!({
                    "email": acc.email, "groups": acc.groups, "temporary_password": temporary,
                    "support_expires_at": expires, "networks": networks,
                })),
            )?;
            Ok(id)
        })
        .await?;
    Ok(Created {
        id,
        temporary_password: temporary.then_some(password),
    })
}

fn find(tx: &Transaction, username: &str) -> Result<users::UserRow, AccountError> {
    users::by_name(tx, username)?.ok_or_else(|| AccountError::NotFound(username.to_string()))
}

/// Unlocks a locked account and resets its failure counter.
pub async fn unlock(
    svc: &AuthServices,
    inst: &Instance,
    by: By,
    username: String,
) -> Result<(), AccountError> {
    let By { actor, source, now } = by;
    let mail = svc.mail();
    let mailing = mail.is_some();
    inst.db
        .write(move |tx| -> Result<_, AccountError> {
            let u = find(tx, &username)?;
            users::unlock(tx, u.id)?;
            audit::write(
                tx,
                now,
                Entry::new(Event::AccountUnlocked, actor.clone(), u.username.clone(), source)
                    .with(json!({ "was_locked": u.locked_at.is_some(), "failed_attempts": u.failed_attempts })),
            )?;
            if let Some(m) = &mail {
                crate::mail::notify_admins_in(tx, m, now, |w| {
                    let by = match &actor {
                        Actor::User { name, .. } => name.clone(),
                        _ => w.t("mail-unlocked-console"),
                    };
                    let name = || crate::i18n::Arg::from(u.username.as_str());
                    (
                        w.with("mail-unlocked-subject", &[("username", name())]),
                        format!(
                            "{}\n\n{}",
                            w.with(
                                "mail-unlocked-body",
                                &[
                                    ("username", name()),
                                    ("by", by.into()),
                                    ("at", w.when(now).into()),
                                ],
                            ),
                            w.t("mail-unlocked-advice")
                        ),
                    )
                })?;
            }
            Ok(())
        })
        .await?;
    if mailing {
        svc.wake_mail();
    }
    Ok(())
}

/// Sets a new temporary password that must be changed at the next sign-in; ends the user's sessions.
pub async fn reset_password(
    svc: &AuthServices,
    inst: &Instance,
    by: By,
    username: String,
) -> Result<Secret<String>, AccountError> {
    let By { actor, source, now } = by;
    let temp = temporary_password()?;
    let hash = svc.hasher.hash(temp.clone()).await?;
    inst.db
        .write(move |tx| -> Result<_, AccountError> {
            let u = find(tx, &username)?;
            let now_s = stamp(now);
            users::set_password(tx, u.id, &hash, &now_s, true)?;
            let revoked = storage::sessions::revoke_all_for_user(tx, u.id, None, &now_s)?;
            audit::write(
                tx,
                now,
                Entry::new(Event::PasswordReset, actor, u.username, source)
                    .with(json!({ "sessions_revoked": revoked })),
            )?;
            Ok(())
        })
        .await?;
    Ok(temp)
}

/// Changes the session holder's password after checking policy and history; ends every other
/// session and tells the person. `proof` (current password and factor) is required from a full
/// session; `None` is accepted only in the forced password-change stage of a sign-in.
pub async fn change_password(
    svc: &AuthServices,
    inst: &Instance,
    session: &crate::auth::session_info::SessionInfo,
    proof: Option<crate::auth::reauth::Proof>,
    new: Secret<String>,
    by: By,
) -> Result<(), AccountError> {
    match (session.stage.as_str(), proof) {
        ("password_change", _) => {}
        ("active", Some(proof)) => {
            crate::auth::reauth::prove_for(svc, inst, session, proof, &by).await?;
        }
        ("active", None) => return Err(AccountError::WrongPassword),
        _ => {
            return Err(AccountError::Invalid {
                field: "stage",
                message: crate::i18n::Sentence::new(
                    "account-invalid-finish-signin",
                    "finish signing in first",
                ),
            });
        }
    }
    let user_id = session.user_id;
    let keep_session = Some(session.id_hash.clone());
    let By { actor, source, now } = by;
    let (user, history, policy) = inst
        .db
        .read(move |c| -> Result<_, AccountError> {
            let u =
                users::by_id(c, user_id)?.ok_or(AccountError::NotFound(format!("#{user_id}")))?;
            let policy = read_policy(c)?;
            let h = users::recent_hashes(c, user_id, policy.password_history().max(1))?;
            Ok((u, h, policy))
        })
        .await?;
    let history: Vec<String> = if policy.password_history() == 0 {
        vec![]
    } else {
        history
    };
    vet_password(svc, &policy, &new, &user.username, &user.email, &history).await?;
    let hash = svc.hasher.hash(new).await?;
    let mail = svc.mail();
    inst.db
        .write(move |tx| -> Result<_, AccountError> {
            let now_s = stamp(now);
            users::set_password(tx, user_id, &hash, &now_s, false)?;
            let revoked = storage::sessions::revoke_all_for_user(
                tx,
                user_id,
                keep_session.as_deref(),
                &now_s,
            )?;
            let by = By {
                actor: actor.clone(),
                source: source.clone(),
                now,
            };
            audit::write(
                tx,
                now,
                Entry::new(Event::PasswordChanged, actor, user.username.clone(), source)
                    .with(json!({ "other_sessions_revoked": revoked })),
            )?;
            if let Some(m) = &mail {
                crate::auth::notices::password_changed(tx, m, &user, &by)?;
            }
            Ok(())
        })
        .await?;
    svc.wake_mail();
    Ok(())
}

/// Changes the session holder's e-mail address after password and factor again; both the old
/// and the new address are told, and every other session ends.
pub async fn change_email(
    svc: &AuthServices,
    inst: &Instance,
    session: &crate::auth::session_info::SessionInfo,
    proof: crate::auth::reauth::Proof,
    new_email: String,
    by: By,
) -> Result<(), AccountError> {
    if session.stage != "active" {
        return Err(AccountError::Invalid {
            field: "stage",
            message: crate::i18n::Sentence::new(
                "account-invalid-finish-signin",
                "finish signing in first",
            ),
        });
    }
    let new_email = new_email.trim().to_string();
    validate_email(&new_email)?;
    crate::auth::reauth::prove_for(svc, inst, session, proof, &by).await?;
    let user_id = session.user_id;
    let keep = session.id_hash.clone();
    let mail = svc.mail();
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let u =
                users::by_id(tx, user_id)?.ok_or(AccountError::NotFound(format!("#{user_id}")))?;
            users::set_email(tx, user_id, &new_email)?;
            let revoked =
                storage::sessions::revoke_all_for_user(tx, user_id, Some(&keep), &stamp(by.now))?;
            audit::write(
                tx,
                by.now,
                Entry::new(
                    Event::EmailChanged,
                    by.actor.clone(),
                    u.username.clone(),
                    by.source.clone(),
                )
                .with(
                    json!({ "from": u.email, "to": new_email, "other_sessions_revoked": revoked }),
                ),
            )?;
            if let Some(m) = &mail {
                crate::auth::notices::email_changed(tx, m, &u, &by, &new_email)?;
            }
            Ok(())
        })
        .await?;
    svc.wake_mail();
    Ok(())
}

/// The language a person reads holdfast in; `None` follows the instance's default. Only the page
/// language changes, so no password is asked and no event is written.
pub async fn set_language(
    inst: &Instance,
    user_id: i64,
    language: Option<crate::i18n::Locale>,
) -> Result<(), AccountError> {
    inst.db
        .write(move |tx| users::set_language(tx, user_id, language.map(|l| l.code())))
        .await?;
    Ok(())
}

/// Enables or disables an account. Disabling ends its sessions at once.
pub async fn set_enabled(
    inst: &Instance,
    by: By,
    username: String,
    enabled: bool,
) -> Result<(), AccountError> {
    let By { actor, source, now } = by;
    inst.db
        .write(move |tx| -> Result<_, AccountError> {
            let u = find(tx, &username)?;
            if enabled {
                users::set_disabled(tx, u.id, None)?;
                audit::write(
                    tx,
                    now,
                    Entry::new(Event::UserEnabled, actor, u.username, source),
                )?;
            } else {
                let perms = users::permissions(tx, u.id)?;
                if perms.iter().any(|p| p == "admin")
                    && u.support_expires_at.is_none()
                    && enabled_admins(tx)? <= 1
                {
                    return Err(AccountError::LastAdmin);
                }
                disable_and_sign_out(tx, u, Event::UserDisabled, actor, source, now)?;
            }
            Ok(())
        })
        .await
}

/// Disables an account and ends its sessions in one step, so that no disabled account keeps a
/// live session; `event` records how many ended.
fn disable_and_sign_out(
    tx: &Transaction,
    u: users::UserRow,
    event: Event,
    actor: Actor,
    source: String,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let now_s = stamp(now);
    users::set_disabled(tx, u.id, Some(&now_s))?;
    let revoked = storage::sessions::revoke_all_for_user(tx, u.id, None, &now_s)?;
    audit::write(
        tx,
        now,
        Entry::new(event, actor, u.username, source).with(json!({ "sessions_revoked": revoked })),
    )?;
    Ok(())
}

fn enabled_admins(conn: &Connection) -> Result<usize, StorageError> {
    Ok(usize::try_from(users::count_enabled_admins(conn)?).unwrap_or(0))
}

/// Ends every session of a user (admin request).
pub async fn revoke_sessions(
    inst: &Instance,
    by: By,
    username: String,
) -> Result<usize, AccountError> {
    let By { actor, source, now } = by;
    inst.db
        .write(move |tx| -> Result<_, AccountError> {
            let u = find(tx, &username)?;
            let n = storage::sessions::revoke_all_for_user(tx, u.id, None, &stamp(now))?;
            audit::write(
                tx,
                now,
                Entry::new(Event::SessionRevoked, actor, u.username, source)
                    .with(json!({ "sessions": n })),
            )?;
            Ok(n)
        })
        .await
}

/// Ends a support account at once (its sessions too).
pub async fn revoke_support(inst: &Instance, by: By, username: String) -> Result<(), AccountError> {
    let By { actor, source, now } = by;
    inst.db
        .write(move |tx| -> Result<_, AccountError> {
            let u = find(tx, &username)?;
            if u.support_expires_at.is_none() {
                return Err(AccountError::Invalid {
                    field: "username",
                    message: crate::i18n::Sentence::new(
                        "account-invalid-not-support",
                        format!("`{}` is not a support account", u.username),
                    )
                    .arg("name", u.username.as_str()),
                });
            }
            users::set_support(tx, u.id, Some(&stamp(now)))?;
            disable_and_sign_out(tx, u, Event::SupportRevoked, actor, source, now)
        })
        .await
}

/// Support accounts still active at `now` (for the admin banner).
pub fn active_support(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>, StorageError> {
    let now_s = stamp(now);
    Ok(users::list(conn)?
        .into_iter()
        .filter(|u| u.disabled_at.is_none())
        .filter_map(|u| {
            u.support_expires_at
                .filter(|e| *e > now_s)
                .map(|e| (u.username, e))
        })
        .collect())
}

pub const SETUP_LINK_HOURS: i64 = 24;

/// Whether the instance has at least one administrator: until it has, the sign-in page and the
/// server's start-up point to `holdfast admin setup-link`.
pub async fn has_admin(inst: &Instance) -> Result<bool, AccountError> {
    inst.db
        .read(|c| -> Result<_, AccountError> { Ok(users::count_admins(c)? > 0) })
        .await
}

/// Issues a one-time setup link token (stored hashed, valid 24 h) while the instance has no admin.
pub async fn issue_setup_token(
    inst: &Instance,
    actor: Actor,
    source: String,
    now: DateTime<Utc>,
) -> Result<Option<Secret<String>>, AccountError> {
    let token = crypto::random_token(32).map_err(|_| AuthError::Random)?;
    let hash = crypto::sha256_hex(token.expose().as_bytes());
    let issued = inst
        .db
        .write(move |tx| -> Result<_, AccountError> {
            if users::count_admins(tx)? > 0 {
                return Ok(false);
            }
            storage::sessions::insert_setup_token(
                tx,
                &hash,
                &stamp(now),
                &stamp(now + Duration::hours(SETUP_LINK_HOURS)),
            )?;
            audit::write(
                tx,
                now,
                Entry::new(Event::SetupLinkIssued, actor, "-", source),
            )?;
            Ok(true)
        })
        .await?;
    Ok(issued.then_some(token))
}

pub async fn setup_token_valid(
    inst: &Instance,
    token: &str,
    now: DateTime<Utc>,
) -> Result<bool, AccountError> {
    let hash = crypto::sha256_hex(token.as_bytes());
    inst.db
        .read(move |c| -> Result<_, AccountError> {
            Ok(users::count_admins(c)? == 0
                && storage::sessions::setup_token_valid(c, &hash, &stamp(now))?)
        })
        .await
}

/// Creates the first admin with a setup token: single use, 24 h, only while there is no admin.
/// The first administrator's details from the setup page.
pub struct SetupRequest {
    pub token: String,
    pub username: String,
    pub email: String,
    pub password: Secret<String>,
}

pub async fn complete_setup(
    svc: &AuthServices,
    inst: &Instance,
    req: SetupRequest,
    source: String,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let SetupRequest {
        token,
        username,
        email,
        password,
    } = req;
    let token = token.as_str();
    validate_username(&username)?;
    validate_email(&email)?;
    if !setup_token_valid(inst, token, now).await? {
        return Err(AccountError::Invalid {
            field: "token",
            message: crate::i18n::Sentence::new(
                "account-invalid-setup-link",
                "this setup link is invalid, used or expired; run `holdfast admin setup-link` for a new one",
            ),
        });
    }
    let policy = policy(inst).await?;
    vet_password(svc, &policy, &password, &username, &email, &[]).await?;
    let hash = svc.hasher.hash(password).await?;
    let token_hash = crypto::sha256_hex(token.as_bytes());
    inst.db
        .write(move |tx| -> Result<_, AccountError> {
            let now_s = stamp(now);
            if users::count_admins(tx)? > 0
                || !storage::sessions::consume_setup_token(tx, &token_hash, &now_s)?
            {
                return Err(AccountError::Invalid {
                    field: "token",
                    message: crate::i18n::Sentence::new(
                        "account-invalid-setup-link",
                        "this setup link is invalid, used or expired",
                    ),
                });
            }
            if users::by_name(tx, &username)?.is_some() {
                return Err(AccountError::Exists(username.clone()));
            }
            let id = users::insert(
                tx,
                &users::NewUser {
                    username: &username,
                    email: &email,
                    password_hash: &hash,
                    must_change_password: false,
                    support_expires_at: None,
                    support_networks: None,
                    now: &now_s,
                },
            )?;
            users::add_to_group(tx, id, "admins")?;
            users::add_to_group(tx, id, "users")?;
            audit::write(
                tx,
                now,
                Entry::new(
                    Event::SetupCompleted,
                    Actor::User {
                        name: username.clone(),
                        support: false,
                    },
                    username.clone(),
                    source,
                )
                .with(json!({ "email": email })),
            )?;
            Ok(())
        })
        .await
}
