//! Every sensor a chassis offers, against the DMTF public-rackmount1 mockup served by
//! sushy-static: `poll-once` reports each member of `Chassis/1U/Sensors` once, with the reading and
//! the kind its JSON file gives (read here, not copied), whether the chassis also has the legacy
//! `Thermal`/`Power` resources (the mockup as published) or only `ThermalSubsystem`/
//! `PowerSubsystem` beside `Sensors` (the mockup with its legacy resources taken out).

use std::path::Path;

use serde_json::Value;

use super::redfish_components::{members, promtool_accepts_the_metrics_of, resource as read};
use crate::common::*;

const MAC: &str = "52:54:00:aa:00:18";

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// The kind and unit (as the snapshot spells them) of a mockup `Sensor`.
fn kind_of(v: &Value) -> (&'static str, &'static str) {
    let name = v["Name"].as_str().unwrap_or("").to_ascii_lowercase();
    match (v["ReadingType"].as_str(), v["ReadingUnits"].as_str()) {
        (_, Some("Cel")) => ("temperature", "celsius"),
        (Some("Voltage"), _) => ("voltage", "volts"),
        (Some("Current"), _) => ("current", "amperes"),
        (Some("Power"), _) => ("power", "watts"),
        (Some("EnergykWh"), _) => ("energy", "kwh"),
        (Some("Frequency"), _) => ("frequency", "hertz"),
        (Some("Percent"), _) if name.contains("fan") => ("fan", "percent"),
        (Some("Percent"), _) => ("percent", "percent"),
        other => panic!("a sensor type this test does not know: {other:?}"),
    }
}

/// Every member of the chassis `Sensors` collection is in the snapshot once, as its file says.
fn check_every_sensor(mockup: &str, s: &Value) -> usize {
    let got = s["sensors"]["ok"].as_array().expect("sensors read");
    let want = members(mockup, "/redfish/v1/Chassis/1U/Sensors");
    assert_eq!(
        read(mockup, "/redfish/v1/Chassis/1U/Sensors")["Members@odata.count"].as_u64(),
        Some(want.len() as u64)
    );
    assert_eq!(got.len(), want.len(), "each sensor once: {got:?}");
    for w in &want {
        let id = w["@odata.id"].as_str().expect("id");
        let g = got
            .iter()
            .find(|g| g["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing in {got:?}"));
        assert_eq!(g["name"], w["Name"], "{id}");
        let (kind, unit) = kind_of(w);
        assert_eq!(
            (g["kind"].as_str(), g["unit"].as_str()),
            (Some(kind), Some(unit)),
            "{id}"
        );
        let absent = w["Status"]["State"] == "Absent";
        let reading = if absent { None } else { w["Reading"].as_f64() };
        assert_eq!(g["reading"].as_f64(), reading, "{id}");
        let health = w["Status"]["Health"].as_str().map(str::to_ascii_lowercase);
        assert_eq!(
            g["health"].as_str(),
            Some(health.as_deref().unwrap_or("unknown")),
            "{id}"
        );
    }
    want.len()
}

#[test]
fn a_chassis_with_subsystems_and_sensors_reports_every_sensor() {
    let dir = tempfile::tempdir().expect("tmp");
    let mockup = dir.path().join("rackmount1-without-legacy");
    copy_tree(Path::new(RACKMOUNT1), &mockup);
    let chassis_file = mockup.join("Chassis/1U/index.json");
    let mut chassis: Value =
        serde_json::from_str(&std::fs::read_to_string(&chassis_file).expect("chassis"))
            .expect("JSON");
    for k in [
        "Thermal",
        "Power",
        "Thermal@Redfish.Deprecated",
        "Power@Redfish.Deprecated",
    ] {
        chassis.as_object_mut().expect("object").remove(k);
    }
    std::fs::write(&chassis_file, chassis.to_string()).expect("write");
    std::fs::remove_dir_all(mockup.join("Chassis/1U/Thermal")).expect("rm Thermal");
    std::fs::remove_dir_all(mockup.join("Chassis/1U/Power")).expect("rm Power");

    let mockup = mockup.to_str().expect("utf-8");
    let s = poll_once_mockup(mockup, MAC);
    let n = check_every_sensor(mockup, &s);
    // The thermal subsystem alone gives two temperatures and four fans.
    let views = read(
        mockup,
        "/redfish/v1/Chassis/1U/ThermalSubsystem/ThermalMetrics",
    )["TemperatureReadingsCelsius"]
        .as_array()
        .expect("readings")
        .len()
        + members(mockup, "/redfish/v1/Chassis/1U/ThermalSubsystem/Fans").len();
    assert!(n > 5 * views, "{n} sensors, {views} in the views");
    // PSUs from PowerSubsystem, draw from EnvironmentMetrics.
    let psus = s["psus"]["ok"].as_array().expect("psus");
    let want = members(
        mockup,
        "/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies",
    );
    assert_eq!(psus.len(), want.len());
    for w in &want {
        assert!(psus.iter().any(|p| p["id"] == w["@odata.id"]), "{w}");
    }
    let env = read(mockup, "/redfish/v1/Chassis/1U/EnvironmentMetrics");
    assert_eq!(
        s["power_metrics"]["ok"]["consumed_watts"].as_f64(),
        env["PowerWatts"]["Reading"].as_f64()
    );
    assert_eq!(s["dropped"]["sensors"].as_u64().unwrap_or(0), 0);

    let text = promtool_accepts_the_metrics_of(&s);
    let kwh = read(mockup, "/redfish/v1/Chassis/1U/Sensors/TotalEnergy")["Reading"]
        .as_f64()
        .expect("energy");
    let hz = read(mockup, "/redfish/v1/Chassis/1U/Sensors/PS1Frequency")["Reading"]
        .as_f64()
        .expect("frequency");
    let soh = read(
        mockup,
        "/redfish/v1/Chassis/1U/Sensors/Battery1StateOfHealth",
    )["Reading"]
        .as_f64()
        .expect("state of health");
    for (family, id, value) in [
        ("bmc_energy_joules", "TotalEnergy", kwh * 3.6e6),
        ("bmc_frequency_hertz", "PS1Frequency", hz),
        ("bmc_sensor_percent", "Battery1StateOfHealth", soh),
    ] {
        let line = text
            .lines()
            .find(|l| {
                l.starts_with(family)
                    && l.contains(&format!(
                        "sensor_id=\"/redfish/v1/Chassis/1U/Sensors/{id}\""
                    ))
            })
            .unwrap_or_else(|| panic!("{family} {id} missing in\n{text}"));
        let got: f64 = line
            .rsplit(' ')
            .next()
            .expect("value")
            .parse()
            .expect("number");
        assert!((got - value).abs() < 1e-6 * value.abs().max(1.0), "{line}");
    }
}

#[test]
fn a_chassis_with_legacy_resources_and_sensors_reports_every_sensor_once() {
    let mockup = RACKMOUNT1;
    let s = poll_once_mockup(mockup, MAC);
    check_every_sensor(mockup, &s);
    // PSUs and draw from the legacy Power resource (one GET for both).
    let power = read(mockup, "/redfish/v1/Chassis/1U/Power");
    let psus = s["psus"]["ok"].as_array().expect("psus");
    let want = power["PowerSupplies"].as_array().expect("PowerSupplies");
    assert_eq!(psus.len(), want.len());
    for (g, w) in psus.iter().zip(want) {
        assert_eq!(g["id"], w["@odata.id"]);
        assert_eq!(
            g["health"].as_str(),
            w["Status"]["Health"]
                .as_str()
                .map(str::to_ascii_lowercase)
                .as_deref()
        );
    }
    assert_eq!(
        s["power_metrics"]["ok"]["consumed_watts"].as_f64(),
        power["PowerControl"][0]["PowerConsumedWatts"].as_f64()
    );
}
