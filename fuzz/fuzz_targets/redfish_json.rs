//! Fuzzes the Redfish shape decoders (`hal::redfish::shapes`): the input is parsed with
//! `serde_json::from_slice` and every shapes function is applied to the document and to each
//! object and array element nested in it (bounded). A panic is a bug in the crate.
#![no_main]

use bmc_catcher::hal::redfish::shapes;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// At most this many nested values get the per-resource functions.
const MAX_NODES: usize = 256;

fn resource(v: &Value, metrics: Option<&Value>) {
    for key in [
        "Chassis", "Systems", "Managers", "Thermal", "Power", "Sensors", "Links",
    ] {
        let _ = shapes::link(v, key);
        let _ = shapes::first_link(v, key);
    }
    let _ = shapes::first_link(v, "ManagedBy");
    let _ = shapes::members(v);
    let _ = shapes::is_expanded(v);
    let _ = shapes::system(v);
    let _ = shapes::reset_target(v);
    let _ = shapes::reset_types(v);
    let _ = shapes::manager_firmware(v);
    let _ = shapes::legacy_thermal(v);
    let _ = shapes::legacy_power(v);
    let _ = shapes::thermal_metrics(v);
    let _ = shapes::subsystem_fan(v);
    let _ = shapes::subsystem_psu(v, None);
    let _ = shapes::subsystem_psu(v, metrics);
    let _ = shapes::environment_power(v);
    let _ = shapes::sensor(v);
    let _ = shapes::total_power_sensor(v);
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    // Breadth-first over the document and the values nested in it.
    let mut queue = std::collections::VecDeque::from([&doc]);
    let mut seen = 0;
    while let Some(v) = queue.pop_front() {
        if seen == MAX_NODES {
            break;
        }
        seen += 1;
        match v {
            Value::Object(o) => o.values().for_each(|c| queue.push_back(c)),
            Value::Array(a) => a.iter().for_each(|c| queue.push_back(c)),
            _ => {}
        }
        resource(v, Some(&doc));
    }
});
