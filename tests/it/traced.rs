//! The air-gap check over the whole suite (issue 15): with `HOLDFAST_IT_STRACE=<dir>` (set by
//! `tests/run`) every holdfast server and console command the tests start runs under
//! `strace -D -f --seccomp-bpf -e trace=connect,execve`, one trace file each, and a test fails when a
//! process it started called connect() for anything but loopback or a local (AF_UNIX) socket.
//! `tests/tools/strace-summary` reads the same files after the run. This module owns the strace
//! command line, the reading of a trace and the rule; `app.rs` decides when a trace is read.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where the suite's traces go; unset or empty: the suite runs untraced (only `egress_strace`'s
/// own servers are traced, into their own directory).
pub const ENV: &str = "HOLDFAST_IT_STRACE";

/// `-D`: strace runs as a detached grandchild and attaches before the program's first instruction,
/// so the process a test spawns *is* holdfast (its PID, its signals, its exit status), and strace
/// outlives it only until every process it follows has ended. `-f`: threads and every process it
/// starts (an update's next server, dpkg-deb) are followed. `--seccomp-bpf`: only connect() and
/// execve() stop the program; every other system call runs at full speed. `-qq -e signal=none`:
/// the file holds only those two calls (execve names what ran, for the summary).
const OPTIONS: [&str; 8] = [
    "-D",
    "-f",
    "--seccomp-bpf",
    "-qq",
    "-e",
    "trace=connect,execve",
    "-e",
    "signal=none",
];

/// The suite-wide trace directory, when tracing is on (checked once: strace must run).
pub fn suite_dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(std::env::var_os(ENV).filter(|v| !v.is_empty())?);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{ENV}={}: {e}", dir.display()));
        strace_runs();
        Some(dir)
    })
    .as_deref()
}

/// Fails the caller when strace is missing, as the promtool tests do for promtool.
pub fn strace_runs() {
    let out = Command::new("strace")
        .arg("-V")
        .output()
        .expect("strace (apt-get install strace; tests/run installs it)");
    assert!(out.status.success(), "strace -V failed");
}

/// The suite's directory for the processes run on `data_dir` (one per data dir, so that a test
/// app's teardown reads exactly its own), or `None` when the suite runs untraced.
pub fn dir_for(data_dir: Option<&Path>) -> Option<PathBuf> {
    let name = match data_dir {
        Some(d) => d
            .to_string_lossy()
            .trim_start_matches('/')
            .replace('/', "_"),
        None => "no-data-dir".to_string(),
    };
    suite_dir().map(|s| s.join(name))
}

/// The argument vector that runs `exe` under strace with its trace in a new file in `into`, and
/// that file; `[exe]` and `None` when `into` is `None`. The caller appends the program's arguments.
pub fn argv(exe: &Path, into: Option<&Path>) -> (Vec<OsString>, Option<PathBuf>) {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let Some(dir) = into else {
        return (vec![exe.into()], None);
    };
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join(format!(
        "{}-{}.trace",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let mut argv: Vec<OsString> = vec!["strace".into()];
    argv.extend(OPTIONS.iter().map(OsString::from));
    argv.extend(["-o".into(), file.clone().into(), "--".into(), exe.into()]);
    (argv, Some(file))
}

/// A command running `exe`, under strace into `into` when given.
pub fn command(exe: &Path, into: Option<&Path>) -> Command {
    let (argv, _) = argv(exe, into);
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd
}

/// The trace file of a command made by [`command`], if it is traced.
pub fn trace_of(cmd: &Command) -> Option<PathBuf> {
    if cmd.get_program() != "strace" {
        return None;
    }
    let mut args = cmd.get_args();
    args.by_ref().find(|a| *a == "-o")?;
    args.next().map(PathBuf::from)
}

/// How a command made by [`command`] is named in a failure: the program and its arguments.
pub fn describe(cmd: &Command) -> String {
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let from = args.iter().position(|a| a == "--").map_or(0, |i| i + 1);
    let mut words = vec![if from == 0 {
        cmd.get_program().to_string_lossy().into_owned()
    } else {
        String::new()
    }];
    words.extend(args[from..].iter().cloned());
    words.retain(|w| !w.is_empty());
    words.join(" ")
}

/// Where one connect() went.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dest {
    /// A local socket (AF_UNIX), e.g. the update's control socket or glibc asking nscd.
    Local,
    /// An address on this machine's loopback (127.0.0.0/8, ::1, ::ffff:127.x), as `ip:port`.
    Loopback(String),
    /// AF_UNSPEC: a datagram socket being disconnected, no destination at all.
    Disconnect,
    /// Anything else: another address, another family, or an address strace could not read.
    Elsewhere,
}

/// The destination of one line of a trace; `None` when the line is not a connect() that names one
/// (an execve, or the `<... connect resumed>` end of a call whose start named it).
pub fn dest(line: &str) -> Option<Dest> {
    let call = line
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start();
    if !call.starts_with("connect(") {
        return None;
    }
    let quoted = |after: &str| {
        call.split(after)
            .nth(1)
            .and_then(|r| r.split('"').nth(1))
            .map(str::to_string)
    };
    let port = call
        .split("htons(")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or("?");
    Some(if call.contains("sa_family=AF_UNIX") {
        Dest::Local
    } else if call.contains("sa_family=AF_UNSPEC") {
        Dest::Disconnect
    } else if call.contains("sa_family=AF_INET,") {
        match quoted("inet_addr(") {
            Some(ip) if ip.starts_with("127.") => Dest::Loopback(format!("{ip}:{port}")),
            _ => Dest::Elsewhere,
        }
    } else if call.contains("sa_family=AF_INET6,") {
        match quoted("inet_pton(AF_INET6, ") {
            Some(ip) if ip == "::1" || ip.starts_with("::ffff:127.") => {
                Dest::Loopback(format!("[{ip}]:{port}"))
            }
            _ => Dest::Elsewhere,
        }
    } else {
        Dest::Elsewhere
    })
}

/// Every connect() in a trace that names a destination, with its line.
pub fn connects(trace: &Path) -> Vec<(Dest, String)> {
    let text = std::fs::read_to_string(trace).unwrap_or_else(|e| {
        panic!(
            "no trace at {} ({e}): strace did not run the process",
            trace.display()
        )
    });
    text.lines()
        .filter_map(|l| dest(l).map(|d| (d, l.to_string())))
        .collect()
}

/// Fails the calling test (unless it is already failing) when the trace holds a connect() to
/// anywhere but loopback or a local socket, quoting each such line.
pub fn check(trace: &Path, what: &str) {
    if std::thread::panicking() {
        return;
    }
    let off: Vec<String> = connects(trace)
        .into_iter()
        .filter(|(d, _)| *d == Dest::Elsewhere)
        .map(|(_, l)| l)
        .collect();
    assert!(
        off.is_empty(),
        "{what} called connect() for something other than loopback or a local socket \
         (issue 15, docs/security.md; trace {}):\n{}",
        trace.display(),
        off.join("\n")
    );
}

/// [`check`] for every trace in `dir` (all the processes run on one data dir).
pub fn check_dir(dir: &Path, what: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "trace") {
            check(&p, what);
        }
    }
}

/// Lines as strace 6.1 writes them, and whether each passes; the summary script must judge them
/// the same way.
const SAMPLES: [(&str, bool); 14] = [
    (
        r#"4101  connect(7, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)"#,
        true,
    ),
    (
        r#"4101  connect(7, {sa_family=AF_UNIX, sun_path=@"holdfast"}, 11) = 0"#,
        true,
    ),
    (
        r#"4102  connect(9, {sa_family=AF_INET, sin_port=htons(2525), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)"#,
        true,
    ),
    (
        r#"4102  connect(9, {sa_family=AF_INET, sin_port=htons(25), sin_addr=inet_addr("127.3.4.5")}, 16 <unfinished ...>"#,
        true,
    ),
    (r#"4102  <... connect resumed>) = 0"#, true),
    (
        r#"4103  connect(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0"#,
        true,
    ),
    (
        r#"4103  connect(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 0"#,
        true,
    ),
    (
        r#"4104  connect(3, {sa_family=AF_UNSPEC, sa_data="\0\0\0\0\0\0\0\0\0\0\0\0\0\0"}, 16) = 0"#,
        true,
    ),
    (
        r#"4105  execve("/usr/bin/dpkg-deb", ["dpkg-deb", "--connect(", "inet_addr(\"10.0.0.1\")"], 0x7ffd /* 12 vars */) = 0"#,
        true,
    ),
    (
        r#"4106  connect(9, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0"#,
        false,
    ),
    (
        r#"4106  connect(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:10.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 0"#,
        false,
    ),
    (
        r#"4106  connect(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = 0"#,
        false,
    ),
    (
        r#"4106  connect(9, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 0"#,
        false,
    ),
    (
        r#"4106  connect(9, 0x7ffc10, 16) = -1 EFAULT (Bad address)"#,
        false,
    ),
];

/// The rule on strace's own lines, and the summary script agreeing with it line by line.
#[test]
fn only_loopback_and_local_sockets_pass_and_the_summary_judges_alike() {
    for (line, ok) in SAMPLES {
        assert_eq!(
            dest(line) != Some(Dest::Elsewhere),
            ok,
            "judged wrongly: {line}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("one-data-dir");
    std::fs::create_dir(&sub).unwrap();
    let all: Vec<&str> = SAMPLES.iter().map(|(l, _)| *l).collect();
    std::fs::write(sub.join("1-0.trace"), all.join("\n") + "\n").unwrap();
    let out =
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/strace-summary"))
            .arg(dir.path())
            .output()
            .expect("python3 runs tests/tools/strace-summary");
    let said = crate::support::text(&out.stdout);
    assert!(
        !out.status.success(),
        "the summary passed off-machine connects: {said}"
    );
    for (line, ok) in SAMPLES {
        let call = line.split_once("  ").unwrap().1;
        if call.starts_with("connect(") {
            assert_eq!(
                said.contains(&format!("OFF MACHINE: {line}")),
                !ok,
                "the summary judged differently: {line}\n{said}"
            );
        }
    }
    // Only loopback and local sockets: it passes and counts them.
    let clean: Vec<&str> = SAMPLES
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(l, _)| *l)
        .collect();
    std::fs::write(sub.join("1-0.trace"), clean.join("\n") + "\n").unwrap();
    let out =
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/strace-summary"))
            .arg(dir.path())
            .output()
            .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        crate::support::text(&out.stdout),
        crate::support::text(&out.stderr)
    );
    // An empty directory means the check did not run: that fails too.
    let empty = tempfile::tempdir().unwrap();
    let out =
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/strace-summary"))
            .arg(empty.path())
            .output()
            .unwrap();
    assert!(!out.status.success(), "an empty trace directory passed");
}

/// End to end through strace: a process that connects (a UDP socket, so nothing is sent) to an
/// address off this machine fails the check, naming the line; the same process on loopback passes.
#[test]
fn a_traced_process_that_connects_off_the_machine_fails_its_test() {
    strace_runs();
    let dir = tempfile::tempdir().unwrap();
    let run = |ip: &str| {
        let mut cmd = command(Path::new("/usr/bin/python3"), Some(dir.path()));
        cmd.arg("-c").arg(format!(
            "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ntry:\n    s.connect(({ip:?}, 9))\nexcept OSError:\n    pass\n"
        ));
        let trace = trace_of(&cmd).unwrap();
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            crate::support::text(&out.stderr)
        );
        trace
    };
    let loopback = run("127.0.0.9");
    check(&loopback, "python on loopback");
    assert!(
        connects(&loopback)
            .iter()
            .any(|(d, _)| *d == Dest::Loopback("127.0.0.9:9".into()))
    );
    let away = run("203.0.113.7");
    let failed = std::panic::catch_unwind(|| check(&away, "python off the machine"))
        .expect_err("a connect() to 203.0.113.7 passed the check");
    let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("inet_addr(\"203.0.113.7\")")
            && message.contains("python off the machine"),
        "{message}"
    );
}
