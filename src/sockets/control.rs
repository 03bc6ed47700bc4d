//! A running server's control socket (`<data dir>/serve.sock`, 0600): a process of the same user
//! (or root) asks for the listening sockets and receives them (`SCM_RIGHTS`), as nginx's binary
//! upgrade hands its listeners to the new master. `update apply` holds them while one server
//! hands over to the next, so that the sockets never close. Under systemd, `update apply` asks the
//! server to park instead (`park`): it stops serving and lets go of the data dir, but its process
//! stays the service's main process, so that holdfast.socket cannot start the service again while
//! the update installs and snapshots (docs/updating.md); and for an update that changes no schema,
//! the running service starts the next version itself (`spawn`), so that it runs inside the
//! service, and hands the service over to it (`handover`: systemd's `MAINPID=`).

use super::{Named, SocketsError, io, sys};
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, getsockopt, recvmsg, sendmsg, sockopt,
};
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

/// The control socket's file name in the data dir.
pub const FILE: &str = "serve.sock";
const CAPS: &str = "caps";
const LISTENERS: &str = "listeners";
const PARK: &str = "park";
const PARKING: &str = "parking";
const SPAWN: &str = "spawn";
const SPAWNED: &str = "spawned";
const HANDOVER: &str = "handover";
const HANDING_OVER: &str = "handing over";
/// What `caps` answers: every request this version understands.
const ALL_CAPS: &str = "listeners park spawn handover";
/// A request is one short line.
const MAX_REQUEST: usize = 32;
/// At most this many sockets are handed over (HTTPS, redirect, metrics).
const MAX_FDS: usize = 8;
const TIMEOUT: Duration = Duration::from_secs(5);

/// What the server does when asked over its control socket (`cli/serve.rs`).
pub trait Server: Send {
    /// `park`: stop serving, let go of the data-dir lock, stay alive until SIGTERM. Whether it will.
    fn park(&self) -> bool;
    /// `spawn`: start the installed binary as this process's child (so, under systemd, inside the
    /// service), on `sockets`, with `channel` as its end of the hand-over channel that `update
    /// apply` drives (`sockets::takeover`). Its PID.
    fn spawn(&self, sockets: &Named, channel: OwnedFd) -> Result<u32, SocketsError>;
    /// `handover <pid>`: make `pid` (the child `spawn` started) the service's main process, then
    /// stop serving and exit. Whether it will.
    fn hand_over(&self, pid: u32) -> bool;
}

/// Answers requests on `path` with `sockets` (and the rest through `server`), on a thread of its
/// own, until the process exits. Only a peer running as this process's user (or root) is
/// answered: anyone holding the HTTPS socket could accept the appliance's connections, or stop
/// the service.
pub fn serve(path: &Path, sockets: Named, server: Box<dyn Server>) -> Result<(), SocketsError> {
    let what = || format!("control socket {}", path.display());
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(what())(e)),
    }
    let listener = UnixListener::bind(path).map_err(io(what()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io(what()))?;
    std::thread::Builder::new()
        .name("serve-control".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                if let Err(e) = answer(conn, &sockets, server.as_ref()) {
                    tracing::warn!(error = %e, "control socket request not answered");
                }
            }
        })
        .map_err(io(what()))?;
    Ok(())
}

fn answer(mut conn: UnixStream, sockets: &Named, server: &dyn Server) -> Result<(), SocketsError> {
    conn.set_read_timeout(Some(TIMEOUT))
        .map_err(io("control socket"))?;
    let peer = getsockopt(&conn, sockopt::PeerCredentials).map_err(sys("peer credentials"))?;
    let me = nix::unistd::geteuid().as_raw();
    if peer.uid() != me && peer.uid() != 0 {
        return Err(SocketsError::BadAnswer(format!(
            "request from uid {} refused",
            peer.uid()
        )));
    }
    let (req, mut fds) = read_request(&conn)?;
    let mut words = req.split(' ');
    let reply = match (words.next().unwrap_or(""), words.next(), words.next()) {
        (CAPS, None, None) => ALL_CAPS.to_string(),
        (LISTENERS, None, None) => return send_sockets(&conn, sockets),
        (PARK, None, None) => {
            if server.park() {
                PARKING.into()
            } else {
                "refused".into()
            }
        }
        (SPAWN, None, None) if fds.len() == 1 => match fds.pop() {
            Some(channel) => match server.spawn(sockets, channel) {
                Ok(pid) => format!("{SPAWNED} {pid}"),
                Err(e) => {
                    tracing::warn!(error = %e, "the next version could not be started");
                    "refused".into()
                }
            },
            None => "refused".into(),
        },
        (HANDOVER, Some(pid), None) => match pid.parse::<u32>() {
            Ok(pid) if server.hand_over(pid) => HANDING_OVER.into(),
            _ => "refused".into(),
        },
        _ => return Err(SocketsError::BadAnswer(req)),
    };
    conn.write_all(format!("{reply}\n").as_bytes())
        .map_err(io("control answer"))
}

fn send_sockets(conn: &UnixStream, sockets: &Named) -> Result<(), SocketsError> {
    let names = format!("{}\n", sockets.names().join(","));
    let fds = sockets.raw();
    sendmsg::<()>(
        conn.as_raw_fd(),
        &[IoSlice::new(names.as_bytes())],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(sys("sending the sockets"))?;
    Ok(())
}

/// One request line, without its newline, and the descriptors that came with it (at most one);
/// a longer line is refused unread.
fn read_request(conn: &UnixStream) -> Result<(String, Vec<OwnedFd>), SocketsError> {
    let mut line = Vec::new();
    let mut fds = Vec::new();
    loop {
        let mut buf = [0u8; MAX_REQUEST + 1];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(sys("control request"))?;
        for c in msg.cmsgs().map_err(sys("control request"))? {
            if let ControlMessageOwned::ScmRights(raw) = c {
                for fd in raw {
                    // SAFETY: SCM_RIGHTS just installed this descriptor in our table for us
                    // alone; it is wrapped once, here, and closed when dropped.
                    fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        let n = msg.bytes;
        if n == 0 {
            return Err(SocketsError::BadAnswer(
                "the control request ended early".into(),
            ));
        }
        line.extend_from_slice(&buf[..n]);
        if let Some(end) = line.iter().position(|b| *b == b'\n') {
            if end + 1 != line.len() || fds.len() > 1 {
                return Err(SocketsError::BadAnswer(
                    String::from_utf8_lossy(&line).into_owned(),
                ));
            }
            line.truncate(end);
            return Ok((String::from_utf8_lossy(&line).into_owned(), fds));
        }
        if line.len() > MAX_REQUEST {
            return Err(SocketsError::BadAnswer(
                String::from_utf8_lossy(&line).into_owned(),
            ));
        }
    }
}

fn connect(path: &Path) -> Result<Option<UnixStream>, SocketsError> {
    let conn = match UnixStream::connect(path) {
        Ok(c) => c,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(io(format!("control socket {}", path.display()))(e)),
    };
    conn.set_read_timeout(Some(TIMEOUT))
        .map_err(io("control socket"))?;
    Ok(Some(conn))
}

/// Sends `request` (with `fd`, if any) and returns the one-line answer without its newline;
/// `None` when no server answers at `path`. A server that does not know the request closes the
/// connection (or lets it time out): an empty answer.
fn ask(
    path: &Path,
    request: &str,
    fd: Option<BorrowedFd<'_>>,
) -> Result<Option<String>, SocketsError> {
    let Some(conn) = connect(path)? else {
        return Ok(None);
    };
    let line = format!("{request}\n");
    let raw: Vec<RawFd> = fd.iter().map(|f| f.as_raw_fd()).collect();
    let cmsgs: Vec<ControlMessage<'_>> = if raw.is_empty() {
        Vec::new()
    } else {
        vec![ControlMessage::ScmRights(&raw)]
    };
    sendmsg::<()>(
        conn.as_raw_fd(),
        &[IoSlice::new(line.as_bytes())],
        &cmsgs,
        MsgFlags::empty(),
        None,
    )
    .map_err(sys("control request"))?;
    let mut answer = String::new();
    let _ = (&conn).take(128).read_to_string(&mut answer);
    Ok(Some(answer.trim_end_matches('\n').to_string()))
}

/// The requests the server at `path` understands (empty: none answers, or a version before `caps`).
pub fn caps(path: &Path) -> Result<Vec<String>, SocketsError> {
    Ok(ask(path, CAPS, None)?
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

/// Asks the server at `path` to park; `false` when no server answers there or it will not (a
/// version without parking, or one already stopping).
pub fn park(path: &Path) -> Result<bool, SocketsError> {
    Ok(ask(path, PARK, None)?.is_some_and(|a| a == PARKING))
}

/// Asks the server at `path` to start the installed binary in its place, with `channel` (the new
/// server's end of the hand-over channel); the new server's PID, `None` when refused.
pub fn spawn(path: &Path, channel: BorrowedFd<'_>) -> Result<Option<u32>, SocketsError> {
    let answer = ask(path, SPAWN, Some(channel))?.unwrap_or_default();
    Ok(answer
        .strip_prefix(SPAWNED)
        .and_then(|pid| pid.trim().parse().ok()))
}

/// Asks the server at `path` to make `pid` the service's main process and stop; whether it will.
pub fn hand_over(path: &Path, pid: u32) -> Result<bool, SocketsError> {
    Ok(ask(path, &format!("{HANDOVER} {pid}"), None)?.is_some_and(|a| a == HANDING_OVER))
}

/// The listening sockets of the server whose control socket is `path`; `None` when no server
/// answers there (a version without hand-over, or none running).
pub fn fetch(path: &Path) -> Result<Option<Named>, SocketsError> {
    let Some(mut conn) = connect(path)? else {
        return Ok(None);
    };
    conn.write_all(format!("{LISTENERS}\n").as_bytes())
        .map_err(io("control request"))?;
    let mut buf = [0u8; 256];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(sys("receiving the sockets"))?;
    let mut fds: Vec<OwnedFd> = Vec::new();
    for c in msg.cmsgs().map_err(sys("receiving the sockets"))? {
        if let ControlMessageOwned::ScmRights(raw) = c {
            for fd in raw {
                // SAFETY: SCM_RIGHTS just installed this descriptor in our table for us alone;
                // it is wrapped once, here, and closed when dropped.
                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    let n = msg.bytes;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    let names: Vec<&str> = text
        .trim_end()
        .split(',')
        .filter(|s| !s.is_empty())
        .collect();
    if names.len() != fds.len() || !text.ends_with('\n') {
        return Err(SocketsError::BadAnswer(text));
    }
    let mut out = Named::default();
    for (name, fd) in names.into_iter().zip(fds) {
        out.push(name, fd);
    }
    Ok(Some(out))
}
