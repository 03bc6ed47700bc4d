//! `holdfast admin …`: the local console for accounts, policy, support access and the security log.
//! Works whether the server runs or not (SQLite WAL lets both use the database).

use super::{Console, existing_data_dir, shown};
use crate::audit::{self, Actor, ChainReport};
use crate::auth::accounts::{self, NewAccount, SupportGrant};
use crate::auth::services::AuthServices;
use crate::crypto::Secret;
use crate::instances::{self, DEFAULT_INSTANCE, Instance};
use crate::keys;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use std::io::Read;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Print a fresh one-time setup link for the first administrator (valid 24 h)
    SetupLink,
    /// Manage user accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Show or change the password and session policy
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Time-limited vendor support access
    #[command(subcommand)]
    Support(SupportCommand),
    /// API tokens for connected services
    #[command(subcommand)]
    Token(TokenCommand),
    /// Outbound webhook endpoints and their deliveries
    #[command(subcommand)]
    Webhook(super::webhook::WebhookCommand),
    /// Sessions of the whole instance
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// The notice shown on the sign-in page before anyone signs in
    #[command(subcommand)]
    Notice(NoticeCommand),
    /// Alerts the watch raised: list them, acknowledge or close one
    Alerts {
        /// Print JSON lines instead of a table
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<AlertsAction>,
    },
    /// Read or verify the security log
    Audit {
        /// Print JSON lines instead of a table
        #[arg(long)]
        json: bool,
        /// Only this event type (repeatable)
        #[arg(long = "type", value_name = "T")]
        types: Vec<String>,
        /// Rows at most
        #[arg(long, default_value_t = 200)]
        limit: usize,
        #[command(subcommand)]
        action: Option<AuditAction>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Register a service and print its token once
    Create {
        #[arg(long)]
        service: String,
        /// Comma-separated, e.g. clients:read,projects:write
        #[arg(long)]
        scopes: String,
        /// Days until it expires (default and maximum: the policy's token_max_days)
        #[arg(long)]
        expires_days: Option<u32>,
        /// Network the token may be used from, e.g. 10.20.0.0/16 (repeatable; default: any)
        #[arg(long = "from", value_name = "CIDR")]
        from: Vec<String>,
        /// The user the token acts for; it stops working when that user is disabled or locked
        #[arg(long)]
        owner: Option<String>,
    },
    List,
    Revoke {
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Acknowledge an alert: someone looked and acts on it
    Ack {
        id: i64,
        /// What was checked and who acts (required)
        #[arg(long)]
        note: String,
    },
    /// Close an alert; a repeat opens a new one
    Close {
        id: i64,
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Recompute the hash chain and report the first broken row
    Verify {
        /// Also prove the log still holds what a saved checkpoint covers: a JSON checkpoint (from
        /// `audit checkpoint` or a backup archive) or syslog lines with `audit_checkpoint` messages
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<std::path::PathBuf>,
    },
    /// Print the current chain head as a JSON checkpoint, to keep off this machine
    Checkpoint,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints a temporary password unless --password-stdin is given
    Add {
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long = "group", value_name = "G")]
        groups: Vec<String>,
        /// Read the password from standard input instead of generating a temporary one
        #[arg(long)]
        password_stdin: bool,
    },
    List,
    Unlock {
        name: String,
    },
    ResetPassword {
        name: String,
    },
    Disable {
        name: String,
    },
    Enable {
        name: String,
    },
    /// End every session of the user
    Revoke {
        name: String,
    },
    /// Remove the user's second factor (lost device); they must set one up again at next sign-in
    ResetFactor {
        name: String,
    },
    /// Print a one-time enrolment code, for a user who must set up a factor but gets no mail
    EnrolmentCode {
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum NoticeCommand {
    Show,
    /// Read the notice text from standard input
    Set,
    Clear,
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// End every session of the instance (everyone must sign in again)
    EndAll,
    /// Delete ended sessions now (the server also does it every hour)
    Purge,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    Show,
    /// KEY=VALUE, e.g. lockout_threshold=5
    Set {
        assignment: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SupportCommand {
    /// Open a support account (max 168 hours), usable only from the given networks
    Grant {
        #[arg(long)]
        hours: u32,
        /// Source network, e.g. the VPN subnet 10.8.0.0/24 (repeatable; required)
        #[arg(long = "from", value_name = "CIDR", required = true)]
        from: Vec<String>,
        #[arg(long = "group", value_name = "G", default_values_t = vec!["admins".to_string()])]
        groups: Vec<String>,
        #[arg(long, default_value = "vendor-support")]
        name: String,
        /// Where the one-time codes go (the vendor engineer's address)
        #[arg(long)]
        email: String,
    },
    /// Close support access at once
    Revoke {
        #[arg(long, default_value = "vendor-support")]
        name: String,
    },
}

fn open_instance(console: &Console) -> Result<Instance> {
    let cfg = &console.config;
    existing_data_dir(cfg)?;
    let name = console
        .instance
        .clone()
        .unwrap_or_else(|| DEFAULT_INSTANCE.to_string());
    if instances::list_names(&cfg.data_dir)?.is_empty() {
        bail!(
            "no instances yet in {}: start `holdfast serve` once with this data dir (it creates `default`), or give this command the server's --data-dir",
            shown(&cfg.data_dir)
        );
    }
    let (master, _) = keys::load(&cfg.data_dir, false)?;
    Ok(instances::open(
        &cfg.data_dir,
        &master,
        &name,
        crate::storage::Options::from(cfg),
    )?)
}

pub fn run(console: Console, cmd: AdminCommand) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the console runtime")?;
    rt.block_on(run_async(console, cmd))
}

async fn run_async(console: Console, cmd: AdminCommand) -> Result<()> {
    let inst = open_instance(&console)?;
    let svc = AuthServices::new(1, 4, console.config.mail.is_some())?
        .with_time_zone(console.config.time_zone);
    let now = console.clock.now();
    let actor = Actor::Console;
    let src = || "console".to_string();
    match cmd {
        AdminCommand::SetupLink => {
            match accounts::issue_setup_token(&inst, actor, src(), now).await? {
                Some(token) => {
                    let cfg = &console.config;
                    let dir = &cfg.data_dir;
                    // The address the server really listens on (`--listen`, port 0) is in its run
                    // record; the configured one is only a guess while no server runs.
                    let running = crate::update::runtime::server_running(dir)
                        .then(|| crate::update::runtime::read(dir).ok().flatten())
                        .flatten();
                    let listen = running.as_ref().map_or(cfg.listen, |r| r.listen);
                    println!(
                        "{}",
                        setup_link(&inst, listen, cfg.public_port, token.expose())
                    );
                    eprintln!(
                        "One-time link, valid 24 hours, for the first administrator of instance `{}`.",
                        inst.name
                    );
                    if running.is_none() {
                        eprintln!(
                            "No server is running on data dir {}: the link uses the configured address {listen}; start `holdfast serve` before opening it.",
                            shown(dir)
                        );
                    }
                }
                None => bail!(
                    "instance `{}` already has an administrator; sign in, or use `holdfast admin user reset-password`",
                    inst.name
                ),
            }
        }
        AdminCommand::User(u) => user(&svc, &inst, u, now).await?,
        AdminCommand::Sessions(SessionsCommand::EndAll) => {
            let n = crate::auth::sessions::end_everyone(&inst, None, console_by(now)).await?;
            println!("ended {n} session(s) of instance `{}`", inst.name);
        }
        AdminCommand::Notice(n) => match n {
            NoticeCommand::Show => match crate::auth::notice::get(&inst).await? {
                Some(t) => println!("{t}"),
                None => println!("(no notice)"),
            },
            NoticeCommand::Set => {
                let mut text = String::new();
                std::io::stdin()
                    .take(64 * 1024)
                    .read_to_string(&mut text)
                    .context("cannot read the notice from standard input")?;
                crate::auth::notice::set(&inst, console_by(now), text).await?;
                println!("notice set; it shows on the sign-in page");
            }
            NoticeCommand::Clear => {
                crate::auth::notice::set(&inst, console_by(now), String::new()).await?;
                println!("notice removed");
            }
        },
        AdminCommand::Sessions(SessionsCommand::Purge) => {
            let n = crate::auth::sessions::purge(&inst, now).await?;
            println!("deleted {n} ended session(s) of instance `{}`", inst.name);
        }
        AdminCommand::Webhook(w) => super::webhook::run(&inst, w, now).await?,
        AdminCommand::Token(t) => {
            let by = console_by(now);
            match t {
                TokenCommand::Create {
                    service,
                    scopes,
                    expires_days,
                    from,
                    owner,
                } => {
                    let owner_user_id = match owner {
                        Some(name) => {
                            let owner = crate::auth::directory::by_name(&inst, &name).await?;
                            Some(owner.with_context(|| format!("no user named `{name}`"))?.id)
                        }
                        None => None,
                    };
                    let t = crate::auth::tokens::create(
                        &inst,
                        by,
                        crate::auth::tokens::TokenRequest {
                            service: service.clone(),
                            scopes,
                            expires_days,
                            networks: from,
                            owner_user_id,
                        },
                    )
                    .await?;
                    println!(
                        "token #{} for `{service}` (shown only now; store it in the service's secret store):",
                        t.id
                    );
                    println!("{}", t.token.expose());
                }
                TokenCommand::List => {
                    let rows = crate::auth::tokens::list(&inst).await?;
                    println!(
                        "{:<5} {:<24} {:<10} {:<16} {:<20} {:<26} SCOPES",
                        "ID", "SERVICE", "STATE", "OWNER", "NETWORKS", "LAST USED"
                    );
                    for r in rows {
                        let state = if r.revoked_at.is_some() {
                            "revoked"
                        } else if r
                            .expires_at
                            .as_ref()
                            .is_some_and(|e| *e <= crate::clock::stamp(now))
                        {
                            "expired"
                        } else if r.owner_blocked {
                            "owner-off"
                        } else {
                            "active"
                        };
                        println!(
                            "{:<5} {:<24} {:<10} {:<16} {:<20} {:<26} {}",
                            r.id,
                            r.service,
                            state,
                            r.owner.unwrap_or_else(|| "console".into()),
                            r.networks.unwrap_or_else(|| "any".into()),
                            r.last_used_at.unwrap_or_else(|| "never".into()),
                            r.scopes
                        );
                    }
                }
                TokenCommand::Revoke { id } => {
                    crate::auth::tokens::revoke(&inst, by, id).await?;
                    println!("token #{id} revoked");
                }
            }
        }
        AdminCommand::Policy(PolicyCommand::Show) => {
            let p = accounts::policy(&inst).await?;
            for (k, v) in p.to_pairs() {
                println!("{k} = {v}");
            }
            for w in p.asvs_warnings() {
                println!("note: {w}");
            }
        }
        AdminCommand::Policy(PolicyCommand::Set { assignment }) => {
            let (k, v) = assignment
                .split_once('=')
                .context("write the setting as KEY=VALUE, e.g. lockout_threshold=5")?;
            let p = accounts::set_policy(&inst, console_by(now), k.trim().into(), v.trim().into())
                .await?;
            println!("{} = {}", k.trim(), p.get(k.trim()).unwrap_or_default());
            for w in p.asvs_warnings() {
                println!("note: {w}");
            }
        }
        AdminCommand::Support(SupportCommand::Grant {
            hours,
            from,
            groups,
            name,
            email,
        }) => {
            if !(1..=168).contains(&hours) {
                bail!("--hours must be between 1 and 168 (7 days)");
            }
            let support = SupportGrant {
                expires_at: now + chrono::Duration::hours(hours as i64),
                networks: from.clone(),
            };
            let account = NewAccount {
                support: Some(support),
                ..console_account(&name, email, groups)
            };
            let temporary = add_account(&svc, &inst, account, now).await?;
            println!(
                "support account `{name}` open for {hours} h, from {} only",
                from.join(", ")
            );
            if let Some(p) = temporary {
                println!(
                    "temporary password (give it to the vendor engineer; it must be changed at first sign-in): {}",
                    p.expose()
                );
            }
            println!(
                "a second factor (e-mailed code) is required at every sign-in; every action is logged as support"
            );
        }
        AdminCommand::Support(SupportCommand::Revoke { name }) => {
            accounts::revoke_support(&inst, console_by(now), name.clone()).await?;
            println!("support account `{name}` closed; its sessions are ended");
        }
        AdminCommand::Alerts { json, action } => match action {
            None => {
                for a in crate::watch::list(&inst).await? {
                    if json {
                        println!("{}", serde_json::to_string(&a)?);
                    } else {
                        println!(
                            "{:<5} {:<8} {:<12} {:<18} {:>5}  {}  {}",
                            a.id, a.severity, a.state, a.rule, a.count, a.last_seen, a.summary
                        );
                    }
                }
            }
            Some(AlertsAction::Ack { id, note }) => {
                let by = audit::By {
                    actor: actor.clone(),
                    source: src(),
                    now,
                };
                crate::watch::change_state(&inst, by, id, false, note).await?;
                println!("alert {id} acknowledged");
            }
            Some(AlertsAction::Close { id, note }) => {
                let by = audit::By {
                    actor: actor.clone(),
                    source: src(),
                    now,
                };
                crate::watch::change_state(&inst, by, id, true, note).await?;
                println!("alert {id} closed");
            }
        },
        AdminCommand::Audit {
            json,
            types,
            limit,
            action,
        } => {
            match action {
                Some(AuditAction::Verify {
                    checkpoint: Some(file),
                }) => return verify_checkpoints(&inst, &file).await,
                Some(AuditAction::Verify { checkpoint: None }) => {
                    let report = audit::log::verify(&inst).await?;
                    match report {
                        ChainReport::Intact { rows } => {
                            println!("security log intact: {rows} rows, hash chain verified")
                        }
                        ChainReport::Broken { id, reason } => {
                            bail!("security log chain broken at row {id}: {reason}")
                        }
                    }
                    return Ok(());
                }
                Some(AuditAction::Checkpoint) => {
                    let cp = audit::log::checkpoint(&inst, now, audit::checkpoint::reason::CONSOLE)
                        .await?;
                    println!("{}", cp.to_json());
                    return Ok(());
                }
                None => {}
            }
            for t in &types {
                if audit::Event::parse(t).is_none() {
                    bail!("unknown event type `{t}`");
                }
            }
            let filter = audit::Filter {
                events: types,
                limit,
                ..Default::default()
            };
            let rows = audit::log::page(&inst, filter).await?;
            for r in rows.iter().rev() {
                if json {
                    println!("{}", serde_json::to_string(r)?);
                } else {
                    println!("{}", log_line(r));
                }
            }
        }
    }
    Ok(())
}

/// The setup page's address for a server listening on `listen`: the instance's first host name,
/// else the listening IP when it is a specific one, else `localhost` (in the server's certificate).
/// A configured `public_port` (port forwarding) is the port people reach.
pub(super) fn setup_link(
    inst: &Instance,
    listen: std::net::SocketAddr,
    public_port: Option<u16>,
    token: &str,
) -> String {
    let ip = listen.ip();
    let host = match inst.hostnames.first() {
        Some(h) => h.clone(),
        None if ip.is_loopback() || ip.is_unspecified() => "localhost".into(),
        None if ip.is_ipv6() => format!("[{ip}]"),
        None => ip.to_string(),
    };
    let port = public_port.unwrap_or(listen.port());
    format!("https://{host}:{port}/setup?token={token}")
}

/// `admin audit verify --checkpoint FILE`: every checkpoint in FILE for this instance must hold.
async fn verify_checkpoints(inst: &Instance, file: &std::path::Path) -> Result<()> {
    use audit::checkpoint;
    let mut text = String::new();
    std::fs::File::open(file)
        .with_context(|| format!("cannot open {}", file.display()))?
        .take(checkpoint::MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let all = checkpoint::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let summary = audit::log::check_checkpoints(inst, all)
        .await?
        .map_err(|why| {
            anyhow::anyhow!(
                "security log of `{}` does not match {}: {why}",
                inst.name,
                file.display()
            )
        })?;
    println!("{summary}");
    Ok(())
}

/// An account with a temporary password and no support grant, to be filled in by the caller.
fn console_account(name: &str, email: String, groups: Vec<String>) -> NewAccount {
    NewAccount {
        username: name.to_string(),
        email,
        groups,
        password: None,
        support: None,
    }
}

/// Creates an account in the console's name; the temporary password, when one was generated.
async fn add_account(
    svc: &AuthServices,
    inst: &Instance,
    account: NewAccount,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Secret<String>>> {
    let created = accounts::create_user(svc, inst, console_by(now), account).await?;
    Ok(created.temporary_password)
}

/// One row of the security log as the console's table shows it.
fn log_line(row: &audit::log::AuditRow) -> String {
    let audit::log::AuditRow {
        at,
        event,
        outcome,
        actor,
        actor_kind,
        target,
        source,
        details,
        ..
    } = row;
    format!(
        "{at}  {event:<22} {outcome:<8} actor={actor}({actor_kind}) target={target} source={source} {details}"
    )
}

fn console_by(now: chrono::DateTime<chrono::Utc>) -> crate::audit::By {
    crate::audit::By {
        actor: Actor::Console,
        source: "console".into(),
        now,
    }
}

async fn user(
    svc: &AuthServices,
    inst: &Instance,
    cmd: UserCommand,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    match cmd {
        UserCommand::Add {
            name,
            email,
            groups,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(super::secret_input::read(
                    "password",
                    super::secret_input::Source::File(std::path::Path::new("-")),
                )?)
            } else {
                None
            };
            let groups = if groups.is_empty() {
                vec!["users".to_string()]
            } else {
                groups
            };
            let account = NewAccount {
                password,
                ..console_account(&name, email, groups)
            };
            let temporary = add_account(svc, inst, account, now).await?;
            println!("created user `{name}`");
            if let Some(p) = temporary {
                println!(
                    "temporary password (must be changed at first sign-in): {}",
                    p.expose()
                );
            }
        }
        UserCommand::List => {
            let (rows, _) = crate::auth::directory::with_groups(inst).await?;
            println!(
                "{:<20} {:<30} {:<20} {:<10} STATE",
                "NAME", "E-MAIL", "GROUPS", "2ND FACTOR"
            );
            for (u, groups) in rows {
                let mut state = Vec::new();
                if u.locked_at.is_some() {
                    state.push("locked".to_string());
                }
                if u.disabled_at.is_some() {
                    state.push("disabled".to_string());
                }
                if let Some(e) = &u.support_expires_at {
                    state.push(format!("support until {e}"));
                }
                if u.must_change_password {
                    state.push("must change password".into());
                }
                if state.is_empty() {
                    state.push("active".into());
                }
                println!(
                    "{:<20} {:<30} {:<20} {:<10} {}",
                    u.username,
                    u.email,
                    groups.join(","),
                    u.second_factor,
                    state.join(", ")
                );
            }
        }
        UserCommand::Unlock { name } => {
            accounts::unlock(svc, inst, console_by(now), name.clone()).await?;
            println!("unlocked `{name}`");
        }
        UserCommand::ResetPassword { name } => {
            let p = accounts::reset_password(svc, inst, console_by(now), name.clone()).await?;
            println!(
                "temporary password for `{name}` (must be changed at next sign-in; sessions ended): {}",
                p.expose()
            );
        }
        UserCommand::Disable { name } => {
            accounts::set_enabled(inst, console_by(now), name.clone(), false).await?;
            println!("disabled `{name}`; its sessions are ended");
        }
        UserCommand::Enable { name } => {
            accounts::set_enabled(inst, console_by(now), name.clone(), true).await?;
            println!("enabled `{name}`");
        }
        UserCommand::Revoke { name } => {
            let n = accounts::revoke_sessions(inst, console_by(now), name.clone()).await?;
            println!("ended {n} session(s) of `{name}`");
        }
        UserCommand::ResetFactor { name } => {
            crate::auth::enrolment::reset_factor(svc, inst, console_by(now), name.clone()).await?;
            println!(
                "second factor of `{name}` removed and its sessions ended; a new one is set up at the next sign-in"
            );
        }
        UserCommand::EnrolmentCode { name } => {
            let code = crate::auth::enrolment::issue_code(svc, inst, console_by(now), name.clone())
                .await?;
            println!(
                "enrolment code for `{name}` (give it in person; valid for the policy's temporary_password_hours): {}",
                code.expose()
            );
        }
    }
    Ok(())
}
