//! The security log: filters (shared with `GET /api/v1/audit`), the page with the chain check, CSV
//! and JSON exports.

use super::*;

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
            WebError::invalid(
                field,
                format!("`{v}` is not a time like 2026-11-22T08:00 (UTC)"),
            )
        })
}

impl LogQuery {
    pub fn filter(&self, default_limit: usize) -> Result<audit::Filter, WebError> {
        if !self.kind.is_empty() && Event::parse(&self.kind).is_none() {
            return Err(WebError::invalid(
                "type",
                format!("unknown event type `{}`", self.kind),
            ));
        }
        let limit = self.limit.unwrap_or(default_limit);
        if !(1..=10_000).contains(&limit) {
            return Err(WebError::invalid("limit", "limit must be 1–10000"));
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

#[derive(Template)]
#[template(path = "admin_log.html")]
struct LogPage {
    c: Chrome,
    chain: String,
    q: LogQuery,
    query: String,
    types: Vec<String>,
    rows: Vec<audit::log::AuditRow>,
    older: Option<i64>,
}

const PAGE_ROWS: usize = 100;

pub async fn log(
    Ctx { state, inst, s, .. }: Ctx,
    Query(q): Query<LogQuery>,
) -> Result<Response, WebError> {
    let filter = q.filter(PAGE_ROWS)?;
    let (rows, report) = audit::log::page_checked(&inst, filter).await?;
    let chain = match report {
        ChainReport::Intact { rows } => {
            format!("Hash chain verified: {rows} entries, none altered or removed.")
        }
        ChainReport::Broken { id, reason } => {
            format!("WARNING: the hash chain is broken at entry {id}: {reason}.")
        }
    };
    let older = (rows.len() == PAGE_ROWS)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    render(&LogPage {
        c: chrome(&state, &inst, Some(&s)).await?,
        chain,
        query: q.query_string(),
        q,
        types: Event::ALL.iter().map(|e| e.as_str().to_string()).collect(),
        rows,
        older,
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
