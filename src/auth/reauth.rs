//! Owns re-authentication inside a signed-in session: before a person changes their password,
//! second factor or e-mail address they prove again that they are that person (password, and the
//! current factor when the account has one), so that a stolen session or an unattended browser
//! cannot take the account over.

use super::accounts::{AccountError, read_policy};
use super::services::AuthServices;
use super::signin::{SessionInfo, count_failure};
use super::{codes, totp};
use crate::audit::{self, Actor, By, Entry, Event};
use crate::clock::stamp;
use crate::crypto::Secret;
use crate::instances::Instance;
use crate::storage::sessions as store;
use crate::storage::users;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::net::IpAddr;

/// How long after re-authenticating a two-step change (starting and confirming a new app) may
/// be finished.
pub const WINDOW_MINUTES: i64 = 10;
const CODE_MINUTES: i64 = 10;
/// A new e-mailed code is sent at most this often per session.
const RESEND_SECONDS: i64 = 60;

/// What the person typed to prove it is them: the current password, and the current factor's
/// code (app code, recovery code, or the code just e-mailed) when the account has a factor.
pub struct Proof {
    pub password: Secret<String>,
    pub code: Option<String>,
}

fn actor_of(u: &users::UserRow) -> Actor {
    Actor::User {
        name: u.username.clone(),
        support: u.support_expires_at.is_some(),
    }
}

/// `prove` for a request: its client address is where the attempt counts against the throttle.
pub async fn prove_for(
    svc: &AuthServices,
    inst: &Instance,
    session: &SessionInfo,
    proof: Proof,
    by: &By,
) -> Result<(), AccountError> {
    let ip = by.source.parse().map_err(|_| AccountError::Invalid {
        field: "source",
        message: crate::i18n::Sentence::new(
            "account-invalid-no-address",
            "the request has no client address",
        ),
    })?;
    prove(svc, inst, session, proof, ip, by.now).await
}

/// Checks a proof for the session's holder. A wrong password or code counts toward the account's
/// lockout and the address's throttle exactly like a failed sign-in, and is logged.
pub async fn prove(
    svc: &AuthServices,
    inst: &Instance,
    session: &SessionInfo,
    proof: Proof,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    if proof.password.expose().chars().count() > super::policy::MAX_PASSWORD_CHARS as usize
        || proof
            .code
            .as_ref()
            .is_some_and(|c| c.chars().count() > super::signin::MAX_CODE_CHARS)
    {
        return Err(AccountError::WrongPassword);
    }
    let attempt = svc
        .begin_attempt(ip, now)
        .map_err(|r| AccountError::Throttled(r.retry_after_secs()))?;
    let (uid, hash_of_session) = (session.user_id, session.id_hash.clone());
    let (user, srow, recovery) = inst
        .db
        .read(move |c| -> Result<_, AccountError> {
            let u = users::by_id(c, uid)?.ok_or(AccountError::NotFound(format!("#{uid}")))?;
            let s = store::by_hash(c, &hash_of_session)?
                .ok_or(AccountError::NotFound("session".into()))?;
            let r = users::unused_recovery_codes(c, uid)?;
            Ok((u, s, r))
        })
        .await?;
    let password_ok = svc
        .hasher
        .verify(proof.password, &user.password_hash)
        .await?
        .ok;
    let typed = proof.code.unwrap_or_default().trim().to_string();
    let recovery_row = if password_ok && user.second_factor == "totp" && typed.len() > 8 {
        svc.matching_recovery_code(&typed, recovery).await?
    } else {
        None
    };
    let mail = svc.mail();
    let source = ip.to_string();
    let outcome = inst
        .db
        .write(
            move |tx| -> Result<Result<(), AccountError>, AccountError> {
                let u = users::by_id(tx, user.id)?.ok_or(AccountError::NotFound(user.username))?;
                let policy = read_policy(tx)?;
                let (factor_ok, method) = match u.second_factor.as_str() {
                    "totp" => {
                        if let Some(rowid) = recovery_row {
                            (
                                users::use_recovery_code(tx, rowid, &stamp(now))?,
                                "recovery_code",
                            )
                        } else {
                            let step = u.totp_secret.as_deref().and_then(|secret| {
                                totp::verify(secret, &typed, now.timestamp(), u.totp_last_step)
                            });
                            if let Some(step) = step.filter(|_| password_ok) {
                                users::set_totp_last_step(tx, u.id, step)?;
                            }
                            (step.is_some(), "totp")
                        }
                    }
                    "email" => (
                        srow.code_expires_at
                            .as_deref()
                            .is_some_and(|e| e > stamp(now).as_str())
                            && srow.code_attempts < 5
                            && srow.code_hash.as_deref().is_some_and(|h| {
                                codes::code_matches(srow.id_hash.as_bytes(), &typed, h)
                            }),
                        "email",
                    ),
                    _ => (true, "none"),
                };
                if password_ok && factor_ok {
                    store::set_reauth(tx, &srow.id_hash, &stamp(now))?;
                    return Ok(Ok(()));
                }
                count_failure(tx, &u, &policy, mail.as_ref(), &source, now)?;
                let (event, reason) = if password_ok {
                    store::count_code_attempt(tx, &srow.id_hash)?;
                    (Event::SecondFactorFailed, "wrong code (re-authentication)")
                } else {
                    (Event::LoginFailed, "wrong current password")
                };
                audit::write(
                    tx,
                    now,
                    Entry::new(event, actor_of(&u), u.username.clone(), source)
                        .failed()
                        .with(json!({ "reason": reason, "method": method })),
                )?;
                Ok(Err(if password_ok {
                    AccountError::Invalid {
                        field: "code",
                        message: crate::i18n::Sentence::new(
                            "account-invalid-code-wrong",
                            "the code of your second factor is wrong or has expired",
                        ),
                    }
                } else {
                    AccountError::WrongPassword
                }))
            },
        )
        .await?;
    match outcome {
        Ok(()) => {
            attempt.succeeded(now.timestamp_millis());
            Ok(())
        }
        Err(e) => {
            svc.wake_mail();
            Err(e)
        }
    }
}

/// For an account whose factor is e-mailed codes: sends a code bound to this session, to be
/// typed with the password in the change form.
pub async fn send_code(
    svc: &AuthServices,
    inst: &Instance,
    session: &SessionInfo,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let code = codes::new_email_code(6)?;
    let (uid, id_hash) = (session.user_id, session.id_hash.clone());
    let source = ip.to_string();
    let words = svc.words();
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let u = users::by_id(tx, uid)?.ok_or(AccountError::NotFound(format!("#{uid}")))?;
            if u.second_factor != "email" {
                return Err(AccountError::Invalid {
                    field: "code",
                    message: crate::i18n::Sentence::new(
                        "account-invalid-no-mailed-codes",
                        "your account does not use e-mailed codes",
                    ),
                });
            }
            let s =
                store::by_hash(tx, &id_hash)?.ok_or(AccountError::NotFound("session".into()))?;
            let fresh =
                stamp(now + Duration::minutes(CODE_MINUTES) - Duration::seconds(RESEND_SECONDS));
            if s.code_expires_at
                .as_deref()
                .is_some_and(|e| e > fresh.as_str())
            {
                return Err(AccountError::Invalid {
                    field: "code",
                    message: crate::i18n::Sentence::new(
                        "account-invalid-code-recent",
                        "a code was sent less than a minute ago; check your mail",
                    ),
                });
            }
            let hash = codes::hash_code(s.id_hash.as_bytes(), code.expose());
            store::set_code(
                tx,
                &s.id_hash,
                &hash,
                &stamp(now + Duration::minutes(CODE_MINUTES)),
            )?;
            let w = words.for_reader(tx, u.language.as_deref())?;
            let (subject, body) =
                super::notices::CodeMail::Confirm.write(&w, code.expose(), &source, CODE_MINUTES);
            crate::mail::enqueue(tx, &u.email, &subject, &body, now)?;
            audit::write(
                tx,
                now,
                Entry::new(Event::SecondFactorSent, actor_of(&u), u.username, source)
                    .with(json!({ "method": "email", "purpose": "re-authentication" })),
            )?;
            Ok(())
        })
        .await?;
    svc.wake_mail();
    Ok(())
}

/// Whether the session's holder re-authenticated within the last [`WINDOW_MINUTES`].
pub async fn recent(
    inst: &Instance,
    session: &SessionInfo,
    now: DateTime<Utc>,
) -> Result<bool, AccountError> {
    let id_hash = session.id_hash.clone();
    let row = inst
        .db
        .read(move |c| -> Result<_, AccountError> { Ok(store::by_hash(c, &id_hash)?) })
        .await?;
    let since = stamp(now - Duration::minutes(WINDOW_MINUTES));
    Ok(row.and_then(|r| r.reauth_at).is_some_and(|t| t > since))
}
