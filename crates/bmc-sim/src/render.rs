//! The Redfish rendering of a simulated BMC's state, in each of the three thermal/power shapes
//! (legacy `Thermal`/`Power`, `ThermalSubsystem`/`PowerSubsystem`, the `Sensors` collection), all
//! from the same numbers, so a client must read the same values whichever shape it is served.

use serde_json::{Value, json};

mod components;
mod logs;

use super::state::{SimBmc, SimSensor, SimShape, SimState};
use crate::state::{Health, PowerState, SensorKind};

fn health_str(h: Health) -> &'static str {
    match h {
        Health::Ok => "OK",
        Health::Warning => "Warning",
        Health::Critical | Health::Unknown => "Critical",
    }
}

fn power_str(p: PowerState) -> &'static str {
    match p {
        PowerState::On => "On",
        PowerState::Off => "Off",
        PowerState::PoweringOn => "PoweringOn",
        PowerState::PoweringOff => "PoweringOff",
        PowerState::Unknown => "Unknown",
    }
}

const CH: &str = "/redfish/v1/Chassis/1";

fn link(path: &str) -> Value {
    json!({ "@odata.id": path })
}

fn collection(path: &str, name: &str, members: impl Iterator<Item = String>) -> Value {
    let members: Vec<Value> = members.map(|m| link(&m)).collect();
    json!({"@odata.id": path, "Name": name, "Members@odata.count": members.len(), "Members": members})
}

/// Renders the resource at `path` (no query string), or `None` when this BMC has no such resource.
pub fn render(bmc: &SimBmc, path: &str) -> Option<Value> {
    // Rendered under the lock, not from a copy: a BMC made to report 50,000 sensors is not copied
    // at every request.
    let st = bmc.state();
    let path = path.trim_end_matches('/');
    let sensors_of = |k: SensorKind| st.sensors.iter().filter(move |s| s.kind == k);
    let mut v = match path {
        "/redfish/v1" => json!({
            "@odata.id": "/redfish/v1", "Id": "RootService", "Name": "bmc-sim", "RedfishVersion": "1.15.0",
            "UUID": bmc.uuid, "Systems": link("/redfish/v1/Systems"), "Chassis": link("/redfish/v1/Chassis"),
            "Managers": link("/redfish/v1/Managers"), "SessionService": link("/redfish/v1/SessionService"),
            "Links": {"Sessions": link("/redfish/v1/SessionService/Sessions")}
        }),
        "/redfish/v1/SessionService" => json!({
            "@odata.id": path, "Id": "SessionService", "ServiceEnabled": true, "SessionTimeout": 1800,
            "Sessions": link("/redfish/v1/SessionService/Sessions")
        }),
        "/redfish/v1/Systems" => collection(
            path,
            "Systems",
            ["/redfish/v1/Systems/1".to_string()].into_iter(),
        ),
        "/redfish/v1/Systems/1" => json!({
            "@odata.id": path, "Id": "1", "Name": "Simulated server", "SystemType": "Physical",
            "Manufacturer": if st.sel.dell { "Dell Inc." } else { "bmc-catcher" }, "Model": "Sim 1U",
            "SerialNumber": st.identity.as_ref().map_or(bmc.serial.as_str(), |i| i.1.as_str()),
            "UUID": st.identity.as_ref().map_or(bmc.uuid.as_str(), |i| i.0.as_str()),
            "BiosVersion": st.parts.bios_version, "PowerState": power_str(st.faults.redfish_power.unwrap_or(st.power)),
            "Boot": {
                "BootSourceOverrideEnabled": if st.boot_once.is_some() { "Once" } else { "Disabled" },
                "BootSourceOverrideTarget": st.boot_once.clone().unwrap_or_else(|| "None".into()),
                "BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Pxe", "Hdd", "BiosSetup"]
            },
            "IndicatorLED": if st.led_on { "Lit" } else { "Off" },
            "Status": {"State": "Enabled", "Health": "OK",
                "HealthRollup": health_str(if st.parts.served { st.parts.rollup() } else { crate::state::Health::Ok })},
            "Links": {"Chassis": [link(CH)], "ManagedBy": [link("/redfish/v1/Managers/1")]},
            "Actions": {"#ComputerSystem.Reset": {
                "target": "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
                "ResetType@Redfish.AllowableValues": ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "PowerCycle"]
            }}
        }),
        p if components::owns(p) => return components::render(&st.parts, p),
        "/redfish/v1/Managers" => collection(
            path,
            "Managers",
            ["/redfish/v1/Managers/1".to_string()].into_iter(),
        ),
        "/redfish/v1/Managers/1" => json!({
            "@odata.id": path, "Id": "1", "Name": "Simulated BMC", "ManagerType": "BMC", "FirmwareVersion": st.parts.bmc_firmware,
            "Status": {"State": "Enabled", "Health": "OK"}, "LogServices": link(logs::SERVICES)
        }),
        p if p.starts_with(logs::SERVICES) => return logs::render(&st, p),
        "/redfish/v1/Chassis" => collection(path, "Chassis", [CH.to_string()].into_iter()),
        CH => {
            let mut c = json!({
                "@odata.id": CH, "Id": "1", "Name": "Chassis", "ChassisType": "RackMount", "PowerState": power_str(st.faults.redfish_power.unwrap_or(st.power)),
                "Status": {"State": "Enabled", "Health": "OK"},
                "Links": {"ComputerSystems": [link("/redfish/v1/Systems/1")], "ManagedBy": [link("/redfish/v1/Managers/1")]}
            });
            let links: &[(&str, &str)] = match bmc.shape {
                SimShape::Legacy => &[("Thermal", "/Thermal"), ("Power", "/Power")],
                SimShape::Subsystem => &[
                    ("ThermalSubsystem", "/ThermalSubsystem"),
                    ("PowerSubsystem", "/PowerSubsystem"),
                    ("EnvironmentMetrics", "/EnvironmentMetrics"),
                ],
                SimShape::Sensors => &[
                    ("Sensors", "/Sensors"),
                    ("PowerSubsystem", "/PowerSubsystem"),
                    ("EnvironmentMetrics", "/EnvironmentMetrics"),
                ],
            };
            for (k, p) in links {
                c[*k] = link(&format!("{CH}{p}"));
            }
            c
        }
        _ => return render_environment(bmc, &st, path, &sensors_of),
    };
    components::link_parts(&st.parts, path, &mut v);
    Some(v)
}

pub(super) fn render_environment<'a, F, I>(
    bmc: &SimBmc,
    st: &'a SimState,
    path: &str,
    sensors_of: &F,
) -> Option<Value>
where
    F: Fn(SensorKind) -> I,
    I: Iterator<Item = &'a SimSensor>,
{
    let rest = path.strip_prefix(CH)?;
    let status = |h: Health| json!({"State": "Enabled", "Health": health_str(h)});
    let legacy = bmc.shape == SimShape::Legacy;
    let subsystem = bmc.shape == SimShape::Subsystem;
    let sensors = bmc.shape == SimShape::Sensors;
    let v = match rest {
        "/Thermal" if legacy => json!({
            "@odata.id": path, "Id": "Thermal", "Name": "Thermal",
            "Temperatures": sensors_of(SensorKind::Temperature).map(|s| json!({
                "MemberId": s.id, "Name": s.name, "ReadingCelsius": s.reading, "UpperThresholdCritical": s.upper_critical,
                "Status": status(s.health())})).collect::<Vec<_>>(),
            "Fans": sensors_of(SensorKind::Fan).map(|s| json!({
                "MemberId": s.id, "Name": s.name, "Reading": s.reading, "ReadingUnits": "RPM",
                "Status": status(s.health())})).collect::<Vec<_>>()
        }),
        "/Power" if legacy => json!({
            "@odata.id": path, "Id": "Power", "Name": "Power",
            "PowerControl": [{"MemberId": "0", "Name": "System Input Power", "PowerConsumedWatts": st.consumed_watts}],
            "PowerSupplies": st.psus.iter().map(|p| json!({
                "MemberId": p.id, "Name": p.name, "PowerInputWatts": p.input_watts, "PowerCapacityWatts": p.capacity_watts,
                "Status": status(p.health)})).collect::<Vec<_>>(),
            "Voltages": sensors_of(SensorKind::Voltage).map(|s| json!({
                "MemberId": s.id, "Name": s.name, "ReadingVolts": s.reading, "UpperThresholdCritical": s.upper_critical,
                "Status": status(s.health())})).collect::<Vec<_>>()
        }),
        "/ThermalSubsystem" if subsystem => json!({
            "@odata.id": path, "Id": "ThermalSubsystem", "Name": "Thermal Subsystem",
            "ThermalMetrics": link(&format!("{path}/ThermalMetrics")), "Fans": link(&format!("{path}/Fans"))
        }),
        "/ThermalSubsystem/ThermalMetrics" if subsystem => json!({
            "@odata.id": path, "Id": "ThermalMetrics", "Name": "Thermal Metrics",
            "TemperatureReadingsCelsius": sensors_of(SensorKind::Temperature).map(|s| json!({
                "DeviceName": s.name, "Reading": s.reading,
                "DataSourceUri": format!("{CH}/Sensors/{}", s.id)})).collect::<Vec<_>>()
        }),
        "/ThermalSubsystem/Fans" if subsystem => collection(
            path,
            "Fans",
            sensors_of(SensorKind::Fan).map(|s| format!("{path}/{}", s.id)),
        ),
        "/PowerSubsystem" if !legacy => json!({
            "@odata.id": path, "Id": "PowerSubsystem", "Name": "Power Subsystem",
            "PowerSupplies": link(&format!("{path}/PowerSupplies"))
        }),
        "/PowerSubsystem/PowerSupplies" if !legacy => collection(
            path,
            "Power Supplies",
            st.psus.iter().map(|p| format!("{path}/{}", p.id)),
        ),
        "/EnvironmentMetrics" if !legacy => json!({
            "@odata.id": path, "Id": "EnvironmentMetrics", "Name": "Environment Metrics",
            "PowerWatts": {"Reading": st.consumed_watts}
        }),
        "/Sensors" if sensors => collection(
            path,
            "Sensors",
            st.sensors.iter().map(|s| format!("{path}/{}", s.id)),
        ),
        _ => return render_member(st, path, rest, legacy, subsystem, sensors),
    };
    Some(v)
}

fn render_member(
    st: &SimState,
    path: &str,
    rest: &str,
    legacy: bool,
    subsystem: bool,
    sensors: bool,
) -> Option<Value> {
    let status = |h: Health| json!({"State": "Enabled", "Health": health_str(h)});
    if let Some(id) = rest
        .strip_prefix("/ThermalSubsystem/Fans/")
        .filter(|_| subsystem)
    {
        let s = st
            .sensors
            .iter()
            .find(|s| s.kind == SensorKind::Fan && s.id == id)?;
        return Some(
            json!({"@odata.id": path, "Id": s.id, "Name": s.name, "Status": status(s.health()),
            "SpeedPercent": {"Reading": (s.reading / 100.0).round(), "SpeedRPM": s.reading}}),
        );
    }
    if let Some(tail) = rest
        .strip_prefix("/PowerSubsystem/PowerSupplies/")
        .filter(|_| !legacy)
    {
        let (id, metrics) = match tail.strip_suffix("/Metrics") {
            Some(id) => (id, true),
            None => (tail, false),
        };
        let p = st.psus.iter().find(|p| p.id == id)?;
        return Some(if metrics {
            json!({"@odata.id": path, "Id": "Metrics", "Name": format!("{} metrics", p.name),
                "InputPowerWatts": {"Reading": p.input_watts}})
        } else {
            json!({"@odata.id": path, "Id": p.id, "Name": p.name, "Status": status(p.health),
                "PowerCapacityWatts": p.capacity_watts, "Metrics": link(&format!("{path}/Metrics"))})
        });
    }
    if let Some(id) = rest.strip_prefix("/Sensors/").filter(|_| sensors) {
        let s = st.sensors.iter().find(|s| s.id == id)?;
        let (rtype, units) = match s.kind {
            SensorKind::Temperature => ("Temperature", "Cel"),
            SensorKind::Fan => ("Rotational", "RPM"),
            SensorKind::Voltage => ("Voltage", "V"),
            SensorKind::Power => ("Power", "W"),
            SensorKind::Current => ("Current", "A"),
            SensorKind::Other => ("Other", ""),
        };
        let mut v = json!({"@odata.id": path, "Id": s.id, "Name": s.name, "ReadingType": rtype,
            "ReadingUnits": units, "Reading": s.reading, "Status": status(s.health())});
        if let Some(uc) = s.upper_critical {
            v["Thresholds"] = json!({"UpperCritical": {"Reading": uc}});
        }
        return Some(v);
    }
    None
}
