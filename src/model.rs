//! The domain vocabulary shared by every part of the daemon: a BMC's identity (its MAC), what a poll
//! learns about it (power, inventory, sensors, PSUs, its own event log, components) and how much of it a poll keeps (bounds), how
//! a failed read is described, what can be wrong with it (issues), what an operator can ask of it
//! (actions) and what changed (events).
//!
//! Owns no I/O and names no other module of the crate: everything else depends on it. Discovery
//! produces [`Target`]s, backends produce [`Reading`]s, the poller wraps them in [`BmcSnapshot`]s,
//! the store keeps them and emits [`Event`]s, the publishers read them.

mod action;
mod bounds;
mod components;
mod error;
mod event;
mod identity;
mod issue;
mod log;
mod parts;
mod profile;
mod reading;
mod snapshot;

pub use action::Action;
pub use bounds::{
    Budget, Dropped, Limits, MAX_COMPONENTS_PER_KIND, MAX_NAME_CHARS, MAX_STATE_CHARS,
    truncate_chars, unique_ids,
};
pub use components::{
    Components, CoolingKind, CoolingPart, Cpu, Dimm, Drive, Firmware, Intrusion, LinkStatus,
    NicPort, Part, Storage, StorageController, Volume,
};
pub use error::{ErrorKind, Field, FieldError};
pub use event::{Event, EventKind};
pub use identity::{MacAddr, MacParseError, Protocol, Target};
pub use issue::{Issue, IssueNames, IssueType, Severity};
pub use log::{
    LastCritical, LogCounts, LogEntry, LogFollow, LogPolicy, LogSeverity, Logs,
    MAX_LOG_FIELD_CHARS, MAX_LOG_MESSAGE_CHARS,
};
pub use parts::{Health, Inventory, Led, PowerMetrics, PowerState, Psu, Sensor, SensorKind, Unit};
pub use profile::{
    CoolingLink, IpmiProfile, MAX_PROFILE_LIST, MAX_PROFILE_PATH, MAX_PROFILE_TEXT, Profile,
    RedfishProfile, RedfishShape, profile_path_ok,
};
pub use reading::{PowerCheck, Reading, TlsRefusal};
pub use snapshot::BmcSnapshot;

/// The version of the JSON shape of [`BmcSnapshot`]; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Milliseconds since the Unix epoch, from the wall clock: the unit of every `*_ms` stamp here.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
