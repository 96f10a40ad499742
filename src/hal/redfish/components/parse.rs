//! Pure decoding of the Redfish component resources into [`crate::model`] components: `Drive`,
//! `Volume`, `Storage` controllers, `SimpleStorage` devices, `Memory` (+ `MemoryMetrics`),
//! `Processor`, `EthernetInterface`, `NetworkAdapter` ports, `SoftwareInventory`, liquid-cooling
//! parts and the chassis
//! intrusion sensor. No I/O. A value the BMC does not give stays `None`, never a zero.

use serde_json::Value;

use crate::hal::redfish::shapes::{id, link, name, status_health, status_state, text};
use crate::model::{
    CoolingKind, CoolingPart, Cpu, Dimm, Drive, Firmware, Intrusion, LinkStatus, NicPort, Part,
    StorageController, Volume,
};

/// A non-negative integer (`CapacityBytes`, counts); a negative, fractional or huge value is not
/// one.
fn count(v: &Value, key: &str) -> Option<u64> {
    v.get(key)?.as_u64()
}

fn part(v: &Value, fallback_name: &str, fallback_id: impl FnOnce() -> String) -> Part {
    Part {
        id: id(v, fallback_id),
        name: name(v, fallback_name),
        health: status_health(v),
        state: status_state(v),
    }
}

/// One `Drive` resource.
pub fn drive(v: &Value) -> Drive {
    Drive {
        part: part(v, "drive", || "drive".into()),
        failure_predicted: v.get("FailurePredicted").and_then(Value::as_bool),
        life_left_percent: v
            .get("PredictedMediaLifeLeftPercent")
            .and_then(Value::as_f64),
        capacity_bytes: count(v, "CapacityBytes"),
        media_type: text(v, "MediaType"),
        model: text(v, "Model"),
    }
}

/// The devices of one `SimpleStorage` resource, as drives (they have no failure prediction).
pub fn simple_storage_devices(v: &Value) -> Vec<Drive> {
    let base = id(v, || "SimpleStorage".into());
    v.get("Devices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, d)| Drive {
            part: Part {
                id: format!("{base}#/Devices/{i}"),
                name: name(d, "drive"),
                health: status_health(d),
                state: status_state(d),
            },
            failure_predicted: None,
            life_left_percent: None,
            capacity_bytes: count(d, "CapacityBytes"),
            media_type: None,
            model: text(d, "Model"),
        })
        .collect()
}

/// A `SimpleStorage` resource as a controller.
pub fn simple_storage_controller(v: &Value) -> StorageController {
    StorageController {
        part: part(v, "storage controller", || "SimpleStorage".into()),
        model: None,
        firmware_version: None,
        battery: None,
    }
}

/// One storage controller: a member of a `Storage` resource's `StorageControllers` array or a
/// `StorageController` resource (`Storage/{id}/Controllers/{id}`). `battery` is the `Battery`
/// resource its `Links.Batteries` names, when fetched.
pub fn storage_controller(v: &Value, battery: Option<&Value>) -> StorageController {
    StorageController {
        part: part(v, "storage controller", || "controller".into()),
        model: text(v, "Model"),
        firmware_version: text(v, "FirmwareVersion"),
        battery: battery.map(status_health),
    }
}

/// The first battery a controller links (`Links.Batteries`).
pub fn controller_battery_link(v: &Value) -> Option<String> {
    super::super::shapes::first_link(v.get("Links")?, "Batteries")
}

/// The inline `StorageControllers` array of a `Storage` resource (deprecated in favour of the
/// `Controllers` collection, still what most BMCs serve).
pub fn inline_controllers(storage: &Value) -> Vec<&Value> {
    storage
        .get("StorageControllers")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// The drive links of a `Storage` resource (`Drives`).
pub fn drive_links(storage: &Value) -> Vec<String> {
    storage
        .get("Drives")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("@odata.id").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// One `Volume` resource.
pub fn volume(v: &Value) -> Volume {
    Volume {
        part: part(v, "volume", || "volume".into()),
        raid_type: text(v, "RAIDType").or_else(|| text(v, "VolumeType")),
        capacity_bytes: count(v, "CapacityBytes"),
    }
}

/// One `Memory` resource, with its `MemoryMetrics` when fetched: error counts from `LifeTime`,
/// else `CurrentPeriod`.
pub fn dimm(v: &Value, metrics: Option<&Value>) -> Dimm {
    let errors = |key: &str| {
        let m = metrics?;
        ["LifeTime", "CurrentPeriod"]
            .iter()
            .find_map(|period| m.get(*period).and_then(|p| count(p, key)))
    };
    Dimm {
        part: part(v, "DIMM", || "DIMM".into()),
        capacity_mib: count(v, "CapacityMiB"),
        correctable_errors: errors("CorrectableECCErrorCount"),
        uncorrectable_errors: errors("UncorrectableECCErrorCount"),
    }
}

/// One `Processor` resource.
pub fn cpu(v: &Value) -> Cpu {
    Cpu {
        part: part(v, "processor", || "processor".into()),
        model: text(v, "Model"),
    }
}

/// One `EthernetInterface` resource.
pub fn nic_port(v: &Value) -> NicPort {
    NicPort {
        part: part(v, "port", || "port".into()),
        link: v
            .get("LinkStatus")
            .and_then(Value::as_str)
            .and_then(LinkStatus::from_redfish),
        speed_mbps: v.get("SpeedMbps").and_then(Value::as_f64),
        was_up: false,
    }
}

/// One port of a chassis `NetworkAdapter`: a `Port` (`Ports`, `LinkStatus` `LinkUp`/`LinkDown`,
/// `CurrentSpeedGbps`) or a deprecated `NetworkPort` (`NetworkPorts`, `LinkStatus` `Up`/`Down`,
/// `CurrentLinkSpeedMbps`). A port's supported speeds are not its speed: no current speed, none.
pub fn adapter_port(v: &Value) -> NicPort {
    let link = v
        .get("LinkStatus")
        .and_then(Value::as_str)
        .and_then(|s| match s {
            "Up" => Some(LinkStatus::Up),
            "Down" => Some(LinkStatus::Down),
            s => LinkStatus::from_redfish(s),
        });
    let gbps = v
        .get("CurrentSpeedGbps")
        .and_then(Value::as_f64)
        .map(|g| g * 1000.0);
    NicPort {
        part: part(v, "port", || "port".into()),
        link,
        speed_mbps: gbps.or_else(|| v.get("CurrentLinkSpeedMbps").and_then(Value::as_f64)),
        was_up: false,
    }
}

/// The link to a `NetworkAdapter`'s ports: `Ports`, else the deprecated `NetworkPorts`.
pub fn adapter_ports_link(adapter: &Value) -> Option<String> {
    link(adapter, "Ports").or_else(|| link(adapter, "NetworkPorts"))
}

/// One `SoftwareInventory` resource.
pub fn firmware(v: &Value) -> Firmware {
    Firmware {
        id: text(v, "Id").unwrap_or_else(|| id(v, || "firmware".into())),
        name: name(v, "firmware"),
        version: text(v, "Version"),
        updateable: v.get("Updateable").and_then(Value::as_bool),
    }
}

/// One pump, coolant connector or leak detector.
pub fn cooling_part(v: &Value, kind: CoolingKind) -> CoolingPart {
    let fallback = match kind {
        CoolingKind::Pump => "pump",
        CoolingKind::CoolantConnector => "coolant connector",
        CoolingKind::LeakDetector => "leak detector",
    };
    let mut p = part(v, fallback, || fallback.into());
    // A leak detector says what it sees in `DetectorState` (OK / Warning / Critical).
    if kind == CoolingKind::LeakDetector
        && let Some(s) = v.get("DetectorState").and_then(Value::as_str)
    {
        p.health = worse(p.health, crate::model::Health::from_redfish(Some(s)));
    }
    CoolingPart { part: p, kind }
}

/// The worse of two healths, where unknown is no information (not the worst).
fn worse(a: crate::model::Health, b: crate::model::Health) -> crate::model::Health {
    use crate::model::Health::Unknown;
    match (a, b) {
        (Unknown, x) | (x, Unknown) => x,
        (a, b) => a.max(b),
    }
}

/// The chassis intrusion sensor (`PhysicalSecurity.IntrusionSensor`).
pub fn intrusion(chassis: &Value) -> Option<Intrusion> {
    chassis
        .get("PhysicalSecurity")?
        .get("IntrusionSensor")?
        .as_str()
        .and_then(Intrusion::from_redfish)
}

#[cfg(test)]
mod tests;
