//! The integrations page: every destination data can go to and every flow out of the appliance
//! (mail relay, syslog collector, each webhook endpoint, calendar feeds, metrics listener) with
//! since when, the last success and where its switch is.

use super::*;
use crate::egress::{Destination, Flow};

/// One line of the page.
pub struct Line {
    pub what: String,
    pub to: String,
    pub since: Option<String>,
    pub last: Option<String>,
    pub state: String,
    pub on: bool,
    /// The page holding the switch, or `None` when the switch is the configuration file.
    pub link: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_integrations.html")]
struct IntegrationsPage {
    c: Chrome,
    lines: Vec<Line>,
}

/// The lines, in the order the page and `doctor --network` show them.
async fn lines(ctx: &Ctx, tr: &crate::i18n::Tr) -> Result<Vec<Line>, WebError> {
    let seen = audit::egress::destinations(&ctx.inst).await?;
    let book = |d: &Destination| {
        let shown = d.to_string();
        seen.iter()
            .find(|r| r.flow == d.flow.as_str() && r.destination == shown)
            .map(|r| (Some(r.first_seen_at.clone()), r.last_success_at.clone()))
            .unwrap_or((None, None))
    };
    let config = &ctx.state.config;
    let file = |section: &str| tr.t1("integrations-config-file", "section", section);
    let fixed = |what: &str, section: &str, dest: Option<(Destination, String)>| {
        let (to, since, last, on) = match dest {
            Some((d, extra)) => {
                let (since, last) = book(&d);
                (format!("{d} {extra}").trim().to_string(), since, last, true)
            }
            None => (tr.t("integrations-not-set"), None, None, false),
        };
        Line {
            what: tr.t(what),
            to,
            since,
            last,
            state: tr.t(if on {
                "integrations-on"
            } else {
                "integrations-off"
            }),
            on,
            link: None,
        }
        .with_note(file(section))
    };
    let mail = config.mail.as_ref().map(|m| {
        (
            Destination::new(Flow::Mail, &m.smtp_host, m.smtp_port),
            format!("({})", m.tls),
        )
    });
    let mut out = Vec::new();
    let mut mail_line = fixed("integrations-mail", "[mail]", mail);
    mail_line.link = Some("/admin/mail".into());
    out.push(mail_line);
    let syslog = config.audit_forward.as_ref().map(|f| {
        (
            Destination::new(Flow::Syslog, &f.host, f.port),
            if f.tls {
                "(TLS)".to_string()
            } else {
                String::new()
            },
        )
    });
    out.push(fixed("integrations-syslog", "[audit_forward]", syslog));
    for e in crate::webhooks::list(&ctx.inst).await? {
        let (state, on) = if e.disabled_at.is_some() {
            (tr.t("integrations-webhook-disabled"), false)
        } else if e.failing_since.is_some() {
            (tr.t("integrations-webhook-failing"), true)
        } else {
            (tr.t("integrations-on"), true)
        };
        out.push(Line {
            what: tr.t("integrations-webhook"),
            to: e.url.clone(),
            since: Some(e.created_at.clone()),
            last: e.last_success_at.clone(),
            state,
            on,
            link: Some(format!("/admin/webhooks/{}", e.id)),
        });
    }
    let feeds = crate::hub::feeds::allowed(&ctx.inst).await?;
    out.push(Line {
        what: tr.t("integrations-feeds"),
        to: tr.t("integrations-fetched"),
        since: None,
        last: None,
        state: tr.t(if feeds {
            "integrations-feeds-allowed"
        } else {
            "integrations-feeds-forbidden"
        }),
        on: feeds,
        link: Some("/admin/feeds".into()),
    });
    let metrics = config.metrics.as_ref().map(|m| m.listen.to_string());
    out.push(
        Line {
            what: tr.t("integrations-metrics"),
            to: match &metrics {
                Some(listen) => format!("{listen} — {}", tr.t("integrations-fetched")),
                None => tr.t("integrations-not-set"),
            },
            since: None,
            last: None,
            state: tr.t(if metrics.is_some() {
                "integrations-on"
            } else {
                "integrations-off"
            }),
            on: metrics.is_some(),
            link: None,
        }
        .with_note(file("[metrics]")),
    );
    Ok(out)
}

impl Line {
    /// Where the switch is when it is not a page: appended to the destination.
    fn with_note(mut self, note: String) -> Line {
        if self.link.is_none() {
            self.to = format!("{} · {note}", self.to);
        }
        self
    }
}

/// `GET /admin/integrations`.
pub async fn integrations(ctx: Ctx) -> Result<Response, WebError> {
    let tr = ctx.words().await?;
    let lines = lines(&ctx, &tr).await?;
    render(&IntegrationsPage {
        c: frame(&ctx).await?,
        lines,
    })
}
