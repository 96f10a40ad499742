//! The events emitted when something about a BMC changes: what happened ([`EventKind`], a closed
//! set, named in payloads and NATS subjects) and the envelope ([`Event`]) with its unique id.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{ErrorKind, Health, IssueType, LogEntry, MacAddr, PowerState, Severity};

/// A change worth telling someone about.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EventKind {
    Discovered {
        ip: IpAddr,
    },
    Gone {
        ip: IpAddr,
    },
    IpChanged {
        old: IpAddr,
        new: IpAddr,
    },
    PowerChanged {
        old: PowerState,
        new: PowerState,
    },
    HealthChanged {
        /// `psu:<id>` or `sensor:<id>`: unique and stable where names repeat.
        component: String,
        /// The part's name as the BMC gives it.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        name: String,
        old: Health,
        new: Health,
    },
    Unreachable {
        error: ErrorKind,
        message: String,
    },
    Recovered,
    IssueRaised {
        issue: IssueType,
        severity: Severity,
        detail: String,
    },
    IssueCleared {
        issue: IssueType,
    },
    /// A new entry in the BMC's own log (one event per entry, never repeated).
    LogEntry {
        entry: LogEntry,
    },
    /// The BMC's log was cleared or wrapped: reading starts over.
    LogCleared {
        log: String,
    },
    CommandResult {
        action: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        power: Option<PowerState>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        duration_ms: u64,
    },
}

impl EventKind {
    /// The kind's name as it appears in payloads and NATS subjects (`power-changed`).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Discovered { .. } => "discovered",
            EventKind::Gone { .. } => "gone",
            EventKind::IpChanged { .. } => "ip-changed",
            EventKind::PowerChanged { .. } => "power-changed",
            EventKind::HealthChanged { .. } => "health-changed",
            EventKind::Unreachable { .. } => "unreachable",
            EventKind::Recovered => "recovered",
            EventKind::IssueRaised { .. } => "issue-raised",
            EventKind::IssueCleared { .. } => "issue-cleared",
            EventKind::LogEntry { .. } => "log-entry",
            EventKind::LogCleared { .. } => "log-cleared",
            EventKind::CommandResult { .. } => "command-result",
        }
    }
}

#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub schema_version: u32,
    /// Unique per event (`<partition>-<process nonce>-<sequence>`): the JetStream message id, so a
    /// retried publish is stored once.
    pub id: String,
    pub partition: String,
    pub mac: MacAddr,
    pub at_ms: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}
