//! The short run of every target (20,000 inputs each, fixed seed) and the driver's own checks.

use super::*;

const SHORT_RUN: u64 = 20_000;
const SEED: u64 = 0x5EED_2026;

fn short_run(name: &str) {
    let mut target = targets::by_name(name).unwrap();
    let seeds = target.seeds();
    assert!(!seeds.is_empty());
    // Every seed must itself be accepted by the property checks.
    for (i, s) in seeds.iter().enumerate() {
        assert_eq!(target.run(s), Ok(()), "{name}: seed {i}");
    }
    let report = run(
        target.as_mut(),
        &Options::new(SHORT_RUN, SEED),
        0,
        &mut |_| {},
    );
    assert_eq!(report.inputs, SHORT_RUN);
    for f in &report.findings {
        eprintln!(
            "{name}: input {} {:?}: {} ({} bytes: {:?})",
            f.index,
            f.kind,
            f.message.chars().take(300).collect::<String>(),
            f.input.len(),
            String::from_utf8_lossy(&f.input[..f.input.len().min(300)])
        );
    }
    assert!(
        report.clean(),
        "{name}: {} panics, {} broken properties, {} slow inputs",
        report.panics,
        report.broken,
        report.slow
    );
}

#[test]
fn csv_short_run() {
    short_run("csv");
}

#[test]
fn multipart_short_run() {
    short_run("multipart");
}

#[test]
fn update_bundle_short_run() {
    short_run("update-bundle");
}

#[test]
fn backup_archive_short_run() {
    short_run("backup-archive");
}

#[test]
fn backup_entries_short_run() {
    short_run("backup-entries");
}

#[test]
fn config_short_run() {
    short_run("config");
}

#[test]
fn json_short_run() {
    short_run("json");
}

#[test]
fn syslog_short_run() {
    short_run("syslog");
}

#[test]
fn smtp_short_run() {
    short_run("smtp");
}

#[test]
fn every_target_has_a_unique_name_and_a_short_run() {
    let names: Vec<&str> = targets::all().iter().map(|t| t.name()).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
    assert_eq!(names.len(), 9);
}

#[test]
fn inputs_are_deterministic_by_seed_and_index_and_stay_under_the_cap() {
    let m = Mutator::new(vec![b"hello, world".to_vec(), vec![0; 40]], &[b"\""], 256);
    let mut differ = 0;
    for i in 0..2_000 {
        let a = m.input(7, i);
        assert_eq!(a, m.input(7, i));
        assert!(a.len() <= 256);
        if a != m.input(8, i) {
            differ += 1;
        }
    }
    assert!(differ > 1_000, "seed barely changes the inputs: {differ}");
}

/// A target that breaks on purpose, to prove the driver reports what it must.
struct Faulty;

impl Target for Faulty {
    fn name(&self) -> &'static str {
        "faulty"
    }
    fn seeds(&self) -> Vec<Vec<u8>> {
        vec![b"abc".to_vec()]
    }
    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        match input.first() {
            Some(b'a') if input.len() == 3 => Ok(()),
            Some(b'a') => Err("wrong length".into()),
            Some(0) => {
                std::thread::sleep(Duration::from_millis(30));
                Ok(())
            }
            _ => panic!("boom"),
        }
    }
}

#[test]
fn panics_broken_properties_and_slow_inputs_are_all_reported() {
    let mut opts = Options::new(400, 1);
    opts.slow = Duration::from_millis(20);
    let report = run(&mut Faulty, &opts, 100, &mut |r| {
        assert!(r.inputs % 100 == 0)
    });
    assert_eq!(report.inputs, 400);
    assert!(
        report.panics > 0 && report.broken > 0 && report.slow > 0,
        "{report:?}"
    );
    assert!(!report.clean());
    let panic = report
        .findings
        .iter()
        .find(|f| f.kind == Kind::Panic)
        .unwrap();
    assert_eq!(panic.message, "boom");
    // The reported index reproduces the same input.
    let mut again = opts.clone();
    again.only = Some(panic.index);
    let one = run(&mut Faulty, &again, 0, &mut |_| {});
    assert_eq!(one.inputs, 1);
    assert_eq!(one.findings[0].input, panic.input);
}
