//! Change detection: what differs between two consecutive snapshots of one BMC, as the
//! [`EventKind`]s the store emits (`unreachable`/`recovered`, `power-changed`, `health-changed`),
//! and the BMC log's new entries the backend found (`log-entry`, `log-cleared`).
//! Sensors and PSUs are matched by id, not by name.

use std::collections::BTreeMap;

use crate::model::{BmcSnapshot, ErrorKind, EventKind, Health};

/// Health and name per component (`psu:<id>`, `sensor:<id>`) in a snapshot: keyed by id, since
/// names repeat (two IPMI sensors named "Temp") and a repeated name would hide a change.
fn component_health(s: &BmcSnapshot) -> BTreeMap<String, (Health, &str)> {
    let mut out = BTreeMap::new();
    if let Some(psus) = s.reading.psus.ok() {
        for p in psus {
            out.insert(format!("psu:{}", p.id), (p.health, p.name.as_str()));
        }
    }
    if let Some(sensors) = s.reading.sensors.ok() {
        for x in sensors {
            out.insert(format!("sensor:{}", x.id), (x.health, x.name.as_str()));
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
                .map(|e| (e.kind, e.message.to_string()))
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
    if let Some(logs) = &new.reading.logs {
        for log in &logs.cleared {
            out.push(EventKind::LogCleared { log: log.clone() });
        }
        for entry in &logs.fresh {
            out.push(EventKind::LogEntry {
                entry: (**entry).clone(),
            });
        }
    }
    if let Some(prev) = prev {
        let before = component_health(prev);
        for (component, (h, name)) in component_health(new) {
            if let Some((old, _)) = before.get(&component)
                && *old != h
            {
                out.push(EventKind::HealthChanged {
                    component,
                    name: name.to_string(),
                    old: *old,
                    new: h,
                });
            }
        }
    }
    out
}
