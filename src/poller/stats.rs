//! The poller's self-metrics ([`PollStats`]): polls by result, errors by kind, the poll duration
//! histogram, the target count, and when each BMC's poll is due (the watchdog's measure of progress).
//! The publishers register and read them; the poller only writes them.

use std::sync::atomic::{AtomicI64, Ordering};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::model::BmcSnapshot;

type Labels = Vec<(&'static str, String)>;

/// The poller's self-metrics.
#[derive(Debug)]
pub struct PollStats {
    polls: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    duration: Histogram,
    targets: Gauge,
    /// The same count, under the name of the membership metrics (registered with them, by NATS).
    owned: Gauge,
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
            owned: Gauge::default(),
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
        self.owned.set(n as i64);
    }

    /// The BMCs this catcher polls (owns), for `bmc_catcher_owned_bmcs` (shares the value).
    pub fn owned_gauge(&self) -> Gauge {
        self.owned.clone()
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

    /// Registers the counters, histogram and gauge in `r`.
    pub fn register(&self, r: &mut Registry) {
        // Every result is listed from the start, at 0, so `rate()` and `increase()` see the first one.
        for result in ["ok", "partial", "failed"] {
            drop(
                self.polls
                    .get_or_create(&vec![("result", result.to_string())]),
            );
        }
        r.register(
            "bmc_catcher_polls",
            "Polls finished, by result (ok, partial: some fields failed, failed: nothing read)",
            self.polls.clone(),
        );
        r.register(
            "bmc_catcher_poll_errors",
            "Polls with at least one failed read, by the first error's kind",
            self.errors.clone(),
        );
        r.register_with_unit(
            "bmc_catcher_poll_duration",
            "Duration of one poll of one BMC",
            Unit::Seconds,
            self.duration.clone(),
        );
        r.register(
            "bmc_catcher_targets",
            "BMCs currently selected from the leases",
            self.targets.clone(),
        );
    }
}
