//! The parts a poll reads from a BMC: chassis power, health, sensors with their kind and unit,
//! power supplies, power draw, inventory and the identify light. Plain values, no I/O.

use serde::{Deserialize, Serialize};

/// Chassis power as the BMC reports it.
#[cfg_attr(test, derive(schemars::JsonSchema))]
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

/// Health as Redfish `Status.Health` or an IPMI threshold state reports it.
#[cfg_attr(test, derive(schemars::JsonSchema))]
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
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SensorKind {
    Temperature,
    Fan,
    Voltage,
    Power,
    Current,
    // Energy used since a counter reset (Redfish `EnergykWh`, `EnergyJoules`, `EnergyWh`), in kWh.
    Energy,
    // AC input frequency (Redfish `Frequency`).
    Frequency,
    // A percentage that is not a fan speed: a battery's state of health, humidity.
    Percent,
    Other,
}

/// The unit a reading is in, normalised.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Celsius,
    Rpm,
    Percent,
    Volts,
    Watts,
    Amperes,
    Kwh,
    Hertz,
    Other,
}

/// One sensor reading. `reading` is `None` when the sensor exists but reports nothing (absent device).
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sensor {
    /// Stable and unique among the BMC's sensors, where `name` need not be (IPMI SDR names
    /// repeat): the IPMI sensor key, the Redfish `@odata.id` / `MemberId`. See [`unique_ids`].
    #[serde(default)]
    pub id: String,
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
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Psu {
    /// Stable and unique among the BMC's PSUs, like [`Sensor::id`].
    #[serde(default)]
    pub id: String,
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
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PowerMetrics {
    pub consumed_watts: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_watts: Option<f64>,
}

/// Identity and firmware of the server behind a BMC.
#[cfg_attr(test, derive(schemars::JsonSchema))]
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
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Led {
    On,
    Off,
    Blinking,
    Unknown,
}
