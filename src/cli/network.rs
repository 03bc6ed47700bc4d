//! `holdfast doctor --network`: each configured destination tried through the one egress path —
//! reachable, TLS verified, days until its certificate expires — and then every destination and
//! flow out of the appliance as the integrations page lists it (`integrations::lines`: what, to
//! where, since when, last success). Nothing is sent: a connection is made and closed (for
//! STARTTLS mail, the SMTP greeting, STARTTLS and NOOP).

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::egress::{self, Destination, Egress, EgressError, Flow, MemoryLog};
use crate::i18n::{Catalogue, Locale, Tr};
use crate::instances::{DEFAULT_INSTANCE, Instance};

const TIMEOUT: Duration = Duration::from_secs(10);
/// A certificate expiring sooner than this is a warning.
const WARN_DAYS: i64 = 30;

/// One line of the report: status (`OK`, `WARN`, `FAIL`, `INFO`), what, the outcome.
pub type Line = (&'static str, String, String);

/// Checks every destination at `now` (certificate expiry); `instances` are only read, for their
/// webhook endpoints.
pub fn check(
    config: &Config,
    instances: &[Arc<Instance>],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Line> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return vec![("FAIL", "network".into(), format!("no runtime: {e}"))],
    };
    runtime.block_on(check_all(config, instances, now))
}

async fn check_all(
    config: &Config,
    instances: &[Arc<Instance>],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Line> {
    // The doctor only looks: nothing it tries is refused, so nothing needs the security log.
    let gate = Egress::from_config(config, Arc::new(MemoryLog::default()));
    let mut out = Vec::new();
    match &config.mail {
        Some(m) => {
            let want = Destination::new(Flow::Mail, &m.smtp_host, m.smtp_port);
            let what = format!("mail relay {want} ({})", m.tls);
            let line = match m.tls.as_str() {
                "tls" => tls_line(&gate, &want, &[], m.ca_file.as_deref(), true, now).await,
                "starttls" => match crate::mail::sender::settings_from(m)
                    .and_then(|s| crate::mail::smtp::Mailer::new(&s, Arc::new(gate_copy(&gate))))
                {
                    Ok(mailer) => match mailer.test_connection().await {
                        Ok(()) => ("OK", "reachable, STARTTLS verified, NOOP answered".into()),
                        Err(e) => ("FAIL", e.to_string()),
                    },
                    Err(e) => ("FAIL", e.to_string()),
                },
                _ => tcp_line(&gate, &want, &[]).await,
            };
            out.push((line.0, what, line.1));
        }
        None => out.push(("INFO", "mail relay".into(), "not configured".into())),
    }
    match &config.audit_forward {
        Some(f) => {
            let want = Destination::new(Flow::Syslog, &f.host, f.port);
            let what = format!("syslog collector {want}");
            let line = if f.tls {
                tls_line(&gate, &want, &[], f.ca_file.as_deref(), true, now).await
            } else {
                tcp_line(&gate, &want, &[]).await
            };
            out.push((line.0, what, line.1));
        }
        None => out.push(("INFO", "syslog collector".into(), "not configured".into())),
    }
    for inst in instances {
        let endpoints = match crate::webhooks::list(inst).await {
            Ok(e) => e,
            Err(e) => {
                out.push(("FAIL", format!("webhooks {}", inst.name), e.to_string()));
                continue;
            }
        };
        let enabled: Vec<_> = endpoints
            .iter()
            .filter(|e| e.disabled_at.is_none())
            .collect();
        if enabled.is_empty() {
            out.push((
                "INFO",
                format!("webhooks {}", inst.name),
                "none enabled".into(),
            ));
        }
        for e in enabled {
            let what = format!("webhook {} #{} {}", inst.name, e.id, e.url);
            let Ok(target) = crate::webhooks::http::Target::parse(&e.url) else {
                out.push(("FAIL", what, "the URL does not parse".into()));
                continue;
            };
            let want = target.destination();
            let allowed = [want.clone()];
            let line = if target.https {
                let ca = config.webhooks.ca_file.as_deref();
                tls_line(&gate, &want, &allowed, ca, false, now).await
            } else {
                tcp_line(&gate, &want, &allowed).await
            };
            out.push((line.0, what, line.1));
        }
    }
    out.extend(flows(config, instances).await);
    out
}

/// The integrations page's list of each instance, in English: what, to where, its state, since
/// when and the last success.
async fn flows(config: &Config, instances: &[Arc<Instance>]) -> Vec<Line> {
    let tr = Tr::new(Arc::new(Catalogue::embedded()), Locale::En);
    let operator = instances.iter().find(|i| i.name == DEFAULT_INSTANCE);
    let mut out = Vec::new();
    for inst in instances {
        match crate::integrations::lines(inst, operator.map(|o| o.as_ref()), config, &tr).await {
            Ok(lines) => out.extend(lines.into_iter().map(|l| {
                (
                    "INFO",
                    format!("flow {}: {}", inst.name, l.what),
                    format!(
                        "to {} · {} · since {} · last success {}",
                        l.to,
                        l.state,
                        l.since.as_deref().unwrap_or("-"),
                        l.last.unwrap_or_else(|| tr.t("integrations-never")),
                    ),
                )
            })),
            Err(e) => out.push(("FAIL", format!("flows {}", inst.name), e.to_string())),
        }
    }
    out
}

/// The same fixed destinations, for a mailer the doctor builds (the gate is not `Clone`).
fn gate_copy(gate: &Egress) -> Egress {
    Egress::new(gate.fixed().to_vec(), Arc::new(MemoryLog::default()))
}

async fn tcp_line(
    gate: &Egress,
    want: &Destination,
    allowed: &[Destination],
) -> (&'static str, String) {
    match gate.connect(want, allowed, None, TIMEOUT).await {
        Ok(_) => ("OK", "reachable (plain TCP, no TLS)".into()),
        Err(e) => ("FAIL", unreachable(e)),
    }
}

async fn tls_line(
    gate: &Egress,
    want: &Destination,
    allowed: &[Destination],
    ca_file: Option<&std::path::Path>,
    strict: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> (&'static str, String) {
    let config = match egress::trust_from_file(ca_file, strict).and_then(egress::client_config) {
        Ok(c) => c,
        Err(e) => return ("FAIL", format!("trust store: {e}")),
    };
    match egress::connect_tls(gate, want, allowed, None, TIMEOUT, &config).await {
        Ok(stream) => match egress::peer_days_left(&stream, now) {
            Some(d) if d < 0 => (
                "FAIL",
                format!("TLS verified, but the certificate expired {} days ago", -d),
            ),
            Some(d) if d < WARN_DAYS => (
                "WARN",
                format!("reachable, TLS verified, certificate expires in {d} days"),
            ),
            Some(d) => (
                "OK",
                format!("reachable, TLS verified, certificate valid {d} more days"),
            ),
            None => ("OK", "reachable, TLS verified".into()),
        },
        Err(e) => ("FAIL", unreachable(e)),
    }
}

fn unreachable(e: EgressError) -> String {
    match e {
        EgressError::Tls(_, why) => format!("reachable, but TLS failed: {why}"),
        other => format!("unreachable: {other}"),
    }
}
