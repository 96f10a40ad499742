//! The listener's self-metrics ([`HttpStats`]): connections open, the bound they are held to, those
//! refused beyond it, and those cut off by a deadline. The server writes them; `/metrics` reads them.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Which deadline closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// The request's headers did not arrive in time (or a new connection sent nothing).
    Header,
    /// A keep-alive connection sat without a request.
    Idle,
    /// The response was not written (read by the client) in time.
    Response,
    /// The daemon was stopping and the connection was still busy.
    Shutdown,
}

impl Deadline {
    pub const ALL: [Deadline; 4] = [
        Deadline::Header,
        Deadline::Idle,
        Deadline::Response,
        Deadline::Shutdown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Deadline::Header => "header",
            Deadline::Idle => "idle",
            Deadline::Response => "response",
            Deadline::Shutdown => "shutdown",
        }
    }
}

/// The HTTP listener's self-metrics.
#[derive(Debug, Default)]
pub struct HttpStats {
    open: Gauge,
    limit: Gauge,
    refused: Counter,
    timeouts: Family<Labels, Counter>,
}

impl HttpStats {
    pub fn register(&self, r: &mut Registry) {
        // Every deadline is listed from the start, at 0, so a scrape shows each one.
        for d in Deadline::ALL {
            drop(
                self.timeouts
                    .get_or_create(&vec![("deadline", d.as_str().to_string())]),
            );
        }
        r.register(
            "bmc_catcher_http_connections",
            "HTTP connections open now",
            self.open.clone(),
        );
        r.register(
            "bmc_catcher_http_connections_limit",
            "HTTP connections allowed at once ([http] max-connections, lowered to fit the fd limit)",
            self.limit.clone(),
        );
        r.register(
            "bmc_catcher_http_connections_refused",
            "HTTP connections closed at once because the limit was reached",
            self.refused.clone(),
        );
        r.register(
            "bmc_catcher_http_timeouts",
            "HTTP connections closed by a deadline, by deadline (header, idle, response, shutdown)",
            self.timeouts.clone(),
        );
    }

    pub fn set_limit(&self, n: usize) {
        self.limit.set(n as i64);
    }

    pub fn opened(&self) {
        self.open.inc();
    }

    pub fn closed(&self) {
        self.open.dec();
    }

    pub fn refused(&self) {
        self.refused.inc();
    }

    pub fn timed_out(&self, d: Deadline) {
        self.timeouts
            .get_or_create(&vec![("deadline", d.as_str().to_string())])
            .inc();
    }

    /// Connections refused since start (for tests and logs).
    pub fn refused_total(&self) -> u64 {
        self.refused.get()
    }

    /// Connections open now.
    pub fn open_now(&self) -> i64 {
        self.open.get()
    }
}
