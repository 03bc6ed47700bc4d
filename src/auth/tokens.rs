//! API tokens for connected services: creation (shown once, stored hashed), expiry, revocation,
//! and authentication of a bearer token; the scopes themselves are `access::parse_scopes`.

use super::accounts::{AccountError, read_policy};
use super::cidr;
use crate::access::{Grants, parse_scopes};
use crate::audit::{self, By, Entry, Event};
use crate::clock::stamp;
use crate::crypto::{self, Secret};
use crate::instances::Instance;
use crate::storage::{StorageError, tokens};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

pub use crate::storage::tokens::TokenRow;

pub const TOKEN_PREFIX: &str = "hft_";

pub struct NewToken {
    pub id: i64,
    pub token: Secret<String>,
}

/// What an administrator asks for when making a token.
pub struct TokenRequest {
    pub service: String,
    pub scopes: String,
    /// Days until it expires; `None` means the longest the policy allows.
    pub expires_days: Option<u32>,
    /// Networks it may be used from (empty: anywhere).
    pub networks: Vec<String>,
    /// The person it acts for (`None`: the console's operator). A token of an owner who is later
    /// disabled or locked stops working.
    pub owner_user_id: Option<i64>,
}

pub async fn create(inst: &Instance, by: By, req: TokenRequest) -> Result<NewToken, AccountError> {
    let service = req.service.trim().to_string();
    if service.is_empty() || service.chars().count() > 80 || service.chars().any(|c| c.is_control())
    {
        return Err(AccountError::Invalid {
            field: "service",
            message: crate::i18n::Sentence::new(
                "account-invalid-service",
                "name the service in 1–80 characters",
            ),
        });
    }
    let perms = parse_scopes(&req.scopes).map_err(|m| AccountError::Invalid {
        field: "scopes",
        message: crate::i18n::Sentence::new("account-invalid-scopes", m)
            .arg("scopes", req.scopes.as_str()),
    })?;
    let stored = perms
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut networks = Vec::new();
    for n in req
        .networks
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
    {
        cidr::parse(n).map_err(|m| AccountError::Invalid {
            field: "networks",
            message: crate::i18n::Sentence::new("account-invalid-network", m).arg("value", n),
        })?;
        networks.push(n.to_string());
    }
    let networks = (!networks.is_empty()).then(|| networks.join(","));
    let raw = crypto::random_token(32).map_err(|_| super::AuthError::Random)?;
    let token = Secret::new(format!("{TOKEN_PREFIX}{}", raw.expose()));
    let hash = crypto::sha256_hex(token.expose().as_bytes());
    let id = inst
        .db
        .write(move |tx| -> Result<i64, AccountError> {
            let policy = read_policy(tx)?;
            let max = policy.token_max_days();
            let days = req.expires_days.unwrap_or(max);
            if days == 0 || days > max {
                return Err(AccountError::Invalid {
                    field: "expires_days",
                    message: crate::i18n::Sentence::new(
                        "account-invalid-token-days",
                        format!(
                            "a token lives 1 to {max} days (policy token_max_days); asked for {days}"
                        ),
                    )
                    .arg("max", max)
                    .arg("days", days),
                });
            }
            let expires = stamp(by.now + Duration::days(days as i64));
            let id = tokens::insert(
                tx,
                &tokens::NewToken {
                    service: &service,
                    token_hash: &hash,
                    scopes: &stored,
                    created_by: &by.actor.name(),
                    now: &stamp(by.now),
                    expires_at: Some(&expires),
                    owner_user_id: req.owner_user_id,
                    networks: networks.as_deref(),
                },
            )?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::TokenCreated, by.actor, service.clone(), by.source).with(json!({
                    "token_id": id,
                    "scopes": stored,
                    "expires_at": expires,
                    "networks": networks,
                    "owner_user_id": req.owner_user_id,
                })),
            )?;
            Ok(id)
        })
        .await?;
    Ok(NewToken { id, token })
}

pub async fn revoke(inst: &Instance, by: By, id: i64) -> Result<(), AccountError> {
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            let service = tokens::revoke(tx, id, &stamp(by.now))?
                .ok_or_else(|| AccountError::NotFound(format!("token #{id}")))?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::TokenRevoked, by.actor, service, by.source)
                    .with(json!({ "token_id": id })),
            )?;
            Ok(())
        })
        .await
}

/// A token that authenticated a request.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    pub id: i64,
    pub service: String,
    pub grants: Grants,
}

/// Checks a bearer token; `None` when unknown, revoked or expired. Use is recorded in the security
/// log at most once a minute per token (every change it makes is logged on its own).
pub async fn authenticate(
    inst: &Instance,
    token: &str,
    source: String,
    now: DateTime<Utc>,
) -> Result<Option<TokenAuth>, StorageError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let hash = crypto::sha256_hex(token.as_bytes());
    let Some(row) = inst.db.lookup(move |c| tokens::by_hash(c, &hash)).await? else {
        return Ok(None);
    };
    let now_s = stamp(now);
    if row.revoked_at.is_some()
        || row.expires_at.as_ref().is_some_and(|e| *e <= now_s)
        || row.owner_blocked
    {
        return Ok(None);
    }
    if let Some(nets) = &row.networks {
        let ip: Option<std::net::IpAddr> = source.parse().ok();
        if !ip.is_some_and(|ip| cidr::any_contains(nets, ip)) {
            return Ok(None);
        }
    }
    // last_used_at is refreshed at most once a minute so that reads stay cheap; a use from
    // another address than the last one is always recorded, so the watch sees every new address.
    let stale = row.last_used_at.as_ref().is_none_or(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| now - t.with_timezone(&Utc) > Duration::seconds(60))
            .unwrap_or(true)
    }) || row.last_used_source.as_deref() != Some(source.as_str());
    if stale {
        let (id, service) = (row.id, row.service.clone());
        inst.db
            .write(move |tx| -> Result<(), StorageError> {
                tokens::touch(tx, id, &now_s, &source)?;
                audit::write(
                    tx,
                    now,
                    Entry::new(
                        Event::TokenUsed,
                        audit::Actor::Token {
                            service: service.clone(),
                        },
                        service,
                        source,
                    )
                    .with(json!({ "token_id": id })),
                )?;
                Ok(())
            })
            .await?;
    }
    let scopes: Vec<String> = row.scopes.split(',').map(str::to_string).collect();
    Ok(Some(TokenAuth {
        id: row.id,
        service: row.service,
        grants: Grants::from_strings(&scopes),
    }))
}

/// Every API token (never the secret, only its id and metadata), for the admin's tokens page.
pub async fn list(inst: &Instance) -> Result<Vec<TokenRow>, StorageError> {
    inst.db.read(tokens::list).await
}
