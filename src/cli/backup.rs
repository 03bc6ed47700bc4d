//! `holdfast backup run|list|verify|export-key` and `holdfast restore`: the local console for
//! encrypted backups, with progress on a terminal and plain log lines otherwise.

use super::{Console, existing_data_dir, prepare_data_dir, secret_input};
use crate::audit::Event;
use crate::backup::engine::Made;
use crate::backup::job::{Progress, backup_instances, record};
use crate::backup::{engine, keyfile, recovery, status};
use crate::crypto::Secret;
use crate::instances;
use crate::keys;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back up one instance (--instance) or all of them to every configured destination
    Run {
        #[arg(long)]
        all: bool,
        /// Marks the archives as taken before an update (set by `update apply`)
        #[arg(long, hide = true)]
        before_update: bool,
    },
    /// Apply retention to the scheduled archives now; with --kept-older-than, also delete the
    /// archives made by hand or before an update that are older than DAYS days (retention never
    /// deletes those)
    Prune {
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
        kept_older_than: Option<u32>,
    },
    /// List the archives in every destination
    List,
    /// Decrypt and check a whole archive, including a test restore of its database
    Verify {
        file: PathBuf,
        /// Needed only when the archive comes from another machine: read the recovery code
        /// from this file (`-`: standard input)
        #[arg(long, value_name = "FILE")]
        recovery_code_file: Option<PathBuf>,
        /// Deprecated: the code on the command line is visible to other local users in `ps`
        #[arg(long, value_name = "CODE", conflicts_with = "recovery_code_file")]
        recovery_code: Option<String>,
        /// Write the archive's security-log checkpoint (JSON) to this file, for
        /// `holdfast admin audit verify --checkpoint`
        #[arg(long, value_name = "FILE")]
        save_checkpoint: Option<PathBuf>,
    },
    /// Print the backup key as a recovery code (store it offline: it restores on new hardware)
    ExportKey,
}

fn instances_for(console: &Console, all: bool) -> Result<Vec<String>> {
    let names = instances::list_names(&console.config.data_dir)?;
    if all || console.instance.is_none() && names.len() == 1 {
        return Ok(names);
    }
    match &console.instance {
        Some(n) if names.contains(n) => Ok(vec![n.clone()]),
        Some(n) => bail!("no instance named `{n}`"),
        None => bail!(
            "choose --instance NAME or --all ({} instances)",
            names.len()
        ),
    }
}

fn key_for(console: &Console, code: Option<&Secret<String>>) -> Result<crate::crypto::Key256> {
    match code {
        Some(c) => {
            Ok(recovery::decode(c.expose()).map_err(|e| anyhow::anyhow!("recovery code: {e}"))?)
        }
        None => {
            let (master, _) = keys::load(&console.config.data_dir, false)?;
            keyfile::load_or_create(&console.config.data_dir, &master).map_err(anyhow::Error::msg)
        }
    }
}

pub fn run(console: Console, cmd: BackupCommand) -> Result<()> {
    // Checking an archive with its recovery code (on another machine) needs no data dir.
    if !matches!(
        cmd,
        BackupCommand::Verify {
            recovery_code: Some(_),
            ..
        } | BackupCommand::Verify {
            recovery_code_file: Some(_),
            ..
        }
    ) {
        existing_data_dir(&console.config)?;
    }
    let cfg = &console.config;
    match cmd {
        BackupCommand::Run { all, before_update } => {
            let names = instances_for(&console, all)?;
            let made = if before_update {
                Made::Update
            } else {
                Made::Hand
            };
            let (lines, ok) =
                backup_instances(&console.config, &console.clock, &names, true, made)?;
            for l in lines {
                println!("{l}");
            }
            if !ok {
                bail!("the backup did not reach every destination (see above)");
            }
        }
        BackupCommand::List => {
            let st = status::load(&cfg.data_dir);
            for dest in &cfg.backup.destinations {
                let ds = st
                    .destinations
                    .get(&dest.display().to_string())
                    .cloned()
                    .unwrap_or_default();
                println!(
                    "{}  (last success {}, last verified restore {}{})",
                    dest.display(),
                    ds.last_success.unwrap_or_else(|| "never".into()),
                    ds.last_verified.unwrap_or_else(|| "never".into()),
                    ds.last_verify_seconds
                        .map(|s| format!(", took {s:.1} s"))
                        .unwrap_or_default()
                );
                for (name, _, size) in engine::list(dest) {
                    println!(
                        "  {name}  {:.1} MB  ({})",
                        size as f64 / 1e6,
                        Made::of(&name).label()
                    );
                }
            }
        }
        BackupCommand::Prune { kept_older_than } => {
            let now = console.clock.now();
            let names = instances::list_names(&cfg.data_dir)?;
            let mut removed = 0;
            for dest in &cfg.backup.destinations {
                for name in &names {
                    let mut gone = engine::prune(
                        dest,
                        name,
                        cfg.backup.keep_daily,
                        cfg.backup.keep_weekly,
                        cfg.backup.keep_monthly,
                        now,
                    );
                    if let Some(days) = kept_older_than {
                        let before = now - chrono::Duration::days(i64::from(days));
                        gone.extend(engine::prune_kept(dest, name, before));
                    }
                    for g in gone {
                        removed += 1;
                        let line = format!("removed {}", dest.join(g).display());
                        tracing::info!("{line}");
                        println!("{line}");
                    }
                }
            }
            println!("{removed} archive(s) removed");
        }
        BackupCommand::Verify {
            file,
            recovery_code_file,
            recovery_code,
            save_checkpoint,
        } => {
            let code = match (&recovery_code_file, recovery_code) {
                (None, None) => None,
                (f, argv) => Some(secret_input::read(
                    "recovery code",
                    secret_input::Source::pick(f.as_deref(), argv, "--recovery-code"),
                )?),
            };
            let key = key_for(&console, code.as_ref())?;
            let scratch = std::env::temp_dir();
            let mut p = Progress::with_total(
                "verify",
                std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0),
            );
            let r = engine::verify(&file, &key, &scratch, &mut |n| p.add(n))
                .with_context(|| format!("{} is not a usable backup", file.display()))?;
            p.done();
            println!(
                "{}: OK — instance {}, made {}, schema {}, {} document file(s), {:.1} MB, verified in {:.1} s",
                file.display(),
                r.instance,
                r.created_at,
                r.schema_version,
                r.files,
                r.bytes as f64 / 1e6,
                r.seconds
            );
            match (&r.checkpoint, save_checkpoint) {
                (Some(cp), Some(out)) => {
                    std::fs::write(&out, format!("{}\n", cp.to_json()))
                        .with_context(|| format!("cannot write {}", out.display()))?;
                    println!(
                        "security log checkpoint (row {}) saved to {}",
                        cp.id,
                        out.display()
                    );
                }
                (Some(cp), None) => println!("security log checkpoint: {}", cp.to_json()),
                (None, Some(_)) => bail!("this archive holds no security log checkpoint"),
                (None, None) => {}
            }
        }
        BackupCommand::ExportKey => {
            let (master, _) = keys::load(&cfg.data_dir, false)?;
            let key =
                keyfile::load_or_create(&cfg.data_dir, &master).map_err(anyhow::Error::msg)?;
            if let Some(when) = keyfile::exported_at(&cfg.data_dir) {
                eprintln!(
                    "note: this recovery code was already exported on {when}; it has not changed"
                );
            }
            println!("{}", recovery::encode(&key).expose());
            for name in instances::list_names(&cfg.data_dir)? {
                if let Ok(inst) = instances::open(
                    &cfg.data_dir,
                    &master,
                    &name,
                    crate::storage::Options::from(cfg),
                ) {
                    record(
                        &inst,
                        &console.clock,
                        Event::BackupKeyExported,
                        true,
                        serde_json::json!({}),
                    );
                }
            }
            eprintln!(
                "Write this recovery code down and store it offline, apart from the backups. With an archive and this code, holdfast restores on new hardware. Without it, the archives cannot be read."
            );
            keyfile::mark_exported(&cfg.data_dir, &crate::clock::stamp(console.clock.now()))
                .map_err(anyhow::Error::msg)?;
        }
    }
    Ok(())
}

/// `holdfast restore FILE [--recovery-code-file FILE] [--instance NAME]`
pub fn restore(console: Console, file: &Path, code: &Secret<String>) -> Result<()> {
    let cfg = &console.config;
    prepare_data_dir(cfg)?;
    let key = recovery::decode(code.expose()).map_err(|e| anyhow::anyhow!("recovery code: {e}"))?;
    let existing = instances::list_names(&cfg.data_dir)?;
    let first = existing.is_empty();
    // A running server keeps its databases open: it may only receive a restore under a new name.
    let new_name = console
        .instance
        .as_ref()
        .is_some_and(|n| !existing.contains(n));
    if !first && !new_name && crate::update::runtime::server_running(&cfg.data_dir) {
        bail!(
            "holdfast serve is running on this data dir: stop it (systemctl stop holdfast), restore, then start it again — or restore under a new name with --instance NEW"
        );
    }
    let key_file_existed = keys::key_file_path(&cfg.data_dir).exists();
    let (master, _) = keys::load(&cfg.data_dir, first)?;
    let mut p = Progress::with_total(
        "restore",
        std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
    );
    let r = engine::restore(
        file,
        &key,
        &cfg.data_dir,
        &master,
        console.instance.as_deref(),
        console.clock.as_ref(),
        &mut |n| p.add(n),
    )
    .map_err(|e| {
        // A key file made only for this restore goes again: "nothing was changed" means nothing.
        if first && !key_file_existed {
            let _ = std::fs::remove_file(keys::key_file_path(&cfg.data_dir));
        }
        anyhow::anyhow!(
            "nothing was changed; {} was not restored: {e}",
            file.display()
        )
    })?;
    p.done();
    println!(
        "restored instance `{}` from {} in {:.1} s ({} document file(s))",
        r.instance,
        file.display(),
        r.seconds,
        r.files
    );
    if let Some(old) = r.replaced {
        println!("the instance it replaced is kept in {}", old.display());
    }
    if let Ok(inst) = instances::open(
        &cfg.data_dir,
        &master,
        &r.instance,
        crate::storage::Options::from(cfg),
    ) {
        record(
            &inst,
            &console.clock,
            Event::BackupRestored,
            true,
            serde_json::json!({ "archive": file.display().to_string() }),
        );
    }
    Ok(())
}
