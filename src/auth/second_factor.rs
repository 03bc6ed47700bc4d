//! A user's own second-factor settings: e-mailed codes, authenticator app (TOTP) enrolment with
//! recovery codes, or none where the policy allows it. From a full session every change needs
//! the person's password and current factor again (`reauth`); during sign-in, enrolment is
//! reached only through the verified step (`enrolment`).

use super::accounts::{AccountError, read_policy};
use super::policy::SecondFactorMode;
use super::reauth::{self, Proof};
use super::services::AuthServices;
use super::signin::SessionInfo;
use super::totp;
use crate::audit::{self, By, Entry, Event};
use crate::crypto::Secret;
use crate::instances::Instance;
use crate::storage::{sessions, users};
use serde_json::json;

pub struct Enrolment {
    pub secret_base32: Secret<String>,
    pub qr_svg: String,
}

fn wrong_stage() -> AccountError {
    AccountError::Invalid {
        field: "stage",
        message: crate::i18n::Sentence::new(
            "account-invalid-finish-signin",
            "finish signing in first",
        ),
    }
}

/// Starts TOTP enrolment: a new secret waits until the user proves their app has it. In a full
/// session the person proves password and current factor first (`proof`); in the sign-in's
/// enrolment stage the verified step already did.
pub async fn start_totp(
    svc: &AuthServices,
    inst: &Instance,
    session: &SessionInfo,
    proof: Option<Proof>,
    by: &By,
) -> Result<Enrolment, AccountError> {
    match session.stage.as_str() {
        "totp_enrollment" => {}
        "active" => {
            let proof = proof.ok_or(AccountError::WrongPassword)?;
            reauth::prove_for(svc, inst, session, proof, by).await?;
        }
        _ => return Err(wrong_stage()),
    }
    let secret = totp::new_secret()?;
    let b32 = totp::secret_base32(secret.expose());
    let issuer = inst.title().await?;
    let uri = totp::otpauth_uri(
        &format!("holdfast {issuer}"),
        &session.username,
        b32.expose(),
    );
    let qr_svg = totp::qr_svg(uri.expose())?;
    let stored = secret.expose().clone();
    let user_id = session.user_id;
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            Ok(users::set_totp_pending(tx, user_id, Some(&stored))?)
        })
        .await?;
    Ok(Enrolment {
        secret_base32: b32,
        qr_svg,
    })
}

/// Confirms enrolment with a code from the app; returns ten recovery codes, shown once. In a full
/// session the enrolment must have been started (with re-authentication) in the last ten minutes.
pub async fn confirm_totp(
    svc: &AuthServices,
    inst: &Instance,
    session: &SessionInfo,
    by: By,
    code: String,
) -> Result<Vec<Secret<String>>, AccountError> {
    let during_signin = match session.stage.as_str() {
        "totp_enrollment" => true,
        "active" => {
            if !reauth::recent(inst, session, by.now).await? {
                return Err(AccountError::Invalid {
                    field: "code",
                    message: crate::i18n::Sentence::new(
                        "account-invalid-enrol-reauth",
                        "start the set-up again: confirming a new app needs your password again",
                    ),
                });
            }
            false
        }
        _ => return Err(wrong_stage()),
    };
    let user_id = session.user_id;
    let pending = inst
        .db
        .read(move |c| -> Result<_, AccountError> {
            Ok(users::by_id(c, user_id)?.and_then(|u| u.totp_pending_secret))
        })
        .await?
        .ok_or(AccountError::Invalid {
            field: "code",
            message: crate::i18n::Sentence::new(
                "account-invalid-enrol-none",
                "start the set-up again: no enrolment is waiting",
            ),
        })?;
    if code.chars().count() > super::signin::MAX_CODE_CHARS {
        return Err(AccountError::Invalid {
            field: "code",
            message: crate::i18n::Sentence::new(
                "account-invalid-code-long",
                "a code has at most 64 characters",
            ),
        });
    }
    let step = totp::verify(&pending, code.trim(), by.now.timestamp(), None).ok_or(
        AccountError::Invalid {
            field: "code",
            message: crate::i18n::Sentence::new(
                "account-invalid-code-mismatch",
                "that code does not match; check the time on your device and try the next code",
            ),
        },
    )?;
    let codes = totp::new_recovery_codes(10)?;
    let mut hashes = Vec::with_capacity(codes.len());
    for c in &codes {
        hashes.push(
            svc.hasher
                .hash(totp::normalise_recovery_code(c.expose()))
                .await?,
        );
    }
    let mail = svc.mail();
    let keep = session.id_hash.clone();
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let u =
                users::by_id(tx, user_id)?.ok_or(AccountError::NotFound(format!("#{user_id}")))?;
            users::set_second_factor(tx, user_id, "totp", Some(&pending))?;
            users::set_totp_last_step(tx, user_id, step)?;
            users::replace_recovery_codes(tx, user_id, &hashes)?;
            users::set_must_enrol(tx, user_id, false)?;
            let ended = if during_signin {
                0
            } else {
                sessions::revoke_all_for_user(
                    tx,
                    user_id,
                    Some(&keep),
                    &crate::clock::stamp(by.now),
                )?
            };
            audit::write(
                tx,
                by.now,
                factor_enrolled(&by, &u).with(json!({
                    "method": "totp",
                    "recovery_codes": 10,
                    "during_sign_in": during_signin,
                    "other_sessions_revoked": ended,
                })),
            )?;
            if let Some(m) = &mail {
                if during_signin {
                    super::notices::enrolled(tx, m, &u, &by.source, by.now)?;
                } else {
                    super::notices::factor_changed(tx, m, &u, &by, "totp")?;
                }
            }
            Ok(())
        })
        .await?;
    svc.wake_mail();
    Ok(codes)
}

/// Switches to e-mailed codes, or to none where the policy allows, after the person proved
/// password and current factor again; other sessions end and the person is told.
pub async fn set_simple(
    svc: &AuthServices,
    inst: &Instance,
    session: &SessionInfo,
    proof: Proof,
    by: By,
    method: &'static str,
) -> Result<(), AccountError> {
    if session.stage != "active" {
        return Err(wrong_stage());
    }
    let policy = inst.db.read(read_policy).await?;
    let allowed = match method {
        "none" => {
            policy.second_factor() != SecondFactorMode::Required
                && policy.second_factor() != SecondFactorMode::RequiredTotp
        }
        "email" => {
            policy.second_factor() != SecondFactorMode::RequiredTotp
                && policy.second_factor() != SecondFactorMode::Off
        }
        _ => false,
    };
    if !allowed {
        return Err(AccountError::Invalid {
            field: "method",
            message: crate::i18n::Sentence::new(
                "account-invalid-method",
                format!(
                    "the instance policy ({}) does not allow this choice",
                    policy.second_factor().as_str()
                ),
            ),
        });
    }
    reauth::prove_for(svc, inst, session, proof, &by).await?;
    let user_id = session.user_id;
    let keep = session.id_hash.clone();
    let mail = svc.mail();
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let u =
                users::by_id(tx, user_id)?.ok_or(AccountError::NotFound(format!("#{user_id}")))?;
            users::set_second_factor(tx, user_id, method, None)?;
            users::replace_recovery_codes(tx, user_id, &[])?;
            let ended = sessions::revoke_all_for_user(
                tx,
                user_id,
                Some(&keep),
                &crate::clock::stamp(by.now),
            )?;
            audit::write(
                tx,
                by.now,
                factor_enrolled(&by, &u).with(json!({
                    "method": method,
                    "previous": u.second_factor,
                    "other_sessions_revoked": ended,
                })),
            )?;
            if let Some(m) = &mail {
                super::notices::factor_changed(tx, m, &u, &by, method)?;
            }
            Ok(())
        })
        .await?;
    svc.wake_mail();
    Ok(())
}

/// The security-log entry of a second factor set up or changed; callers add what was chosen.
fn factor_enrolled(by: &By, u: &users::UserRow) -> Entry {
    Entry::new(
        Event::SecondFactorEnrolled,
        by.actor.clone(),
        u.username.clone(),
        by.source.clone(),
    )
}
