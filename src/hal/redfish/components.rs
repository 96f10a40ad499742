//! The component half of a Redfish poll: NIC ports ([`network`]) and the chassis intrusion
//! sensor at every poll; storage (controllers, drives, volumes; `SimpleStorage` as the fallback),
//! memory (+ `MemoryMetrics`), processors and liquid-cooling parts when [`cache`] says they are
//! due (the system's health rollup moved, a part was unhealthy, or `[poll] component-interval`);
//! the firmware inventory on the slow cadence (`[poll] inventory-interval`, at the first poll,
//! and when the BMC's firmware changed).
//!
//! Follows the links the service gives (system, chassis, service root); members are fetched only
//! while a per-kind [`Budget`] of [`MAX_COMPONENTS_PER_KIND`] admits them. Each group fails alone.

mod cache;
mod network;
mod parse;

pub(super) use cache::InventoryCache;

use std::time::Instant;

use futures::stream::{self, StreamExt};
use serde_json::Value;

use super::{RedfishBmc, shapes};
use crate::hal::{HalError, field};
use crate::model::{
    Budget, Components, CoolingKind, CoolingPart, Cpu, Dimm, ErrorKind, Field, Firmware,
    MAX_COMPONENTS_PER_KIND, NicPort, Storage,
};

/// How many member GETs of one component collection are queued at once.
const FETCH_CONCURRENCY: usize = 4;

/// The component collections a `ComputerSystem` links.
const SYSTEM_GROUPS: [&str; 5] = [
    "Storage",
    "SimpleStorage",
    "Memory",
    "Processors",
    "EthernetInterfaces",
];

/// A group read, or why not: `Unsupported` when the system links no such collection (the
/// message names no address, so it is the same wherever the BMC is served from).
fn group<T>(r: Result<Option<T>, HalError>, key: &str) -> Field<T> {
    match r {
        Ok(Some(v)) => Field::Ok(v),
        Ok(None) => Field::failed(ErrorKind::Unsupported, format!("the system links no {key}")),
        Err(e) => field(Err(e)),
    }
}

/// Where a BMC keeps the components not linked from its system: found with the layout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ComponentLinks {
    /// `UpdateService/FirmwareInventory`.
    firmware: Option<String>,
    /// The chassis, when it has a `PhysicalSecurity` intrusion sensor.
    intrusion_chassis: Option<String>,
    /// `ThermalSubsystem/Pumps`, `CoolantConnectors`, `LeakDetection/LeakDetectors`.
    cooling: Vec<(CoolingKind, String)>,
    /// The chassis' `NetworkAdapters`: their ports stand in for `EthernetInterfaces` without a
    /// link state.
    network_adapters: Option<String>,
}

impl ComponentLinks {
    /// Notes these links and the component collections there are (those `sys`, the system
    /// document, links, and these) in a profile.
    pub(super) fn to_profile(&self, sys: &Value, p: &mut crate::model::RedfishProfile) {
        p.firmware_inventory = self.firmware.clone();
        p.network_adapters = self.network_adapters.clone();
        p.intrusion_chassis = self.intrusion_chassis.clone();
        p.cooling = self
            .cooling
            .iter()
            .map(|(kind, path)| crate::model::CoolingLink {
                kind: *kind,
                path: path.clone(),
            })
            .collect();
        p.collections = SYSTEM_GROUPS
            .iter()
            .filter(|k| shapes::link(sys, k).is_some())
            .map(|k| k.to_string())
            .chain(self.firmware.as_ref().map(|_| "FirmwareInventory".into()))
            .chain(
                self.network_adapters
                    .as_ref()
                    .map(|_| "NetworkAdapters".into()),
            )
            .chain(
                self.intrusion_chassis
                    .as_ref()
                    .map(|_| "PhysicalSecurity".into()),
            )
            .chain(self.cooling.iter().map(|(kind, _)| {
                match kind {
                    CoolingKind::Pump => "Pumps",
                    CoolingKind::CoolantConnector => "CoolantConnectors",
                    CoolingKind::LeakDetector => "LeakDetectors",
                }
                .to_string()
            }))
            .collect();
    }

    /// The links a profile remembers.
    pub(super) fn from_profile(p: &crate::model::RedfishProfile) -> ComponentLinks {
        ComponentLinks {
            firmware: p.firmware_inventory.clone(),
            intrusion_chassis: p.intrusion_chassis.clone(),
            cooling: p.cooling.iter().map(|c| (c.kind, c.path.clone())).collect(),
            network_adapters: p.network_adapters.clone(),
        }
    }
}

impl RedfishBmc {
    /// Finds the component links the system does not give (called with the layout).
    pub(super) async fn component_links(
        &self,
        root: &Value,
        chassis: Option<&Value>,
    ) -> ComponentLinks {
        let mut links = ComponentLinks::default();
        if let Some(us) = shapes::link(root, "UpdateService")
            && let Ok(doc) = self.session.get(&us).await
        {
            links.firmware = shapes::link(&doc, "FirmwareInventory");
        }
        let Some(chassis) = chassis else {
            return links;
        };
        links.network_adapters = shapes::link(chassis, "NetworkAdapters");
        if parse::intrusion(chassis).is_some() {
            links.intrusion_chassis = shapes::text(chassis, "@odata.id");
        }
        if let Some(ts) = shapes::link(chassis, "ThermalSubsystem")
            && let Ok(doc) = self.session.get(&ts).await
        {
            for (key, kind) in [
                ("Pumps", CoolingKind::Pump),
                ("CoolantConnectors", CoolingKind::CoolantConnector),
            ] {
                if let Some(p) = shapes::link(&doc, key) {
                    links.cooling.push((kind, p));
                }
            }
            if let Some(ld) = shapes::link(&doc, "LeakDetection")
                && let Ok(ld) = self.session.get(&ld).await
                && let Some(p) = shapes::link(&ld, "LeakDetectors")
            {
                links.cooling.push((CoolingKind::LeakDetector, p));
            }
        }
        links
    }

    /// Reads every component group of the system `sys` (its `ComputerSystem` document); `None`
    /// when the BMC links none of them. `bmc_firmware` is the manager's firmware version read by
    /// this poll.
    pub(super) async fn components(
        &self,
        sys: &Value,
        links: &ComponentLinks,
        bmc_firmware: Option<&str>,
    ) -> Option<Components> {
        let linked = SYSTEM_GROUPS.iter().any(|k| shapes::link(sys, k).is_some());
        if !linked && *links == ComponentLinks::default() {
            return None;
        }
        let rollup = cache::rollup(sys);
        let now = Instant::now();
        let kept = self.inventory.lock().await.parts(
            now,
            self.limits.component_interval,
            cache::Slots::of(self.info.mac),
            rollup.as_deref(),
        );
        let (parts, network, intrusion) = tokio::join!(
            async {
                match kept {
                    Some(p) => p,
                    None => {
                        let p = self.parts(sys, &links.cooling).await;
                        self.inventory.lock().await.keep_parts(&p, now, rollup);
                        p
                    }
                }
            },
            self.network(sys, links.network_adapters.as_deref()),
            self.get_opt(links.intrusion_chassis.as_deref()),
        );
        let firmware = self.firmware(links.firmware.as_deref(), bmc_firmware).await;
        let mut network = group::<Vec<NicPort>>(network, "EthernetInterfaces or NetworkAdapters");
        if let Field::Ok(ports) = &mut network {
            self.inventory.lock().await.mark_up(ports);
        }
        Some(Components {
            storage: parts.storage,
            memory: parts.memory,
            processors: parts.processors,
            network,
            firmware,
            cooling: parts.cooling,
            intrusion: intrusion.ok().flatten().as_ref().and_then(parse::intrusion),
            dropped: 0,
        })
    }

    /// Reads the parts in full: storage, DIMMs, CPUs, cooling parts.
    async fn parts(&self, sys: &Value, cooling: &[(CoolingKind, String)]) -> cache::Parts {
        let (storage, memory, processors, cooling) = tokio::join!(
            self.storage(sys),
            self.memory(sys),
            self.members_of(sys, "Processors", parse::cpu),
            self.cooling(cooling),
        );
        cache::Parts {
            storage: group(storage, "Storage or SimpleStorage"),
            memory: group(memory, "Memory"),
            processors: group::<Vec<Cpu>>(processors, "Processors"),
            cooling: field(cooling),
        }
    }

    /// GETs `paths` (at most [`MAX_COMPONENTS_PER_KIND`]), a few at a time, in order.
    async fn get_all(&self, paths: Vec<String>) -> Result<Vec<Value>, HalError> {
        stream::iter(paths.into_iter().take(MAX_COMPONENTS_PER_KIND))
            .map(|p| async move { self.session.get(&p).await })
            .buffered(FETCH_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// The members of the collection `doc[key]` links, each decoded by `decode`; `Unsupported`
    /// when `doc` links no such collection.
    async fn members_of<T>(
        &self,
        doc: &Value,
        key: &str,
        decode: fn(&Value) -> T,
    ) -> Result<Option<Vec<T>>, HalError> {
        let Some(path) = shapes::link(doc, key) else {
            return Ok(None);
        };
        let mut budget = Budget::new(MAX_COMPONENTS_PER_KIND);
        let members = self.collection(&path, &mut budget).await?;
        Ok(Some(members.iter().map(decode).collect()))
    }

    async fn storage(&self, sys: &Value) -> Result<Option<Storage>, HalError> {
        if let Some(path) = shapes::link(sys, "Storage") {
            let mut budget = Budget::new(MAX_COMPONENTS_PER_KIND);
            let mut out = Storage::default();
            for s in self.collection(&path, &mut budget).await? {
                self.one_storage(&s, &mut out).await?;
            }
            return Ok(Some(out));
        }
        let Some(path) = shapes::link(sys, "SimpleStorage") else {
            return Ok(None);
        };
        let mut budget = Budget::new(MAX_COMPONENTS_PER_KIND);
        let mut out = Storage::default();
        for s in self.collection(&path, &mut budget).await? {
            out.controllers.push(parse::simple_storage_controller(&s));
            out.drives.extend(parse::simple_storage_devices(&s));
        }
        Ok(Some(out))
    }

    /// Adds the controllers, drives and volumes of one `Storage` resource to `out`.
    async fn one_storage(&self, s: &Value, out: &mut Storage) -> Result<(), HalError> {
        let controllers: Vec<Value> = match shapes::link(s, "Controllers") {
            Some(c) if parse::inline_controllers(s).is_empty() => {
                self.collection(&c, &mut Budget::new(MAX_COMPONENTS_PER_KIND))
                    .await?
            }
            _ => parse::inline_controllers(s).into_iter().cloned().collect(),
        };
        for c in controllers.iter().take(MAX_COMPONENTS_PER_KIND) {
            let battery = match parse::controller_battery_link(c) {
                Some(b) => self.session.get(&b).await.ok(),
                None => None,
            };
            out.controllers
                .push(parse::storage_controller(c, battery.as_ref()));
        }
        let room = MAX_COMPONENTS_PER_KIND.saturating_sub(out.drives.len());
        let links: Vec<String> = parse::drive_links(s).into_iter().take(room).collect();
        out.drives
            .extend(self.get_all(links).await?.iter().map(parse::drive));
        if let Some(v) = shapes::link(s, "Volumes") {
            let mut budget = Budget::new(MAX_COMPONENTS_PER_KIND.saturating_sub(out.volumes.len()));
            out.volumes.extend(
                self.collection(&v, &mut budget)
                    .await?
                    .iter()
                    .map(parse::volume),
            );
        }
        Ok(())
    }

    async fn memory(&self, sys: &Value) -> Result<Option<Vec<Dimm>>, HalError> {
        let Some(path) = shapes::link(sys, "Memory") else {
            return Ok(None);
        };
        let mut budget = Budget::new(MAX_COMPONENTS_PER_KIND);
        let dimms = self.collection(&path, &mut budget).await?;
        let out = stream::iter(dimms)
            .map(|d| async move {
                // Error counts where offered; an absent slot has none to read.
                let metrics = match shapes::link(&d, "Metrics") {
                    Some(m) if shapes::status_state(&d).as_deref() != Some("Absent") => {
                        self.session.get(&m).await.ok()
                    }
                    _ => None,
                };
                parse::dimm(&d, metrics.as_ref())
            })
            .buffered(FETCH_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        Ok(Some(out))
    }

    async fn cooling(&self, links: &[(CoolingKind, String)]) -> Result<Vec<CoolingPart>, HalError> {
        let mut out = Vec::new();
        for (kind, path) in links {
            let mut budget = Budget::new(MAX_COMPONENTS_PER_KIND);
            let kind = *kind;
            out.extend(
                self.collection(path, &mut budget)
                    .await?
                    .iter()
                    .map(|v| parse::cooling_part(v, kind)),
            );
        }
        Ok(out)
    }

    /// The firmware inventory: read when due, else as last read.
    async fn firmware(
        &self,
        path: Option<&str>,
        bmc_firmware: Option<&str>,
    ) -> Field<Vec<Firmware>> {
        let Some(path) = path else {
            return Field::failed(
                ErrorKind::Unsupported,
                "the service root links no UpdateService/FirmwareInventory",
            );
        };
        let now = Instant::now();
        let mut cache = self.inventory.lock().await;
        if let Some(f) = &cache.firmware
            && !cache.due(
                now,
                self.limits.inventory_interval,
                cache::Slots::of(self.info.mac),
                bmc_firmware,
            )
        {
            return f.clone();
        }
        let mut budget = Budget::new(MAX_COMPONENTS_PER_KIND);
        let read = field(
            self.collection(path, &mut budget)
                .await
                .map(|m| m.iter().map(parse::firmware).collect::<Vec<_>>()),
        );
        // A failed read is retried at the next poll; a good one holds for the interval.
        if read.ok().is_some() {
            cache.keep_firmware(&read, now, bmc_firmware);
        }
        read
    }
}
