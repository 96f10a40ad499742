//! The domain vocabulary shared by every part of the daemon: a BMC's identity (its MAC), what a poll
//! learns about it (power, inventory, sensors, PSUs) and how a failed read is described.
//!
//! Owns no I/O. Discovery produces [`Target`]s, backends produce [`Reading`]s, the poller wraps them in
//! [`BmcSnapshot`]s, the store and the publishers read them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

mod reading;
pub use reading::{BmcSnapshot, ErrorKind, Field, FieldError, Reading};

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
    /// When the certificate the BMC's HTTPS endpoint presented expires, Unix seconds (Redfish
    /// over HTTPS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_certificate_expires: Option<i64>,
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
