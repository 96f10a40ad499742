//! Pure decoding of a chassis `Sensors` collection: one `Sensor` resource into our [`Sensor`] (kind
//! from `ReadingType`, else `ReadingUnits`), the system power draw among them, and the merge of
//! the collection with the thermal subsystem's views (`ThermalMetrics`, `Fans`) so that a sensor
//! reached both ways (a view's `DataSourceUri` naming a member's `@odata.id`) counts once. Also
//! which `$expand` query a service root offers, so the collection costs one GET. No I/O.

use std::collections::HashSet;

use serde_json::Value;

use super::{absent, id, name, num, status_health, subsystem_fan, thermal_metrics};
use crate::model::{Budget, Sensor, SensorKind, Unit};

/// The kind, unit and what to divide the BMC's reading by to have it in that unit.
fn classify(rtype: &str, units: &str, fanlike: bool) -> (SensorKind, Unit, f64) {
    match (rtype, units) {
        ("Temperature", _) | (_, "Cel") => (SensorKind::Temperature, Unit::Celsius, 1.0),
        ("Voltage", _) | (_, "V") => (SensorKind::Voltage, Unit::Volts, 1.0),
        ("Power", _) | (_, "W") => (SensorKind::Power, Unit::Watts, 1.0),
        ("Current", _) | (_, "A") => (SensorKind::Current, Unit::Amperes, 1.0),
        ("Rotational", _) | (_, "RPM") | (_, "{rev}/min") => (SensorKind::Fan, Unit::Rpm, 1.0),
        ("EnergykWh", _) | (_, "kW.h") => (SensorKind::Energy, Unit::Kwh, 1.0),
        ("EnergyWh", _) | (_, "W.h") => (SensorKind::Energy, Unit::Kwh, 1e3),
        ("EnergyJoules", _) | (_, "J") => (SensorKind::Energy, Unit::Kwh, 3.6e6),
        ("Frequency", _) | (_, "Hz") => (SensorKind::Frequency, Unit::Hertz, 1.0),
        ("Percent", _) | (_, "%") if fanlike => (SensorKind::Fan, Unit::Percent, 1.0),
        ("Percent", _) | ("Humidity", _) | (_, "%") => (SensorKind::Percent, Unit::Percent, 1.0),
        _ => (SensorKind::Other, Unit::Other, 1.0),
    }
}

/// One `Sensor` resource. Kind from `ReadingType`, else from `ReadingUnits`; energy in kWh
/// whichever energy unit the BMC used.
pub fn sensor(v: &Value) -> Sensor {
    let units = v.get("ReadingUnits").and_then(Value::as_str).unwrap_or("");
    let rtype = v.get("ReadingType").and_then(Value::as_str).unwrap_or("");
    let ctx = v
        .get("PhysicalContext")
        .and_then(Value::as_str)
        .unwrap_or("");
    let nm = name(v, "sensor");
    let fanlike = ctx == "Fan" || nm.to_ascii_lowercase().contains("fan");
    let (kind, unit, divisor) = classify(rtype, units, fanlike);
    let threshold = |key: &str| {
        v.get("Thresholds")
            .and_then(|t| t.get(key))
            .and_then(|t| num(t, "Reading"))
            .map(|r| r / divisor)
    };
    Sensor {
        id: id(v, || nm.clone()),
        name: nm,
        kind,
        unit,
        reading: if absent(v) {
            None
        } else {
            num(v, "Reading").map(|r| r / divisor)
        },
        health: status_health(v),
        upper_critical: threshold("UpperCritical"),
        lower_critical: threshold("LowerCritical"),
    }
}

/// The system power draw among `Sensor` resources: a power sensor of the chassis as a whole.
pub fn total_power_sensor(v: &Value) -> Option<f64> {
    let ctx = v.get("PhysicalContext").and_then(Value::as_str)?;
    let is_power = v.get("ReadingType").and_then(Value::as_str) == Some("Power")
        || v.get("ReadingUnits").and_then(Value::as_str) == Some("W");
    (is_power && matches!(ctx, "Chassis" | "SystemBoard" | "PowerSubsystem"))
        .then(|| num(v, "Reading"))?
}

/// The `Sensor` a view's reading comes from: its `DataSourceUri`, or that of its `SpeedPercent`
/// (a `Fan` resource).
pub fn sensor_source(v: &Value) -> Option<&str> {
    v.get("DataSourceUri")
        .or_else(|| v.get("SpeedPercent")?.get("DataSourceUri"))
        .and_then(Value::as_str)
}

/// Every sensor once: the `Sensors` collection's `members` (already admitted by `budget` when
/// they were fetched), then the thermal subsystem's readings (`ThermalMetrics` temperatures, `Fan`
/// resources) that name no member as their source, as many as `budget` admits.
pub fn sensors_with_views(
    members: &[Value],
    metrics: Option<&Value>,
    fans: &[Value],
    budget: &mut Budget,
) -> Vec<Sensor> {
    let mut out: Vec<Sensor> = members.iter().map(sensor).collect();
    let known: HashSet<&str> = members
        .iter()
        .filter_map(|m| m.get("@odata.id").and_then(Value::as_str))
        .collect();
    let fresh = |v: &Value| sensor_source(v).is_none_or(|s| !known.contains(s));
    if let Some(metrics) = metrics {
        let mut left = metrics.clone();
        if let Some(a) = left
            .get_mut("TemperatureReadingsCelsius")
            .and_then(Value::as_array_mut)
        {
            a.retain(|t| fresh(t));
        }
        out.extend(thermal_metrics(&left, budget));
    }
    for fan in fans.iter().filter(|f| fresh(f)) {
        if budget.admit() {
            out.push(subsystem_fan(fan));
        }
    }
    out
}

/// The `$expand` query to append to a collection's URI when the service root says
/// (`ProtocolFeaturesSupported.ExpandQuery`) that it expands: its members then come in the one
/// answer. `None` when it does not say so.
pub fn expand_query(root: &Value) -> Option<&'static str> {
    let q = root.get("ProtocolFeaturesSupported")?.get("ExpandQuery")?;
    let yes = |k: &str| q.get(k).and_then(Value::as_bool) == Some(true);
    match (yes("NoLinks"), yes("ExpandAll"), yes("Levels")) {
        (true, _, true) => Some("$expand=.($levels=1)"),
        (true, _, false) => Some("$expand=."),
        (false, true, true) => Some("$expand=*($levels=1)"),
        (false, true, false) => Some("$expand=*"),
        (false, false, _) => None,
    }
}

#[cfg(test)]
mod tests;
