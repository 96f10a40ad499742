//! Where each BMC's logs were read up to, kept in a file (`[logs] cursor-file`) so that a restart
//! reports no log entry twice: per BMC (by MAC) and log (`sel`, a LogService path), the backend's
//! own cursor as JSON (an IPMI SEL cursor, a Redfish entry id), stamped with the time it was last
//! noted. Backends read their cursor at their first poll and note each new one; the daemon writes
//! the file at most once a second ([`Cursors::flush`]) and at stop. A cursor noted but not yet
//! written when the process is killed is lost: the entries after the written one are then reported
//! again (at least once, never lost).
//!
//! With NATS the cursors are shared too (`publish::nats::cursors`): what changed is taken with
//! [`Cursors::take_changed`] and written to a KV bucket, and what another catcher wrote there is
//! merged in with [`Cursors::merge`] (the newer stamp wins), so a BMC handed over to another
//! catcher is read on from where its previous owner stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::model::{MacAddr, now_ms};

/// The largest cursor file read back.
const MAX_FILE: u64 = 64 << 20;
/// The most logs kept per BMC (a merged value with more is refused).
pub const MAX_LOGS: usize = 64;
/// The longest log name and the largest cursor (as JSON) kept from a merged value.
pub const MAX_NAME: usize = 512;
pub const MAX_CURSOR: usize = 1024;

/// One BMC's cursors: by log, and when one of them was last noted (Unix ms, this host's clock).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BmcCursors {
    pub at_ms: i64,
    pub logs: BTreeMap<String, serde_json::Value>,
}

impl BmcCursors {
    /// Why a value from elsewhere (the KV) cannot be taken: too many logs, a name or cursor too
    /// long.
    pub fn check(&self) -> Result<(), String> {
        if self.logs.len() > MAX_LOGS {
            return Err(format!("{} logs, more than {MAX_LOGS}", self.logs.len()));
        }
        for (name, cursor) in &self.logs {
            if name.len() > MAX_NAME {
                return Err(format!("a log name of {} bytes", name.len()));
            }
            let len = cursor.to_string().len();
            if len > MAX_CURSOR {
                return Err(format!("the cursor of {name}: {len} bytes"));
            }
        }
        Ok(())
    }
}

/// A BMC's entry in the file: today's form, or the one before the stamp (the logs alone).
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Stamped(BmcCursors),
    Plain(BTreeMap<String, serde_json::Value>),
}

type Map = BTreeMap<String, BmcCursors>;

#[derive(Debug, Default)]
struct State {
    cursors: Map,
    /// The file lags behind.
    dirty: bool,
    /// BMCs whose cursors changed here since the last [`Cursors::take_changed`].
    changed: BTreeSet<MacAddr>,
}

/// The log cursors of every BMC. Without a path it only keeps memory.
#[derive(Debug, Default)]
pub struct Cursors {
    path: Option<PathBuf>,
    state: Mutex<State>,
}

impl Cursors {
    /// Reads what an earlier process left in `path`. A missing file is a clean start; an
    /// unreadable or invalid one is reported and ignored (each log is then read as for the first
    /// time: counted, not replayed).
    pub fn load(path: Option<PathBuf>) -> Cursors {
        let cursors = path.as_deref().map(read).unwrap_or_default();
        Cursors {
            path,
            state: Mutex::new(State {
                cursors,
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cursor of `log` on `mac`, if one was noted (and still reads as a `T`).
    pub fn get<T: DeserializeOwned>(&self, mac: MacAddr, log: &str) -> Option<T> {
        let v = self
            .lock()
            .cursors
            .get(&mac.to_string())?
            .logs
            .get(log)?
            .clone();
        serde_json::from_value(v).ok()
    }

    /// Notes the cursor of `log` on `mac`.
    pub fn set<T: Serialize>(&self, mac: MacAddr, log: &str, cursor: &T) {
        let Ok(v) = serde_json::to_value(cursor) else {
            return;
        };
        let mut s = self.lock();
        let slot = s.cursors.entry(mac.to_string()).or_default();
        if slot.logs.get(log) != Some(&v) {
            slot.logs.insert(log.to_string(), v);
            slot.at_ms = now_ms().max(slot.at_ms.saturating_add(1));
            s.dirty = true;
            s.changed.insert(mac);
        }
    }

    /// The cursors of every BMC noted here since the last call, to share them.
    pub fn take_changed(&self) -> Vec<(MacAddr, BmcCursors)> {
        let mut s = self.lock();
        let changed = std::mem::take(&mut s.changed);
        changed
            .into_iter()
            .filter_map(|mac| Some((mac, s.cursors.get(&mac.to_string())?.clone())))
            .collect()
    }

    /// Gives `mac` back to the next [`Cursors::take_changed`] (sharing it failed).
    pub fn mark_changed(&self, mac: MacAddr) {
        self.lock().changed.insert(mac);
    }

    /// Takes `mac`'s cursors from elsewhere when they were noted later than the ones here (or none
    /// are here); true if taken. A value over the bounds of [`BmcCursors::check`] is refused.
    pub fn merge(&self, mac: MacAddr, theirs: BmcCursors) -> Result<bool, String> {
        theirs.check()?;
        let mut s = self.lock();
        let key = mac.to_string();
        if s.cursors
            .get(&key)
            .is_some_and(|ours| ours.at_ms >= theirs.at_ms)
        {
            return Ok(false);
        }
        s.cursors.insert(key, theirs);
        s.dirty = true;
        Ok(true)
    }

    /// Writes the file if anything changed since the last write. Atomic (a temp file renamed
    /// over), mode 0600.
    pub fn flush(&self) {
        let Some(path) = &self.path else { return };
        let map = {
            let mut s = self.lock();
            if !s.dirty {
                return;
            }
            s.dirty = false;
            s.cursors.clone()
        };
        if let Err(e) = write(path, &map) {
            self.lock().dirty = true;
            tracing::warn!(file = %path.display(), error = %e, "cannot write the log cursor file");
        }
    }
}

fn read(path: &Path) -> Map {
    let stored: BTreeMap<String, Stored> =
        super::state_file::load(path, "log cursor file", MAX_FILE);
    stored
        .into_iter()
        .map(|(mac, entry)| {
            let entry = match entry {
                Stored::Stamped(c) => c,
                Stored::Plain(logs) => BmcCursors { at_ms: 0, logs },
            };
            (mac, entry)
        })
        .collect()
}

fn write(path: &Path, map: &Map) -> std::io::Result<()> {
    super::state_file::save(path, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

    #[test]
    fn a_cursor_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("log-cursors.json");
        let first = Cursors::load(Some(path.clone()));
        assert_eq!(first.get::<u16>(MAC, "sel"), None);
        first.set(MAC, "sel", &7u16);
        first.set(MAC, "Managers/1/LogServices/Log", &"42");
        first.flush();
        let second = Cursors::load(Some(path.clone()));
        assert_eq!(second.get::<u16>(MAC, "sel"), Some(7));
        assert_eq!(
            second.get::<String>(MAC, "Managers/1/LogServices/Log"),
            Some("42".into())
        );
        assert_eq!(second.get::<u16>(MacAddr([2, 0, 0, 0, 0, 2]), "sel"), None);
        // A cursor of another shape is no cursor.
        assert_eq!(second.get::<u16>(MAC, "Managers/1/LogServices/Log"), None);
    }

    #[test]
    fn a_broken_file_is_ignored() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("log-cursors.json");
        std::fs::write(&path, "{not json").expect("write");
        assert_eq!(Cursors::load(Some(path)).get::<u16>(MAC, "sel"), None);
        assert_eq!(
            Cursors::load(Some(dir.path().into())).get::<u16>(MAC, "sel"),
            None
        );
    }

    #[test]
    fn a_file_from_before_the_stamps_reads_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("log-cursors.json");
        std::fs::write(&path, r#"{"02:00:00:00:00:01":{"sel":7}}"#).expect("write");
        let c = Cursors::load(Some(path));
        assert_eq!(c.get::<u16>(MAC, "sel"), Some(7));
        // Anything shared since is newer than the stamp-less cursor.
        let theirs = BmcCursors {
            at_ms: 1,
            logs: [("sel".to_string(), serde_json::json!(9))].into(),
        };
        assert_eq!(c.merge(MAC, theirs), Ok(true));
        assert_eq!(c.get::<u16>(MAC, "sel"), Some(9));
    }

    #[test]
    fn what_changed_is_taken_once_and_the_newer_stamp_wins() {
        let c = Cursors::default();
        assert!(c.take_changed().is_empty());
        c.set(MAC, "sel", &7u16);
        c.set(MAC, "sel", &7u16);
        let taken = c.take_changed();
        assert_eq!(taken.len(), 1);
        let (mac, ours) = &taken[0];
        assert_eq!(*mac, MAC);
        assert!(ours.at_ms > 0);
        assert_eq!(ours.logs["sel"], serde_json::json!(7));
        assert!(c.take_changed().is_empty(), "taken once");
        // An unchanged cursor is not shared again; a failed share is given back.
        c.set(MAC, "sel", &7u16);
        assert!(c.take_changed().is_empty());
        c.mark_changed(MAC);
        assert_eq!(c.take_changed().len(), 1);

        // Older (or our own, echoed back) loses; newer wins, and is not shared back.
        let older = BmcCursors {
            at_ms: ours.at_ms - 1,
            logs: [("sel".to_string(), serde_json::json!(3))].into(),
        };
        assert_eq!(c.merge(MAC, older), Ok(false));
        assert_eq!(c.merge(MAC, ours.clone()), Ok(false));
        assert_eq!(c.get::<u16>(MAC, "sel"), Some(7));
        let newer = BmcCursors {
            at_ms: ours.at_ms + 10_000,
            logs: [("sel".to_string(), serde_json::json!(12))].into(),
        };
        assert_eq!(c.merge(MAC, newer), Ok(true));
        assert_eq!(c.get::<u16>(MAC, "sel"), Some(12));
        assert!(c.take_changed().is_empty());
        // A BMC never seen here is taken as it is.
        let other = MacAddr([2, 0, 0, 0, 0, 9]);
        let theirs = BmcCursors {
            at_ms: 5,
            logs: [("sel".to_string(), serde_json::json!(1))].into(),
        };
        assert_eq!(c.merge(other, theirs), Ok(true));
        assert_eq!(c.get::<u16>(other, "sel"), Some(1));
        // After a note here the stamp moves on past the merged one.
        c.set(MAC, "sel", &13u16);
        assert!(c.take_changed()[0].1.at_ms >= ours.at_ms + 10_000);
    }

    #[test]
    fn a_hostile_shared_value_is_refused() {
        let c = Cursors::default();
        let many = BmcCursors {
            at_ms: 1,
            logs: (0..=MAX_LOGS)
                .map(|i| (format!("log{i}"), serde_json::json!(i)))
                .collect(),
        };
        assert!(c.merge(MAC, many).is_err());
        let long_name = BmcCursors {
            at_ms: 1,
            logs: [("x".repeat(MAX_NAME + 1), serde_json::json!(1))].into(),
        };
        assert!(c.merge(MAC, long_name).is_err());
        let big = BmcCursors {
            at_ms: 1,
            logs: [("sel".to_string(), serde_json::json!("y".repeat(MAX_CURSOR)))].into(),
        };
        assert!(c.merge(MAC, big).is_err());
        assert_eq!(c.get::<u16>(MAC, "sel"), None, "nothing taken");
    }
}
