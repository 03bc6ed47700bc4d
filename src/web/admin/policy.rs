//! The security policy page and the sign-in notice.

use super::*;

struct PolicyField {
    key: &'static str,
    label: String,
    help: String,
    value: String,
}

#[derive(Template)]
#[template(path = "admin_policy.html")]
struct PolicyPage {
    c: Chrome,
    notes: Notes,
    warnings: Vec<String>,
    fields: Vec<PolicyField>,
    factor_options: Vec<String>,
    signin_notice: String,
}

async fn policy_page(ctx: &Ctx, notes: Notes) -> Result<Response, WebError> {
    let p = accounts::policy(&ctx.inst).await?;
    let c = frame(ctx).await?;
    let fields = p
        .to_pairs()
        .into_iter()
        .map(|(key, value)| PolicyField {
            key,
            label: c.t(&format!("policy-{key}")),
            help: c.t(&format!("policy-{key}-help")),
            value,
        })
        .collect();
    let page = PolicyPage {
        warnings: policy_warnings(&p, &c.tr),
        c,
        notes,
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
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        let tr = ctx.words().await?;
        let said = errors.iter().map(|e| e.message().render(&tr)).collect();
        return policy_page(&ctx, Notes::refused(said)).await;
    }
    for (key, new) in &changes {
        let b = ctx.by.clone();
        current = accounts::set_policy(&ctx.inst, b, key.clone(), new.clone()).await?;
    }
    let _ = current;
    let msg = ctx.words().await?.count("saved-settings", changes.len());
    policy_page(&ctx, Notes::done(msg)).await
}

/// `POST /admin/notice`: the notice shown before sign-in.
pub async fn save_notice(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let saved = crate::auth::notice::set(&ctx.inst, ctx.by.clone(), value(&f, "notice"))
        .await
        .map(|()| String::new());
    let saved = match saved {
        Ok(_) => Ok(ctx.words().await?.t("policy-notice-saved")),
        Err(e) => Err(e),
    };
    policy_page(&ctx, outcome(&ctx.words().await?, saved)?).await
}
