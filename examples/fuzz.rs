//! Long fuzz run of the parsers of outside bytes (docs/security.md, "Fuzzing"):
//!
//! `cargo run --release --features fuzzing --example fuzz -- --target NAME --inputs N --seed S`
//!
//! `--target all` runs every target in turn; `--only I` replays input I of seed S (a reproduction);
//! `--out DIR` saves the inputs of findings there. Exit status 1 when anything was found.
// Test and measurement code: a failed unwrap is a failed test, and the host clock is what it
// measures against (the production rules in Cargo.toml [lints] do not apply here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use holdfast::fuzz::{self, Options, Report, Target};
use std::process::ExitCode;
use std::time::Duration;

struct Args {
    target: String,
    inputs: u64,
    seed: u64,
    only: Option<u64>,
    out: Option<std::path::PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        target: "all".into(),
        inputs: 10_000_000,
        seed: 1,
        only: None,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.replace('_', "").parse::<u64>().map_err(|e| e.to_string());
        match flag.as_str() {
            "--target" => args.target = value()?,
            "--inputs" => args.inputs = number(value()?)?,
            "--seed" => args.seed = number(value()?)?,
            "--only" => args.only = Some(number(value()?)?),
            "--out" => args.out = Some(value()?.into()),
            "--list" => {
                for t in fuzz::targets::all() {
                    println!("{}", t.name());
                }
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn line(name: &str, r: &Report) -> String {
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    format!(
        "{name}: {} inputs, {:.0} s, {:.0} inputs/s, {:.1} MiB fed, slowest {} ms, \
         panics {}, broken {}, slow {}, peak RSS {} MiB, load {}",
        r.inputs,
        secs,
        r.inputs as f64 / secs,
        r.bytes as f64 / 1048576.0,
        r.slowest.as_millis(),
        r.panics,
        r.broken,
        r.slow,
        peak_rss_kib() / 1024,
        load_average()
    )
}

fn run_one(target: &mut dyn Target, args: &Args) -> bool {
    let name = target.name();
    let mut opts = Options::new(args.inputs, args.seed);
    opts.only = args.only;
    opts.abort_after = Duration::from_secs(60);
    let every = (args.inputs / 20).max(1);
    let report = fuzz::run(target, &opts, every, &mut |r| {
        eprintln!("{}", line(name, r))
    });
    println!("{}", line(name, &report));
    for f in &report.findings {
        println!(
            "  {name} input {} {:?}: {} ({} bytes)",
            f.index,
            f.kind,
            f.message,
            f.input.len()
        );
        if let Some(dir) = &args.out {
            let path = dir.join(format!("{name}-{}-{}.bin", args.seed, f.index));
            if let Err(e) =
                std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&path, &f.input))
            {
                eprintln!("cannot save {}: {e}", path.display());
            }
        }
    }
    report.clean()
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    let mut targets: Vec<Box<dyn Target>> = if args.target == "all" {
        fuzz::targets::all()
    } else {
        match fuzz::targets::by_name(&args.target) {
            Some(t) => vec![t],
            None => {
                eprintln!("fuzz: no target {} (see --list)", args.target);
                return ExitCode::from(2);
            }
        }
    };
    let mut clean = true;
    for t in &mut targets {
        clean &= run_one(t.as_mut(), &args);
    }
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
