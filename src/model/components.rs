//! The parts of a server that fail and are replaced: drives, RAID volumes, storage controllers,
//! DIMMs, CPUs, NIC ports, liquid-cooling parts, and the firmware inventory ([`Components`]).
//! Each group is a [`Field`] of its own, so one failing collection never hides the others; a
//! value the BMC did not give stays `None` (never a zero). Plain values, no I/O; the backends
//! build them, [`Components::bound`] caps them (see `bounds.rs`).

use serde::{Deserialize, Serialize};

use super::{Field, Health};

/// A reading's components. Boxed in [`Reading`](super::Reading) (most BMCs of a large fleet that
/// answer nothing carry none).
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Components {
    /// Controllers, drives and volumes (`Storage`, else `SimpleStorage`).
    pub storage: Field<Storage>,
    /// DIMMs (`Memory`, with `MemoryMetrics` where offered).
    pub memory: Field<Vec<Dimm>>,
    /// CPUs (`Processors`).
    pub processors: Field<Vec<Cpu>>,
    /// NIC ports (`EthernetInterfaces`).
    pub network: Field<Vec<NicPort>>,
    /// Firmware inventory (`UpdateService/FirmwareInventory`); read on the slow cadence.
    pub firmware: Field<Vec<Firmware>>,
    /// Pumps, coolant connectors and leak detectors of a liquid-cooled chassis.
    pub cooling: Field<Vec<CoolingPart>>,
    /// The chassis intrusion sensor, when the BMC has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intrusion: Option<Intrusion>,
    /// Parts the BMC reported beyond the per-kind bound: counted, not kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Components {
    /// Components of which every group failed the same way.
    pub fn all_failed(kind: super::ErrorKind, message: &str) -> Self {
        let m: std::sync::Arc<str> = message.into();
        Components {
            storage: Field::failed(kind, m.clone()),
            memory: Field::failed(kind, m.clone()),
            processors: Field::failed(kind, m.clone()),
            network: Field::failed(kind, m.clone()),
            firmware: Field::failed(kind, m.clone()),
            cooling: Field::failed(kind, m),
            intrusion: None,
            dropped: 0,
        }
    }

    /// The drives that were read (none when storage failed).
    pub fn drives(&self) -> &[Drive] {
        self.storage
            .ok()
            .map(|s| s.drives.as_slice())
            .unwrap_or(&[])
    }

    /// The volumes that were read.
    pub fn volumes(&self) -> &[Volume] {
        self.storage
            .ok()
            .map(|s| s.volumes.as_slice())
            .unwrap_or(&[])
    }
}

/// What every component has: a stable id (unique among its kind), a name, health and state.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// The Redfish `@odata.id` (or `MemberId`, `Id`), or the IPMI sensor key.
    pub id: String,
    pub name: String,
    pub health: Health,
    /// Redfish `Status.State` (`Enabled`, `Absent`, `Degraded`, ...), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl Part {
    /// True when the BMC says the part is not there (`Absent`).
    pub fn absent(&self) -> bool {
        self.state.as_deref() == Some("Absent")
    }
}

/// Storage controllers, drives and volumes.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Storage {
    pub controllers: Vec<StorageController>,
    pub drives: Vec<Drive>,
    pub volumes: Vec<Volume>,
}

/// One storage (RAID/HBA) controller and its cache battery.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorageController {
    #[serde(flatten)]
    pub part: Part,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    /// Health of the cache battery, when the controller reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery: Option<Health>,
}

/// One drive.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drive {
    #[serde(flatten)]
    pub part: Part,
    /// Redfish `FailurePredicted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_predicted: Option<bool>,
    /// Redfish `PredictedMediaLifeLeftPercent`, 0-100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub life_left_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_bytes: Option<u64>,
    /// `HDD`, `SSD`, `SMR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// One RAID volume (logical drive).
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    #[serde(flatten)]
    pub part: Part,
    /// `RAID0`, `RAID1`, `RAID5`, ... (Redfish `RAIDType`, else `VolumeType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raid_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_bytes: Option<u64>,
}

impl Volume {
    /// The volume is degraded or failed: health not OK, or a state that says so.
    pub fn degraded(&self) -> bool {
        matches!(self.part.health, Health::Warning | Health::Critical)
            || matches!(
                self.part.state.as_deref(),
                Some("Degraded") | Some("UnavailableOffline")
            )
    }
}

/// One DIMM.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dimm {
    #[serde(flatten)]
    pub part: Part,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_mib: Option<u64>,
    /// Correctable ECC errors (`MemoryMetrics` `CurrentPeriod`/`LifeTime`), when offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correctable_errors: Option<u64>,
    /// Uncorrectable ECC errors, when offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncorrectable_errors: Option<u64>,
}

/// One CPU.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    #[serde(flatten)]
    pub part: Part,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// Link state of a NIC port.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkStatus {
    Up,
    Down,
    /// No cable or no peer (Redfish `NoLink`).
    NoLink,
}

impl LinkStatus {
    /// Redfish `LinkStatus` (`LinkUp`, `LinkDown`, `NoLink`); other strings are not a state.
    pub fn from_redfish(s: &str) -> Option<Self> {
        match s {
            "LinkUp" => Some(LinkStatus::Up),
            "LinkDown" => Some(LinkStatus::Down),
            "NoLink" => Some(LinkStatus::NoLink),
            _ => None,
        }
    }
}

/// One NIC port (a host Ethernet interface).
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NicPort {
    #[serde(flatten)]
    pub part: Part,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<f64>,
    /// The port had a link at an earlier poll (since the daemon started): only such a port
    /// raises `nic-link-down` when it loses it, so unused ports stay quiet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub was_up: bool,
}

/// One firmware (software inventory) entry.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Firmware {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updateable: Option<bool>,
}

/// What a liquid-cooling part is.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoolingKind {
    Pump,
    CoolantConnector,
    LeakDetector,
}

/// One pump, coolant connector or leak detector.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoolingPart {
    #[serde(flatten)]
    pub part: Part,
    pub kind: CoolingKind,
}

/// The chassis intrusion sensor.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Intrusion {
    Normal,
    /// The chassis was opened (Redfish `HardwareIntrusion`, IPMI chassis status).
    Intruded,
    /// Redfish `TamperingDetected`.
    Tampered,
}

impl Intrusion {
    /// Redfish `PhysicalSecurity.IntrusionSensor`.
    pub fn from_redfish(s: &str) -> Option<Self> {
        match s {
            "Normal" => Some(Intrusion::Normal),
            "HardwareIntrusion" => Some(Intrusion::Intruded),
            "TamperingDetected" => Some(Intrusion::Tampered),
            _ => None,
        }
    }
}
