//! `TestApp`: the one place that makes a test's data dir, builds `holdfast` console commands,
//! spawns the real server and waits until it listens, stops it and cleans up; it also hands out the
//! pinned API client, the SMTP sink and a browser. The suites' fixtures (hub `Env`, identity `Hub`,
//! the update `Rig`) are layers on top of it. Every holdfast process it starts goes through
//! [`crate::traced`]: under strace when the suite is traced, its trace read when it ends.

// Not every test uses every helper.
#![allow(dead_code)]

use crate::browser::Browser;
use crate::smtp_sink::SmtpSink;
use crate::support::{Client, text};
use crate::traced;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_holdfast");

/// The first administrator `with_admin` creates (and `add_admin` on demand).
pub const ADMIN: &str = "root";
pub const ADMIN_EMAIL: &str = "root@example.test";
pub const ADMIN_PW: &str = "correct horse battery staple 41";

/// Variables of the test runner's environment that would change what a console command or the
/// server reads; every command starts without them (a test sets what it wants explicitly).
const CLEARED_ENV: [&str; 5] = [
    "HOLDFAST_CONFIG",
    "HOLDFAST_DATA_DIR",
    "HOLDFAST_INSTANCE",
    "NOTIFY_SOCKET",
    "CREDENTIALS_DIRECTORY",
];

/// A private data dir (0700) that disappears after the test.
pub fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("holdfast-it-")
        .tempdir()
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

/// `EXE --data-dir DIR [--config CONFIG]`, with the runner's holdfast variables cleared; under
/// strace when the suite is traced, its trace beside the other processes run on `dir`.
pub fn console_command(exe: &Path, dir: &Path, config: Option<&Path>) -> Command {
    console_command_into(exe, dir, config, traced::dir_for(Some(dir)).as_deref())
}

/// [`console_command`] with its trace in `traces` (`None`: untraced).
fn console_command_into(
    exe: &Path,
    dir: &Path,
    config: Option<&Path>,
    traces: Option<&Path>,
) -> Command {
    let mut cmd = traced::command(exe, traces);
    cmd.arg("--data-dir").arg(dir);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    for var in CLEARED_ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// `EXE` with no data dir given (`--version`, `routes`, commands that look for one), traced as
/// every console command is.
pub fn bin_command(exe: &Path) -> Command {
    traced::command(exe, traced::dir_for(None).as_deref())
}

/// Runs `cmd` with `stdin` fed to it; stdout and stderr are captured. A traced command's trace is
/// checked once it has exited.
pub fn run_with_stdin(mut cmd: Command, stdin: &str) -> Output {
    // Files, not pipes: strace keeps the command's stderr open for as long as a process it follows
    // runs (an update's next server), while the output is complete once the command has exited.
    let mut out = tempfile::tempfile().unwrap();
    let mut err = tempfile::tempfile().unwrap();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let status = child.wait().unwrap();
    let read = |f: &mut std::fs::File| {
        f.rewind().unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        bytes
    };
    let output = Output {
        status,
        stdout: read(&mut out),
        stderr: read(&mut err),
    };
    if let Some(trace) = traced::trace_of(&cmd) {
        traced::check(&trace, &traced::describe(&cmd));
    }
    output
}

/// Runs a console command against `dir`.
pub fn holdfast(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = console_command(Path::new(BIN), dir, None);
    cmd.args(args);
    run_with_stdin(cmd, "")
}

/// `admin user add NAME --email NAME@example.test --group G… --password-stdin` as an operator
/// would type it at the console.
pub fn add_user_cmd(mut cmd: Command, name: &str, groups: &[&str], password: &str) {
    let email = format!("{name}@example.test");
    cmd.args(["admin", "user", "add", name, "--email", &email]);
    for g in groups {
        cmd.args(["--group", g]);
    }
    cmd.arg("--password-stdin");
    let out = run_with_stdin(cmd, &format!("{password}\n"));
    assert!(
        out.status.success(),
        "adding `{name}` failed: {}",
        text(&out.stderr)
    );
}

/// `holdfast admin user add NAME --group GROUP --password-stdin` with `exe` on `data_dir`, as an
/// operator would create a user at the console (`config`: an optional `--config` file).
pub fn add_console_user(
    exe: &Path,
    data_dir: &Path,
    config: Option<&str>,
    name: &str,
    group: &str,
    password: &str,
) {
    let cmd = console_command(exe, data_dir, config.map(Path::new));
    add_user_cmd(cmd, name, &[group], password);
}

// ---- the server process ------------------------------------------------------------------------

pub struct Server {
    /// The holdfast process itself, also when traced (strace runs as its detached grandchild).
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    log: Arc<Mutex<String>>,
    lines: mpsc::Receiver<String>,
    /// Its trace when traced, checked (and cleared) once the process has ended.
    trace: Option<PathBuf>,
}

/// How to start the server: global options before `serve`, `--listen` (default 127.0.0.1:0), env,
/// the binary (default: the one cargo built) and where its trace goes (default: with the other
/// processes run on the data dir when the suite is traced).
#[derive(Default)]
pub struct Launch<'a> {
    pub args: Vec<String>,
    pub listen: Option<String>,
    pub env: Vec<(&'a str, String)>,
    pub exe: Option<PathBuf>,
    pub traces: Option<PathBuf>,
}

impl Server {
    pub fn start(dir: &Path) -> Server {
        Self::launch(dir, Launch::default()).unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Starts the server; `Err(stderr)` when it exits before listening.
    pub fn launch(dir: &Path, launch: Launch) -> Result<Server, String> {
        let exe = launch.exe.as_deref().unwrap_or(Path::new(BIN));
        let traces = launch.traces.or_else(|| traced::dir_for(Some(dir)));
        let mut cmd = console_command_into(exe, dir, None, traces.as_deref());
        cmd.args(&launch.args).arg("serve").args([
            "--listen",
            launch.listen.as_deref().unwrap_or("127.0.0.1:0"),
        ]);
        cmd.env("HOLDFAST_LOG", "info");
        for (k, v) in &launch.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let trace = traced::trace_of(&cmd);
        let what = traced::describe(&cmd);
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let log = Arc::clone(&log);
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock().unwrap().push_str(&line);
                    log.lock().unwrap().push('\n');
                    let _ = tx.send(line);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on https://").nth(1) {
                        let addr = rest.split_whitespace().next().unwrap().parse().unwrap();
                        return Ok(Server {
                            child,
                            addr,
                            dir: dir.to_path_buf(),
                            log,
                            lines: rx,
                            trace,
                        });
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {}
            }
            if let Ok(Some(_)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                if let Some(t) = &trace {
                    traced::check(t, &what);
                }
                return Err(log.lock().unwrap().clone());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                if let Some(t) = &trace {
                    traced::check(t, &what);
                }
                return Err(format!("timed out; log so far:\n{}", log.lock().unwrap()));
            }
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits for a log line containing `needle`.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100))
                && line.contains(needle)
            {
                return Some(line);
            }
        }
        None
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }

    /// SIGTERM to our own child, then wait for it to exit.
    pub fn stop(mut self) -> ExitStatus {
        nix::sys::signal::kill(self.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.check_trace();
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("server did not stop after SIGTERM");
            }
            // Short: a stop takes a few milliseconds once requests are done, and many tests stop.
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn client(&self) -> Client {
        Client::for_data_dir(&self.dir, self.addr)
    }

    /// Once the process has ended, every connect() it made is in its trace: strace writes each
    /// line before the call returns.
    fn check_trace(&mut self) {
        if let Some(t) = self.trace.take() {
            traced::check(&t, &format!("the server on {}", self.dir.display()));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.check_trace();
    }
}

// ---- the test app --------------------------------------------------------------------------------

/// A data dir with its configuration file and the binary that runs on it: console commands,
/// before and while a server runs.
pub struct Console {
    exe: PathBuf,
    config: Option<PathBuf>,
    pub dir: tempfile::TempDir,
    traces: Traces,
}

/// Where the traces of the processes run on a console's data dir go; read when the console goes
/// (after its server, so after any process an update started was ended by its fixture): this
/// catches the commands a test spawned itself and the servers an update started.
struct Traces {
    dir: Option<PathBuf>,
    /// A private directory when only this app is traced (`Builder::traced` in an untraced suite).
    _own: Option<tempfile::TempDir>,
}

impl Drop for Traces {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            traced::check_dir(d, "a holdfast process run on this test's data dir");
        }
    }
}

impl Console {
    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    pub fn exe(&self) -> &Path {
        &self.exe
    }

    pub fn config(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    /// `holdfast --data-dir … [--config …] <args>`, ready for more arguments, env or stdin.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = console_command_into(
            &self.exe,
            self.data(),
            self.config(),
            self.traces.dir.as_deref(),
        );
        cmd.args(args);
        cmd
    }

    /// The directory holding the traces of every process run on this data dir (server and
    /// console commands), when they are traced.
    pub fn traces(&self) -> Option<&Path> {
        self.traces.dir.as_deref()
    }

    /// A console command with `stdin` fed to the process.
    pub fn console_in(&self, args: &[&str], stdin: &str) -> Output {
        run_with_stdin(self.command(args), stdin)
    }

    pub fn console(&self, args: &[&str]) -> Output {
        self.console_in(args, "")
    }

    /// A console command that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.console(args);
        assert!(
            out.status.success(),
            "`holdfast {}` failed:\n{}{}",
            args.join(" "),
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// A console command that must fail; its stdout + stderr.
    pub fn refused(&self, args: &[&str]) -> String {
        let out = self.console(args);
        assert!(
            !out.status.success(),
            "`holdfast {}` should have been refused but succeeded:\n{}",
            args.join(" "),
            text(&out.stdout)
        );
        format!("{}{}", text(&out.stdout), text(&out.stderr))
    }

    /// Creates a user with a chosen password (`--password-stdin`); e-mail is `<name>@example.test`.
    pub fn add_user(&self, name: &str, groups: &[&str], password: &str) {
        add_user_cmd(self.command(&[]), name, groups, password);
    }

    /// The first administrator: `root`, in `admins`, with [`ADMIN_PW`].
    pub fn add_admin(&self) {
        self.add_user(ADMIN, &["admins"], ADMIN_PW);
    }

    /// The security log rows `admin audit --json` prints (with `filter`, e.g. `--type T`), oldest
    /// first.
    pub fn audit_json(&self, filter: &[&str]) -> Vec<Value> {
        let mut args = vec!["admin", "audit", "--json", "--limit", "100000"];
        args.extend_from_slice(filter);
        self.ok(&args)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// What a [`TestApp`] is made of; [`TestApp::builder`].
#[derive(Default)]
pub struct Builder {
    exe: Option<PathBuf>,
    mail: bool,
    admin: bool,
    config: Option<String>,
    traced: bool,
    log: Option<&'static str>,
}

impl Builder {
    /// The server's `HOLDFAST_LOG` filter instead of `info` (e.g. `debug` to see why connections
    /// ended).
    pub fn log(mut self, filter: &'static str) -> Self {
        self.log = Some(filter);
        self
    }

    /// A fresh plain-SMTP sink the server's `[mail]` (and every console command) points at.
    pub fn with_mail(mut self) -> Self {
        self.mail = true;
        self
    }

    /// Creates the first administrator ([`ADMIN`]) once the server runs.
    pub fn with_admin(mut self) -> Self {
        self.admin = true;
        self
    }

    /// `holdfast.toml` text, passed with `--config` to the server and every console command.
    pub fn config(mut self, toml: &str) -> Self {
        self.config.get_or_insert_default().push_str(toml);
        self
    }

    /// Runs this binary instead of the one cargo built (the update tests install their own copy).
    pub fn binary(mut self, exe: PathBuf) -> Self {
        self.exe = Some(exe);
        self
    }

    /// Traces this app's processes even when the suite runs untraced ([`Console::traces`]).
    pub fn traced(mut self) -> Self {
        self.traced = true;
        self
    }

    /// The data dir, the configuration and the sink, with no server yet.
    pub fn prepare(self) -> Staged {
        let dir = data_dir();
        let sink = self.mail.then(SmtpSink::start);
        let mut toml = self.config.unwrap_or_default();
        if let Some(s) = &sink {
            toml.push_str(&format!(
                "\n[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"none\"\nfrom = \"holdfast@example.test\"\n",
                s.addr().port()
            ));
        }
        let config = (!toml.is_empty()).then(|| {
            let p = dir.path().join("holdfast.toml");
            std::fs::write(&p, toml).unwrap();
            p
        });
        let traces = match traced::dir_for(Some(dir.path())) {
            Some(d) => Traces {
                dir: Some(d),
                _own: None,
            },
            None if self.traced => {
                traced::strace_runs();
                let own = tempfile::tempdir().unwrap();
                Traces {
                    dir: Some(own.path().to_path_buf()),
                    _own: Some(own),
                }
            }
            None => Traces {
                dir: None,
                _own: None,
            },
        };
        Staged {
            console: Console {
                exe: self.exe.unwrap_or_else(|| PathBuf::from(BIN)),
                config,
                dir,
                traces,
            },
            sink,
            admin: self.admin,
            log: self.log,
        }
    }

    pub fn start(self) -> TestApp {
        self.prepare().start()
    }
}

/// A prepared data dir whose server has not started: console commands run on it already.
pub struct Staged {
    console: Console,
    sink: Option<SmtpSink>,
    admin: bool,
    log: Option<&'static str>,
}

impl std::ops::Deref for Staged {
    type Target = Console;
    fn deref(&self) -> &Console {
        &self.console
    }
}

impl Staged {
    pub fn start(self) -> TestApp {
        self.start_on(None)
    }

    /// Starts the server listening on `listen` (default 127.0.0.1:0).
    pub fn start_on(self, listen: Option<String>) -> TestApp {
        let mut args = Vec::new();
        if let Some(c) = self.console.config() {
            args.push("--config".to_string());
            args.push(c.display().to_string());
        }
        let server = Server::launch(
            self.console.data(),
            Launch {
                args,
                listen,
                exe: Some(self.console.exe.clone()),
                traces: self.console.traces().map(Path::to_path_buf),
                env: self
                    .log
                    .map(|l| vec![("HOLDFAST_LOG", l.to_string())])
                    .unwrap_or_default(),
            },
        )
        .unwrap_or_else(|e| panic!("server did not start: {e}"));
        let ca_pem = std::fs::read(self.console.data().join("tls/cert.pem")).unwrap();
        let client = Client::trusting(&ca_pem, "localhost", server.addr);
        let host = format!("localhost:{}", server.addr.port());
        let origin = format!("https://{host}");
        let app = TestApp {
            server,
            client,
            host,
            origin,
            ca_pem,
            sink: self.sink,
            console: self.console,
        };
        if self.admin {
            app.add_admin();
        }
        app
    }
}

/// A running server in its own data dir; console commands through `Deref` to [`Console`].
pub struct TestApp {
    // Field order is drop order: the server stops before the sink and the data dir go.
    pub server: Server,
    pub client: Client,
    /// `Host` header sent with every request (`localhost:<port>`, as a browser would send it).
    pub host: String,
    /// The matching same-origin `Origin` value, also the base of every page URL.
    pub origin: String,
    /// The server's certificate (PEM), the only one the clients trust.
    pub ca_pem: Vec<u8>,
    pub sink: Option<SmtpSink>,
    console: Console,
}

impl std::ops::Deref for TestApp {
    type Target = Console;
    fn deref(&self) -> &Console {
        &self.console
    }
}

impl TestApp {
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub fn sink(&self) -> &SmtpSink {
        self.sink.as_ref().expect("this app has no mail sink")
    }

    /// A headless browser session, sized `width`×`height`; pages are under [`TestApp::origin`].
    pub async fn browser(&self, width: u32, height: u32) -> Browser {
        Browser::start(width, height)
            .await
            .expect("chromium (apt-get install chromium chromium-driver)")
    }

    /// SIGTERM to the server and wait for it to exit; the data dir goes with the app.
    pub fn stop(self) -> ExitStatus {
        self.stop_keep_data().0
    }

    /// [`TestApp::stop`], keeping the data dir for console commands on what the server left.
    pub fn stop_keep_data(self) -> (ExitStatus, Console) {
        (self.server.stop(), self.console)
    }
}
