//! IPMI component sensors against ipmi_sim: a drive-slot and a memory sensor
//! (`ipmi_sim/components.emu`) whose states are set at run time through the emulator console.
//! `poll-once` (the issues as the daemon raises them) reports `drive-failed` and
//! `memory-degraded` once the fault bits are set and neither once they are reset, and the states
//! it reads are the ones ipmitool prints.

use crate::common::*;
use serde_json::Value;

/// One `poll-once` of the BMC at `cfg`: its snapshot.
fn poll_one(cfg: &std::path::Path) -> Value {
    poll_once(cfg).into_iter().next().expect("one snapshot")
}

fn issue_types(s: &Value) -> Vec<String> {
    s["issues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["type"].as_str().map(str::to_string))
        .collect()
}

/// The states ipmitool lists for a discrete sensor (`sdr elist`'s last column).
fn ipmitool_states(sim: &IpmiSim, sensor: &str) -> String {
    let list = sim.ipmitool(&["sdr", "elist"]);
    list.lines()
        .find(|l| l.split('|').next().is_some_and(|n| n.trim() == sensor))
        .and_then(|l| l.rsplit('|').next())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| panic!("no {sensor} in ipmitool's list:\n{list}"))
}

/// The health of the drive or DIMM named `name`.
fn health(s: &Value, name: &str) -> String {
    let c = &s["components"];
    let parts = match c["storage"]["ok"]["drives"].as_array() {
        Some(d) if name.starts_with("Drive") => d.clone(),
        _ => c["memory"]["ok"].as_array().cloned().unwrap_or_default(),
    };
    parts
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["health"].as_str())
        .unwrap_or_else(|| panic!("no {name} in {c}"))
        .to_string()
}

#[test]
fn drive_and_memory_sensor_states_set_at_run_time_raise_and_clear_their_issues() {
    let dir = tempfile::tempdir().expect("tmp");
    let ip = unique_ip();
    let sim = IpmiSim::start_with_components(dir.path(), "parts", ip);
    let cfg = ipmi_sim_config(dir.path(), "52:54:00:bb:00:17", ip);

    let healthy = poll_one(&cfg);
    assert_eq!(ipmitool_states(&sim, "Drive 0"), "Drive Present");
    assert_eq!(health(&healthy, "Drive 0"), "ok", "{healthy}");
    assert_eq!(health(&healthy, "DIMM A1"), "ok", "{healthy}");
    let types = issue_types(&healthy);
    assert!(
        !types
            .iter()
            .any(|t| t == "drive-failed" || t == "memory-degraded"),
        "{types:?}"
    );

    // Drive fault (drive slot offset 1) and uncorrectable ECC (memory offset 1), with events.
    sim.console(&[
        "sensor_set_bit 0x20 0 9 1 1 1",
        "sensor_set_bit 0x20 0 10 1 1 1",
    ]);
    let failed = poll_one(&cfg);
    assert_eq!(
        ipmitool_states(&sim, "Drive 0"),
        "Drive Present, Drive Fault"
    );
    assert_eq!(ipmitool_states(&sim, "DIMM A1"), "Uncorrectable ECC");
    assert_eq!(health(&failed, "Drive 0"), "critical", "{failed}");
    assert_eq!(health(&failed, "DIMM A1"), "critical", "{failed}");
    let types = issue_types(&failed);
    assert!(types.iter().any(|t| t == "drive-failed"), "{types:?}");
    assert!(types.iter().any(|t| t == "memory-degraded"), "{types:?}");

    // Reset: both clear.
    sim.console(&[
        "sensor_set_bit 0x20 0 9 1 0 1",
        "sensor_set_bit 0x20 0 10 1 0 1",
    ]);
    let cleared = poll_one(&cfg);
    assert_eq!(ipmitool_states(&sim, "Drive 0"), "Drive Present");
    assert_eq!(ipmitool_states(&sim, "DIMM A1"), "");
    assert_eq!(health(&cleared, "Drive 0"), "ok", "{cleared}");
    assert_eq!(health(&cleared, "DIMM A1"), "ok", "{cleared}");
    let types = issue_types(&cleared);
    assert!(
        !types
            .iter()
            .any(|t| t == "drive-failed" || t == "memory-degraded"),
        "{types:?}"
    );
}
