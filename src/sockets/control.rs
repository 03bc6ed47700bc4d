//! A running server's control socket (`<data dir>/serve.sock`, 0600): a process of the same user
//! (or root) asks for the listening sockets and receives them (`SCM_RIGHTS`), as nginx's binary
//! upgrade hands its listeners to the new master. `update apply` holds them while one server
//! hands over to the next, so that the sockets never close.

use super::{Named, SocketsError, io, sys};
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, getsockopt, recvmsg, sendmsg, sockopt,
};
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

/// The control socket's file name in the data dir.
pub const FILE: &str = "serve.sock";
const REQUEST: &[u8] = b"listeners\n";
/// At most this many sockets are handed over (HTTPS, redirect, metrics).
const MAX_FDS: usize = 8;
const TIMEOUT: Duration = Duration::from_secs(5);

/// Answers requests on `path` with `sockets`, on a thread of its own, until the process exits.
/// Only a peer running as this process's user (or root) is answered: anyone holding the HTTPS
/// socket could accept the appliance's connections.
pub fn serve(path: &Path, sockets: Named) -> Result<(), SocketsError> {
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
                if let Err(e) = answer(conn, &sockets) {
                    tracing::warn!(error = %e, "control socket request not answered");
                }
            }
        })
        .map_err(io(what()))?;
    Ok(())
}

fn answer(mut conn: UnixStream, sockets: &Named) -> Result<(), SocketsError> {
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
    let mut req = [0u8; REQUEST.len()];
    conn.read_exact(&mut req).map_err(io("control request"))?;
    if req != REQUEST {
        return Err(SocketsError::BadAnswer(
            String::from_utf8_lossy(&req).into_owned(),
        ));
    }
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

/// The listening sockets of the server whose control socket is `path`; `None` when no server
/// answers there (a version without hand-over, or none running).
pub fn fetch(path: &Path) -> Result<Option<Named>, SocketsError> {
    let mut conn = match UnixStream::connect(path) {
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
    conn.write_all(REQUEST).map_err(io("control request"))?;
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
