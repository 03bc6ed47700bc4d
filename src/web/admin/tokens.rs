//! API tokens: the list, creating and revoking.

use super::*;

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct TokensPage {
    c: Chrome,
    notes: Notes,
    tokens: Vec<crate::auth::tokens::TokenRow>,
    max_days: u32,
}

async fn tokens_page(ctx: &Ctx, notes: Notes) -> Result<Response, WebError> {
    let tokens = crate::auth::tokens::list(&ctx.inst).await?;
    let max_days = accounts::policy(&ctx.inst).await?.token_max_days();
    render(&TokensPage {
        c: frame(ctx).await?,
        notes,
        tokens,
        max_days,
    })
}

pub async fn tokens(ctx: Ctx) -> Result<Response, WebError> {
    tokens_page(&ctx, Notes::default()).await
}

pub async fn create_token(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let days = value(&f, "expires_days");
    let days = if days.trim().is_empty() {
        None
    } else {
        match days.trim().parse::<u32>() {
            Ok(d) => Some(d),
            _ => {
                let why = ctx.words().await?.t("token-days-invalid");
                return tokens_page(&ctx, Notes::refused(vec![why])).await;
            }
        }
    };
    let networks = value(&f, "networks")
        .split([',', ' '])
        .filter(|n| !n.trim().is_empty())
        .map(str::to_string)
        .collect();
    let request = crate::auth::tokens::TokenRequest {
        service: value(&f, "service"),
        scopes: value(&f, "scopes"),
        expires_days: days,
        networks,
        owner_user_id: Some(ctx.s.user_id),
    };
    let tr = ctx.words().await?;
    let created = crate::auth::tokens::create(&ctx.inst, ctx.by.clone(), request)
        .await
        .map(|t| {
            tr.with(
                "token-created",
                &[
                    ("id", t.id.to_string().into()),
                    ("token", t.token.expose().into()),
                ],
            )
        });
    tokens_page(&ctx, outcome(&ctx.words().await?, created)?).await
}

pub async fn revoke_token(ctx: Ctx, Path(id): Path<i64>) -> Result<Response, WebError> {
    let tr = ctx.words().await?;
    let revoked = crate::auth::tokens::revoke(&ctx.inst, ctx.by.clone(), id)
        .await
        .map(|()| tr.t1("token-revoked", "id", id));
    tokens_page(&ctx, outcome(&ctx.words().await?, revoked)?).await
}
