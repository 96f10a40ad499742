//! How reading the leases file goes ([`LeasesHealth`]): the watcher writes it at every refresh (the
//! same one across restarts by SIGHUP), `/readyz` says not ready while the file cannot be used, and
//! `/metrics` counts the failed reads and says when the leases were last read or found unchanged,
//! so a file that cannot be read shows as such, not as a fleet of zero BMCs.

use std::sync::Mutex;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The state of the leases file as the watcher last found it.
#[derive(Debug, Default)]
pub struct LeasesHealth {
    read_errors: Counter,
    /// Unix seconds of the last refresh that found the leases current (read, or unchanged since a
    /// good read); 0 before the first.
    last_success: Gauge,
    /// Why the file cannot be used now (the watcher's words, naming the file).
    problem: Mutex<Option<String>>,
}

impl LeasesHealth {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "bmc_catcher_leases_read_errors",
            "Reads of the leases file that failed (missing, unreadable, not a regular file, too large, no lease where there were some), one per refresh while it fails",
            self.read_errors.clone(),
        );
        r.register(
            "bmc_catcher_leases_last_success_timestamp_seconds",
            "When the leases file was last read, or found unchanged since a good read (Unix time; 0: never)",
            self.last_success.clone(),
        );
    }

    /// A refresh found the leases current.
    pub(super) fn succeeded(&self, now_unix: i64) {
        self.last_success.set(now_unix);
        *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// A read failed, for `why`.
    pub(super) fn failed(&self, why: &str) {
        self.read_errors.inc();
        *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.to_string());
    }

    /// Why the leases file cannot be used now, if it cannot.
    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Failed reads since start.
    pub fn read_errors(&self) -> u64 {
        self.read_errors.get()
    }

    /// Unix seconds of the last refresh that found the leases current (0: none yet).
    pub fn last_success(&self) -> i64 {
        self.last_success.get()
    }
}
