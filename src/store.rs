//! The latest state of every BMC: its target (from discovery) and its newest snapshot (from the
//! poller). Every change is told to the [`Observer`]s, synchronously and in order: the events it
//! makes (ids assigned and observers called under one lock, so ids reach every observer in order),
//! and which BMC's state changed (the NATS KV mirror's cue). Change detection itself is
//! [`changes::changes`].
//!
//! Locks are held only to copy or swap values, never across an await.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::model::{
    BmcSnapshot, Event, EventKind, Issue, MacAddr, PowerState, SCHEMA_VERSION, Target,
};

mod changes;
pub use changes::changes;

/// One BMC as the store knows it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Shared with the BMC's slot in the poller: one copy of each target.
    pub target: Arc<Target>,
    /// Shared, so readers (a scrape of the whole fleet) copy pointers, not snapshots.
    pub snapshot: Option<Arc<BmcSnapshot>>,
}

/// Told of every change synchronously, in order; must not block (the NATS outbox, the KV mirror's
/// dirty set, a test's recorder).
pub trait Observer: Send + Sync {
    /// An event was emitted.
    fn event(&self, event: &Event);
    /// The stored state of `mac` changed or it was removed.
    fn changed(&self, _mac: MacAddr) {}
    /// `mac` was handed over to a peer catcher: it leaves this store, but its published state
    /// stays (the peer writes it now).
    fn released(&self, _mac: MacAddr) {}
}

/// An observer that keeps every event it is told of, for tools and tests that look at what a store
/// emitted (`take` drains them, oldest first).
#[derive(Default)]
pub struct Recorder(Mutex<Vec<Event>>);

impl Recorder {
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Observer for Recorder {
    fn event(&self, event: &Event) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.clone());
    }
}

pub struct Store {
    /// Shared with every snapshot (one copy, not one per BMC).
    partition: Arc<str>,
    entries: RwLock<BTreeMap<MacAddr, Entry>>,
    /// The observers, and the next event sequence number: one lock, so ids are handed out in the
    /// order the observers see them.
    emit: Mutex<Emitter>,
    nonce: u64,
    /// Per BMC, when its critical log entries were last acknowledged (Unix ms).
    log_acks: Mutex<std::collections::HashMap<MacAddr, i64>>,
}

struct Emitter {
    observers: Vec<Arc<dyn Observer>>,
    seq: u64,
}

/// A value that differs between processes (start time and PID), for event ids.
fn process_nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(now_ms());
    h.write_u32(std::process::id());
    h.finish()
}

pub use crate::model::now_ms;

impl Store {
    pub fn new(partition: &str) -> Store {
        Store {
            partition: partition.into(),
            entries: RwLock::new(BTreeMap::new()),
            emit: Mutex::new(Emitter {
                observers: Vec::new(),
                seq: 0,
            }),
            nonce: process_nonce(),
            log_acks: Mutex::default(),
        }
    }

    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The partition name, shared (for the snapshots polled into this store).
    pub fn partition_shared(&self) -> Arc<str> {
        self.partition.clone()
    }

    /// Adds an observer that sees every later change, in order, with no chance of lagging.
    pub fn observe(&self, observer: Arc<dyn Observer>) {
        self.emitter().observers.push(observer);
    }

    fn emitter(&self) -> std::sync::MutexGuard<'_, Emitter> {
        self.emit.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn changed(&self, mac: MacAddr) {
        for o in &self.emitter().observers {
            o.changed(mac);
        }
    }

    /// Emits an event about `mac` (the command layer reports results this way).
    pub fn emit(&self, mac: MacAddr, kind: EventKind) {
        // As NATS subscribers see it (JSON), not in Rust's debug form.
        let json = serde_json::to_string(&kind).unwrap_or_default();
        tracing::info!(bmc.mac = %mac, event = %json, "bmc event");
        let mut emitter = self.emitter();
        let seq = emitter.seq;
        emitter.seq += 1;
        let event = Event {
            schema_version: SCHEMA_VERSION,
            id: format!("{}-{:016x}-{seq}", self.partition, self.nonce),
            partition: self.partition.to_string(),
            mac,
            at_ms: now_ms(),
            kind,
        };
        for o in &emitter.observers {
            o.event(&event);
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<MacAddr, Entry>> {
        // A panic while holding the lock cannot leave an entry half-written (we only swap values).
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<MacAddr, Entry>> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds or updates a discovered target. An unchanged target keeps the copy already stored.
    pub fn upsert_target(&self, target: impl Into<Arc<Target>>) {
        let target: Arc<Target> = target.into();
        let mac = target.mac;
        let change = {
            let mut map = self.write();
            match map.get_mut(&mac) {
                Some(e) => {
                    let old = e.target.ip;
                    if e.target != target {
                        e.target = target.clone();
                    }
                    (old != target.ip).then_some(EventKind::IpChanged {
                        old,
                        new: target.ip,
                    })
                }
                None => {
                    let ip = target.ip;
                    map.insert(
                        mac,
                        Entry {
                            target,
                            snapshot: None,
                        },
                    );
                    Some(EventKind::Discovered { ip })
                }
            }
        };
        if let Some(kind) = change {
            self.emit(mac, kind);
        }
    }

    /// Forgets a BMC whose lease is gone.
    pub fn remove(&self, mac: MacAddr) {
        let removed = self.write().remove(&mac);
        if let Some(e) = removed {
            self.changed(mac);
            self.emit(mac, EventKind::Gone { ip: e.target.ip });
        }
    }

    /// Adds a BMC taken over from a peer catcher: like [`Store::upsert_target`], but a BMC new to
    /// this store makes no `discovered` event (the peer announced it long ago).
    pub fn adopt(&self, target: impl Into<Arc<Target>>) {
        let target: Arc<Target> = target.into();
        let mac = target.mac;
        if let std::collections::btree_map::Entry::Vacant(v) = self.write().entry(mac) {
            v.insert(Entry {
                target,
                snapshot: None,
            });
            return;
        }
        self.upsert_target(target);
    }

    /// Forgets a BMC handed over to a peer catcher, quietly: no `gone` event, and the observers
    /// are told before it leaves (so a KV mirror never reads it missing and deletes its key).
    pub fn release(&self, mac: MacAddr) {
        for o in &self.emitter().observers {
            o.released(mac);
        }
        self.write().remove(&mac);
    }

    /// Stores a poll result and emits what changed. A snapshot of a BMC removed meanwhile is dropped.
    pub fn record(&self, snap: BmcSnapshot) {
        let mut snap = snap;
        let mac = snap.mac;
        let previous = {
            let mut map = self.write();
            let Some(entry) = map.get_mut(&mac) else {
                return;
            };
            let prev = entry.snapshot.take();
            if let Some(p) = &prev {
                snap.issues = p.issues.clone();
            }
            if !snap.up {
                snap.last_success_ms = prev.as_ref().and_then(|p| p.last_success_ms);
            }
            // A poll that read no log keeps the entries read before (none of them new).
            if snap.reading.logs.is_none()
                && let Some(mut logs) = prev.as_ref().and_then(|p| p.reading.logs.clone())
            {
                logs.fresh = Vec::new();
                logs.cleared = Vec::new();
                snap.reading.logs = Some(logs);
            }
            self.drop_acknowledged(&mut snap);
            let snap = Arc::new(snap);
            entry.snapshot = Some(snap.clone());
            (prev, snap)
        };
        let (previous, snap) = previous;
        self.changed(mac);
        for kind in changes(previous.as_deref(), &snap) {
            self.emit(mac, kind);
        }
    }

    /// Stores each BMC's issues (the issue evaluation's result) in its snapshot, emitting
    /// `issue-raised` / `issue-cleared` for what changed.
    pub fn apply_issues(&self, mut issues: BTreeMap<MacAddr, Vec<Issue>>) {
        let mut events = Vec::new();
        let mut changed = Vec::new();
        {
            let mut map = self.write();
            for (mac, entry) in map.iter_mut() {
                let Some(current) = entry.snapshot.as_mut() else {
                    continue;
                };
                let new = issues.remove(mac).unwrap_or_default();
                // Compared before `make_mut`: a snapshot a reader holds (a /metrics render of the
                // whole fleet) is copied only when its issues really change.
                if current.issues == new {
                    continue;
                }
                let snap = Arc::make_mut(current);
                for i in &new {
                    if !snap.issues.iter().any(|o| o.kind == i.kind) {
                        events.push((
                            *mac,
                            EventKind::IssueRaised {
                                issue: i.kind,
                                severity: i.severity,
                                detail: i.detail.to_string(),
                            },
                        ));
                    }
                }
                for o in &snap.issues {
                    if !new.iter().any(|i| i.kind == o.kind) {
                        events.push((*mac, EventKind::IssueCleared { issue: o.kind }));
                    }
                }
                snap.issues = new;
                changed.push(*mac);
            }
        }
        for mac in changed {
            self.changed(mac);
        }
        for (mac, kind) in events {
            self.emit(mac, kind);
        }
    }

    /// Acknowledges the critical entries of `mac`'s log read so far: `bmc-log-critical` clears at
    /// the next issue evaluation (a later critical entry raises it again). False: no such BMC.
    pub fn ack_logs(&self, mac: MacAddr) -> bool {
        let mut map = self.write();
        let Some(entry) = map.get_mut(&mac) else {
            return false;
        };
        tracing::info!(bmc.mac = %mac, "critical log entries acknowledged");
        self.log_acks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(mac, now_ms());
        if let Some(snap) = entry.snapshot.as_mut()
            && snap
                .reading
                .logs
                .as_ref()
                .is_some_and(|l| l.last_critical.is_some())
        {
            let snap = Arc::make_mut(snap);
            self.drop_acknowledged(snap);
        }
        true
    }

    /// Forgets the snapshot's newest critical log entry when it was acknowledged.
    fn drop_acknowledged(&self, snap: &mut BmcSnapshot) {
        let acked = self
            .log_acks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&snap.mac)
            .copied();
        if let (Some(acked), Some(logs)) = (acked, snap.reading.logs.as_mut())
            && logs
                .last_critical
                .as_ref()
                .is_some_and(|c| c.seen_ms <= acked)
        {
            logs.last_critical = None;
        }
    }

    /// Records a power state read outside a poll (after a command), emitting `power-changed`.
    pub fn record_power(&self, mac: MacAddr, power: PowerState) {
        let old = {
            let mut map = self.write();
            let Some(snap) = map
                .get_mut(&mac)
                .and_then(|e| e.snapshot.as_mut())
                .map(Arc::make_mut)
            else {
                return;
            };
            let old = snap.reading.power.ok().copied();
            if old == Some(power) {
                return;
            }
            snap.reading.power = crate::model::Field::Ok(power);
            old
        };
        self.changed(mac);
        if let Some(old) = old {
            self.emit(mac, EventKind::PowerChanged { old, new: power });
        }
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.read().values().cloned().collect()
    }

    pub fn snapshots(&self) -> Vec<BmcSnapshot> {
        self.read()
            .values()
            .filter_map(|e| e.snapshot.as_deref().cloned())
            .collect()
    }

    /// Up to `n` entries after `after` (from the first when `None`), in MAC order: a page of the
    /// fleet without copying the rest of it.
    pub fn page(&self, after: Option<MacAddr>, n: usize) -> Vec<Entry> {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.read()
            .range((from, Bound::Unbounded))
            .take(n)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Where a page of `n` entries after `after` ends: the MAC of its last entry (`None`: the page
    /// is empty) and whether more entries follow it. Reads only the keys.
    pub fn page_end(&self, after: Option<MacAddr>, n: usize) -> (Option<MacAddr>, bool) {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let entries = self.read();
        let mut keys = entries.range((from, Bound::Unbounded)).map(|(m, _)| *m);
        let last = keys.by_ref().take(n).last();
        (last, keys.next().is_some())
    }

    pub fn get(&self, mac: MacAddr) -> Option<Entry> {
        self.read().get(&mac).cloned()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
