//! The scheduled checks: the security-log chain (incremental from the last verified row), and for
//! the appliance (the operator's instance) backup age and verification restores, the certificate's
//! expiry and free disk, with the doctor's thresholds.

use super::{Finding, Rule};
use crate::audit::{self, Verified};
use crate::config::{AlertThresholds, Config, DiskLow};
use crate::i18n::Message;
use crate::instances::Instance;
use crate::storage::StorageError;
use chrono::{DateTime, Duration, Utc};
use std::path::Path;

/// How full a disk is, by the doctor's measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskLevel {
    Ok,
    /// Below `[storage] disk_low_free_mib` or `disk_low_free_percent` (5 GiB, 10 % by default).
    Low,
    /// Below 1 GiB or 2 % free.
    Critical,
}

/// The doctor's thresholds for free disk, shared so the watch raises what the doctor reports.
pub fn disk_level(free: u64, total: u64, low: &DiskLow) -> DiskLevel {
    let gib = 1024 * 1024 * 1024;
    let pct = free as f64 * 100.0 / total.max(1) as f64;
    if free < gib || pct < 2.0 {
        DiskLevel::Critical
    } else if free < low.free_mib.saturating_mul(1024 * 1024) || pct < f64::from(low.free_percent) {
        DiskLevel::Low
    } else {
        DiskLevel::Ok
    }
}

/// Free and total bytes of the file system holding `dir`.
pub fn disk_space(dir: &Path) -> Result<(u64, u64), String> {
    let s = nix::sys::statvfs::statvfs(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let free = s.blocks_available() * s.fragment_size();
    let total = s.blocks() * s.fragment_size();
    Ok((free, total))
}

/// Older rows re-checked per scheduled check, on top of the new ones: an hourly check sweeps a
/// million-row log in ten hours, at the cost of hashing 100 000 rows (well under a second).
pub const SWEEP_ROWS: usize = 100_000;

/// Where the chain checks of one instance got to.
#[derive(Debug, Default, Clone)]
pub struct ChainState {
    /// The newest verified row; `None` until the first (full) check of this run.
    pub head: Option<Option<(i64, String)>>,
    /// The row after which the next sweep of older rows starts.
    pub sweep: i64,
}

/// Checks the rows written since the last check (the whole chain at the first check of a run) and
/// a slice of older rows; returns a finding when the chain is broken.
pub async fn chain(inst: &Instance, st: &mut ChainState) -> Result<Option<Finding>, StorageError> {
    let from = st.head.clone().flatten();
    let first = st.head.is_none();
    let sweep = st.sweep;
    let (new, old) = inst
        .db
        .read(move |c| {
            let new = audit::verify_from(c, from)?;
            let old = if first {
                Verified::Upto(None)
            } else {
                audit::verify_slice(c, sweep, SWEEP_ROWS)?
            };
            Ok::<_, StorageError>((new, old))
        })
        .await?;
    let broken = match (new, old) {
        (Verified::Broken { id, reason }, _) | (_, Verified::Broken { id, reason }) => {
            Some((id, reason))
        }
        (Verified::Upto(head), Verified::Upto(swept)) => {
            st.head = Some(head.clone());
            let head_id = head.map_or(0, |(id, _)| id);
            st.sweep = match swept {
                Some((id, _)) if id < head_id => id,
                _ => 0,
            };
            None
        }
    };
    match broken {
        None => Ok(None),
        Some((id, reason)) => Ok(Some(Finding {
            rule: Rule::LogChainBroken,
            subject: "security log".into(),
            subject_words: Some(Message::new("alert-about-log")),
            summary: Message::new("alert-says-chain-broken")
                .arg("row", id)
                .arg("reason", reason),
            log_filter: format!("before={}", id + 1),
            event_id: Some(id),
        })),
    }
}

/// Appliance-wide findings: backups, certificate, disk. `watch_since` is when the watch first
/// ran, so a new appliance is not reported for a backup it could not have made yet.
pub fn appliance(
    config: &Config,
    th: &AlertThresholds,
    now: DateTime<Utc>,
    watch_since: Option<DateTime<Utc>>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let max_age = Duration::hours(i64::from(th.backup_max_age_hours));
    if !config.backup.destinations.is_empty() {
        let status = crate::backup::status::load(&config.data_dir);
        let newest = status
            .destinations
            .values()
            .filter_map(|d| d.last_success.as_deref())
            .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .max();
        let stale = match newest {
            Some(t) => now - t > max_age,
            None => watch_since.is_some_and(|s| now - s > max_age),
        };
        if stale {
            let summary = match newest {
                Some(t) => Message::new("alert-says-backup-stale")
                    .arg("when", t.format("%Y-%m-%d %H:%M UTC").to_string()),
                None => Message::new("alert-says-backup-never"),
            };
            out.push(Finding {
                rule: Rule::BackupStale,
                subject: "backups".into(),
                subject_words: Some(Message::new("alert-about-backups")),
                summary: summary.arg("hours", th.backup_max_age_hours),
                log_filter: "type=backup_completed".into(),
                event_id: None,
            });
        }
        for (dest, d) in &status.destinations {
            if let Some(e) = &d.last_verify_error {
                out.push(Finding {
                    rule: Rule::BackupFailed,
                    subject: format!("verification restore {dest}"),
                    subject_words: Some(
                        Message::new("alert-about-verify").arg("destination", dest),
                    ),
                    summary: Message::new("alert-says-verify-failed")
                        .arg("destination", dest)
                        .arg("error", e),
                    log_filter: "type=backup_verified".into(),
                    event_id: None,
                });
            }
        }
    }
    let cert = config
        .tls_cert_file
        .clone()
        .unwrap_or_else(|| crate::tls::self_signed_paths(&config.data_dir).cert);
    if let Ok(days) = crate::tls::days_until_expiry(&cert, now)
        && days < i64::from(th.certificate_days)
    {
        out.push(Finding {
            rule: Rule::CertificateExpiry,
            subject: cert.display().to_string(),
            subject_words: None,
            summary: if days < 0 {
                Message::new("alert-says-certificate-expired").arg("days", -days)
            } else {
                Message::new("alert-says-certificate-expires").arg("days", days)
            }
            .arg("path", cert.display().to_string()),
            log_filter: String::new(),
            event_id: None,
        });
    }
    if let Ok((free, total)) = disk_space(&config.data_dir) {
        let level = disk_level(free, total, &config.disk_low);
        if level != DiskLevel::Ok {
            out.push(Finding {
                rule: Rule::DiskLow,
                subject: config.data_dir.display().to_string(),
                subject_words: None,
                summary: if level == DiskLevel::Critical {
                    Message::new("alert-says-disk-critical")
                } else {
                    Message::new("alert-says-disk-low")
                        .arg("mib", config.disk_low.free_mib)
                        .arg("percent", u32::from(config.disk_low.free_percent))
                }
                .arg("free", free / (1024 * 1024))
                .arg("total", total / (1024 * 1024))
                .arg("path", config.data_dir.display().to_string()),
                log_filter: String::new(),
                event_id: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_low_disk_level_follows_the_configured_threshold() {
        let gib = 1024 * 1024 * 1024;
        let default = DiskLow::default();
        assert_eq!(disk_level(6 * gib, 50 * gib, &default), DiskLevel::Ok);
        assert_eq!(disk_level(4 * gib, 20 * gib, &default), DiskLevel::Low);
        assert_eq!(disk_level(6 * gib, 100 * gib, &default), DiskLevel::Low);
        let strict = DiskLow {
            free_mib: 10 * 1024,
            free_percent: 0,
        };
        assert_eq!(disk_level(6 * gib, 50 * gib, &strict), DiskLevel::Low);
        let lax = DiskLow {
            free_mib: 0,
            free_percent: 0,
        };
        assert_eq!(disk_level(2 * gib, 50 * gib, &lax), DiskLevel::Ok);
        assert_eq!(
            disk_level(gib / 2, 50 * gib, &lax),
            DiskLevel::Critical,
            "below 1 GiB is critical whatever the setting"
        );
    }
}
