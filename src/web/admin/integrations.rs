//! The integrations page: every destination data can go to and every flow out of the appliance
//! (mail relay, syslog collector, each webhook endpoint, calendar feeds, metrics listener, backup
//! destinations) with since when, the last success and where its switch is — the list of
//! `integrations::lines`, which `holdfast doctor --network` prints too.

use super::*;
use crate::integrations::Line;

#[derive(Template)]
#[template(path = "admin_integrations.html")]
struct IntegrationsPage {
    c: Chrome,
    lines: Vec<Line>,
}

/// `GET /admin/integrations`.
pub async fn integrations(ctx: Ctx) -> Result<Response, WebError> {
    let tr = ctx.words().await?;
    let operator = ctx.state.registry.get(crate::instances::DEFAULT_INSTANCE);
    let lines =
        crate::integrations::lines(&ctx.inst, operator.as_deref(), &ctx.state.config, &tr).await?;
    render(&IntegrationsPage {
        c: frame(&ctx).await?,
        lines,
    })
}
