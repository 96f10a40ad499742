//! The component decoders against the DMTF mockup resources (tests/fixtures/redfish-mockups) and
//! against hostile or partial JSON.

use serde_json::{Value, json};

use super::*;
use crate::model::Health;

fn fixture(mockup: &str, path: &str) -> Value {
    let file = format!(
        "{}/tests/fixtures/redfish-mockups/{mockup}/{path}/index.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).expect("mockup JSON")
}

#[test]
fn a_drive_has_the_mockups_values() {
    let v = fixture(
        "public-localstorage",
        "Systems/437XR1138R2/Storage/1/Drives/32ADF365C6C1B7BD",
    );
    let d = drive(&v);
    assert_eq!(d.part.id, v["@odata.id"]);
    assert_eq!(d.part.health, Health::Ok);
    assert_eq!(d.part.state.as_deref(), Some("Enabled"));
    assert_eq!(d.capacity_bytes, v["CapacityBytes"].as_u64());
    assert_eq!(d.failure_predicted, Some(false));
    assert_eq!(d.media_type.as_deref(), Some("HDD"));
    assert_eq!(d.life_left_percent, None, "the mockup gives none: no zero");
}

#[test]
fn a_volume_has_its_raid_type_and_state() {
    let v = fixture(
        "public-localstorage",
        "Systems/437XR1138R2/Storage/1/Volumes/1",
    );
    let vol = volume(&v);
    assert_eq!(vol.raid_type.as_deref(), Some("RAID1"));
    assert_eq!(vol.capacity_bytes, v["CapacityBytes"].as_u64());
    assert!(!vol.degraded());
    let degraded = volume(&json!({"Id": "2", "Status": {"State": "Degraded", "Health": "OK"}}));
    assert!(degraded.degraded());
}

#[test]
fn simple_storage_devices_become_drives_with_unique_ids() {
    let v = fixture("public-rackmount1", "Systems/437XR1138R2/SimpleStorage/1");
    let drives = simple_storage_devices(&v);
    let devices = v["Devices"].as_array().expect("devices");
    assert_eq!(drives.len(), devices.len());
    for (d, dev) in drives.iter().zip(devices) {
        assert_eq!(d.part.name, dev["Name"]);
        assert_eq!(d.capacity_bytes, dev["CapacityBytes"].as_u64());
        assert_eq!(d.failure_predicted, None);
    }
    assert_eq!(drives[1].part.health, Health::Warning);
    assert!(drives[2].part.absent());
    assert_ne!(drives[0].part.id, drives[1].part.id);
}

#[test]
fn a_storage_controller_and_its_battery() {
    let s = fixture("public-localstorage", "Systems/437XR1138R2/Storage/1");
    let c = inline_controllers(&s);
    assert_eq!(c.len(), 1);
    let battery = json!({"Status": {"Health": "Critical"}});
    let ctl = storage_controller(c[0], Some(&battery));
    assert_eq!(ctl.model.as_deref(), Some("12Gbs Integrated RAID"));
    assert_eq!(ctl.firmware_version.as_deref(), Some("1.0.0.7"));
    assert_eq!(ctl.battery, Some(Health::Critical));
    assert_eq!(drive_links(&s).len(), 4);
}

#[test]
fn a_dimm_takes_error_counts_from_its_metrics_lifetime_first() {
    let v = fixture("public-rackmount1", "Systems/437XR1138R2/Memory/DIMM1");
    let d = dimm(&v, None);
    assert_eq!(d.capacity_mib, Some(32768));
    assert_eq!((d.correctable_errors, d.uncorrectable_errors), (None, None));
    let m = json!({
        "CurrentPeriod": {"CorrectableECCErrorCount": 1, "UncorrectableECCErrorCount": 0},
        "LifeTime": {"CorrectableECCErrorCount": 7}
    });
    let d = dimm(&v, Some(&m));
    assert_eq!(
        (d.correctable_errors, d.uncorrectable_errors),
        (Some(7), Some(0))
    );
}

#[test]
fn cpus_nics_and_firmware_from_the_mockup() {
    let c = cpu(&fixture(
        "public-rackmount1",
        "Systems/437XR1138R2/Processors/CPU1",
    ));
    assert_eq!(c.part.health, Health::Ok);
    let n = nic_port(&fixture(
        "public-rackmount1",
        "Systems/437XR1138R2/EthernetInterfaces/12446A3B0411",
    ));
    assert_eq!((n.link, n.speed_mbps), (Some(LinkStatus::Up), Some(1000.0)));
    let f = firmware(&fixture(
        "public-rackmount1",
        "UpdateService/FirmwareInventory/BMC",
    ));
    assert_eq!(
        (f.id.as_str(), f.version.as_deref(), f.updateable),
        ("BMC", Some("1.45.455b66-rev4"), Some(true))
    );
}

#[test]
fn hostile_values_are_not_numbers_and_missing_ones_stay_none() {
    let d = drive(&json!({
        "CapacityBytes": -5,
        "PredictedMediaLifeLeftPercent": "lots",
        "FailurePredicted": "yes",
        "Status": {"Health": "Broken"}
    }));
    assert_eq!(d.capacity_bytes, None);
    assert_eq!(d.life_left_percent, None);
    assert_eq!(d.failure_predicted, None);
    assert_eq!(d.part.health, Health::Unknown);
    let n = nic_port(&json!({"LinkStatus": "Sideways", "SpeedMbps": null}));
    assert_eq!((n.link, n.speed_mbps), (None, None));
    let dimm = dimm(
        &json!({}),
        Some(&json!({"LifeTime": {"CorrectableECCErrorCount": 1.5}})),
    );
    assert_eq!(dimm.correctable_errors, None);
    assert!(simple_storage_devices(&json!({"Devices": "many"})).is_empty());
}

#[test]
fn a_leak_detector_reports_what_it_detects_and_intrusion_is_read() {
    let leak = cooling_part(
        &json!({"Id": "L1", "DetectorState": "Critical", "Status": {"Health": "OK"}}),
        CoolingKind::LeakDetector,
    );
    assert_eq!(leak.part.health, Health::Critical);
    let quiet = cooling_part(&json!({"DetectorState": "OK"}), CoolingKind::LeakDetector);
    assert_eq!(quiet.part.health, Health::Ok);
    let chassis = json!({"PhysicalSecurity": {"IntrusionSensor": "HardwareIntrusion"}});
    assert_eq!(intrusion(&chassis), Some(Intrusion::Intruded));
    assert_eq!(intrusion(&json!({})), None);
}

#[test]
fn adapter_ports_have_the_mockups_values() {
    // A `Port` (public-acd): `LinkUp`/`LinkDown`, speed in Gbit/s.
    let up = fixture(
        "public-acd",
        "Chassis/1U/NetworkAdapters/Slot1/Ports/SC2KP1",
    );
    let p = adapter_port(&up);
    assert_eq!(p.part.id, up["@odata.id"].as_str().expect("id"));
    assert_eq!(p.link, Some(LinkStatus::Up));
    assert_eq!(
        p.speed_mbps,
        up["CurrentSpeedGbps"].as_f64().map(|g| g * 1000.0)
    );
    let down = adapter_port(&fixture(
        "public-acd",
        "Chassis/1U/NetworkAdapters/Slot2/Ports/SCFCP1",
    ));
    assert_eq!(down.link, Some(LinkStatus::Down));
    // A deprecated `NetworkPort` (public-nvmeof-jbof): `Up`, and only supported speeds, which
    // are not its speed.
    let np = fixture(
        "public-nvmeof-jbof",
        "Chassis/1/NetworkAdapters/1/NetworkPorts/1",
    );
    let p = adapter_port(&np);
    assert_eq!((p.link, p.speed_mbps), (Some(LinkStatus::Up), None));
    assert_eq!(
        adapter_ports_link(&fixture(
            "public-nvmeof-jbof",
            "Chassis/1/NetworkAdapters/1"
        ))
        .as_deref(),
        Some("/redfish/v1/Chassis/1/NetworkAdapters/1/NetworkPorts")
    );
    assert_eq!(
        adapter_ports_link(&fixture("public-acd", "Chassis/1U/NetworkAdapters/Slot1")).as_deref(),
        Some("/redfish/v1/Chassis/1U/NetworkAdapters/Slot1/Ports")
    );
    for v in [
        json!({"LinkStatus": 5, "CurrentSpeedGbps": "fast"}),
        json!(null),
        json!([1]),
    ] {
        let p = adapter_port(&v);
        assert_eq!((p.link, p.speed_mbps), (None, None));
        assert_eq!(adapter_ports_link(&v), None);
    }
}
