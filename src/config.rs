//! Layered configuration: built-in defaults → config file → `HOLDFAST_*` environment → command-line flags.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_CONFIG_PATH: &str = "/etc/holdfast/holdfast.toml";
pub const INSTALLED_DATA_DIR: &str = "/var/lib/holdfast";
pub const CHECKOUT_DATA_DIR: &str = "holdfast-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";

/// What the command line (and, through clap, the environment) says; `None` means "not given".
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
}

/// The resolved configuration handed to every part of holdfast through the application state.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file the settings came from, if any.
    pub source: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// True when nobody chose the data dir: only then may holdfast create it on first start.
    pub data_dir_is_default: bool,
    pub listen: SocketAddr,
    pub redirect_listen: Option<SocketAddr>,
    /// The HTTPS port users reach (differs from the listen port behind port forwarding); the bound
    /// port when unset.
    pub public_port: Option<u16>,
    pub shutdown_grace_seconds: u64,
    pub max_connections: usize,
    /// Open connections at most from one IPv4 address or IPv6 /64.
    pub max_connections_per_address: usize,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout_seconds: u64,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    pub read_connections: usize,
    pub busy_timeout_ms: u64,
    /// Free disk below which the doctor warns and the watch raises `disk_low`.
    pub disk_low: DiskLow,
    pub log_level: String,
    /// SMTP settings; `None` until the admin configures `[mail]` (mail is off by default).
    pub mail: Option<MailConfig>,
    pub update: UpdateConfig,
    pub backup: BackupConfig,
    /// Largest document upload, in bytes.
    pub document_max_bytes: u64,
    pub audit_forward: Option<AuditForwardConfig>,
    /// How often the security-log chain head is checkpointed into the forwarded stream.
    pub audit_checkpoint_interval_seconds: u64,
    /// The zone pages show times in (stored times stay UTC).
    pub time_zone: chrono_tz::Tz,
    /// The watch over the security log (`[alerts]`).
    pub alerts: AlertsConfig,
    /// The Prometheus endpoint's own listener; `None` (the default) binds nothing.
    pub metrics: Option<MetricsConfig>,
    /// Outbound webhook delivery (`[webhooks]`); endpoints themselves are set per instance.
    pub webhooks: WebhooksConfig,
}

/// `[webhooks]`: how the deliverer retries and whom it trusts. Nothing is sent until an
/// administrator registers an endpoint.
#[derive(Debug, Clone)]
pub struct WebhooksConfig {
    /// Pause after the first failed attempt; it doubles with each further failure.
    pub retry_first_ms: u64,
    /// Longest pause between attempts.
    pub retry_max_ms: u64,
    /// How long after it was queued an event is retried before it is marked failed.
    pub give_up_seconds: u64,
    /// How often the queue is looked at.
    pub poll_ms: u64,
    /// One attempt's limit (connect, TLS, request and answer).
    pub timeout_seconds: u64,
    /// CA certificates (PEM) https endpoints must chain to; the system bundle when unset.
    pub ca_file: Option<PathBuf>,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            retry_first_ms: 30_000,
            retry_max_ms: 3_600_000,
            give_up_seconds: 86_400,
            poll_ms: 2_000,
            timeout_seconds: 10,
            ca_file: None,
        }
    }
}

/// `[metrics]`: where `/metrics` is served (HTTPS, the server's certificate) and who may read it.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub listen: SocketAddr,
    /// A file holding the bearer token scrapers must send; read once at start.
    pub token_file: Option<PathBuf>,
    /// CA certificates (PEM) a scraper's client certificate must chain to; none asked when unset.
    pub client_ca_file: Option<PathBuf>,
}

/// `[alerts]`: whether the watch runs, how often it looks, and the rules' default thresholds
/// (an administrator may change the thresholds per instance on the Alerts page).
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    pub enabled: bool,
    /// How often new security-log rows are read, in milliseconds.
    pub scan_interval_ms: u64,
    /// How often the chain, backups, certificate and disk are checked (at most hourly).
    pub check_interval_seconds: u64,
    /// How often alerts below high severity go out in one digest mail.
    pub digest_interval_seconds: u64,
    pub thresholds: AlertThresholds,
}

/// The thresholds and windows of the watch's rules. Serialised into the instance's settings when
/// an administrator changes them, so the field names are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertThresholds {
    /// Password spraying: failed sign-ins for at least this many accounts from one address…
    pub spray_accounts: u32,
    /// …or for one account from at least this many addresses…
    pub spray_addresses: u32,
    /// …within this many seconds.
    pub spray_window_seconds: u32,
    /// Lockout wave: at least this many accounts locked…
    pub lockout_accounts: u32,
    /// …within this many seconds.
    pub lockout_window_seconds: u32,
    /// An administrator's sign-in address counts as new when not seen for them in this many days.
    pub admin_address_days: u32,
    /// Mass export: more than this many rows exported or downloaded by one person or token in an hour.
    pub export_rows: u32,
    /// A backup older than this many hours (or a failed one) raises an alert.
    pub backup_max_age_hours: u32,
    /// The certificate expiring within this many days raises an alert.
    pub certificate_days: u32,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        Self {
            spray_accounts: 10,
            spray_addresses: 10,
            spray_window_seconds: 600,
            lockout_accounts: 5,
            lockout_window_seconds: 600,
            admin_address_days: 90,
            export_rows: 10_000,
            backup_max_age_hours: 26,
            certificate_days: 30,
        }
    }
}

impl AlertThresholds {
    /// Each field with its allowed range, in the order the page and the docs list them.
    pub const RANGES: [(&'static str, u32, u32); 9] = [
        ("spray_accounts", 2, 1000),
        ("spray_addresses", 2, 1000),
        ("spray_window_seconds", 10, 86_400),
        ("lockout_accounts", 2, 1000),
        ("lockout_window_seconds", 10, 86_400),
        ("admin_address_days", 1, 3650),
        ("export_rows", 1, 100_000_000),
        ("backup_max_age_hours", 1, 720),
        ("certificate_days", 1, 365),
    ];

    /// Every field as (name, value), in `RANGES` order.
    pub fn pairs(&self) -> [(&'static str, u32); 9] {
        [
            ("spray_accounts", self.spray_accounts),
            ("spray_addresses", self.spray_addresses),
            ("spray_window_seconds", self.spray_window_seconds),
            ("lockout_accounts", self.lockout_accounts),
            ("lockout_window_seconds", self.lockout_window_seconds),
            ("admin_address_days", self.admin_address_days),
            ("export_rows", self.export_rows),
            ("backup_max_age_hours", self.backup_max_age_hours),
            ("certificate_days", self.certificate_days),
        ]
    }

    /// Sets one field, refusing an unknown name or a value outside its range (naming the range).
    pub fn set(&mut self, name: &str, value: u32) -> Result<(), String> {
        let Some((_, lo, hi)) = Self::RANGES.iter().find(|(n, _, _)| *n == name) else {
            return Err(format!("`{name}` is not an alert threshold"));
        };
        if !(*lo..=*hi).contains(&value) {
            return Err(format!(
                "{name}: {value} is outside the allowed range {lo}–{hi}"
            ));
        }
        let slot = match name {
            "spray_accounts" => &mut self.spray_accounts,
            "spray_addresses" => &mut self.spray_addresses,
            "spray_window_seconds" => &mut self.spray_window_seconds,
            "lockout_accounts" => &mut self.lockout_accounts,
            "lockout_window_seconds" => &mut self.lockout_window_seconds,
            "admin_address_days" => &mut self.admin_address_days,
            "export_rows" => &mut self.export_rows,
            "backup_max_age_hours" => &mut self.backup_max_age_hours,
            _ => &mut self.certificate_days,
        };
        *slot = value;
        Ok(())
    }

    /// Every field checked against its range.
    pub fn validate(&self) -> Result<(), String> {
        let mut copy = *self;
        for (name, v) in self.pairs() {
            copy.set(name, v)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: String,
    pub from: String,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    /// `tls = "none"` to a relay that is not on this machine is refused unless this is set.
    pub allow_unencrypted_relay: bool,
}

#[derive(Debug, Clone)]
pub struct BackupConfig {
    pub destinations: Vec<PathBuf>,
    /// Local time of the daily run, (hour, minute).
    pub schedule: (u32, u32),
    pub keep_daily: u32,
    pub keep_weekly: u32,
    pub keep_monthly: u32,
}

#[derive(Debug, Clone)]
pub struct UpdateConfig {
    pub trusted_keys_dir: PathBuf,
    pub threshold: usize,
    pub max_bundle_bytes: u64,
    /// How long `update apply` waits for the new version to answer `/readyz` before rolling back.
    pub ready_timeout_seconds: u64,
}

#[derive(Debug, Clone)]
pub struct AuditForwardConfig {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    tls: TlsSection,
    #[serde(default)]
    storage: StorageSection,
    #[serde(default)]
    log: LogSection,
    #[serde(default)]
    mail: MailSection,
    #[serde(default)]
    audit: AuditSection,
    #[serde(default)]
    documents: DocumentsSection,
    #[serde(default)]
    update: UpdateSection,
    #[serde(default)]
    backup: BackupSection,
    #[serde(default)]
    alerts: AlertsSection,
    #[serde(default)]
    metrics: MetricsSection,
    #[serde(default)]
    webhooks: WebhooksSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhooksSection {
    retry_first_ms: Option<u64>,
    retry_max_ms: Option<u64>,
    give_up_hours: Option<u64>,
    give_up_seconds: Option<u64>,
    poll_ms: Option<u64>,
    timeout_seconds: Option<u64>,
    ca_file: Option<PathBuf>,
}

impl WebhooksSection {
    fn resolve(&self) -> Result<WebhooksConfig, ConfigError> {
        let d = WebhooksConfig::default();
        let range = |name: &str, v: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(ConfigError::Value {
                    setting: format!("webhooks.{name}"),
                    message: format!("{v} is outside the allowed range {lo}–{hi}"),
                })
            }
        };
        let give_up_seconds = match (self.give_up_hours, self.give_up_seconds) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Value {
                    setting: "webhooks.give_up_seconds".into(),
                    message: "set give_up_hours or give_up_seconds, not both".into(),
                });
            }
            (Some(h), None) => range("give_up_hours", h, 1, 24 * 14)? * 3600,
            (None, Some(s)) => range("give_up_seconds", s, 1, 86_400 * 14)?,
            (None, None) => d.give_up_seconds,
        };
        let retry_first_ms = range(
            "retry_first_ms",
            self.retry_first_ms.unwrap_or(d.retry_first_ms),
            10,
            3_600_000,
        )?;
        Ok(WebhooksConfig {
            retry_first_ms,
            retry_max_ms: range(
                "retry_max_ms",
                self.retry_max_ms.unwrap_or(d.retry_max_ms),
                retry_first_ms,
                86_400_000,
            )?,
            give_up_seconds,
            poll_ms: range("poll_ms", self.poll_ms.unwrap_or(d.poll_ms), 10, 60_000)?,
            timeout_seconds: range(
                "timeout_seconds",
                self.timeout_seconds.unwrap_or(d.timeout_seconds),
                1,
                120,
            )?,
            ca_file: self.ca_file.clone(),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsSection {
    listen: Option<String>,
    token_file: Option<PathBuf>,
    client_ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsSection {
    enabled: Option<bool>,
    scan_interval_ms: Option<u64>,
    check_interval_seconds: Option<u64>,
    digest_interval_seconds: Option<u64>,
    spray_accounts: Option<u32>,
    spray_addresses: Option<u32>,
    spray_window_seconds: Option<u32>,
    lockout_accounts: Option<u32>,
    lockout_window_seconds: Option<u32>,
    admin_address_days: Option<u32>,
    export_rows: Option<u32>,
    backup_max_age_hours: Option<u32>,
    certificate_days: Option<u32>,
}

impl AlertsSection {
    fn resolve(&self) -> Result<AlertsConfig, ConfigError> {
        let range = |name: &str, v: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(ConfigError::Value {
                    setting: format!("alerts.{name}"),
                    message: format!("{v} is outside the allowed range {lo}–{hi}"),
                })
            }
        };
        let mut t = AlertThresholds::default();
        for (name, v) in [
            ("spray_accounts", self.spray_accounts),
            ("spray_addresses", self.spray_addresses),
            ("spray_window_seconds", self.spray_window_seconds),
            ("lockout_accounts", self.lockout_accounts),
            ("lockout_window_seconds", self.lockout_window_seconds),
            ("admin_address_days", self.admin_address_days),
            ("export_rows", self.export_rows),
            ("backup_max_age_hours", self.backup_max_age_hours),
            ("certificate_days", self.certificate_days),
        ] {
            if let Some(v) = v {
                t.set(name, v).map_err(|message| ConfigError::Value {
                    setting: format!("alerts.{name}"),
                    message,
                })?;
            }
        }
        Ok(AlertsConfig {
            enabled: self.enabled.unwrap_or(true),
            scan_interval_ms: range(
                "scan_interval_ms",
                self.scan_interval_ms.unwrap_or(2000),
                50,
                60_000,
            )?,
            // At least hourly: the chain check is what catches a tampered log.
            check_interval_seconds: range(
                "check_interval_seconds",
                self.check_interval_seconds.unwrap_or(3600),
                1,
                3600,
            )?,
            digest_interval_seconds: range(
                "digest_interval_seconds",
                self.digest_interval_seconds.unwrap_or(3600),
                1,
                86_400,
            )?,
            thresholds: t,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupSection {
    destinations: Option<Vec<PathBuf>>,
    schedule: Option<String>,
    keep_daily: Option<u32>,
    keep_weekly: Option<u32>,
    keep_monthly: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateSection {
    trusted_keys_dir: Option<PathBuf>,
    threshold: Option<usize>,
    max_bundle_mb: Option<u64>,
    ready_timeout_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentsSection {
    max_size_mb: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MailSection {
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    tls: Option<String>,
    from: Option<String>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    allow_unencrypted_relay: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditSection {
    forward_host: Option<String>,
    forward_port: Option<u16>,
    forward_tls: Option<bool>,
    forward_ca_file: Option<PathBuf>,
    checkpoint_interval_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    listen: Option<String>,
    redirect_listen: Option<String>,
    public_port: Option<u16>,
    shutdown_grace_seconds: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
    idle_timeout_seconds: Option<u64>,
    time_zone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsSection {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageSection {
    read_connections: Option<usize>,
    busy_timeout_ms: Option<u64>,
    disk_low_free_mib: Option<u64>,
    disk_low_free_percent: Option<u8>,
}

/// `[storage] disk_low_free_mib` / `disk_low_free_percent`: the doctor's warning level for free
/// disk on the data dir's file system (below 1 GiB or 2 % is always critical).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskLow {
    pub free_mib: u64,
    pub free_percent: u8,
}

impl Default for DiskLow {
    fn default() -> Self {
        Self {
            free_mib: 5 * 1024,
            free_percent: 10,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    level: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path} cannot be read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("config file {path}, line {line}, key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    #[error("{setting}: {message}")]
    Value { setting: String, message: String },
}

impl Config {
    pub fn load(overrides: &Overrides) -> Result<Self, ConfigError> {
        let path = match &overrides.config {
            Some(p) => Some(p.clone()),
            None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
                Some(PathBuf::from(DEFAULT_CONFIG_PATH))
            }
            None => None,
        };
        let file = match &path {
            Some(p) => {
                let text = read_bounded(p)?;
                parse_file(p, &text)?
            }
            None => FileConfig::default(),
        };
        Self::resolve(path, file, overrides)
    }

    /// Parses and resolves configuration text as [`Config::load`] does a file, with no command-line
    /// overrides and without touching the file system; `path` only labels errors.
    pub fn from_text(path: &Path, text: &str) -> Result<Self, ConfigError> {
        Self::resolve(
            Some(path.to_path_buf()),
            parse_file(path, text)?,
            &Overrides::default(),
        )
    }

    fn resolve(
        source: Option<PathBuf>,
        file: FileConfig,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let (data_dir, data_dir_is_default) = match (&overrides.data_dir, &file.data_dir) {
            (Some(d), _) | (None, Some(d)) => (d.clone(), false),
            (None, None) => (default_data_dir(), true),
        };
        let listen_text = overrides
            .listen
            .clone()
            .or(file.server.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = parse_addr("listen", &listen_text)?;
        let redirect_listen = match file.server.redirect_listen.as_deref() {
            None | Some("") => None,
            Some(text) => Some(parse_addr("server.redirect_listen", text)?),
        };
        let read_connections = file.storage.read_connections.unwrap_or(4);
        if !(1..=64).contains(&read_connections) {
            return Err(ConfigError::Value {
                setting: "storage.read_connections".into(),
                message: format!("{read_connections} is outside the allowed range 1–64"),
            });
        }
        let disk_low = DiskLow {
            free_mib: file
                .storage
                .disk_low_free_mib
                .unwrap_or(DiskLow::default().free_mib),
            free_percent: file
                .storage
                .disk_low_free_percent
                .unwrap_or(DiskLow::default().free_percent),
        };
        if disk_low.free_percent > 99 {
            return Err(ConfigError::Value {
                setting: "storage.disk_low_free_percent".into(),
                message: format!(
                    "{} is outside the allowed range 0–99",
                    disk_low.free_percent
                ),
            });
        }
        let max_connections = file.server.max_connections.unwrap_or(4096);
        if !(16..=1_000_000).contains(&max_connections) {
            return Err(ConfigError::Value {
                setting: "server.max_connections".into(),
                message: format!("{max_connections} is outside the allowed range 16–1000000"),
            });
        }
        // By default one address may hold a sixteenth of the slots, and never more than 256: a
        // terminal server with many users behind one address fits, and one attacker cannot fill them.
        let per_address = file
            .server
            .max_connections_per_address
            .unwrap_or((max_connections / 16).clamp(16, 256));
        if !(1..=max_connections).contains(&per_address) {
            return Err(ConfigError::Value {
                setting: "server.max_connections_per_address".into(),
                message: format!(
                    "{per_address} is outside the allowed range 1–{max_connections} (server.max_connections)"
                ),
            });
        }
        let time_zone = match file.server.time_zone.as_deref() {
            Some(name) => name.parse().map_err(|_| ConfigError::Value {
                setting: "server.time_zone".into(),
                message: format!(
                    "`{name}` is not a time zone of the IANA database (e.g. Europe/Warsaw, UTC)"
                ),
            })?,
            None => local_time_zone(),
        };
        let idle_timeout_seconds = file.server.idle_timeout_seconds.unwrap_or(60);
        if !(1..=3600).contains(&idle_timeout_seconds) {
            return Err(ConfigError::Value {
                setting: "server.idle_timeout_seconds".into(),
                message: format!("{idle_timeout_seconds} is outside the allowed range 1–3600"),
            });
        }
        if file.tls.cert_file.is_some() != file.tls.key_file.is_some() {
            return Err(ConfigError::Value {
                setting: "tls".into(),
                message: "cert_file and key_file must be set together".into(),
            });
        }
        let log_level = file.log.level.unwrap_or_else(|| "info".into());
        if !["error", "warn", "info", "debug", "trace"].contains(&log_level.as_str()) {
            return Err(ConfigError::Value {
                setting: "log.level".into(),
                message: format!("`{log_level}` is not one of error, warn, info, debug, trace"),
            });
        }
        let mail = match file.mail.smtp_host.clone().filter(|h| !h.trim().is_empty()) {
            None => None,
            Some(host) => {
                let tls = file.mail.tls.clone().unwrap_or_else(|| "starttls".into());
                let default_port = match tls.as_str() {
                    "none" => 25,
                    "starttls" => 587,
                    "tls" => 465,
                    other => {
                        return Err(ConfigError::Value {
                            setting: "mail.tls".into(),
                            message: format!("`{other}` is not one of none, starttls, tls"),
                        });
                    }
                };
                let from = file.mail.from.clone().ok_or_else(|| ConfigError::Value {
                    setting: "mail.from".into(),
                    message: "is required when mail.smtp_host is set".into(),
                })?;
                Some(MailConfig {
                    smtp_host: host,
                    smtp_port: file.mail.smtp_port.unwrap_or(default_port),
                    tls,
                    from,
                    username: file.mail.username.clone(),
                    password_file: file.mail.password_file.clone(),
                    ca_file: file.mail.ca_file.clone(),
                    allow_unencrypted_relay: file.mail.allow_unencrypted_relay.unwrap_or(false),
                })
            }
        };
        let audit_forward = match file
            .audit
            .forward_host
            .clone()
            .filter(|h| !h.trim().is_empty())
        {
            None => None,
            Some(host) => {
                let tls = file.audit.forward_tls.unwrap_or(true);
                Some(AuditForwardConfig {
                    host,
                    port: file
                        .audit
                        .forward_port
                        .unwrap_or(if tls { 6514 } else { 601 }),
                    tls,
                    ca_file: file.audit.forward_ca_file.clone(),
                })
            }
        };
        let audit_checkpoint_interval_seconds =
            file.audit.checkpoint_interval_seconds.unwrap_or(3600);
        if !(1..=3600).contains(&audit_checkpoint_interval_seconds) {
            return Err(ConfigError::Value {
                setting: "audit.checkpoint_interval_seconds".into(),
                message: format!(
                    "{audit_checkpoint_interval_seconds} is outside the allowed range 1–3600 (at least hourly)"
                ),
            });
        }
        let max_mb = file.documents.max_size_mb.unwrap_or(25);
        if !(1..=1024).contains(&max_mb) {
            return Err(ConfigError::Value {
                setting: "documents.max_size_mb".into(),
                message: format!("{max_mb} is outside the allowed range 1–1024"),
            });
        }
        let threshold = file.update.threshold.unwrap_or(1);
        if !(1..=16).contains(&threshold) {
            return Err(ConfigError::Value {
                setting: "update.threshold".into(),
                message: format!("{threshold} is outside the allowed range 1–16"),
            });
        }
        let update = UpdateConfig {
            trusted_keys_dir: file
                .update
                .trusted_keys_dir
                .unwrap_or_else(|| PathBuf::from("/etc/holdfast/trusted-keys")),
            threshold,
            max_bundle_bytes: match file.update.max_bundle_mb.unwrap_or(2048) {
                mb @ 1..=65_536 => mb * 1024 * 1024,
                other => {
                    return Err(ConfigError::Value {
                        setting: "update.max_bundle_mb".into(),
                        message: format!("{other} is outside the allowed range 1–65536"),
                    });
                }
            },
            ready_timeout_seconds: match file.update.ready_timeout_seconds.unwrap_or(300) {
                s @ 1..=3600 => s,
                other => {
                    return Err(ConfigError::Value {
                        setting: "update.ready_timeout_seconds".into(),
                        message: format!("{other} is outside the allowed range 1–3600"),
                    });
                }
            },
        };
        let schedule_text = file
            .backup
            .schedule
            .clone()
            .unwrap_or_else(|| "02:30".into());
        let schedule = schedule_text
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
            .filter(|(h, m)| *h < 24 && *m < 60)
            .ok_or_else(|| ConfigError::Value {
                setting: "backup.schedule".into(),
                message: format!("`{schedule_text}` is not a time like 02:30"),
            })?;
        let destinations = file
            .backup
            .destinations
            .clone()
            .unwrap_or_else(|| vec![data_dir.join("backups").join("local")]);
        if destinations.is_empty() {
            return Err(ConfigError::Value {
                setting: "backup.destinations".into(),
                message: "name at least one directory".into(),
            });
        }
        let metrics = metrics_config(file.metrics)?;
        let backup = BackupConfig {
            destinations,
            schedule,
            keep_daily: file.backup.keep_daily.unwrap_or(7),
            keep_weekly: file.backup.keep_weekly.unwrap_or(4),
            keep_monthly: file.backup.keep_monthly.unwrap_or(6),
        };
        Ok(Self {
            metrics,
            backup,
            update,
            document_max_bytes: max_mb * 1024 * 1024,
            mail,
            audit_forward,
            audit_checkpoint_interval_seconds,
            alerts: file.alerts.resolve()?,
            webhooks: file.webhooks.resolve()?,
            source,
            data_dir,
            data_dir_is_default,
            time_zone,
            public_port: file.server.public_port,
            listen,
            redirect_listen,
            shutdown_grace_seconds: file.server.shutdown_grace_seconds.unwrap_or(20),
            max_connections,
            max_connections_per_address: per_address,
            idle_timeout_seconds,
            tls_cert_file: file.tls.cert_file,
            tls_key_file: file.tls.key_file,
            read_connections,
            busy_timeout_ms: file.storage.busy_timeout_ms.unwrap_or(5000),
            disk_low,
            log_level,
        })
    }

    pub fn source_label(&self) -> String {
        match &self.source {
            Some(p) => p.display().to_string(),
            None => "built-in defaults".into(),
        }
    }
}

/// `[metrics]`: off without `listen`. Beyond this machine the endpoint must ask for a token or a
/// client certificate: instance names, backup destinations and sign-in figures are not public.
fn metrics_config(m: MetricsSection) -> Result<Option<MetricsConfig>, ConfigError> {
    let Some(text) = m.listen.filter(|l| !l.trim().is_empty()) else {
        if m.token_file.is_some() || m.client_ca_file.is_some() {
            return Err(ConfigError::Value {
                setting: "metrics.listen".into(),
                message: "is required when metrics.token_file or metrics.client_ca_file is set \
                          (without it the endpoint is off)"
                    .into(),
            });
        }
        return Ok(None);
    };
    let listen = parse_addr("metrics.listen", &text)?;
    if !listen.ip().is_loopback() && m.token_file.is_none() && m.client_ca_file.is_none() {
        return Err(ConfigError::Value {
            setting: "metrics.listen".into(),
            message: format!(
                "{listen} is reachable from other machines: set metrics.token_file or \
                 metrics.client_ca_file so that only your Prometheus can read the figures"
            ),
        });
    }
    Ok(Some(MetricsConfig {
        listen,
        token_file: m.token_file,
        client_ca_file: m.client_ca_file,
    }))
}

/// The server's own zone: `TZ` when it names an IANA zone, else the system's (`/etc/localtime`),
/// else UTC.
fn local_time_zone() -> chrono_tz::Tz {
    let from_env = std::env::var("TZ")
        .ok()
        .and_then(|v| v.trim_start_matches(':').parse().ok());
    from_env
        .or_else(|| {
            iana_time_zone::get_timezone()
                .ok()
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(chrono_tz::UTC)
}

/// `/var/lib/holdfast` for a packaged install (the binary lives under `/usr`), else `./holdfast-data`.
fn default_data_dir() -> PathBuf {
    let installed = std::env::current_exe()
        .map(|p| p.starts_with("/usr/"))
        .unwrap_or(false);
    if installed {
        PathBuf::from(INSTALLED_DATA_DIR)
    } else {
        PathBuf::from(CHECKOUT_DATA_DIR)
    }
}

/// A configuration file is a few KiB; anything near this is a mistake (a log or an image
/// named by `--config`), refused before it is read into memory.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

fn read_bounded(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let unreadable = |reason: String| ConfigError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut text = String::new();
    // One byte past the limit tells "too large" from "exactly at the limit", even for a file that
    // grows while it is read or a pipe whose size metadata does not know.
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(e.to_string()))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(unreadable(format!(
            "larger than {} KiB; not a holdfast configuration file",
            MAX_CONFIG_BYTES / 1024
        )));
    }
    Ok(text)
}

fn parse_addr(setting: &str, text: &str) -> Result<SocketAddr, ConfigError> {
    text.parse().map_err(|_| ConfigError::Value {
        setting: setting.into(),
        message: format!("`{text}` is not an ADDRESS:PORT such as 127.0.0.1:8443"),
    })
}

fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0).min(text.len());
        let line = text[..offset].matches('\n').count() + 1;
        let message = e.message().to_string();
        let key = key_from_message(&message).unwrap_or_else(|| key_on_line(text, line));
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            key,
            message,
        }
    })
}

/// serde names an unknown key in back-quotes: "unknown field `x`, expected …".
fn key_from_message(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_string())
}

fn key_on_line(text: &str, line: usize) -> String {
    let content = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    match content.split_once('=') {
        Some((k, _)) => k.trim().to_string(),
        None => content.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig, ConfigError> {
        parse_file(Path::new("/etc/holdfast/holdfast.toml"), text)
    }

    #[test]
    fn unknown_key_is_named_with_file_and_line() {
        let err = parse("[server]\nlisten = \"127.0.0.1:1\"\nlistne = \"x\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/etc/holdfast/holdfast.toml"), "{text}");
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("`listne`"), "{text}");
    }

    #[test]
    fn wrong_type_names_key_and_line() {
        let err = parse("\n[storage]\nread_connections = \"many\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("read_connections"), "{text}");
    }

    #[test]
    fn flags_beat_file() {
        let file = parse("data_dir = \"/srv/a\"\n[server]\nlisten = \"127.0.0.1:1\"\n").unwrap();
        let cfg = Config::resolve(
            None,
            file,
            &Overrides {
                listen: Some("127.0.0.1:2".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(cfg.listen.port(), 2);
        assert_eq!(cfg.data_dir, PathBuf::from("/srv/a"));
        assert!(!cfg.data_dir_is_default);
    }

    #[test]
    fn bad_listen_is_refused() {
        let err = Config::resolve(
            None,
            FileConfig::default(),
            &Overrides {
                listen: Some("nowhere".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("ADDRESS:PORT"));
    }

    #[test]
    fn an_oversized_config_file_is_refused_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("holdfast.toml");
        // Valid TOML (one long comment), so only the size limit can refuse it.
        let mut text = String::from("# ");
        text.push_str(&"x".repeat(MAX_CONFIG_BYTES as usize));
        std::fs::write(&path, &text).unwrap();
        let err = Config::load(&Overrides {
            config: Some(path.clone()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("larger than 1024 KiB"), "{err}");
        std::fs::write(&path, "# fits\n").unwrap();
        let cfg = Config::load(&Overrides {
            config: Some(path),
            ..Default::default()
        });
        assert!(cfg.is_ok(), "{cfg:?}");
    }

    #[test]
    fn webhook_retries_have_defaults_and_bounds() {
        let resolve =
            |text: &str| Config::resolve(None, parse(text).unwrap(), &Overrides::default());
        let d = resolve("").unwrap().webhooks;
        assert_eq!((d.retry_first_ms, d.give_up_seconds), (30_000, 86_400));
        let fast =
            resolve("[webhooks]\nretry_first_ms = 50\nretry_max_ms = 300\ngive_up_hours = 2\n")
                .unwrap()
                .webhooks;
        assert_eq!((fast.retry_max_ms, fast.give_up_seconds), (300, 7200));
        let e = resolve("[webhooks]\nretry_first_ms = 500\nretry_max_ms = 100\n").unwrap_err();
        assert!(e.to_string().starts_with("webhooks.retry_max_ms"), "{e}");
        let e = resolve("[webhooks]\ngive_up_hours = 1\ngive_up_seconds = 5\n").unwrap_err();
        assert!(e.to_string().starts_with("webhooks.give_up_seconds"), "{e}");
    }

    #[test]
    fn the_watch_is_on_by_default_checks_at_least_hourly_and_bounds_its_thresholds() {
        let resolve =
            |text: &str| Config::resolve(None, parse(text).unwrap(), &Overrides::default());
        let d = resolve("").unwrap();
        assert!(d.alerts.enabled);
        assert_eq!(d.alerts.check_interval_seconds, 3600);
        assert_eq!(d.alerts.digest_interval_seconds, 3600);
        assert_eq!(d.alerts.thresholds, AlertThresholds::default());
        assert_eq!(d.alerts.thresholds.backup_max_age_hours, 26);
        assert_eq!(d.alerts.thresholds.certificate_days, 30);
        assert_eq!(d.alerts.thresholds.admin_address_days, 90);
        assert_eq!(d.disk_low, DiskLow::default());
        // A chain check less often than hourly is refused, as is a threshold out of its range.
        let e = resolve("[alerts]\ncheck_interval_seconds = 3601\n").unwrap_err();
        assert!(
            e.to_string().starts_with("alerts.check_interval_seconds"),
            "{e}"
        );
        let e = resolve("[alerts]\nspray_accounts = 1\n").unwrap_err();
        assert!(e.to_string().starts_with("alerts.spray_accounts"), "{e}");
        let set =
            resolve("[alerts]\nexport_rows = 5\n[storage]\ndisk_low_free_mib = 20480\n").unwrap();
        assert_eq!(set.alerts.thresholds.export_rows, 5);
        assert_eq!(set.disk_low.free_mib, 20480);
        let e = resolve("[storage]\ndisk_low_free_percent = 100\n").unwrap_err();
        assert!(
            e.to_string().starts_with("storage.disk_low_free_percent"),
            "{e}"
        );
    }

    #[test]
    fn metrics_are_off_by_default_and_need_a_check_beyond_loopback() {
        let resolve =
            |text: &str| Config::resolve(None, parse(text).unwrap(), &Overrides::default());
        assert!(resolve("").unwrap().metrics.is_none());
        let local = resolve("[metrics]\nlisten = \"127.0.0.1:9464\"\n").unwrap();
        assert_eq!(local.metrics.unwrap().listen.port(), 9464);
        let open = resolve("[metrics]\nlisten = \"0.0.0.0:9464\"\n").unwrap_err();
        assert!(open.to_string().starts_with("metrics.listen"), "{open}");
        let guarded =
            resolve("[metrics]\nlisten = \"0.0.0.0:9464\"\ntoken_file = \"/etc/holdfast/m\"\n")
                .unwrap();
        assert!(guarded.metrics.unwrap().token_file.is_some());
        let orphan = resolve("[metrics]\ntoken_file = \"/etc/holdfast/m\"\n").unwrap_err();
        assert!(orphan.to_string().starts_with("metrics.listen"), "{orphan}");
    }

    #[test]
    fn connection_and_checkpoint_limits_have_defaults_and_ranges() {
        let resolve =
            |text: &str| Config::resolve(None, parse(text).unwrap(), &Overrides::default());
        let cfg = resolve("").unwrap();
        assert_eq!(cfg.max_connections_per_address, 256);
        assert_eq!(cfg.idle_timeout_seconds, 60);
        assert_eq!(cfg.audit_checkpoint_interval_seconds, 3600);
        // The default share follows a smaller server down, never below 16.
        let small = resolve("[server]\nmax_connections = 64\n").unwrap();
        assert_eq!(small.max_connections_per_address, 16);
        for (text, setting) in [
            (
                "[server]\nmax_connections = 64\nmax_connections_per_address = 65\n",
                "server.max_connections_per_address",
            ),
            (
                "[server]\nmax_connections_per_address = 0\n",
                "server.max_connections_per_address",
            ),
            (
                "[server]\nidle_timeout_seconds = 0\n",
                "server.idle_timeout_seconds",
            ),
            (
                "[audit]\ncheckpoint_interval_seconds = 3601\n",
                "audit.checkpoint_interval_seconds",
            ),
        ] {
            let err = resolve(text).unwrap_err().to_string();
            assert!(err.starts_with(setting), "{text}: {err}");
        }
    }
}
