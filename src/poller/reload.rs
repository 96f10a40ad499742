//! What a SIGHUP changes in a running poller: new credentials (only BMCs whose credential changed
//! lose their session), new `[poll]` timing (every worker restarts with it and keeps its backend,
//! so no session is dropped; the backends' request timeout and connection policy follow), new transport settings (`[redfish]`, `[ipmi]`, `[poll] protocol`:
//! every backend is re-created, since its sessions were made under the old settings).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::{FirstPoll, Poller, Schedule};
use crate::config::Credentials;
use crate::hal::Connector;
use crate::model::MacAddr;

/// One change for the poller.
pub enum Reload {
    Credentials(Credentials),
    Schedule(Schedule),
    Backends(Arc<Connector>),
}

impl Poller {
    pub(super) async fn apply(&mut self, change: Reload) {
        match change {
            Reload::Credentials(c) => self.new_credentials(c).await,
            Reload::Schedule(s) => self.new_schedule(s).await,
            Reload::Backends(c) => self.new_backends(c).await,
        }
    }

    /// New credentials: BMCs whose credential changed get a new backend (their session is closed
    /// and the next one opened with the new credential); the others keep their sessions.
    async fn new_credentials(&mut self, creds: Credentials) {
        let before: HashMap<MacAddr, Option<crate::config::Credential>> = self
            .workers
            .values()
            .map(|w| (w.target.mac, self.connector.credential(&w.target)))
            .collect();
        self.connector.set_credentials(creds);
        let changed: Vec<MacAddr> = self
            .workers
            .values()
            .filter(|w| before.get(&w.target.mac) != Some(&self.connector.credential(&w.target)))
            .map(|w| w.target.mac)
            .collect();
        tracing::info!(
            changed = changed.len(),
            kept = self.workers.len() - changed.len(),
            "credentials reloaded"
        );
        self.restart(&changed).await;
    }

    /// Closes each BMC's backend and starts it anew from the current connector.
    async fn restart(&mut self, macs: &[MacAddr]) {
        for mac in macs {
            if let Some(w) = self.workers.remove(mac) {
                let target = w.target.clone();
                self.stop(w).await;
                self.start(target);
            }
        }
    }

    /// New interval, deadline or concurrency: each worker ends after its in-flight poll and starts
    /// again on the new schedule with the same backend.
    async fn new_schedule(&mut self, schedule: Schedule) {
        self.schedule = schedule;
        // The backends' own deadlines and connection policy follow, sessions kept.
        self.connector.set_poll(schedule.timeout, schedule.interval);
        self.permits = Arc::new(Semaphore::new(schedule.concurrency));
        let macs: Vec<MacAddr> = self.workers.keys().copied().collect();
        // All stop at once, so the wait is one in-flight poll, not one per BMC.
        for w in self.workers.values() {
            w.token.cancel();
        }
        for mac in &macs {
            let Some(mut w) = self.workers.remove(mac) else {
                continue;
            };
            let _ = (&mut w.handle).await;
            (w.token, w.handle) = self.spawn_worker(&w.bmc, &w.target, FirstPoll::AtItsSlot);
            self.workers.insert(*mac, w);
        }
        tracing::info!(
            bmcs = macs.len(),
            interval = ?schedule.interval,
            timeout = ?schedule.timeout,
            concurrency = schedule.concurrency,
            "poll schedule reloaded; sessions kept"
        );
    }

    /// New transport settings: every backend is closed and made anew.
    async fn new_backends(&mut self, connector: Arc<Connector>) {
        self.connector = connector;
        let macs: Vec<MacAddr> = self.workers.keys().copied().collect();
        self.restart(&macs).await;
        tracing::info!(
            bmcs = macs.len(),
            "redfish/ipmi settings reloaded; every session re-opened"
        );
    }
}
