//! API tokens: the list, creating and revoking.

use super::*;

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct TokensPage {
    c: Chrome,
    messages: Vec<String>,
    errors: Vec<String>,
    tokens: Vec<crate::auth::tokens::TokenRow>,
    max_days: u32,
}

async fn tokens_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    messages: Vec<String>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let tokens = crate::auth::tokens::list(inst).await?;
    let max_days = accounts::policy(inst).await?.token_max_days();
    render(&TokensPage {
        c: chrome(state, inst, Some(s)).await?,
        messages,
        errors,
        tokens,
        max_days,
    })
}

pub async fn tokens(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    tokens_page(&state, &inst, &s, vec![], vec![]).await
}

pub async fn create_token(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let days = value(&f, "expires_days");
    let days = if days.trim().is_empty() {
        None
    } else {
        match days.trim().parse::<u32>() {
            Ok(d) => Some(d),
            _ => {
                return tokens_page(
                    &state,
                    &inst,
                    &s,
                    vec![],
                    vec!["expires_days: a whole number of days, or empty for the longest the policy allows".into()],
                )
                .await;
            }
        }
    };
    let networks = value(&f, "networks")
        .split([',', ' '])
        .filter(|n| !n.trim().is_empty())
        .map(str::to_string)
        .collect();
    match crate::auth::tokens::create(
        &inst,
        by,
        crate::auth::tokens::TokenRequest {
            service: value(&f, "service"),
            scopes: value(&f, "scopes"),
            expires_days: days,
            networks,
            owner_user_id: Some(s.user_id),
        },
    )
    .await
    {
        Ok(t) => {
            let msg = format!(
                "Token #{} created. Copy it now, it is not shown again: {}",
                t.id,
                t.token.expose()
            );
            tokens_page(&state, &inst, &s, vec![msg], vec![]).await
        }
        Err(e) => tokens_page(&state, &inst, &s, vec![], vec![shown(e)?]).await,
    }
}

pub async fn revoke_token(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    match crate::auth::tokens::revoke(&inst, by, id).await {
        Ok(()) => {
            tokens_page(
                &state,
                &inst,
                &s,
                vec![format!("Token #{id} revoked.")],
                vec![],
            )
            .await
        }
        Err(e) => tokens_page(&state, &inst, &s, vec![], vec![shown(e)?]).await,
    }
}
