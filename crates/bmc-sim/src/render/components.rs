//! The Redfish rendering of a simulated BMC's [`SimParts`]: `Systems/1/Storage` (one controller,
//! its drives, a RAID1 volume), `Memory`, `Processors`, `EthernetInterfaces` and
//! `UpdateService/FirmwareInventory`. Collections carry their members expanded (as iDRAC's
//! `$expand` and many BMCs' inline members do), so a poll costs one GET per collection plus one
//! per drive, not one per part; every member is also served at its own `@odata.id`.

use serde_json::{Value, json};

use super::{health_str, link};
use crate::state::components::SimParts;

pub const SYSTEM: &str = "/redfish/v1/Systems/1";
pub const UPDATE_SERVICE: &str = "/redfish/v1/UpdateService";
const STORAGE: &str = "/redfish/v1/Systems/1/Storage";
const FIRMWARE: &str = "/redfish/v1/UpdateService/FirmwareInventory";

/// The collections a system links when its parts are served: (key, path).
pub const SYSTEM_LINKS: [(&str, &str); 4] = [
    ("Storage", "/redfish/v1/Systems/1/Storage"),
    ("Memory", "/redfish/v1/Systems/1/Memory"),
    ("Processors", "/redfish/v1/Systems/1/Processors"),
    (
        "EthernetInterfaces",
        "/redfish/v1/Systems/1/EthernetInterfaces",
    ),
];

/// True for the paths of the parts (whether or not this BMC serves them).
pub fn owns(path: &str) -> bool {
    path.starts_with(UPDATE_SERVICE)
        || SYSTEM_LINKS
            .iter()
            .any(|(_, p)| path == *p || path.strip_prefix(*p).is_some_and(|r| r.starts_with('/')))
}

/// Adds the links to the parts to the service root and the system, when they are served.
pub fn link_parts(p: &SimParts, path: &str, doc: &mut Value) {
    if !p.served {
        return;
    }
    match path {
        "/redfish/v1" => doc["UpdateService"] = link(UPDATE_SERVICE),
        SYSTEM => {
            for (key, target) in SYSTEM_LINKS {
                doc[key] = link(target);
            }
        }
        _ => {}
    }
}

fn status(health: crate::state::Health, state: &str) -> Value {
    json!({"State": state, "Health": health_str(health)})
}

/// A collection whose members are the documents themselves.
fn expanded(path: &str, name: &str, members: Vec<Value>) -> Value {
    json!({"@odata.id": path, "Name": name, "Members@odata.count": members.len(), "Members": members})
}

fn drive_path(id: &str) -> String {
    format!("{STORAGE}/1/Drives/{id}")
}

fn drives(p: &SimParts) -> Vec<Value> {
    p.drives
        .iter()
        .map(|d| {
            json!({"@odata.id": drive_path(&d.id), "Id": d.id, "Name": d.id,
                "Status": status(d.health, "Enabled"), "FailurePredicted": d.failure_predicted,
                "PredictedMediaLifeLeftPercent": d.life_left_percent, "CapacityBytes": d.capacity_bytes,
                "MediaType": "SSD", "Model": "SIM-SSD-960"})
        })
        .collect()
}

fn storage(p: &SimParts) -> Value {
    let path = format!("{STORAGE}/1");
    json!({"@odata.id": path, "Id": "1", "Name": "RAID Controller",
        "Status": status(crate::state::Health::Ok, "Enabled"),
        "StorageControllers": [{"MemberId": "0", "Name": "SIM RAID 9560", "Model": "SIM RAID 9560",
            "FirmwareVersion": "52.26.0", "Status": status(crate::state::Health::Ok, "Enabled")}],
        "Drives": p.drives.iter().map(|d| link(&drive_path(&d.id))).collect::<Vec<_>>(),
        "Volumes": link(&format!("{path}/Volumes"))})
}

fn volumes(p: &SimParts) -> Vec<Value> {
    let v = &p.volume;
    vec![
        json!({"@odata.id": format!("{STORAGE}/1/Volumes/{}", v.id), "Id": v.id, "Name": "Boot mirror",
        "RAIDType": v.raid_type, "CapacityBytes": v.capacity_bytes, "Status": status(v.health, v.state)}),
    ]
}

fn dimms(p: &SimParts) -> Vec<Value> {
    p.dimms
        .iter()
        .map(|d| {
            json!({"@odata.id": format!("{SYSTEM}/Memory/{}", d.id), "Id": d.id, "Name": d.id,
                "CapacityMiB": 32768, "Status": status(d.health, "Enabled")})
        })
        .collect()
}

fn cpus(p: &SimParts) -> Vec<Value> {
    p.cpus
        .iter()
        .map(|c| {
            json!({"@odata.id": format!("{SYSTEM}/Processors/{}", c.id), "Id": c.id, "Name": c.id,
                "Model": "SIM Xeon 6430", "Status": status(c.health, "Enabled")})
        })
        .collect()
}

fn nics(p: &SimParts) -> Vec<Value> {
    p.nics
        .iter()
        .map(|n| {
            let link_status = match n.link {
                Some(true) => "LinkUp",
                Some(false) => "LinkDown",
                None => "NoLink",
            };
            json!({"@odata.id": format!("{SYSTEM}/EthernetInterfaces/{}", n.id), "Id": n.id, "Name": n.id,
                "LinkStatus": link_status, "SpeedMbps": n.speed_mbps,
                "Status": status(crate::state::Health::Ok, "Enabled")})
        })
        .collect()
}

fn firmware(p: &SimParts) -> Vec<Value> {
    p.firmware()
        .iter()
        .map(|(id, name, version, updateable)| {
            json!({"@odata.id": format!("{FIRMWARE}/{id}"), "Id": id, "Name": name,
                "Version": version, "Updateable": updateable})
        })
        .collect()
}

/// The resource at `path` among the parts, or `None` (not a part's path, or parts not served).
pub fn render(p: &SimParts, path: &str) -> Option<Value> {
    if !p.served {
        return None;
    }
    let v = match path {
        UPDATE_SERVICE => {
            json!({"@odata.id": path, "Id": "UpdateService", "Name": "Update Service",
            "FirmwareInventory": link(FIRMWARE)})
        }
        FIRMWARE => expanded(path, "Firmware Inventory", firmware(p)),
        STORAGE => expanded(path, "Storage", vec![storage(p)]),
        "/redfish/v1/Systems/1/Storage/1/Volumes" => expanded(path, "Volumes", volumes(p)),
        "/redfish/v1/Systems/1/Memory" => expanded(path, "Memory", dimms(p)),
        "/redfish/v1/Systems/1/Processors" => expanded(path, "Processors", cpus(p)),
        "/redfish/v1/Systems/1/EthernetInterfaces" => {
            expanded(path, "Ethernet Interfaces", nics(p))
        }
        _ => return member(p, path),
    };
    Some(v)
}

/// One member at its own address.
fn member(p: &SimParts, path: &str) -> Option<Value> {
    let all = [
        vec![storage(p)],
        drives(p),
        volumes(p),
        dimms(p),
        cpus(p),
        nics(p),
        firmware(p),
    ];
    all.into_iter()
        .flatten()
        .find(|m| m.get("@odata.id").and_then(Value::as_str) == Some(path))
}
