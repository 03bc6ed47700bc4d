//! `holdfast serve`: open storage, bind the listeners, tell systemd, serve until SIGTERM (or, asked
//! by `update apply` under systemd, park: stop serving, let go of the data dir, wait for SIGTERM).

use super::{Console, prepare_data_dir};
use crate::app::AppState;
use crate::auth::services::AuthServices;
use crate::instances::{self, Registry};
use crate::sockets::{self, takeover::Channel, takeover::Msg};
use crate::{keys, systemd, web};
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

pub fn run(console: Console) -> Result<()> {
    let started = Instant::now();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(64)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match runtime.block_on(serve(console, started))? {
        Ended::Parked(parked) => stay_parked(runtime, parked),
        Ended::Stopped(lock) => {
            // Dropping the runtime ends its tasks and waits for its blocking ones; the last handles
            // of the databases go with them, and dropping a database waits for the batch its
            // writer thread is running. Only then does the lock go, so nothing this server started
            // writes after `update apply` or `restore` saw the data dir free.
            drop(runtime);
            drop(lock);
            Ok(())
        }
    }
}

/// How [`serve`] ended.
enum Ended {
    /// Stopped for good; the data-dir lock, still held (`None`: it never took it).
    Stopped(Option<nix::fcntl::Flock<std::fs::File>>),
    /// Parked for an update.
    Parked(Parked),
}

/// How long a parking server gives its remaining tasks, and then a write still in progress, to end.
const PARK_LIMIT: Duration = Duration::from_secs(10);

/// What a server that stopped serving to park still holds: the data-dir lock, and the instances
/// whose writers must be closed before it goes.
struct Parked {
    lock: nix::fcntl::Flock<std::fs::File>,
    instances: Vec<Arc<instances::Instance>>,
}

/// Parked for an update (`sockets::control`, `park`): the server has stopped accepting, finished
/// its requests and checkpointed. Here every task it still runs ends (a backup or a mail in
/// progress), every instance's writer is closed, and only then is the data-dir lock let go, so
/// `update apply` may snapshot and install; the process stays the service's main process (pinging
/// the watchdog), so that holdfast.socket cannot start the service again meanwhile. The update's
/// `systemctl restart` ends it with SIGTERM.
///
/// The runtime's shutdown cannot end a blocking task: one still writing after [`PARK_LIMIT`] would
/// go on writing after the lock is gone, into a database the update is copying or migrating. So
/// the lock goes only once every writer is closed (`runtime::release_when_closed`). If a write
/// still runs at the limit, the park fails: the lock stays held and the process stays parked, so
/// the update sees the data dir still taken, stops waiting after its own limit and takes its stop
/// path (`systemctl stop` of the socket and the service). That SIGTERM ends this process without
/// letting go of the lock first: the kernel ends every thread, the write with them (SQLite's
/// journal undoes an unfinished transaction), before it closes the lock's descriptor. Exiting at
/// once instead would be no safer and worse: the service would have no process, and
/// holdfast.socket or `Restart=` could start a server while the update installs.
fn stay_parked(runtime: tokio::runtime::Runtime, parked: Parked) -> Result<()> {
    let deadline = Instant::now() + PARK_LIMIT;
    runtime.shutdown_timeout(PARK_LIMIT);
    // On every early return below the lock is leaked, never dropped: a write may still run, and
    // only the process's exit may let go of the lock then.
    let waiting = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(w) => w,
        Err(e) => {
            std::mem::forget(parked);
            return Err(anyhow::Error::new(e).context("cannot start the async runtime"));
        }
    };
    let Parked { lock, instances } = parked;
    waiting.block_on(async move {
        // Listening before the lock goes: the update sends SIGTERM only once the lock is free.
        let Signals {
            mut term,
            mut int,
            mut hup,
        } = match install_signals() {
            Ok(s) => s,
            Err(e) => {
                std::mem::forget(lock);
                return Err(e);
            }
        };
        // Blocks this thread until the deadline at most; nothing else runs on it meanwhile, and a
        // signal that comes is queued for the loop below.
        let released = crate::update::runtime::release_when_closed(lock, &instances, deadline);
        // Held to the end when a write still runs, and never let go by this process: only its exit
        // releases it, after the write's thread is gone.
        let still_held = match released {
            Ok(()) => {
                systemd::status(
                    "parked for an update: not serving; the update restarts the service",
                );
                tracing::info!(
                    "parked for an update: the data dir is free; waiting for the restart"
                );
                None
            }
            Err(held) => {
                let names = held.instances.join(", ");
                systemd::status(&format!(
                    "park failed: a write still runs ({names}); the data dir stays locked until the service is stopped"
                ));
                tracing::error!(
                    instances = %names,
                    "park failed: a database write still ran {} s after parking began; the data dir stays locked, so the update stops the service instead",
                    PARK_LIMIT.as_secs()
                );
                Some(held.lock)
            }
        };
        let every = systemd::watchdog_interval().unwrap_or(Duration::from_secs(3600));
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                // Nothing to reload: no instance is open.
                _ = hup.recv() => {}
                _ = tick.tick() => systemd::watchdog_ping(),
            }
        }
        systemd::stopping();
        tracing::info!("stopped (parked)");
        // Leaked, not dropped: the descriptor closes with the process, after its threads ended.
        std::mem::forget(still_held);
        Ok(())
    })
}

use crate::update::runtime::LOCK_FILE;

/// What `serve` does before it listens, without listening: used by the package's postinst.
pub fn init(console: Console) -> Result<()> {
    let Console { config, clock, .. } = console;
    prepare_data_dir(&config)?;
    let dir = config.data_dir.clone();
    let first = instances::list_names(&dir)?.is_empty();
    let (master, source) = keys::load(&dir, first)?;
    let registry = Registry::open_all(
        &dir,
        master,
        crate::storage::Options::from(&config),
        clock.as_ref(),
    )?;
    let cert = certificate(&config, &registry, clock.now())?;
    println!("data dir:    {}", dir.display());
    println!("master key:  {source}");
    println!(
        "certificate: {}{}",
        cert.cert.display(),
        if cert.self_signed {
            " (self-signed)"
        } else {
            ""
        }
    );
    for inst in registry.all() {
        println!("instance:    {}", inst.name);
    }
    Ok(())
}

/// The configured certificate, or a self-signed one in the data dir naming every instance's hosts
/// and the addresses the server listens on.
fn certificate(
    config: &crate::config::Config,
    registry: &Registry,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<crate::tls::CertPaths> {
    let mut hostnames: Vec<String> = registry
        .all()
        .iter()
        .flat_map(|i| i.hostnames.clone())
        .collect();
    hostnames.extend(crate::tls::listen_names(config.listen));
    Ok(crate::tls::ensure_certificate(
        &config.data_dir,
        config.tls_cert_file.as_deref(),
        config.tls_key_file.as_deref(),
        &hostnames,
        now,
    )?)
}

async fn bind(addr: SocketAddr, what: &str) -> Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                " — another program already listens there; stop it or choose another address with --listen"
            }
            std::io::ErrorKind::PermissionDenied => {
                " — ports below 1024 need CAP_NET_BIND_SERVICE (the systemd unit grants it)"
            }
            _ => "",
        };
        anyhow::anyhow!("cannot listen on {addr} ({what}): {e}{hint}")
    })
}

/// The listener called `name`: the one this process was handed (systemd, or the update that
/// started it), else a new one bound on `addr`. A second descriptor of it goes into `handed`.
async fn listener_for(
    inherited: &mut sockets::Named,
    handed: &mut sockets::Named,
    name: &str,
    addr: SocketAddr,
    what: &str,
) -> Result<TcpListener> {
    let listener = match inherited.take(name)? {
        Some(std) => {
            let l =
                TcpListener::from_std(std).with_context(|| format!("inherited {what} socket"))?;
            let local = l.local_addr().ok();
            tracing::info!(listen = ?local, "{what}: listening socket handed over");
            if addr.port() != 0 && local.is_some_and(|a| a != addr) {
                // Under socket activation the socket unit's ListenStream= decides, not `listen`.
                tracing::warn!(
                    configured = %addr,
                    listen = ?local,
                    "{what}: the configured address is not used; the socket handed to this server listens elsewhere"
                );
            }
            l
        }
        None => bind(addr, what).await?,
    };
    let second = second_descriptor(&listener).with_context(|| format!("{what} socket"))?;
    handed.push(name, second);
    Ok(listener)
}

fn second_descriptor(l: &TcpListener) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::AsFd;
    l.as_fd().try_clone_to_owned()
}

fn lock_data_dir(dir: &std::path::Path) -> Result<nix::fcntl::Flock<std::fs::File>> {
    crate::update::runtime::lock(dir)
        .with_context(|| format!("cannot create {}", dir.join(LOCK_FILE).display()))?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "another holdfast serve already runs on data dir {}",
                dir.display()
            )
        })
}

/// Tells the update which schema this version would migrate to, before anything is opened; it
/// answers `open` only when no database changes (otherwise it stops the old server first and
/// starts this version again the ordinary way).
async fn agree_to_open(ch: Channel) -> Result<Channel> {
    tokio::task::spawn_blocking(move || {
        let mut ch = ch;
        ch.send(&Msg::Schema(crate::storage::LATEST_SCHEMA_VERSION))
            .context("update hand-over")?;
        match ch.recv(None) {
            Ok(Msg::Open) => Ok(ch),
            Ok(other) => anyhow::bail!("update hand-over: unexpected {other:?}"),
            Err(e) => anyhow::bail!(
                "the update that started this server went away ({e}); not taking over"
            ),
        }
    })
    .await
    .context("hand-over task failed")?
}

/// Ready beside the running server: `/readyz` (and nothing else) answers on a private loopback
/// port, the update probes it, stops the old server and says `go`; only then does this server hold
/// the data-dir lock. Until then it accepted nothing on the shared sockets, wrote nothing and ran
/// no job, so two servers never serve the same databases at once.
async fn take_over(
    ch: Channel,
    state: &AppState,
    tls: Arc<rustls::ServerConfig>,
    dir: &std::path::Path,
    boot_id: &str,
) -> Result<nix::fcntl::Flock<std::fs::File>> {
    let probe = bind(SocketAddr::from(([127, 0, 0, 1], 0)), "readiness probe").await?;
    let addr = probe
        .local_addr()
        .context("probe listener has no address")?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let limits = web::connections::Limits {
        max_connections: 16,
        per_address: 16,
        idle_timeout: Duration::from_secs(5),
    };
    let probing = tokio::spawn(web::server::serve_tls(
        probe,
        tls,
        web::readiness_router(state.clone()),
        limits,
        Duration::from_millis(200),
        async move {
            let mut rx = stop_rx;
            let _ = rx.wait_for(|s| *s).await;
        },
    ));
    state.set_ready(true);
    let boot = boot_id.to_string();
    let waited = tokio::task::spawn_blocking(move || {
        let mut ch = ch;
        ch.send(&Msg::Probe { addr, boot })
            .context("update hand-over")?;
        match ch.recv(None) {
            Ok(Msg::Go) => Ok(()),
            Ok(other) => anyhow::bail!("update hand-over: unexpected {other:?}"),
            Err(e) => anyhow::bail!(
                "the update that started this server went away ({e}); not taking over"
            ),
        }
    })
    .await
    .context("hand-over task failed")?;
    let _ = stop_tx.send(true);
    let _ = probing.await;
    waited?;
    // `go` comes once the old server let go of the lock; its exit may take a moment to complete.
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        match lock_data_dir(dir) {
            Ok(lock) => {
                tracing::info!("took over from the previous server");
                return Ok(lock);
            }
            Err(e) if Instant::now() >= end => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Serves until SIGTERM or until parked for an update; either way the data-dir lock is still held
/// when it returns (with the instances, for [`stay_parked`]).
async fn serve(console: Console, started: Instant) -> Result<Ended> {
    let Console { config, clock, .. } = console;
    prepare_data_dir(&config)?;
    let dir = config.data_dir.clone();
    let mut inherited = sockets::inherited().context("listening sockets handed to this server")?;
    let takeover = Channel::from_env().context("update hand-over channel")?;
    // One server per data dir; the lock also tells `holdfast restore` that a server is running. A
    // server started to take over from the running one takes it only after that one has exited.
    let mut lock = match takeover {
        None => Some(lock_data_dir(&dir)?),
        Some(_) => None,
    };
    let takeover = match takeover {
        Some(ch) => Some(agree_to_open(ch).await?),
        None => None,
    };
    let first_start = instances::list_names(&dir)?.is_empty();
    let (master, key_source) = keys::load(&dir, first_start)?;
    tracing::info!(source = %key_source, key_id = %master.id(), "master key loaded");

    let opts = crate::storage::Options::from(&config);
    let reg_dir = dir.clone();
    let reg_clock = clock.clone();
    let mut opening = tokio::task::spawn_blocking(move || {
        Registry::open_all(&reg_dir, master, opts, reg_clock.as_ref())
    });
    // Opening applies pending migrations, which on a large instance take a while (0005 rebuilt the
    // search of 2M time entries in ~34 s: docs/PERFORMANCE.md). Until it is done, systemd is told
    // every 10 s that start-up goes on, so TimeoutStartSec counts from the last notice.
    // A server taking over inside the service is not its main process yet: systemd would reject
    // (and log) its notices, and the update's own timeout governs it.
    let status = "opening instances (applying database migrations)";
    let notify = takeover.is_none();
    if notify {
        systemd::extend_start(Duration::from_secs(30), status);
    }
    let every = Duration::from_secs(10);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let registry = loop {
        tokio::select! {
            done = &mut opening => break done.context("storage start-up task failed")??,
            _ = tick.tick() => if notify { systemd::extend_start(Duration::from_secs(30), status) },
        }
    };

    let cert = certificate(&config, &registry, clock.now())?;
    let tls = crate::tls::server_config(&cert)?;
    // Second descriptors of every listener, for the control socket that hands them to the next
    // version's server (`sockets::control`).
    let mut handed = sockets::Named::default();
    let listener = listener_for(
        &mut inherited,
        &mut handed,
        sockets::HTTPS,
        config.listen,
        "HTTPS",
    )
    .await?;
    let local = listener.local_addr().context("listener has no address")?;
    let redirect = match config.redirect_listen {
        Some(addr) => Some(
            listener_for(
                &mut inherited,
                &mut handed,
                sockets::REDIRECT,
                addr,
                "HTTP redirect",
            )
            .await?,
        ),
        None => None,
    };

    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let auth = std::sync::Arc::new(
        AuthServices::new(workers, 256, config.mail.is_some())
            .context("cannot start the password hashing pool")?
            .with_time_zone(config.time_zone),
    );
    let state = AppState::new(config.clone(), registry, clock, auth);
    let boot_id = crate::update::runtime::new_boot_id()?;
    state.set_boot_id(boot_id.clone());
    for problem in &state.catalogue.problems {
        tracing::error!(%problem, "message catalogue");
    }
    if let Some(ch) = takeover {
        lock = Some(take_over(ch, &state, Arc::clone(&tls), &dir, &boot_id).await?);
    }
    announce_setup_links(&state, local).await;
    // Every outbound connection goes through this gate; its refusals land in the security log.
    let egress = {
        let st = state.clone();
        let book = crate::audit::egress::EgressBook::new(
            Arc::new(move || st.registry.all()),
            state.clock.clone(),
        );
        Arc::new(crate::egress::Egress::from_config(&config, Arc::new(book)))
    };
    for inst in state.registry.all() {
        let noted =
            crate::audit::egress::note_configured(&inst, egress.fixed(), state.clock.now()).await;
        if let Err(e) = noted {
            tracing::warn!(instance = %inst.name, error = %e, "configured destinations not noted");
        }
    }
    let mailer = match &config.mail {
        Some(m) => {
            let settings = crate::mail::sender::settings_from(m).context("mail configuration")?;
            Some(std::sync::Arc::new(
                crate::mail::smtp::Mailer::new(&settings, Arc::clone(&egress))
                    .context("mail configuration")?,
            ))
        }
        None => None,
    };
    let router = web::router(state.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let wait_stop = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    if let Some(l) = redirect {
        let addr = l.local_addr().ok();
        tracing::info!(listen = ?addr, "HTTP redirect listener on");
        tokio::spawn(web::server::serve_redirect(
            l,
            config.public_port.unwrap_or(local.port()),
            wait_stop(stop_rx.clone()),
        ));
    }
    tokio::spawn(refresh_instances(state.clone(), stop_rx.clone()));
    // The forwarder stops only after the last connection closed, so its stop checkpoint covers
    // every event the requests in flight wrote.
    let (forward_stop_tx, forward_stop_rx) = watch::channel(false);
    let mut forwarding = None;
    if let Some(f) = &config.audit_forward {
        let forwarder =
            crate::audit::forward::Forwarder::start(crate::audit::forward::ForwardConfig {
                host: f.host.clone(),
                port: f.port,
                tls: f.tls,
                ca_file: f.ca_file.clone(),
                app_name: "holdfast".into(),
                hostname: nix::unistd::gethostname()
                    .ok()
                    .and_then(|h| h.into_string().ok())
                    .unwrap_or_else(|| "-".into()),
                queue: crate::audit::forward::DEFAULT_QUEUE,
                egress: Arc::clone(&egress),
            })
            .context("audit forwarding configuration")?;
        tracing::info!(host = %f.host, port = f.port, tls = f.tls, "security log forwarding on");
        forwarding = Some(tokio::spawn(crate::audit::tail::run(
            forwarder,
            Arc::clone(&state.registry),
            state.clock.clone(),
            Duration::from_secs(state.config.audit_checkpoint_interval_seconds),
            forward_stop_rx,
        )));
    }
    if config.alerts.enabled {
        tokio::spawn(crate::watch::run::run(
            crate::watch::run::Watch {
                config: config.clone(),
                registry: Arc::clone(&state.registry),
                clock: state.clock.clone(),
                mail_wakeup: Arc::clone(&state.auth.mail_wakeup),
                words: crate::i18n::MailWords::new(state.catalogue.clone(), config.time_zone),
            },
            stop_rx.clone(),
        ));
    }
    tokio::spawn(backup_schedule(state.clone(), stop_rx.clone()));
    tokio::spawn(take_in_handed_over(state.clone(), stop_rx.clone()));
    tokio::spawn(write_refusals(state.clone(), stop_rx.clone()));
    let instances = {
        let st = state.clone();
        move || st.registry.all()
    };
    tokio::spawn(housekeeping(
        instances,
        state.clock.clone(),
        stop_rx.clone(),
    ));
    if let Some(mailer) = mailer {
        tracing::info!("mail: sending through the configured SMTP server");
        tokio::spawn(crate::mail::sender::run(
            mailer,
            Arc::clone(&state.registry),
            state.clock.clone(),
            Arc::clone(&state.auth.mail_wakeup),
            stop_rx.clone(),
        ));
    }
    tokio::spawn(crate::webhooks::deliver::run(
        Arc::clone(&egress),
        state.config.webhooks.clone(),
        Arc::clone(&state.registry),
        state.clock.clone(),
        stop_rx.clone(),
    ));
    let (control_tx, control_rx) = watch::channel(Stop::Serving);
    if let Some(every) = systemd::watchdog_interval() {
        // Not stopped with the rest: a server parking for an update drains its requests without
        // telling systemd it stops, and must not be killed as hung meanwhile. One that handed the
        // service over is not its main process any more: its pings would be refused.
        tokio::spawn(watchdog(every, control_rx.clone()));
    }

    if let Some(m) = &config.metrics {
        let token = match &m.token_file {
            Some(path) => Some(read_metrics_token(path)?),
            None => None,
        };
        let tls = crate::tls::metrics_server_config(&cert, m.client_ca_file.as_deref())
            .context("metrics listener (metrics.client_ca_file)")?;
        let listener = listener_for(
            &mut inherited,
            &mut handed,
            sockets::METRICS,
            m.listen,
            "metrics",
        )
        .await?;
        let addr = listener
            .local_addr()
            .context("metrics listener has no address")?;
        tracing::info!(
            token = token.is_some(),
            client_certificate = m.client_ca_file.is_some(),
            "metrics endpoint on https://{addr}/metrics"
        );
        // A scraper needs few connections; the limits keep a flood on this port from costing more.
        let limits = web::connections::Limits {
            max_connections: 64,
            per_address: 16,
            idle_timeout: Duration::from_secs(config.idle_timeout_seconds),
        };
        tokio::spawn(web::server::serve_tls(
            listener,
            tls,
            web::metrics::router(state.clone(), token),
            limits,
            Duration::from_secs(1),
            wait_stop(stop_rx.clone()),
        ));
    }

    for name in inherited.names() {
        tracing::warn!(
            socket = name,
            "a listening socket was handed to this server for a listener it does not run; closed"
        );
    }
    drop(inherited);
    let control = dir.join(sockets::control::FILE);
    let answers = Box::new(ControlAnswers::new(control_tx)?);
    if let Err(e) = sockets::control::serve(&control, handed, answers) {
        tracing::warn!(error = %e, "no control socket: an update will stop this server before starting the next");
    }

    let signals = install_signals()?;
    state.set_ready(true);
    write_run_record(&state, local, boot_id).await;
    tracing::info!(
        "listening on https://{local} (instances: {}; ready in {} ms)",
        state
            .registry
            .all()
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_millis()
    );
    systemd::ready(&format!("serving on {local}"));

    let signal_state = state.clone();
    let parked = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let parking = Arc::clone(&parked);
    let on_signal = async move {
        let asked = async move {
            let mut rx = control_rx;
            match rx.wait_for(|s| *s != Stop::Serving).await.map(|s| *s) {
                Ok(how) => how,
                // No control socket: nobody can ask.
                Err(_) => std::future::pending::<Stop>().await,
            }
        };
        let how = tokio::select! {
            _ = wait_for_termination(&signal_state, signals) => Stop::Serving,
            how = asked => how,
        };
        signal_state.set_ready(false);
        // Nobody may take the sockets from a server that is stopping: the next one gets them from
        // whoever holds them now (`update apply`, systemd's socket unit).
        let _ = std::fs::remove_file(&control);
        match how {
            Stop::Park => {
                // No STOPPING=1: systemd must go on seeing a running service (see `stay_parked`).
                parking.store(true, std::sync::atomic::Ordering::SeqCst);
                systemd::status("parking for an update: finishing requests in flight");
                tracing::info!("parking for an update: finishing requests in flight");
            }
            Stop::HandOver => {
                // No STOPPING=1 either: the service is the next version's now (MAINPID= sent).
                tracing::info!("handing over to the next version: finishing requests in flight");
            }
            Stop::Serving => {
                systemd::stopping();
                tracing::info!("shutting down: finishing requests in flight");
            }
        }
        let _ = stop_tx.send(true);
    };
    web::server::serve_tls(
        listener,
        tls,
        router,
        web::connections::Limits::from_config(&config),
        Duration::from_secs(config.shutdown_grace_seconds),
        on_signal,
    )
    .await;
    let _ = forward_stop_tx.send(true);
    if let Some(task) = forwarding
        && tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .is_err()
    {
        tracing::warn!(
            "security log forwarding did not finish; its stop checkpoint may be missing"
        );
    }

    // Refusals of the minute in progress are written now, not lost with the process.
    flush_refusals(&state, state.refusals.take_all()).await;
    for inst in state.registry.all() {
        if let Err(e) = inst.db.checkpoint() {
            tracing::warn!(instance = %inst.name, error = %e, "final checkpoint failed; the WAL will be replayed at next start");
        }
    }
    if parked.load(std::sync::atomic::Ordering::SeqCst)
        && let Some(lock) = lock
    {
        return Ok(Ended::Parked(Parked {
            lock,
            instances: state.registry.all(),
        }));
    }
    tracing::info!("stopped");
    Ok(Ended::Stopped(lock))
}

/// Why the server stops serving, when asked over its control socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Serving,
    Park,
    HandOver,
}

/// How this server answers `update apply` over its control socket (`sockets::control`).
struct ControlAnswers {
    stop: watch::Sender<Stop>,
    /// The binary this server was started from: after an update installed the next version
    /// there, starting it starts the next version.
    exe: std::path::PathBuf,
    args: Vec<std::ffi::OsString>,
    /// The PID of the next version this server started (0: none), the only one it hands over to.
    spawned: Arc<std::sync::atomic::AtomicU32>,
}

impl ControlAnswers {
    fn new(stop: watch::Sender<Stop>) -> Result<ControlAnswers> {
        let exe = std::env::current_exe().context("own executable")?;
        // Taken at start, before any update could replace the file.
        let exe = std::path::PathBuf::from(exe.to_string_lossy().replace(" (deleted)", ""));
        Ok(ControlAnswers {
            stop,
            exe,
            args: std::env::args_os().skip(1).collect(),
            spawned: Arc::new(std::sync::atomic::AtomicU32::new(0)),
        })
    }

    fn ask(&self, how: Stop) -> bool {
        self.stop.send_if_modified(|s| {
            let now = *s == Stop::Serving;
            if now {
                *s = how;
            }
            now
        })
    }
}

impl sockets::control::Server for ControlAnswers {
    fn park(&self) -> bool {
        self.ask(Stop::Park)
    }

    fn spawn(
        &self,
        listeners: &sockets::Named,
        channel: std::os::fd::OwnedFd,
    ) -> Result<u32, sockets::SocketsError> {
        use std::os::fd::AsFd;
        use std::sync::atomic::Ordering;
        let refused = |why: &str| sockets::SocketsError::BadAnswer(why.to_string());
        if *self.stop.borrow() != Stop::Serving {
            return Err(refused("this server is stopping"));
        }
        if self.spawned.load(Ordering::SeqCst) != 0 {
            return Err(refused("a next version already runs"));
        }
        let mut cmd = std::process::Command::new(&self.exe);
        cmd.args(&self.args).stdin(std::process::Stdio::null());
        // The child gets the listeners and its channel by name (`spawn_with`); systemd's
        // variables name this process and would mislead it. Without WATCHDOG_PID it pings for
        // itself once it is the service's main process.
        for var in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "WATCHDOG_PID"] {
            cmd.env_remove(var);
        }
        let mut child = sockets::spawn_with(
            &mut cmd,
            listeners,
            Some((sockets::takeover::ENV, channel.as_fd())),
        )?;
        drop(channel);
        let pid = child.id();
        self.spawned.store(pid, Ordering::SeqCst);
        tracing::info!(pid, "started the next version beside this server");
        let spawned = Arc::clone(&self.spawned);
        // Reaped here while this server lives; once it has handed over and exited, systemd reaps.
        let reaper = std::thread::Builder::new()
            .name("next-version".into())
            .spawn(move || {
                let status = child.wait();
                let _ = spawned.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
                tracing::info!(
                    pid,
                    ?status,
                    "the next version started by this server exited"
                );
            });
        if let Err(e) = reaper {
            tracing::warn!(error = %e, "cannot watch the next version");
        }
        Ok(pid)
    }

    fn hand_over(&self, pid: u32) -> bool {
        if pid == 0
            || self.spawned.load(std::sync::atomic::Ordering::SeqCst) != pid
            || *self.stop.borrow() != Stop::Serving
        {
            return false;
        }
        // The next version becomes the service's main process before this one stops: systemd
        // never sees the service without one.
        systemd::main_pid(pid);
        self.ask(Stop::HandOver)
    }
}

/// The scrapers' bearer token: the file's first line. A file others can read is refused, and so is
/// an empty one (it would let anyone in while looking protected).
fn read_metrics_token(path: &std::path::Path) -> Result<crate::crypto::Secret<String>> {
    use std::os::unix::fs::PermissionsExt;
    let what = || format!("metrics.token_file {}", path.display());
    let meta = std::fs::metadata(path).with_context(what)?;
    if meta.permissions().mode() & 0o007 != 0 {
        anyhow::bail!(
            "{}: readable by other users; chmod 0640 (owner root, group holdfast)",
            what()
        );
    }
    let text = crate::crypto::Secret::new(std::fs::read_to_string(path).with_context(what)?);
    let token = text
        .expose()
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if token.len() < 16 {
        anyhow::bail!("{}: the token must be at least 16 characters", what());
    }
    Ok(crate::crypto::Secret::new(token))
}

/// Writes the refusal counts of every minute that has ended (checked every 5 s).
async fn write_refusals(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let due = state.refusals.take_ended(state.clock.now());
                flush_refusals(&state, due).await;
            }
            _ = stop.changed() => return,
        }
    }
}

/// One `access_refused` event per count, each in its instance's log.
async fn flush_refusals(state: &AppState, counted: Vec<crate::audit::refusals::Counted>) {
    for c in counted {
        let Some(inst) = state
            .registry
            .all()
            .into_iter()
            .find(|i| i.name == c.instance)
        else {
            continue;
        };
        let now = state.clock.now();
        if let Err(e) = crate::audit::log::record(&inst, now, c.entry()).await {
            tracing::warn!(instance = %inst.name, error = %e, "cannot write refused requests to the security log");
        }
    }
}

/// Tells `holdfast update apply` who serves, from which binary, on which address.
async fn write_run_record(state: &AppState, local: SocketAddr, boot_id: String) {
    let mut schemas = std::collections::BTreeMap::new();
    for inst in state.registry.all() {
        let i = inst.clone();
        match tokio::task::spawn_blocking(move || i.db.schema_version()).await {
            Ok(Ok(v)) => {
                schemas.insert(inst.name.clone(), v);
            }
            _ => tracing::warn!(instance = %inst.name, "cannot read the schema version"),
        }
    }
    let dir = &state.config.data_dir;
    let written =
        crate::update::runtime::for_this_process(local, schemas, state.clock.now(), boot_id)
            .and_then(|rec| crate::update::runtime::write(dir, &rec));
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot write run.json; `holdfast update apply` will not find this server");
    }
}

struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

/// Installed before readiness is announced, so that a SIGTERM right after READY=1 is a clean stop.
fn install_signals() -> Result<Signals> {
    let install = |kind: SignalKind| signal(kind).context("cannot install signal handlers");
    Ok(Signals {
        term: install(SignalKind::terminate())?,
        int: install(SignalKind::interrupt())?,
        hup: install(SignalKind::hangup())?,
    })
}

async fn wait_for_termination(state: &AppState, signals: Signals) {
    let Signals {
        mut term,
        mut int,
        mut hup,
    } = signals;
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => reload(state).await,
        }
    }
}

async fn reload(state: &AppState) {
    let st = state.clone();
    match tokio::task::spawn_blocking(move || st.registry.refresh()).await {
        Ok(Ok((opened, closed))) => {
            for n in opened {
                tracing::info!(instance = %n, "instance opened");
            }
            for n in closed {
                tracing::info!(instance = %n, "instance closed (removed)");
            }
        }
        Ok(Err(e)) => tracing::error!(error = %e, "cannot refresh instances"),
        Err(e) => tracing::error!(error = %e, "instance refresh task failed"),
    }
}

/// The console creates and removes instances while the server runs; look for them every 2 s.
async fn refresh_instances(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = tick.tick() => reload(&state).await,
            _ = stop.changed() => return,
        }
    }
}

/// Every hour (and a minute after start): ended sessions are deleted, and accounts unused for the
/// policy's days are disabled, in every instance.
async fn housekeeping(
    instances: impl Fn() -> Vec<std::sync::Arc<crate::instances::Instance>>,
    clock: crate::clock::SharedClock,
    mut stop: watch::Receiver<bool>,
) {
    let every = Duration::from_secs(3600);
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(60), every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        for inst in instances() {
            let now = clock.now();
            match crate::auth::sessions::purge(&inst, now).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(instance = %inst.name, sessions = n, "ended sessions deleted")
                }
                Err(e) => tracing::warn!(instance = %inst.name, error = %e, "session purge failed"),
            }
            match crate::auth::inactivity::disable_unused(&inst, now).await {
                Ok(names) if names.is_empty() => {}
                Ok(names) => {
                    tracing::info!(instance = %inst.name, accounts = %names.join(","), "unused accounts disabled")
                }
                Err(e) => {
                    tracing::warn!(instance = %inst.name, error = %e, "disabling unused accounts failed")
                }
            }
        }
    }
}

/// Update events the console handed over (it had no master key) go into the `default`
/// instance's security log: at start, which every update and rollback causes, and on a short poll
/// for the commands that restart nothing (`update verify` and refusals).
async fn take_in_handed_over(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let dir = &state.config.data_dir;
        if !crate::update::handover::waiting(dir) {
            continue;
        }
        let Some(inst) = state.registry.get(crate::instances::DEFAULT_INSTANCE) else {
            continue;
        };
        match crate::update::handover::take_in(dir, &inst, state.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                events = n,
                "update events handed over by the console recorded in the security log"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "update events handed over by the console could not be recorded")
            }
        }
    }
}

/// Pings come from the runtime itself, so a wedged runtime stops them and systemd restarts us.
async fn watchdog(every: Duration, stop: watch::Receiver<Stop>) {
    let handed_over = async move {
        let mut rx = stop;
        if rx.wait_for(|s| *s == Stop::HandOver).await.is_err() {
            // No control socket: this server never hands over.
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(handed_over);
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => systemd::watchdog_ping(),
            _ = &mut handed_over => return,
        }
    }
}

/// Instances without an administrator need a setup link. It is a secret, so it goes to an
/// interactive terminal only, never into the log (journald keeps logs).
async fn announce_setup_links(state: &AppState, listen: SocketAddr) {
    use std::io::IsTerminal;
    let tty = std::io::stdout().is_terminal();
    for inst in state.registry.all() {
        // An unreadable instance is reported by its own requests; it gets no link here.
        let has_admin = crate::auth::accounts::has_admin(&inst)
            .await
            .unwrap_or(true);
        if has_admin {
            continue;
        }
        if !tty {
            tracing::warn!(
                instance = %inst.name,
                "instance has no administrator yet: run `holdfast admin setup-link --instance {}` on the server for a one-time setup link",
                inst.name
            );
            continue;
        }
        let now = state.clock.now();
        match crate::auth::accounts::issue_setup_token(
            &inst,
            crate::audit::Actor::Console,
            "console".into(),
            now,
        )
        .await
        {
            Ok(Some(token)) => {
                println!(
                    "\nInstance `{}` has no administrator yet. Open this one-time link (valid 24 h) to create one:\n  {}\n",
                    inst.name,
                    super::admin::setup_link(
                        &inst,
                        listen,
                        state.config.public_port,
                        token.expose()
                    )
                );
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(instance = %inst.name, error = %e, "cannot issue a setup link")
            }
        }
    }
}

/// Seconds from `now` until the next local `hh:mm`.
fn until_next(now: chrono::DateTime<chrono::Utc>, hh: u32, mm: u32) -> Duration {
    use chrono::{Local, TimeZone, Timelike};
    let now = now.with_timezone(&Local);
    let today = now.date_naive().and_hms_opt(hh, mm, 0);
    let next = today
        .and_then(|t| Local.from_local_datetime(&t).earliest())
        .filter(|t| *t > now)
        .or_else(|| {
            let tomorrow = now.date_naive().succ_opt()?.and_hms_opt(hh, mm, 0)?;
            Local.from_local_datetime(&tomorrow).earliest()
        });
    match next {
        Some(t) => (t - now).to_std().unwrap_or(Duration::from_secs(60)),
        None => Duration::from_secs(3600 - now.minute() as u64 * 60),
    }
}

async fn backup_schedule(state: AppState, mut stop: watch::Receiver<bool>) {
    let (hh, mm) = state.config.backup.schedule;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(until_next(state.clock.now(), hh, mm)) => {
                crate::backup::job::run_all(
                    &state.config,
                    &state.clock,
                    &state.registry,
                    &state.auth.mail_wakeup,
                &state.auth.words(),
                    crate::backup::engine::Made::Schedule,
                )
                .await;
            }
            _ = stop.changed() => return,
        }
    }
}
