//! Component health and inventory against the DMTF public mockups served by sushy-static:
//! `poll-once` reports every drive, volume, DIMM, CPU, NIC port and firmware entry the mockup's
//! system holds, with the values of the mockup's own JSON files (read here, not copied).

use std::path::Path;
use std::process::Command;

use crate::common::*;
use serde_json::Value;

/// The mockup resource `/redfish/v1/<path>`.
pub(super) fn resource(mockup: &str, odata_id: &str) -> Value {
    let rel = odata_id.trim_start_matches("/redfish/v1").trim_matches('/');
    let file = Path::new(mockup).join(rel).join("index.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    serde_json::from_str(&text).expect("mockup JSON")
}

pub(super) fn members(mockup: &str, collection: &str) -> Vec<Value> {
    resource(mockup, collection)["Members"]
        .as_array()
        .expect("Members")
        .iter()
        .map(|m| resource(mockup, m["@odata.id"].as_str().expect("@odata.id")))
        .collect()
}

fn link<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v[key]["@odata.id"].as_str()
}

fn health(v: &Value) -> String {
    v["Status"]["Health"]
        .as_str()
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| "unknown".into())
}

/// The snapshot of the one BMC serving `mockup`.
fn poll_once(mockup: &str) -> Value {
    poll_once_mockup(mockup, "52:54:00:aa:00:17")
}

/// The snapshot's part of `kind` with `id`.
fn by_id<'a>(parts: &'a Value, id: &str) -> &'a Value {
    parts
        .as_array()
        .expect("parts")
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing in {parts}"))
}

/// Checks every component of the mockup's first system against the snapshot `s`.
fn check_components(mockup: &str, s: &Value) {
    let c = &s["components"];
    let systems = resource(mockup, "/redfish/v1/Systems");
    let sys = resource(
        mockup,
        systems["Members"][0]["@odata.id"].as_str().expect("system"),
    );
    let mut checked = 0;
    if let Some(storage) = link(&sys, "Storage") {
        for st in members(mockup, storage) {
            for d in st["Drives"].as_array().into_iter().flatten() {
                let want = resource(mockup, d["@odata.id"].as_str().expect("drive"));
                let got = by_id(
                    &c["storage"]["ok"]["drives"],
                    want["@odata.id"].as_str().expect("id"),
                );
                assert_eq!(got["health"], health(&want));
                assert_eq!(got["capacity_bytes"], want["CapacityBytes"]);
                assert_eq!(got["failure_predicted"], want["FailurePredicted"]);
                assert_eq!(got["media_type"], want["MediaType"]);
                assert_eq!(
                    got.get("life_left_percent"),
                    want.get("PredictedMediaLifeLeftPercent"),
                    "no zero the BMC did not give"
                );
                checked += 1;
            }
            if let Some(vols) = link(&st, "Volumes") {
                for want in members(mockup, vols) {
                    let got = by_id(
                        &c["storage"]["ok"]["volumes"],
                        want["@odata.id"].as_str().expect("id"),
                    );
                    assert_eq!(got["raid_type"], want["RAIDType"]);
                    assert_eq!(got["health"], health(&want));
                    checked += 1;
                }
            }
        }
    } else if let Some(simple) = link(&sys, "SimpleStorage") {
        let drives = c["storage"]["ok"]["drives"].as_array().expect("drives");
        let devices: Vec<Value> = members(mockup, simple)
            .iter()
            .flat_map(|s| s["Devices"].as_array().cloned().unwrap_or_default())
            .collect();
        assert_eq!(drives.len(), devices.len());
        for (got, want) in drives.iter().zip(&devices) {
            assert_eq!(got["name"], want["Name"]);
            assert_eq!(got["health"], health(want));
            assert_eq!(got.get("capacity_bytes"), want.get("CapacityBytes"));
            checked += 1;
        }
    }
    if let Some(memory) = link(&sys, "Memory") {
        for want in members(mockup, memory) {
            let got = by_id(&c["memory"]["ok"], want["@odata.id"].as_str().expect("id"));
            assert_eq!(got["health"], health(&want));
            assert_eq!(got.get("capacity_mib"), want.get("CapacityMiB"));
            checked += 1;
        }
    }
    if let Some(cpus) = link(&sys, "Processors") {
        for want in members(mockup, cpus) {
            let got = by_id(
                &c["processors"]["ok"],
                want["@odata.id"].as_str().expect("id"),
            );
            assert_eq!(got["health"], health(&want));
            assert_eq!(got.get("model"), want.get("Model"));
            checked += 1;
        }
    }
    if let Some(nics) = link(&sys, "EthernetInterfaces") {
        for want in members(mockup, nics) {
            let got = by_id(&c["network"]["ok"], want["@odata.id"].as_str().expect("id"));
            let link = match want["LinkStatus"].as_str() {
                Some("LinkUp") => Some("up"),
                Some("LinkDown") => Some("down"),
                Some("NoLink") => Some("no-link"),
                _ => None,
            };
            assert_eq!(got["link"].as_str(), link);
            assert_eq!(got["speed_mbps"].as_f64(), want["SpeedMbps"].as_f64());
            checked += 1;
        }
    }
    let root = resource(mockup, "/redfish/v1");
    if let Some(us) = link(&root, "UpdateService") {
        let inv = link(&resource(mockup, us), "FirmwareInventory").map(str::to_string);
        for want in members(mockup, inv.as_deref().expect("FirmwareInventory")) {
            let got = by_id(&c["firmware"]["ok"], want["Id"].as_str().expect("Id"));
            assert_eq!(got["name"], want["Name"]);
            assert_eq!(got["version"], want["Version"]);
            assert_eq!(got["updateable"], want["Updateable"]);
            checked += 1;
        }
    }
    assert!(checked > 0, "{mockup}: nothing compared");
}

#[test]
fn localstorage_drives_volumes_dimms_cpus_nics_as_the_mockup_says() {
    let s = poll_once(LOCALSTORAGE);
    check_components(LOCALSTORAGE, &s);
    let drives = s["components"]["storage"]["ok"]["drives"]
        .as_array()
        .expect("drives");
    assert_eq!(drives.len(), 4, "{drives:?}");
    let ctl = &s["components"]["storage"]["ok"]["controllers"][0];
    assert_eq!(ctl["firmware_version"], "1.0.0.7");
    let text = promtool_accepts_the_metrics_of(&s);
    for want in drives {
        let line = format!(
            "bmc_drive_health{{mac=\"52:54:00:aa:00:17\",drive=\"{}\"}} 0",
            want["id"].as_str().expect("id")
        );
        assert!(text.contains(&line), "{line} missing in\n{text}");
    }
}

/// `/metrics` of a store holding `s`, checked by promtool.
pub(super) fn promtool_accepts_the_metrics_of(s: &Value) -> String {
    use bmc_catcher::publish::metrics::{Format, registry, render};
    let snap: bmc_catcher::model::BmcSnapshot =
        serde_json::from_value(s.clone()).expect("a snapshot");
    let store = std::sync::Arc::new(bmc_catcher::store::Store::new("t"));
    store.upsert_target(bmc_catcher::model::Target {
        mac: snap.mac,
        ip: snap.ip,
        port: None,
        hostname: None,
        lease_ends: None,
    });
    store.record(snap);
    let stats = std::sync::Arc::new(bmc_catcher::poller::PollStats::default());
    let text = render(&registry(store, stats, 128), Format::Text).expect("render");
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("scrape.txt");
    std::fs::write(&file, &text).expect("write");
    let out = Command::new(which("promtool"))
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).expect("open"))
        .output()
        .expect("promtool");
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn rackmount1_simple_storage_memory_nics_and_firmware_as_the_mockup_says() {
    let s = poll_once(RACKMOUNT1);
    check_components(RACKMOUNT1, &s);
    let fw = s["components"]["firmware"]["ok"]
        .as_array()
        .expect("firmware");
    assert_eq!(fw.len(), 3, "every member listed, not Members@odata.count");
    let text = promtool_accepts_the_metrics_of(&s);
    assert!(
        text.contains(
            "bmc_firmware_info{mac=\"52:54:00:aa:00:17\",component=\"BMC\",version=\"1.45.455b66-rev4\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("bmc_nic_link_up{mac=\"52:54:00:aa:00:17\",port=\"/redfish/v1/Systems/437XR1138R2/EthernetInterfaces/12446A3B0411\"} 1"), "{text}");
}

#[test]
fn bladed_first_system_as_the_mockup_says() {
    let s = poll_once(BLADED);
    check_components(BLADED, &s);
}

/// The JBOF's system links no `EthernetInterfaces`: the ports of its chassis' `NetworkAdapters`
/// are the NIC ports, with the link state and speed their JSON files give.
#[test]
fn jbof_nic_ports_come_from_the_chassis_network_adapters() {
    let s = poll_once(JBOF);
    let ports = &s["components"]["network"]["ok"];
    let got = ports
        .as_array()
        .unwrap_or_else(|| panic!("network read: {}", s["components"]));
    let mut want = Vec::new();
    for adapter in members(JBOF, "/redfish/v1/Chassis/1/NetworkAdapters") {
        let ports = link(&adapter, "Ports").or_else(|| link(&adapter, "NetworkPorts"));
        want.extend(members(JBOF, ports.expect("ports")));
    }
    assert!(!want.is_empty());
    assert_eq!(got.len(), want.len(), "{got:?}");
    for w in &want {
        let g = by_id(ports, w["@odata.id"].as_str().expect("id"));
        let link = match w["LinkStatus"].as_str() {
            Some("Up" | "LinkUp") => Some("up"),
            Some("Down" | "LinkDown") => Some("down"),
            _ => None,
        };
        assert_eq!(g["link"].as_str(), link);
        let speed = w["CurrentSpeedGbps"]
            .as_f64()
            .map(|g| g * 1000.0)
            .or_else(|| w["CurrentLinkSpeedMbps"].as_f64());
        assert_eq!(
            g["speed_mbps"].as_f64(),
            speed,
            "no speed the BMC did not give"
        );
        assert_eq!(g["health"], health(w));
    }
    let text = promtool_accepts_the_metrics_of(&s);
    let line = format!(
        "bmc_nic_link_up{{mac=\"52:54:00:aa:00:17\",port=\"{}\"}} 1",
        want[0]["@odata.id"].as_str().expect("id")
    );
    assert!(text.contains(&line), "{line} missing in\n{text}");
}
