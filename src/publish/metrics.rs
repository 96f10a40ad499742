//! Prometheus metrics. Per-BMC series are rendered at scrape time from the store by a `Collector`
//! (a BMC that vanishes from the store vanishes from `/metrics`, no cleanup); the poller's own
//! counters and histogram ([`PollStats`]) are ordinary registered metrics. Every metric is listed in
//! `docs/metrics.md`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::model::BmcSnapshot;
use crate::store::Store;

type Labels = Vec<(&'static str, String)>;

/// The poller's self-metrics.
#[derive(Debug)]
pub struct PollStats {
    polls: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    duration: Histogram,
    targets: Gauge,
    last_round_ms: AtomicI64,
    /// Per BMC, when its current or next poll must have finished (Unix ms): the watchdog's measure
    /// of progress.
    due: std::sync::Mutex<std::collections::BTreeMap<crate::model::MacAddr, i64>>,
}

impl Default for PollStats {
    fn default() -> Self {
        PollStats {
            polls: Family::default(),
            errors: Family::default(),
            duration: Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]),
            targets: Gauge::default(),
            last_round_ms: AtomicI64::new(0),
            due: std::sync::Mutex::new(std::collections::BTreeMap::new()),
        }
    }
}

impl PollStats {
    pub fn observe(&self, s: &BmcSnapshot) {
        let result = match (s.up, s.reading.first_error()) {
            (true, None) => "ok",
            (true, Some(_)) => "partial",
            (false, _) => "failed",
        };
        self.polls
            .get_or_create_owned(&vec![("result", result.to_string())])
            .inc();
        if let Some(e) = s.reading.first_error() {
            self.errors
                .get_or_create_owned(&vec![("kind", e.kind.to_string())])
                .inc();
        }
        self.duration.observe(s.duration_ms as f64 / 1000.0);
        self.last_round_ms.store(s.polled_at_ms, Ordering::Relaxed);
    }

    pub fn set_targets(&self, n: usize) {
        self.targets.set(n as i64);
    }

    /// Records when the BMC's current or next poll must be done by (`None`: it is gone).
    pub fn set_due(&self, mac: crate::model::MacAddr, by_ms: Option<i64>) {
        let mut due = self.due.lock().unwrap_or_else(|p| p.into_inner());
        match by_ms {
            Some(t) => {
                due.insert(mac, t);
            }
            None => {
                due.remove(&mac);
            }
        }
    }

    /// BMCs whose poll is overdue at `now_ms`: the poll loop is not making progress for them.
    pub fn overdue(&self, now_ms: i64) -> usize {
        self.due
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|t| **t < now_ms)
            .count()
    }

    /// When the newest poll started, Unix ms (0 before the first).
    pub fn last_poll_ms(&self) -> i64 {
        self.last_round_ms.load(Ordering::Relaxed)
    }
}

/// Builds the registry: self-metrics plus the scrape-time collector over `store`.
pub fn registry(store: Arc<Store>, stats: Arc<PollStats>) -> Registry {
    let mut r = Registry::default();
    r.register(
        "bmc_catcher_polls",
        "Polls finished, by result (ok, partial: some fields failed, failed: nothing read)",
        stats.polls.clone(),
    );
    r.register(
        "bmc_catcher_poll_errors",
        "Polls with at least one failed read, by the first error's kind",
        stats.errors.clone(),
    );
    r.register_with_unit(
        "bmc_catcher_poll_duration",
        "Duration of one poll of one BMC",
        Unit::Seconds,
        stats.duration.clone(),
    );
    r.register(
        "bmc_catcher_targets",
        "BMCs currently selected from the leases",
        stats.targets.clone(),
    );
    r.register_collector(Box::new(super::collector::StoreCollector { store, stats }));
    r
}

/// The exposition formats `/metrics` can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/openmetrics-text; version=1.0.0`
    OpenMetrics,
    /// `text/plain; version=0.0.4`, what `promtool check metrics` and old scrapers read.
    Text,
}

impl Format {
    /// Chooses like client_golang: OpenMetrics only when the `Accept` header asks for it.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// The size of the last exposition: the next one is written into a buffer that size (plus some),
/// instead of growing one by doubling (a 16 MB fleet would reallocate and copy up to 32 MB).
static LAST_RENDER_BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Renders the registry in `format`.
pub fn render(registry: &Registry, format: Format) -> Result<String, std::fmt::Error> {
    use std::sync::atomic::Ordering;
    let last = LAST_RENDER_BYTES.load(Ordering::Relaxed);
    let mut out = String::with_capacity(last + last / 16);
    prometheus_client::encoding::text::encode(&mut out, registry)?;
    LAST_RENDER_BYTES.store(out.len(), Ordering::Relaxed);
    Ok(match format {
        Format::OpenMetrics => out,
        Format::Text => super::text_format::from_openmetrics(&out),
    })
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
