//! A BMC's own event log as the daemon keeps it: one [`LogEntry`] per record (an IPMI SEL record
//! or a Redfish LogService entry, in the same words), the [`Logs`] part of a reading (the newest
//! entries, the fill level, and what is new since the last poll), the [`LogPolicy`] bounding how
//! much of a log one poll reads and keeps, and [`LogFollow`], the per-BMC state a backend keeps
//! between polls to report every new entry exactly once.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::bounds::truncate_chars;

/// The longest message kept of one entry, in characters (a 1 MB message costs this much).
pub const MAX_LOG_MESSAGE_CHARS: usize = 1024;
/// The longest id, sensor, type or message id kept, in characters.
pub const MAX_LOG_FIELD_CHARS: usize = 128;

/// How bad a log entry is: Redfish's `Severity` (`OK`, `Warning`, `Critical`); IPMI events are
/// graded by their event type and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum LogSeverity {
    Ok,
    Warning,
    Critical,
}

impl LogSeverity {
    pub const ALL: [LogSeverity; 3] =
        [LogSeverity::Ok, LogSeverity::Warning, LogSeverity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            LogSeverity::Ok => "ok",
            LogSeverity::Warning => "warning",
            LogSeverity::Critical => "critical",
        }
    }
}

/// One entry of a BMC's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct LogEntry {
    /// Which log: `sel` (IPMI) or the LogService's path below `/redfish/v1/` (`Managers/1/LogServices/Log`).
    pub log: String,
    /// The record's id in its log (`0x000e` for a SEL record id).
    pub id: String,
    /// When the BMC logged it, Unix milliseconds; absent when its clock was not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_ms: Option<i64>,
    pub severity: LogSeverity,
    /// IPMI sensor type or Redfish `SensorType` ("Temperature").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor_type: Option<String>,
    /// The sensor as ipmitool names it ("Temperature #0x42").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
    /// The event text ("Upper Critical going high", or Redfish `Message`).
    pub message: String,
    /// `Asserted`/`Deasserted` for IPMI events; for OEM records their data in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Redfish `MessageId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

impl LogEntry {
    /// Cuts every string to its bound; returns true when the message had to be cut.
    pub fn bound(&mut self) -> bool {
        let long = self.message.chars().count() > MAX_LOG_MESSAGE_CHARS;
        truncate_chars(&mut self.message, MAX_LOG_MESSAGE_CHARS);
        for s in [&mut self.log, &mut self.id] {
            truncate_chars(s, MAX_LOG_FIELD_CHARS);
        }
        for s in [
            &mut self.sensor_type,
            &mut self.sensor,
            &mut self.detail,
            &mut self.message_id,
        ]
        .into_iter()
        .flatten()
        {
            truncate_chars(s, MAX_LOG_FIELD_CHARS);
        }
        long
    }
}

/// The log part of a reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Logs {
    /// The newest entries, oldest first, at most [`LogPolicy::keep`].
    // Shared with the backend's follower: each entry is held once, however many snapshots show it.
    pub entries: Vec<Arc<LogEntry>>,
    /// How many entries the BMC's logs hold (SEL: Get SEL Info's count).
    pub total: u64,
    /// The share of the SEL in use, 0.0-1.0 (IPMI only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sel_used_ratio: Option<f64>,
    /// The SEL overflowed: events were dropped by the BMC.
    #[serde(default)]
    pub overflow: bool,
    /// New entries seen since the daemon started, by severity (`bmc_log_entries_total`).
    #[serde(default)]
    pub counts: LogCounts,
    /// The newest critical entry that arrived as new (not backfill), until acknowledged
    /// (`bmc-catcher logs MAC --ack`): raises `bmc-log-critical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_critical: Option<LastCritical>,
    /// Entries logged since the previous poll, oldest first: one `log-entry` event each.
    /// Not part of the snapshot's JSON.
    #[serde(skip)]
    pub fresh: Vec<Arc<LogEntry>>,
    /// The logs (by name: `sel`, a LogService path) cleared or wrapped since the previous poll:
    /// one `log-cleared` event each.
    #[serde(skip)]
    pub cleared: Vec<String>,
}

/// A critical entry and when the catcher read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct LastCritical {
    /// `sensor: message` of the entry.
    pub message: String,
    /// When the catcher read it, Unix milliseconds.
    pub seen_ms: i64,
}

/// New entries seen since the daemon started, by severity (not the backfill of a first read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct LogCounts {
    pub ok: u64,
    pub warning: u64,
    pub critical: u64,
}

impl LogCounts {
    pub fn add(&mut self, s: LogSeverity) {
        let n = match s {
            LogSeverity::Ok => &mut self.ok,
            LogSeverity::Warning => &mut self.warning,
            LogSeverity::Critical => &mut self.critical,
        };
        *n += 1;
    }

    pub fn get(&self, s: LogSeverity) -> u64 {
        match s {
            LogSeverity::Ok => self.ok,
            LogSeverity::Warning => self.warning,
            LogSeverity::Critical => self.critical,
        }
    }
}

/// How much of a BMC's log one poll reads and keeps (`[logs]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPolicy {
    pub enabled: bool,
    /// On the first read of a BMC, the newest entries kept in the snapshot (no events).
    pub backfill: usize,
    /// Entries kept per BMC in the snapshot.
    pub keep: usize,
    /// Records read per poll at most; the rest are read by the next polls.
    pub max_per_poll: usize,
}

impl Default for LogPolicy {
    fn default() -> Self {
        LogPolicy {
            enabled: true,
            backfill: 10,
            keep: 50,
            max_per_poll: 200,
        }
    }
}

/// What a backend keeps between polls to follow one BMC's log: the newest entries and whether
/// the log has been read before (the cursor itself is the backend's own).
#[derive(Debug, Clone, Default)]
pub struct LogFollow {
    recent: VecDeque<Arc<LogEntry>>,
    counts: LogCounts,
    last_critical: Option<LastCritical>,
}

impl LogFollow {
    /// Builds the log part of a reading from what one poll read: `read` are the entries it found
    /// (oldest first), `first` says the log had never been read (nothing is fresh then: only the
    /// newest `backfill` are kept), `cleared` that it was cleared or wrapped since.
    pub fn absorb(
        &mut self,
        policy: &LogPolicy,
        mut read: Vec<LogEntry>,
        first: bool,
        cleared: Vec<String>,
        now_ms: i64,
    ) -> Logs {
        for e in &mut read {
            e.bound();
        }
        if !cleared.is_empty() {
            self.recent.retain(|e| !cleared.contains(&e.log));
        }
        let fresh = if first {
            let skip = read.len().saturating_sub(policy.backfill);
            self.recent
                .extend(read.into_iter().skip(skip).map(Arc::new));
            Vec::new()
        } else {
            let read: Vec<Arc<LogEntry>> = read.into_iter().map(Arc::new).collect();
            self.recent.extend(read.iter().cloned());
            for e in &read {
                self.counts.add(e.severity);
                if e.severity == LogSeverity::Critical {
                    self.last_critical = Some(LastCritical {
                        message: match &e.sensor {
                            Some(s) => format!("{s}: {}", e.message),
                            None => e.message.clone(),
                        },
                        seen_ms: now_ms,
                    });
                }
            }
            read
        };
        while self.recent.len() > policy.keep {
            self.recent.pop_front();
        }
        Logs {
            entries: self.recent.iter().cloned().collect(),
            total: 0,
            sel_used_ratio: None,
            overflow: false,
            counts: self.counts,
            last_critical: self.last_critical.clone(),
            fresh,
            cleared,
        }
    }

    /// The log part of a poll that read nothing new (or failed): the entries kept so far.
    pub fn unchanged(&self) -> Logs {
        Logs {
            entries: self.recent.iter().cloned().collect(),
            counts: self.counts,
            last_critical: self.last_critical.clone(),
            ..Logs::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u32) -> LogEntry {
        LogEntry {
            log: "sel".into(),
            id: format!("{id:#06x}"),
            created_ms: None,
            severity: LogSeverity::Ok,
            sensor_type: None,
            sensor: None,
            message: format!("event {id}"),
            detail: None,
            message_id: None,
        }
    }

    fn ids(v: &[Arc<LogEntry>]) -> Vec<String> {
        v.iter().map(|e| e.id.clone()).collect()
    }

    #[test]
    fn first_read_is_backfill_not_events_then_each_new_entry_once() {
        let policy = LogPolicy {
            backfill: 2,
            keep: 3,
            ..LogPolicy::default()
        };
        let mut f = LogFollow::default();
        let l = f.absorb(
            &policy,
            (1..=5000).map(entry).collect(),
            true,
            Vec::new(),
            1,
        );
        assert!(l.fresh.is_empty());
        assert_eq!(ids(&l.entries), ["0x1387", "0x1388"]);
        let l = f.absorb(
            &policy,
            vec![entry(5001), entry(5002)],
            false,
            Vec::new(),
            2,
        );
        assert_eq!(ids(&l.fresh), ["0x1389", "0x138a"]);
        assert_eq!(ids(&l.entries), ["0x1388", "0x1389", "0x138a"]);
        assert_eq!(l.counts.get(LogSeverity::Ok), 2);
        assert_eq!(l.last_critical, None);
        let mut bad = entry(5003);
        bad.severity = LogSeverity::Critical;
        bad.sensor = Some("Memory #0x11".into());
        let l = f.absorb(&policy, vec![bad], false, Vec::new(), 7);
        assert_eq!(
            l.last_critical,
            Some(LastCritical {
                message: "Memory #0x11: event 5003".into(),
                seen_ms: 7
            })
        );
        let l = f.absorb(&policy, vec![entry(1)], false, vec!["sel".into()], 3);
        assert_eq!(l.cleared, ["sel"]);
        assert_eq!(ids(&l.entries), ["0x0001"]);
        assert_eq!(ids(&f.unchanged().entries), ["0x0001"]);
        assert!(
            f.unchanged().last_critical.is_some(),
            "a clear is no acknowledgement"
        );
    }

    #[test]
    fn a_huge_message_is_cut() {
        let mut e = entry(1);
        e.message = "x".repeat(1 << 20);
        e.sensor = Some("y".repeat(1000));
        assert!(e.bound());
        assert_eq!(e.message.len(), MAX_LOG_MESSAGE_CHARS);
        assert_eq!(e.sensor.as_deref().map(str::len), Some(MAX_LOG_FIELD_CHARS));
        assert!(!entry(2).bound());
    }
}
