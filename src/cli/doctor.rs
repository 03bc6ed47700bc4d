//! `holdfast doctor`: one line per check, OK/WARN/FAIL, non-zero exit when anything FAILs.

use crate::clock::SharedClock;
use crate::config::{Config, ConfigError};
use crate::{instances, keys};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
}

struct Report {
    failed: bool,
}

impl Report {
    fn line(&mut self, status: Status, check: &str, detail: impl AsRef<str>) {
        let label = match status {
            Status::Ok => "OK  ",
            Status::Warn => "WARN",
            Status::Fail => {
                self.failed = true;
                "FAIL"
            }
        };
        println!("{label} {check}: {}", detail.as_ref());
    }
}

/// What to check beyond the local files.
pub struct Options {
    /// Also try every outbound destination.
    pub network: bool,
    /// The root under which the systemd unit directories are read (`/` on the machine itself).
    pub systemd_root: PathBuf,
}

pub fn run(
    config: Result<Config, ConfigError>,
    only: Option<String>,
    clock: SharedClock,
    options: Options,
) -> ExitCode {
    let Options {
        network,
        systemd_root,
    } = options;
    let mut r = Report { failed: false };
    let mut opened = Vec::new();
    let config = match config {
        Ok(c) => {
            r.line(
                Status::Ok,
                "config",
                format!("loaded from {}", c.source_label()),
            );
            c
        }
        Err(e) => {
            r.line(Status::Fail, "config", e.to_string());
            return ExitCode::FAILURE;
        }
    };
    let dir = &config.data_dir;
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {
            let mode = m.mode() & 0o777;
            let euid = nix::unistd::geteuid().as_raw();
            if m.uid() != euid {
                r.line(
                    Status::Fail,
                    "data dir",
                    format!(
                        "{} is owned by uid {}, not by this user (uid {euid})",
                        dir.display(),
                        m.uid()
                    ),
                );
            } else if mode & 0o077 != 0 {
                r.line(
                    Status::Fail,
                    "data dir",
                    format!(
                        "{} has mode {mode:o}; it must be 0700 (chmod 700 {})",
                        dir.display(),
                        dir.display()
                    ),
                );
            } else {
                r.line(
                    Status::Ok,
                    "data dir",
                    format!("{} (mode {mode:o})", dir.display()),
                );
            }
        }
        Ok(_) => r.line(
            Status::Fail,
            "data dir",
            format!("{} is not a directory", dir.display()),
        ),
        Err(e) => {
            r.line(Status::Fail, "data dir", format!("{}: {e}", dir.display()));
            return ExitCode::FAILURE;
        }
    }

    let (status, detail) = socket_unit(&config, &systemd_root);
    r.line(status, "socket unit", detail);

    let master = match keys::load(dir, false) {
        Ok((k, source)) => {
            r.line(
                Status::Ok,
                "master key",
                format!("{source} (id {})", k.id()),
            );
            Some(k)
        }
        Err(e) => {
            r.line(Status::Fail, "master key", e.to_string());
            None
        }
    };

    let cert = config
        .tls_cert_file
        .clone()
        .unwrap_or_else(|| crate::tls::self_signed_paths(dir).cert);
    if cert.exists() {
        match crate::tls::days_until_expiry(&cert, clock.now()) {
            Ok(d) if d < 0 => r.line(
                Status::Fail,
                "certificate",
                format!("{} expired {} days ago", cert.display(), -d),
            ),
            Ok(d) if d < 30 => r.line(
                Status::Warn,
                "certificate",
                format!("{} expires in {d} days", cert.display()),
            ),
            Ok(d) => r.line(
                Status::Ok,
                "certificate",
                format!("{} valid for {d} more days", cert.display()),
            ),
            Err(e) => r.line(Status::Fail, "certificate", e.to_string()),
        }
        if let Ok(f) = crate::tls::fingerprint(&cert) {
            r.line(Status::Ok, "fingerprint", format!("SHA-256 {f}"));
        }
    } else if config.tls_cert_file.is_some() {
        r.line(
            Status::Fail,
            "certificate",
            format!("{} does not exist", cert.display()),
        );
    } else {
        r.line(
            Status::Warn,
            "certificate",
            "none yet; `holdfast serve` generates a self-signed one on first start",
        );
    }

    match instances::list_names(dir) {
        Ok(names) if names.is_empty() => r.line(
            Status::Warn,
            "instances",
            "none yet; `holdfast serve` creates `default` on first start",
        ),
        Ok(names) => {
            for name in names
                .iter()
                .filter(|n| only.as_ref().is_none_or(|o| o == *n))
            {
                let check = format!("instance {name}");
                let Some(master) = &master else {
                    r.line(
                        Status::Fail,
                        &check,
                        "cannot be checked without the master key",
                    );
                    continue;
                };
                match instances::open(dir, master, name, crate::storage::Options::from(&config)) {
                    Ok(inst) => {
                        let inst = std::sync::Arc::new(inst);
                        opened.push(std::sync::Arc::clone(&inst));
                        alerts_line(&mut r, &inst);
                        match inst.db.integrity_problems() {
                            Ok(p) if p.is_empty() => r.line(
                                Status::Ok,
                                &check,
                                format!(
                                    "integrity_check and cipher_integrity_check ok (schema {})",
                                    inst.db.schema_version().unwrap_or(0)
                                ),
                            ),
                            Ok(p) => r.line(
                                Status::Fail,
                                &check,
                                format!("database damaged: {}", p.join("; ")),
                            ),
                            Err(e) => r.line(Status::Fail, &check, e.to_string()),
                        }
                    }
                    Err(e) => r.line(Status::Fail, &check, e.to_string()),
                }
            }
        }
        Err(e) => r.line(Status::Fail, "instances", e.to_string()),
    }

    match crate::watch::health::disk_space(dir) {
        Ok((free, total)) => {
            let pct = free as f64 * 100.0 / total.max(1) as f64;
            let text = format!("{} free ({pct:.1}%)", super::instance::human_size(free));
            use crate::watch::health::{DiskLevel, disk_level};
            match disk_level(free, total, &config.disk_low) {
                DiskLevel::Critical => r.line(Status::Fail, "free disk", text),
                DiskLevel::Low => r.line(Status::Warn, "free disk", text),
                DiskLevel::Ok => r.line(Status::Ok, "free disk", text),
            }
        }
        Err(e) => r.line(Status::Fail, "free disk", e),
    }

    if network {
        for (status, what, detail) in super::network::check(&config, &opened, clock.now()) {
            let status = match status {
                "FAIL" => Status::Fail,
                "WARN" => Status::Warn,
                _ => Status::Ok,
            };
            r.line(status, &format!("network {what}"), detail);
        }
    }

    if r.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Open alerts of an instance: a critical one (a broken log chain) fails the doctor, a high one warns.
fn alerts_line(r: &mut Report, inst: &instances::Instance) {
    let check = format!("alerts {}", inst.name);
    match crate::watch::open_counts_blocking(inst) {
        Ok(counts) => {
            let n = |sev: &str| counts.iter().find(|(s, _)| s == sev).map_or(0, |(_, n)| *n);
            let text = counts
                .iter()
                .map(|(s, n)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", ");
            if n("critical") > 0 {
                r.line(
                    Status::Fail,
                    &check,
                    format!("open alerts: {text} (holdfast admin alerts)"),
                );
            } else if n("high") > 0 {
                r.line(
                    Status::Warn,
                    &check,
                    format!("open alerts: {text} (holdfast admin alerts)"),
                );
            } else if text.is_empty() {
                r.line(Status::Ok, &check, "no open alerts");
            } else {
                r.line(Status::Ok, &check, format!("open alerts: {text}"));
            }
        }
        Err(e) => r.line(Status::Fail, &check, e.to_string()),
    }
}

/// Under socket activation holdfast serves on the socket `holdfast.socket` hands it, whatever
/// `listen` says; but the self-signed certificate and the setup links are made from `listen`. So
/// the two must name the same address, or clients get a certificate and links for another one.
fn socket_unit(config: &Config, root: &Path) -> (Status, String) {
    use crate::sockets::unit::{self, Found};
    let listen = config.listen;
    let config_file = match &config.source {
        Some(p) => p.display().to_string(),
        None => "the configuration file (built-in defaults in use)".into(),
    };
    let dropin = "`systemctl edit holdfast.socket`, which writes /etc/systemd/system/holdfast.socket.d/override.conf";
    let restart = "then `systemctl restart holdfast.socket holdfast.service`";
    match unit::read(root) {
        Err(e) => (Status::Fail, format!("cannot read holdfast.socket: {e}")),
        Ok(Found::NoUnit) => (
            Status::Ok,
            format!("no holdfast.socket (binary install): holdfast listens on {listen} itself"),
        ),
        Ok(Found::Masked(path)) => (
            Status::Warn,
            format!(
                "{} is masked: systemd never opens it, and holdfast.service, which requires it, does not start",
                path.display()
            ),
        ),
        Ok(Found::Listens { unit, streams }) => match streams.as_slice() {
            [] => (
                Status::Fail,
                format!(
                    "{} has no ListenStream= left after its drop-ins, so holdfast.service gets no socket; \
                     set `ListenStream={listen}` under [Socket] ({dropin}), {restart}",
                    unit.display()
                ),
            ),
            [(value, file)] => match unit::stream_address(value) {
                None => (
                    Status::Fail,
                    format!(
                        "ListenStream={value} in {} is not an address holdfast can serve HTTPS on; \
                         set `ListenStream={listen}` ({dropin}), {restart}",
                        file.display()
                    ),
                ),
                Some(addr) if addr == listen => (
                    Status::Ok,
                    format!(
                        "holdfast.socket listens on {addr} ({}), the same as `listen`",
                        file.display()
                    ),
                ),
                Some(addr) => (
                    Status::Fail,
                    format!(
                        "holdfast.socket listens on {addr} (ListenStream={value} in {}) but `listen` is {listen} \
                         (in {config_file}); holdfast serves where the socket unit says and makes its \
                         certificate and setup links from `listen`. Make them the same: set \
                         listen = \"{addr}\" in {config_file}, or change the socket's address with \
                         {dropin} ([Socket], an empty `ListenStream=` line, then `ListenStream={listen}`), {restart}",
                        file.display()
                    ),
                ),
            },
            several => (
                Status::Fail,
                format!(
                    "holdfast.socket listens on {}; holdfast serves one HTTPS socket and leaves the others \
                     unanswered (clients wait there until they time out). Keep one: with {dropin} write \
                     [Socket], an empty `ListenStream=` line, then `ListenStream={listen}`, {restart}",
                    several
                        .iter()
                        .map(|(v, f)| format!("{v} ({})", f.display()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        },
    }
}
