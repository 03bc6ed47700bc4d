//! The Prometheus exposition: live request counters and latency histograms (fed by the web layer),
//! and one scrape's OpenMetrics text built from them and a [`Snapshot`] of figures read at scrape
//! time. No global registry: the owner holds a [`RequestMetrics`] in its state and passes it in.
//!
//! Every label has a bounded set of values: routes are the route table's patterns (never a raw
//! path), methods a fixed list, instances and backup destinations what the admin configured.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;

/// Label pairs of one series; the names are fixed, only values vary.
type Labels = Vec<(&'static str, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// What the exposition's `Content-Type` says (the OpenMetrics text format, with `# EOF`).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The classic Prometheus text format's `Content-Type`, for scrapers that do not ask for
/// OpenMetrics (and for `promtool check metrics`, which reads only that format).
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The same exposition in the classic text format (0.0.4): there a counter's `HELP` and `TYPE`
/// name the family with its `_total` suffix, as its samples do, and `# UNIT` and `# EOF` do not
/// exist. prometheus-client writes OpenMetrics only; this is the one difference that matters.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 64 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let described = ["# HELP ", "# TYPE "]
            .iter()
            .find_map(|p| Some((*p, line.strip_prefix(p)?)));
        match described {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(prefix);
                out.push_str(name);
                if counters.contains(name) {
                    out.push_str("_total");
                }
                out.push(' ');
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Upper bounds (seconds) of the request latency buckets: from a cached page to an Argon2 sign-in
/// under load and a large export.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Label of requests that matched no route: their paths are whatever a client sent.
pub const UNMATCHED_ROUTE: &str = "unmatched";

fn new_latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Requests by route, method and status, and latency by route; shared by every connection.
#[derive(Debug, Clone)]
pub struct RequestMetrics {
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(new_latency_histogram),
        }
    }
}

/// The methods counted by name; anything else is `other`, so a client cannot mint label values.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl RequestMetrics {
    /// One answered request. `route` is the matched route pattern (`None`: no route matched).
    pub fn observe(&self, method: &str, route: Option<&str>, status: u16, seconds: f64) {
        let route = route.unwrap_or(UNMATCHED_ROUTE).to_string();
        self.requests
            .get_or_create(&vec![
                ("route", route.clone()),
                ("method", method_label(method).to_string()),
                ("status", status.to_string()),
            ])
            .inc();
        self.latency
            .get_or_create(&vec![("route", route)])
            .observe(seconds);
    }

    /// The OpenMetrics text of one scrape: the request series and everything in `snap`.
    pub fn encode(&self, snap: &Snapshot) -> Result<String, std::fmt::Error> {
        let mut reg = Registry::with_prefix("holdfast");
        reg.register(
            "http_requests",
            "HTTPS requests answered, by route pattern, method and status",
            self.requests.clone(),
        );
        reg.register_with_unit(
            "http_request_duration",
            "Time from request to response head, by route pattern",
            Unit::Seconds,
            self.latency.clone(),
        );
        snap.register(&mut reg);
        let mut out = String::new();
        encode(&mut out, &reg)?;
        Ok(out)
    }
}

/// Figures read when Prometheus scrapes (files, counters kept elsewhere, the databases).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub version: String,
    /// (step, outcome, count): step `password` or `second_factor`; outcome `accepted`, `rejected`,
    /// `throttled`, `invalid` or `error`.
    pub signins: Vec<(&'static str, &'static str, u64)>,
    /// Attempts the per-address throttle refused (sign-in, code, re-authentication, enrolment).
    pub throttle_refusals: u64,
    pub instances: Vec<InstanceFigures>,
    pub backups: Vec<BackupFigures>,
    /// When the serving certificate expires (Unix seconds); `None`: unreadable.
    pub certificate_expiry: Option<i64>,
    pub update: UpdateFigures,
    /// Open alerts by severity, once alerting exists; `None` leaves the series out.
    pub open_alerts: Option<Vec<(String, u64)>>,
}

#[derive(Debug, Clone, Default)]
pub struct InstanceFigures {
    pub name: String,
    pub database_bytes: u64,
    pub wal_bytes: u64,
    /// Accounts locked now (by failed sign-ins or by an admin).
    pub locked_accounts: u64,
    /// Writes waiting for the single writer.
    pub writer_queue: u64,
    pub group_commits: GroupCommits,
    /// Seconds the writer has spent on batches of writes, and on their COMMITs, since start.
    pub writer_busy_seconds: f64,
    pub commit_seconds: f64,
}

/// How many writes shared each commit: non-cumulative bucket counts by upper bound (the last one
/// `f64::INFINITY`), their sum and count.
#[derive(Debug, Clone, Default)]
pub struct GroupCommits {
    pub buckets: Vec<(f64, u64)>,
    pub writes: u64,
    pub commits: u64,
}

#[derive(Debug, Clone, Default)]
pub struct BackupFigures {
    pub destination: String,
    /// Unix seconds of the last successful backup.
    pub last_success: Option<i64>,
    /// Seconds since the last successful backup (the clock's now minus `last_success`).
    pub age_seconds: Option<i64>,
    /// False when the most recent run to this destination failed.
    pub last_ok: bool,
    /// Unix seconds of the last verification restore, its duration and whether it passed.
    pub last_verified: Option<i64>,
    pub last_verify_seconds: Option<f64>,
    pub last_verify_ok: bool,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateFigures {
    /// An update's journal exists: one is being applied or was interrupted.
    pub in_progress: bool,
    /// The outcome of the newest update history entry (`None`: no history).
    pub last_ok: Option<bool>,
    /// Unix seconds of that entry.
    pub last_at: Option<i64>,
    pub security_epoch: u64,
}

/// One labelled gauge family built for a scrape.
fn gauges<I>(series: I) -> Family<Labels, FloatGauge>
where
    I: IntoIterator<Item = (Labels, f64)>,
{
    let family = Family::<Labels, FloatGauge>::default();
    for (labels, value) in series {
        family.get_or_create(&labels).set(value);
    }
    family
}

/// One labelled counter family of seconds, built for a scrape from totals kept elsewhere.
fn seconds_counters<I>(series: I) -> Family<Labels, Counter<f64, AtomicU64>>
where
    I: IntoIterator<Item = (Labels, f64)>,
{
    let family = Family::<Labels, Counter<f64, AtomicU64>>::default();
    for (labels, value) in series {
        family.get_or_create(&labels).inc_by(value);
    }
    family
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn instance(name: &str) -> Labels {
    vec![("instance_name", name.to_string())]
}

fn destination(d: &str) -> Labels {
    vec![("destination", d.to_string())]
}

impl Snapshot {
    fn register(&self, reg: &mut Registry) {
        let info = gauges([(vec![("version", self.version.clone())], 1.0)]);
        reg.register("build_info", "The running holdfast version", info);

        let signins = Family::<Labels, Counter>::default();
        for (step, outcome, n) in &self.signins {
            signins
                .get_or_create(&vec![
                    ("step", step.to_string()),
                    ("outcome", outcome.to_string()),
                ])
                .inc_by(*n);
        }
        reg.register(
            "signins",
            "Sign-in steps since start, by step and outcome",
            signins,
        );
        reg.register(
            "throttle_refusals",
            "Password and code attempts the per-address throttle refused since start",
            ConstCounter::new(self.throttle_refusals),
        );

        let per_instance = |f: fn(&InstanceFigures) -> f64| {
            gauges(self.instances.iter().map(|i| (instance(&i.name), f(i))))
        };
        reg.register(
            "database_size_bytes",
            "Size of the instance's encrypted database file",
            per_instance(|i| i.database_bytes as f64),
        );
        reg.register(
            "wal_size_bytes",
            "Size of the instance's write-ahead log",
            per_instance(|i| i.wal_bytes as f64),
        );
        reg.register(
            "accounts_locked",
            "Accounts of the instance locked now",
            per_instance(|i| i.locked_accounts as f64),
        );
        reg.register(
            "writer_queue_depth",
            "Writes waiting for the instance's database writer",
            per_instance(|i| i.writer_queue as f64),
        );
        reg.register_with_unit(
            "db_writer_busy",
            "Time the instance's single database writer spent running writes and committing them; a rate near 1 means writes are at its capacity",
            Unit::Seconds,
            seconds_counters(
                self.instances
                    .iter()
                    .map(|i| (instance(&i.name), i.writer_busy_seconds)),
            ),
        );
        reg.register_with_unit(
            "db_commit",
            "Time the instance's database writer spent in COMMIT (page encryption, write-ahead log write and fsync)",
            Unit::Seconds,
            seconds_counters(
                self.instances
                    .iter()
                    .map(|i| (instance(&i.name), i.commit_seconds)),
            ),
        );
        reg.register(
            "group_commit_writes",
            "Writes that shared one commit of the instance's database writer",
            GroupCommitFamily(
                self.instances
                    .iter()
                    .map(|i| (instance(&i.name), i.group_commits.clone()))
                    .collect(),
            ),
        );

        let per_destination = |f: fn(&BackupFigures) -> Option<f64>| {
            gauges(
                self.backups
                    .iter()
                    .filter_map(|b| Some((destination(&b.destination), f(b)?))),
            )
        };
        reg.register(
            "backup_last_success_timestamp_seconds",
            "When the last backup to the destination succeeded (Unix time)",
            per_destination(|b| b.last_success.map(|t| t as f64)),
        );
        reg.register(
            "backup_age_seconds",
            "Seconds since the last successful backup to the destination",
            per_destination(|b| b.age_seconds.map(|t| t as f64)),
        );
        reg.register(
            "backup_last_result_ok",
            "1 when the most recent backup to the destination succeeded, 0 when it failed",
            per_destination(|b| Some(flag(b.last_ok))),
        );
        reg.register(
            "backup_last_verify_timestamp_seconds",
            "When the last verification restore from the destination ran (Unix time)",
            per_destination(|b| b.last_verified.map(|t| t as f64)),
        );
        reg.register(
            "backup_last_verify_duration_seconds",
            "How long the last verification restore took: the measured recovery time",
            per_destination(|b| b.last_verify_seconds),
        );
        reg.register(
            "backup_last_verify_ok",
            "1 when the last verification restore passed, 0 when it failed",
            per_destination(|b| b.last_verified.map(|_| flag(b.last_verify_ok))),
        );

        if let Some(at) = self.certificate_expiry {
            reg.register(
                "tls_certificate_expiry_timestamp_seconds",
                "When the serving certificate expires (Unix time; days left: (this - time()) / 86400)",
                gauges([(Labels::new(), at as f64)]),
            );
        }

        reg.register(
            "update_in_progress",
            "1 while an update is being applied or was interrupted (update/work/journal.json exists)",
            gauges([(Labels::new(), flag(self.update.in_progress))]),
        );
        if let Some(ok) = self.update.last_ok {
            reg.register(
                "update_last_result_ok",
                "1 when the newest update, rollback or recovery succeeded, 0 when it failed",
                gauges([(Labels::new(), flag(ok))]),
            );
        }
        if let Some(at) = self.update.last_at {
            reg.register(
                "update_last_timestamp_seconds",
                "When the newest update, rollback or recovery ended (Unix time)",
                gauges([(Labels::new(), at as f64)]),
            );
        }
        reg.register(
            "update_security_epoch",
            "The security epoch recorded by the last update (rises, never falls)",
            gauges([(Labels::new(), self.update.security_epoch as f64)]),
        );

        if let Some(alerts) = &self.open_alerts {
            reg.register(
                "alerts_open",
                "Open alerts by severity",
                gauges(
                    alerts
                        .iter()
                        .map(|(sev, n)| (vec![("severity", sev.clone())], *n as f64)),
                ),
            );
        }
    }
}

/// Group-commit sizes per instance, encoded as histograms from counts the storage layer keeps.
#[derive(Debug)]
struct GroupCommitFamily(Vec<(Labels, GroupCommits)>);

impl EncodeMetric for GroupCommitFamily {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, h) in &self.0 {
            encoder
                .encode_family(labels)?
                .encode_histogram::<NoLabelSet>(h.writes as f64, h.commits, &h.buckets, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            version: "1.2.3".into(),
            signins: vec![("password", "rejected", 3), ("password", "accepted", 1)],
            throttle_refusals: 2,
            instances: vec![InstanceFigures {
                name: "default".into(),
                database_bytes: 4096,
                wal_bytes: 0,
                locked_accounts: 1,
                writer_queue: 0,
                group_commits: GroupCommits {
                    buckets: vec![(1.0, 5), (2.0, 1), (f64::INFINITY, 0)],
                    writes: 7,
                    commits: 6,
                },
                writer_busy_seconds: 0.25,
                commit_seconds: 0.125,
            }],
            backups: vec![BackupFigures {
                destination: "/srv/b".into(),
                last_success: Some(1_700_000_000),
                age_seconds: Some(60),
                last_ok: false,
                last_verified: None,
                last_verify_seconds: None,
                last_verify_ok: false,
            }],
            certificate_expiry: Some(1_800_000_000),
            update: UpdateFigures::default(),
            open_alerts: None,
        }
    }

    #[test]
    fn requests_are_labelled_by_pattern_and_unknown_methods_fold_into_other() {
        let m = RequestMetrics::default();
        m.observe("GET", Some("/records/{module}"), 200, 0.003);
        m.observe("BREW", None, 404, 0.001);
        let text = m.encode(&snapshot()).unwrap();
        assert!(
            text.contains(
                r#"holdfast_http_requests_total{route="/records/{module}",method="GET",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"{route="unmatched",method="other",status="404"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"holdfast_http_request_duration_seconds_bucket{le="0.005",route="/records/{module}"} 1"#),
            "{text}"
        );
        assert!(!text.contains("BREW"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn snapshot_figures_are_exposed_with_their_labels() {
        let text = RequestMetrics::default().encode(&snapshot()).unwrap();
        for line in [
            r#"holdfast_signins_total{step="password",outcome="rejected"} 3"#,
            "holdfast_throttle_refusals_total 2",
            r#"holdfast_accounts_locked{instance_name="default"} 1"#,
            r#"holdfast_group_commit_writes_count{instance_name="default"} 6"#,
            r#"holdfast_db_writer_busy_seconds_total{instance_name="default"} 0.25"#,
            r#"holdfast_db_commit_seconds_total{instance_name="default"} 0.125"#,
            r#"holdfast_group_commit_writes_bucket{le="2.0",instance_name="default"} 6"#,
            r#"holdfast_backup_last_result_ok{destination="/srv/b"} 0"#,
            "holdfast_tls_certificate_expiry_timestamp_seconds 1800000000.0",
            r#"holdfast_build_info{version="1.2.3"} 1"#,
        ] {
            assert!(text.contains(line), "missing {line}:\n{text}");
        }
        // A destination never verified has no verification series rather than a made-up zero.
        assert!(!text.contains("backup_last_verify_ok{"), "{text}");
        assert!(!text.contains("alerts_open"), "{text}");
    }

    #[test]
    fn the_classic_text_names_counter_families_with_their_suffix() {
        let text = to_prometheus_text(&RequestMetrics::default().encode(&snapshot()).unwrap());
        assert!(
            text.contains("# HELP holdfast_throttle_refusals_total Password"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE holdfast_throttle_refusals_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE holdfast_accounts_locked gauge\n"),
            "{text}"
        );
        assert!(
            !text.contains("# EOF") && !text.contains("# UNIT"),
            "{text}"
        );
    }

    #[test]
    fn open_alerts_appear_once_the_owner_supplies_them() {
        let mut snap = snapshot();
        snap.open_alerts = Some(vec![("high".into(), 2)]);
        let text = RequestMetrics::default().encode(&snap).unwrap();
        assert!(
            text.contains(r#"holdfast_alerts_open{severity="high"} 2"#),
            "{text}"
        );
    }
}
