//! The state of one simulated BMC (power, sensors, PSUs, identity, faults, session table) and its
//! rendering as Redfish JSON in each of the three thermal/power shapes, all from the same numbers, so
//! a client must read the same values whichever shape it is served.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::{Health, MacAddr, PowerState, SensorKind};

/// Which thermal/power resources the simulated chassis links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SimShape {
    /// `Thermal` + `Power`.
    Legacy,
    /// `ThermalSubsystem` + `PowerSubsystem` + `EnvironmentMetrics`.
    Subsystem,
    /// The `Sensors` collection (+ `PowerSubsystem` for PSU health).
    Sensors,
}

/// One simulated sensor.
#[derive(Debug, Clone)]
pub struct SimSensor {
    pub id: String,
    pub name: String,
    pub kind: SensorKind,
    pub reading: f64,
    pub upper_critical: Option<f64>,
}

impl SimSensor {
    pub fn health(&self) -> Health {
        match self.upper_critical {
            Some(uc) if self.reading >= uc => Health::Critical,
            _ => Health::Ok,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimPsu {
    pub id: String,
    pub name: String,
    pub health: Health,
    pub input_watts: f64,
    pub capacity_watts: f64,
}

/// What the BMC is told to do wrong.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Every answer is delayed this long.
    pub delay: Duration,
    /// Logins (session POST and basic auth) are refused with 401.
    pub refuse_logins: bool,
    /// Connections are closed right after they are accepted.
    pub drop_connections: bool,
}

/// Mutable state behind one simulated BMC.
#[derive(Debug, Clone)]
pub struct SimState {
    pub power: PowerState,
    pub led_on: bool,
    /// One-time boot override set by `PATCH Boot` (`Pxe`, `Hdd`, `BiosSetup`).
    pub boot_once: Option<String>,
    /// Report this (UUID, serial) instead of the BMC's own: one board seen under two MACs.
    pub identity: Option<(String, String)>,
    /// Answer IPMI requests from this capture (`bmc-catcher capture`) where it has them.
    pub ipmi_replay: Option<std::sync::Arc<crate::hal::ipmi::capture::Capture>>,
    /// The boot override applies to every boot, not just the next one (IPMI boot flags bit 6).
    pub boot_persistent: bool,
    /// When a timed identify (IPMI Chassis Identify with an interval) turns `led_on` off again.
    pub identify_until: Option<std::time::Instant>,
    pub sensors: Vec<SimSensor>,
    pub psus: Vec<SimPsu>,
    pub consumed_watts: f64,
    pub faults: Faults,
}

/// Counters a test reads to check how a client behaved.
#[derive(Debug, Default)]
pub struct Counters {
    pub sessions_created: AtomicU64,
    pub sessions_deleted: AtomicU64,
    pub requests: AtomicU64,
    pub resets: AtomicU64,
}

/// One simulated BMC.
pub struct SimBmc {
    pub mac: MacAddr,
    pub serial: String,
    pub uuid: String,
    pub shape: SimShape,
    pub username: String,
    pub password: String,
    pub state: Mutex<SimState>,
    pub sessions: Mutex<HashMap<String, String>>,
    pub counters: Counters,
    next_session: AtomicU64,
}

impl SimBmc {
    /// A server with typical readings; `index` varies them a little so a fleet is not uniform.
    pub fn new(
        mac: MacAddr,
        index: u32,
        shape: SimShape,
        username: &str,
        password: &str,
    ) -> SimBmc {
        let v = f64::from(index % 7);
        let sensor = |id: &str, name: &str, kind, reading, uc| SimSensor {
            id: id.into(),
            name: name.into(),
            kind,
            reading,
            upper_critical: uc,
        };
        SimBmc {
            mac,
            serial: format!("SIM{:06}", index),
            uuid: format!("5e1f0000-0000-4000-8000-{:012x}", u64::from(index)),
            shape,
            username: username.into(),
            password: password.into(),
            state: Mutex::new(SimState {
                power: PowerState::On,
                led_on: false,
                boot_once: None,
                identity: None,
                ipmi_replay: None,
                boot_persistent: false,
                identify_until: None,
                sensors: vec![
                    sensor(
                        "CPU1Temp",
                        "CPU1 Temp",
                        SensorKind::Temperature,
                        41.0 + v,
                        Some(90.0),
                    ),
                    sensor(
                        "IntakeTemp",
                        "Intake Temp",
                        SensorKind::Temperature,
                        24.0 + v / 2.0,
                        Some(45.0),
                    ),
                    sensor("Fan1", "Fan1", SensorKind::Fan, 6000.0 + 100.0 * v, None),
                    sensor("Fan2", "Fan2", SensorKind::Fan, 5700.0 + 100.0 * v, None),
                    sensor("Volt12V", "12V", SensorKind::Voltage, 12.06, Some(13.2)),
                ],
                psus: vec![
                    SimPsu {
                        id: "PSU1".into(),
                        name: "PSU1".into(),
                        health: Health::Ok,
                        input_watts: 180.0 + 5.0 * v,
                        capacity_watts: 800.0,
                    },
                    SimPsu {
                        id: "PSU2".into(),
                        name: "PSU2".into(),
                        health: Health::Ok,
                        input_watts: 160.0 + 5.0 * v,
                        capacity_watts: 800.0,
                    },
                ],
                consumed_watts: 340.0 + 10.0 * v,
                faults: Faults::default(),
            }),
            sessions: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            next_session: AtomicU64::new(1),
        }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn sessions_open(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Opens a session; returns (id, token).
    pub fn open_session(&self) -> (String, String) {
        let n = self.next_session.fetch_add(1, Ordering::Relaxed);
        let id = n.to_string();
        let token = format!("tok-{}-{n}-{:x}", self.serial, rand_u64());
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), token.clone());
        self.counters
            .sessions_created
            .fetch_add(1, Ordering::Relaxed);
        (id, token)
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

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
    let st = bmc.state().clone();
    let path = path.trim_end_matches('/');
    let sensors_of = |k: SensorKind| st.sensors.iter().filter(move |s| s.kind == k);
    let v = match path {
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
            "Manufacturer": "bmc-catcher", "Model": "Sim 1U",
            "SerialNumber": st.identity.as_ref().map_or(bmc.serial.as_str(), |i| i.1.as_str()),
            "UUID": st.identity.as_ref().map_or(bmc.uuid.as_str(), |i| i.0.as_str()),
            "BiosVersion": "SIM-BIOS 1.0", "PowerState": power_str(st.power),
            "Boot": {
                "BootSourceOverrideEnabled": if st.boot_once.is_some() { "Once" } else { "Disabled" },
                "BootSourceOverrideTarget": st.boot_once.clone().unwrap_or_else(|| "None".into()),
                "BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Pxe", "Hdd", "BiosSetup"]
            },
            "IndicatorLED": if st.led_on { "Lit" } else { "Off" },
            "Status": {"State": "Enabled", "Health": "OK"},
            "Links": {"Chassis": [link(CH)], "ManagedBy": [link("/redfish/v1/Managers/1")]},
            "Actions": {"#ComputerSystem.Reset": {
                "target": "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
                "ResetType@Redfish.AllowableValues": ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "PowerCycle"]
            }}
        }),
        "/redfish/v1/Managers" => collection(
            path,
            "Managers",
            ["/redfish/v1/Managers/1".to_string()].into_iter(),
        ),
        "/redfish/v1/Managers/1" => json!({
            "@odata.id": path, "Id": "1", "Name": "Simulated BMC", "ManagerType": "BMC", "FirmwareVersion": "2.10.sim",
            "Status": {"State": "Enabled", "Health": "OK"}
        }),
        "/redfish/v1/Chassis" => collection(path, "Chassis", [CH.to_string()].into_iter()),
        CH => {
            let mut c = json!({
                "@odata.id": CH, "Id": "1", "Name": "Chassis", "ChassisType": "RackMount", "PowerState": power_str(st.power),
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
    Some(v)
}

fn render_environment<'a, F, I>(
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
