//! Checkpoints of the security-log chain head (row id and hash), which leave the machine in the
//! forwarded syslog stream and in every backup archive, and the check that the log still holds
//! exactly what a saved checkpoint covers.
//!
//! The hash chain alone proves nothing to someone who can recompute it: whoever holds the database
//! key can rewrite a row and every later hash. A checkpoint kept elsewhere pins the hash of one row;
//! a rewrite at or before that row changes the hash there, whatever was recomputed after it.

use super::forward::ForwardEvent;
use crate::storage::Connection;
use crate::storage::StorageError;
use crate::storage::audit as store;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The `format` of a checkpoint document; changes only with an incompatible layout.
pub const FORMAT: &str = "holdfast-audit-checkpoint/1";
/// The event name a checkpoint carries in the syslog stream (never a row in the log itself).
pub const EVENT: &str = "audit_checkpoint";
/// The name of the checkpoint file inside a backup archive.
pub const ARCHIVE_ENTRY: &str = "audit-checkpoint.json";

/// Why a checkpoint was taken.
pub mod reason {
    pub const START: &str = "start";
    pub const STOP: &str = "stop";
    pub const INTERVAL: &str = "interval";
    pub const BACKUP: &str = "backup";
    pub const CONSOLE: &str = "console";
}

/// The chain head of one instance at one moment. `id` 0 with the all-zero hash is an empty log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub format: String,
    pub instance: String,
    pub id: i64,
    pub hash: String,
    /// When it was taken (RFC 3339 UTC); informational, not part of the proof.
    pub at: String,
    pub reason: String,
}

/// Reads the current chain head of the log behind `conn`.
pub fn take(
    conn: &Connection,
    instance: &str,
    now: DateTime<Utc>,
    why: &str,
) -> Result<Checkpoint, StorageError> {
    let (id, hash) = store::head(conn)?.unwrap_or((0, super::GENESIS.to_string()));
    Ok(Checkpoint {
        format: FORMAT.into(),
        instance: instance.into(),
        id,
        hash,
        at: crate::clock::stamp(now),
        reason: why.into(),
    })
}

impl Checkpoint {
    pub fn to_json(&self) -> String {
        // Serialising plain strings and integers cannot fail; the fallback is never used.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The checkpoint as a message for the syslog forwarder: `id` and `hash` in the structured
    /// data are the checkpointed row's, `event` is [`EVENT`], so a collector tells it from the
    /// row's own message by the event name.
    pub fn to_forward_event(&self) -> ForwardEvent {
        ForwardEvent {
            at: self.at.clone(),
            instance: self.instance.clone(),
            event: EVENT.into(),
            actor: "holdfast(system)".into(),
            target: format!("row {}", self.id),
            source: String::new(),
            outcome: "success".into(),
            details: serde_json::json!({ "checkpoint": self.reason, "at": self.at }),
            id: self.id,
            hash: self.hash.clone(),
        }
    }

    fn well_formed(self) -> Result<Self, String> {
        if self.format != FORMAT {
            return Err(format!(
                "unknown checkpoint format `{}` (expected {FORMAT})",
                self.format
            ));
        }
        if self.id < 0 {
            return Err(format!("checkpoint row id {} is negative", self.id));
        }
        if self.hash.len() != 64 || !self.hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("checkpoint hash is not 64 hexadecimal digits".into());
        }
        Ok(self)
    }
}

/// Largest checkpoint file read (a collector's log file may be given whole).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Reads checkpoints from `text`: one JSON checkpoint (as printed by `holdfast admin audit
/// checkpoint` or stored in a backup archive), or syslog lines, of which every
/// `audit_checkpoint` message counts.
pub fn parse(text: &str) -> Result<Vec<Checkpoint>, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        let cp: Checkpoint =
            serde_json::from_str(trimmed).map_err(|e| format!("not a holdfast checkpoint: {e}"))?;
        return Ok(vec![cp.well_formed()?]);
    }
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if let Some(cp) = from_syslog_line(line).map_err(|e| format!("line {}: {e}", n + 1))? {
            out.push(cp);
        }
    }
    if out.is_empty() {
        return Err(format!(
            "neither a JSON checkpoint nor syslog lines with event=\"{EVENT}\""
        ));
    }
    Ok(out)
}

/// The checkpoint in one RFC 5424 line (framed or not, with or without a collector's prefix), or
/// `None` when the line is some other message.
fn from_syslog_line(line: &str) -> Result<Option<Checkpoint>, String> {
    let marker = format!("[{} ", super::forward::SD_ID);
    let Some(start) = line.find(&marker) else {
        return Ok(None);
    };
    let params = sd_params(&line[start + marker.len()..]);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if get("event").as_deref() != Some(EVENT) {
        return Ok(None);
    }
    let missing = |what: &str| format!("checkpoint message without `{what}`");
    let instance = get("instance").ok_or_else(|| missing("instance"))?;
    let id = get("id")
        .ok_or_else(|| missing("id"))?
        .parse::<i64>()
        .map_err(|_| "checkpoint `id` is not a number".to_string())?;
    let hash = get("hash").ok_or_else(|| missing("hash"))?;
    // Time and reason ride in the message text; they are informational only.
    let details: serde_json::Value = line
        .split_once(" details=")
        .and_then(|(_, d)| serde_json::from_str(d.trim()).ok())
        .unwrap_or(serde_json::Value::Null);
    let text = |k: &str| details[k].as_str().unwrap_or("unknown").to_string();
    Checkpoint {
        format: FORMAT.into(),
        instance,
        id,
        hash,
        at: text("at"),
        reason: text("checkpoint"),
    }
    .well_formed()
    .map(Some)
}

/// `name="value"` pairs of one SD-ELEMENT up to its closing `]`, unescaping `\"`, `\\`, `\]`.
fn sd_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let mut name = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            if c == ']' {
                return out;
            }
            name.push(c);
        }
        if chars.next() != Some('"') {
            return out;
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                None => return out,
                Some('\\') => match chars.next() {
                    Some(c @ ('"' | '\\' | ']')) => value.push(c),
                    Some(c) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => return out,
                },
                Some('"') => break,
                Some(c) => value.push(c),
            }
        }
        out.push((name, value));
    }
}

/// What checking a checkpoint against the log found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The checkpointed row has the recorded hash and the whole chain verifies; `later` rows
    /// after it are chain-verified but not covered by this checkpoint.
    Covered { later: u64 },
    /// Why the log no longer holds what the checkpoint covers.
    Contradicted(String),
}

/// Walks the whole chain: the row the checkpoint names must still carry its hash, and every row
/// must link to the one before it.
pub fn check(conn: &Connection, cp: &Checkpoint) -> Result<Verdict, StorageError> {
    let mut prev = super::GENESIS.to_string();
    let mut broken: Option<(i64, String)> = None;
    let mut at_checkpoint: Option<String> = None;
    let mut later = 0u64;
    store::for_each(conn, |row| {
        if broken.is_none() {
            if row.prev_hash != prev {
                broken = Some((row.id, "does not link to the row before it".into()));
            } else if super::chain_hash(&prev, &row) != row.hash {
                broken = Some((row.id, "content does not match its hash".into()));
            }
        }
        if row.id == cp.id {
            at_checkpoint = Some(row.hash.clone());
        } else if row.id > cp.id {
            later += 1;
        }
        prev = row.hash;
        Ok(())
    })?;
    let when = format!("the checkpoint of {} ({})", cp.at, cp.reason);
    if cp.id == 0 {
        if cp.hash != super::GENESIS {
            return Ok(Verdict::Contradicted(format!(
                "{when} names row 0 with a hash other than the empty log's"
            )));
        }
    } else {
        match &at_checkpoint {
            None => {
                return Ok(Verdict::Contradicted(format!(
                    "the log has no row {}, which {when} covers: rows were removed",
                    cp.id
                )));
            }
            Some(h) if *h != cp.hash => {
                return Ok(Verdict::Contradicted(format!(
                    "row {} has hash {h}, but {when} recorded {}: the log was rewritten at or before row {}",
                    cp.id, cp.hash, cp.id
                )));
            }
            Some(_) => {}
        }
    }
    if let Some((id, why)) = broken {
        let place = if id <= cp.id {
            "inside the part the checkpoint covers"
        } else {
            "after the checkpointed row"
        };
        return Ok(Verdict::Contradicted(format!(
            "chain broken at row {id} ({place}): {why}"
        )));
    }
    Ok(Verdict::Covered { later })
}

/// Checks every checkpoint of `instance` in `all` (see [`check`]); on success, a sentence saying
/// what is covered, else why the log contradicts one of them.
pub fn check_all(
    conn: &Connection,
    instance: &str,
    all: &[Checkpoint],
) -> Result<Result<String, String>, StorageError> {
    let mine: Vec<&Checkpoint> = all.iter().filter(|c| c.instance == instance).collect();
    if mine.is_empty() {
        let others: std::collections::BTreeSet<&str> =
            all.iter().map(|c| c.instance.as_str()).collect();
        return Ok(Err(format!(
            "no checkpoint of instance `{instance}` in it (only of: {}); choose the instance with --instance",
            others.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut newest: Option<(&Checkpoint, u64)> = None;
    for cp in &mine {
        match check(conn, cp)? {
            Verdict::Contradicted(why) => return Ok(Err(why)),
            Verdict::Covered { later } => {
                if newest.is_none_or(|(n, _)| cp.id >= n.id) {
                    newest = Some((cp, later));
                }
            }
        }
    }
    Ok(Ok(match newest {
        Some((cp, later)) => format!(
            "security log matches {} checkpoint(s): rows 1–{} are exactly as at the checkpoint of {} ({}); the whole chain verifies, but the {later} row(s) after row {} are covered by no checkpoint given",
            mine.len(),
            cp.id,
            cp.at,
            cp.reason,
            cp.id
        ),
        None => String::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, Entry, Event, write};

    #[test]
    fn a_syslog_checkpoint_line_round_trips() {
        let cp = Checkpoint {
            format: FORMAT.into(),
            instance: "acme".into(),
            id: 42,
            hash: "ab".repeat(32),
            at: "2026-05-01T10:00:00.000Z".into(),
            reason: reason::INTERVAL.into(),
        };
        let line =
            crate::audit::forward::format_rfc5424(&cp.to_forward_event(), "holdfast", "host", 7);
        // As a collector might store it: its own prefix, then the message.
        let stored = format!("May  1 10:00:01 collector {line}\nunrelated line\n");
        assert_eq!(parse(&stored).unwrap(), vec![cp.clone()]);
        assert_eq!(parse(&cp.to_json()).unwrap(), vec![cp]);
        assert!(parse("nothing here").is_err());
        assert!(
            parse(r#"{"format":"x","instance":"a","id":1,"hash":"00","at":"","reason":""}"#)
                .is_err()
        );
    }

    #[test]
    fn check_catches_a_recomputed_chain() {
        let (_dir, db) = crate::audit::tests::db();
        let now = crate::clock::Clock::now(&crate::clock::SystemClock);
        for i in 0..3 {
            db.write_blocking(|tx| {
                write(
                    tx,
                    now,
                    Entry::new(Event::LoginFailed, Actor::Anonymous, format!("u{i}"), "-"),
                )
            })
            .unwrap();
        }
        let cp = db
            .read_blocking(|c| take(c, "t", now, reason::CONSOLE))
            .unwrap();
        assert_eq!(cp.id, 3);
        assert_eq!(
            db.read_blocking(|c| check(c, &cp)).unwrap(),
            Verdict::Covered { later: 0 }
        );
        let empty = Checkpoint {
            id: 0,
            hash: crate::audit::GENESIS.into(),
            ..cp.clone()
        };
        assert_eq!(
            db.read_blocking(|c| check(c, &empty)).unwrap(),
            Verdict::Covered { later: 3 }
        );
        let wrong = Checkpoint {
            hash: "0".repeat(63) + "1",
            ..cp.clone()
        };
        match db.read_blocking(|c| check(c, &wrong)).unwrap() {
            Verdict::Contradicted(m) => assert!(m.contains("row 3 has hash"), "{m}"),
            other => panic!("{other:?}"),
        }
        let beyond = Checkpoint { id: 9, ..cp };
        match db.read_blocking(|c| check(c, &beyond)).unwrap() {
            Verdict::Contradicted(m) => assert!(m.contains("no row 9"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
