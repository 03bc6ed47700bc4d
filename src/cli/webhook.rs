//! `holdfast admin webhook …`: registering, listing and disabling webhook endpoints, rotating
//! their secrets, and reading or repeating their deliveries from the console.

use crate::audit::{Actor, By};
use crate::instances::Instance;
use crate::webhooks::{self, NewWebhook};
use anyhow::Result;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register an endpoint and print its signing secret once
    Add {
        /// Where events are POSTed; https:// (http:// only with --allow-http)
        #[arg(long)]
        url: String,
        /// Event types, comma-separated: clients.created, invoices.paid, ... or * (every record event)
        #[arg(long)]
        events: String,
        /// Scopes as for API tokens, e.g. clients:read,invoices:read; bodies of other modules never leave
        #[arg(long)]
        scopes: String,
        /// Allow http:// to a loopback or private-network address (a receiver on this machine or
        /// a trusted internal segment); see docs/integrations.md
        #[arg(long)]
        allow_http: bool,
    },
    /// List endpoints
    List,
    /// Stop deliveries to an endpoint
    Disable { id: i64 },
    /// Replace an endpoint's secret and print the new one once
    RotateSecret { id: i64 },
    /// Show an endpoint's delivery log, newest first
    Deliveries {
        id: i64,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Queue a finished delivery of an endpoint again (same webhook-id)
    Redeliver { id: i64, delivery: i64 },
}

pub(super) async fn run(
    inst: &Instance,
    cmd: WebhookCommand,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let by = By {
        actor: Actor::Console,
        source: "console".into(),
        now,
    };
    match cmd {
        WebhookCommand::Add {
            url,
            events,
            scopes,
            allow_http,
        } => {
            let c = webhooks::add(
                inst,
                by,
                NewWebhook {
                    url,
                    events,
                    scopes,
                    allow_http,
                },
            )
            .await?;
            println!(
                "webhook #{} registered; its signing secret (shown only now; store it in the receiver):",
                c.id
            );
            println!("{}", c.secret.expose());
        }
        WebhookCommand::List => {
            println!(
                "{:<5} {:<9} {:<26} {:<40} {:<30} SCOPES",
                "ID", "STATE", "LAST SUCCESS", "URL", "EVENTS"
            );
            for e in webhooks::list(inst).await? {
                let state = if e.disabled_at.is_some() {
                    "disabled"
                } else if e.failing_since.is_some() {
                    "failing"
                } else {
                    "active"
                };
                println!(
                    "{:<5} {:<9} {:<26} {:<40} {:<30} {}",
                    e.id,
                    state,
                    e.last_success_at.unwrap_or_else(|| "never".into()),
                    e.url,
                    e.events,
                    e.scopes
                );
            }
        }
        WebhookCommand::Disable { id } => {
            webhooks::disable(inst, by, id).await?;
            println!("webhook #{id} disabled");
        }
        WebhookCommand::RotateSecret { id } => {
            let s = webhooks::rotate_secret(inst, by, id).await?;
            println!(
                "webhook #{id}: new signing secret (shown only now; the old one no longer signs):"
            );
            println!("{}", s.expose());
        }
        WebhookCommand::Deliveries { id, limit } => {
            println!(
                "{:<7} {:<34} {:<20} {:<10} {:<8} {:<8} {:<9} {:<26} RESPONSE",
                "ID", "WEBHOOK-ID", "EVENT", "STATE", "ATTEMPTS", "STATUS", "LATENCY", "CREATED"
            );
            for d in webhooks::deliveries(inst, id, limit).await? {
                let state = if d.delivered_at.is_some() {
                    "delivered"
                } else if d.failed_at.is_some() {
                    "failed"
                } else {
                    "pending"
                };
                let response: String = d
                    .last_response
                    .unwrap_or_default()
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(60)
                    .collect();
                println!(
                    "{:<7} {:<34} {:<20} {:<10} {:<8} {:<8} {:<9} {:<26} {}",
                    d.id,
                    d.msg_id,
                    d.event,
                    state,
                    d.attempts,
                    d.last_status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    d.last_latency_ms
                        .map(|ms| format!("{ms}ms"))
                        .unwrap_or_else(|| "-".into()),
                    d.created_at,
                    response
                );
            }
        }
        WebhookCommand::Redeliver { id, delivery } => {
            webhooks::redeliver(inst, by, id, delivery).await?;
            println!("delivery #{delivery} of webhook #{id} queued again");
        }
    }
    Ok(())
}
