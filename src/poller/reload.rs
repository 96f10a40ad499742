//! What a SIGHUP changes in a running poller: new credentials (only BMCs whose credential changed
//! lose their session), new `[poll]` timing (every waiting BMC moves to its slot of the new period
//! and keeps its backend, so no session is dropped; the backends' request timeout and connection
//! policy follow), new transport settings (`[redfish]`, `[ipmi]`, `[poll] protocol`: every backend
//! is re-created, since its sessions were made under the old settings).

use std::collections::HashMap;
use std::sync::Arc;

use super::{Poller, Schedule};
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
    pub(super) fn apply(&mut self, change: Reload) {
        match change {
            Reload::Credentials(c) => self.new_credentials(c),
            Reload::Schedule(s) => self.new_schedule(s),
            Reload::Backends(c) => self.new_backends(c),
        }
    }

    /// New credentials: BMCs whose credential changed get a new backend (their session is closed
    /// and the next one opened with the new credential); the others keep their sessions.
    fn new_credentials(&mut self, creds: Credentials) {
        let before: HashMap<MacAddr, Option<crate::config::Credential>> = self
            .slots
            .targets()
            .map(|t| (t.mac, self.connector.credential(t)))
            .collect();
        self.connector.set_credentials(creds);
        let changed: Vec<MacAddr> = self
            .slots
            .targets()
            .filter(|t| before.get(&t.mac) != Some(&self.connector.credential(t)))
            .map(|t| t.mac)
            .collect();
        tracing::info!(
            changed = changed.len(),
            kept = self.slots.len() - changed.len(),
            "credentials reloaded"
        );
        self.restart(&changed);
    }

    /// Closes each BMC's backend and starts it anew from the current connector, polled at once.
    fn restart(&mut self, macs: &[MacAddr]) {
        for mac in macs {
            if let Some(target) = self.slots.target(*mac).cloned() {
                self.stop(*mac);
                self.start(target);
            }
        }
    }

    /// New interval, deadline or concurrency: every waiting BMC moves to its slot of the new
    /// period with the same backend.
    fn new_schedule(&mut self, schedule: Schedule) {
        // The backends' own deadlines and connection policy follow, sessions kept.
        self.connector.set_poll(schedule.timeout, schedule.interval);
        self.slots.set_schedule(schedule);
        tracing::info!(
            bmcs = self.slots.len(),
            interval = ?schedule.interval,
            timeout = ?schedule.timeout,
            concurrency = schedule.concurrency,
            "poll schedule reloaded; sessions kept"
        );
    }

    /// New transport settings: every backend is closed and made anew.
    fn new_backends(&mut self, connector: Arc<Connector>) {
        self.connector = connector;
        let macs = self.slots.macs();
        self.restart(&macs);
        tracing::info!(
            bmcs = macs.len(),
            "redfish/ipmi settings reloaded; every session re-opened"
        );
    }
}
