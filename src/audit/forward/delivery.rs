//! The background task: takes events off the bounded queue, renders and frames them, and
//! delivers them with one resend and exponential backoff; keeps the counters callers read.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::ForwardEvent;
use super::rfc5424::{format_rfc5424, frame, is_unsafe_char, truncate_utf8};
use super::transport::{Conn, Target, connect, next_while_connected, write_frame};

const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// A write that failed is resent at most this many times.
const MAX_RESENDS: u32 = 1;
const MAX_ERROR_LEN: usize = 300;

#[derive(Default)]
pub(super) struct Shared {
    pub(super) sent: AtomicU64,
    pub(super) dropped: AtomicU64,
    /// Accepted, not yet delivered or dropped; includes the event the task holds.
    pub(super) queued: AtomicUsize,
    pub(super) connected: AtomicBool,
    pub(super) last_error: Mutex<Option<String>>,
}

impl Shared {
    pub(super) fn record_error(&self, msg: &str) {
        let clean: String = truncate_utf8(msg, MAX_ERROR_LEN)
            .chars()
            .map(|c| if is_unsafe_char(c) { ' ' } else { c })
            .collect();
        // Nothing panics while holding this lock, but a poisoned value is still usable.
        let mut guard = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        *guard = Some(clean);
    }

    pub(super) fn finish_one(&self, delivered: bool) {
        if delivered {
            self.sent.fetch_add(1, Ordering::Relaxed);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Pending {
    frame: Vec<u8>,
    failed_writes: u32,
}

/// The background task for a real collector.
pub(super) async fn run(t: Target, rx: mpsc::Receiver<ForwardEvent>, shared: Arc<Shared>) {
    let render = |e: &ForwardEvent| format_rfc5424(e, &t.app_name, &t.hostname, t.pid);
    drive(|| connect(&t), render, rx, shared).await;
}

/// The delivery loop, independent of how connections are made so that the resend and
/// drop rules can be tested with scripted connections. It ends when the channel is
/// closed and drained, or is aborted by `shutdown`/`Drop`; every pass either takes an
/// event, delivers or drops one, or sleeps at least INITIAL_BACKOFF.
async fn drive<C, F>(
    mut connect: C,
    render: impl Fn(&ForwardEvent) -> String,
    mut rx: mpsc::Receiver<ForwardEvent>,
    shared: Arc<Shared>,
) where
    C: FnMut() -> F,
    F: Future<Output = Result<Conn, String>>,
{
    let mut conn: Option<Conn> = None;
    let mut pending: Option<Pending> = None;
    let mut backoff = INITIAL_BACKOFF;
    loop {
        let Some(p) = pending.as_mut() else {
            let next = match conn.as_mut() {
                Some(c) => next_while_connected(&mut rx, c).await,
                None => Ok(rx.recv().await),
            };
            match next {
                Ok(Some(e)) => {
                    pending = Some(Pending {
                        frame: frame(&render(&e)),
                        failed_writes: 0,
                    });
                }
                Ok(None) => break,
                Err(why) => {
                    shared.record_error(&why);
                    shared.connected.store(false, Ordering::Relaxed);
                    conn = None;
                }
            }
            continue;
        };
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match connect().await {
                Ok(c) => {
                    shared.connected.store(true, Ordering::Relaxed);
                    conn.insert(c)
                }
                Err(why) => {
                    // The event keeps its place: nothing of it was sent.
                    shared.record_error(&why);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            },
        };
        match write_frame(c, &p.frame).await {
            Ok(()) => {
                pending = None;
                shared.finish_one(true);
                backoff = INITIAL_BACKOFF;
            }
            Err(why) => {
                shared.record_error(&why);
                shared.connected.store(false, Ordering::Relaxed);
                conn = None;
                p.failed_writes += 1;
                if p.failed_writes > MAX_RESENDS {
                    pending = None;
                    shared.finish_one(false);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    if let Some(mut c) = conn {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, c.shutdown()).await;
    }
    shared.connected.store(false, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::forward::ForwarderStats;
    use crate::audit::forward::test_support::{event, read_frames};
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

    /// A connection whose writes always fail, as after a reset mid-write.
    struct BrokenConn;

    impl AsyncRead for BrokenConn {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Pending
        }
    }

    impl AsyncWrite for BrokenConn {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// Runs `drive` over scripted connections (`true` = healthy in-memory pipe,
    /// `false` = broken) until the given events are handled; returns the stats, the
    /// frames the healthy connections carried and how many connections were made.
    async fn drive_scripted(
        script: &[bool],
        events: Vec<ForwardEvent>,
    ) -> (ForwarderStats, Vec<String>, usize) {
        let conns: Vec<(Conn, Option<tokio::io::DuplexStream>)> = script
            .iter()
            .map(|&good| -> (Conn, Option<tokio::io::DuplexStream>) {
                if good {
                    let (ours, theirs) = tokio::io::duplex(64 * 1024);
                    (Box::new(ours), Some(theirs))
                } else {
                    (Box::new(BrokenConn), None)
                }
            })
            .collect();
        let mut peers = Vec::new();
        let mut ours = std::collections::VecDeque::new();
        for (c, peer) in conns {
            ours.push_back(c);
            peers.extend(peer);
        }
        let ours = Arc::new(Mutex::new(ours));
        let made = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel(16);
        let shared = Arc::new(Shared::default());
        let n = events.len();
        for e in events {
            shared.queued.fetch_add(1, Ordering::AcqRel);
            tx.try_send(e).unwrap();
        }
        drop(tx);
        let connect = {
            let (ours, made) = (Arc::clone(&ours), Arc::clone(&made));
            move || {
                made.fetch_add(1, Ordering::Relaxed);
                let next = ours.lock().unwrap().pop_front();
                async move { next.ok_or_else(|| "script exhausted".to_string()) }
            }
        };
        let render = |e: &ForwardEvent| format!("id={}", e.id);
        tokio::time::timeout(
            Duration::from_secs(600),
            drive(connect, render, rx, Arc::clone(&shared)),
        )
        .await
        .unwrap();
        let mut frames = Vec::new();
        for mut peer in peers {
            let mut raw = Vec::new();
            peer.read_to_end(&mut raw).await.unwrap();
            let mut rest = &raw[..];
            while !rest.is_empty() && frames.len() < n {
                let got = read_frames(rest, 1).await.pop().unwrap();
                let used = got.len().to_string().len() + 1 + got.len();
                rest = &rest[used..];
                frames.push(got);
            }
        }
        let stats = ForwarderStats {
            sent: shared.sent.load(Ordering::Relaxed),
            dropped: shared.dropped.load(Ordering::Relaxed),
            connected: shared.connected.load(Ordering::Relaxed),
            last_error: shared.last_error.lock().unwrap().clone(),
        };
        assert_eq!(shared.queued.load(Ordering::Relaxed), 0);
        (stats, frames, made.load(Ordering::Relaxed))
    }

    #[tokio::test(start_paused = true)]
    async fn failed_write_is_resent_once() {
        let events = vec![event(1, "login", "success"), event(2, "login", "success")];
        let (s, frames, made) = drive_scripted(&[false, true], events).await;
        assert_eq!(frames, ["id=1", "id=2"]);
        assert_eq!((s.sent, s.dropped, made), (2, 0, 2));
        assert!(s.last_error.unwrap().contains("write failed"));
    }

    #[tokio::test(start_paused = true)]
    async fn event_failing_twice_is_dropped() {
        let events = vec![event(1, "login", "success"), event(2, "login", "success")];
        let (s, frames, made) = drive_scripted(&[false, false, true], events).await;
        assert_eq!(frames, ["id=2"]);
        assert_eq!((s.sent, s.dropped, made), (1, 1, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn connect_failures_do_not_consume_the_resend() {
        // One broken connection uses up the resend; every later connect fails. Waiting for
        // a connection must not drop the event. The timeout below ends the test.
        let (tx, rx) = mpsc::channel(4);
        let shared = Arc::new(Shared::default());
        shared.queued.fetch_add(1, Ordering::AcqRel);
        tx.try_send(event(1, "login", "success")).unwrap();
        let mut script = std::collections::VecDeque::from([false]);
        let connect = move || {
            let next: Option<Conn> = script.pop_front().map(|_| Box::new(BrokenConn) as Conn);
            async move { next.ok_or_else(|| "connection refused".to_string()) }
        };
        let task = drive(connect, |e| format!("id={}", e.id), rx, Arc::clone(&shared));
        // Twenty minutes of virtual time: far more than the backoff cap.
        assert!(
            tokio::time::timeout(Duration::from_secs(1200), task)
                .await
                .is_err()
        );
        assert_eq!(shared.dropped.load(Ordering::Relaxed), 0);
        assert_eq!(shared.queued.load(Ordering::Relaxed), 1);
        drop(tx);
    }
}
