//! The domain vocabulary shared by every part of the daemon: a BMC's identity (its MAC), what a poll
//! learns about it (power, inventory, sensors, PSUs) and how a failed read is described.
//!
//! Owns no I/O. Discovery produces [`Target`]s, backends produce [`Reading`]s, the poller wraps them in
//! [`BmcSnapshot`]s, the store and the publishers read them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The version of the JSON shape of [`BmcSnapshot`]; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A MAC address: the identity of a BMC (its IP is an attribute that can change).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a string is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a MAC address: {0:?} (want six hex octets separated by ':' or '-')")]
pub struct MacParseError(pub String);

impl FromStr for MacAddr {
    type Err = MacParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || MacParseError(s.to_string());
        let mut out = [0u8; 6];
        let mut parts = s.trim().split([':', '-']);
        for byte in &mut out {
            let p = parts.next().ok_or_else(err)?;
            if p.is_empty() || p.len() > 2 {
                return Err(err());
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One BMC to watch, as discovery selected it from the leases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub mac: MacAddr,
    pub ip: IpAddr,
    /// Port override (simulators and tests); `None` means the protocol's configured port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Lease end, Unix seconds; `None` for an infinite lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_ends: Option<i64>,
}

/// Which protocol a backend speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Redfish,
    Ipmi,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Redfish => "redfish",
            Protocol::Ipmi => "ipmi",
        })
    }
}

/// Chassis power as the BMC reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerState {
    On,
    Off,
    PoweringOn,
    PoweringOff,
    Unknown,
}

impl PowerState {
    /// Maps Redfish's `PowerState` strings (case-sensitive per schema, tolerant here).
    pub fn from_redfish(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "on" => PowerState::On,
            "off" => PowerState::Off,
            "poweringon" => PowerState::PoweringOn,
            "poweringoff" => PowerState::PoweringOff,
            _ => PowerState::Unknown,
        }
    }
}

/// What an operator can ask a BMC to do: the command names of the NATS API and the CLI. Closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    PowerOn,
    PowerOff,
    PowerCycle,
    PowerReset,
    PowerSoft,
    IdentifyOn,
    IdentifyOff,
    BootPxe,
    BootDisk,
    BootBios,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::PowerOn,
        Action::PowerOff,
        Action::PowerCycle,
        Action::PowerReset,
        Action::PowerSoft,
        Action::IdentifyOn,
        Action::IdentifyOff,
        Action::BootPxe,
        Action::BootDisk,
        Action::BootBios,
    ];

    /// The wire name (`power-cycle`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::PowerOn => "power-on",
            Action::PowerOff => "power-off",
            Action::PowerCycle => "power-cycle",
            Action::PowerReset => "power-reset",
            Action::PowerSoft => "power-soft",
            Action::IdentifyOn => "identify-on",
            Action::IdentifyOff => "identify-off",
            Action::BootPxe => "boot-pxe",
            Action::BootDisk => "boot-disk",
            Action::BootBios => "boot-bios",
        }
    }

    /// True for the actions that change chassis power.
    pub fn is_power(self) -> bool {
        matches!(
            self,
            Action::PowerOn
                | Action::PowerOff
                | Action::PowerCycle
                | Action::PowerReset
                | Action::PowerSoft
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
                format!("unknown action {s:?}; one of: {}", names.join(", "))
            })
    }
}

/// Health as Redfish `Status.Health` or an IPMI threshold state reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Health {
    pub fn from_redfish(s: Option<&str>) -> Self {
        match s.map(|s| s.to_ascii_lowercase()) {
            Some(s) if s == "ok" => Health::Ok,
            Some(s) if s == "warning" => Health::Warning,
            Some(s) if s == "critical" => Health::Critical,
            _ => Health::Unknown,
        }
    }

    /// Prometheus encoding: 0 ok, 1 warning, 2 critical, -1 unknown.
    pub fn as_gauge(self) -> i64 {
        match self {
            Health::Ok => 0,
            Health::Warning => 1,
            Health::Critical => 2,
            Health::Unknown => -1,
        }
    }
}

/// What a sensor measures; decides its metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SensorKind {
    Temperature,
    Fan,
    Voltage,
    Power,
    Current,
    Other,
}

/// The unit a reading is in, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Celsius,
    Rpm,
    Percent,
    Volts,
    Watts,
    Amperes,
    Other,
}

/// One sensor reading. `reading` is `None` when the sensor exists but reports nothing (absent device).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sensor {
    pub name: String,
    pub kind: SensorKind,
    pub unit: Unit,
    pub reading: Option<f64>,
    pub health: Health,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_critical: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_critical: Option<f64>,
}

/// One power supply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Psu {
    pub name: String,
    pub health: Health,
    /// Redfish `Status.State` (`Enabled`, `Absent`, ...), or IPMI presence.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_watts: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_watts: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_watts: Option<f64>,
}

/// Whole-system power draw.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PowerMetrics {
    pub consumed_watts: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_watts: Option<f64>,
}

/// Identity and firmware of the server behind a BMC.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Inventory {
    pub uuid: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub bios_version: Option<String>,
    pub bmc_firmware: Option<String>,
}

/// The chassis identify light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Led {
    On,
    Off,
    Blinking,
    Unknown,
}

/// Why one read failed: a small closed set that feeds metric labels and NATS payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    Timeout,
    Unreachable,
    Auth,
    Protocol,
    Unsupported,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Auth => "auth",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Unsupported => "unsupported",
        }
    }

    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::Timeout,
        ErrorKind::Unreachable,
        ErrorKind::Auth,
        ErrorKind::Protocol,
        ErrorKind::Unsupported,
    ];
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed read: its kind and a message naming what failed (never a secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    pub kind: ErrorKind,
    pub message: String,
}

/// The result of reading one part of a BMC: `{"ok": ...}` or `{"error": {...}}` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field<T> {
    Ok(T),
    Error(FieldError),
}

impl<T> Field<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Field::Ok(v) => Some(v),
            Field::Error(_) => None,
        }
    }

    pub fn err(&self) -> Option<&FieldError> {
        match self {
            Field::Ok(_) => None,
            Field::Error(e) => Some(e),
        }
    }

    pub fn failed(kind: ErrorKind, message: impl Into<String>) -> Self {
        Field::Error(FieldError {
            kind,
            message: message.into(),
        })
    }
}

/// Everything one poll of one BMC learned, field by field: one failing read never hides the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub power: Field<PowerState>,
    pub inventory: Field<Inventory>,
    pub led: Field<Led>,
    pub psus: Field<Vec<Psu>>,
    pub power_metrics: Field<PowerMetrics>,
    pub sensors: Field<Vec<Sensor>>,
}

impl Reading {
    /// A reading in which every field failed the same way (deadline, no connection).
    pub fn all_failed(kind: ErrorKind, message: &str) -> Self {
        Reading {
            power: Field::failed(kind, message),
            inventory: Field::failed(kind, message),
            led: Field::failed(kind, message),
            psus: Field::failed(kind, message),
            power_metrics: Field::failed(kind, message),
            sensors: Field::failed(kind, message),
        }
    }

    /// True when at least one field was read: the BMC answered.
    pub fn any_ok(&self) -> bool {
        self.power.ok().is_some()
            || self.inventory.ok().is_some()
            || self.led.ok().is_some()
            || self.psus.ok().is_some()
            || self.power_metrics.ok().is_some()
            || self.sensors.ok().is_some()
    }

    /// Every failed part with its name (`power`, `inventory`, `led`, `psus`, `power_metrics`,
    /// `sensors`), in that order.
    pub fn errors(&self) -> Vec<(&'static str, &FieldError)> {
        [
            ("power", self.power.err()),
            ("inventory", self.inventory.err()),
            ("led", self.led.err()),
            ("psus", self.psus.err()),
            ("power_metrics", self.power_metrics.err()),
            ("sensors", self.sensors.err()),
        ]
        .into_iter()
        .filter_map(|(part, e)| e.map(|e| (part, e)))
        .collect()
    }

    /// The first error, for a one-word summary of a failed poll.
    pub fn first_error(&self) -> Option<&FieldError> {
        self.errors().first().map(|(_, e)| *e)
    }
}

/// One poll result of one BMC, as the store keeps it and the API and publishers serve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BmcSnapshot {
    pub schema_version: u32,
    pub partition: String,
    pub mac: MacAddr,
    pub ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// When the poll started, Unix milliseconds.
    pub polled_at_ms: i64,
    pub duration_ms: u64,
    /// When a poll last read at least one field, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_ms: Option<i64>,
    pub up: bool,
    #[serde(flatten)]
    pub reading: Reading,
    /// What is wrong with this BMC now (see docs/issues.md); kept current between polls.
    #[serde(default)]
    pub issues: Vec<crate::issues::Issue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parses_both_separators_and_prints_lowercase() {
        let a: MacAddr = "52:54:00:A1:00:11".parse().expect("colon form");
        let b: MacAddr = "52-54-00-a1-00-11".parse().expect("dash form");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "52:54:00:a1:00:11");
        assert!("52:54:00:a1:00".parse::<MacAddr>().is_err());
        assert!("52:54:00:a1:00:11:22".parse::<MacAddr>().is_err());
        assert!("52:54:00:a1:00:zz".parse::<MacAddr>().is_err());
    }

    #[test]
    fn field_serialises_as_ok_or_error() {
        let f: Field<PowerState> = Field::Ok(PowerState::On);
        assert_eq!(serde_json::to_string(&f).expect("json"), r#"{"ok":"On"}"#);
        let e: Field<PowerState> = Field::failed(ErrorKind::Timeout, "after 10s");
        assert_eq!(
            serde_json::to_string(&e).expect("json"),
            r#"{"error":{"kind":"timeout","message":"after 10s"}}"#
        );
    }
}
