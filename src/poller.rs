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
use tracing::Instrument;

use crate::hal::{Bmc, Connector};
use crate::model::{BmcSnapshot, ErrorKind, MacAddr, Reading, SCHEMA_VERSION, Target};

use crate::store::{Store, now_ms};

/// Sessions closed at once on shutdown: all of them at once would open thousands of connections
/// (and sockets, and buffers) in the same instant, to BMCs and in the daemon.
const CLOSE_CONCURRENCY: usize = 256;

/// Closes every session, [`CLOSE_CONCURRENCY`] at a time.
async fn close_all<'a>(bmcs: impl Iterator<Item = &'a Arc<dyn Bmc>>) {
    use futures::stream::{self, StreamExt};
    stream::iter(bmcs)
        .for_each_concurrent(CLOSE_CONCURRENCY, |b| b.close())
        .await;
}

/// When a worker polls first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstPoll {
    /// At once: a BMC just discovered, or with a new backend.
    Now,
    /// At its slot of the period: a worker restarted on a new schedule (a reload must not poll
    /// the whole fleet at once).
    AtItsSlot,
}

/// The scheduling knobs, from `[poll]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub interval: Duration,
    pub timeout: Duration,
    pub concurrency: usize,
}

/// The deterministic phase of a BMC within the period: FNV-1a of its MAC, modulo the interval.
pub fn phase(mac: MacAddr, interval: Duration) -> Duration {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in mac.0 {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let ms = interval.as_millis().max(1) as u64;
    Duration::from_millis(h % ms)
}

/// The first slot `epoch + phase + k * interval` strictly after `now`.
pub fn next_slot(epoch: Instant, phase: Duration, interval: Duration, now: Instant) -> Instant {
    let first = epoch + phase;
    if now < first {
        return first;
    }
    let elapsed = now.duration_since(first).as_nanos();
    let k = elapsed / interval.as_nanos().max(1) + 1;
    first + Duration::from_nanos((k * interval.as_nanos()) as u64)
}

/// How many intervals to wait before the next poll of a BMC that failed `failures` times in a row:
/// a BMC that keeps failing is backed off (up to 8 intervals) instead of hammered, and one that
/// refuses the credentials at once (an account may lock after repeated failed logins).
pub fn backoff(failures: u32, auth: bool) -> u32 {
    let start = if auth { 1 } else { 3 };
    if failures < start {
        1
    } else {
        (1u32 << (failures - start + 1).min(3)).min(8)
    }
}

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

struct Worker {
    target: Target,
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
            self.store.upsert_target(target.clone());
            if !self.workers.contains_key(&mac) {
                self.start(target);
            }
        }
        self.stats.set_targets(self.workers.len());
    }

    /// Spawns the polling task of `bmc` on the current schedule, in its per-BMC span.
    fn spawn_worker(
        &self,
        bmc: &Arc<dyn Bmc>,
        target: &Target,
        first: FirstPoll,
    ) -> (CancellationToken, JoinHandle<()>) {
        let token = CancellationToken::new();
        let span = tracing::info_span!("bmc", bmc.mac = %target.mac, bmc.ip = %target.ip, backend = bmc.describe().backend());
        let handle = tokio::spawn(
            worker(
                bmc.clone(),
                target.clone(),
                self.store.clone(),
                self.stats.clone(),
                self.permits.clone(),
                self.schedule,
                self.epoch,
                token.clone(),
                first,
            )
            .instrument(span),
        );
        (token, handle)
    }

    fn start(&mut self, target: Target) {
        let bmc = self.connector.connect(&target);
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

#[allow(clippy::too_many_arguments)]
async fn worker(
    bmc: Arc<dyn Bmc>,
    target: Target,
    store: Arc<Store>,
    stats: Arc<PollStats>,
    permits: Arc<Semaphore>,
    schedule: Schedule,
    epoch: Instant,
    token: CancellationToken,
    first: FirstPoll,
) {
    let phase = phase(target.mac, schedule.interval);
    let mut failures = 0u32;
    // A poll is due to finish within its deadline plus one interval of slack (queueing for a permit).
    let slack_ms = (schedule.timeout + schedule.interval).as_millis() as i64;
    if first == FirstPoll::AtItsSlot {
        let next = next_slot(epoch, phase, schedule.interval, Instant::now());
        let until = next.saturating_duration_since(Instant::now()).as_millis() as i64;
        stats.set_due(target.mac, Some(now_ms() + until + slack_ms));
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = token.cancelled() => return,
        }
    }
    stats.set_due(target.mac, Some(now_ms() + slack_ms));
    loop {
        let permit = tokio::select! {
            p = permits.acquire() => p,
            _ = token.cancelled() => return,
        };
        let snap = poll_one(bmc.as_ref(), &target, store.partition(), schedule.timeout)
            .instrument(tracing::debug_span!("poll"))
            .await;
        drop(permit);
        stats.observe(&snap);
        let errors = snap.reading.errors();
        let serious = errors
            .iter()
            .map(|(_, e)| *e)
            .find(|e| e.kind != ErrorKind::Unsupported);
        match serious {
            None => tracing::debug!(ms = snap.duration_ms, up = snap.up, "poll done"),
            Some(e) => {
                tracing::warn!(ms = snap.duration_ms, kind = %e.kind, error = %e.message, up = snap.up, "poll incomplete")
            }
        }
        let auth = !snap.up
            && snap
                .reading
                .first_error()
                .is_some_and(|e| e.kind == ErrorKind::Auth);
        failures = if snap.up {
            0
        } else {
            failures.saturating_add(1)
        };
        store.record(snap);
        let wait = backoff(failures, auth);
        if wait > 1 {
            tracing::info!(
                failures,
                intervals = wait,
                auth,
                "backing off a failing BMC"
            );
        }
        let mut next = next_slot(epoch, phase, schedule.interval, Instant::now());
        next += schedule.interval * (wait - 1);
        let until_next = next.saturating_duration_since(Instant::now()).as_millis() as i64;
        stats.set_due(target.mac, Some(now_ms() + until_next + slack_ms));
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = token.cancelled() => return,
        }
    }
}

mod rounds;
mod stats;
pub use rounds::{poll_round, poll_rounds, process_cpu_seconds};
pub use stats::PollStats;

mod reload;
pub use reload::Reload;

#[cfg(test)]
mod tests;
