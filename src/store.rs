//! The latest state of every BMC: its target (from discovery), its newest snapshot (from the poller)
//! and change detection, which turns differences between snapshots into [`Event`]s on a broadcast
//! channel (publishers subscribe; nobody waits on them).
//!
//! Locks are held only to copy or swap values, never across an await.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use tokio::sync::broadcast;

use crate::model::{
    BmcSnapshot, ErrorKind, Event, EventKind, Health, Issue, MacAddr, PowerState, Target,
};

/// How many events a slow subscriber may lag behind before it misses some.
const EVENT_CAPACITY: usize = 4096;

/// One BMC as the store knows it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub target: Target,
    /// Shared, so readers (a scrape of the whole fleet) copy pointers, not snapshots.
    pub snapshot: Option<Arc<BmcSnapshot>>,
}

/// Receives every event synchronously as it is emitted (must not block: the NATS outbox).
pub trait EventSink: Send + Sync {
    fn push(&self, event: &Event);
}

pub struct Store {
    sinks: RwLock<Vec<std::sync::Arc<dyn EventSink>>>,
    partition: String,
    entries: RwLock<BTreeMap<MacAddr, Entry>>,
    events: broadcast::Sender<Event>,
    /// MACs whose snapshot changed or which were removed since the KV mirror last looked.
    dirty: std::sync::Mutex<std::collections::BTreeSet<MacAddr>>,
    dirty_notify: tokio::sync::Notify,
    nonce: u64,
    seq: std::sync::atomic::AtomicU64,
}

/// A value that differs between processes (start time and PID), for event ids.
fn process_nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(now_ms());
    h.write_u32(std::process::id());
    h.finish()
}

/// Milliseconds since the Unix epoch, from the wall clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Store {
    pub fn new(partition: &str) -> Store {
        Store {
            sinks: RwLock::new(Vec::new()),
            partition: partition.to_string(),
            entries: RwLock::new(BTreeMap::new()),
            events: broadcast::channel(EVENT_CAPACITY).0,
            dirty: std::sync::Mutex::new(std::collections::BTreeSet::new()),
            dirty_notify: tokio::sync::Notify::new(),
            nonce: process_nonce(),
            seq: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// Adds a sink that sees every later event, in order, with no chance of lagging.
    pub fn add_sink(&self, sink: std::sync::Arc<dyn EventSink>) {
        self.sinks
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(sink);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn mark_dirty(&self, mac: MacAddr) {
        self.dirty
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(mac);
        self.dirty_notify.notify_one();
    }

    /// Marks every known BMC for the KV mirror (after a reconnect).
    pub fn mark_all_dirty(&self) {
        let macs: Vec<MacAddr> = self.read().keys().copied().collect();
        self.dirty
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(macs);
        self.dirty_notify.notify_one();
    }

    /// Takes the MACs changed since the last call (one consumer: the KV mirror).
    pub fn take_dirty(&self) -> Vec<MacAddr> {
        std::mem::take(&mut *self.dirty.lock().unwrap_or_else(|p| p.into_inner()))
            .into_iter()
            .collect()
    }

    /// Puts MACs back that could not be mirrored.
    pub fn requeue_dirty(&self, macs: impl IntoIterator<Item = MacAddr>) {
        self.dirty
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(macs);
    }

    /// Resolves when something was marked dirty since the last wake-up.
    pub async fn dirty_changed(&self) {
        self.dirty_notify.notified().await;
    }

    /// Emits an event about `mac` (the command layer reports results this way).
    pub fn emit(&self, mac: MacAddr, kind: EventKind) {
        tracing::info!(bmc.mac = %mac, event = ?kind, "bmc event");
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let event = Event {
            schema_version: crate::model::SCHEMA_VERSION,
            id: format!("{}-{:016x}-{seq}", self.partition, self.nonce),
            partition: self.partition.clone(),
            mac,
            at_ms: now_ms(),
            kind,
        };
        for sink in self.sinks.read().unwrap_or_else(|p| p.into_inner()).iter() {
            sink.push(&event);
        }
        // No subscriber is not an error: publishers are optional.
        let _ = self.events.send(event);
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<MacAddr, Entry>> {
        // A panic while holding the lock cannot leave an entry half-written (we only swap values).
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<MacAddr, Entry>> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds or updates a discovered target.
    pub fn upsert_target(&self, target: Target) {
        let mac = target.mac;
        let change = {
            let mut map = self.write();
            match map.get_mut(&mac) {
                Some(e) => {
                    let old = e.target.ip;
                    e.target = target.clone();
                    (old != target.ip).then_some(EventKind::IpChanged {
                        old,
                        new: target.ip,
                    })
                }
                None => {
                    map.insert(
                        mac,
                        Entry {
                            target: target.clone(),
                            snapshot: None,
                        },
                    );
                    Some(EventKind::Discovered { ip: target.ip })
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
            self.mark_dirty(mac);
            self.emit(mac, EventKind::Gone { ip: e.target.ip });
        }
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
            let snap = Arc::new(snap);
            entry.snapshot = Some(snap.clone());
            (prev, snap)
        };
        let (previous, snap) = previous;
        self.mark_dirty(mac);
        for kind in changes(previous.as_deref(), &snap) {
            self.emit(mac, kind);
        }
    }

    /// Stores each BMC's issues (the issue evaluation's result) in its snapshot, emitting
    /// `issue-raised` / `issue-cleared` for what changed.
    pub fn apply_issues(&self, mut issues: BTreeMap<MacAddr, Vec<Issue>>) {
        let mut events = Vec::new();
        {
            let mut map = self.write();
            for (mac, entry) in map.iter_mut() {
                let Some(snap) = entry.snapshot.as_mut().map(Arc::make_mut) else {
                    continue;
                };
                let new = issues.remove(mac).unwrap_or_default();
                if snap.issues == new {
                    continue;
                }
                for i in &new {
                    if !snap.issues.iter().any(|o| o.kind == i.kind) {
                        events.push((
                            *mac,
                            EventKind::IssueRaised {
                                issue: i.kind,
                                severity: i.severity,
                                detail: i.detail.clone(),
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
                self.dirty
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(*mac);
            }
        }
        self.dirty_notify.notify_one();
        for (mac, kind) in events {
            self.emit(mac, kind);
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
        self.mark_dirty(mac);
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

/// Health per component (`psu:<name>`, `sensor:<name>`) in a snapshot.
fn component_health(s: &BmcSnapshot) -> BTreeMap<String, Health> {
    let mut out = BTreeMap::new();
    if let Some(psus) = s.reading.psus.ok() {
        for p in psus {
            out.insert(format!("psu:{}", p.name), p.health);
        }
    }
    if let Some(sensors) = s.reading.sensors.ok() {
        for x in sensors {
            out.insert(format!("sensor:{}", x.name), x.health);
        }
    }
    out
}

/// What differs between two consecutive snapshots of one BMC.
pub fn changes(prev: Option<&BmcSnapshot>, new: &BmcSnapshot) -> Vec<EventKind> {
    let mut out = Vec::new();
    let was_up = prev.map(|p| p.up);
    match (was_up, new.up) {
        (Some(true) | None, false) => {
            let (error, message) = new
                .reading
                .first_error()
                .map(|e| (e.kind, e.message.clone()))
                .unwrap_or((ErrorKind::Protocol, "no field could be read".into()));
            out.push(EventKind::Unreachable { error, message });
        }
        (Some(false), true) => out.push(EventKind::Recovered),
        _ => {}
    }
    if let (Some(old), Some(new_p)) = (
        prev.and_then(|p| p.reading.power.ok()),
        new.reading.power.ok(),
    ) && old != new_p
    {
        out.push(EventKind::PowerChanged {
            old: *old,
            new: *new_p,
        });
    }
    if let Some(prev) = prev {
        let before = component_health(prev);
        for (component, h) in component_health(new) {
            if let Some(old) = before.get(&component)
                && *old != h
            {
                out.push(EventKind::HealthChanged {
                    component,
                    old: *old,
                    new: h,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
