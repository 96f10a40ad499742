//! Every BMC's place in the schedule, and the polls in flight. One queue ordered by due time holds
//! each waiting BMC once; [`Slots::step`] starts the next due poll when a permit is free (each in its
//! own task, so at most `concurrency` poll tasks exist) and records the polls that finished. A
//! fleet of 200,000 waiting BMCs costs one small [`Slot`] and one queue entry each, not a task.
//!
//! A BMC is never polled twice at once (it leaves the queue while polled and goes back when its
//! poll is recorded). A poll that panics is logged in the BMC's span and the BMC is polled again at
//! its next slot. A BMC removed while it is polled is closed once that poll is done, and its
//! snapshot dropped: a poll's result counts only for the slot that started it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::schedule::{Schedule, backoff, next_slot};
use super::{CLOSE_CONCURRENCY, PollStats, poll_one};
use crate::hal::Bmc;
use crate::model::{BmcSnapshot, ErrorKind, MacAddr, Target};
use crate::store::{Store, now_ms};

/// One BMC's state between polls.
struct Slot {
    /// The same copy the store and the backend hold.
    target: Arc<Target>,
    bmc: Arc<dyn Bmc>,
    /// Tells this slot's polls from those of an earlier slot of the same MAC (a BMC that moved).
    id: u64,
    /// When it is due, while it waits in the queue; `None` while it is polled.
    due: Option<Instant>,
    /// Polls failed in a row (the back-off).
    failures: u32,
}

/// What a poll task hands back.
struct Done {
    target: Arc<Target>,
    id: u64,
    bmc: Arc<dyn Bmc>,
    span: tracing::Span,
    /// The snapshot, or the panic's message.
    outcome: Result<BmcSnapshot, String>,
}

/// The schedule of every BMC and the polls in flight.
pub(super) struct Slots {
    schedule: Schedule,
    /// The start of every BMC's period (phases count from it).
    epoch: Instant,
    permits: Arc<Semaphore>,
    store: Arc<Store>,
    stats: Arc<PollStats>,
    slots: HashMap<MacAddr, Slot>,
    /// Waiting BMCs by due time (the MAC breaks ties).
    queue: BTreeSet<(Instant, MacAddr)>,
    polls: JoinSet<Done>,
    next_id: u64,
    /// Sessions being closed (of BMCs removed), waited for on shutdown.
    closing: TaskTracker,
    close_permits: Arc<Semaphore>,
    /// Shutting down: polls that finish are recorded, not queued again.
    stopping: bool,
}

/// The per-BMC span of one poll (every log line of the poll names the BMC). Made per poll, not
/// held between polls: a live span costs the subscriber hundreds of bytes, times every BMC.
fn bmc_span(target: &Target, bmc: &dyn Bmc) -> tracing::Span {
    tracing::info_span!("bmc", bmc.mac = %target.mac, bmc.ip = %target.ip, backend = bmc.describe().backend())
}

/// The text a panic was raised with, when it was a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(not a string)".to_string())
}

impl Slots {
    pub fn new(schedule: Schedule, store: Arc<Store>, stats: Arc<PollStats>) -> Slots {
        Slots {
            permits: Arc::new(Semaphore::new(schedule.concurrency)),
            schedule,
            epoch: Instant::now(),
            store,
            stats,
            slots: HashMap::new(),
            queue: BTreeSet::new(),
            polls: JoinSet::new(),
            next_id: 0,
            closing: TaskTracker::new(),
            close_permits: Arc::new(Semaphore::new(CLOSE_CONCURRENCY)),
            stopping: false,
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn contains(&self, mac: MacAddr) -> bool {
        self.slots.contains_key(&mac)
    }

    /// The target the BMC is polled at.
    pub fn target(&self, mac: MacAddr) -> Option<&Arc<Target>> {
        self.slots.get(&mac).map(|s| &s.target)
    }

    pub fn macs(&self) -> Vec<MacAddr> {
        self.slots.keys().copied().collect()
    }

    pub fn targets(&self) -> impl Iterator<Item = &Arc<Target>> {
        self.slots.values().map(|s| &s.target)
    }

    /// A poll is due to finish within its deadline plus one interval of slack (queueing for a
    /// permit): the watchdog's measure of progress.
    fn slack_ms(&self) -> i64 {
        (self.schedule.timeout + self.schedule.interval).as_millis() as i64
    }

    /// Puts the slot in the queue at `at`.
    fn enqueue(&mut self, mac: MacAddr, at: Instant) {
        let slack = self.slack_ms();
        let Some(slot) = self.slots.get_mut(&mac) else {
            return;
        };
        if let Some(old) = slot.due.replace(at) {
            self.queue.remove(&(old, mac));
        }
        self.queue.insert((at, mac));
        let until = at.saturating_duration_since(Instant::now()).as_millis() as i64;
        self.stats.set_due(mac, Some(now_ms() + until + slack));
    }

    /// The next slot of `mac` on the current schedule, `wait` intervals from now (back-off).
    fn slot_after(&self, mac: MacAddr, wait: u32) -> Instant {
        let interval = self.schedule.interval;
        let next = next_slot(self.epoch, mac.phase(interval), interval, Instant::now());
        next + interval * wait.saturating_sub(1)
    }

    /// Starts polling `bmc`, at once (a BMC just discovered, or with a new backend). The caller
    /// removed any earlier slot of the MAC.
    pub fn add(&mut self, target: Arc<Target>, bmc: Arc<dyn Bmc>) {
        let mac = target.mac;
        self.next_id += 1;
        let slot = Slot {
            target,
            bmc,
            id: self.next_id,
            due: None,
            failures: 0,
        };
        self.slots.insert(mac, slot);
        self.enqueue(mac, Instant::now());
    }

    /// Stops polling `mac`. Its session is closed now, or after its poll in flight is done.
    pub fn remove(&mut self, mac: MacAddr) -> bool {
        let Some(slot) = self.slots.remove(&mac) else {
            return false;
        };
        self.stats.set_due(mac, None);
        // While it is polled (no due time) it is closed when its poll comes back (`finish`).
        if let Some(at) = slot.due {
            self.queue.remove(&(at, mac));
            self.close_later(slot.target.clone(), slot.bmc);
        }
        true
    }

    /// Closes a removed BMC's session in its own task, [`CLOSE_CONCURRENCY`] at a time.
    fn close_later(&self, target: Arc<Target>, bmc: Arc<dyn Bmc>) {
        let permits = self.close_permits.clone();
        self.closing.spawn(async move {
            let _permit = permits.acquire_owned().await;
            bmc.close().await;
            tracing::info!(bmc.mac = %target.mac, bmc.ip = %target.ip, "stopped polling, session closed");
        });
    }

    /// A new interval, deadline or concurrency: every waiting BMC moves to its slot of the new
    /// period; polls in flight finish under the old deadline and are rescheduled on the new one.
    pub fn set_schedule(&mut self, schedule: Schedule) {
        self.schedule = schedule;
        self.permits = Arc::new(Semaphore::new(schedule.concurrency));
        let waiting: Vec<MacAddr> = self.queue.iter().map(|(_, mac)| *mac).collect();
        for mac in waiting {
            let at = self.slot_after(mac, 1);
            self.enqueue(mac, at);
        }
    }

    /// Waits for the next thing to do and does it: starts the next due poll once a permit is free,
    /// or records a poll that finished. Cancel-safe: dropped while waiting, nothing is lost.
    pub async fn step(&mut self) {
        let first = self.queue.first().map(|(at, _)| *at);
        let permits = self.permits.clone();
        let due = async move {
            match first {
                Some(at) => {
                    tokio::time::sleep_until(at).await;
                    permits.acquire_owned().await.ok()
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(done) = self.polls.join_next(), if !self.polls.is_empty() => match done {
                Ok(done) => self.finish(done),
                // Only on abort (never done) or a panic outside the caught poll.
                Err(e) => tracing::error!(error = %e, "a poll task failed"),
            },
            Some(permit) = due => self.start_due(permit),
            else => std::future::pending::<()>().await,
        }
    }

    /// Starts the first queued poll, if it is still due (the queue may have changed meanwhile).
    fn start_due(&mut self, permit: OwnedSemaphorePermit) {
        let Some(&(at, mac)) = self.queue.first() else {
            return;
        };
        if at > Instant::now() {
            return;
        }
        self.queue.pop_first();
        let timeout = self.schedule.timeout;
        let partition = self.store.partition_shared();
        let Some(slot) = self.slots.get_mut(&mac) else {
            return;
        };
        slot.due = None;
        let (target, bmc, id) = (slot.target.clone(), slot.bmc.clone(), slot.id);
        let span = bmc_span(&target, bmc.as_ref());
        self.polls.spawn(async move {
            let poll = poll_one(bmc.as_ref(), &target, partition, timeout)
                .instrument(tracing::debug_span!("poll"));
            let outcome = std::panic::AssertUnwindSafe(poll.instrument(span.clone()))
                .catch_unwind()
                .await
                .map_err(|p| panic_message(&*p));
            drop(permit);
            Done {
                target,
                id,
                bmc,
                span,
                outcome,
            }
        });
    }

    /// Records a finished poll and puts its BMC back in the queue, backed off while it fails.
    fn finish(&mut self, done: Done) {
        let Done {
            target,
            id,
            bmc,
            span,
            outcome,
        } = done;
        let mac = target.mac;
        let Some(slot) = self.slots.get_mut(&mac).filter(|s| s.id == id) else {
            // Removed (or moved) while it was polled: its session goes now, its snapshot with it.
            span.in_scope(|| tracing::debug!("poll of a removed BMC dropped"));
            self.close_later(target, bmc);
            return;
        };
        let _span = span.entered();
        let wait = match outcome {
            Ok(snap) => {
                let (wait, failures) = record(&self.store, &self.stats, snap, slot.failures);
                slot.failures = failures;
                wait
            }
            Err(panic) => {
                tracing::error!(panic, "poll panicked; polling again at the BMC's next slot");
                1
            }
        };
        if !self.stopping {
            let at = self.slot_after(mac, wait);
            self.enqueue(mac, at);
        }
    }

    /// Shutdown: waits for the polls in flight (bounded by their deadline) and records them, then
    /// closes every session (those of removed BMCs too).
    pub async fn shutdown(&mut self) {
        self.stopping = true;
        self.queue.clear();
        for mac in self.slots.keys() {
            self.stats.set_due(*mac, None);
        }
        while let Some(done) = self.polls.join_next().await {
            if let Ok(done) = done {
                self.finish(done);
            }
        }
        let slots: Vec<Slot> = self.slots.drain().map(|(_, s)| s).collect();
        for s in &slots {
            self.stats.set_due(s.target.mac, None);
        }
        super::close_all(slots.iter().map(|s| &s.bmc)).await;
        self.closing.close();
        self.closing.wait().await;
    }
}

/// Stores a poll's snapshot with its stats and log line; returns how many intervals to wait
/// before the next poll (the back-off) and the new count of failures in a row.
fn record(store: &Store, stats: &PollStats, snap: BmcSnapshot, failures: u32) -> (u32, u32) {
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
    let failures = if snap.up {
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
    (wait, failures)
}
