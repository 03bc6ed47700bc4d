//! The single writer of an instance database: one thread that takes every queued write as one
//! batch (group commit), runs each in its own savepoint, commits once and answers every caller.

use super::{StorageError, Transaction, map_sql};
use rusqlite::TransactionBehavior;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// At most this many queued writes share one transaction (group commit).
const MAX_BATCH: usize = 64;

/// Upper bounds of the batch-size buckets (writes per commit); `MAX_BATCH` is the last finite one.
pub const BATCH_BUCKETS: [u64; 7] = [1, 2, 4, 8, 16, 32, MAX_BATCH as u64];

/// The writer's figures at one moment: queued writes, batches per bucket of [`BATCH_BUCKETS`]
/// (non-cumulative), writes batched in all, and the seconds the writer spent on batches and on
/// their COMMITs (page encryption, the WAL write and its fsync). The busy time grows by at most one
/// second per second: its rate is how close writes are to the single writer's capacity.
#[derive(Debug, Clone, Default)]
pub struct WriterFigures {
    pub queued: u64,
    pub batches: Vec<(u64, u64)>,
    pub writes: u64,
    pub busy_seconds: f64,
    pub commit_seconds: f64,
}

/// Batch sizes counted without a lock: one counter per bucket of [`BATCH_BUCKETS`], the total
/// number of writes, and the writer's working time in microseconds (a whole batch, and its COMMIT).
#[derive(Default)]
struct BatchSizes {
    buckets: [AtomicU64; BATCH_BUCKETS.len()],
    writes: AtomicU64,
    busy_micros: AtomicU64,
    commit_micros: AtomicU64,
}

impl BatchSizes {
    fn count(&self, n: usize) {
        let n = n as u64;
        let i = BATCH_BUCKETS
            .iter()
            .position(|b| n <= *b)
            .unwrap_or(BATCH_BUCKETS.len() - 1);
        self.buckets[i].fetch_add(1, Relaxed);
        self.writes.fetch_add(n, Relaxed);
    }

    fn spent(&self, busy: Duration, commit: Duration) {
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.busy_micros.fetch_add(micros(busy), Relaxed);
        self.commit_micros.fetch_add(micros(commit), Relaxed);
    }
}

/// What callers and the writer thread share.
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a write is queued while the writer waits, and when the writer must end.
    wake: Condvar,
    figures: BatchSizes,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Box<dyn WriteJob>>,
    /// The writer thread is waiting on `wake` (so a new write must signal it).
    idle: bool,
    /// The database is being closed: the writer finishes what is queued, then ends.
    closing: bool,
}

/// The writer thread of one database, ended and joined when this is dropped.
///
/// A thread that lives as long as the database, rather than a blocking-pool task per batch, keeps
/// the next batch from waiting for a task to be scheduled and a pool thread to wake: the writer
/// takes whatever queued while it committed and goes straight on (docs/PERFORMANCE.md, "Writes:
/// the writer thread").
pub(super) struct Writer {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// `conn` is `None` once the database's writer is closed (`Database::close_writer`): every
    /// write is then refused with `StorageError::Closed`.
    pub(super) fn start(
        conn: Arc<Mutex<Option<rusqlite::Connection>>>,
        path: &Path,
    ) -> Result<Self, StorageError> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            figures: BatchSizes::default(),
        });
        let thread = std::thread::Builder::new()
            .name("holdfast-writer".into())
            .spawn({
                let shared = Arc::clone(&shared);
                let path = path.to_path_buf();
                move || writer_loop(&shared, &conn, &path)
            })
            .map_err(|e| StorageError::Open {
                path: path.to_path_buf(),
                reason: format!("cannot start the database writer thread: {e}"),
            })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues `f` for the writer and waits for its answer, which comes only after the COMMIT of
    /// its batch has returned (or with the batch's failure). `commit: false` is a rehearsal.
    pub(super) async fn submit<T, E, F>(&self, f: F, commit: bool) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Transaction) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        {
            let mut queue = self.shared.queue.lock().map_err(|_| StorageError::Worker)?;
            if queue.closing {
                return Err(E::from(StorageError::Worker));
            }
            queue.jobs.push_back(Box::new(Pending {
                f: Some(f),
                commit,
                result: None,
                reply,
            }));
            if queue.idle {
                queue.idle = false;
                self.shared.wake.notify_one();
            }
        }
        // Dropping this future (the caller went away) closes `reply`; a write not yet started is
        // then skipped, one already running stands.
        answer.await.map_err(|_| StorageError::Worker)?
    }

    pub(super) fn figures(&self) -> WriterFigures {
        let f = &self.shared.figures;
        WriterFigures {
            queued: self.queued() as u64,
            batches: BATCH_BUCKETS
                .iter()
                .zip(&f.buckets)
                .map(|(b, n)| (*b, n.load(Relaxed)))
                .collect(),
            writes: f.writes.load(Relaxed),
            busy_seconds: f.busy_micros.load(Relaxed) as f64 / 1e6,
            commit_seconds: f.commit_micros.load(Relaxed) as f64 / 1e6,
        }
    }

    pub(super) fn queued(&self) -> usize {
        self.shared.queue.lock().map(|q| q.jobs.len()).unwrap_or(0)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Ok(mut queue) = self.shared.queue.lock() {
            queue.closing = true;
            self.shared.wake.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            // The last handle can be dropped by a write closure on the writer thread itself; that
            // thread ends on its own once it sees `closing`.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

fn writer_loop(shared: &Shared, conn: &Mutex<Option<rusqlite::Connection>>, path: &Path) {
    loop {
        let jobs: Vec<Box<dyn WriteJob>> = {
            let Ok(mut queue) = shared.queue.lock() else {
                return;
            };
            while queue.jobs.is_empty() && !queue.closing {
                queue.idle = true;
                queue = match shared.wake.wait(queue) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
            queue.idle = false;
            if queue.jobs.is_empty() {
                return;
            }
            let n = queue.jobs.len().min(MAX_BATCH);
            queue.jobs.drain(..n).collect()
        };
        shared.figures.count(jobs.len());
        // A panicking closure ends its batch (its callers' reply channels close, so they get an
        // error), not the writer: the writes queued behind it still get their turn.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_batch(conn, path, jobs, &shared.figures)
        }));
    }
}

/// One queued write, type-erased so that writes of different result types share a batch.
trait WriteJob: Send {
    /// The caller has gone away (its future was dropped) before the write started: skip it.
    fn abandoned(&self) -> bool;
    /// Runs the closure inside a savepoint of `tx`; undoes its changes when it failed or is a
    /// rehearsal. `false` when the savepoint itself could not be handled: the transaction is then in
    /// an unknown state and must not be committed.
    fn run(&mut self, tx: &Transaction) -> bool;
    /// Answers the caller once the batch has ended: `Ok` when its COMMIT returned.
    fn answer(self: Box<Self>, batch: Result<(), &StorageError>);
}

struct Pending<T, E, F> {
    f: Option<F>,
    commit: bool,
    result: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
}

const SAVEPOINT: &str = "holdfast_write";

/// `SAVEPOINT`, `RELEASE` or `ROLLBACK TO` the write's savepoint, as a statement prepared once per
/// connection (two or three of them per write).
fn savepoint(tx: &Transaction, verb: &str) -> Result<(), StorageError> {
    tx.prepare_cached(&format!("{verb} {SAVEPOINT}"))?
        .execute([])
        .map_err(map_sql)?;
    Ok(())
}

impl<T, E, F> WriteJob for Pending<T, E, F>
where
    T: Send + 'static,
    E: From<StorageError> + Send + 'static,
    F: FnOnce(&Transaction) -> Result<T, E> + Send + 'static,
{
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn run(&mut self, tx: &Transaction) -> bool {
        let Some(f) = self.f.take() else {
            return true;
        };
        if let Err(e) = savepoint(tx, "SAVEPOINT") {
            self.result = Some(Err(E::from(e)));
            return false;
        }
        let text = tx.text_mark();
        let value = f(tx);
        let keep = value.is_ok() && self.commit;
        self.result = Some(value);
        let ended = if keep {
            savepoint(tx, "RELEASE")
        } else {
            tx.forget_text_after(text);
            savepoint(tx, "ROLLBACK TO").and_then(|()| savepoint(tx, "RELEASE"))
        };
        match ended {
            Ok(()) => true,
            Err(e) => {
                if keep {
                    self.result = Some(Err(E::from(e)));
                }
                false
            }
        }
    }

    fn answer(self: Box<Self>, batch: Result<(), &StorageError>) {
        let Pending {
            commit,
            result,
            reply,
            ..
        } = *self;
        let result = match (result, batch) {
            // Never ran: the batch ended before its turn.
            (None, Ok(())) => Err(E::from(StorageError::Worker)),
            (None, Err(e)) => Err(E::from(e.again())),
            // Its own failure, whatever happened to the batch.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            // A rehearsal kept nothing, so the batch's fate does not change its answer.
            (Some(Ok(v)), Err(_)) if !commit => Ok(v),
            (Some(Ok(_)), Err(e)) => Err(E::from(e.again())),
        };
        // The caller may have gone away meanwhile; its write stands all the same.
        let _ = reply.send(result);
    }
}

/// Runs queued writes in one IMMEDIATE transaction, one savepoint each, then commits once and
/// answers every caller.
fn run_batch(
    writer: &Mutex<Option<rusqlite::Connection>>,
    path: &Path,
    jobs: Vec<Box<dyn WriteJob>>,
    figures: &BatchSizes,
) {
    let jobs: Vec<Box<dyn WriteJob>> = jobs.into_iter().filter(|j| !j.abandoned()).collect();
    if jobs.is_empty() {
        return;
    }
    // Durations for the monitoring endpoint only; no decision depends on them.
    let started = Instant::now();
    let mut guard = match writer.lock() {
        Ok(c) => c,
        // A closure panicked in an earlier batch. Its transaction was rolled back as the panic
        // unwound (rusqlite's `Transaction` does so when dropped), so the connection is usable;
        // should a transaction still be open, it is ended here before anything else runs.
        Err(poisoned) => {
            writer.clear_poison();
            let guard = poisoned.into_inner();
            let open = guard.as_ref().is_some_and(|c| !c.is_autocommit());
            if open
                && guard
                    .as_ref()
                    .is_some_and(|c| c.execute_batch("ROLLBACK").is_err())
            {
                let e = StorageError::Worker;
                for job in jobs {
                    job.answer(Err(&e));
                }
                return;
            }
            guard
        }
    };
    let Some(conn) = guard.as_mut() else {
        let e = StorageError::Closed {
            path: path.to_path_buf(),
        };
        for job in jobs {
            job.answer(Err(&e));
        }
        return;
    };
    let tx = match rusqlite::Transaction::new(conn, TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = map_sql(e);
            for job in jobs {
                job.answer(Err(&e));
            }
            return;
        }
    };
    let mut done: Vec<Box<dyn WriteJob>> = Vec::with_capacity(jobs.len());
    let mut broken: Option<StorageError> = None;
    let handle = Transaction::new(&tx);
    for mut job in jobs {
        if broken.is_none() {
            // SQLite ends the whole transaction itself after some errors (disk full, I/O): then
            // nothing of this batch stands, and no later write may run outside a transaction.
            if !job.run(&handle) || tx.is_autocommit() {
                broken = Some(StorageError::NotSaved(
                    "the transaction was aborted; nothing of this write was kept".into(),
                ));
            }
        }
        done.push(job);
    }
    // The batch's full-text entries, written once after its writes (one FTS5 segment per table).
    if broken.is_none()
        && let Err(e) = super::search::write_text(&handle)
    {
        broken = Some(e);
    }
    drop(handle);
    let committing = Instant::now();
    let outcome = match broken {
        Some(e) => {
            let _ = tx.rollback();
            Err(e)
        }
        None => tx.commit().map_err(map_sql),
    };
    // The connection's turn ends before the callers wake, so the next batch can start at once.
    drop(guard);
    figures.spent(started.elapsed(), committing.elapsed());
    for job in done {
        job.answer(outcome.as_ref().map(|_| ()));
    }
}
