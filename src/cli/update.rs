//! `holdfast update verify|status`: checks an offline update bundle against the built-in and
//! configured release keys and every rule of the update procedure, and records the outcome.

use super::Console;
use crate::audit::{self, Actor, Entry, Event};
use crate::update::bundle::{self, Policy, TrustedKeys};
use crate::update::state::{self, HistoryEntry};
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use std::path::PathBuf;

/// Release keys built into this binary (public halves only).
const BUILT_IN_KEYS: &[(&str, &str)] = &[(
    "built-in key packaging/keys/holdfast-release-2026.pub",
    include_str!("../../packaging/keys/holdfast-release-2026.pub"),
)];

#[derive(Debug, Subcommand)]
pub enum UpdateCommand {
    /// Check a bundle completely (signatures, versions, expiry, every payload byte) and print it
    Verify { file: PathBuf },
    /// Verify, then copy the payload (.deb) out of the bundle, re-checking every byte
    Extract {
        file: PathBuf,
        /// Directory for the payload (created 0700; files are never overwritten)
        #[arg(long)]
        to: PathBuf,
    },
    /// Show the installed version, security epoch and update history
    Status,
}

fn trusted(console: &Console) -> Result<TrustedKeys> {
    let extra = bundle::read_pub_dir(&console.config.update.trusted_keys_dir)?;
    let mut all: Vec<(&str, &str)> = BUILT_IN_KEYS.to_vec();
    all.extend(extra.iter().map(|(o, t)| (o.as_str(), t.as_str())));
    Ok(TrustedKeys::from_pub_files(&all)?)
}

/// Writes the event into the `default` instance's security log when it exists (the console may run
/// before the first start, then only the update history records it).
fn audit_update(console: &Console, event: Event, ok: bool, detail: serde_json::Value) {
    let dir = &console.config.data_dir;
    let Ok((master, _)) = crate::keys::load(dir, false) else {
        return;
    };
    let Ok(inst) = crate::instances::open(
        dir,
        &master,
        crate::instances::DEFAULT_INSTANCE,
        super::storage_options(&console.config),
    ) else {
        return;
    };
    let now = console.clock.now();
    let mut e = Entry::new(event, Actor::Console, "update", "console").with(detail);
    if !ok {
        e = e.failed();
    }
    if let Err(err) = inst.db.write_blocking(|tx| audit::write(tx, now, e)) {
        tracing::warn!(error = %err, "could not record the update check in the security log");
    }
}

fn policy_for(
    console: &Console,
    st: &state::UpdateState,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Policy> {
    Ok(Policy {
        threshold: console.config.update.threshold,
        product: "holdfast".into(),
        arch: std::env::consts::ARCH
            .replace("x86_64", "amd64")
            .replace("aarch64", "arm64"),
        current_version: semver::Version::parse(env!("CARGO_PKG_VERSION"))
            .context("own version")?,
        current_epoch: st.security_epoch,
        now,
        last_seen_time: st.last_seen_time,
        max_size: console.config.update.max_bundle_bytes,
    })
}

pub fn run(console: Console, cmd: UpdateCommand) -> Result<()> {
    let dir = console.config.data_dir.clone();
    let now = console.clock.now();
    match cmd {
        UpdateCommand::Status => {
            let st = state::load(&dir).map_err(anyhow::Error::msg)?;
            println!("installed version: {}", env!("CARGO_PKG_VERSION"));
            println!("security epoch:    {}", st.security_epoch);
            println!(
                "last seen time:    {}",
                st.last_seen_time
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "never".into())
            );
            let keys = trusted(&console)?;
            println!(
                "trusted keys:      {} (threshold {})",
                keys.key_ids().collect::<Vec<_>>().join(", "),
                console.config.update.threshold
            );
            for h in st.history.iter().rev().take(20) {
                println!(
                    "{}  {:<8} {:<10} {:<9} {}",
                    h.at.to_rfc3339(),
                    h.action,
                    h.version.clone().unwrap_or_default(),
                    h.outcome,
                    h.detail
                );
            }
            Ok(())
        }
        UpdateCommand::Extract { file, to } => {
            let st = state::load(&dir).map_err(anyhow::Error::msg)?;
            let keys = trusted(&console)?;
            let policy = policy_for(&console, &st, now)?;
            let v = bundle::verify(&file, &keys, &policy)
                .map_err(|e| anyhow::anyhow!("update bundle refused: {e}"))?;
            crate::fsutil::ensure_private_dir(&to)
                .with_context(|| format!("cannot create {}", to.display()))?;
            let paths = bundle::extract(&file, &v, &to)?;
            for p in paths {
                println!("{}", p.display());
            }
            let _ = state::record(
                &dir,
                now,
                HistoryEntry {
                    at: now,
                    action: "extract".into(),
                    version: Some(v.manifest().version.to_string()),
                    outcome: "extracted".into(),
                    detail: to.display().to_string(),
                },
            );
            Ok(())
        }
        UpdateCommand::Verify { file } => {
            let st = state::load(&dir).map_err(anyhow::Error::msg)?;
            let keys = trusted(&console)?;
            let policy = Policy {
                threshold: console.config.update.threshold,
                product: "holdfast".into(),
                arch: std::env::consts::ARCH
                    .replace("x86_64", "amd64")
                    .replace("aarch64", "arm64"),
                current_version: semver::Version::parse(env!("CARGO_PKG_VERSION"))
                    .context("own version")?,
                current_epoch: st.security_epoch,
                now,
                last_seen_time: st.last_seen_time,
                max_size: console.config.update.max_bundle_bytes,
            };
            match bundle::verify(&file, &keys, &policy) {
                Ok(v) => {
                    let m = v.manifest();
                    println!("bundle OK: {}", file.display());
                    println!(
                        "  product {} {} version {} (updates from {} on)",
                        m.product, m.arch, m.version, m.min_from
                    );
                    println!(
                        "  security epoch {}, created {}, expires {}",
                        m.security_epoch,
                        m.created_at.to_rfc3339(),
                        m.expires_at.to_rfc3339()
                    );
                    for f in &m.files {
                        println!(
                            "  payload {} ({} bytes, sha256 {})",
                            f.path,
                            f.size,
                            hex::encode(f.sha256)
                        );
                    }
                    println!("  signed by {}", v.signed_by().join(", "));
                    if let Some(n) = &m.notes {
                        println!("  release notes: {n}");
                    }
                    let _ = state::record(
                        &dir,
                        now,
                        HistoryEntry {
                            at: now,
                            action: "verify".into(),
                            version: Some(m.version.to_string()),
                            outcome: "accepted".into(),
                            detail: file.display().to_string(),
                        },
                    );
                    audit_update(
                        &console,
                        Event::UpdateVerified,
                        true,
                        serde_json::json!({ "version": m.version.to_string(), "signed_by": v.signed_by() }),
                    );
                    Ok(())
                }
                Err(e) => {
                    let _ = state::record(
                        &dir,
                        now,
                        HistoryEntry {
                            at: now,
                            action: "verify".into(),
                            version: None,
                            outcome: "refused".into(),
                            detail: e.to_string(),
                        },
                    );
                    audit_update(
                        &console,
                        Event::UpdateRefused,
                        false,
                        serde_json::json!({ "file": file.display().to_string(), "reason": e.to_string() }),
                    );
                    bail!("update bundle refused: {e}")
                }
            }
        }
    }
}
