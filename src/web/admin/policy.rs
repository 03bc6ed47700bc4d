//! The security policy page and the sign-in notice.

use super::*;

struct PolicyField {
    key: &'static str,
    label: &'static str,
    help: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "admin_policy.html")]
struct PolicyPage {
    c: Chrome,
    notes: Notes,
    warnings: Vec<&'static str>,
    fields: Vec<PolicyField>,
    factor_options: Vec<String>,
    signin_notice: String,
}

fn describe(key: &str) -> (&'static str, &'static str) {
    match key {
        "password_min_length" => (
            "Minimum password length",
            "8–128 characters; passwords up to 256 characters are always accepted.",
        ),
        "password_require_classes" => (
            "Required character classes",
            "0–4 of lower case, upper case, digit, symbol.",
        ),
        "password_history" => (
            "Password history",
            "0–24: how many previous passwords cannot be reused.",
        ),
        "password_max_age_days" => (
            "Password expiry (days)",
            "0 = never; otherwise the password must be changed at sign-in after this many days.",
        ),
        "lockout_threshold" => (
            "Lockout threshold",
            "1–100 consecutive failures lock the account until an admin unlocks it.",
        ),
        "second_factor" => (
            "Second factor",
            "off, optional, required (e-mailed code or app), required_totp (app only).",
        ),
        "session_idle_minutes" => ("Idle timeout (minutes)", "5–1440."),
        "session_absolute_hours" => ("Absolute session limit (hours)", "1–168."),
        "temporary_password_hours" => (
            "Temporary passwords expire after (hours)",
            "1–720: a password set by an administrator or the console must be changed within this time, or it stops working.",
        ),
        "token_max_days" => (
            "Longest API token lifetime (days)",
            "1–3650: no token can be made to live longer.",
        ),
        "inactive_disable_days" => (
            "Disable unused accounts after (days)",
            "0 = never; otherwise an account with no sign-in for this many days is disabled (support accounts excepted).",
        ),
        _ => ("", ""),
    }
}

async fn policy_page(ctx: &Ctx, notes: Notes) -> Result<Response, WebError> {
    let p = accounts::policy(&ctx.inst).await?;
    let fields = p
        .to_pairs()
        .into_iter()
        .map(|(key, value)| {
            let (label, help) = describe(key);
            PolicyField {
                key,
                label,
                help,
                value,
            }
        })
        .collect();
    let page = PolicyPage {
        c: frame(ctx).await?,
        notes,
        warnings: p.asvs_warnings(),
        fields,
        factor_options: SecondFactorMode::ALL
            .iter()
            .map(|m| m.as_str().to_string())
            .collect(),
        signin_notice: crate::auth::notice::get(&ctx.inst)
            .await?
            .unwrap_or_default(),
    };
    render_refused(&page, page.notes.failed())
}

pub async fn policy(ctx: Ctx) -> Result<Response, WebError> {
    policy_page(&ctx, Notes::default()).await
}

/// Saves every changed setting; a bad value is reported with its range and nothing else is saved.
pub async fn save_policy(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let mut current = accounts::policy(&ctx.inst).await?;
    let mut probe = current.clone();
    let mut errors = Vec::new();
    let mut changes = Vec::new();
    for key in KEYS {
        let new = value(&f, key).trim().to_string();
        if current.get(key).as_deref() == Some(new.as_str()) {
            continue;
        }
        match probe.set(key, &new) {
            Ok(()) => changes.push((key.to_string(), new)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return policy_page(&ctx, Notes::refused(errors)).await;
    }
    for (key, new) in &changes {
        let b = ctx.by.clone();
        current = accounts::set_policy(&ctx.inst, b, key.clone(), new.clone()).await?;
    }
    let _ = current;
    let msg = if changes.is_empty() {
        "Nothing changed.".to_string()
    } else {
        format!("Saved {} setting(s).", changes.len())
    };
    policy_page(&ctx, Notes::done(msg)).await
}

/// `POST /admin/notice`: the notice shown before sign-in.
pub async fn save_notice(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let saved = crate::auth::notice::set(&ctx.inst, ctx.by.clone(), value(&f, "notice"))
        .await
        .map(|()| "Notice saved.".to_string());
    policy_page(&ctx, outcome(saved)?).await
}
