//! `holdfast update verify|extract|apply|rollback|recover|status`: checks an offline update bundle
//! against the built-in and configured release keys and every rule of the update procedure,
//! installs it with automatic rollback, and records every outcome.

use super::Console;
use crate::audit::{self, Actor, Entry, Event};
use crate::update::apply::{self, ApplyError, Outcome};
use crate::update::bundle::{self, Policy, TrustedKeys};
use crate::update::state;
use crate::update::trust;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum UpdateCommand {
    /// Check a bundle completely (signatures, versions, expiry, SBOM, every payload byte) and print it
    Verify {
        file: PathBuf,
        /// Print only the bundle's SBOM (CycloneDX JSON, exactly as signed), for an advisory scanner
        #[arg(long)]
        sbom: bool,
    },
    /// Verify, then copy the payload (.deb) out of the bundle, re-checking every byte
    Extract {
        file: PathBuf,
        /// Directory for the payload (created 0700; files are never overwritten)
        #[arg(long)]
        to: PathBuf,
    },
    /// Install a bundle: verify a private copy, back up, stop, snapshot the databases, install,
    /// start, wait for /readyz; roll back by itself if the new version does not become ready
    Apply {
        file: PathBuf,
        /// The .deb of the installed version, needed once for the first packaged update so that
        /// it can be rolled back (later updates keep the installed package themselves)
        #[arg(long)]
        previous_deb: Option<PathBuf>,
        /// Do not write pre-update backup archives (take one yourself first); the database
        /// snapshot for the rollback is taken regardless
        #[arg(long)]
        no_backup: bool,
        /// Stop the running version (under systemd: park it) before the new one starts, instead
        /// of starting the new one beside it: for a machine without memory for two servers at
        /// once. Clients wait longer; none is refused while a socket unit or the update holds
        /// the listening socket
        #[arg(long)]
        stop_first: bool,
    },
    /// Put back the version before the last completed update
    Rollback {
        /// Needed when the update changed the database schema: the databases return to their
        /// state before the update and what was written since is lost
        #[arg(long)]
        discard_changes: bool,
        /// Stop (park) the running version before the old one starts, as for `apply --stop-first`
        #[arg(long)]
        stop_first: bool,
    },
    /// Finish an interrupted update (apply and rollback do this first by themselves)
    Recover,
    /// Show the installed version, security epoch and update history
    Status,
}

fn trusted(console: &Console) -> Result<TrustedKeys> {
    Ok(trust::trusted_keys(&console.config.update)?)
}

/// Writes the event into the `default` instance's security log. Without the master key (sealed
/// in a systemd credential only the service receives), or when this command is not the release of
/// the data, the event is handed to the service, which records it; before the first start only the
/// update history has it.
fn audit_update(console: &Console, event: Event, ok: bool, detail: serde_json::Value) {
    let dir = &console.config.data_dir;
    let opts = crate::storage::Options::from(&console.config);
    let (master, _) = match crate::keys::load(dir, false) {
        Ok(k) => k,
        Err(e) => {
            hand_to_service(
                console,
                &format!("no master key here ({e})"),
                event,
                ok,
                detail,
            );
            return;
        }
    };
    // Opening an instance migrates it to this build's schema. Once an update has switched releases,
    // this command is not the release that serves the data: a newer release's rollback would
    // migrate the restored databases again under the old server, which then refuses them at its
    // next start, and an older release's apply cannot open the newer schema. The service records
    // the event instead: it is the release of the data.
    let default = crate::instances::DEFAULT_INSTANCE;
    match crate::instances::recorded_schema_version(dir, &master, default, opts) {
        Ok(v) if v == crate::storage::LATEST_SCHEMA_VERSION => {}
        Ok(v) => {
            let why = format!(
                "the default instance's database has schema {v}, this release's is {}",
                crate::storage::LATEST_SCHEMA_VERSION
            );
            hand_to_service(console, &why, event, ok, detail);
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the default instance: the update is recorded in the update history only");
            return;
        }
    }
    let inst = match crate::instances::open(dir, &master, default, opts) {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the default instance: the update is recorded in the update history only");
            return;
        }
    };
    let now = console.clock.now();
    let mut e = Entry::new(event, Actor::Console, "update", "console").with(detail);
    if !ok {
        e = e.failed();
    }
    if let Err(err) = audit::log::record_blocking(&inst, now, e) {
        tracing::warn!(error = %err, "could not record the update check in the security log");
    }
}

/// Hands the event to the running service for the security log (`update::handover`); `why` says
/// why this command does not write it itself.
fn hand_to_service(
    console: &Console,
    why: &str,
    event: Event,
    ok: bool,
    detail: serde_json::Value,
) {
    let dir = &console.config.data_dir;
    match crate::update::handover::hand_over(dir, console.clock.now(), event, ok, detail) {
        Ok(()) => tracing::info!("{why}: the event is handed to the service for the security log"),
        Err(h) => tracing::warn!(
            error = %h,
            "{why} and the event could not be handed to the service: it is in the update history only"
        ),
    }
}

fn policy_for(
    console: &Console,
    st: &state::UpdateState,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Policy> {
    Ok(trust::policy(&console.config.update, st, now)?)
}

/// The data dir's owner, when this command runs as root and the data belongs to another user (the
/// packaged install: root runs the update, the `holdfast` user owns the data).
fn root_for_other_owner(data_dir: &std::path::Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let m = std::fs::metadata(data_dir).ok()?;
    (m.uid() != 0).then_some((m.uid(), m.gid()))
}

/// The pre-update backup written by the data's owner, so that archives and backup status stay
/// the service's (root-owned files there would lock the service out of them).
fn backup_as_owner(
    cfg: &crate::config::Config,
    (uid, gid): (u32, u32),
) -> Result<Vec<String>, String> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let mut cmd = std::process::Command::new(exe);
    if let Some(c) = &cfg.source {
        cmd.arg("--config").arg(c);
    }
    let out = cmd
        .arg("--data-dir")
        .arg(&cfg.data_dir)
        .args(["backup", "run", "--all", "--before-update"])
        .current_dir("/")
        .uid(uid)
        .gid(gid)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the pre-update backup: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pre-update backup failed (nothing was changed; use --no-backup if you took one yourself): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// After an update command run as root: everything under `update/` goes to the data's owner, so
/// that the service can read the history and record its own checks.
fn give_update_dir_back(data_dir: &std::path::Path) {
    let Some((uid, gid)) = root_for_other_owner(data_dir) else {
        return;
    };
    fn walk(p: &std::path::Path, uid: u32, gid: u32) {
        let _ = nix::unistd::fchownat(
            nix::fcntl::AT_FDCWD,
            p,
            Some(nix::unistd::Uid::from_raw(uid)),
            Some(nix::unistd::Gid::from_raw(gid)),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        );
        if p.is_dir()
            && !p.is_symlink()
            && let Ok(entries) = std::fs::read_dir(p)
        {
            for e in entries.flatten() {
                walk(&e.path(), uid, gid);
            }
        }
    }
    walk(&data_dir.join("update"), uid, gid);
    for f in ["run.json", "serve.lock"] {
        walk(&data_dir.join(f), uid, gid);
    }
}

fn say(line: &str) {
    println!("{line}");
}

fn outcome_line(o: &Outcome) -> String {
    // No duration when the running server was never stopped (an update or rollback that ended
    // before it was asked to), or the time could not be taken; then say what is known instead.
    let gap = |d: &Option<i64>, held: bool| match (d, held) {
        (Some(ms), true) => {
            format!("new connections waited up to {ms} ms at the switch, none was refused")
        }
        (None, true) => "the running server kept serving throughout, none was refused".into(),
        (Some(ms), false) => format!("the service was unavailable for {ms} ms"),
        (None, false) => "the service was unavailable for a time that was not measured".into(),
    };
    match o {
        Outcome::Applied {
            from,
            to,
            downtime_ms,
            sockets_held,
        } => format!("updated {from} → {to}; {}", gap(downtime_ms, *sockets_held)),
        Outcome::RolledBack {
            from,
            to,
            reason,
            downtime_ms,
            sockets_held,
        } => format!(
            "rolled back {from} → {to} ({reason}); {to} is ready again, {}",
            gap(downtime_ms, *sockets_held)
        ),
        Outcome::Discarded { to } => {
            format!("the interrupted update to {to} had changed nothing; its files were removed")
        }
    }
}

/// Runs `f` with what an update needs from the console.
fn with_env<T>(console: &Console, hand_over: bool, f: impl FnOnce(&apply::Env) -> T) -> T {
    let cert = console
        .config
        .tls_cert_file
        .clone()
        .unwrap_or_else(|| crate::tls::self_signed_paths(&console.config.data_dir).cert);
    let audit = |event: Event, ok: bool, detail: serde_json::Value| {
        audit_update(console, event, ok, detail)
    };
    let env = apply::Env {
        data_dir: &console.config.data_dir,
        cert: &cert,
        ready_timeout: Duration::from_secs(console.config.update.ready_timeout_seconds),
        stop_timeout: Duration::from_secs(console.config.shutdown_grace_seconds + 10),
        clock: console.clock.as_ref(),
        say: &say,
        audit: &audit,
        hand_over,
    };
    f(&env)
}

fn record_refusal(console: &Console, file: &std::path::Path, e: &bundle::BundleError) {
    let now = console.clock.now();
    let _ = state::note(
        &console.config.data_dir,
        now,
        "apply",
        None,
        "refused",
        e.to_string(),
    );
    audit_update(
        console,
        Event::UpdateRefused,
        false,
        serde_json::json!({ "file": file.display().to_string(), "reason": e.to_string() }),
    );
}

pub fn run(console: Console, cmd: UpdateCommand) -> Result<()> {
    let dir = console.config.data_dir.clone();
    let result = run_command(console, cmd);
    give_update_dir_back(&dir);
    result
}

fn run_command(console: Console, cmd: UpdateCommand) -> Result<()> {
    let dir = console.config.data_dir.clone();
    let now = console.clock.now();
    match cmd {
        UpdateCommand::Apply {
            file,
            previous_deb,
            no_backup,
            stop_first,
        } => {
            let st = state::load(&dir)?;
            let keys = trusted(&console)?;
            let policy = policy_for(&console, &st, now)?;
            let verify = |p: &std::path::Path| bundle::verify(p, &keys, &policy);
            let cfg = console.config.clone();
            let clock = console.clock.clone();
            let mut backup = || -> Result<Vec<String>, apply::BackupError> {
                if no_backup {
                    return Ok(vec![
                        "pre-update backup archives skipped (--no-backup)".into(),
                    ]);
                }
                if let Some(owner) = root_for_other_owner(&cfg.data_dir) {
                    return Ok(backup_as_owner(&cfg, owner)?);
                }
                let names = crate::instances::list_names(&cfg.data_dir)?;
                let (lines, ok) = crate::backup::job::backup_instances(&cfg, &clock, &names, false, crate::backup::engine::Made::Update)
                    .map_err(|e| format!("pre-update backup failed: {e:#} (nothing was changed; use --no-backup if you took one yourself)"))?;
                if !ok {
                    return Err(format!(
                        "pre-update backup did not reach every destination: {} (nothing was changed)",
                        lines.join("; ")
                    )
                    .into());
                }
                Ok(lines)
            };
            let result = with_env(&console, !stop_first, |env| {
                apply::apply(
                    env,
                    apply::Request {
                        bundle: &file,
                        max_size: console.config.update.max_bundle_bytes,
                        verify: &verify,
                        previous_deb: previous_deb.as_deref(),
                        backup: &mut backup,
                    },
                )
            });
            match result {
                Ok(o @ Outcome::Applied { .. }) => {
                    println!("{}", outcome_line(&o));
                    Ok(())
                }
                Ok(o) => {
                    println!("{}", outcome_line(&o));
                    bail!("the update was not applied")
                }
                Err(ApplyError::Refused(e)) => {
                    record_refusal(&console, &file, &e);
                    bail!("update bundle refused: {e}")
                }
                Err(e) => {
                    let m = e.to_string();
                    let now = console.clock.now();
                    let _ = state::note(&dir, now, "apply", None, "failed", m.clone());
                    audit_update(
                        &console,
                        Event::UpdateFailed,
                        false,
                        serde_json::json!({ "file": file.display().to_string(), "reason": m }),
                    );
                    bail!("update failed: {m}")
                }
            }
        }
        UpdateCommand::Rollback {
            discard_changes,
            stop_first,
        } => {
            let o = with_env(&console, !stop_first, |env| {
                apply::rollback(env, discard_changes)
            })
            .map_err(|e| anyhow::anyhow!("rollback failed: {e}"))?;
            println!("{}", outcome_line(&o));
            Ok(())
        }
        UpdateCommand::Recover => {
            match with_env(&console, true, apply::recover)
                .map_err(|e| anyhow::anyhow!("recovery failed: {e}"))?
            {
                Some(o) => println!("{}", outcome_line(&o)),
                None => println!("no interrupted update"),
            }
            Ok(())
        }
        UpdateCommand::Status => {
            let st = state::load(&dir)?;
            println!(
                "installed version: {}",
                crate::update::state::installed_version(&st)?
            );
            if let Some(j) = apply::interrupted(&dir) {
                println!(
                    "INTERRUPTED:       update {} → {} stopped at step `{}`; run `holdfast update recover`",
                    j.from_version,
                    j.to_version,
                    j.step.name()
                );
            }
            match apply::last_completed(&dir) {
                Some(j) => println!("last update:       {}", apply::describe_last(&j)),
                None => println!("last update:       none that can be rolled back"),
            }
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
            let st = state::load(&dir)?;
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
            let _ = state::note(
                &dir,
                now,
                "extract",
                Some(v.manifest().version.to_string()),
                "extracted",
                to.display().to_string(),
            );
            Ok(())
        }
        UpdateCommand::Verify { file, sbom } => {
            let st = state::load(&dir)?;
            let keys = trusted(&console)?;
            let policy = policy_for(&console, &st, now)?;
            let checked = bundle::verify(&file, &keys, &policy)
                .map_err(|e| e.to_string())
                .and_then(|v| {
                    // The signature covers the manifest; that the package inside is the release
                    // the manifest names needs the package itself.
                    let scratch = dir
                        .join("update")
                        .join(format!("verify-{}", std::process::id()));
                    let _ = std::fs::remove_dir_all(&scratch);
                    crate::fsutil::ensure_private_dir(&scratch).map_err(|e| {
                        format!(
                            "cannot make the scratch directory {}: {e}",
                            scratch.display()
                        )
                    })?;
                    let checked = crate::update::apply::checked_package(&file, &v, &scratch)
                        .map_err(|e| e.to_string());
                    let _ = std::fs::remove_dir_all(&scratch);
                    checked.map(|_| v)
                });
            match checked {
                Ok(v) => {
                    let m = v.manifest();
                    if sbom {
                        use std::io::Write as _;
                        std::io::stdout()
                            .lock()
                            .write_all(v.sbom())
                            .context("cannot write the SBOM to standard output")?;
                    } else {
                        print_verified(&file, &v);
                    }
                    let _ = state::note(
                        &dir,
                        now,
                        "verify",
                        Some(m.version.to_string()),
                        "accepted",
                        file.display().to_string(),
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
                    let _ = state::note(&dir, now, "verify", None, "refused", e.clone());
                    audit_update(
                        &console,
                        Event::UpdateRefused,
                        false,
                        serde_json::json!({ "file": file.display().to_string(), "reason": e }),
                    );
                    bail!("update bundle refused: {e}")
                }
            }
        }
    }
}

fn print_verified(file: &std::path::Path, v: &bundle::Verified) {
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
    let s = v.sbom_summary();
    println!(
        "  SBOM CycloneDX {}: {} components of {} {} ({} bytes, sha256 {}; print it with --sbom)",
        s.spec_version,
        s.components,
        s.subject_name,
        s.subject_version,
        m.sbom.size,
        hex::encode(m.sbom.sha256)
    );
    println!("  signed by {}", v.signed_by().join(", "));
    if let Some(n) = &m.notes {
        println!("  release notes: {n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_without_a_measured_gap_says_what_is_known_not_a_question_mark() {
        let kept = Outcome::RolledBack {
            from: "0.2.0".into(),
            to: "0.1.0".into(),
            reason: "interrupted".into(),
            downtime_ms: None,
            sockets_held: true,
        };
        let line = outcome_line(&kept);
        assert!(!line.contains('?'), "{line}");
        assert!(line.contains("kept serving throughout"), "{line}");
        let measured = Outcome::Applied {
            from: "0.1.0".into(),
            to: "0.2.0".into(),
            downtime_ms: Some(150),
            sockets_held: true,
        };
        assert!(outcome_line(&measured).contains("waited up to 150 ms"));
        let unmeasured = Outcome::Applied {
            from: "0.1.0".into(),
            to: "0.2.0".into(),
            downtime_ms: None,
            sockets_held: false,
        };
        let line = outcome_line(&unmeasured);
        assert!(
            line.contains("not measured") && !line.contains('?'),
            "{line}"
        );
    }
}
