//! One poll result of one BMC ([`BmcSnapshot`]): a [`Reading`] with the BMC's identity, timing and
//! current issues, as the store keeps it and the API and publishers serve it.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{Issue, MacAddr, Protocol, Reading};

/// One poll result of one BMC, as the store keeps it and the API and publishers serve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BmcSnapshot {
    pub schema_version: u32,
    /// Shared by every snapshot of the partition.
    pub partition: std::sync::Arc<str>,
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
    pub issues: Vec<Issue>,
}
