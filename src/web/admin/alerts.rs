//! Alerts: what the watch raised, with links to the events behind each in the security log;
//! acknowledging (with a note) and closing; the rules' thresholds.

use super::*;
use crate::watch::{self, AlertRow, WatchError};

#[derive(Template)]
#[template(path = "admin_alerts.html")]
struct AlertsPage {
    c: Chrome,
    notes: Notes,
    alerts: Vec<AlertView>,
    /// (name, label, value, low, high)
    thresholds: Vec<(&'static str, String, u32, u32, u32)>,
}

/// An alert with its rule, severity and state in the reader's words.
struct AlertView {
    a: AlertRow,
    summary: String,
    subject: String,
    rule: String,
    severity: String,
    state: String,
}

/// The catalogue keys this page can ask for, for the catalogue test.
pub fn alert_keys() -> Vec<String> {
    let mut keys: Vec<String> = watch::Rule::ALL
        .iter()
        .map(|r| format!("alert-rule-{}", r.as_str()))
        .collect();
    keys.extend(
        ["low", "medium", "high", "critical"]
            .iter()
            .map(|s| format!("alert-severity-{s}")),
    );
    keys.extend(
        ["open", "acknowledged", "closed"]
            .iter()
            .map(|s| format!("alert-state-{s}")),
    );
    keys.extend(
        ["user", "support", "token", "console", "system", "anonymous"]
            .iter()
            .map(|k| format!("alert-actor-{k}")),
    );
    keys.extend(
        crate::config::AlertThresholds::RANGES
            .iter()
            .map(|(n, _, _)| format!("alert-threshold-{n}")),
    );
    keys
}

async fn alerts_page(ctx: &Ctx, notes: Notes) -> Result<Response, WebError> {
    let alerts = watch::list(&ctx.inst).await?;
    let t = watch::thresholds(&ctx.inst, ctx.state.config.alerts.thresholds).await?;
    let c = frame(ctx).await?;
    let thresholds = t
        .pairs()
        .iter()
        .zip(crate::config::AlertThresholds::RANGES.iter())
        .map(|((name, v), (_, lo, hi))| {
            (*name, c.t(&format!("alert-threshold-{name}")), *v, *lo, *hi)
        })
        .collect();
    let alerts = alerts
        .into_iter()
        .map(|a| AlertView {
            summary: watch::summary_in(&a, &c.tr),
            subject: watch::subject_in(&a, &c.tr),
            rule: c.t(&format!("alert-rule-{}", a.rule)),
            severity: c.t(&format!("alert-severity-{}", a.severity)),
            state: c.t(&format!("alert-state-{}", a.state)),
            a,
        })
        .collect();
    let page = AlertsPage {
        c,
        notes,
        alerts,
        thresholds,
    };
    render_refused(&page, page.notes.failed())
}

/// The admin's outcome of a change: a refusal the admin can fix is shown on the page.
async fn after(ctx: &Ctx, result: Result<String, WatchError>) -> Result<Response, WebError> {
    match result {
        Ok(m) => alerts_page(ctx, Notes::done(m)).await,
        Err(WatchError::Invalid(said)) => {
            let tr = ctx.words().await?;
            alerts_page(ctx, Notes::refused(vec![said.render(&tr)])).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn alerts(ctx: Ctx) -> Result<Response, WebError> {
    alerts_page(&ctx, Notes::default()).await
}

/// `POST /admin/alerts/{id}/{action}`: `ack` (a note is required) or `close`.
pub async fn alert_action(
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let note = value(&form_pairs(&raw), "note").to_string();
    let close = match action.as_str() {
        "ack" => false,
        "close" => true,
        _ => return Err(WebError::NotFound),
    };
    let tr = ctx.words().await?;
    let result = watch::change_state(&ctx.inst, ctx.by.clone(), id, close, note)
        .await
        .map(|a| {
            tr.with(
                "alert-now",
                &[
                    ("id", a.id.to_string().into()),
                    ("state", tr.t(&format!("alert-state-{}", a.state)).into()),
                ],
            )
        });
    after(&ctx, result).await
}

/// `POST /admin/alerts/rules`: the thresholds; a bad value is reported and nothing is saved.
pub async fn save_alert_rules(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let changes = crate::config::AlertThresholds::RANGES
        .iter()
        .map(|(name, _, _)| (name.to_string(), value(&f, name).to_string()))
        // A field the form did not send stays as it is.
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let result = watch::set_thresholds(
        &ctx.inst,
        ctx.by.clone(),
        ctx.state.config.alerts.thresholds,
        changes,
    )
    .await
    .map(|_| String::new());
    let result = match result {
        Ok(_) => Ok(ctx.words().await?.t("alert-rules-saved")),
        Err(e) => Err(e),
    };
    after(&ctx, result).await
}
