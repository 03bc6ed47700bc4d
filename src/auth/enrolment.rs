//! Owns the verified step before a first second factor: the e-mailed set-up code or a one-time
//! enrolment code an administrator issues, and the administrator's reset of a lost factor.
//!
//! A person who has a password but no usable factor must prove more than the password before an
//! authenticator app is bound to the account; otherwise a phished password would let the attacker
//! enrol their own app and keep the account.

use super::accounts::{AccountError, read_policy};
use super::policy::SecondFactorMode;
use super::services::AuthServices;
use super::signin::{self, Issued, SignInError, Stage};
use super::{AuthError, codes, totp};
use crate::audit::{self, Actor, By, Entry, Event};
use crate::clock::stamp;
use crate::crypto::Secret;
use crate::instances::Instance;
use crate::storage::sessions as store;
use crate::storage::users;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::net::IpAddr;

fn actor_of(u: &users::UserRow) -> Actor {
    Actor::User {
        name: u.username.clone(),
        support: u.support_expires_at.is_some(),
    }
}

/// The verified step: an e-mailed set-up code (bound to this half-finished sign-in) or an
/// administrator's enrolment code. Success replaces the session with one that may enrol an app.
pub async fn verify_step(
    svc: &AuthServices,
    inst: &Instance,
    token: &str,
    code: String,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<Issued, SignInError> {
    if code.chars().count() > signin::MAX_CODE_CHARS {
        return Err(SignInError::Invalid {
            field: "code",
            message: "a code has at most 64 characters",
            key: "account-invalid-code-long",
        });
    }
    let attempt = svc
        .begin_attempt(ip, now)
        .map_err(|r| SignInError::Throttled(r.retry_after_secs()))?;
    let (id_hash, _session, user) =
        super::signin::pending_session(inst, token, "enrol_verify", now).await?;
    let typed = code.trim().to_string();
    // An administrator's code is long and stored as an Argon2 hash; an e-mailed code is 6 digits.
    let admin_code_ok = match (&user.enrolment_code_hash, &user.enrolment_code_expires_at) {
        (Some(hash), Some(expires)) if *expires > stamp(now) && typed.len() > 8 => {
            svc.hasher
                .verify(totp::normalise_recovery_code(&typed), hash)
                .await?
                .ok
        }
        _ => false,
    };
    let mail = svc.mail();
    let source = ip.to_string();
    let outcome = inst
        .db
        .write(move |tx| -> Result<Result<Issued, ()>, SignInError> {
            let s = store::by_hash(tx, &id_hash)?.ok_or(SignInError::Rejected)?;
            let u = users::by_id(tx, s.user_id)?.ok_or(SignInError::Rejected)?;
            let policy = read_policy(tx)?;
            if u.locked_at.is_some() || u.disabled_at.is_some() || s.revoked_at.is_some() {
                return Ok(Err(()));
            }
            let (ok, method) = if admin_code_ok {
                (true, "enrolment_code")
            } else {
                let emailed = s.code_attempts < signin::CODE_TRIES
                    && s.code_expires_at
                        .as_deref()
                        .is_some_and(|e| e > stamp(now).as_str())
                    && s.code_hash
                        .as_deref()
                        .is_some_and(|h| codes::code_matches(s.id_hash.as_bytes(), &typed, h));
                (emailed, "email")
            };
            if !ok {
                signin::wrong_code(
                    tx,
                    &s,
                    &u,
                    (&policy, mail.as_ref()),
                    &source,
                    now,
                    json!({ "purpose": "enrolment" }),
                )?;
                return Ok(Err(()));
            }
            store::revoke(tx, &s.id_hash, &stamp(now))?;
            if method == "enrolment_code" {
                users::set_enrolment_code(tx, u.id, None)?;
            }
            let (token, row) = signin::new_session(
                &policy,
                u.id,
                &Stage::TotpEnrollment,
                now,
                &source,
                &s.user_agent,
            )?;
            store::insert(tx, &row)?;
            audit::write(
                tx,
                now,
                Entry::new(
                    Event::EnrolmentVerified,
                    actor_of(&u),
                    u.username.clone(),
                    source.clone(),
                )
                .with(json!({ "method": method })),
            )?;
            Ok(Ok(Issued {
                token,
                csrf: row.csrf_token,
                stage: Stage::TotpEnrollment,
            }))
        })
        .await?;
    signin::settle_attempt(svc, attempt, outcome, now)
}

/// Issues a one-time enrolment code for `username` (valid for the policy's temporary-password
/// time), for a person who must enrol a factor but cannot receive mail. Shown once.
pub async fn issue_code(
    svc: &AuthServices,
    inst: &Instance,
    by: By,
    username: String,
) -> Result<Secret<String>, AccountError> {
    let code = totp::new_recovery_codes(1)?
        .into_iter()
        .next()
        .ok_or(AccountError::Auth(AuthError::Random))?;
    let hash = svc
        .hasher
        .hash(totp::normalise_recovery_code(code.expose()))
        .await?;
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let u = users::by_name(tx, &username)?
                .ok_or_else(|| AccountError::NotFound(username.clone()))?;
            let policy = read_policy(tx)?;
            let hours = policy.temporary_password_hours();
            let expires = stamp(by.now + Duration::hours(hours as i64));
            users::set_enrolment_code(tx, u.id, Some((&hash, &expires)))?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::EnrolmentCodeIssued, by.actor, u.username, by.source)
                    .with(json!({ "expires_at": expires })),
            )?;
            Ok(())
        })
        .await?;
    Ok(code)
}

/// An administrator's reset of a lost second factor: the app, its recovery codes and any pending
/// enrolment are removed, every session ends, and (unless the policy has second factors off) the
/// next sign-in must enrol a factor again through the verified step.
pub async fn reset_factor(
    svc: &AuthServices,
    inst: &Instance,
    by: By,
    username: String,
) -> Result<(), AccountError> {
    let mail = svc.mail();
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let u = users::by_name(tx, &username)?
                .ok_or_else(|| AccountError::NotFound(username.clone()))?;
            let policy = read_policy(tx)?;
            let enrol = policy.second_factor() != SecondFactorMode::Off;
            users::set_second_factor(tx, u.id, "none", None)?;
            users::set_totp_pending(tx, u.id, None)?;
            users::replace_recovery_codes(tx, u.id, &[])?;
            users::set_must_enrol(tx, u.id, enrol)?;
            let now_s = stamp(by.now);
            let ended = store::revoke_all_for_user(tx, u.id, None, &now_s)?;
            audit::write(
                tx,
                by.now,
                Entry::new(
                    Event::SecondFactorReset,
                    by.actor.clone(),
                    u.username.clone(),
                    by.source.clone(),
                )
                .with(json!({
                    "previous": u.second_factor,
                    "must_enrol": enrol,
                    "sessions_revoked": ended,
                })),
            )?;
            if let Some(m) = &mail {
                super::notices::factor_reset(tx, m, &u, &by, enrol)?;
            }
            Ok(())
        })
        .await?;
    svc.wake_mail();
    Ok(())
}
