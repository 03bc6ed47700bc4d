//! Listening sockets that outlive the process serving them: taking the sockets a process was
//! started with (systemd socket activation, or a hand-over from `holdfast update apply`), handing
//! a running server's sockets to another process over its control socket (`control.rs`), and the
//! line protocol between `update apply` and the server that takes over (`takeover.rs`); and what
//! the installed socket unit listens on (`unit.rs`).
//!
//! A listening socket is one kernel object however many processes hold a descriptor of it: while
//! any holder keeps it open, connections queue in its backlog instead of being refused, and
//! whichever holder calls `accept` next gets them. That is what lets a new version start on the
//! old one's sockets, and what keeps clients waiting (never refused) between two servers.

pub mod control;
pub mod takeover;
pub mod unit;

use nix::sys::socket::{SockType, getsockopt, sockopt};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::process::{Child, Command};

/// The HTTPS listener's name (also `FileDescriptorName=` in `holdfast.socket`).
pub const HTTPS: &str = "https";
/// The plain-HTTP redirect listener's name.
pub const REDIRECT: &str = "redirect";
/// The metrics listener's name.
pub const METRICS: &str = "metrics";

/// `name:fd,name:fd`: the listening sockets `update apply` passes to the server it starts. systemd
/// passes its own in `LISTEN_FDS`/`LISTEN_FDNAMES`, checked against `LISTEN_PID`; `apply` cannot
/// know the child's PID before it runs, so it names the descriptors instead, and each one is
/// checked to be a listening socket before it is used.
pub const LISTEN_ENV: &str = "HOLDFAST_LISTEN_FDS";

/// Why sockets could not be taken, handed on or passed to a child.
#[derive(Debug, thiserror::Error)]
pub enum SocketsError {
    #[error("{var}: {reason}")]
    Env { var: &'static str, reason: String },
    #[error("inherited descriptor {fd} ({name}) is not a listening TCP socket")]
    NotListening { fd: RawFd, name: String },
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: nix::errno::Errno,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the server's control socket answered {0:?}, not its listening sockets")]
    BadAnswer(String),
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SocketsError {
    let what = what.into();
    move |source| SocketsError::Io { what, source }
}

pub(crate) fn sys(what: impl Into<String>) -> impl FnOnce(nix::errno::Errno) -> SocketsError {
    let what = what.into();
    move |source| SocketsError::Sys { what, source }
}

/// Listening sockets by name, in the order they were made.
#[derive(Debug, Default)]
pub struct Named(Vec<(String, OwnedFd)>);

impl Named {
    pub fn push(&mut self, name: &str, fd: OwnedFd) {
        self.0.push((name.to_string(), fd));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(n, _)| n.as_str()).collect()
    }

    pub fn get(&self, name: &str) -> Option<BorrowedFd<'_>> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.as_fd())
    }

    /// Takes the socket called `name` out, as a listener (non-blocking, as tokio needs it).
    pub fn take(&mut self, name: &str) -> Result<Option<std::net::TcpListener>, SocketsError> {
        let Some(i) = self.0.iter().position(|(n, _)| n == name) else {
            return Ok(None);
        };
        let (_, fd) = self.0.remove(i);
        let listener = std::net::TcpListener::from(fd);
        listener
            .set_nonblocking(true)
            .map_err(io(format!("inherited {name} socket")))?;
        Ok(Some(listener))
    }

    /// Second descriptors of the same sockets (for the control socket, which hands them on).
    pub fn try_clone(&self) -> Result<Named, SocketsError> {
        let mut out = Named::default();
        for (name, fd) in &self.0 {
            out.push(name, fd.try_clone().map_err(io(format!("{name} socket")))?);
        }
        Ok(out)
    }

    fn raw(&self) -> Vec<RawFd> {
        self.0.iter().map(|(_, f)| f.as_raw_fd()).collect()
    }
}

/// The listening sockets this process was started with: systemd's (socket activation) or those
/// `update apply` handed over; empty when started plainly (the server then binds its own).
pub fn inherited() -> Result<Named, SocketsError> {
    let mut out = Named::default();
    let fds = sd_notify::listen_fds_with_names().map_err(io("LISTEN_FDS from systemd"))?;
    for (fd, name) in fds {
        // A socket unit without FileDescriptorName= names its sockets "unknown"; holdfast.socket
        // names them, but one unnamed socket can only be the HTTPS one.
        let name = if name.is_empty() || name == "unknown" {
            HTTPS.to_string()
        } else {
            name
        };
        let fd = adopt(fd, &name, &out)?;
        out.push(&name, fd);
    }
    if !out.is_empty() {
        return Ok(out);
    }
    let Ok(spec) = std::env::var(LISTEN_ENV) else {
        return Ok(out);
    };
    from_spec(&spec)
}

/// The sockets named in a [`LISTEN_ENV`] value.
fn from_spec(spec: &str) -> Result<Named, SocketsError> {
    let mut out = Named::default();
    for part in spec.split(',').filter(|p| !p.is_empty()) {
        let bad = |reason: &str| SocketsError::Env {
            var: LISTEN_ENV,
            reason: format!("`{part}`: {reason}"),
        };
        let (name, fd) = part.split_once(':').ok_or_else(|| bad("not name:fd"))?;
        if ![HTTPS, REDIRECT, METRICS].contains(&name) {
            return Err(bad("unknown listener name"));
        }
        let fd: RawFd = fd.parse().map_err(|_| bad("not a descriptor number"))?;
        let owned = adopt(fd, name, &out)?;
        out.push(name, owned);
    }
    Ok(out)
}

/// Takes ownership of descriptor `fd`, after checking that it is open, not one of the standard
/// three, not taken already, and a listening stream socket.
fn adopt(fd: RawFd, name: &str, taken: &Named) -> Result<OwnedFd, SocketsError> {
    let not_listening = || SocketsError::NotListening {
        fd,
        name: name.to_string(),
    };
    if fd < 3 || taken.raw().contains(&fd) {
        return Err(not_listening());
    }
    // Checked through /proc before ownership is taken: a closed or non-socket number is refused
    // without ever being wrapped (and later closed) as if it were ours.
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).map_err(|_| not_listening())?;
    if !link.to_string_lossy().starts_with("socket:") {
        return Err(not_listening());
    }
    // SAFETY: the descriptor is open (its /proc entry exists), is a socket, and was handed to this
    // process for it to own (systemd or `update apply` named it); it is wrapped exactly once
    // (`taken` is checked above) and nothing else in the process uses the number.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let listening = getsockopt(&owned, sockopt::AcceptConn).unwrap_or(false);
    let stream = getsockopt(&owned, sockopt::SockType).is_ok_and(|t| t == SockType::Stream);
    if !listening || !stream {
        // Not ours to close either: give the number back untouched.
        let _ = owned.into_raw_fd();
        return Err(not_listening());
    }
    nix::fcntl::fcntl(
        &owned,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .map_err(sys(format!("{name} socket")))?;
    Ok(owned)
}

fn set_cloexec(fd: BorrowedFd<'_>, on: bool) -> Result<(), SocketsError> {
    let flag = if on {
        nix::fcntl::FdFlag::FD_CLOEXEC
    } else {
        nix::fcntl::FdFlag::empty()
    };
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFD(flag))
        .map(|_| ())
        .map_err(sys("descriptor flags"))
}

/// Spawns `cmd` with `sockets` (named in [`LISTEN_ENV`]) and `extra` (named in `extra_env`)
/// inherited at their own numbers. They are inheritable only for the spawn: every other child
/// this process starts (dpkg, systemctl) gets none of them.
pub fn spawn_with(
    cmd: &mut Command,
    sockets: &Named,
    extra: Option<(&'static str, BorrowedFd<'_>)>,
) -> Result<Child, SocketsError> {
    let spec = sockets
        .0
        .iter()
        .map(|(n, f)| format!("{n}:{}", f.as_raw_fd()))
        .collect::<Vec<_>>()
        .join(",");
    cmd.env(LISTEN_ENV, spec);
    let mut fds: Vec<BorrowedFd<'_>> = sockets.0.iter().map(|(_, f)| f.as_fd()).collect();
    if let Some((var, fd)) = extra {
        cmd.env(var, fd.as_raw_fd().to_string());
        fds.push(fd);
    }
    for fd in &fds {
        set_cloexec(*fd, false)?;
    }
    let spawned = cmd.spawn().map_err(io("cannot start the server"));
    for fd in &fds {
        set_cloexec(*fd, true)?;
    }
    spawned
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::IntoRawFd;

    fn open(fd: RawFd) -> bool {
        std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok()
    }

    #[test]
    fn only_open_listening_sockets_named_once_are_taken() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let fd = listener.into_raw_fd();
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let stream_fd = a.as_raw_fd();
        let file = std::fs::File::open("/proc/self/status").unwrap();

        for (spec, why) in [
            ("https:1".to_string(), "a standard descriptor"),
            ("https:99999".to_string(), "not open"),
            (format!("https:{}", file.as_raw_fd()), "not a socket"),
            (
                format!("https:{stream_fd}"),
                "a socket that does not listen",
            ),
            (format!("ftp:{fd}"), "an unknown name"),
            (format!("https:x{fd}"), "not a number"),
            (format!("https{fd}"), "no name"),
        ] {
            assert!(from_spec(&spec).is_err(), "{spec} ({why}) was taken");
        }
        // A refused descriptor is left open for whoever owns it.
        assert!(open(stream_fd) && open(file.as_raw_fd()) && open(fd));

        let mut named = from_spec(&format!("https:{fd}")).unwrap();
        assert_eq!(named.names(), vec![HTTPS]);
        let taken = named.take(HTTPS).unwrap().unwrap();
        assert_eq!(taken.local_addr().unwrap(), addr);
        assert!(named.is_empty());

        // The same number twice is refused (it would be closed twice).
        let other = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .into_raw_fd();
        assert!(from_spec(&format!("https:{other},redirect:{other}")).is_err());
    }
}
