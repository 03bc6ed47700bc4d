//! `holdfast instance create|list|remove`: the local console for the instance registry.

use super::{Console, existing_data_dir, prepare_data_dir, shown};
use crate::instances;
use crate::keys;
use anyhow::{Context, Result, bail};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Create an instance with its own database and key
    Create {
        name: String,
        /// Host name that selects this instance (repeatable)
        #[arg(long = "hostname", value_name = "HOST", required = true)]
        hostnames: Vec<String>,
        /// Display title shown to users [default: the name]
        #[arg(long)]
        title: Option<String>,
    },
    /// List instances
    List,
    /// Change the display title users see
    Title { name: String, title: String },
    /// Take an instance out of service, keeping its encrypted files under removed/
    Remove {
        name: String,
        /// Confirm the removal
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(console: Console, cmd: InstanceCommand) -> Result<()> {
    let cfg = &console.config;
    // Only creating an instance may set a data dir up; the other commands need the server's.
    if matches!(cmd, InstanceCommand::Create { .. }) {
        prepare_data_dir(cfg)?;
    } else {
        existing_data_dir(cfg)?;
    }
    let dir = &cfg.data_dir;
    match cmd {
        InstanceCommand::Create {
            name,
            hostnames,
            title,
        } => {
            let first = instances::list_names(dir)?.is_empty();
            let (master, _) = keys::load(dir, first)?;
            let inst = instances::create(
                dir,
                &master,
                &name,
                &hostnames,
                title.as_deref(),
                crate::storage::Options::from(cfg),
                console.clock.as_ref(),
            )?;
            println!(
                "created instance `{}` for {} ({}); a running server picks it up within seconds",
                inst.name,
                inst.hostnames.join(", "),
                inst.db_path().display()
            );
        }
        InstanceCommand::List => {
            let names = instances::list_names(dir)?;
            if names.is_empty() {
                println!(
                    "no instances yet in {}; `holdfast serve` creates `default` on first start",
                    shown(dir)
                );
                return Ok(());
            }
            let (master, _) = keys::load(dir, false)?;
            println!("{:<20} {:<32} {:>10}  TITLE", "NAME", "HOSTNAMES", "SIZE");
            for name in names {
                let inst =
                    instances::open(dir, &master, &name, crate::storage::Options::from(cfg))?;
                let size = std::fs::metadata(inst.db_path())
                    .map(|m| m.len())
                    .unwrap_or(0);
                let hosts = if inst.hostnames.is_empty() {
                    "(any other host)".to_string()
                } else {
                    inst.hostnames.join(",")
                };
                println!(
                    "{:<20} {:<32} {:>10}  {}",
                    inst.name,
                    hosts,
                    human_size(size),
                    inst.title_blocking()?
                );
            }
        }
        InstanceCommand::Title { name, title } => {
            let title = title.trim();
            if title.is_empty() || title.chars().count() > 120 {
                bail!("the title must be 1–120 characters");
            }
            let (master, _) = keys::load(dir, false)?;
            let inst = instances::open(dir, &master, &name, crate::storage::Options::from(cfg))?;
            inst.set_title_blocking(title, console.clock.as_ref())?;
            println!("instance `{name}` is now titled \"{title}\"");
        }
        InstanceCommand::Remove { name, yes } => {
            instances::validate_name(&name)?;
            if !yes {
                bail!(
                    "removing instance `{name}` takes it out of service for all its users; run again with --yes to confirm"
                );
            }
            let kept = instances::remove(dir, &name, console.clock.as_ref())
                .with_context(|| format!("instance `{name}` was not removed"))?;
            println!(
                "removed instance `{name}`; its encrypted database and wrapped key are kept in {}",
                kept.display()
            );
        }
    }
    Ok(())
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
