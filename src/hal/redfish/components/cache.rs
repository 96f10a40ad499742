//! What the component reads of one Redfish BMC remember between polls, and when each is due:
//! the firmware inventory (`[poll] inventory-interval`, and when the BMC's firmware changed), the
//! parts read in full (storage, DIMMs, CPUs, cooling: `[poll] component-interval`, and at once
//! when the system's health rollup moved or a part was unhealthy), and the NIC ports seen up.
//!
//! The parts are what a component read costs most: a legacy BMC serves each as a collection with
//! a member per drive or DIMM. Their health is what a BMC rolls up into its `ComputerSystem`'s
//! `Status.HealthRollup` (and `MemorySummary`/`ProcessorSummary`), read at every poll anyway, so a
//! drive that fails changes the rollup and is read at that poll; a rollup that holds costs no
//! part GET until the interval is up. A system that gives no rollup has its parts read every poll.
//!
//! A read the interval calls for falls at the BMC's own [`Slots`] within the interval, so a fleet
//! discovered at once (read at once) spreads its next reads over the interval like its polls
//! instead of repeating them all in one poll round a day later.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;

pub(super) use crate::hal::slots::Slots;

use crate::model::{
    CoolingPart, Cpu, Dimm, ErrorKind, Field, Firmware, Health, LinkStatus,
    MAX_COMPONENTS_PER_KIND, NicPort, Part, Storage,
};

/// The parts read in full, as last read.
#[derive(Debug, Clone)]
pub(super) struct Parts {
    pub storage: Field<Storage>,
    pub memory: Field<Vec<Dimm>>,
    pub processors: Field<Vec<Cpu>>,
    pub cooling: Field<Vec<CoolingPart>>,
}

/// A part that needs no closer look: absent, or healthy (or of no stated health).
fn fine(p: &Part) -> bool {
    p.absent() || matches!(p.health, Health::Ok | Health::Unknown)
}

/// Every member of a group that was read is fine; a group the BMC does not offer is too (it
/// will not have one at the next poll either), one that failed is not.
fn all_fine<T>(group: &Field<Vec<T>>, part: fn(&T) -> &Part) -> bool {
    match group {
        Field::Ok(v) => v.iter().all(|m| fine(part(m))),
        Field::Error(e) => e.kind == ErrorKind::Unsupported,
    }
}

impl Parts {
    /// Every group was read and no part in it is unhealthy: the rollup stands for them.
    fn quiet(&self) -> bool {
        let storage = match &self.storage {
            Field::Ok(s) => {
                s.controllers.iter().all(|c| fine(&c.part))
                    && s.drives
                        .iter()
                        .all(|d| fine(&d.part) && d.failure_predicted != Some(true))
                    && s.volumes.iter().all(|v| fine(&v.part) && !v.degraded())
            }
            Field::Error(e) => e.kind == ErrorKind::Unsupported,
        };
        storage
            && all_fine(&self.memory, |d| &d.part)
            && all_fine(&self.processors, |c| &c.part)
            && all_fine(&self.cooling, |c| &c.part)
    }
}

/// The longest health word kept of a rollup (`OK`, `Warning`, `Critical`; anything else is cut).
const MAX_WORD: usize = 16;

/// The health words of a `ComputerSystem` that roll up its parts, as one comparable line; `None`
/// when it gives none.
pub(super) fn rollup(sys: &Value) -> Option<String> {
    let words: Vec<String> = [
        "/Status/Health",
        "/Status/HealthRollup",
        "/MemorySummary/Status/HealthRollup",
        "/MemorySummary/Status/Health",
        "/ProcessorSummary/Status/HealthRollup",
        "/ProcessorSummary/Status/Health",
    ]
    .iter()
    .map(|p| {
        sys.pointer(p)
            .and_then(Value::as_str)
            .map(|w| w.chars().take(MAX_WORD).collect())
            .unwrap_or_default()
    })
    .collect();
    // `Status.Health` alone says nothing of the parts.
    words[1..]
        .iter()
        .any(|w| !w.is_empty())
        .then(|| words.join("/"))
}

/// What the component reads remember between polls.
#[derive(Debug, Default)]
pub(in crate::hal::redfish) struct InventoryCache {
    /// Ids of the ports that had a link at some poll (at most [`MAX_COMPONENTS_PER_KIND`]).
    seen_up: HashSet<String>,
    pub(super) firmware: Option<Field<Vec<Firmware>>>,
    read_at: Option<Instant>,
    /// The manager's `FirmwareVersion` when it was read: a change makes it due at once.
    bmc_firmware: Option<String>,
    parts: Option<Parts>,
    parts_at: Option<Instant>,
    /// The system's rollup when the parts were read.
    parts_rollup: Option<String>,
}

impl InventoryCache {
    /// Notes the ports up now and marks each port that was ever up.
    pub(super) fn mark_up(&mut self, ports: &mut [NicPort]) {
        for p in ports {
            if p.link == Some(LinkStatus::Up) && self.seen_up.len() < MAX_COMPONENTS_PER_KIND {
                self.seen_up.insert(p.part.id.clone());
            }
            p.was_up = self.seen_up.contains(&p.part.id);
        }
    }

    /// Makes the firmware inventory and the parts due at the next poll (the ports seen up are
    /// kept): `bmc-catcher refresh`.
    pub(in crate::hal::redfish) fn forget(&mut self) {
        self.read_at = None;
        self.parts_at = None;
    }

    /// Whether the firmware inventory is read at this poll: never read, its slot in `interval`
    /// came, or the BMC firmware changed.
    pub(super) fn due(
        &self,
        now: Instant,
        interval: Duration,
        slots: Slots,
        bmc_firmware: Option<&str>,
    ) -> bool {
        match (self.read_at, &self.firmware) {
            (Some(at), Some(_)) => {
                now >= slots.next(at, interval) || self.bmc_firmware.as_deref() != bmc_firmware
            }
            _ => true,
        }
    }

    /// Keeps a good firmware inventory read at `now` under the BMC firmware `bmc_firmware`.
    pub(super) fn keep_firmware(
        &mut self,
        read: &Field<Vec<Firmware>>,
        now: Instant,
        bmc_firmware: Option<&str>,
    ) {
        self.read_at = Some(now);
        self.bmc_firmware = bmc_firmware.map(str::to_string);
        self.firmware = Some(read.clone());
    }

    /// The parts as last read, when they need no read at this poll: read before their slot in
    /// `interval` came (zero: never), under the same `rollup`, and all quiet.
    pub(super) fn parts(
        &self,
        now: Instant,
        interval: Duration,
        slots: Slots,
        rollup: Option<&str>,
    ) -> Option<Parts> {
        let (Some(parts), Some(at), Some(rollup)) = (&self.parts, self.parts_at, rollup) else {
            return None;
        };
        let fresh = !interval.is_zero() && now < slots.next(at, interval);
        (fresh && self.parts_rollup.as_deref() == Some(rollup) && parts.quiet())
            .then(|| parts.clone())
    }

    /// Keeps the parts read at `now` under `rollup`.
    pub(super) fn keep_parts(&mut self, parts: &Parts, now: Instant, rollup: Option<String>) {
        self.parts = Some(parts.clone());
        self.parts_at = Some(now);
        self.parts_rollup = rollup;
    }
}

#[cfg(test)]
mod tests;
