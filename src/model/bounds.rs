//! What a poll keeps of what a BMC sends: the per-BMC [`Limits`] on sensors and PSUs, the
//! longest names and states kept, the count of what was [`Dropped`], and [`unique_ids`], which
//! makes each sensor's and PSU's id unique so every series it becomes is unique too; and the
//! bounds on [`Components`]: at most [`MAX_COMPONENTS_PER_KIND`] parts of each kind, strings cut.
//!
//! Backends stop building parts at the limits (they count the rest without building it);
//! [`Reading::bound`] then enforces every bound on whatever a backend returned, so one hostile
//! BMC costs at most the limits whatever backend read it.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

mod components;

use super::{Field, Inventory, Reading};

/// The longest sensor or PSU name (and id) and inventory string kept, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// The longest PSU state kept, in characters.
pub const MAX_STATE_CHARS: usize = 32;

/// The most parts of one kind (drives, volumes, controllers, DIMMs, CPUs, NIC ports, firmware
/// entries, cooling parts) kept of one BMC; the rest are counted in [`Components::dropped`].
/// Twice a 4-socket server's 96 DIMMs and a JBOD head's drives, with room.
pub const MAX_COMPONENTS_PER_KIND: usize = 256;

/// How many parts of one BMC a poll keeps (`[poll] max-sensors-per-bmc`, `max-psus-per-bmc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_sensors: usize,
    pub max_psus: usize,
    /// How much of the BMC's own log a poll reads and keeps (`[logs]`).
    pub logs: super::LogPolicy,
    /// How often the slow parts (firmware inventory) are read again (`[poll] inventory-interval`).
    pub inventory_interval: std::time::Duration,
    /// How often the component parts are read in full while the system's health rollup holds
    /// (`[poll] component-interval`; zero: at every poll).
    pub component_interval: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sensors: 1000,
            max_psus: 64,
            logs: super::LogPolicy::default(),
            inventory_interval: std::time::Duration::from_secs(24 * 3600),
            component_interval: std::time::Duration::from_secs(30 * 60),
        }
    }
}

/// How many parts the BMC reported beyond [`Limits`] in one poll: reported, not kept.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Dropped {
    #[serde(default)]
    pub sensors: u64,
    #[serde(default)]
    pub psus: u64,
}

impl Dropped {
    pub fn is_none(&self) -> bool {
        self.sensors == 0 && self.psus == 0
    }
}

/// Room left for parts of one kind in one poll: a backend asks [`Budget::admit`] before it
/// builds (or fetches) a part, so 50,000 reported sensors cost 1,000 built ones and a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    left: usize,
    /// Parts refused so far.
    pub dropped: u64,
}

impl Budget {
    pub fn new(max: usize) -> Self {
        Budget {
            left: max,
            dropped: 0,
        }
    }

    /// True while there is room (and takes it); else counts the part as dropped.
    pub fn admit(&mut self) -> bool {
        if self.left > 0 {
            self.left -= 1;
            true
        } else {
            self.dropped += 1;
            false
        }
    }
}

/// Cuts `s` to at most `max` characters, on a character boundary.
pub fn truncate_chars(s: &mut String, max: usize) {
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
    }
}

/// Makes the ids unique, keeping each first occurrence: an empty id becomes `"-"`, a repeated one
/// gets `~2`, `~3`, ... (the first free suffix). Stable while the BMC lists its parts in the same
/// order.
pub fn unique_ids<'a>(ids: impl IntoIterator<Item = &'a mut String>) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut next: HashMap<String, u64> = HashMap::new();
    for id in ids {
        if id.is_empty() {
            id.push('-');
        }
        if seen.insert(id.clone()) {
            continue;
        }
        let n = next.entry(id.clone()).or_insert(2);
        let unique = loop {
            let candidate = format!("{id}~{n}");
            *n += 1;
            if !seen.contains(&candidate) {
                break candidate;
            }
        };
        seen.insert(unique.clone());
        *id = unique;
    }
}

fn bound_inventory(inv: &mut Inventory) {
    for s in [
        &mut inv.uuid,
        &mut inv.manufacturer,
        &mut inv.model,
        &mut inv.serial,
        &mut inv.bios_version,
        &mut inv.bmc_firmware,
    ]
    .into_iter()
    .flatten()
    {
        truncate_chars(s, MAX_NAME_CHARS);
    }
}

impl Reading {
    /// Enforces `limits` and the string bounds on what a backend returned: parts beyond the
    /// limits are dropped and counted in [`Reading::dropped`], names, ids, states and inventory
    /// strings are cut, and ids are made unique.
    pub fn bound(&mut self, limits: &Limits) {
        if let Field::Ok(sensors) = &mut self.sensors {
            if sensors.len() > limits.max_sensors {
                self.dropped.sensors += (sensors.len() - limits.max_sensors) as u64;
                sensors.truncate(limits.max_sensors);
                sensors.shrink_to_fit();
            }
            for s in sensors.iter_mut() {
                truncate_chars(&mut s.name, MAX_NAME_CHARS);
                truncate_chars(&mut s.id, MAX_NAME_CHARS);
            }
            unique_ids(sensors.iter_mut().map(|s| &mut s.id));
        }
        if let Field::Ok(psus) = &mut self.psus {
            if psus.len() > limits.max_psus {
                self.dropped.psus += (psus.len() - limits.max_psus) as u64;
                psus.truncate(limits.max_psus);
                psus.shrink_to_fit();
            }
            for p in psus.iter_mut() {
                truncate_chars(&mut p.name, MAX_NAME_CHARS);
                truncate_chars(&mut p.id, MAX_NAME_CHARS);
                truncate_chars(&mut p.state, MAX_STATE_CHARS);
            }
            unique_ids(psus.iter_mut().map(|p| &mut p.id));
        }
        if let Field::Ok(inv) = &mut self.inventory {
            bound_inventory(inv);
        }
        if let Some(c) = &mut self.components {
            c.bound();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ErrorKind, Health, Psu, Sensor, SensorKind, Unit};

    fn sensor(id: &str, name: &str) -> Sensor {
        Sensor {
            id: id.into(),
            name: name.into(),
            kind: SensorKind::Temperature,
            unit: Unit::Celsius,
            reading: Some(20.0),
            health: Health::Ok,
            upper_critical: None,
            lower_critical: None,
        }
    }

    #[test]
    fn a_budget_admits_its_size_and_counts_the_rest() {
        let mut b = Budget::new(2);
        let admitted = (0..5).filter(|_| b.admit()).count();
        assert_eq!((admitted, b.dropped), (2, 3));
    }

    #[test]
    fn truncates_on_a_char_boundary() {
        let mut s = "é".repeat(200);
        truncate_chars(&mut s, MAX_NAME_CHARS);
        assert_eq!(s.chars().count(), 128);
        let mut short = "Temp".to_string();
        truncate_chars(&mut short, 128);
        assert_eq!(short, "Temp");
    }

    #[test]
    fn repeated_and_empty_ids_become_unique_and_stable() {
        let mut ids: Vec<String> = ["a", "a", "a~2", "", "", "b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        unique_ids(ids.iter_mut());
        assert_eq!(ids, ["a", "a~2", "a~2~2", "-", "-~2", "b"]);
        let mut again: Vec<String> = ["a", "a", "a~2", "", "", "b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        unique_ids(again.iter_mut());
        assert_eq!(ids, again);
    }

    #[test]
    fn bound_keeps_the_limit_counts_the_rest_and_cuts_strings() {
        let mut r = Reading::all_failed(ErrorKind::Protocol, "x");
        r.sensors = Field::Ok((0..10).map(|i| sensor(&i.to_string(), "Temp")).collect());
        r.psus = Field::Ok(vec![
            Psu {
                id: "p".into(),
                name: "x".repeat(1000),
                health: Health::Ok,
                state: "S".repeat(100),
                input_watts: None,
                output_watts: None,
                capacity_watts: None,
            };
            3
        ]);
        r.bound(&Limits {
            max_sensors: 4,
            max_psus: 2,
            ..Limits::default()
        });
        assert_eq!(r.sensors.ok().map(Vec::len), Some(4));
        let psus = r.psus.ok().expect("psus");
        assert_eq!(psus.len(), 2);
        assert_eq!(psus[0].name.len(), MAX_NAME_CHARS);
        assert_eq!(psus[0].state.len(), MAX_STATE_CHARS);
        assert_eq!((psus[0].id.as_str(), psus[1].id.as_str()), ("p", "p~2"));
        assert_eq!(
            r.dropped,
            Dropped {
                sensors: 6,
                psus: 1
            }
        );
    }
}
