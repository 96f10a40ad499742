//! The latest state of every BMC: its target (from discovery), its newest snapshot (from the poller)
//! and change detection, which turns differences between snapshots into [`Event`]s on a broadcast
//! channel (publishers subscribe; nobody waits on them).
//!
//! Locks are held only to copy or swap values, never across an await.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::model::{BmcSnapshot, ErrorKind, Health, MacAddr, PowerState, Target};

/// How many events a slow subscriber may lag behind before it misses some.
const EVENT_CAPACITY: usize = 4096;

/// A change worth telling someone about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EventKind {
    Discovered {
        ip: IpAddr,
    },
    Gone {
        ip: IpAddr,
    },
    IpChanged {
        old: IpAddr,
        new: IpAddr,
    },
    PowerChanged {
        old: PowerState,
        new: PowerState,
    },
    HealthChanged {
        component: String,
        old: Health,
        new: Health,
    },
    Unreachable {
        error: ErrorKind,
        message: String,
    },
    Recovered,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub schema_version: u32,
    pub partition: String,
    pub mac: MacAddr,
    pub at_ms: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// One BMC as the store knows it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub target: Target,
    pub snapshot: Option<BmcSnapshot>,
}

pub struct Store {
    partition: String,
    entries: RwLock<BTreeMap<MacAddr, Entry>>,
    events: broadcast::Sender<Event>,
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
            partition: partition.to_string(),
            entries: RwLock::new(BTreeMap::new()),
            events: broadcast::channel(EVENT_CAPACITY).0,
        }
    }

    pub fn partition(&self) -> &str {
        &self.partition
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn emit(&self, mac: MacAddr, kind: EventKind) {
        tracing::info!(bmc.mac = %mac, event = ?kind, "bmc event");
        // No subscriber is not an error: publishers are optional.
        let _ = self.events.send(Event {
            schema_version: crate::model::SCHEMA_VERSION,
            partition: self.partition.clone(),
            mac,
            at_ms: now_ms(),
            kind,
        });
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
            self.emit(mac, EventKind::Gone { ip: e.target.ip });
        }
    }

    /// Stores a poll result and emits what changed. A snapshot of a BMC removed meanwhile is dropped.
    pub fn record(&self, mut snap: BmcSnapshot) {
        let mac = snap.mac;
        let previous = {
            let mut map = self.write();
            let Some(entry) = map.get_mut(&mac) else {
                return;
            };
            let prev = entry.snapshot.take();
            if !snap.up {
                snap.last_success_ms = prev.as_ref().and_then(|p| p.last_success_ms);
            }
            entry.snapshot = Some(snap.clone());
            prev
        };
        for kind in changes(previous.as_ref(), &snap) {
            self.emit(mac, kind);
        }
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.read().values().cloned().collect()
    }

    pub fn snapshots(&self) -> Vec<BmcSnapshot> {
        self.read()
            .values()
            .filter_map(|e| e.snapshot.clone())
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
#[path = "store_tests.rs"]
mod tests;
