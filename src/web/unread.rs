//! The part of a request body nobody read, read to its end before the answer goes out.
//!
//! Whoever answers may do so without reading the body: the router (no such path, no such method),
//! the guard (a refusal), an extractor that refuses the path before the JSON is read, a handler
//! that finds no record. An HTTP/1.1 connection can only carry the next request once the body is
//! read, so hyper then closed it right after the answer, without saying so: a client still
//! sending the body saw a reset instead of the answer, and one that sent its next request on the
//! connection met a closed one (schemathesis: "EOF occurred in violation of protocol"). The
//! server wraps every HTTP/1.1 body in [`Tracked`]; when it is dropped unfinished, the rest comes
//! back through [`Unread`] and is read (bounded in bytes and time) before the answer; when it
//! cannot be, the answer says `Connection: close`.

use axum::body::{Body, Bytes};
use http_body::{Body as _, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// A body left unread up to this size is read and dropped before the answer; a larger one is
/// not read, and the connection closes after the answer.
pub const DRAIN_MAX_BYTES: u64 = 1024 * 1024;
/// How long reading the rest may take: a client that sends slowly does not hold the answer.
const DRAIN_PATIENCE: Duration = Duration::from_secs(5);

/// The body length a request declares (`Content-Length`), if it declares one that parses.
pub fn declared_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Reads and drops `rest` if the request declared at most [`DRAIN_MAX_BYTES`] (or no length) and
/// it arrives within [`DRAIN_PATIENCE`]. True when it was read to its end, so that the connection
/// can carry the client's next request.
pub async fn drain(declared: Option<u64>, rest: Body) -> bool {
    if declared.is_some_and(|n| n > DRAIN_MAX_BYTES) {
        return false;
    }
    let read = axum::body::to_bytes(rest, DRAIN_MAX_BYTES as usize);
    matches!(tokio::time::timeout(DRAIN_PATIENCE, read).await, Ok(Ok(_)))
}

/// Where an unfinished body goes when its reader drops it.
#[derive(Clone, Default)]
pub struct Unread(Arc<Mutex<Option<Body>>>);

impl Unread {
    /// `body` wrapped so that, dropped before its end, it comes back here.
    pub fn track(&self, body: Body) -> Body {
        Body::new(Tracked {
            inner: Some(body),
            finished: false,
            unread: self.clone(),
        })
    }

    /// The unfinished rest of the body, if the handler left one.
    pub fn take(&self) -> Option<Body> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

struct Tracked {
    inner: Option<Body>,
    finished: bool,
    unread: Unread,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if let Poll::Ready(None | Some(Err(_))) = &polled {
            // At the end, or broken (the client went away): nothing left to read.
            this.finished = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map(|b| b.size_hint())
            .unwrap_or_else(|| SizeHint::with_exact(0))
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if let Some(body) = self.inner.take()
            && !body.is_end_stream()
            && let Ok(mut slot) = self.unread.0.lock()
        {
            *slot = Some(body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_body_dropped_unread_comes_back_and_a_read_one_does_not() {
        let unread = Unread::default();
        drop(unread.track(Body::from("never read")));
        let rest = unread.take().expect("the unread body");
        assert_eq!(rest.collect().await.unwrap().to_bytes(), "never read");

        let read = unread.track(Body::from("read to its end"));
        let bytes = read.collect().await.unwrap().to_bytes();
        assert_eq!(bytes, "read to its end");
        assert!(unread.take().is_none());

        drop(unread.track(Body::empty()));
        assert!(unread.take().is_none());
    }
}
