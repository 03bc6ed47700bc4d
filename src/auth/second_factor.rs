//! A user's own second-factor settings: e-mailed codes, authenticator app (TOTP) enrolment with
//! recovery codes, or none where the policy allows it.

use super::accounts::{AccountError, read_policy};
use super::policy::SecondFactorMode;
use super::services::AuthServices;
use super::totp;
use crate::audit::{self, By, Entry, Event};
use crate::crypto::Secret;
use crate::instances::Instance;
use crate::storage::users;
use serde_json::json;

pub struct Enrolment {
    pub secret_base32: Secret<String>,
    pub qr_svg: String,
}

/// Starts TOTP enrolment: a new secret waits until the user proves their app has it.
pub async fn start_totp(
    inst: &Instance,
    user_id: i64,
    account: String,
) -> Result<Enrolment, AccountError> {
    let secret = totp::new_secret()?;
    let b32 = totp::secret_base32(secret.expose());
    let issuer = inst.title().await?;
    let uri = totp::otpauth_uri(&format!("holdfast {issuer}"), &account, b32.expose());
    let qr_svg = totp::qr_svg(uri.expose())?;
    let stored = secret.expose().clone();
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

/// Confirms enrolment with a code from the app; returns ten recovery codes, shown once.
pub async fn confirm_totp(
    svc: &AuthServices,
    inst: &Instance,
    by: By,
    user_id: i64,
    code: String,
) -> Result<Vec<Secret<String>>, AccountError> {
    let pending = inst
        .db
        .read(move |c| -> Result<_, AccountError> {
            Ok(users::by_id(c, user_id)?.and_then(|u| u.totp_pending_secret))
        })
        .await?
        .ok_or(AccountError::Invalid {
            field: "code",
            message: "start the set-up again: no enrolment is waiting".into(),
        })?;
    let step = totp::verify(&pending, code.trim(), by.now.timestamp(), None).ok_or(
        AccountError::Invalid {
            field: "code",
            message:
                "that code does not match; check the time on your device and try the next code"
                    .into(),
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
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let u =
                users::by_id(tx, user_id)?.ok_or(AccountError::NotFound(format!("#{user_id}")))?;
            users::set_second_factor(tx, user_id, "totp", Some(&pending))?;
            users::set_totp_last_step(tx, user_id, step)?;
            users::replace_recovery_codes(tx, user_id, &hashes)?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::SecondFactorEnrolled, by.actor, u.username, by.source)
                    .with(json!({ "method": "totp", "recovery_codes": 10 })),
            )?;
            Ok(())
        })
        .await?;
    Ok(codes)
}

/// Switches to e-mailed codes, or to none where the policy allows.
pub async fn set_simple(
    inst: &Instance,
    by: By,
    user_id: i64,
    method: &'static str,
) -> Result<(), AccountError> {
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let policy = read_policy(tx)?;
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
                    message: format!(
                        "the instance policy ({}) does not allow this choice",
                        policy.second_factor().as_str()
                    ),
                });
            }
            let u =
                users::by_id(tx, user_id)?.ok_or(AccountError::NotFound(format!("#{user_id}")))?;
            users::set_second_factor(tx, user_id, method, None)?;
            users::replace_recovery_codes(tx, user_id, &[])?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::SecondFactorEnrolled, by.actor, u.username, by.source)
                    .with(json!({ "method": method })),
            )?;
            Ok(())
        })
        .await
}
