//! Where each BMC's logs were read up to, kept in a file (`[logs] cursor-file`) so that a restart
//! reports no log entry twice: per BMC (by MAC) and log (`sel`, a LogService path), the backend's
//! own cursor as JSON (an IPMI SEL cursor, a Redfish entry id). Backends read their cursor at
//! their first poll and note each new one; the daemon writes the file at most once a second
//! ([`Cursors::flush`]) and at stop. A cursor noted but not yet written when the process is killed
//! is lost: the entries after the written one are then reported again (at least once, never lost).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::MacAddr;

/// The largest cursor file read back.
const MAX_FILE: u64 = 64 << 20;

type Map = BTreeMap<String, BTreeMap<String, serde_json::Value>>;

#[derive(Debug, Default)]
struct State {
    cursors: Map,
    dirty: bool,
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
                dirty: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cursor of `log` on `mac`, if one was noted (and still reads as a `T`).
    pub fn get<T: DeserializeOwned>(&self, mac: MacAddr, log: &str) -> Option<T> {
        let v = self.lock().cursors.get(&mac.to_string())?.get(log)?.clone();
        serde_json::from_value(v).ok()
    }

    /// Notes the cursor of `log` on `mac`.
    pub fn set<T: Serialize>(&self, mac: MacAddr, log: &str, cursor: &T) {
        let Ok(v) = serde_json::to_value(cursor) else {
            return;
        };
        let mut s = self.lock();
        let slot = s.cursors.entry(mac.to_string()).or_default();
        if slot.get(log) != Some(&v) {
            slot.insert(log.to_string(), v);
            s.dirty = true;
        }
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
    super::state_file::load(path, "log cursor file", MAX_FILE)
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
}
