//! The scheduler. Each BMC is polled once as soon as it is discovered, then once per `interval` at
//! its own phase offset within the period (a hash of its MAC), so a fleet's polls spread over the
//! period instead of arriving at the BMC network all at once. One task ([`Poller::run`]) follows the
//! target list and keeps every BMC's place in one due queue ([`slots`]); a poll runs in its own
//! task, at most `concurrency` at once, each with a deadline, and a BMC is never polled twice at
//! once. Targets that vanish are stopped and their sessions closed; on shutdown the polls in flight
//! finish, then every session is closed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::hal::{Bmc, Connector, LazyBmc};
use crate::model::{BmcSnapshot, ErrorKind, MacAddr, Reading, SCHEMA_VERSION, Target};

use crate::store::{Store, now_ms};

/// Sessions closed at once on shutdown: all of them at once would open thousands of connections
/// (and sockets, and buffers) in the same instant, to BMCs and in the daemon.
const CLOSE_CONCURRENCY: usize = 256;

/// Polls one BMC once under the deadline and wraps the result in a snapshot.
pub async fn poll_one(
    bmc: &dyn Bmc,
    target: &Target,
    partition: impl Into<Arc<str>>,
    timeout: Duration,
) -> BmcSnapshot {
    let started_ms = now_ms();
    let started = Instant::now();
    let reading = match tokio::time::timeout(timeout, bmc.poll()).await {
        Ok(r) => r,
        Err(_) => Reading::all_failed(
            ErrorKind::Timeout,
            &format!(
                "{}: poll did not finish within {timeout:?}",
                bmc.describe().label()
            ),
        ),
    };
    let up = reading.any_ok();
    BmcSnapshot {
        schema_version: SCHEMA_VERSION,
        partition: partition.into(),
        mac: target.mac,
        ip: target.ip,
        hostname: target.hostname.clone(),
        protocol: bmc.describe().protocol,
        polled_at_ms: started_ms,
        duration_ms: started.elapsed().as_millis() as u64,
        last_success_ms: up.then_some(started_ms),
        up,
        reading,
        issues: Vec::new(),
    }
}

/// Closes every session, [`CLOSE_CONCURRENCY`] at a time.
async fn close_all<'a>(bmcs: impl Iterator<Item = &'a Arc<dyn Bmc>>) {
    use futures::stream::{self, StreamExt};
    stream::iter(bmcs)
        .for_each_concurrent(CLOSE_CONCURRENCY, |b| b.close())
        .await;
}

/// Owns the schedule of every BMC ([`Slots`]). Shared state (`store`, `stats`) is read by the
/// publishers.
pub struct Poller {
    connector: Arc<Connector>,
    store: Arc<Store>,
    stats: Arc<PollStats>,
    slots: Slots,
    bmcs: Arc<std::sync::RwLock<HashMap<MacAddr, Arc<dyn Bmc>>>>,
    /// Which BMCs this catcher owns among its partition's catchers ([`handover`]).
    share: handover::Share,
}

/// A read-only view of the live backends, for power commands (they share the poller's sessions).
#[derive(Clone, Default)]
pub struct Fleet(Arc<std::sync::RwLock<HashMap<MacAddr, Arc<dyn Bmc>>>>);

impl Fleet {
    pub fn get(&self, mac: MacAddr) -> Option<Arc<dyn Bmc>> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&mac)
            .cloned()
    }
}

impl Poller {
    pub fn new(
        schedule: Schedule,
        connector: Arc<Connector>,
        store: Arc<Store>,
        stats: Arc<PollStats>,
    ) -> Poller {
        Poller {
            slots: Slots::new(schedule, store.clone(), stats.clone()),
            connector,
            store,
            stats,
            bmcs: Arc::default(),
            share: handover::Share::default(),
        }
    }

    /// Polls only the BMCs this catcher owns among the live members `members` tells of (`None`:
    /// not known yet, nothing is polled). Without it, every discovered BMC is polled.
    pub fn with_members(mut self, members: watch::Receiver<Option<Members>>) -> Poller {
        self.share = handover::Share::following(members);
        self
    }

    pub fn fleet(&self) -> Fleet {
        Fleet(self.bmcs.clone())
    }

    /// Runs until `cancel`: follows the target list, polls what is due, then drains and logs out.
    pub async fn run(
        mut self,
        mut targets: watch::Receiver<Vec<Target>>,
        mut reload: tokio::sync::mpsc::Receiver<Reload>,
        cancel: CancellationToken,
    ) {
        let initial = targets.borrow_and_update().clone();
        self.share.refresh();
        self.reconcile(initial);
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                changed = targets.changed() => {
                    if changed.is_err() { break; }
                    let list = targets.borrow_and_update().clone();
                    self.reconcile(list);
                }
                true = self.share.changed() => {
                    let list = targets.borrow().clone();
                    self.rebalance(list);
                }
                Some(change) = reload.recv() => self.apply(change),
                _ = self.slots.step() => {}
            }
        }
        self.slots.shutdown().await;
        self.bmcs.write().unwrap_or_else(|p| p.into_inner()).clear();
        tracing::info!("poller stopped, every session closed");
    }

    fn reconcile(&mut self, list: Vec<Target>) {
        let wanted = self.share.split(list);
        let stale: Vec<MacAddr> = self
            .slots
            .targets()
            .filter(|have| {
                wanted
                    .owned
                    .get(&have.mac)
                    .is_none_or(|t| t.ip != have.ip || t.port != have.port)
            })
            .map(|t| t.mac)
            .collect();
        for mac in stale {
            self.stop(mac);
            if wanted.handed_over(mac) {
                self.store.release(mac);
            } else if !wanted.owned.contains_key(&mac) {
                self.store.remove(mac);
            }
        }
        for (mac, target) in wanted.owned {
            // One copy per target, shared by the store, the slot and the backend.
            let target = match self.slots.target(mac) {
                Some(have) if **have == target => have.clone(),
                _ => Arc::new(target),
            };
            if wanted.gained.contains(&mac) {
                self.store.adopt(target.clone());
            } else {
                self.store.upsert_target(target.clone());
            }
            if !self.slots.contains(mac) {
                self.start(target);
            }
        }
        self.stats.set_targets(self.slots.len());
    }

    fn start(&mut self, target: Arc<Target>) {
        // Built at its first poll, dropped again while it reaches nothing (see `LazyBmc`).
        let bmc: Arc<dyn Bmc> = Arc::new(LazyBmc::new(self.connector.clone(), target.clone()));
        self.bmcs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(target.mac, bmc.clone());
        self.slots.add(target, bmc);
    }

    /// Stops polling `mac`; its session is closed once a poll in flight is done.
    fn stop(&mut self, mac: MacAddr) {
        self.bmcs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&mac);
        self.slots.remove(mac);
    }
}

mod handover;
pub mod ownership;
mod reload;
mod rounds;
mod schedule;
mod slots;
pub use schedule::{Schedule, backoff, next_slot};
use slots::Slots;
mod stats;
pub use rounds::{poll_round, poll_rounds, poll_rounds_observed, process_cpu_seconds};
pub use stats::PollStats;

pub use ownership::Members;
pub use reload::Reload;

#[cfg(test)]
mod tests;
