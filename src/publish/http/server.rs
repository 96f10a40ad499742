//! The accept loop and the life of one connection: at most `limit` connections at once (a
//! connection beyond is closed at once and counted), each closed when its phase's deadline passes
//! ([`super::deadline`]), and on shutdown each finishes its response or is closed by the shutdown
//! deadline. The limit sits below the process's fd budget so a flood of clients cannot take the
//! sockets polling needs ([`connection_limit`]).

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use super::deadline::{Phases, Timeouts, WatchedBody, WatchedIo};
use super::stats::{Deadline, HttpStats};
use crate::config;

/// Hyper's read and write buffer bound per connection: headers above it are refused, and a
/// streamed body is pulled only as the client reads.
const MAX_BUF: usize = 64 * 1024;

/// File descriptors kept for the daemon itself (leases file, NATS, state files, epoll, the
/// listener, the fd an accept that is refused needs) besides those of polling.
const DAEMON_FDS: u64 = 64;

/// What the listener holds each connection to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub timeouts: Timeouts,
    pub shutdown: Duration,
}

impl Limits {
    /// `[http]` with its connection limit lowered to fit `nofile` (the soft RLIMIT_NOFILE, `None`:
    /// unknown) after polling's share (`[poll]`, `[redfish]`).
    pub fn of(c: &config::Config, nofile: Option<u64>) -> Limits {
        let reserve = polling_fds(&c.poll, &c.redfish);
        Limits {
            max_connections: connection_limit(c.http.max_connections, nofile, reserve),
            timeouts: Timeouts {
                header_read: c.http.header_read_timeout,
                idle: c.http.idle_timeout,
                response: c.http.response_timeout,
            },
            shutdown: c.http.shutdown_timeout,
        }
    }
}

/// The fds polling may hold at once: each poll in flight with its Redfish connections, a UDP
/// socket and a resolver or TLS spare, and the daemon's own.
pub fn polling_fds(poll: &config::Poll, redfish: &config::Redfish) -> u64 {
    let per_poll = redfish.connections_per_bmc as u64 + 1;
    DAEMON_FDS + 2 * poll.concurrency as u64 * per_poll
}

/// The connection limit: the configured one, but at most half of what the fd budget leaves after
/// `reserve` (the other half stays for sessions and keep-alive connections to BMCs held between
/// polls), and at least 1.
pub fn connection_limit(configured: usize, nofile: Option<u64>, reserve: u64) -> usize {
    match nofile {
        Some(n) => {
            let budget = usize::try_from(n.saturating_sub(reserve) / 2).unwrap_or(usize::MAX);
            configured.min(budget).max(1)
        }
        None => configured,
    }
}

/// The soft limit of open files of this process (`None` if it cannot be read or is unlimited).
pub fn nofile_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit(2) writes one `rlimit` into the struct we own and pass by pointer.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// Serves `app` on `listener` until `cancel`; then stops accepting and returns once every
/// connection has finished or been closed (by `limits.shutdown` at the latest). With `tls`, each
/// connection's handshake must be done by its header deadline.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stats: Arc<HttpStats>,
    tls: Option<TlsAcceptor>,
    cancel: CancellationToken,
) {
    stats.set_limit(limits.max_connections);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and the like: wait a little instead of spinning on the error.
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    }
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            refuse(stream, peer, &stats, limits.max_connections);
            continue;
        };
        let _ = stream.set_nodelay(true);
        stats.opened();
        let conn = Connection {
            app: app.clone(),
            tls: tls.clone(),
            limits,
            stats: stats.clone(),
            cancel: cancel.clone(),
            _permit: permit,
        };
        connections.spawn(conn.run(stream, peer));
    }
    drop(listener);
    connections.close();
    // Each connection ends by its own shutdown deadline; this only guards against a bug there.
    let guard = limits.shutdown + Duration::from_secs(1);
    if tokio::time::timeout(guard, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "http connections still open after the shutdown deadline; leaving them"
        );
    }
}

fn refuse(stream: TcpStream, peer: std::net::SocketAddr, stats: &HttpStats, limit: usize) {
    drop(stream);
    stats.refused();
    let total = stats.refused_total();
    // One line at the first refusal and at each doubling: a flood does not flood the journal.
    if total.is_power_of_two() {
        tracing::warn!(%peer, limit, refused_total = total, "http connection limit reached; closing new connections");
    } else {
        tracing::debug!(%peer, limit, "http connection refused");
    }
}

/// One accepted connection and what it needs.
struct Connection {
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    stats: Arc<HttpStats>,
    cancel: CancellationToken,
    /// Held while the connection is open.
    _permit: OwnedSemaphorePermit,
}

/// How a connection ended.
enum End {
    Closed(Result<(), hyper::Error>),
    /// The TLS handshake failed (a plain-HTTP client, an untrusted certificate).
    Handshake(std::io::Error),
    Deadline(Deadline),
}

impl Connection {
    async fn run(self, stream: TcpStream, peer: std::net::SocketAddr) {
        let phases = Phases::new(self.limits.timeouts, Instant::now());
        let end = match self.tls.clone() {
            None => self.serve_io(stream, &phases).await,
            Some(acceptor) => {
                let handshake = tokio::time::timeout_at(phases.deadline(), acceptor.accept(stream));
                tokio::select! {
                    _ = self.cancel.cancelled() => End::Deadline(Deadline::Shutdown),
                    done = handshake => match done {
                        Ok(Ok(tls)) => self.serve_io(tls, &phases).await,
                        Ok(Err(e)) => End::Handshake(e),
                        Err(_) => End::Deadline(Deadline::Header),
                    },
                }
            }
        };
        match end {
            End::Closed(Ok(())) => {}
            End::Closed(Err(e)) => tracing::debug!(%peer, error = %e, "http connection failed"),
            End::Handshake(e) => tracing::debug!(%peer, error = %e, "tls handshake failed"),
            End::Deadline(d) => {
                self.stats.timed_out(d);
                tracing::debug!(%peer, deadline = d.as_str(), "http connection closed at its deadline");
            }
        }
        self.stats.closed();
    }

    /// Serves HTTP/1.1 on `io` (TCP, or TLS over it) until it closes or a deadline passes.
    async fn serve_io<I>(&self, io: I, phases: &Arc<Phases>) -> End
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let phases = phases.clone();
        let svc_phases = phases.clone();
        let app = self.app.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            svc_phases.request(Instant::now());
            let phases = svc_phases.clone();
            let answer = app.clone().oneshot(req);
            async move {
                let response = answer.await?;
                Ok::<_, Infallible>(response.map(|b| WatchedBody::new(b, phases)))
            }
        });
        let io = TokioIo::new(WatchedIo::new(io, phases.clone()));
        let conn = hyper::server::conn::http1::Builder::new()
            .max_buf_size(MAX_BUF)
            .serve_connection(io, service);
        let mut conn = std::pin::pin!(conn);
        let mut sleep = std::pin::pin!(tokio::time::sleep_until(phases.deadline()));
        let mut cancelled = std::pin::pin!(self.cancel.cancelled());
        let mut stop_by: Option<Instant> = None;
        poll_fn(|cx| {
            if stop_by.is_none() && cancelled.as_mut().poll(cx).is_ready() {
                // Finish the response in flight, take no further request.
                conn.as_mut().graceful_shutdown();
                stop_by = Some(Instant::now() + self.limits.shutdown);
            }
            if let Poll::Ready(r) = conn.as_mut().poll(cx) {
                return Poll::Ready(End::Closed(r));
            }
            let due = phases.deadline();
            let at = stop_by.map_or(due, |s| s.min(due));
            if sleep.deadline() != at {
                sleep.as_mut().reset(at);
            }
            if sleep.as_mut().poll(cx).is_ready() {
                let which = match stop_by {
                    Some(s) if s <= due => Deadline::Shutdown,
                    _ => phases.kind(),
                };
                return Poll::Ready(End::Deadline(which));
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_leaves_polling_its_fds() {
        let c = config::Config::default();
        // 64 polls × (1 connection + 1) × 2 + 64 for the daemon.
        assert_eq!(polling_fds(&c.poll, &c.redfish), 320);
        // systemd's LimitNOFILE=65536: the configured limit holds.
        assert_eq!(connection_limit(512, Some(65_536), 320), 512);
        // A shell's 1024: half of what polling leaves.
        assert_eq!(connection_limit(512, Some(1024), 320), 352);
        // Less than polling needs: still one connection, for /healthz.
        assert_eq!(connection_limit(512, Some(256), 320), 1);
        assert_eq!(connection_limit(512, None, 320), 512);
    }

    #[test]
    fn the_fd_limit_of_this_process_is_read() {
        assert!(nofile_limit().is_some_and(|n| n > 0));
    }
}
