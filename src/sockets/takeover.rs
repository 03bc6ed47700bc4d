//! The line protocol between `update apply` and the server it starts to take over from the running
//! one, over a socket pair (`HOLDFAST_TAKEOVER_FD` in the new server):
//!
//! ```text
//! new → apply   schema <n>            the schema version it would migrate to; nothing opened yet
//! apply → new   open                  no schema change: open the instances beside the old server
//! new → apply   probe <addr> <boot>   ready; /readyz answers on the private loopback <addr>
//! apply → new   go                    the old server has exited: take the lock, accept, serve
//! ```
//!
//! Until `go` the new server accepts nothing on the shared sockets, writes nothing and runs no
//! job; if `apply` goes away (the pair closes) it exits. Readiness is told here, not by
//! `sd_notify`, so it never depends on the binaries differing or on systemd.

use super::{SocketsError, io};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// The descriptor number of the new server's end of the pair.
pub const ENV: &str = "HOLDFAST_TAKEOVER_FD";
/// A line longer than this is not one of ours.
const MAX_LINE: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Schema(i64),
    Open,
    Probe { addr: SocketAddr, boot: String },
    Go,
}

impl Msg {
    fn line(&self) -> String {
        match self {
            Msg::Schema(n) => format!("schema {n}\n"),
            Msg::Open => "open\n".into(),
            Msg::Probe { addr, boot } => format!("probe {addr} {boot}\n"),
            Msg::Go => "go\n".into(),
        }
    }

    fn parse(line: &str) -> Option<Msg> {
        let mut words = line.split_whitespace();
        let msg = match words.next()? {
            "schema" => Msg::Schema(words.next()?.parse().ok()?),
            "open" => Msg::Open,
            "probe" => Msg::Probe {
                addr: words.next()?.parse().ok()?,
                boot: words.next()?.to_string(),
            },
            "go" => Msg::Go,
            _ => return None,
        };
        words.next().is_none().then_some(msg)
    }
}

/// Why no message came.
#[derive(Debug, thiserror::Error)]
pub enum RecvError {
    #[error("the other side closed the hand-over channel")]
    Closed,
    #[error("no message within the time allowed")]
    TimedOut,
    #[error("not a hand-over message: {0:?}")]
    Bad(String),
    #[error("hand-over channel: {0}")]
    Io(#[source] std::io::Error),
}

/// One end of the channel.
pub struct Channel {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Channel {
    fn new(stream: UnixStream) -> Result<Channel, SocketsError> {
        let writer = stream.try_clone().map_err(io("hand-over channel"))?;
        Ok(Channel {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// `apply`'s end, and the descriptor to hand to the new server.
    pub fn pair() -> Result<(Channel, OwnedFd), SocketsError> {
        let (ours, theirs) = UnixStream::pair().map_err(io("hand-over channel"))?;
        Ok((Channel::new(ours)?, OwnedFd::from(theirs)))
    }

    /// The new server's end, when `apply` started it to take over.
    pub fn from_env() -> Result<Option<Channel>, SocketsError> {
        let Ok(v) = std::env::var(ENV) else {
            return Ok(None);
        };
        let bad = |reason: &str| SocketsError::Env {
            var: ENV,
            reason: reason.to_string(),
        };
        let fd: RawFd = v.parse().map_err(|_| bad("not a descriptor number"))?;
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .map_err(|_| bad("no such descriptor"))?;
        if fd < 3 || !link.to_string_lossy().starts_with("socket:") {
            return Err(bad("not a socket"));
        }
        // SAFETY: `update apply` handed this open socket (checked above) to this process to own;
        // it is wrapped once, here, at start-up, before anything else could use the number.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        nix::fcntl::fcntl(
            &owned,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .map_err(super::sys("hand-over channel"))?;
        Ok(Some(Channel::new(UnixStream::from(owned))?))
    }

    pub fn send(&mut self, msg: &Msg) -> Result<(), RecvError> {
        self.writer
            .write_all(msg.line().as_bytes())
            .map_err(RecvError::Io)
    }

    /// The next message, waiting at most `limit` (`None`: as long as it takes).
    pub fn recv(&mut self, limit: Option<Duration>) -> Result<Msg, RecvError> {
        let end = limit.map(|l| Instant::now() + l);
        let mut line = Vec::new();
        loop {
            let left = match end {
                Some(end) => {
                    let left = end.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(RecvError::TimedOut);
                    }
                    Some(left)
                }
                None => None,
            };
            self.reader
                .get_ref()
                .set_read_timeout(left)
                .map_err(RecvError::Io)?;
            match self.reader.read_until(b'\n', &mut line) {
                Ok(0) => return Err(RecvError::Closed),
                Ok(_) if line.ends_with(b"\n") => break,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RecvError::Io(e)),
            }
            if line.len() > MAX_LINE {
                return Err(RecvError::Bad(String::from_utf8_lossy(&line).into_owned()));
            }
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        Msg::parse(&text).ok_or(RecvError::Bad(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        let (mut a, theirs) = Channel::pair().unwrap();
        let mut b = Channel::new(UnixStream::from(theirs)).unwrap();
        let all = [
            Msg::Schema(14),
            Msg::Open,
            Msg::Probe {
                addr: "127.0.0.1:4431".parse().unwrap(),
                boot: "ab12".into(),
            },
            Msg::Go,
        ];
        for m in &all {
            a.send(m).unwrap();
            assert_eq!(&b.recv(Some(Duration::from_secs(5))).unwrap(), m);
        }
        assert!(matches!(
            b.recv(Some(Duration::from_millis(50))),
            Err(RecvError::TimedOut)
        ));
        a.writer.write_all(b"go now\n").unwrap();
        assert!(matches!(b.recv(None), Err(RecvError::Bad(_))));
        drop(a);
        assert!(matches!(b.recv(None), Err(RecvError::Closed)));
    }
}
