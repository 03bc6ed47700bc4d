//! The command line: global options, subcommands, and the one-line error convention.

mod admin;
mod backup;
mod doctor;
mod instance;
mod network;
mod secret_input;
mod serve;
mod update;
mod webhook;

use crate::clock::{self, SharedClock};
use crate::config::{Config, Overrides};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "holdfast",
    version,
    about = "holdfast — secure on-premises business hub",
    propagate_version = true
)]
pub struct Cli {
    /// Configuration file [default: /etc/holdfast/holdfast.toml when it exists]
    #[arg(long, global = true, env = "HOLDFAST_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory [default: /var/lib/holdfast when installed, ./holdfast-data otherwise]
    #[arg(long, global = true, env = "HOLDFAST_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Instance to act on, for commands that act on one
    #[arg(long, global = true, env = "HOLDFAST_INSTANCE", value_name = "NAME")]
    instance: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Prepare the data dir (master key, certificate, `default` instance) and exit; safe to repeat
    Init,
    /// Run the HTTPS server
    Serve {
        /// Address and port to listen on [default: 127.0.0.1:8443]
        #[arg(long, env = "HOLDFAST_LISTEN", value_name = "ADDR:PORT")]
        listen: Option<String>,
    },
    /// Create, list and remove instances
    #[command(subcommand)]
    Instance(instance::InstanceCommand),
    /// Check configuration, files, keys, certificate, databases and disk
    Doctor {
        /// Also try every configured outbound destination (mail relay, syslog collector, webhook
        /// endpoints): reachable, TLS verified, days until the certificate expires
        #[arg(long)]
        network: bool,
        /// Look for holdfast.socket (and its drop-ins) under this folder instead of `/`, e.g. a
        /// mounted system image
        #[arg(long, value_name = "DIR", default_value = "/")]
        systemd_root: PathBuf,
    },
    /// Accounts, policy, support access and the security log of an instance
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Print every HTTP route with who may call it
    Routes,
    /// Encrypted backups to every configured destination
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Restore an instance from a backup archive (into this or a new data dir); the recovery
    /// code is read from standard input (a prompt on a terminal) or from --recovery-code-file
    Restore {
        file: PathBuf,
        /// Read the recovery code from this file (`-`: standard input)
        #[arg(long, value_name = "FILE")]
        recovery_code_file: Option<PathBuf>,
        /// Deprecated: the code on the command line is visible to other local users in `ps`
        #[arg(long, value_name = "CODE", conflicts_with = "recovery_code_file")]
        recovery_code: Option<String>,
    },
    /// Offline updates from signed bundles
    #[command(subcommand)]
    Update(update::UpdateCommand),
}

/// What every console command receives: the resolved configuration and the clock.
pub struct Console {
    pub config: Config,
    pub clock: SharedClock,
    pub instance: Option<String>,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        config: cli.config.clone(),
        data_dir: cli.data_dir.clone(),
        listen: match &cli.command {
            Command::Serve { listen } => listen.clone(),
            _ => None,
        },
    };
    if !matches!(cli.command, Command::Serve { .. }) {
        // Console output piped into `head` ends quietly, as for any Unix tool. (The server keeps
        // SIGPIPE ignored: a client closing a socket must not end it.)
        restore_sigpipe();
    }
    let config = Config::load(&overrides);
    if let Command::Doctor {
        network,
        systemd_root,
    } = cli.command
    {
        return doctor::run(
            config,
            cli.instance,
            clock::system(),
            doctor::Options {
                network,
                systemd_root,
            },
        );
    }
    let config = match config {
        Ok(c) => c,
        Err(e) => return fail(&anyhow::Error::new(e)),
    };
    crate::logging::init(&config.log_level);
    let console = Console {
        config,
        clock: clock::system(),
        instance: cli.instance,
    };
    let result = match cli.command {
        Command::Serve { .. } => serve::run(console),
        Command::Init => serve::init(console),
        Command::Instance(cmd) => instance::run(console, cmd),
        Command::Admin(cmd) => admin::run(console, cmd),
        Command::Backup(cmd) => backup::run(console, cmd),
        Command::Restore {
            file,
            recovery_code_file,
            recovery_code,
        } => secret_input::read(
            "recovery code",
            secret_input::Source::pick(
                recovery_code_file.as_deref(),
                recovery_code,
                "--recovery-code",
            ),
        )
        .and_then(|code| backup::restore(console, &file, &code)),
        Command::Update(cmd) => update::run(console, cmd),
        Command::Routes => {
            for r in crate::web::routes() {
                println!("{:<7} {:<40} {}", r.method, r.path, r.access);
            }
            Ok(())
        }
        Command::Doctor { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// One line on stderr: the error and its causes, outermost first.
fn fail(e: &anyhow::Error) -> ExitCode {
    let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    let mut line = String::new();
    for part in chain {
        if !line.contains(&part) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&part);
        }
    }
    eprintln!("holdfast: error: {line}");
    ExitCode::FAILURE
}

/// Checks the data dir exists (creating the built-in default on first use) and is usable. Only
/// commands that set a data dir up (`serve`, `init`, `instance create`, `restore`) call this.
pub fn prepare_data_dir(config: &Config) -> Result<()> {
    let dir = &config.data_dir;
    if !dir.exists() {
        if config.data_dir_is_default {
            crate::fsutil::ensure_private_dir(dir)
                .with_context(|| format!("cannot create data dir {}", dir.display()))?;
            tracing::info!(data_dir = %dir.display(), "created data dir");
        } else {
            bail!(
                "data dir {} does not exist; create it (owned by the holdfast user, mode 0700) or choose another with --data-dir",
                dir.display()
            );
        }
    }
    check_data_dir(dir)
}

/// For commands that work on what a server set up: the data dir must exist and is never created
/// (a stray `./holdfast-data` would only hide the server's). The error names the directory looked
/// at and how it was chosen, because a console run from another directory or without the server's
/// `--data-dir` resolves to a different one.
pub fn existing_data_dir(config: &Config) -> Result<()> {
    let dir = &config.data_dir;
    if !dir.exists() {
        let how = if config.data_dir_is_default {
            "the default for this binary; `holdfast serve` uses the same unless given --data-dir, HOLDFAST_DATA_DIR or data_dir in its config file"
        } else {
            "chosen by --data-dir, HOLDFAST_DATA_DIR or the config file"
        };
        let mut msg = format!(
            "no data dir at {} ({how}): no instances yet there. Give this command the server's data dir (the same --data-dir, HOLDFAST_DATA_DIR or --config as `holdfast serve`)",
            shown(dir)
        );
        let installed = std::path::Path::new(crate::config::INSTALLED_DATA_DIR);
        if dir.as_path() != installed && installed.exists() {
            msg.push_str(&format!(
                "; {} exists: for the installed server, add --data-dir {}",
                installed.display(),
                installed.display()
            ));
        }
        bail!(msg);
    }
    check_data_dir(dir)
}

/// A data dir as messages show it: absolute, so a relative default says where it was looked for.
pub fn shown(dir: &std::path::Path) -> String {
    std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

/// The checks every command makes of an existing data dir.
fn check_data_dir(dir: &std::path::Path) -> Result<()> {
    if !dir.is_dir() {
        bail!("data dir {} is not a directory", dir.display());
    }
    // root writing into the service's data dir would leave files the service cannot read.
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(dir).map(|m| m.uid()).unwrap_or(0);
    if nix::unistd::geteuid().is_root() && owner != 0 {
        let user = nix::unistd::User::from_uid(owner.into())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| owner.to_string());
        bail!(
            "data dir {} belongs to user {user}: run console commands as that user, e.g. `runuser -u {user} -- holdfast …`",
            dir.display()
        );
    }
    std::fs::read_dir(dir).with_context(|| format!("data dir {} cannot be read", dir.display()))?;
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("data dir {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Storage options from the configuration.
fn restore_sigpipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIG_DFL installs no Rust code as a handler, so no async-signal-safety concerns arise.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}
