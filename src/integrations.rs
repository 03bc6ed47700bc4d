//! Every destination data can go to and every flow out of the appliance as one list — what, to
//! where, since when, the last success, its state and where its switch is — which the
//! integrations page shows and `holdfast doctor --network` prints; and the metrics listener's
//! book (first and newest scrape), which that list reads.

use crate::clock::stamp;
use crate::config::Config;
use crate::egress::{Destination, Flow};
use crate::i18n::Tr;
use crate::instances::{DEFAULT_INSTANCE, Instance};
use crate::storage::{StorageError, settings};
use chrono::{DateTime, Utc};

/// The operator instance's settings holding the first and the newest scrape of `/metrics`.
const SCRAPE_FIRST: &str = "metrics.first_scrape_at";
const SCRAPE_LAST: &str = "metrics.last_scrape_at";

/// A scrape is noted at most this often, so a scraper polling every few seconds costs the writer
/// one small transaction a minute.
pub const SCRAPE_NOTE_EVERY_SECONDS: i64 = 60;

/// One line of the list.
#[derive(Debug, Clone)]
pub struct Line {
    pub what: String,
    pub to: String,
    /// Stored RFC 3339 UTC times.
    pub since: Option<String>,
    pub last: Option<String>,
    pub state: String,
    pub on: bool,
    /// The page holding the switch, or `None` when the switch is the configuration file.
    pub link: Option<String>,
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

/// Notes a successful scrape of the metrics listener in the operator instance.
pub async fn note_scrape(operator: &Instance, now: DateTime<Utc>) -> Result<(), StorageError> {
    operator
        .db
        .write(move |tx| {
            let now = stamp(now);
            if settings::get(tx, SCRAPE_FIRST)?.is_none() {
                settings::set(tx, SCRAPE_FIRST, &now, &now)?;
            }
            settings::set(tx, SCRAPE_LAST, &now, &now)
        })
        .await
}

/// The list for instance `inst`, worded by `tr`; `operator` (the `default` instance, when open)
/// holds what belongs to the whole appliance, the metrics listener's scrapes.
pub async fn lines(
    inst: &Instance,
    operator: Option<&Instance>,
    config: &Config,
    tr: &Tr,
) -> Result<Vec<Line>, StorageError> {
    let seen = crate::audit::egress::destinations(inst).await?;
    let book = |d: &Destination| {
        let shown = d.to_string();
        seen.iter()
            .find(|r| r.flow == d.flow.as_str() && r.destination == shown)
            .map(|r| (Some(r.first_seen_at.clone()), r.last_success_at.clone()))
            .unwrap_or((None, None))
    };
    let file = |section: &str| tr.t1("integrations-config-file", "section", section);
    let on_off = |on: bool| {
        tr.t(if on {
            "integrations-on"
        } else {
            "integrations-off"
        })
    };
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
            state: on_off(on),
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
    for e in crate::webhooks::list(inst).await? {
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
    let feeds = crate::hub::feeds::book(inst).await?;
    out.push(Line {
        what: tr.t("integrations-feeds"),
        to: tr.t("integrations-fetched"),
        since: feeds.since,
        last: feeds.last_use,
        state: tr.t(if feeds.allowed {
            "integrations-feeds-allowed"
        } else {
            "integrations-feeds-forbidden"
        }),
        on: feeds.allowed,
        link: Some("/admin/feeds".into()),
    });
    let metrics = config.metrics.as_ref().map(|m| m.listen.to_string());
    let (since, last) = match (&metrics, operator) {
        (Some(_), Some(op)) => {
            op.db
                .read(|c| {
                    Ok::<_, StorageError>((
                        settings::get(c, SCRAPE_FIRST)?,
                        settings::get(c, SCRAPE_LAST)?,
                    ))
                })
                .await?
        }
        _ => (None, None),
    };
    out.push(
        Line {
            what: tr.t("integrations-metrics"),
            to: match &metrics {
                Some(listen) => format!("{listen} — {}", tr.t("integrations-fetched")),
                None => tr.t("integrations-not-set"),
            },
            since,
            last,
            state: on_off(metrics.is_some()),
            on: metrics.is_some(),
            link: None,
        }
        .with_note(file("[metrics]")),
    );
    out.extend(backup_lines(inst, config, tr));
    Ok(out)
}

/// One line per backup destination: encrypted archives of every instance, written to a local or
/// mounted directory; the last success is the recorded outcome of the newest run there.
fn backup_lines(inst: &Instance, config: &Config, tr: &Tr) -> Vec<Line> {
    let status = crate::backup::status::load(&config.data_dir);
    let link = (inst.name == DEFAULT_INSTANCE).then(|| "/admin/backups".to_string());
    let note = tr.t1("integrations-config-file", "section", "[backup]");
    if config.backup.destinations.is_empty() {
        return vec![
            Line {
                what: tr.t("integrations-backup"),
                to: tr.t("integrations-not-set"),
                since: None,
                last: None,
                state: tr.t("integrations-off"),
                on: false,
                link: None,
            }
            .with_note(note),
        ];
    }
    config
        .backup
        .destinations
        .iter()
        .map(|dest| {
            let shown = dest.display().to_string();
            let last = status
                .destinations
                .get(&shown)
                .and_then(|d| d.last_success.clone());
            Line {
                what: tr.t("integrations-backup"),
                to: shown,
                since: None,
                last,
                state: tr.t("integrations-on"),
                on: true,
                link: link.clone(),
            }
            .with_note(note.clone())
        })
        .collect()
}
