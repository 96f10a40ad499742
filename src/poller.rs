//! The scheduler: one task per BMC. Each BMC is polled once as soon as it is discovered, then once per
//! `interval` at its own phase offset within the period (a hash of its MAC), so a fleet's polls spread
//! over the period instead of arriving at the BMC network all at once. A semaphore bounds the polls in
//! flight; each poll has a deadline; a BMC's task polls it sequentially, so it is never polled twice
//! at once. Targets that vanish are stopped and their sessions closed; on shutdown every worker
//! finishes its in-flight poll, then every session is closed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
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
    partition: &str,
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
        partition: partition.to_string(),
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

struct Worker {
    /// The same copy the store and the backend hold.
    target: Arc<Target>,
    bmc: Arc<dyn Bmc>,
    token: CancellationToken,
    handle: JoinHandle<()>,
}

/// Owns the workers. Shared state (`store`, `stats`) is read by the publishers.
pub struct Poller {
    schedule: Schedule,
    connector: Arc<Connector>,
    store: Arc<Store>,
    stats: Arc<PollStats>,
    permits: Arc<Semaphore>,
    epoch: Instant,
    workers: HashMap<MacAddr, Worker>,
    bmcs: Arc<std::sync::RwLock<HashMap<MacAddr, Arc<dyn Bmc>>>>,
}

/// A read-only view of the live backends, for power commands (they share the poller's sessions).
#[derive(Clone)]
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
            permits: Arc::new(Semaphore::new(schedule.concurrency)),
            schedule,
            connector,
            store,
            stats,
            epoch: Instant::now(),
            workers: HashMap::new(),
            bmcs: Arc::default(),
        }
    }

    pub fn fleet(&self) -> Fleet {
        Fleet(self.bmcs.clone())
    }

    /// Runs until `cancel`: follows the target list, then drains and logs out.
    pub async fn run(
        mut self,
        mut targets: watch::Receiver<Vec<Target>>,
        mut reload: tokio::sync::mpsc::Receiver<Reload>,
        cancel: CancellationToken,
    ) {
        let initial = targets.borrow_and_update().clone();
        self.reconcile(initial).await;
        loop {
            tokio::select! {
                changed = targets.changed() => {
                    if changed.is_err() { break; }
                    let list = targets.borrow_and_update().clone();
                    self.reconcile(list).await;
                }
                Some(change) = reload.recv() => self.apply(change).await,
                _ = cancel.cancelled() => break,
            }
        }
        self.shutdown().await;
    }

    async fn reconcile(&mut self, list: Vec<Target>) {
        let wanted: HashMap<MacAddr, Target> = list.into_iter().map(|t| (t.mac, t)).collect();
        let stale: Vec<MacAddr> = self
            .workers
            .iter()
            .filter(|(mac, w)| {
                wanted
                    .get(mac)
                    .is_none_or(|t| t.ip != w.target.ip || t.port != w.target.port)
            })
            .map(|(mac, _)| *mac)
            .collect();
        for mac in stale {
            if let Some(w) = self.workers.remove(&mac) {
                self.stop(w).await;
            }
            if !wanted.contains_key(&mac) {
                self.store.remove(mac);
            }
        }
        for (mac, target) in wanted {
            // One copy per target, shared by the store, the worker and the backend.
            let target = match self.workers.get(&mac) {
                Some(w) if *w.target == target => w.target.clone(),
                _ => Arc::new(target),
            };
            self.store.upsert_target(target.clone());
            if !self.workers.contains_key(&mac) {
                self.start(target);
            }
        }
        self.stats.set_targets(self.workers.len());
    }

    /// Spawns the polling task of `bmc` on the current schedule.
    fn spawn_worker(
        &self,
        bmc: &Arc<dyn Bmc>,
        target: &Arc<Target>,
        first: FirstPoll,
    ) -> (CancellationToken, JoinHandle<()>) {
        let token = CancellationToken::new();
        let ctx = worker::Context {
            bmc: bmc.clone(),
            target: target.clone(),
            store: self.store.clone(),
            stats: self.stats.clone(),
            permits: self.permits.clone(),
            schedule: self.schedule,
            epoch: self.epoch,
            token: token.clone(),
        };
        (token, worker::spawn(ctx, first))
    }

    fn start(&mut self, target: Arc<Target>) {
        // Built at its first poll, dropped again while it reaches nothing (see `LazyBmc`).
        let bmc: Arc<dyn Bmc> = Arc::new(LazyBmc::new(self.connector.clone(), target.clone()));
        let (token, handle) = self.spawn_worker(&bmc, &target, FirstPoll::Now);
        self.bmcs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(target.mac, bmc.clone());
        self.workers.insert(
            target.mac,
            Worker {
                target,
                bmc,
                token,
                handle,
            },
        );
    }

    async fn stop(&mut self, w: Worker) {
        w.token.cancel();
        // The worker ends after its in-flight poll (bounded by the deadline).
        let _ = w.handle.await;
        self.bmcs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&w.target.mac);
        self.stats.set_due(w.target.mac, None);
        w.bmc.close().await;
        tracing::info!(bmc.mac = %w.target.mac, bmc.ip = %w.target.ip, "stopped polling, session closed");
    }

    async fn shutdown(&mut self) {
        let mut workers: Vec<Worker> = self.workers.drain().map(|(_, w)| w).collect();
        for w in &workers {
            w.token.cancel();
            self.stats.set_due(w.target.mac, None);
        }
        for w in &mut workers {
            let _ = (&mut w.handle).await;
        }
        close_all(workers.iter().map(|w| &w.bmc)).await;
        self.bmcs.write().unwrap_or_else(|p| p.into_inner()).clear();
        tracing::info!("poller stopped, every session closed");
    }
}

mod reload;
mod rounds;
mod schedule;
mod worker;
use schedule::FirstPoll;
pub use schedule::{Schedule, backoff, next_slot, phase};
mod stats;
pub use rounds::{poll_round, poll_rounds, poll_rounds_observed, process_cpu_seconds};
pub use stats::PollStats;

pub use reload::Reload;

#[cfg(test)]
mod tests;
