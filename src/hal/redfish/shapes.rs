//! Pure decoding of Redfish JSON into our model, for the three ways a BMC can describe its thermal
//! and power state: legacy `Chassis/{id}/Thermal` + `Power`, the newer `ThermalSubsystem` /
//! `PowerSubsystem` resources, and the `Sensors` collection. Also the `ComputerSystem` and `Manager`
//! fields we read. No I/O: the backend fetches, these functions read `serde_json::Value`s. Array
//! members are built only while their [`Budget`] admits them: the rest are counted, not built.

use serde_json::Value;

use crate::model::{
    Budget, Health, Inventory, Led, PowerMetrics, PowerState, Psu, Sensor, SensorKind, Unit,
};

/// `v[key]["@odata.id"]`.
pub fn link(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.get("@odata.id")?.as_str().map(str::to_string)
}

/// The first `@odata.id` of a link array (`Links.Chassis`, `Links.ManagedBy`).
pub fn first_link(v: &Value, key: &str) -> Option<String> {
    v.get(key)?
        .as_array()?
        .first()?
        .get("@odata.id")?
        .as_str()
        .map(str::to_string)
}

/// The member URIs of a collection.
pub fn members(v: &Value) -> Vec<String> {
    v.get("Members")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|x| {
                    x.get("@odata.id")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// True when a collection member came back expanded (more than its `@odata.id`).
pub fn is_expanded(member: &Value) -> bool {
    member
        .as_object()
        .is_some_and(|o| o.keys().any(|k| !k.starts_with('@')))
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key)?.as_f64()
}

pub(super) fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)?
        .as_str()
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

pub(super) fn status_health(v: &Value) -> Health {
    Health::from_redfish(
        v.get("Status")
            .and_then(|s| s.get("Health"))
            .and_then(Value::as_str),
    )
}

pub(super) fn status_state(v: &Value) -> Option<String> {
    text(v.get("Status")?, "State")
}

fn absent(v: &Value) -> bool {
    matches!(
        status_state(v).as_deref(),
        Some("Absent") | Some("Disabled")
    )
}

pub(super) fn name(v: &Value, fallback: &str) -> String {
    text(v, "Name")
        .or_else(|| text(v, "FanName"))
        .or_else(|| text(v, "DeviceName"))
        .or_else(|| text(v, "MemberId"))
        .or_else(|| text(v, "Id"))
        .unwrap_or_else(|| fallback.to_string())
}

/// A part's stable identity, unique where its `Name` need not be: its `@odata.id` (legacy array
/// members have one too, `.../Thermal#/Temperatures/0`), else `MemberId`, the `DataSourceUri` of a
/// reading, `Id`, else `fallback` (its place in the array).
pub(super) fn id(v: &Value, fallback: impl FnOnce() -> String) -> String {
    text(v, "@odata.id")
        .or_else(|| text(v, "MemberId"))
        .or_else(|| text(v, "DataSourceUri"))
        .or_else(|| text(v, "Id"))
        .unwrap_or_else(fallback)
}

/// Power state, inventory and indicator LED from a `ComputerSystem`.
/// What a `ComputerSystem` resource says.
#[derive(Debug, Clone, PartialEq)]
pub struct System {
    pub power: Option<PowerState>,
    pub inventory: Inventory,
    pub led: Option<Led>,
}

pub fn system(v: &Value) -> System {
    let power = v
        .get("PowerState")
        .and_then(Value::as_str)
        .map(PowerState::from_redfish);
    let inventory = Inventory {
        uuid: text(v, "UUID"),
        manufacturer: text(v, "Manufacturer"),
        model: text(v, "Model"),
        serial: text(v, "SerialNumber"),
        bios_version: text(v, "BiosVersion"),
        bmc_firmware: None,
        tls_certificate_expires: None,
    };
    let led = match v.get("LocationIndicatorActive").and_then(Value::as_bool) {
        Some(true) => Some(Led::On),
        Some(false) => Some(Led::Off),
        None => v
            .get("IndicatorLED")
            .and_then(Value::as_str)
            .map(|s| match s {
                "Lit" => Led::On,
                "Off" => Led::Off,
                "Blinking" => Led::Blinking,
                _ => Led::Unknown,
            }),
    };
    System {
        power,
        inventory,
        led,
    }
}

/// The reset action target of a `ComputerSystem`.
pub fn reset_target(system: &Value) -> Option<String> {
    system
        .get("Actions")?
        .get("#ComputerSystem.Reset")?
        .get("target")?
        .as_str()
        .map(str::to_string)
}

/// The reset types a `ComputerSystem` allows (empty when it does not say).
pub fn reset_types(system: &Value) -> Vec<String> {
    system
        .get("Actions")
        .and_then(|a| a.get("#ComputerSystem.Reset"))
        .and_then(|r| r.get("ResetType@Redfish.AllowableValues"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `FirmwareVersion` of a `Manager`.
pub fn manager_firmware(v: &Value) -> Option<String> {
    text(v, "FirmwareVersion")
}

/// The members of array `key` of `v` that `budget` admits, with their places in the array.
fn admitted<'a>(
    v: &'a Value,
    key: &str,
    budget: &'a mut Budget,
) -> impl Iterator<Item = (usize, &'a Value)> + 'a {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(move |_| budget.admit())
}

/// Sensors from a legacy `Thermal` resource: temperatures and fans, as many as `budget` admits.
pub fn legacy_thermal(v: &Value, budget: &mut Budget) -> Vec<Sensor> {
    let mut out = Vec::new();
    for (i, t) in admitted(v, "Temperatures", budget) {
        out.push(Sensor {
            id: id(t, || format!("Temperatures/{i}")),
            name: name(t, "temperature"),
            kind: SensorKind::Temperature,
            unit: Unit::Celsius,
            reading: if absent(t) {
                None
            } else {
                num(t, "ReadingCelsius")
            },
            health: status_health(t),
            upper_critical: num(t, "UpperThresholdCritical"),
            lower_critical: num(t, "LowerThresholdCritical"),
        });
    }
    for (i, f) in admitted(v, "Fans", budget) {
        let unit = match f.get("ReadingUnits").and_then(Value::as_str) {
            Some("Percent") => Unit::Percent,
            _ => Unit::Rpm,
        };
        out.push(Sensor {
            id: id(f, || format!("Fans/{i}")),
            name: name(f, "fan"),
            kind: SensorKind::Fan,
            unit,
            reading: if absent(f) { None } else { num(f, "Reading") },
            health: status_health(f),
            upper_critical: num(f, "UpperThresholdCritical"),
            lower_critical: num(f, "LowerThresholdCritical"),
        });
    }
    out
}

/// PSUs, system power draw and voltages from a legacy `Power` resource, as many PSUs and voltages
/// as their budgets admit.
pub fn legacy_power(
    v: &Value,
    psu_budget: &mut Budget,
    sensor_budget: &mut Budget,
) -> (Vec<Psu>, PowerMetrics, Vec<Sensor>) {
    let control = v
        .get("PowerControl")
        .and_then(Value::as_array)
        .and_then(|a| a.first());
    let metrics = PowerMetrics {
        consumed_watts: control.and_then(|c| num(c, "PowerConsumedWatts")),
        capacity_watts: control.and_then(|c| num(c, "PowerCapacityWatts")),
    };
    let psus = admitted(v, "PowerSupplies", psu_budget)
        .map(|(i, p)| Psu {
            id: id(p, || format!("PowerSupplies/{i}")),
            name: name(p, "power supply"),
            health: status_health(p),
            state: status_state(p).unwrap_or_else(|| "Unknown".into()),
            input_watts: num(p, "PowerInputWatts"),
            output_watts: num(p, "LastPowerOutputWatts").or_else(|| num(p, "PowerOutputWatts")),
            capacity_watts: num(p, "PowerCapacityWatts"),
        })
        .collect();
    let voltages = admitted(v, "Voltages", sensor_budget)
        .map(|(i, s)| Sensor {
            id: id(s, || format!("Voltages/{i}")),
            name: name(s, "voltage"),
            kind: SensorKind::Voltage,
            unit: Unit::Volts,
            reading: if absent(s) {
                None
            } else {
                num(s, "ReadingVolts")
            },
            health: status_health(s),
            upper_critical: num(s, "UpperThresholdCritical"),
            lower_critical: num(s, "LowerThresholdCritical"),
        })
        .collect();
    (psus, metrics, voltages)
}

/// Temperatures from a `ThermalMetrics` resource (`ThermalSubsystem`), as many as `budget` admits.
pub fn thermal_metrics(v: &Value, budget: &mut Budget) -> Vec<Sensor> {
    admitted(v, "TemperatureReadingsCelsius", budget)
        .map(|(i, t)| Sensor {
            id: id(t, || format!("TemperatureReadingsCelsius/{i}")),
            name: name(t, "temperature"),
            kind: SensorKind::Temperature,
            unit: Unit::Celsius,
            reading: num(t, "Reading"),
            health: Health::Unknown,
            upper_critical: None,
            lower_critical: None,
        })
        .collect()
}

/// One `Fan` resource (`ThermalSubsystem/Fans/{id}`): RPM when given, else percent.
pub fn subsystem_fan(v: &Value) -> Sensor {
    let speed = v.get("SpeedPercent");
    let rpm = speed.and_then(|s| num(s, "SpeedRPM"));
    let (unit, reading) = match rpm {
        Some(r) => (Unit::Rpm, Some(r)),
        None => (Unit::Percent, speed.and_then(|s| num(s, "Reading"))),
    };
    let name = name(v, "fan");
    Sensor {
        id: id(v, || name.clone()),
        name,
        kind: SensorKind::Fan,
        unit,
        reading: if absent(v) { None } else { reading },
        health: status_health(v),
        upper_critical: None,
        lower_critical: None,
    }
}

/// One `PowerSupply` resource, with its `PowerSupplyMetrics` when fetched.
pub fn subsystem_psu(v: &Value, metrics: Option<&Value>) -> Psu {
    let reading = |key: &str| {
        metrics
            .and_then(|m| m.get(key))
            .and_then(|r| num(r, "Reading"))
    };
    let name = name(v, "power supply");
    Psu {
        id: id(v, || name.clone()),
        name,
        health: status_health(v),
        state: status_state(v).unwrap_or_else(|| "Unknown".into()),
        input_watts: reading("InputPowerWatts"),
        output_watts: reading("OutputPowerWatts"),
        capacity_watts: num(v, "PowerCapacityWatts"),
    }
}

/// System power draw from a chassis `EnvironmentMetrics` resource.
pub fn environment_power(v: &Value) -> Option<f64> {
    num(v.get("PowerWatts")?, "Reading")
}

mod sensors;

pub use sensors::{expand_query, sensor, sensor_source, sensors_with_views, total_power_sensor};

#[cfg(test)]
mod tests;
