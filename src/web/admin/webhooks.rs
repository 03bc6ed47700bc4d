//! Outbound webhooks: the endpoint list with the add form, disabling and secret rotation, and one
//! endpoint's delivery log with manual redelivery.

use super::*;
use crate::webhooks::{
    self as hooks, Delivery as DeliveryRow, Endpoint as EndpointRow, WebhookError,
};

/// Deliveries shown on an endpoint's page.
const LOG_ROWS: usize = 100;

#[derive(Template)]
#[template(path = "admin_webhooks.html")]
struct WebhooksPage {
    c: Chrome,
    notes: Notes,
    endpoints: Vec<EndpointRow>,
    events: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin_webhook.html")]
struct WebhookPage {
    c: Chrome,
    notes: Notes,
    e: EndpointRow,
    deliveries: Vec<DeliveryRow>,
}

fn refused_or(
    tr: &crate::i18n::Tr,
    result: Result<String, WebhookError>,
) -> Result<Notes, WebError> {
    match result {
        Ok(m) => Ok(Notes::done(m)),
        Err(WebhookError::Invalid(said)) => Ok(Notes::refused(vec![said.render(tr)])),
        Err(e) => Err(e.into()),
    }
}

async fn list_page(ctx: &Ctx, notes: Notes) -> Result<Response, WebError> {
    render(&WebhooksPage {
        c: frame(ctx).await?,
        notes,
        endpoints: hooks::list(&ctx.inst).await?,
        events: hooks::event_types(),
    })
}

async fn endpoint_page(ctx: &Ctx, id: i64, notes: Notes) -> Result<Response, WebError> {
    let e = hooks::get(&ctx.inst, id).await?;
    let deliveries = hooks::deliveries(&ctx.inst, id, LOG_ROWS).await?;
    render(&WebhookPage {
        c: frame(ctx).await?,
        notes,
        e,
        deliveries,
    })
}

pub async fn webhooks(ctx: Ctx) -> Result<Response, WebError> {
    list_page(&ctx, Notes::default()).await
}

pub async fn webhook(ctx: Ctx, Path(id): Path<i64>) -> Result<Response, WebError> {
    endpoint_page(&ctx, id, Notes::default()).await
}

pub async fn add_webhook(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let request = hooks::NewWebhook {
        url: value(&f, "url"),
        events: value(&f, "events"),
        scopes: value(&f, "scopes"),
        allow_http: value(&f, "allow_http") == "on",
    };
    let tr = ctx.words().await?;
    let created = hooks::add(&ctx.inst, ctx.by.clone(), request)
        .await
        .map(|c| {
            tr.with(
                "webhooks-created",
                &[
                    ("id", c.id.to_string().into()),
                    ("secret", c.secret.expose().into()),
                ],
            )
        });
    list_page(&ctx, refused_or(&tr, created)?).await
}

pub async fn webhook_action(
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let tr = ctx.words().await?;
    let done = match action.as_str() {
        "disable" => hooks::disable(&ctx.inst, ctx.by.clone(), id)
            .await
            .map(|()| tr.t1("webhooks-disabled", "id", id)),
        "rotate-secret" => hooks::rotate_secret(&ctx.inst, ctx.by.clone(), id)
            .await
            .map(|s| {
                tr.with(
                    "webhooks-rotated",
                    &[("id", id.to_string().into()), ("secret", s.expose().into())],
                )
            }),
        _ => return Err(WebError::NotFound),
    };
    list_page(&ctx, refused_or(&tr, done)?).await
}

pub async fn redeliver_webhook(
    ctx: Ctx,
    Path((id, delivery)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let tr = ctx.words().await?;
    let done = hooks::redeliver(&ctx.inst, ctx.by.clone(), id, delivery)
        .await
        .map(|()| tr.t1("webhooks-requeued", "delivery", delivery));
    endpoint_page(&ctx, id, refused_or(&tr, done)?).await
}
