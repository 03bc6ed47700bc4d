//! The sign-in flow: password step (throttle, lockout, uniform rejection), second factor (e-mailed
//! code bound to the attempt, TOTP, recovery codes), forced password change, and session checks.

use super::accounts::{AccountError, read_policy};
use super::notices::CodeMail;
use super::policy::{Policy, SecondFactorMode};
use super::services::AuthServices;
pub use super::session_info::{Prior, SessionInfo};
use super::{AuthError, cidr, codes, totp};
use crate::access::Grants;
use crate::audit::{self, Actor, Entry, Event};
use crate::clock::stamp;
use crate::crypto::{self, Secret};
use crate::i18n::{Arg, MailWords};
use crate::instances::Instance;
use crate::storage::Transaction;
use crate::storage::sessions::{self as store, SessionRow};
use crate::storage::{StorageError, users};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::net::IpAddr;

/// How long a half-finished sign-in (waiting for a code or a new password) stays usable.
const PENDING_MINUTES: i64 = 10;
const CODE_MINUTES: i64 = 10;
/// Wrong codes a session may take before it ends.
pub(crate) const CODE_TRIES: i64 = 5;
/// `last_seen_at` is refreshed at most this often, so that reads do not each cost a write.
const TOUCH_SECONDS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong name, wrong password, locked, disabled, expired support account, wrong code: all alike.
    #[error("sign-in failed")]
    Rejected,
    #[error("too many failed sign-ins from this address; try again in {0} seconds")]
    Throttled(u64),
    /// The input cannot be a valid sign-in (too long): refused before any lookup or hashing.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
        /// The catalogue message pages show instead of `message`.
        key: &'static str,
    },
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Account(#[from] AccountError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    SecondFactor {
        methods: Vec<&'static str>,
    },
    /// A second factor is required but none can be used yet. Before an app may be enrolled, the
    /// person proves more than the password: an e-mailed enrolment code (`email`) or a one-time
    /// code an administrator issued (`enrolment_code`), so a phished password cannot bind the
    /// attacker's app.
    EnrolVerify {
        methods: Vec<&'static str>,
    },
    /// The verified step is done: enrol an authenticator app.
    TotpEnrollment,
    PasswordChange,
    SignedIn,
}

/// A session just created: the token goes into the cookie and is never stored.
pub struct Issued {
    pub token: Secret<String>,
    pub csrf: String,
    pub stage: Stage,
}

fn new_session_row(
    user_id: i64,
    stage: &str,
    now: DateTime<Utc>,
    lifetime: Duration,
    source: &str,
    user_agent: &str,
) -> Result<(Secret<String>, SessionRow), AuthError> {
    let token = crypto::random_token(32).map_err(|_| AuthError::Random)?;
    let csrf = crypto::random_token(24).map_err(|_| AuthError::Random)?;
    let row = SessionRow {
        id_hash: crypto::sha256_hex(token.expose().as_bytes()),
        user_id,
        stage: stage.into(),
        csrf_token: csrf.expose().clone(),
        created_at: stamp(now),
        last_seen_at: stamp(now),
        absolute_expires_at: stamp(now + lifetime),
        source: source.into(),
        code_hash: None,
        code_expires_at: None,
        code_attempts: 0,
        revoked_at: None,
        last_source: source.into(),
        user_agent: audit::cut(user_agent, MAX_USER_AGENT_CHARS),
        prior_signin_at: None,
        prior_signin_source: None,
        failures_since: 0,
        reauth_at: None,
    };
    Ok((token, row))
}

/// A browser's User-Agent is kept only this long.
pub const MAX_USER_AGENT_CHARS: usize = 200;

/// Makes the session row for `stage` (a full session lives for the policy's absolute limit, a
/// half-finished one for ten minutes).
pub(crate) fn new_session(
    policy: &Policy,
    user_id: i64,
    stage: &Stage,
    now: DateTime<Utc>,
    source: &str,
    user_agent: &str,
) -> Result<(Secret<String>, SessionRow), AuthError> {
    let lifetime = if *stage == Stage::SignedIn {
        Duration::hours(policy.session_absolute_hours() as i64)
    } else {
        Duration::minutes(PENDING_MINUTES)
    };
    new_session_row(user_id, stage.stored(), now, lifetime, source, user_agent)
}

impl Stage {
    /// The `sessions.stage` value of this stage.
    pub fn stored(&self) -> &'static str {
        match self {
            Stage::SecondFactor { .. } => "second_factor",
            Stage::EnrolVerify { .. } => "enrol_verify",
            Stage::TotpEnrollment => "totp_enrollment",
            Stage::PasswordChange => "password_change",
            Stage::SignedIn => "active",
        }
    }
}

/// The bookkeeping of a completed sign-in, in its transaction: failures reset, time and address
/// recorded, the person told by mail when the address is new to them, the event logged. Returns
/// what the new session shows the person.
pub(crate) fn complete(
    tx: &Transaction,
    u: &users::UserRow,
    source: &str,
    now: DateTime<Utc>,
    mail: Option<&MailWords>,
    details: serde_json::Value,
) -> Result<Prior, StorageError> {
    let prior = Prior {
        at: u.last_signin_at.clone(),
        source: u.last_signin_source.clone(),
        failures: u.failed_attempts,
    };
    let had_signed_in = users::has_signed_in(tx, u.id)?;
    users::set_failed_attempts(tx, u.id, 0, None)?;
    let new_address = users::record_signin(tx, u.id, source, &stamp(now))?;
    let mut details = details;
    if let serde_json::Value::Object(map) = &mut details {
        map.insert("new_address".into(), json!(new_address && had_signed_in));
    }
    audit::write(
        tx,
        now,
        Entry::new(
            Event::LoginSucceeded,
            actor_of(u),
            u.username.clone(),
            source,
        )
        .with(details),
    )?;
    if new_address
        && had_signed_in
        && let Some(m) = mail
    {
        super::notices::new_address(tx, m, u, source, now)?;
    }
    Ok(prior)
}

fn with_prior(mut row: SessionRow, prior: &Prior) -> SessionRow {
    row.prior_signin_at = prior.at.clone();
    row.prior_signin_source = prior.source.clone();
    row.failures_since = prior.failures;
    row
}

fn temporary_expired(policy: &Policy, u: &users::UserRow, now: DateTime<Utc>) -> bool {
    if !u.must_change_password {
        return false;
    }
    DateTime::parse_from_rfc3339(&u.password_changed_at)
        .map(|t| {
            t.with_timezone(&Utc) + Duration::hours(policy.temporary_password_hours() as i64) <= now
        })
        .unwrap_or(true)
}

fn password_expired(policy: &Policy, u: &users::UserRow, now: DateTime<Utc>) -> bool {
    if policy.password_max_age_days() == 0 {
        return false;
    }
    DateTime::parse_from_rfc3339(&u.password_changed_at)
        .map(|t| {
            t.with_timezone(&Utc) + Duration::days(policy.password_max_age_days() as i64) <= now
        })
        .unwrap_or(true)
}

/// Whether this user must pass a second factor at sign-in.
fn needs_second_factor(policy: &Policy, u: &users::UserRow) -> bool {
    u.support_expires_at.is_some()
        || u.must_enrol
        || matches!(
            policy.second_factor(),
            SecondFactorMode::Required | SecondFactorMode::RequiredTotp
        )
        || (policy.second_factor() == SecondFactorMode::Optional && u.second_factor != "none")
}

/// The factors this user can use now. Empty while one is needed means: enrol an app first
/// (fail closed: a required factor is never skipped because mail is not configured).
fn methods_for(policy: &Policy, u: &users::UserRow, mail_enabled: bool) -> Vec<&'static str> {
    if u.must_enrol {
        return vec![];
    }
    if u.second_factor == "totp" && u.totp_secret.is_some() {
        return vec!["totp", "recovery_code"];
    }
    if policy.second_factor() != SecondFactorMode::RequiredTotp && mail_enabled {
        return vec!["email"];
    }
    vec![]
}

/// The stage after the password and any second factor: a forced password change, or signed in.
pub(crate) fn after_factor(policy: &Policy, u: &users::UserRow, now: DateTime<Utc>) -> Stage {
    if u.must_change_password || password_expired(policy, u, now) {
        Stage::PasswordChange
    } else {
        Stage::SignedIn
    }
}

/// How a person without a usable factor proves more than the password before enrolling one.
fn enrol_methods(u: &users::UserRow, mail_enabled: bool) -> Vec<&'static str> {
    let mut m = Vec::new();
    if mail_enabled && !u.email.is_empty() {
        m.push("email");
    }
    m.push("enrolment_code");
    m
}

/// The stage right after a correct password.
fn after_password(
    policy: &Policy,
    u: &users::UserRow,
    now: DateTime<Utc>,
    mail_enabled: bool,
) -> Stage {
    if !needs_second_factor(policy, u) {
        return after_factor(policy, u, now);
    }
    let methods = methods_for(policy, u, mail_enabled);
    if methods.is_empty() {
        Stage::EnrolVerify {
            methods: enrol_methods(u, mail_enabled),
        }
    } else {
        Stage::SecondFactor { methods }
    }
}

fn support_usable(
    u: &users::UserRow,
    source: IpAddr,
    now: DateTime<Utc>,
) -> Result<(), &'static str> {
    let Some(expires) = &u.support_expires_at else {
        return Ok(());
    };
    if *expires <= stamp(now) {
        return Err("support account expired");
    }
    if !cidr::any_contains(u.support_networks.as_deref().unwrap_or(""), source) {
        return Err("support account used from outside its networks");
    }
    Ok(())
}

fn actor_of(u: &users::UserRow) -> Actor {
    Actor::User {
        name: u.username.clone(),
        support: u.support_expires_at.is_some(),
    }
}

/// Counts one failure for the user; locks the account at the threshold and tells the admins.
/// A wrong code for a session that waits for one: counts it against the session and the account,
/// ends the session after the last try or when the account locks, and logs the failure with
/// `detail` and the attempt number.
pub(crate) fn wrong_code(
    tx: &Transaction,
    s: &store::SessionRow,
    u: &users::UserRow,
    (policy, mail): (&Policy, Option<&MailWords>),
    source: &str,
    now: DateTime<Utc>,
    mut detail: serde_json::Value,
) -> Result<(), StorageError> {
    store::count_code_attempt(tx, &s.id_hash)?;
    let locked = count_failure(tx, u, policy, mail, source, now)?;
    if s.code_attempts + 1 >= CODE_TRIES || locked {
        store::revoke(tx, &s.id_hash, &stamp(now))?;
    }
    detail["attempt"] = json!(s.code_attempts + 1);
    audit::write(
        tx,
        now,
        Entry::new(
            Event::SecondFactorFailed,
            actor_of(u),
            u.username.clone(),
            source,
        )
        .failed()
        .with(detail),
    )?;
    Ok(())
}

pub(crate) fn count_failure(
    tx: &Transaction,
    u: &users::UserRow,
    policy: &Policy,
    mail: Option<&MailWords>,
    source: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let attempts = u.failed_attempts + 1;
    let lock = u.locked_at.is_none() && attempts >= policy.lockout_threshold() as i64;
    users::set_failed_attempts(tx, u.id, attempts, lock.then(|| stamp(now)).as_deref())?;
    if lock {
        store::revoke_all_for_user(tx, u.id, None, &stamp(now))?;
        audit::write(
            tx,
            now,
            Entry::new(
                Event::AccountLocked,
                Actor::System,
                u.username.clone(),
                source,
            )
            .with(json!({ "failed_attempts": attempts })),
        )?;
        if let Some(m) = mail {
            crate::mail::notify_admins_in(tx, m, now, |w| {
                let name = || Arg::from(u.username.as_str());
                (
                    w.with("mail-locked-subject", &[("username", name())]),
                    format!(
                        "{}\n\n{}",
                        w.with(
                            "mail-locked-body",
                            &[
                                ("username", name()),
                                ("at", w.when(now).into()),
                                ("attempts", attempts.into()),
                                ("source", source.into()),
                            ],
                        ),
                        w.with("mail-locked-advice", &[("username", name())])
                    ),
                )
            })?;
        }
    }
    Ok(lock)
}

/// The end of a throttled step: a success gives the address its token back; a refusal wakes the
/// mail sender (the failure may have queued a notice) and tells the caller no more than "rejected".
pub(super) fn settle_attempt<E>(
    svc: &AuthServices,
    attempt: super::throttle::Attempt<'_>,
    outcome: Result<Issued, E>,
    now: DateTime<Utc>,
) -> Result<Issued, SignInError> {
    match outcome {
        Ok(issued) => {
            attempt.succeeded(now.timestamp_millis());
            Ok(issued)
        }
        Err(_) => {
            svc.wake_mail();
            Err(SignInError::Rejected)
        }
    }
}

fn begin_attempt<'a>(
    svc: &'a AuthServices,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<super::throttle::Attempt<'a>, SignInError> {
    svc.begin_attempt(ip, now)
        .map_err(|r| SignInError::Throttled(r.retry_after_secs()))
}

/// The longest user name there can be (`accounts::validate_username`).
pub const MAX_USERNAME_CHARS: usize = 64;
/// A code (e-mailed, app or recovery) is never longer than this.
pub const MAX_CODE_CHARS: usize = 64;

/// Refuses what cannot be a sign-in before any lookup, hashing or logging, so that oversized input
/// costs nothing and never reaches the security log.
fn shape_check(username: &str, password: &str) -> Result<(), SignInError> {
    if username.chars().count() > MAX_USERNAME_CHARS {
        return Err(SignInError::Invalid {
            field: "username",
            message: "a user name has at most 64 characters",
            key: "signin-invalid-username-long",
        });
    }
    if password.chars().count() > super::policy::MAX_PASSWORD_CHARS as usize {
        return Err(SignInError::Invalid {
            field: "password",
            message: "a password has at most 256 characters",
            key: "signin-invalid-password-long",
        });
    }
    Ok(())
}

/// Step one: name and password. Every rejection looks the same to the caller.
pub async fn password_step(
    svc: &AuthServices,
    inst: &Instance,
    username: String,
    password: Secret<String>,
    ip: IpAddr,
    user_agent: &str,
    now: DateTime<Utc>,
) -> Result<Issued, SignInError> {
    let result = password_step_inner(svc, inst, username, password, ip, user_agent, now).await;
    note_outcome(svc, inst, "password", ip, &result);
    result
}

/// Counts a finished step, and writes one log line per refused one: the client address, the step
/// and the instance, never what the person typed (a password typed into the name field would
/// otherwise land in the journal). fail2ban's filter (`packaging/fail2ban/`) reads this line, so
/// its shape is fixed: `sign-in refused: address=<ip> step=<step> reason=<rejected|throttled>
/// instance=<name>`.
fn note_outcome(
    svc: &AuthServices,
    inst: &Instance,
    step: &'static str,
    ip: IpAddr,
    result: &Result<Issued, SignInError>,
) {
    let outcome = match result {
        Ok(_) => "accepted",
        Err(SignInError::Rejected) => "rejected",
        Err(SignInError::Throttled(_)) => "throttled",
        Err(SignInError::Invalid { .. }) => "invalid",
        Err(_) => "error",
    };
    svc.counts.record(step, outcome);
    if matches!(outcome, "rejected" | "throttled") {
        tracing::warn!(
            "sign-in refused: address={ip} step={step} reason={outcome} instance={}",
            inst.name
        );
    }
}

async fn password_step_inner(
    svc: &AuthServices,
    inst: &Instance,
    username: String,
    password: Secret<String>,
    ip: IpAddr,
    user_agent: &str,
    now: DateTime<Utc>,
) -> Result<Issued, SignInError> {
    shape_check(&username, password.expose())?;
    let attempt = begin_attempt(svc, ip, now)?;
    let source = ip.to_string();
    let lookup = username.clone();
    let user = inst.db.read(move |c| users::by_name(c, &lookup)).await?;
    let Some(user) = user else {
        svc.hasher.verify_dummy(password).await?;
        let src = source.clone();
        inst.db
            .write(move |tx| {
                audit::write(
                    tx,
                    now,
                    Entry::new(Event::LoginFailed, Actor::Anonymous, username, src)
                        .failed()
                        .with(json!({ "reason": "unknown user" })),
                )
            })
            .await?;
        return Err(SignInError::Rejected);
    };
    let verified = svc
        .hasher
        .verify(password.clone(), &user.password_hash)
        .await?;
    let upgraded = if verified.ok && verified.needs_rehash {
        Some(svc.hasher.hash(password).await?)
    } else {
        None
    };
    let mail = svc.mail();
    let words = svc.words();
    let code = codes::new_email_code(6)?;
    let user_agent = user_agent.to_string();
    let outcome = inst
        .db
        .write(move |tx| -> Result<Result<Issued, &'static str>, SignInError> {
            let u = users::by_name(tx, &user.username)?.ok_or(SignInError::Rejected)?;
            let policy = read_policy(tx)?;
            let refusal = if u.disabled_at.is_some() {
                Some("account disabled")
            } else if u.locked_at.is_some() {
                Some("account locked")
            } else if let Err(why) = support_usable(&u, ip, now) {
                Some(why)
            } else if !verified.ok {
                Some("wrong password")
            } else if temporary_expired(&policy, &u, now) {
                Some("temporary password expired")
            } else {
                None
            };
            if let Some(reason) = refusal {
                if reason == "wrong password" {
                    count_failure(tx, &u, &policy, mail.as_ref(), &source, now)?;
                }
                audit::write(
                    tx,
                    now,
                    Entry::new(Event::LoginFailed, actor_of(&u), u.username.clone(), source.clone())
                        .failed()
                        .with(json!({ "reason": reason })),
                )?;
                return Ok(Err(reason));
            }
            if let Some(hash) = &upgraded {
                users::rehash(tx, u.id, hash)?;
            }
            let stage = after_password(&policy, &u, now, mail.is_some());
            let (token, mut row) = new_session(&policy, u.id, &stage, now, &source, &user_agent)?;
            let email_code = match &stage {
                Stage::SecondFactor { methods } | Stage::EnrolVerify { methods } => {
                    methods.first() == Some(&"email")
                }
                _ => false,
            };
            if stage == Stage::SignedIn {
                let prior = complete(tx, &u, &source, now, mail.as_ref(), json!({}))?;
                row = with_prior(row, &prior);
            }
            store::insert(tx, &row)?;
            if email_code {
                let enrolment = matches!(stage, Stage::EnrolVerify { .. });
                let hash = codes::hash_code(row.id_hash.as_bytes(), code.expose());
                store::set_code(tx, &row.id_hash, &hash, &stamp(now + Duration::minutes(CODE_MINUTES)))?;
                let w = words.for_reader(tx, u.language.as_deref())?;
                let kind = if enrolment { CodeMail::SetUp } else { CodeMail::SignIn };
                let (subject, body) = kind.write(&w, code.expose(), &source, CODE_MINUTES);
                crate::mail::enqueue(tx, &u.email, &subject, &body, now)?;
                audit::write(
                    tx,
                    now,
                    Entry::new(Event::SecondFactorSent, actor_of(&u), u.username.clone(), source.clone())
                        .with(json!({ "method": "email", "purpose": if enrolment { "enrolment" } else { "sign_in" } })),
                )?;
            }
            Ok(Ok(Issued {
                token,
                csrf: row.csrf_token,
                stage,
            }))
        })
        .await?;
    let settled = settle_attempt(svc, attempt, outcome, now);
    if settled.is_ok() {
        // The code mail is queued: send it now.
        svc.wake_mail();
    }
    settled
}

/// Step two: the code. Success replaces the pending session with a new one (new id).
/// The half-finished sign-in behind a cookie token, with its user, if it is at `stage`, not
/// revoked and not expired; anything else is the uniform rejection.
pub(super) async fn pending_session(
    inst: &Instance,
    token: &str,
    stage: &'static str,
    now: DateTime<Utc>,
) -> Result<(String, SessionRow, users::UserRow), SignInError> {
    let id_hash = crypto::sha256_hex(token.as_bytes());
    let lookup = id_hash.clone();
    let (session, user) = inst
        .db
        .read(move |c| -> Result<_, SignInError> {
            let s = store::by_hash(c, &lookup)?.ok_or(SignInError::Rejected)?;
            let u = users::by_id(c, s.user_id)?.ok_or(SignInError::Rejected)?;
            Ok((s, u))
        })
        .await?;
    if session.stage != stage
        || session.revoked_at.is_some()
        || session.absolute_expires_at <= stamp(now)
    {
        return Err(SignInError::Rejected);
    }
    Ok((id_hash, session, user))
}

pub async fn second_factor_step(
    svc: &AuthServices,
    inst: &Instance,
    token: &str,
    code: String,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<Issued, SignInError> {
    let result = second_factor_step_inner(svc, inst, token, code, ip, now).await;
    note_outcome(svc, inst, "second_factor", ip, &result);
    result
}

async fn second_factor_step_inner(
    svc: &AuthServices,
    inst: &Instance,
    token: &str,
    code: String,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<Issued, SignInError> {
    if code.chars().count() > MAX_CODE_CHARS {
        return Err(SignInError::Invalid {
            field: "code",
            message: "a code has at most 64 characters",
            key: "account-invalid-code-long",
        });
    }
    let attempt = begin_attempt(svc, ip, now)?;
    let (id_hash, _session, user) = pending_session(inst, token, "second_factor", now).await?;
    let typed = code.trim().to_string();
    // Recovery codes are checked with Argon2 (they are long-lived secrets); only when TOTP is set up.
    let recovery_row = if user.second_factor == "totp" && typed.len() > 8 {
        let uid = user.id;
        let stored = inst
            .db
            .read(move |c| users::unused_recovery_codes(c, uid))
            .await?;
        svc.matching_recovery_code(&typed, stored).await?
    } else {
        None
    };
    let mail = svc.mail();
    let source = ip.to_string();
    let outcome = inst
        .db
        .write(move |tx| -> Result<Result<Issued, ()>, SignInError> {
            let s = store::by_hash(tx, &id_hash)?.ok_or(SignInError::Rejected)?;
            let u = users::by_id(tx, s.user_id)?.ok_or(SignInError::Rejected)?;
            let policy = read_policy(tx)?;
            if u.locked_at.is_some()
                || u.disabled_at.is_some()
                || support_usable(&u, ip, now).is_err()
            {
                return Ok(Err(()));
            }
            let mut method = "email";
            let ok = if let Some(rowid) = recovery_row {
                method = "recovery_code";
                users::use_recovery_code(tx, rowid, &stamp(now))?
            } else if u.second_factor == "totp" {
                method = "totp";
                match u.totp_secret.as_deref().and_then(|secret| {
                    totp::verify(secret, &typed, now.timestamp(), u.totp_last_step)
                }) {
                    Some(step) => {
                        users::set_totp_last_step(tx, u.id, step)?;
                        true
                    }
                    None => false,
                }
            } else {
                s.code_attempts < CODE_TRIES
                    && s.code_expires_at
                        .as_deref()
                        .is_some_and(|e| e > stamp(now).as_str())
                    && s.code_hash
                        .as_deref()
                        .is_some_and(|h| codes::code_matches(s.id_hash.as_bytes(), &typed, h))
            };
            if !ok {
                wrong_code(
                    tx,
                    &s,
                    &u,
                    (&policy, mail.as_ref()),
                    &source,
                    now,
                    json!({ "method": method }),
                )?;
                return Ok(Err(()));
            }
            store::revoke(tx, &s.id_hash, &stamp(now))?;
            let stage = after_factor(&policy, &u, now);
            let (token, mut row) = new_session(&policy, u.id, &stage, now, &source, &s.user_agent)?;
            if method == "recovery_code" {
                audit::write(
                    tx,
                    now,
                    Entry::new(
                        Event::RecoveryCodeUsed,
                        actor_of(&u),
                        u.username.clone(),
                        source.clone(),
                    ),
                )?;
            }
            if stage == Stage::SignedIn {
                let prior = complete(
                    tx,
                    &u,
                    &source,
                    now,
                    mail.as_ref(),
                    json!({ "second_factor": method }),
                )?;
                row = with_prior(row, &prior);
            }
            store::insert(tx, &row)?;
            Ok(Ok(Issued {
                token,
                csrf: row.csrf_token,
                stage,
            }))
        })
        .await?;
    settle_attempt(svc, attempt, outcome, now)
}

/// Whether a session may still be used: not revoked, idle or expired, and its user neither
/// disabled, locked, nor an expired support account.
fn alive(
    s: &SessionRow,
    u: &users::UserRow,
    policy: &Policy,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> bool {
    let idle_limit = stamp(now - Duration::minutes(policy.session_idle_minutes() as i64));
    s.revoked_at.is_none()
        && s.absolute_expires_at > stamp(now)
        && s.last_seen_at > idle_limit
        && u.disabled_at.is_none()
        && u.locked_at.is_none()
        && support_usable(u, ip, now).is_ok()
}

/// The language the person behind a cookie token picked, when the session may still be used
/// (as [`authenticate`] decides). Only reads: a page written for an error must not keep an idle
/// session awake.
pub async fn language_of(
    inst: &Instance,
    token: &str,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<Option<crate::i18n::Locale>, StorageError> {
    let id_hash = crypto::sha256_hex(token.as_bytes());
    inst.db
        .read(move |c| -> Result<_, StorageError> {
            let Some(s) = store::by_hash(c, &id_hash)? else {
                return Ok(None);
            };
            let Some(u) = users::by_id(c, s.user_id)? else {
                return Ok(None);
            };
            let Ok(policy) = read_policy(c) else {
                return Ok(None);
            };
            Ok(alive(&s, &u, &policy, ip, now)
                .then(|| u.language.as_deref().and_then(crate::i18n::Locale::parse))
                .flatten())
        })
        .await
}

/// Looks up the session behind a cookie token; `None` when unknown, revoked, idle or expired, or
/// when its user is disabled, locked, or an expired support account.
pub async fn authenticate(
    inst: &Instance,
    token: &str,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<Option<SessionInfo>, StorageError> {
    let id_hash = crypto::sha256_hex(token.as_bytes());
    let found = inst
        .db
        .lookup(move |c| -> Result<_, StorageError> {
            let Some(s) = store::by_hash(c, &id_hash)? else {
                return Ok(None);
            };
            let Some(u) = users::by_id(c, s.user_id)? else {
                return Ok(None);
            };
            let policy = read_policy(c).map_err(|e| StorageError::Open {
                path: "policy".into(),
                reason: e.to_string(),
            })?;
            let perms = users::permissions(c, u.id)?;
            Ok(Some((s, u, policy, perms)))
        })
        .await?;
    let Some((s, u, policy, perms)) = found else {
        return Ok(None);
    };
    if !alive(&s, &u, &policy, ip, now) {
        return Ok(None);
    }
    let now_s = stamp(now);
    let stale = DateTime::parse_from_rfc3339(&s.last_seen_at)
        .map(|t| now - t.with_timezone(&Utc) > Duration::seconds(TOUCH_SECONDS))
        .unwrap_or(true);
    let source = ip.to_string();
    if stale || s.last_source != source {
        let h = s.id_hash.clone();
        inst.db
            .write(move |tx| store::touch(tx, &h, &now_s, &source))
            .await?;
    }
    Ok(Some(SessionInfo {
        id_hash: s.id_hash,
        user_id: u.id,
        support: u.support_expires_at.is_some(),
        username: u.username,
        email: u.email,
        stage: s.stage,
        csrf: s.csrf_token,
        grants: Grants::from_strings(&perms),
        second_factor: u.second_factor,
        token_service: None,
        language: u.language.as_deref().and_then(crate::i18n::Locale::parse),
        prior: Prior {
            at: s.prior_signin_at,
            source: s.prior_signin_source,
            failures: s.failures_since,
        },
    }))
}

/// After a forced password change or an app enrolment: the pending session is replaced (new id) by
/// the next stage, which is a full session unless a password change is still due.
pub async fn advance(
    svc: &AuthServices,
    inst: &Instance,
    session: &SessionInfo,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<Issued, SignInError> {
    let s = session.clone();
    let source = ip.to_string();
    let mail = svc.mail();
    let issued = inst
        .db
        .write(move |tx| -> Result<Issued, SignInError> {
            let policy = read_policy(tx)?;
            let u = users::by_id(tx, s.user_id)?.ok_or(SignInError::Rejected)?;
            let old = store::by_hash(tx, &s.id_hash)?.ok_or(SignInError::Rejected)?;
            store::revoke(tx, &s.id_hash, &stamp(now))?;
            let stage = after_factor(&policy, &u, now);
            let (token, mut row) =
                new_session(&policy, s.user_id, &stage, now, &source, &old.user_agent)?;
            if stage == Stage::SignedIn {
                let prior = complete(
                    tx,
                    &u,
                    &source,
                    now,
                    mail.as_ref(),
                    json!({ "after": s.stage }),
                )?;
                row = with_prior(row, &prior);
            }
            store::insert(tx, &row)?;
            Ok(Issued {
                token,
                csrf: row.csrf_token,
                stage,
            })
        })
        .await?;
    svc.wake_mail();
    Ok(issued)
}

/// Signs out: revokes this session.
/// After a successful password step: the session the browser still presented (an earlier sign-in
/// on the same device, finished or not) ends, so one browser never holds two live sessions and a
/// planted cookie is worthless once its victim signs in (ASVS V7.2.4).
pub async fn end_presented(
    inst: &Instance,
    token: &str,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    if token.is_empty() {
        return Ok(());
    }
    let id_hash = crypto::sha256_hex(token.as_bytes());
    inst.db
        .write(move |tx| {
            let Some(s) = store::by_hash(tx, &id_hash)? else {
                return Ok(());
            };
            if s.revoked_at.is_some() {
                return Ok(());
            }
            let Some(u) = users::by_id(tx, s.user_id)? else {
                return Ok(());
            };
            store::revoke(tx, &id_hash, &stamp(now))?;
            audit::write(
                tx,
                now,
                Entry::new(Event::SignedOut, actor_of(&u), u.username, ip.to_string())
                    .with(json!({ "reason": "replaced by a new sign-in" })),
            )?;
            Ok(())
        })
        .await
}

pub async fn sign_out(
    inst: &Instance,
    session: &SessionInfo,
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let s = session.clone();
    inst.db
        .write(move |tx| {
            store::revoke(tx, &s.id_hash, &stamp(now))?;
            audit::write(
                tx,
                now,
                Entry::new(
                    Event::SignedOut,
                    s.actor(),
                    s.username.clone(),
                    ip.to_string(),
                ),
            )?;
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{add_user, instance, services};

    fn login_failures(inst: &Instance) -> Vec<String> {
        inst.db
            .read_blocking(|c| {
                audit::query(
                    c,
                    &audit::Filter {
                        events: vec!["login_failed".into()],
                        limit: 100,
                        ..Default::default()
                    },
                )
            })
            .unwrap()
            .into_iter()
            .map(|r| r.details)
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_temporary_password_stops_working_after_the_policy_hours() {
        let (_dir, inst) = instance().await;
        let svc = services();
        let t0 = crate::clock::Clock::now(&crate::clock::SystemClock);
        let temp = add_user(&svc, &inst, "tia", &["users"], None, t0)
            .await
            .expect("a temporary password");
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        let at = |hours| t0 + Duration::hours(hours);
        // Within the default 72 hours it still leads to the forced change.
        let issued = password_step(
            &svc,
            &inst,
            "tia".into(),
            Secret::new(temp.clone()),
            ip,
            "",
            at(71),
        )
        .await
        .unwrap();
        assert_eq!(issued.stage, Stage::PasswordChange);
        // After them it is refused like any wrong password, and the log says why.
        let refused = password_step(
            &svc,
            &inst,
            "tia".into(),
            Secret::new(temp.clone()),
            ip,
            "",
            at(73),
        )
        .await;
        assert!(
            matches!(refused, Err(SignInError::Rejected)),
            "{:?}",
            refused.as_ref().err()
        );
        let failures = login_failures(&inst);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(
            failures[0].contains("temporary password expired"),
            "{failures:?}"
        );
        // A shorter policy applies to passwords already handed out.
        crate::auth::accounts::set_policy(
            &inst,
            crate::audit::By {
                actor: Actor::Console,
                source: "console".into(),
                now: t0,
            },
            "temporary_password_hours".into(),
            "1".into(),
        )
        .await
        .unwrap();
        let refused =
            password_step(&svc, &inst, "tia".into(), Secret::new(temp), ip, "", at(2)).await;
        assert!(
            matches!(refused, Err(SignInError::Rejected)),
            "{:?}",
            refused.as_ref().err()
        );
    }
}
