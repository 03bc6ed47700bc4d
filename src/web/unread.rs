//! The part of a request body a handler left unread, read to its end before the answer goes out.
//!
//! A handler may answer without reading the body: an extractor refuses the path before the JSON
//! is read, a record is not found. The server must then close the connection, and a client still
//! sending its body sees a reset instead of the answer (schemathesis saw "EOF occurred in violation
//! of protocol" on `POST /api/v1/projects/{id}/comments` with an id that did not fit). The guard
//! wraps every body in [`Tracked`]; when the handler drops it unfinished, the rest comes back
//! through [`Unread`] and the guard reads it (bounded in bytes and time) before answering.

use axum::body::{Body, Bytes};
use http_body::{Body as _, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

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
            // At the end, or broken (too large, the client went away): nothing left to read.
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
