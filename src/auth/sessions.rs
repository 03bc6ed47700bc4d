//! Owns what people and administrators do with sessions as a whole: a person's list of their own
//! sessions (device, address, started, last used) and ending one or all of them; an
//! administrator ending every session of the instance; and the scheduled purge of ended ones.

use super::accounts::{AccountError, read_policy};
use super::signin::SessionInfo;
use crate::audit::{self, By, Entry, Event};
use crate::clock::stamp;
use crate::instances::Instance;
use crate::storage::sessions as store;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// One of a person's sessions, as they see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionView {
    /// The first 16 hex characters of the session's stored hash: enough to name it, useless to
    /// sign in with.
    pub handle: String,
    pub device: String,
    pub started_from: String,
    pub last_from: String,
    pub started_at: String,
    pub last_used_at: String,
    pub current: bool,
}

/// "Firefox on Windows", "curl", "unknown device": how people recognise a User-Agent.
pub fn device_name(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if let Some(first) = ua.split(['/', ' ']).next().filter(|s| !s.is_empty()) {
        return first.chars().take(40).collect();
    } else {
        return "unknown device".into();
    };
    let os = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") || ua.contains("X11") {
        "Linux"
    } else {
        return browser.into();
    };
    format!("{browser} on {os}")
}

/// The person's live sessions (not revoked, not past their absolute or idle limit), newest first.
pub async fn list_own(
    inst: &Instance,
    session: &SessionInfo,
    now: DateTime<Utc>,
) -> Result<Vec<SessionView>, AccountError> {
    let (uid, current) = (session.user_id, session.id_hash.clone());
    inst.db
        .read(move |c| -> Result<_, AccountError> {
            let policy = read_policy(c)?;
            let idle = stamp(now - Duration::minutes(policy.session_idle_minutes() as i64));
            Ok(store::live_for_user(c, uid, &stamp(now))?
                .into_iter()
                .filter(|s| s.last_seen_at > idle && s.stage == "active")
                .map(|s| SessionView {
                    handle: s.id_hash.chars().take(16).collect(),
                    device: device_name(&s.user_agent),
                    started_from: s.source,
                    last_from: s.last_source,
                    started_at: s.created_at,
                    last_used_at: s.last_seen_at,
                    current: s.id_hash == current,
                })
                .collect())
        })
        .await
}

/// Ends one of the person's own sessions, named by its handle.
pub async fn end_own(
    inst: &Instance,
    session: &SessionInfo,
    handle: String,
    by: By,
) -> Result<(), AccountError> {
    let uid = session.user_id;
    let username = session.username.clone();
    inst.db
        .write(move |tx| -> Result<(), AccountError> {
            if !store::revoke_by_handle(tx, uid, &handle, &stamp(by.now))? {
                return Err(AccountError::NotFound(format!("session {handle}")));
            }
            audit::write(
                tx,
                by.now,
                Entry::new(Event::SessionRevoked, by.actor, username, by.source)
                    .with(json!({ "sessions": 1, "session": handle, "by": "self" })),
            )?;
            Ok(())
        })
        .await
}

/// Ends every session of the person except the one making the request.
pub async fn end_others(
    inst: &Instance,
    session: &SessionInfo,
    by: By,
) -> Result<usize, AccountError> {
    let (uid, keep, username) = (
        session.user_id,
        session.id_hash.clone(),
        session.username.clone(),
    );
    inst.db
        .write(move |tx| -> Result<usize, AccountError> {
            let n = store::revoke_all_for_user(tx, uid, Some(&keep), &stamp(by.now))?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::SessionRevoked, by.actor, username, by.source)
                    .with(json!({ "sessions": n, "by": "self", "kept": "current" })),
            )?;
            Ok(n)
        })
        .await
}

/// An administrator ends every session of the instance (their own too, unless `keep` names it).
pub async fn end_everyone(
    inst: &Instance,
    keep: Option<String>,
    by: By,
) -> Result<usize, AccountError> {
    inst.db
        .write(move |tx| -> Result<usize, AccountError> {
            let n = store::revoke_everyone(tx, keep.as_deref(), &stamp(by.now))?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::SessionRevoked, by.actor, "*", by.source)
                    .with(json!({ "sessions": n, "scope": "instance" })),
            )?;
            Ok(n)
        })
        .await
}

/// Deletes sessions that can no longer be used: revoked or past their absolute limit for more
/// than a day, or idle for a day beyond the idle limit. Returns how many rows went.
pub async fn purge(inst: &Instance, now: DateTime<Utc>) -> Result<usize, AccountError> {
    inst.db
        .write(move |tx| -> Result<usize, AccountError> {
            let policy = read_policy(tx)?;
            let cutoff = stamp(now - Duration::days(1));
            let idle = stamp(
                now - Duration::days(1) - Duration::minutes(policy.session_idle_minutes() as i64),
            );
            Ok(store::purge(tx, &cutoff, &idle)?)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::signin::{authenticate, password_step, sign_out};
    use crate::auth::test_support::{add_user, instance, services};
    use crate::crypto::Secret;

    fn stored(inst: &Instance) -> i64 {
        inst.db.read_blocking(store::count).unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn ended_and_expired_sessions_are_purged_and_live_ones_kept() {
        let (_dir, inst) = instance().await;
        let svc = services();
        let t0 = crate::clock::Clock::now(&crate::clock::SystemClock);
        const PW: &str = "purge test staple 81 olive";
        add_user(&svc, &inst, "pia", &["users"], Some(PW), t0).await;
        let ip: std::net::IpAddr = "192.0.2.20".parse().unwrap();
        let sign_in = |at| {
            password_step(
                &svc,
                &inst,
                "pia".into(),
                Secret::new(PW.into()),
                ip,
                "",
                at,
            )
        };
        // One session signed out, one left to expire, one live when the purge runs.
        let ended = sign_in(t0).await.unwrap();
        let info = authenticate(&inst, ended.token.expose(), ip, t0)
            .await
            .unwrap()
            .unwrap();
        sign_out(&inst, &info, ip, t0).await.unwrap();
        sign_in(t0).await.unwrap();
        let later = t0 + Duration::days(3);
        let live = sign_in(later).await.unwrap();
        assert_eq!(stored(&inst), 3);
        assert_eq!(purge(&inst, later).await.unwrap(), 2);
        assert_eq!(stored(&inst), 1);
        assert!(
            authenticate(&inst, live.token.expose(), ip, later)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn devices_are_named_as_people_know_them() {
        assert_eq!(
            device_name(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
            ),
            "Firefox on Windows"
        );
        assert_eq!(
            device_name(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/148.0 Chrome/148.0 Safari/537.36"
            ),
            "Chrome on Linux"
        );
        assert_eq!(
            device_name(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
            ),
            "Safari on iOS"
        );
        assert_eq!(device_name("curl/8.5.0"), "curl");
        assert_eq!(device_name(""), "unknown device");
    }
}
