//! One connection's deadline, as its phase moves: waiting for a request's headers (a new
//! connection, or bytes of the next request arrived), answering (from the service call until the
//! response's last byte is handed to the kernel), idle (keep-alive, no request). [`Phases`] holds the
//! phase and its deadline; [`WatchedIo`] and [`WatchedBody`] move it as bytes flow, and the server
//! closes the connection when the deadline passes. Hyper's own timers are not used: its
//! header-read timeout cannot tell an idle keep-alive connection from a slow request, and it has no
//! deadline for a client that does not read.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::stats::Deadline;

/// The timeouts of `[http]`.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
    pub response: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No request in flight and no byte of the next one.
    Idle,
    /// Bytes of a request arrived, its headers are not complete (or a new connection).
    Head,
    /// A request is being answered; `body_done` once the response body has been handed to hyper.
    Respond { body_done: bool },
}

#[derive(Debug)]
struct State {
    phase: Phase,
    deadline: Instant,
}

/// The phase of one connection and when it must end.
#[derive(Debug)]
pub struct Phases {
    timeouts: Timeouts,
    state: Mutex<State>,
}

impl Phases {
    /// A new connection: its first request's headers are due within the header-read timeout.
    pub fn new(timeouts: Timeouts, now: Instant) -> Arc<Phases> {
        Arc::new(Phases {
            timeouts,
            state: Mutex::new(State {
                phase: Phase::Head,
                deadline: now + timeouts.header_read,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the current phase must be over.
    pub fn deadline(&self) -> Instant {
        self.state().deadline
    }

    /// Which deadline applies now (for the metric and the log when it passes).
    pub fn kind(&self) -> Deadline {
        match self.state().phase {
            Phase::Idle => Deadline::Idle,
            Phase::Head => Deadline::Header,
            Phase::Respond { .. } => Deadline::Response,
        }
    }

    /// Bytes arrived from the client: an idle connection starts a request.
    fn received(&self, now: Instant) {
        let mut s = self.state();
        if s.phase == Phase::Idle {
            s.phase = Phase::Head;
            s.deadline = now + self.timeouts.header_read;
        }
    }

    /// The request's headers are complete and the service called.
    pub fn request(&self, now: Instant) {
        let mut s = self.state();
        s.phase = Phase::Respond { body_done: false };
        s.deadline = now + self.timeouts.response;
    }

    fn body_done(&self) {
        let mut s = self.state();
        if let Phase::Respond { .. } = s.phase {
            s.phase = Phase::Respond { body_done: true };
        }
    }

    /// Hyper flushed its buffer to the kernel: a finished response makes the connection idle.
    fn flushed(&self, now: Instant) {
        let mut s = self.state();
        if s.phase == (Phase::Respond { body_done: true }) {
            s.phase = Phase::Idle;
            s.deadline = now + self.timeouts.idle;
        }
    }
}

/// The connection's socket, telling [`Phases`] of bytes read and of flushes (the server's timer
/// closes the connection when the deadline passes, whatever hyper waits on).
pub struct WatchedIo<T> {
    inner: T,
    phases: Arc<Phases>,
}

impl<T> WatchedIo<T> {
    pub fn new(inner: T, phases: Arc<Phases>) -> Self {
        WatchedIo { inner, phases }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled
            && buf.filled().len() > before
        {
            self.phases.received(Instant::now());
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        // Vectored writes let hyper queue a shared `Bytes` body instead of copying it.
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        if let Poll::Ready(Ok(())) = polled {
            self.phases.flushed(Instant::now());
        }
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that tells [`Phases`] when hyper has taken its last frame.
pub struct WatchedBody<B> {
    inner: B,
    phases: Arc<Phases>,
}

impl<B> WatchedBody<B> {
    pub fn new(inner: B, phases: Arc<Phases>) -> Self {
        WatchedBody { inner, phases }
    }
}

impl<B> Body for WatchedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.phases.body_done();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for WatchedBody<B> {
    fn drop(&mut self) {
        // Hyper drops a body it knows to be complete (`is_end_stream`) without polling it to the end.
        self.phases.body_done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeouts() -> Timeouts {
        Timeouts {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(90),
            response: Duration::from_secs(30),
        }
    }

    #[test]
    fn phases_move_with_the_request() {
        let t0 = Instant::now();
        let p = Phases::new(timeouts(), t0);
        assert_eq!(p.kind(), Deadline::Header);
        assert_eq!(p.deadline(), t0 + Duration::from_secs(10));
        let t1 = t0 + Duration::from_secs(1);
        p.request(t1);
        assert_eq!(p.kind(), Deadline::Response);
        assert_eq!(p.deadline(), t1 + Duration::from_secs(30));
        // A flush before the body is done does not end the response.
        p.flushed(t1);
        assert_eq!(p.kind(), Deadline::Response);
        p.body_done();
        let t2 = t1 + Duration::from_secs(2);
        p.flushed(t2);
        assert_eq!(p.kind(), Deadline::Idle);
        assert_eq!(p.deadline(), t2 + Duration::from_secs(90));
        // The next request's first bytes: its headers are due within the header-read timeout.
        let t3 = t2 + Duration::from_secs(50);
        p.received(t3);
        assert_eq!(p.kind(), Deadline::Header);
        assert_eq!(p.deadline(), t3 + Duration::from_secs(10));
        // More bytes of the same headers do not move the deadline (slowloris).
        p.received(t3 + Duration::from_secs(5));
        assert_eq!(p.deadline(), t3 + Duration::from_secs(10));
    }
}
