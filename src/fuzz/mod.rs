//! Fuzz driver for every parser of outside bytes: coverage-free mutation over a seed corpus, each
//! input under `catch_unwind` and a time guard, deterministic by seed (input `i` of seed `s` is
//! always the same bytes, so a finding is reproduced with `--seed s --only i`).
//!
//! Built for the unit tests (a short run per target) and with the `fuzzing` feature for the long
//! run (`examples/fuzz.rs`); never part of the shipped binary.

mod mutate;
pub mod targets;

pub use mutate::{Mutator, Rng};

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One parser under test.
pub trait Target {
    /// Short name used on the command line and in reports.
    fn name(&self) -> &'static str;
    /// Well-formed (and some deliberately odd) inputs the mutator starts from.
    fn seeds(&self) -> Vec<Vec<u8>>;
    /// Tokens worth inserting whole (delimiters, keywords, escapes).
    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[]
    }
    /// Largest input the mutator makes; the parsers' own limits sit well above this or are
    /// exercised by dedicated tests.
    fn max_len(&self) -> usize {
        64 * 1024
    }
    /// Feeds one input to the parser. A refusal of bad input is `Ok`; `Err` means a property the
    /// parser promises did not hold (the message says which).
    fn run(&mut self, input: &[u8]) -> Result<(), String>;
}

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub inputs: u64,
    pub seed: u64,
    /// Only this input index (a reproduction), instead of `0..inputs`.
    pub only: Option<u64>,
    /// An input slower than this is reported as a hang.
    pub slow: Duration,
    /// An input still running after this aborts the process with the reproduction command: a
    /// real hang never returns, so it cannot be reported any other way.
    pub abort_after: Duration,
    /// Findings kept with their input (later ones are only counted).
    pub keep: usize,
}

impl Options {
    pub fn new(inputs: u64, seed: u64) -> Self {
        Options {
            inputs,
            seed,
            only: None,
            slow: Duration::from_secs(1),
            abort_after: Duration::from_secs(60),
            keep: 16,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Panic,
    Broken,
    Slow,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub index: u64,
    pub kind: Kind,
    pub message: String,
    pub input: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub inputs: u64,
    pub elapsed: Duration,
    pub slowest: Duration,
    pub bytes: u64,
    pub panics: u64,
    pub broken: u64,
    pub slow: u64,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn clean(&self) -> bool {
        self.panics == 0 && self.broken == 0 && self.slow == 0
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

/// Watches the input under way from another thread and ends the process when one never returns.
struct Watchdog {
    stop: Arc<AtomicBool>,
    /// Milliseconds since `origin` at which the current input started, plus one (0: between inputs).
    started: Arc<AtomicU64>,
    index: Arc<AtomicU64>,
    origin: Instant,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(target: &'static str, seed: u64, abort_after: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicU64::new(0));
        let index = Arc::new(AtomicU64::new(0));
        let origin = Instant::now();
        let (s, st, ix) = (stop.clone(), started.clone(), index.clone());
        let limit = abort_after.as_millis() as u64;
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let at = st.load(Ordering::Relaxed);
                let now = origin.elapsed().as_millis() as u64 + 1;
                if at != 0 && now.saturating_sub(at) > limit {
                    eprintln!(
                        "fuzz: HANG in target {target}: input {} still running after {} s; \
                         reproduce with --target {target} --seed {seed} --only {}",
                        ix.load(Ordering::Relaxed),
                        limit / 1000,
                        ix.load(Ordering::Relaxed)
                    );
                    std::process::abort();
                }
            }
        });
        Watchdog {
            stop,
            started,
            index,
            origin,
            thread: Some(thread),
        }
    }

    fn enter(&self, index: u64) {
        self.index.store(index, Ordering::Relaxed);
        self.started.store(
            self.origin.elapsed().as_millis() as u64 + 1,
            Ordering::Relaxed,
        );
    }

    fn leave(&self) {
        self.started.store(0, Ordering::Relaxed);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `opts.inputs` mutated inputs (or the one in `opts.only`) through `target`. `progress` is
/// called every `every` inputs with the report so far.
pub fn run(
    target: &mut dyn Target,
    opts: &Options,
    every: u64,
    progress: &mut dyn FnMut(&Report),
) -> Report {
    let mutator = Mutator::new(target.seeds(), target.dictionary(), target.max_len());
    let watchdog = Watchdog::start(target.name(), opts.seed, opts.abort_after);
    let mut report = Report::default();
    let begun = Instant::now();
    let range = match opts.only {
        Some(i) => i..i + 1,
        None => 0..opts.inputs,
    };
    for index in range {
        let input = mutator.input(opts.seed, index);
        watchdog.enter(index);
        let t0 = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| target.run(&input)));
        let took = t0.elapsed();
        watchdog.leave();
        report.inputs += 1;
        report.bytes += input.len() as u64;
        report.slowest = report.slowest.max(took);
        let finding = match outcome {
            Ok(Ok(())) if took <= opts.slow => None,
            Ok(Ok(())) => {
                report.slow += 1;
                Some((Kind::Slow, format!("took {} ms", took.as_millis())))
            }
            Ok(Err(msg)) => {
                report.broken += 1;
                Some((Kind::Broken, msg))
            }
            Err(payload) => {
                report.panics += 1;
                Some((Kind::Panic, panic_text(payload.as_ref())))
            }
        };
        if let Some((kind, message)) = finding
            && report.findings.len() < opts.keep
        {
            report.findings.push(Finding {
                index,
                kind,
                message,
                input,
            });
        }
        if every > 0 && report.inputs % every == 0 {
            report.elapsed = begun.elapsed();
            progress(&report);
        }
    }
    report.elapsed = begun.elapsed();
    report
}

#[cfg(test)]
mod tests;
