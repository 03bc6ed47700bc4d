//! The backup jobs shared by the console and the server's daily schedule: back up instances to every
//! destination, apply retention, test-restore the newest archives, and record the status.

use super::{engine, keyfile, status};
use crate::audit::{self, Actor, Entry, Event};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::instances;
use crate::keys;
use anyhow::Result;
use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Progress on a terminal: bytes, rate and elapsed time on one updating line.
pub struct Progress {
    tty: bool,
    started: Instant,
    bytes: u64,
    last: Instant,
    what: String,
    /// Expected bytes, when known: gives the time left.
    total: Option<u64>,
}

impl Progress {
    pub fn new(what: &str) -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
            bytes: 0,
            last: Instant::now(),
            what: what.into(),
            total: None,
        }
    }

    /// With an expected size (an estimate is fine: the archive for a restore, the files for a backup).
    pub fn with_total(what: &str, total: u64) -> Self {
        Self {
            total: Some(total).filter(|t| *t > 0),
            ..Self::new(what)
        }
    }

    fn left(&self, rate: f64) -> String {
        match self.total {
            Some(t) if rate > 0.0 && t > self.bytes => {
                format!(", about {:.0} s left", (t - self.bytes) as f64 / 1e6 / rate)
            }
            _ => String::new(),
        }
    }

    pub fn add(&mut self, n: u64) {
        self.bytes += n;
        if self.last.elapsed().as_millis() < 500 {
            return;
        }
        self.last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let mb = self.bytes as f64 / 1e6;
        let rate = mb / secs;
        let left = self.left(rate);
        if self.tty {
            eprint!(
                "\r{}: {mb:.1} MB, {rate:.1} MB/s, {secs:.0} s{left}   ",
                self.what
            );
            let _ = std::io::stderr().flush();
        } else {
            tracing::info!(
                "{}: {mb:.1} MB, {rate:.1} MB/s, {secs:.0} s{left}",
                self.what
            );
        }
    }

    pub fn done(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

pub fn record(
    inst: &instances::Instance,
    clock: &SharedClock,
    event: Event,
    ok: bool,
    details: serde_json::Value,
) {
    let mut e = Entry::new(event, Actor::Console, inst.name.clone(), "console").with(details);
    if !ok {
        e = e.failed();
    }
    let now = clock.now();
    if let Err(err) = audit::log::record_blocking(inst, now, e) {
        tracing::warn!(error = %err, "could not record the backup in the security log");
    }
}

/// Runs a backup of every named instance; shared with the scheduler. Returns a one-line summary
/// per instance and whether every destination got every archive.
pub fn backup_instances(
    cfg: &Config,
    clock: &SharedClock,
    names: &[String],
    progress: bool,
    made: engine::Made,
) -> Result<(Vec<String>, bool)> {
    let (master, _) = keys::load(&cfg.data_dir, false)?;
    let key = keyfile::load_or_create(&cfg.data_dir, &master).map_err(anyhow::Error::msg)?;
    let mut st = status::load(&cfg.data_dir);
    let mut lines = Vec::new();
    let mut all_ok = true;
    let now = crate::clock::stamp(clock.now());
    for name in names {
        let inst = instances::open(
            &cfg.data_dir,
            &master,
            name,
            crate::storage::Options::from(cfg),
        )?;
        let expected = dir_size(&inst.dir);
        let mut p = Progress::with_total(&format!("backup {name}"), expected);
        let mut tick = |n| {
            if progress {
                p.add(n)
            }
        };
        match engine::run(
            &cfg.data_dir,
            &inst,
            &key,
            &cfg.backup.destinations,
            clock.as_ref(),
            made,
            &mut tick,
        ) {
            Ok(out) => {
                p.done();
                for (dest, r) in &out.results {
                    let ds = st
                        .destinations
                        .entry(dest.display().to_string())
                        .or_default();
                    match r {
                        Ok(path) => {
                            ds.last_success = Some(now.clone());
                            ds.last_archive = Some(path.display().to_string());
                            ds.last_size = Some(out.size);
                            lines.push(format!(
                                "{name}: {} ({:.1} MB in {:.1} s)",
                                path.display(),
                                out.size as f64 / 1e6,
                                out.seconds
                            ));
                        }
                        Err(e) => {
                            all_ok = false;
                            ds.last_error = Some(e.clone());
                            ds.last_error_at = Some(now.clone());
                            lines.push(format!("{name}: FAILED for {}: {e}", dest.display()));
                        }
                    }
                }
                let ok = out.results.iter().all(|(_, r)| r.is_ok());
                let dests: Vec<String> = out
                    .results
                    .iter()
                    .map(|(d, r)| {
                        format!(
                            "{}: {}",
                            d.display(),
                            if r.is_ok() { "ok" } else { "failed" }
                        )
                    })
                    .collect();
                record(
                    &inst,
                    clock,
                    Event::BackupCompleted,
                    ok,
                    serde_json::json!({ "archive": out.name, "size": out.size, "destinations": dests }),
                );
            }
            Err(e) => {
                p.done();
                all_ok = false;
                for dest in &cfg.backup.destinations {
                    let ds = st
                        .destinations
                        .entry(dest.display().to_string())
                        .or_default();
                    ds.last_error = Some(e.to_string());
                    ds.last_error_at = Some(now.clone());
                }
                lines.push(format!("{name}: FAILED: {e}"));
                record(
                    &inst,
                    clock,
                    Event::BackupCompleted,
                    false,
                    serde_json::json!({ "error": e.to_string() }),
                );
            }
        }
        for dest in &cfg.backup.destinations {
            let gone = engine::prune(
                dest,
                name,
                cfg.backup.keep_daily,
                cfg.backup.keep_weekly,
                cfg.backup.keep_monthly,
                clock.now(),
            );
            for g in gone {
                lines.push(format!("retention: removed {}", dest.join(g).display()));
            }
        }
    }
    st.last_run = Some(now);
    status::save(&cfg.data_dir, &st).map_err(anyhow::Error::msg)?;
    Ok((lines, all_ok))
}

/// Test-restores the newest archive of every destination and records how long it took.
pub fn verify_newest(cfg: &Config, clock: &SharedClock) -> Result<Vec<String>> {
    let (master, _) = keys::load(&cfg.data_dir, false)?;
    let key = keyfile::load_or_create(&cfg.data_dir, &master).map_err(anyhow::Error::msg)?;
    let mut st = status::load(&cfg.data_dir);
    let scratch = cfg.data_dir.join("backups").join("tmp");
    let mut lines = Vec::new();
    let instances = instances::list_names(&cfg.data_dir)?;
    for (dest, inst_name) in cfg
        .backup
        .destinations
        .iter()
        .flat_map(|d| instances.iter().map(move |i| (d, i)))
    {
        let Some((name, _, _)) = engine::list_instance(dest, inst_name).pop() else {
            continue;
        };
        let ds = st
            .destinations
            .entry(dest.display().to_string())
            .or_default();
        match engine::verify(&dest.join(&name), &key, &scratch, &mut |_| {}) {
            Ok(r) => {
                ds.last_verified = Some(crate::clock::stamp(clock.now()));
                ds.last_verify_seconds = Some(r.seconds);
                ds.last_verify_error = None;
                if let Ok(inst) = instances::open(
                    &cfg.data_dir,
                    &master,
                    inst_name,
                    crate::storage::Options::from(cfg),
                ) {
                    record(
                        &inst,
                        clock,
                        Event::BackupVerified,
                        true,
                        serde_json::json!({ "archive": name, "seconds": r.seconds }),
                    );
                }
                lines.push(format!(
                    "{}: {name} restored and verified in {:.1} s",
                    dest.display(),
                    r.seconds
                ));
            }
            Err(e) => {
                ds.last_verify_error = Some(e.to_string());
                // A failed restore is evidence too: the watch raises `backup_failed` from it.
                if let Ok(inst) = instances::open(
                    &cfg.data_dir,
                    &master,
                    inst_name,
                    crate::storage::Options::from(cfg),
                ) {
                    record(
                        &inst,
                        clock,
                        Event::BackupVerified,
                        false,
                        serde_json::json!({ "archive": name, "error": e.to_string() }),
                    );
                }
                lines.push(format!(
                    "{}: {name} FAILED verification: {e}",
                    dest.display()
                ));
            }
        }
    }
    status::save(&cfg.data_dir, &st).map_err(anyhow::Error::msg)?;
    Ok(lines)
}

/// Runs the daily backup and the verification restore of the newest archives.
/// `registry`, `mail_wakeup` and `words`: where and how a failure is reported (a mail to each
/// instance's admins, each in their language).
pub async fn run_all(
    config: &Config,
    clock: &SharedClock,
    registry: &crate::instances::Registry,
    mail_wakeup: &tokio::sync::Notify,
    words: &crate::i18n::MailWords,
    made: engine::Made,
) -> (Vec<String>, bool) {
    let report_by_mail = config.mail.is_some();
    let (config, task_clock) = (config.clone(), clock.clone());
    let result = tokio::task::spawn_blocking(move || {
        let clock = task_clock;
        let names = instances::list_names(&config.data_dir)?;
        let (mut lines, ok) =
            crate::backup::job::backup_instances(&config, &clock, &names, false, made)?;
        lines.extend(crate::backup::job::verify_newest(&config, &clock)?);
        Ok::<_, anyhow::Error>((lines, ok))
    })
    .await;
    let (lines, ok) = match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => (vec![format!("backup failed: {e:#}")], false),
        Err(e) => (vec![format!("backup task failed: {e}")], false),
    };
    for l in &lines {
        tracing::info!("{l}");
    }
    if !ok && report_by_mail {
        notify_backup_failure(clock, registry, mail_wakeup, words, &lines).await;
    }
    (lines, ok)
}

async fn notify_backup_failure(
    clock: &SharedClock,
    registry: &crate::instances::Registry,
    mail_wakeup: &tokio::sync::Notify,
    words: &crate::i18n::MailWords,
    lines: &[String],
) {
    // The engine's lines are the operator's details (paths, errors) and stay as written.
    let details = lines.join("\n");
    let now = clock.now();
    for inst in registry.all() {
        let (words, details) = (words.clone(), details.clone());
        let _ = inst
            .db
            .write(move |tx| {
                crate::mail::notify_admins_in(tx, &words, now, |w| {
                    (
                        w.t("mail-backup-problem-subject"),
                        format!(
                            "{}\n\n{details}\n\n{}",
                            w.t("mail-backup-problem-intro"),
                            w.t("mail-backup-problem-advice")
                        ),
                    )
                })
            })
            .await;
    }
    mail_wakeup.notify_one();
}

/// Bytes of the instance's files (database, WAL, documents): the size a backup reads.
fn dir_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                match e.metadata() {
                    Ok(m) if m.is_dir() => stack.push(e.path()),
                    Ok(m) => total += m.len(),
                    Err(_) => {}
                }
            }
        }
    }
    total
}
