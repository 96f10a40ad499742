//! Following a Redfish BMC's logs: at the first poll the LogServices of its system and manager
//! are listed and those of its vendor's row in [`crate::hal::vendors::VENDORS`] kept; each poll then
//! reads each kept log's entries (a `$top` page at a time where the vendor supports it, newest
//! first or oldest first as its row says) up to the entry under the cursor (`Id`), at most
//! `[logs] max-entries-per-poll`. An entry without `Id` is skipped with a warning; a cursor entry
//! that is gone, or a shorter log, means the log was cleared or wrapped.
//!
//! [`entry::entry`] and [`after_cursor`] are pure and tested on the DMTF mockups' entries.

mod entry;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::Session;
use super::shapes;
use crate::hal::HalError;
use crate::hal::vendors::{self, Quirk, Vendor};
use crate::model::{LogEntry, LogFollow, LogPolicy, Logs, MacAddr, now_ms};
pub use entry::{entry, log_name};

/// Entries asked for per page (`$top`).
const PAGE: usize = 50;
/// Pages (`Members@odata.nextLink`) followed per log per poll at most.
const MAX_PAGES: usize = 20;

/// Where the reading of one log stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCursor {
    /// The newest entry read; `None`: the log was empty.
    pub last_id: Option<String>,
    /// `Members@odata.count` then, when the BMC says.
    pub count: Option<u64>,
}

/// What a log read needs of its backend.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    pub session: &'a Session,
    /// The BMC's label, for warnings.
    pub bmc: &'a str,
    pub mac: MacAddr,
    pub cursors: &'a crate::hal::cursors::Cursors,
    pub policy: &'a LogPolicy,
}

/// The log state of one Redfish BMC.
#[derive(Debug, Default)]
pub struct RedfishLogs {
    /// The entry collections read (`/redfish/v1/.../LogServices/Log/Entries`); `None` until found.
    services: Option<Vec<String>>,
    vendor: Option<&'static Vendor>,
    cursors: HashMap<String, Option<LogCursor>>,
    follow: LogFollow,
}

/// Of entries oldest first, those after the cursor, and whether the log was cleared or wrapped
/// (the cursor's entry is gone, or the log shrank).
pub fn after_cursor(
    entries: Vec<LogEntry>,
    cursor: Option<&LogCursor>,
    count: Option<u64>,
    complete: bool,
) -> (Vec<LogEntry>, bool) {
    let Some(c) = cursor else {
        return (entries, false);
    };
    let shrank = matches!((c.count, count), (Some(old), Some(new)) if new < old);
    let Some(last) = &c.last_id else {
        // The log was empty: everything in it is new.
        return (entries, false);
    };
    match entries.iter().rposition(|e| &e.id == last) {
        Some(i) if !shrank => (entries.into_iter().skip(i + 1).collect(), false),
        // Not in what was read: gone (cleared, wrapped) when the whole log was read or it shrank,
        // else simply more new entries than one poll reads.
        _ => (entries, complete || shrank),
    }
}

impl RedfishLogs {
    /// Reads what is new in every log; `None` when logs are off or the BMC has none.
    pub async fn read(
        &mut self,
        at: &Reader<'_>,
        system: &Value,
        manager: Option<&Value>,
    ) -> Option<Logs> {
        let Reader {
            session: s,
            bmc,
            mac,
            cursors,
            policy,
        } = *at;
        if !policy.enabled {
            return None;
        }
        if self.services.is_none() {
            let manufacturer = system
                .get("Manufacturer")
                .or_else(|| manager.and_then(|m| m.get("Manufacturer")))
                .and_then(Value::as_str);
            let vendor = vendors::for_manufacturer(manufacturer);
            self.vendor = Some(vendor);
            self.services = Some(find(s, vendor, system, manager).await);
        }
        let services = self.services.clone().unwrap_or_default();
        if services.is_empty() {
            return None;
        }
        let vendor = self.vendor.unwrap_or_else(vendors::default_row);
        let mut fresh_all = Vec::new();
        let mut backfill = Vec::new();
        let mut cleared_logs = Vec::new();
        let mut total = 0;
        for entries_path in &services {
            let name = log_name(entries_path);
            let cursor = self
                .cursors
                .entry(name.clone())
                .or_insert_with(|| cursors.get(mac, &name))
                .clone();
            match read_log(s, bmc, vendor, entries_path, &name, cursor.as_ref(), policy).await {
                Ok((entries, count, complete)) => {
                    total += count.unwrap_or(entries.len() as u64);
                    let newest = entries.last().map(|e| e.id.clone());
                    let (new, cleared) = after_cursor(entries, cursor.as_ref(), count, complete);
                    let c = LogCursor {
                        last_id: newest.or_else(|| {
                            cursor
                                .as_ref()
                                .and_then(|c| c.last_id.clone())
                                .filter(|_| !cleared)
                        }),
                        count,
                    };
                    cursors.set(mac, &name, &c);
                    self.cursors.insert(name.clone(), Some(c));
                    if cleared {
                        cleared_logs.push(name.clone());
                    }
                    if cursor.is_none() {
                        backfill.extend(new);
                    } else {
                        fresh_all.extend(new);
                    }
                }
                Err(e) => {
                    tracing::warn!(bmc = %bmc, log = %name, error = %e, "redfish log read failed")
                }
            }
        }
        let keep = fresh_all.len().saturating_sub(policy.max_per_poll);
        let fresh_all: Vec<LogEntry> = fresh_all.into_iter().skip(keep).collect();
        if !backfill.is_empty() {
            // Logs read for the first time: counted and kept, not sent.
            self.follow
                .absorb(policy, backfill, true, Vec::new(), now_ms());
        }
        let mut logs = self
            .follow
            .absorb(policy, fresh_all, false, cleared_logs, now_ms());
        logs.total = total;
        Some(logs)
    }
}

/// The entry collections of the vendor's LogServices under the system and the manager.
async fn find(
    s: &Session,
    vendor: &Vendor,
    system: &Value,
    manager: Option<&Value>,
) -> Vec<String> {
    let mut out = Vec::new();
    for doc in [Some(system), manager].into_iter().flatten() {
        let Some(coll) = shapes::link(doc, "LogServices") else {
            continue;
        };
        let Ok(c) = s.get(&coll).await else { continue };
        for service in shapes::members(&c) {
            if !vendor.reads(&service) {
                continue;
            }
            let entries = match s.get(&service).await {
                Ok(d) => shapes::link(&d, "Entries"),
                Err(_) => None,
            };
            out.extend(entries);
        }
    }
    out.truncate(8);
    out
}

/// One log's entries, oldest first: all when the log is short, else the newest pages back to the
/// cursor, at most `max_per_poll`; with `Members@odata.count` and whether the whole log was read.
async fn read_log(
    s: &Session,
    bmc: &str,
    vendor: &Vendor,
    entries_path: &str,
    name: &str,
    cursor: Option<&LogCursor>,
    policy: &LogPolicy,
) -> Result<(Vec<LogEntry>, Option<u64>, bool), HalError> {
    let mut read: Vec<LogEntry> = Vec::new();
    let mut count = None;
    let mut complete = false;
    let mut skipped = 0u64;
    let mut url = if vendor.has(Quirk::LogsTopSkip) {
        format!("{entries_path}?$top={PAGE}")
    } else {
        entries_path.to_string()
    };
    for page in 0..MAX_PAGES {
        let doc = s.get(&url).await?;
        count = count.or(doc.get("Members@odata.count").and_then(Value::as_u64));
        let members = doc
            .get("Members")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let got = members.len();
        let mut hit_cursor = false;
        for m in &members {
            match entry(m, name) {
                Some(e) => {
                    hit_cursor |= vendor.has(Quirk::LogsNewestFirst)
                        && cursor.is_some_and(|c| c.last_id.as_deref() == Some(e.id.as_str()));
                    read.push(e);
                }
                None => skipped += 1,
            }
            if hit_cursor {
                break;
            }
        }
        let next = doc
            .get("Members@odata.nextLink")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                (vendor.has(Quirk::LogsTopSkip) && got == PAGE)
                    .then(|| format!("{entries_path}?$top={PAGE}&$skip={}", (page + 1) * PAGE))
            });
        // Newest first: stop at the cursor or at the bound; oldest first: read to the end.
        if vendor.has(Quirk::LogsNewestFirst) && (hit_cursor || read.len() >= policy.max_per_poll) {
            break;
        }
        match next {
            Some(n) if got > 0 => url = n,
            _ => {
                complete = true;
                break;
            }
        }
        if !vendor.has(Quirk::LogsNewestFirst) && read.len() > 4 * policy.max_per_poll {
            // An oldest-first log this long: keep only its newest part in memory.
            let drop = read.len() - policy.max_per_poll;
            read.drain(..drop);
        }
    }
    if skipped > 0 {
        tracing::warn!(bmc = %bmc, log = %name, skipped, "redfish log entries without Id skipped");
    }
    if vendor.has(Quirk::LogsNewestFirst) {
        read.reverse();
    }
    Ok((read, count, complete))
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::entry::tests::mockup;

    #[test]
    fn the_cursor_splits_old_from_new_and_sees_a_clear() {
        let all = mockup();
        let c1 = LogCursor {
            last_id: Some("1".into()),
            count: Some(2),
        };
        let (new, cleared) = after_cursor(all.clone(), Some(&c1), Some(2), true);
        assert_eq!(new.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["2"]);
        assert!(!cleared);
        let c2 = LogCursor {
            last_id: Some("2".into()),
            count: Some(2),
        };
        assert_eq!(
            after_cursor(all.clone(), Some(&c2), Some(2), true),
            (vec![], false)
        );
        // The cursor's entry is gone from a whole log: cleared, all of it is new.
        let gone = LogCursor {
            last_id: Some("7".into()),
            count: Some(7),
        };
        let (new, cleared) = after_cursor(all.clone(), Some(&gone), Some(2), true);
        assert_eq!((new.len(), cleared), (2, true));
        // Not found in a partial read of a longer log: more new entries than one poll, no clear.
        let far = LogCursor {
            last_id: Some("0".into()),
            count: Some(1),
        };
        assert!(!after_cursor(all.clone(), Some(&far), Some(900), false).1);
        assert_eq!(after_cursor(all.clone(), None, Some(2), true).0.len(), 2);
        // The log was empty at the last read: all of it is new, no clear.
        let empty = LogCursor {
            last_id: None,
            count: Some(0),
        };
        assert_eq!(after_cursor(all, Some(&empty), Some(2), true).0.len(), 2);
    }
}
