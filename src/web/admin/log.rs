//! The security log: filters (shared with `GET /api/v1/audit`), the page with the chain check, CSV
//! and JSON exports.

use super::*;
use crate::i18n::Sentence;
use crate::i18n::Tr;

/// Filters shared by the log page, its exports and `GET /api/v1/audit`.
#[derive(Debug, Default, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub before: Option<i64>,
    #[serde(default)]
    pub limit: Option<usize>,
}

fn normalise_time(field: &str, v: &str) -> Result<Option<String>, WebError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let full = match v.len() {
        16 => format!("{v}:00.000Z"),
        19 => format!("{v}.000Z"),
        _ => v.to_string(),
    };
    chrono::DateTime::parse_from_rfc3339(&full)
        .map(|t| Some(crate::clock::stamp(t.with_timezone(&chrono::Utc))))
        .map_err(|_| {
            WebError::refused(
                field,
                Sentence::new(
                    "log-invalid-time",
                    format!("`{v}` is not a time like 2026-11-22T08:00 (UTC)"),
                )
                .arg("value", v),
            )
        })
}

impl LogQuery {
    pub fn filter(&self, default_limit: usize) -> Result<audit::Filter, WebError> {
        if !self.kind.is_empty() && Event::parse(&self.kind).is_none() {
            return Err(WebError::refused(
                "type",
                Sentence::new(
                    "log-invalid-type",
                    format!("unknown event type `{}`", self.kind),
                )
                .arg("value", self.kind.as_str()),
            ));
        }
        let limit = self.limit.unwrap_or(default_limit);
        if !(1..=10_000).contains(&limit) {
            return Err(WebError::refused(
                "limit",
                Sentence::new("log-invalid-limit", "limit must be 1–10000"),
            ));
        }
        Ok(audit::Filter {
            from: normalise_time("from", &self.from)?,
            to: normalise_time("to", &self.to)?,
            events: if self.kind.is_empty() {
                vec![]
            } else {
                vec![self.kind.clone()]
            },
            user: Some(self.user.trim().to_string()).filter(|u| !u.is_empty()),
            source: Some(self.source.trim().to_string()).filter(|u| !u.is_empty()),
            before_id: self.before,
            limit,
        })
    }

    fn query_string(&self) -> String {
        let mut q = self.clone();
        q.before = None;
        serde_urlencoded::to_string(&q).unwrap_or_default()
    }
}

/// The catalogue key of an event's short phrase, for people reading the log page; the codes
/// themselves stay in the exports and the API, where SIEM rules match them. The catalogue test
/// walks `Event::ALL`, so a new event cannot be added without a phrase in each language.
pub fn event_key(e: Event) -> String {
    format!("event-{}", e.as_str())
}

/// The keys of event details that have a label in the catalogue (`log-detail-<key>`); others
/// read as their name ("min_length" → "Min length").
pub const DETAIL_LABELS: &[&str] = &[
    "reason",
    "attempt",
    "attempts",
    "failed_attempts",
    "was_locked",
    "method",
    "purpose",
    "new_address",
    "second_factor",
    "sessions_revoked",
    "other_sessions_revoked",
    "must_enrol",
    "expires_at",
    "from",
    "to",
    "rows",
    "fields",
    "kept",
    "rule",
    "severity",
    "subject",
    "summary",
    "events",
    "count",
    "filename",
    "version",
    "size",
    "scopes",
    "module",
    "comment",
    "url",
    "number",
    "seconds",
    "token_id",
    "feed_id",
    "checkpoint",
    "destinations",
];

/// A detail's label in the reader's language: its catalogue label, else its name.
fn label(key: &str, tr: &Tr) -> String {
    let k = format!("log-detail-{key}");
    if DETAIL_LABELS.contains(&key) && tr.has(&k) {
        tr.t(&k)
    } else {
        label_of(key)
    }
}

/// `some_key` as "Some key".
fn label_of(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// The values the security log stores as short English phrases (why a sign-in was refused, which
/// second factor, what a code was for), each worded on the page as `log-value-<phrase as a slug>`.
/// The stored text stays as it is: it is what the syslog stream and exports carry.
pub const WORDED_VALUES: &[&str] = &[
    "account disabled",
    "account locked",
    "support account expired",
    "support account used from outside its networks",
    "wrong password",
    "temporary password expired",
    "unknown user",
    "replaced by a new sign-in",
    "unused",
    "wrong code (re-authentication)",
    "wrong current password",
    "email",
    "totp",
    "enrolment",
    "sign_in",
    "re-authentication",
];

/// The catalogue key of a worded value.
pub fn value_key(value: &str) -> String {
    let slug: String = value
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let slug: Vec<&str> = slug.split('-').filter(|p| !p.is_empty()).collect();
    format!("log-value-{}", slug.join("-"))
}

/// A detail's value: the reason, method and purpose phrases in the reader's words, the rest as
/// [`value_text`] writes it.
fn shown_value(key: &str, v: &serde_json::Value, tr: &Tr) -> String {
    if matches!(key, "reason" | "method" | "purpose")
        && let Some(text) = v.as_str()
        && WORDED_VALUES.contains(&text)
    {
        return tr.t(&value_key(text));
    }
    value_text(v, tr)
}

/// One value of the details as text: strings as they are, lists joined, nested objects as
/// `key: value` pairs, nothing as a dash.
fn value_text(v: &serde_json::Value, tr: &Tr) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "—".to_string(),
        Value::Bool(b) => crate::web::labels::yes_no(tr, *b),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.is_empty() => "—".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => tr.t("log-none"),
        Value::Array(items) => items
            .iter()
            .map(|i| value_text(i, tr))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{}: {}", label(k, tr), shown_value(k, v, tr)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The stored details (a JSON object) as label/value pairs; text that is not an object stays one
/// pair labelled "Details", so nothing in the log is hidden from the page.
pub fn detail_pairs(details: &str, tr: &Tr) -> Vec<(String, String)> {
    match serde_json::from_str::<serde_json::Value>(details) {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| (label(k, tr), shown_value(k, v, tr)))
            .collect(),
        _ if details.trim().is_empty() => Vec::new(),
        Ok(other) => vec![(tr.t("log-details"), value_text(&other, tr))],
        Err(_) => vec![(tr.t("log-details"), details.to_string())],
    }
}

/// One row of the page, as people read it.
struct LogRowView {
    at: String,
    event: String,
    code: String,
    success: bool,
    actor: String,
    support: bool,
    target: String,
    source: String,
    details: Vec<(String, String)>,
}

impl LogRowView {
    fn new(r: audit::log::AuditRow, tr: &Tr) -> Self {
        LogRowView {
            event: Event::parse(&r.event)
                .map(|e| tr.t(&event_key(e)))
                .unwrap_or_else(|| r.event.clone()),
            success: r.outcome == "success",
            support: r.actor_kind == "support",
            details: detail_pairs(&r.details, tr),
            at: r.at,
            code: r.event,
            actor: r.actor,
            target: r.target,
            source: r.source,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_log.html")]
struct LogPage {
    c: Chrome,
    chain: String,
    q: LogQuery,
    query: String,
    types: Vec<(&'static str, String)>,
    rows: Vec<LogRowView>,
    older: Option<i64>,
}

const PAGE_ROWS: usize = 100;

pub async fn log(
    Ctx { state, inst, s, .. }: Ctx,
    Query(q): Query<LogQuery>,
) -> Result<Response, WebError> {
    let filter = q.filter(PAGE_ROWS)?;
    let (rows, report) = audit::log::page_checked(&inst, filter).await?;
    let c = chrome(&state, &inst, Some(&s)).await?;
    let chain = match report {
        ChainReport::Intact { rows } => c.count("log-chain-intact", rows as usize),
        ChainReport::Broken { id, reason } => c.t2("log-chain-broken", "id", id, "reason", reason),
    };
    let older = (rows.len() == PAGE_ROWS)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    render(&LogPage {
        chain,
        query: q.query_string(),
        q,
        types: Event::ALL
            .iter()
            .map(|e| (e.as_str(), c.t(&event_key(*e))))
            .collect(),
        rows: rows
            .into_iter()
            .map(|r| LogRowView::new(r, &c.tr))
            .collect(),
        older,
        c,
    })
}

/// Reads up to 10,000 matching rows and records the export itself in the log.
async fn export_rows(
    inst: &Instance,
    by: By,
    q: &LogQuery,
    format: &'static str,
) -> Result<Vec<audit::log::AuditRow>, WebError> {
    let mut filter = q.filter(10_000)?;
    filter.limit = q.limit.unwrap_or(10_000);
    Ok(audit::log::export(inst, by, filter, format, q.query_string()).await?)
}

pub async fn export_csv(
    Ctx { inst, by, .. }: Ctx,
    Query(q): Query<LogQuery>,
) -> Result<Response, WebError> {
    let rows = export_rows(&inst, by, &q, "csv").await?;
    let mut out = crate::csv::row(&[
        "id",
        "at",
        "event",
        "outcome",
        "actor",
        "actor_kind",
        "target",
        "source",
        "details",
        "hash",
    ]);
    for r in rows {
        out.push_str(&crate::csv::row(&[
            r.id.to_string(),
            r.at,
            r.event,
            r.outcome,
            r.actor,
            r.actor_kind,
            r.target,
            r.source,
            r.details,
            r.hash,
        ]));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"holdfast-security-log.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

pub async fn export_json(
    Ctx { inst, by, .. }: Ctx,
    Query(q): Query<LogQuery>,
) -> Result<Response, WebError> {
    let rows = export_rows(&inst, by, &q, "json").await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"holdfast-security-log.json\"",
        )],
        axum::Json(rows),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en() -> Tr {
        Tr::new(
            std::sync::Arc::new(crate::i18n::Catalogue::embedded()),
            crate::i18n::Locale::En,
        )
    }

    #[test]
    fn detail_labels_follow_the_readers_language() {
        let pl = Tr::new(
            std::sync::Arc::new(crate::i18n::Catalogue::embedded()),
            crate::i18n::Locale::Pl,
        );
        assert_eq!(
            detail_pairs(
                r#"{"failed_attempts":3,"from":{"min_length":12},"odd_key":1}"#,
                &pl
            ),
            vec![
                ("Nieudane próby".to_string(), "3".to_string()),
                ("Przed zmianą".to_string(), "Min length: 12".to_string()),
                ("Odd key".to_string(), "1".to_string()),
            ]
        );
    }

    #[test]
    fn details_read_as_label_value_pairs() {
        assert_eq!(
            detail_pairs(
                r#"{"reason":"wrong password","attempts":3,"fields":["name","email"],"kept":false}"#,
                &en()
            ),
            vec![
                ("Reason".to_string(), "wrong password".to_string()),
                ("Attempts".to_string(), "3".to_string()),
                ("Fields".to_string(), "name, email".to_string()),
                ("Kept".to_string(), "no".to_string()),
            ]
        );
        assert_eq!(
            detail_pairs(r#"{"from":{"min_length":12},"to":null}"#, &en()),
            vec![
                ("From".to_string(), "Min length: 12".to_string()),
                ("To".to_string(), "—".to_string()),
            ]
        );
        assert!(detail_pairs("{}", &en()).is_empty());
        assert!(detail_pairs("", &en()).is_empty());
        assert_eq!(
            detail_pairs("not json", &en()),
            vec![("Details".to_string(), "not json".to_string())]
        );
    }
}
