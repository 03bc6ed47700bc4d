//! Whom the appliance trusts for updates (the release keys built in from `packaging/keys/` plus
//! the configured directory) and the rules a bundle is judged by here and now.

use super::bundle::{self, BundleError, Policy, TrustedKeys};
use super::state::{StateError, UpdateState};
use crate::config::UpdateConfig;
use chrono::{DateTime, Utc};

/// Release keys built into this binary (public halves only).
const BUILT_IN_KEYS: &[(&str, &str)] = &[(
    "built-in key packaging/keys/holdfast-release-2026.pub",
    include_str!("../../packaging/keys/holdfast-release-2026.pub"),
)];

pub fn trusted_keys(cfg: &UpdateConfig) -> Result<TrustedKeys, BundleError> {
    let extra = bundle::read_pub_dir(&cfg.trusted_keys_dir)?;
    let mut all: Vec<(&str, &str)> = BUILT_IN_KEYS.to_vec();
    all.extend(extra.iter().map(|(o, t)| (o.as_str(), t.as_str())));
    TrustedKeys::from_pub_files(&all)
}

/// This machine's Debian architecture name.
pub fn arch() -> String {
    std::env::consts::ARCH
        .replace("x86_64", "amd64")
        .replace("aarch64", "arm64")
}

pub fn policy(
    cfg: &UpdateConfig,
    st: &UpdateState,
    now: DateTime<Utc>,
) -> Result<Policy, StateError> {
    Ok(Policy {
        threshold: cfg.threshold,
        product: "holdfast".into(),
        arch: arch(),
        current_version: super::state::installed_version(st)?,
        current_epoch: st.security_epoch,
        now,
        last_seen_time: st.last_seen_time,
        max_size: cfg.max_bundle_bytes,
    })
}
