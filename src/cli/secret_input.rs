//! Reading a secret an operator hands to a console command (a recovery code, a password): from a
//! file or standard input, never from the command line, where `ps`, `/proc/PID/cmdline` and the
//! shell history show it to others.

use crate::crypto::Secret;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, IsTerminal, Read};
use std::os::fd::AsFd;
use std::path::Path;

/// A recovery code is under 80 characters and a password a few hundred at most: anything longer
/// is the wrong file, and reading it whole would only waste memory.
const MAX_SECRET_LEN: u64 = 4096;

/// Where a console command takes a secret from.
pub enum Source<'a> {
    /// A file, or standard input when the path is `-`.
    File(&'a Path),
    /// Standard input: a prompt with echo off on a terminal, else everything piped in.
    Stdin,
    /// The value was given on the command line (kept for old scripts; it warns).
    Argv { value: String, flag: &'a str },
}

impl<'a> Source<'a> {
    /// The source a command's flags select: `--X-file FILE` first, then the old `--X VALUE`,
    /// else standard input.
    pub fn pick(file: Option<&'a Path>, argv: Option<String>, flag: &'a str) -> Self {
        match (file, argv) {
            (Some(f), _) => Source::File(f),
            (None, Some(value)) => Source::Argv { value, flag },
            (None, None) => Source::Stdin,
        }
    }
}

/// Reads `what` (words for the prompt and errors, e.g. "recovery code") from `source`. Only
/// trailing line ends are removed: spaces may belong to a password.
pub fn read(what: &str, source: Source) -> Result<Secret<String>> {
    let raw = match source {
        Source::Argv { value, flag } => {
            eprintln!(
                "warning: {flag} puts the {what} in the process list and the shell history, where other local users can read it; use {flag}-file FILE or standard input instead"
            );
            value
        }
        Source::File(p) if p == Path::new("-") => piped(what)?,
        Source::File(p) => {
            let f = std::fs::File::open(p)
                .with_context(|| format!("cannot open {} to read the {what}", p.display()))?;
            bounded(f, what, &p.display().to_string())?
        }
        Source::Stdin if std::io::stdin().is_terminal() => prompted(what)?,
        Source::Stdin => piped(what)?,
    };
    let value = raw.trim_end_matches(['\n', '\r']).to_string();
    if value.trim().is_empty() {
        bail!("no {what} was given (it is read from standard input, or from --…-file FILE)");
    }
    Ok(Secret::new(value))
}

fn piped(what: &str) -> Result<String> {
    bounded(std::io::stdin().lock(), what, "standard input")
}

fn bounded(r: impl Read, what: &str, from: &str) -> Result<String> {
    let mut s = String::new();
    r.take(MAX_SECRET_LEN + 1)
        .read_to_string(&mut s)
        .with_context(|| format!("cannot read the {what} from {from}"))?;
    if s.len() as u64 > MAX_SECRET_LEN {
        bail!("{from} holds more than {MAX_SECRET_LEN} bytes: that is not a {what}");
    }
    Ok(s)
}

/// One line from the terminal with echo off, so the secret does not stay on the screen.
fn prompted(what: &str) -> Result<String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    eprint!("{what}: ");
    let saved = tcgetattr(stdin.as_fd()).ok();
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        quiet.local_flags.insert(LocalFlags::ECHONL);
        // Without echo control the line still works; it is only shown while typed.
        let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &quiet);
    }
    let mut line = String::new();
    let read = stdin
        .lock()
        .take(MAX_SECRET_LEN)
        .read_line(&mut line)
        .with_context(|| format!("cannot read the {what} from the terminal"));
    if let Some(t) = &saved {
        let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, t);
    }
    read?;
    Ok(line)
}
