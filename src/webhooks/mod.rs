//! Outbound webhooks: the endpoints an administrator registers (URL, events, scopes, a signing
//! secret sealed with the instance key), queueing events in the transaction of the change that
//! causes them, Standard Webhooks signing, and the deliverer that drains the queue in order.

pub mod deliver;
pub mod http;

use crate::access::{Action, Module, Permission, parse_scopes};
use crate::audit::{self, Actor, By, Entry, Event};
use crate::clock::stamp;
use crate::crypto::{self, Key256, Secret};
use crate::i18n::Sentence;
use crate::instances::Instance;
use crate::storage::webhooks::{self as store, DeliveryRow, EndpointRow, NewEndpoint};
use crate::storage::{StorageError, Transaction};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde_json::{Value as Json, json};

pub use crate::storage::webhooks::{DeliveryRow as Delivery, EndpointRow as Endpoint};

/// Event types that are not "a record of a module was created, updated or deleted".
const SPECIAL_EVENTS: [&str; 4] = [
    "invoices.issued",
    "invoices.paid",
    "documents.uploaded",
    "alert.raised",
];

/// The event raised when the watch opens an alert; it carries no record, so no scope covers it and
/// an endpoint gets it only when it names it (never through `*`).
pub const ALERT_RAISED: &str = "alert.raised";

/// Longest endpoint URL accepted.
const URL_MAX: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{0}")]
    Invalid(Sentence),
    #[error("no webhook endpoint #{0}")]
    NotFound(i64),
    #[error("the webhook secret cannot be sealed or opened: {0}")]
    Crypto(#[from] crypto::CryptoError),
    #[error("{0}")]
    Storage(#[from] StorageError),
}

/// Every event type an endpoint can ask for, in display order.
pub fn event_types() -> Vec<String> {
    let mut v = Vec::new();
    for m in Module::ALL {
        for what in ["created", "updated", "deleted"] {
            v.push(format!("{}.{what}", m.as_str()));
        }
    }
    v.extend(SPECIAL_EVENTS.iter().map(|s| s.to_string()));
    v
}

/// Checks and normalises a comma-separated list of event types (`*` = every record event).
pub fn parse_events(text: &str) -> Result<String, Sentence> {
    let known = event_types();
    let mut out: Vec<String> = Vec::new();
    for e in text
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if e != "*" && !known.iter().any(|k| k == e) {
            return Err(Sentence::new(
                "webhook-invalid-event",
                format!("unknown event `{e}`: use * or some of {}", known.join(", ")),
            )
            .arg("event", e)
            .arg("known", known.join(", ")));
        }
        if !out.iter().any(|o| o == e) {
            out.push(e.to_string());
        }
    }
    if out.is_empty() {
        return Err(Sentence::new(
            "webhook-no-event",
            "give at least one event, e.g. clients.created, or *",
        ));
    }
    Ok(out.join(","))
}

fn wants(endpoint: &EndpointRow, event: &str) -> bool {
    endpoint
        .events
        .split(',')
        .any(|e| e == event || (e == "*" && event != ALERT_RAISED))
}

/// The module whose data an event carries, if any.
fn module_of(event: &str) -> Option<Module> {
    let (m, _) = event.split_once('.')?;
    Module::ALL.into_iter().find(|x| x.as_str() == m)
}

/// An endpoint receives a module's events only when its scopes let it read that module: the same
/// rule as for an API token reading the record.
fn scopes_allow(endpoint: &EndpointRow, module: Module) -> bool {
    parse_scopes(&endpoint.scopes)
        .map(|p| p.contains(&Permission::Module(module, Action::View)))
        .unwrap_or(false)
}

/// Where an endpoint may point: `https://` always; `http://` only with the explicit override and
/// only to a loopback or private-network address literal (or `localhost`), so the override cannot
/// send data in clear text across the internet.
pub fn check_url(url: &str, allow_http: bool) -> Result<(), Sentence> {
    if url.chars().count() > URL_MAX || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Sentence::new(
            "webhook-url-shape",
            "the URL must be one line without spaces, at most 2000 characters",
        ));
    }
    let target = http::Target::parse(url)
        .map_err(|e| Sentence::new("webhook-url-unreadable", e).arg("url", url))?;
    if target.https {
        return Ok(());
    }
    if !allow_http {
        return Err(Sentence::new(
            "webhook-url-https",
            "only https:// URLs are accepted; for a receiver on this machine or the internal network use the http override (see docs/integrations.md)",
        ));
    }
    if !target.is_internal() {
        return Err(Sentence::new(
            "webhook-url-internal",
            "the http override is only for a loopback or private-network address (127.0.0.1, 10.x, 172.16–31.x, 192.168.x, fc00::/7, localhost)",
        ));
    }
    Ok(())
}

/// A new secret in the Standard Webhooks form `whsec_<base64 of 32 random bytes>`.
fn new_secret() -> Result<Secret<String>, crypto::CryptoError> {
    let mut raw = [0u8; 32];
    crypto::fill_random(&mut raw)?;
    let s = format!("whsec_{}", B64.encode(raw));
    zeroize::Zeroize::zeroize(&mut raw);
    Ok(Secret::new(s))
}

fn secret_context(instance: &str, endpoint: i64) -> Vec<u8> {
    format!("holdfast-webhook-secret:v1:{instance}:{endpoint}").into_bytes()
}

/// Opens an endpoint's signing secret (only the deliverer needs it).
pub fn open_secret(
    key: &Key256,
    instance: &str,
    endpoint: &EndpointRow,
) -> Result<Secret<String>, crypto::CryptoError> {
    let plain = crypto::open(
        key,
        &secret_context(instance, endpoint.id),
        &endpoint.secret_sealed,
    )?;
    String::from_utf8(plain.expose().clone())
        .map(Secret::new)
        .map_err(|_| crypto::CryptoError::Authentication)
}

/// The Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256, keyed with the secret's
/// decoded bytes, of `{id}.{timestamp}.{body}`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = Secret::new(
        B64.decode(encoded)
            .map_err(|_| "the webhook secret is not base64".to_string())?,
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.expose())
        .map_err(|_| "the webhook secret cannot key HMAC".to_string())?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// What an administrator asks for when registering an endpoint.
pub struct NewWebhook {
    pub url: String,
    pub events: String,
    pub scopes: String,
    pub allow_http: bool,
}

/// A registered endpoint and its secret, which is shown this once.
pub struct Created {
    pub id: i64,
    pub secret: Secret<String>,
}

fn target(id: i64) -> String {
    format!("webhook {id}")
}

pub async fn add(inst: &Instance, by: By, req: NewWebhook) -> Result<Created, WebhookError> {
    let url = req.url.trim().to_string();
    check_url(&url, req.allow_http).map_err(WebhookError::Invalid)?;
    let events = parse_events(&req.events).map_err(WebhookError::Invalid)?;
    parse_scopes(&req.scopes).map_err(|m| {
        WebhookError::Invalid(
            Sentence::new("account-invalid-scopes", m).arg("scopes", req.scopes.as_str()),
        )
    })?;
    // Kept as written (`invoices:read`), which is what the admin recognises on the list.
    let scopes = req
        .scopes
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(",");
    let secret = new_secret()?;
    let key = inst.files_key.clone();
    let name = inst.name.clone();
    let plain = secret.clone();
    let id = inst
        .db
        .write(move |tx| -> Result<i64, WebhookError> {
            let now = stamp(by.now);
            let actor = by.actor.name();
            let id = store::insert_endpoint(
                tx,
                &NewEndpoint {
                    url: &url,
                    events: &events,
                    scopes: &scopes,
                    allow_http: req.allow_http,
                    now: &now,
                    by: &actor,
                },
            )?;
            let sealed = crypto::seal(&key, &secret_context(&name, id), plain.expose().as_bytes())?;
            store::set_secret(tx, id, &sealed)?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::WebhookAdded, by.actor.clone(), target(id), by.source.clone())
                    .with(json!({ "url": url, "events": events, "scopes": scopes, "allow_http": req.allow_http })),
            )?;
            Ok(id)
        })
        .await?;
    Ok(Created { id, secret })
}

pub async fn list(inst: &Instance) -> Result<Vec<EndpointRow>, StorageError> {
    inst.db.read(store::endpoints).await
}

pub async fn get(inst: &Instance, id: i64) -> Result<EndpointRow, WebhookError> {
    inst.db
        .read(move |c| store::endpoint_by_id(c, id))
        .await?
        .ok_or(WebhookError::NotFound(id))
}

/// Stops deliveries to an endpoint; its queue and log stay for the record.
pub async fn disable(inst: &Instance, by: By, id: i64) -> Result<(), WebhookError> {
    inst.db
        .write(move |tx| -> Result<(), WebhookError> {
            if store::endpoint_by_id(tx, id)?.is_none() {
                return Err(WebhookError::NotFound(id));
            }
            if store::disable(tx, id, &stamp(by.now))? {
                audit::write(
                    tx,
                    by.now,
                    Entry::new(
                        Event::WebhookDisabled,
                        by.actor.clone(),
                        target(id),
                        by.source.clone(),
                    ),
                )?;
            }
            Ok(())
        })
        .await
}

/// Replaces the signing secret; the new one is shown this once, the old one stops working at once.
pub async fn rotate_secret(
    inst: &Instance,
    by: By,
    id: i64,
) -> Result<Secret<String>, WebhookError> {
    let secret = new_secret()?;
    let sealed = crypto::seal(
        &inst.files_key,
        &secret_context(&inst.name, id),
        secret.expose().as_bytes(),
    )?;
    inst.db
        .write(move |tx| -> Result<(), WebhookError> {
            if !store::set_secret(tx, id, &sealed)? {
                return Err(WebhookError::NotFound(id));
            }
            audit::write(
                tx,
                by.now,
                Entry::new(
                    Event::WebhookSecretRotated,
                    by.actor.clone(),
                    target(id),
                    by.source.clone(),
                ),
            )?;
            Ok(())
        })
        .await?;
    Ok(secret)
}

/// The delivery log of an endpoint, newest first.
pub async fn deliveries(
    inst: &Instance,
    id: i64,
    limit: usize,
) -> Result<Vec<DeliveryRow>, WebhookError> {
    get(inst, id).await?;
    Ok(inst
        .db
        .read(move |c| store::deliveries(c, id, limit))
        .await?)
}

/// Queues a delivered or failed event of endpoint `id` again (same `webhook-id`).
pub async fn redeliver(
    inst: &Instance,
    by: By,
    id: i64,
    delivery: i64,
) -> Result<(), WebhookError> {
    inst.db
        .write(move |tx| -> Result<(), WebhookError> {
            if !store::redeliver(tx, id, delivery, &stamp(by.now))? {
                return Err(WebhookError::Invalid(
                    Sentence::new(
                        "webhook-no-delivery",
                        format!(
                            "endpoint #{id} has no finished delivery #{delivery} to send again"
                        ),
                    )
                    .arg("id", id)
                    .arg("delivery", delivery),
                ));
            }
            audit::write(
                tx,
                by.now,
                Entry::new(
                    Event::WebhookRedelivered,
                    by.actor.clone(),
                    target(id),
                    by.source.clone(),
                )
                .with(json!({ "delivery": delivery })),
            )?;
            Ok(())
        })
        .await
}

/// Queues `event` with `data` for every active endpoint that asked for it and whose scopes cover
/// the event's module, inside `tx`: the event exists exactly when the change commits.
pub fn emit(
    tx: &Transaction,
    now: DateTime<Utc>,
    event: &str,
    data: &Json,
) -> Result<(), StorageError> {
    let module = module_of(event);
    let endpoints = store::active_endpoints(tx)?;
    let mut body: Option<String> = None;
    for e in endpoints.iter().filter(|e| wants(e, event)) {
        if let Some(m) = module
            && !scopes_allow(e, m)
        {
            continue;
        }
        let body = match &body {
            Some(b) => b,
            None => body.insert(
                json!({
                    "type": event,
                    "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "data": data,
                })
                .to_string(),
            ),
        };
        let msg_id = crypto::random_token(18)
            .map_err(|e| StorageError::NotSaved(format!("webhook id: {e}")))?;
        store::enqueue(
            tx,
            e.id,
            &format!("msg_{}", msg_id.expose()),
            event,
            body,
            &stamp(now),
        )?;
    }
    Ok(())
}

/// Whether any active endpoint asked for `event`, so that callers skip building a body nobody
/// gets (the common case: no endpoint at all).
pub fn wanted(tx: &Transaction, event: &str) -> Result<bool, StorageError> {
    Ok(store::active_endpoints(tx)?.iter().any(|e| wants(e, event)))
}

/// The system actor's context for what the deliverer records.
fn system(now: DateTime<Utc>) -> By {
    By {
        actor: Actor::System,
        source: "-".into(),
        now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example in the Standard Webhooks specification's reference libraries.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn urls_need_https_unless_overridden_for_an_internal_receiver() {
        assert!(check_url("https://n8n.example.com/webhook/x", false).is_ok());
        assert!(check_url("http://n8n.example.com/webhook/x", false).is_err());
        assert!(check_url("http://n8n.example.com/webhook/x", true).is_err());
        assert!(check_url("http://8.8.8.8/x", true).is_err());
        assert!(check_url("http://127.0.0.1:5678/x", true).is_ok());
        assert!(check_url("http://192.168.1.20/x", true).is_ok());
        assert!(check_url("http://[::1]:80/x", true).is_ok());
        assert!(check_url("ftp://127.0.0.1/x", true).is_err());
        assert!(check_url("https://user:pw@example.com/", false).is_err());
        assert!(check_url("https://exa mple.com/", false).is_err());
    }

    #[test]
    fn events_are_checked_and_alerts_need_naming() {
        assert_eq!(
            parse_events("clients.created, *").unwrap(),
            "clients.created,*"
        );
        assert!(parse_events("clients.exploded").is_err());
        assert!(parse_events("").is_err());
        let mut e = EndpointRow {
            id: 1,
            url: String::new(),
            events: "*".into(),
            scopes: "clients:read".into(),
            secret_sealed: vec![],
            allow_http: false,
            created_at: String::new(),
            created_by: String::new(),
            disabled_at: None,
            failing_since: None,
            last_success_at: None,
        };
        assert!(wants(&e, "invoices.paid"));
        assert!(!wants(&e, ALERT_RAISED));
        assert!(scopes_allow(&e, Module::Clients));
        assert!(!scopes_allow(&e, Module::Invoices));
        e.events = "alert.raised".into();
        assert!(wants(&e, ALERT_RAISED));
    }
}
