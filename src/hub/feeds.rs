//! Calendar feeds: each person's private iCalendar feed of their dated work (tasks assigned to
//! them with a due date, deadlines of projects they manage, optionally their time entries),
//! reached by a revocable feed token stored only hashed; the instance's switch that allows or
//! forbids feeds; the audit of switching on, off and of use (at most one `feed_used` per token
//! per hour).

use super::ical::{Calendar, Event as IcalEvent};
use crate::access::{Action, Grants, Module, Permission};
use crate::audit::{self, Actor, By, Entry, Event};
use crate::clock::stamp;
use crate::crypto::{self, Secret};
use crate::instances::Instance;
use crate::storage::feeds::{self as store, Dated};
use crate::storage::{StorageError, settings};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;

/// Every feed token starts with this, so a leaked one is recognisable (secret scanners, logs).
pub const FEED_TOKEN_PREFIX: &str = "hfc_";
/// The instance setting: `"1"` when an administrator allowed calendar feeds. Absent means
/// forbidden: like every integration, feeds are off until an administrator switches them on.
const ALLOWED_KEY: &str = "feeds.allowed";
/// A token's use is written to the security log at most this often.
const USE_AUDIT_EVERY: Duration = Duration::hours(1);
/// Records dated longer ago than this are left out: a calendar client keeps what it saw.
const PAST_DAYS: i64 = 366;
/// At most this many events of each kind, so one feed stays a bounded answer.
const MAX_EACH: i64 = 2000;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// An administrator forbade calendar feeds on this instance.
    #[error("calendar feeds are not allowed on this instance")]
    Forbidden,
    #[error("no random numbers for a feed token")]
    Random,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A person's live feed as their account page shows it (never the token).
#[derive(Debug, Clone)]
pub struct FeedStatus {
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub include_time: bool,
}

/// Whether calendar feeds are allowed on the instance.
pub async fn allowed(inst: &Instance) -> Result<bool, StorageError> {
    inst.db.read(is_allowed).await
}

fn is_allowed(c: &crate::storage::Connection) -> Result<bool, StorageError> {
    Ok(settings::get(c, ALLOWED_KEY)?.as_deref() == Some("1"))
}

/// Feeds as the integrations list shows them: allowed or not, since when (the administrator's
/// last change of the switch, the time of its `feeds_setting_changed` event) and the newest use
/// of any feed token.
pub struct FeedsBook {
    pub allowed: bool,
    pub since: Option<String>,
    pub last_use: Option<String>,
}

pub async fn book(inst: &Instance) -> Result<FeedsBook, StorageError> {
    inst.db
        .read(|c| {
            Ok(FeedsBook {
                allowed: is_allowed(c)?,
                since: settings::updated_at(c, ALLOWED_KEY)?,
                last_use: store::last_use(c)?,
            })
        })
        .await
}

/// Allows or forbids calendar feeds (audited). Forbidding keeps the tokens: every feed answers
/// "not found" until feeds are allowed again, and the people's switches are hidden meanwhile.
pub async fn set_allowed(inst: &Instance, by: By, allow: bool) -> Result<bool, StorageError> {
    inst.db
        .write(move |tx| -> Result<bool, StorageError> {
            if is_allowed(tx)? == allow {
                return Ok(false);
            }
            settings::set(
                tx,
                ALLOWED_KEY,
                if allow { "1" } else { "0" },
                &stamp(by.now),
            )?;
            audit::write(
                tx,
                by.now,
                Entry::new(
                    Event::FeedsSettingChanged,
                    by.actor,
                    "calendar feeds",
                    by.source,
                )
                .with(json!({ "allowed": allow })),
            )?;
            Ok(true)
        })
        .await
}

/// The person's live feed, if they switched one on.
pub async fn status(inst: &Instance, user_id: i64) -> Result<Option<FeedStatus>, StorageError> {
    let row = inst.db.read(move |c| store::live_of(c, user_id)).await?;
    Ok(row.map(|r| FeedStatus {
        created_at: r.created_at,
        last_used_at: r.last_used_at,
        include_time: r.include_time,
    }))
}

/// Switches the person's feed on with a new token (a previous one is revoked in the same
/// transaction): the token, which is shown once and stored only as its SHA-256.
pub async fn switch_on(
    inst: &Instance,
    by: By,
    user_id: i64,
    username: String,
    include_time: bool,
) -> Result<Secret<String>, FeedError> {
    let raw = crypto::random_token(32).map_err(|_| FeedError::Random)?;
    let token = Secret::new(format!("{FEED_TOKEN_PREFIX}{}", raw.expose()));
    let hash = crypto::sha256_hex(token.expose().as_bytes());
    inst.db
        .write(move |tx| -> Result<(), FeedError> {
            if !is_allowed(tx)? {
                return Err(FeedError::Forbidden);
            }
            let now = stamp(by.now);
            if let Some(old) = store::revoke_live(tx, user_id, &now)? {
                audit::write(
                    tx,
                    by.now,
                    Entry::new(
                        Event::FeedRevoked,
                        by.actor.clone(),
                        username.clone(),
                        by.source.clone(),
                    )
                    .with(json!({ "feed_id": old, "replaced": true })),
                )?;
            }
            let id = store::insert(tx, user_id, &hash, include_time, &now)?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::FeedCreated, by.actor, username, by.source)
                    .with(json!({ "feed_id": id, "include_time": include_time })),
            )?;
            Ok(())
        })
        .await?;
    Ok(token)
}

/// Switches the person's feed off: its token stops working at once. `false` when none was on.
pub async fn switch_off(
    inst: &Instance,
    by: By,
    user_id: i64,
    username: String,
) -> Result<bool, StorageError> {
    inst.db
        .write(move |tx| -> Result<bool, StorageError> {
            let Some(id) = store::revoke_live(tx, user_id, &stamp(by.now))? else {
                return Ok(false);
            };
            audit::write(
                tx,
                by.now,
                Entry::new(Event::FeedRevoked, by.actor, username, by.source)
                    .with(json!({ "feed_id": id })),
            )?;
            Ok(true)
        })
        .await
}

/// Where the feed is served and what it links to.
pub struct FeedSite {
    /// The instance's host name as the caller reached it; UIDs use the instance's first
    /// configured host name when it has one, so they do not change with the address used.
    pub host: String,
    pub source: String,
    pub now: DateTime<Utc>,
    /// The feed's words are its owner's language (their own choice, else the instance's default).
    pub catalogue: std::sync::Arc<crate::i18n::Catalogue>,
}

/// The calendar of the feed token, or `None` when the token is unknown, revoked, its owner can
/// no longer sign in, or feeds are forbidden: the caller cannot tell which.
pub async fn calendar(
    inst: &Instance,
    token: &str,
    site: FeedSite,
) -> Result<Option<String>, StorageError> {
    if !token.starts_with(FEED_TOKEN_PREFIX) || token.len() > 128 {
        return Ok(None);
    }
    let hash = crypto::sha256_hex(token.as_bytes());
    let found = inst
        .db
        .read(move |c| -> Result<Option<store::FeedRow>, StorageError> {
            if !is_allowed(c)? {
                return Ok(None);
            }
            store::by_hash(c, &hash)
        })
        .await?;
    let Some(row) = found.filter(|r| r.revoked_at.is_none() && !r.owner_blocked) else {
        return Ok(None);
    };
    let now = site.now;
    let due = row.last_used_at.as_ref().is_none_or(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| now - t.with_timezone(&Utc) >= USE_AUDIT_EVERY)
            .unwrap_or(true)
    });
    if due {
        let (id, owner, source) = (row.id, row.username.clone(), site.source.clone());
        inst.db
            .write(move |tx| -> Result<(), StorageError> {
                let cutoff = stamp(now - USE_AUDIT_EVERY);
                if !store::touch_if_before(tx, id, &stamp(now), &cutoff)? {
                    return Ok(());
                }
                audit::write(
                    tx,
                    now,
                    Entry::new(
                        Event::FeedUsed,
                        Actor::Token {
                            service: "calendar feed".into(),
                        },
                        owner,
                        source,
                    )
                    .with(json!({ "feed_id": id })),
                )?;
                Ok(())
            })
            .await?;
    }
    let since = (now - Duration::days(PAST_DAYS))
        .format("%Y-%m-%d")
        .to_string();
    let (username, include_time, user_id) = (row.username.clone(), row.include_time, row.user_id);
    let (data, locale) = inst
        .db
        .read(move |c| -> Result<_, StorageError> {
            let language = crate::storage::users::by_id(c, user_id)?.and_then(|u| u.language);
            let locale = crate::i18n::reader_locale(c, language.as_deref())?;
            // The feed shows only the kinds of records the owner may view now: a person moved out
            // of the group that sees time entries stops seeing them in the feed too.
            let grants = Grants::from_strings(&crate::storage::users::permissions(c, user_id)?);
            let may = |m| grants.allows(Permission::Module(m, Action::View));
            let kinds = store::Kinds {
                tasks: may(Module::Tasks),
                deadlines: may(Module::Projects),
                time: include_time && may(Module::Time),
            };
            Ok((store::data(c, &username, kinds, &since, MAX_EACH)?, locale))
        })
        .await?;
    let tr = crate::i18n::Tr::new(site.catalogue.clone(), locale);
    // A choice ("in_progress") by its label where the catalogue has one.
    let choice = |v: &str| {
        let k = format!("choice-{v}");
        if tr.has(&k) { tr.t(&k) } else { v.to_string() }
    };
    let uid_host = inst
        .hostnames
        .first()
        .cloned()
        .unwrap_or_else(|| format!("{}.holdfast", inst.name));
    let link = |kind: &str, id: i64| format!("https://{}/m/{kind}/{id}", site.host);
    let mut events = Vec::new();
    for t in &data.tasks {
        events.extend(event(t, &uid_host, "task", |t| IcalEvent {
            summary: t.title.clone(),
            description: format!(
                "{}\n{}\n{}",
                tr.t1("feed-project", "name", &t.context),
                tr.t1("feed-status", "status", choice(&t.status)),
                tr.t1("feed-priority", "priority", choice(&t.detail))
            ),
            categories: vec![tr.t("feed-category-task")],
            url: Some(link("tasks", t.id)),
            ..blank()
        }));
    }
    for p in &data.deadlines {
        events.extend(event(p, &uid_host, "project-end", |p| IcalEvent {
            summary: tr.t1("feed-deadline", "title", &p.title),
            description: format!(
                "{}\n{}",
                tr.t1("feed-client", "name", &p.context),
                tr.t1("feed-status", "status", choice(&p.status))
            ),
            categories: vec![tr.t("feed-category-deadline")],
            url: Some(link("projects", p.id)),
            ..blank()
        }));
    }
    for e in &data.time {
        events.extend(event(e, &uid_host, "time", |e| {
            let minutes: i64 = e.status.parse().unwrap_or(0);
            let spent = format!("{}h {:02}m", minutes / 60, minutes % 60);
            IcalEvent {
                summary: tr.with(
                    "feed-time",
                    &[
                        ("spent", spent.into()),
                        ("project", e.context.as_str().into()),
                    ],
                ),
                description: e.title.clone(),
                categories: vec![tr.t("feed-category-time")],
                url: Some(link("time-entries", e.id)),
                ..blank()
            }
        }));
    }
    let cal = Calendar {
        name: format!("holdfast: {}", row.username),
        events,
    };
    Ok(Some(cal.render(now)))
}

fn blank() -> IcalEvent {
    IcalEvent {
        uid: String::new(),
        date: NaiveDate::MIN,
        summary: String::new(),
        description: String::new(),
        categories: Vec::new(),
        url: None,
        sequence: 0,
        last_modified: None,
    }
}

/// The event of one dated record: UID `<kind>-<id>@<host>` (stable across edits), SEQUENCE from
/// its version, LAST-MODIFIED from `updated_at`. A date that does not parse leaves the record out.
fn event(
    d: &Dated,
    host: &str,
    kind: &str,
    fill: impl FnOnce(&Dated) -> IcalEvent,
) -> Option<IcalEvent> {
    let date = NaiveDate::parse_from_str(d.date.get(..10)?, "%Y-%m-%d").ok()?;
    Some(IcalEvent {
        uid: format!("{kind}-{}@{host}", d.id),
        date,
        sequence: d.version - 1,
        last_modified: DateTime::parse_from_rfc3339(&d.updated_at)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        ..fill(d)
    })
}
