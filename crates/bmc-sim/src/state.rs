//! The state of one simulated BMC: power, sensors, PSUs, identity, faults, the Redfish session
//! table and the counters tests read, in the simulator's own [`vocabulary`]. `render` (Redfish
//! JSON) and the IPMI responder serve it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub mod clients;
pub mod components;
pub mod fault_cycle;
pub mod named_fault;
pub mod sel;
mod vocabulary;
pub use vocabulary::{Health, MacAddr, PowerState, SensorKind};

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
    /// Every authenticated Redfish request answers this status (e.g. 503) with `Retry-After: 30`.
    pub status: Option<u16>,
    /// Resource bodies are broken this way.
    pub body: Option<BodyFault>,
    /// New Redfish sessions are refused with iDRAC's RAC0218 ("maximum sessions") once this many
    /// are open.
    pub max_sessions: Option<usize>,
    /// In-session IPMI replies are broken this way.
    pub ipmi_reply: Option<IpmiReplyFault>,
    /// The Redfish view reports this power state, whatever the machine (and IPMI) says.
    pub redfish_power: Option<PowerState>,
}

/// How a simulated BMC breaks its in-session IPMI replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpmiReplyFault {
    pub defect: IpmiReplyDefect,
    /// The broken reply is sent first and the right one after it; otherwise only the broken one.
    pub then_good: bool,
}

/// What is wrong with a broken IPMI reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpmiReplyDefect {
    /// The integrity AuthCode does not match (its last byte flipped).
    BadIntegrity,
    /// Properly signed and encrypted, for another session ID.
    WrongSessionId,
    /// Properly signed and encrypted, with a session sequence number already used (a replay).
    StaleSequence,
    /// Cut after half its bytes.
    Truncated,
}

/// How a simulated BMC breaks its JSON bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFault {
    /// Not JSON at all.
    Malformed,
    /// The first half of the document.
    Truncated,
    /// A valid document padded to this many bytes.
    Huge(usize),
    /// The connection is reset half-way through the body.
    ResetMidway,
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
    pub ipmi_replay: Option<std::sync::Arc<ipmi_wire::capture::Capture>>,
    /// The boot override applies to every boot, not just the next one (IPMI boot flags bit 6).
    pub boot_persistent: bool,
    /// When a timed identify (IPMI Chassis Identify with an interval) turns `led_on` off again.
    pub identify_until: Option<std::time::Instant>,
    pub sensors: Vec<SimSensor>,
    pub psus: Vec<SimPsu>,
    pub consumed_watts: f64,
    pub faults: Faults,
    /// The event log (IPMI SEL, Redfish LogService).
    pub sel: sel::SimSel,
    /// Drives, RAID, DIMMs, CPUs, NIC ports, firmware versions.
    pub parts: components::SimParts,
}

/// Counters a test reads to check how a client behaved.
#[derive(Debug, Default)]
pub struct Counters {
    /// TCP connections accepted by the Redfish service.
    pub connections: AtomicU64,
    /// Of those, the ones still open.
    pub open_connections: AtomicU64,
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
    /// Polls and sessions per client `User-Agent`.
    pub clients: clients::Clients,
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
                sel: sel::SimSel::default(),
                parts: components::SimParts::new(false),
            }),
            sessions: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            clients: clients::Clients::default(),
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
