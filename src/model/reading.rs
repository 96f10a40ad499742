//! What one poll of one BMC yields, part by part: each part is read or failed with an
//! [`ErrorKind`], so one failing read never hides the others; and the [`BmcSnapshot`] that wraps a
//! [`Reading`] with the BMC's identity, timing and issues.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{Inventory, Led, MacAddr, PowerMetrics, PowerState, Protocol, Psu, Sensor};

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
