//! Going back: the rollback of a failed or interrupted update, the operator's rollback of the last
//! completed one, and recovery of an update a crash left behind, read from its journal.

use super::files::sha256_file;
use super::install::{install_old, old_binary_in_place};
use super::server::{start_server, stop_server, wait_ready};
use super::snapshot::{restore_snapshot, snapshot_into};
use super::{
    ApplyError, Env, Outcome, advance, downtime, finish_applied, last_dir, lock, takeover,
    update_dir, work_dir,
};
use crate::audit::Event;
use crate::sockets::Named;
use crate::update::journal::{self, Journal, Step};
use crate::update::{runtime, state};
use std::fs;
use std::path::Path;

/// Rolls back from wherever `j` stands. `held`: the listening sockets the caller already holds
/// (an apply that failed after taking them); otherwise they are taken from the running server when
/// it has a control socket, so that the restart keeps them open.
pub(super) fn rollback_from(
    env: &Env,
    work: &Path,
    j: &mut Journal,
    reason: String,
    held: Option<&Named>,
) -> Result<Outcome, ApplyError> {
    if j.step < Step::RollingBack {
        // Before `Ready` no user could write to the new version, so a complete snapshot is
        // always put back; a completed update comes with the decision already made by `rollback`.
        // A hand-over took no snapshot: the old server wrote until it stopped, the new one only
        // after that, on the same schema.
        j.step_before_rollback = Some(j.step);
        if j.step < Step::Ready {
            j.restore_databases = j.step >= Step::Snapshotted && !j.hand_over;
        }
        j.rollback_reason = Some(reason);
        advance(work, j, Step::RollingBack)?;
    }
    let fetched;
    let held = match held {
        Some(h) => Some(h),
        None => {
            fetched = super::held_sockets(env, j);
            fetched.as_ref()
        }
    };
    j.sockets_held = held.is_some() || super::unit_sockets_listen(j);
    rollback_steps(env, work, j, held)?;
    advance(work, j, Step::RolledBack)?;
    finish_rolled_back(env, work, j)
}

fn rollback_steps(
    env: &Env,
    work: &Path,
    j: &mut Journal,
    held: Option<&Named>,
) -> Result<(), ApplyError> {
    let d = env.data_dir;
    let old_in_place = old_binary_in_place(j);
    // Only the journal tells whether the old server was ever asked to stop. The binary's hash
    // cannot: a release may be byte-identical to the one before it, and a server that is the new
    // version's would then pass for the old one, leaving the rollback (and every later recover)
    // waiting for a restart nobody makes. A new server started for a hand-over never holds the
    // lock before the old one stopped, so before `stopping` the one holding it is the old one.
    let never_stopped = j.step_before_rollback.is_some_and(|s| s < Step::Stopping);
    if never_stopped && !j.restore_databases && runtime::server_running(d) {
        end_candidate(d, j);
        if !old_in_place {
            install_old(d, work, j)?;
        }
        wait_ready(env, &[], None)?;
        return Ok(());
    }
    // The operator's rollback of an update that changed no schema is a hand-over too: the old
    // version starts beside the running one and takes its place once ready.
    if j.step_before_rollback == Some(Step::Ready)
        && !j.restore_databases
        && env.hand_over
        && (held.is_some() || takeover::in_unit(env, j))
        && runtime::server_running(d)
    {
        if !old_in_place {
            install_old(d, work, j)?;
        }
        // The journal stays at `rolling_back`; the test hook still stops at each hand-over step,
        // so that the crash test can kill a rollback there too.
        let mut mark = |j: &mut Journal, step: Step| -> Result<(), ApplyError> {
            journal::save(work, j)?;
            super::pause_point(step);
            Ok(())
        };
        match takeover::take_over(env, j, held, &mut mark) {
            Ok(takeover::TakeOver::Serving(rec)) => {
                if !old_binary_in_place(j) {
                    return Err(ApplyError::NotOldBinary);
                }
                j.new_boot = Some(rec.boot_id);
                j.ready_at = Some(env.clock.now());
                return Ok(());
            }
            Ok(takeover::TakeOver::SchemaChange) => {}
            Err(e) => (env.say)(&format!(
                "the old version did not take over ({e}); stopping the running server first"
            )),
        }
    }
    if j.stopped_at.is_none() {
        j.stopped_at = Some(env.clock.now());
    }
    stop_server(env, j)?;
    if !old_in_place {
        install_old(d, work, j)?;
    }
    if j.restore_databases {
        if j.step_before_rollback == Some(Step::Ready) {
            // The operator chose to discard what was written since the update; it is kept aside
            // (encrypted, as it was) in case that choice must be revisited.
            let aside = update_dir(d).join(format!("discarded-{}", j.id));
            if !aside.exists() {
                snapshot_into(d, &aside)?;
                (env.say)(&format!(
                    "the databases as they were before this rollback are kept in {}",
                    aside.display()
                ));
            }
        }
        restore_snapshot(d, work)?;
    }
    let mut child = start_server(env, j, held)?;
    let exclude: Vec<String> = j.old_boot.iter().chain(&j.new_boot).cloned().collect();
    let rec = wait_ready(env, &exclude, child.as_mut()).map_err(ApplyError::OldNotReady)?;
    if !old_binary_in_place(j) {
        return Err(ApplyError::NotOldBinary);
    }
    j.new_boot = Some(rec.boot_id);
    j.ready_at = Some(env.clock.now());
    Ok(())
}

/// A new server started for a hand-over that an interrupted update left waiting is ended (it
/// would also exit by itself once it sees the update's end of the channel closed). Only a process
/// that runs our binary and is not the one holding the data dir is signalled.
fn end_candidate(d: &Path, j: &Journal) {
    let Some(pid) = j.started_pid else {
        return;
    };
    let serving = runtime::read(d).ok().flatten().map(|r| r.pid);
    if serving == Some(pid) {
        return;
    }
    takeover::kill_if_ours(pid, &j.exe);
}

fn finish_rolled_back(env: &Env, work: &Path, j: &Journal) -> Result<Outcome, ApplyError> {
    let d = env.data_dir;
    let now = env.clock.now();
    let reason = j.rollback_reason.clone().unwrap_or_default();
    state::set_installed(d, &j.from_version)?;
    state::note(
        d,
        now,
        "rollback",
        Some(j.from_version.clone()),
        "rolled back",
        format!("from {}: {reason}", j.to_version),
    )?;
    (env.audit)(
        Event::UpdateRolledBack,
        true,
        serde_json::json!({ "from": j.to_version, "to": j.from_version, "reason": reason, "databases_restored": j.restore_databases }),
    );
    fs::remove_dir_all(work).map_err(ApplyError::io_at(work))?;
    Ok(Outcome::RolledBack {
        from: j.to_version.clone(),
        to: j.from_version.clone(),
        reason,
        downtime_ms: downtime(j),
        sockets_held: j.sockets_held,
    })
}

/// Finishes an interrupted update: rolls it back unless the new version was already complete.
pub fn recover(env: &Env) -> Result<Option<Outcome>, ApplyError> {
    let _lock = lock(env.data_dir)?;
    recover_locked(env)
}

pub(super) fn recover_locked(env: &Env) -> Result<Option<Outcome>, ApplyError> {
    let d = env.data_dir;
    let work = work_dir(d);
    let Some(mut j) = journal::load(&work)? else {
        if work.exists() {
            fs::remove_dir_all(&work).map_err(ApplyError::io_at(&work))?;
        }
        return Ok(None);
    };
    let at = j.step;
    (env.say)(&format!(
        "an update {} → {} was interrupted at step `{}`",
        j.from_version,
        j.to_version,
        at.name()
    ));
    let outcome = match at {
        Step::Staged | Step::BackedUp => {
            // The server was never asked to stop: nothing on the system changed.
            let now = env.clock.now();
            state::note(
                d,
                now,
                "apply",
                Some(j.to_version.clone()),
                "abandoned",
                format!("interrupted at step {} before any change", at.name()),
            )?;
            fs::remove_dir_all(&work).map_err(ApplyError::io_at(&work))?;
            Outcome::Discarded {
                to: j.to_version.clone(),
            }
        }
        Step::Started => {
            let exclude: Vec<String> = j.old_boot.clone().into_iter().collect();
            match wait_ready(env, &exclude, None) {
                Ok(rec) if sha256_file(&j.exe).is_ok_and(|h| h == j.new_sha256) => {
                    j.new_boot = Some(rec.boot_id);
                    j.new_schemas = rec.schemas;
                    j.ready_at = Some(env.clock.now());
                    advance(&work, &mut j, Step::Ready)?;
                    finish_applied(env, &work, &mut j)?
                }
                _ => rollback_from(
                    env,
                    &work,
                    &mut j,
                    format!("the update was interrupted at step {}", at.name()),
                    None,
                )?,
            }
        }
        Step::Ready => finish_applied(env, &work, &mut j)?,
        Step::RolledBack => finish_rolled_back(env, &work, &j)?,
        Step::RollingBack => rollback_from(env, &work, &mut j, String::new(), None)?,
        Step::Swapped
        | Step::Candidate
        | Step::Stopping
        | Step::Stopped
        | Step::Snapshotted
        | Step::Installed => rollback_from(
            env,
            &work,
            &mut j,
            format!("the update was interrupted at step {}", at.name()),
            None,
        )?,
    };
    Ok(Some(outcome))
}

/// `holdfast update rollback`: puts back the version before the last completed update. Its
/// databases come back too when the update changed their schema; then whatever was written since
/// the update is lost, so that needs `discard_changes`.
pub fn rollback(env: &Env, discard_changes: bool) -> Result<Outcome, ApplyError> {
    let d = env.data_dir;
    let _lock = lock(d)?;
    if let Some(o) = recover_locked(env)? {
        return Ok(o);
    }
    let last = last_dir(d);
    let mut j = journal::load(&last)?
        .filter(|j| j.step == Step::Ready)
        .ok_or(ApplyError::NothingToRollBack)?;
    let schema_changed = j.old_schemas != j.new_schemas;
    if schema_changed && !discard_changes {
        return Err(ApplyError::SchemaChanged {
            to: j.to_version.clone(),
            old: j.old_schemas.clone(),
            new: j.new_schemas.clone(),
            started_at: j.started_at,
        });
    }
    let work = work_dir(d);
    if work.exists() {
        fs::remove_dir_all(&work).map_err(ApplyError::io_at(&work))?;
    }
    fs::rename(&last, &work).map_err(ApplyError::io_at(&last))?;
    // The server now running is the new one; stopped_at is reset so the downtime is the rollback's.
    j.old_boot = j.new_boot.clone();
    j.restore_databases = schema_changed;
    j.stopped_at = Some(env.clock.now());
    j.ready_at = None;
    j.started_pid = None;
    rollback_from(
        env,
        &work,
        &mut j,
        "rollback requested by the operator".into(),
        None,
    )
}
