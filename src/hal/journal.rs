//! The BMC sessions this process has open, kept in a file (`session-journal`) so that
//! after a crash or `kill -9` the next start closes them: a BMC allows a handful of sessions and
//! keeps an abandoned one for its whole timeout (often 30 minutes for Redfish), so a restart loop
//! would lock the daemon out.
//!
//! Each backend names its BMC by origin (`https://10.0.0.5:443`, `ipmi://10.0.0.5:623`) and its
//! session by what closes it: a Redfish session path (`/redfish/v1/SessionService/Sessions/17`) or
//! an IPMI session ID in hex. Never a token or key: the next start closes a stale session from a
//! new session of its own, as the same user. The file is rewritten at most once per
//! [`Journal::flush`] (the daemon flushes each second and at stop).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Stale sessions remembered per BMC at most (older ones are forgotten).
const MAX_PER_BMC: usize = 8;
/// The largest journal read back.
const MAX_FILE: u64 = 16 << 20;

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct File {
    /// By BMC origin (`https://10.0.0.5:443`), the session paths to delete.
    sessions: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default)]
struct State {
    /// Opened by this process and not yet closed.
    open: BTreeMap<String, String>,
    /// Left by an earlier process, not yet deleted.
    stale: BTreeMap<String, Vec<String>>,
    dirty: bool,
}

/// The open-session journal. Without a path it only keeps memory.
#[derive(Debug, Default)]
pub struct Journal {
    path: Option<PathBuf>,
    state: Mutex<State>,
}

impl Journal {
    /// Reads what an earlier process left in `path`. A missing file is a clean start; an unreadable
    /// one is reported and ignored.
    pub fn load(path: Option<PathBuf>) -> Journal {
        let stale = path.as_deref().map(read).unwrap_or_default();
        if !stale.is_empty() {
            tracing::info!(
                bmcs = stale.len(),
                "redfish sessions left open by an earlier run: each is deleted at its BMC's next login"
            );
        }
        Journal {
            path,
            state: Mutex::new(State {
                stale,
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A session was created on `bmc` (its origin) at `path`.
    pub fn opened(&self, bmc: &str, path: &str) {
        let mut s = self.lock();
        s.open.insert(bmc.to_string(), path.to_string());
        s.dirty = true;
    }

    /// The session on `bmc` was deleted (or is gone).
    pub fn closed(&self, bmc: &str) {
        let mut s = self.lock();
        if s.open.remove(bmc).is_some() {
            s.dirty = true;
        }
    }

    /// The sessions an earlier process left on `bmc`; forgotten here, so each is tried once.
    pub fn take_stale(&self, bmc: &str) -> Vec<String> {
        let mut s = self.lock();
        let stale = s.stale.remove(bmc).unwrap_or_default();
        if !stale.is_empty() {
            s.dirty = true;
        }
        stale
    }

    /// Writes the file if anything changed since the last write: the open sessions and the stale
    /// ones not yet deleted. Atomic (a temp file renamed over), mode 0600.
    pub fn flush(&self) {
        let Some(path) = &self.path else { return };
        let file = {
            let mut s = self.lock();
            if !s.dirty {
                return;
            }
            s.dirty = false;
            let mut sessions = s.stale.clone();
            for (bmc, p) in &s.open {
                let list = sessions.entry(bmc.clone()).or_default();
                list.push(p.clone());
                let excess = list.len().saturating_sub(MAX_PER_BMC);
                list.drain(..excess);
            }
            File { sessions }
        };
        if let Err(e) = write(path, &file) {
            self.lock().dirty = true;
            tracing::warn!(file = %path.display(), error = %e, "cannot write the redfish session journal");
        }
    }
}

fn read(path: &Path) -> BTreeMap<String, Vec<String>> {
    let file: File = super::state_file::load(path, "redfish session journal", MAX_FILE);
    file.sessions
        .into_iter()
        .map(|(bmc, mut paths)| {
            let excess = paths.len().saturating_sub(MAX_PER_BMC);
            paths.drain(..excess);
            (bmc, paths)
        })
        .collect()
}

fn write(path: &Path, file: &File) -> std::io::Result<()> {
    super::state_file::save(path, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BMC: &str = "https://10.0.0.5:443";

    #[test]
    fn sessions_open_at_a_crash_are_stale_at_the_next_start() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sessions.json");
        let first = Journal::load(Some(path.clone()));
        first.opened(BMC, "/redfish/v1/SessionService/Sessions/1");
        first.opened(
            "https://10.0.0.6:443",
            "/redfish/v1/SessionService/Sessions/2",
        );
        first.closed("https://10.0.0.6:443");
        first.flush();
        // kill -9: nothing more is written.
        let second = Journal::load(Some(path.clone()));
        assert_eq!(
            second.take_stale(BMC),
            ["/redfish/v1/SessionService/Sessions/1"]
        );
        assert!(second.take_stale(BMC).is_empty(), "each is tried once");
        assert!(second.take_stale("https://10.0.0.6:443").is_empty());
        second.flush();
        assert!(Journal::load(Some(path)).take_stale(BMC).is_empty());
    }

    #[test]
    fn stale_sessions_not_yet_deleted_survive_another_restart() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sessions.json");
        let first = Journal::load(Some(path.clone()));
        first.opened(BMC, "/s/1");
        first.flush();
        let second = Journal::load(Some(path.clone()));
        second.opened("https://10.0.0.7:443", "/s/9");
        second.flush();
        let third = Journal::load(Some(path));
        assert_eq!(third.take_stale(BMC), ["/s/1"]);
        assert_eq!(third.take_stale("https://10.0.0.7:443"), ["/s/9"]);
    }

    #[test]
    fn a_broken_journal_is_ignored() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sessions.json");
        std::fs::write(&path, "{not json").expect("write");
        assert!(Journal::load(Some(path)).take_stale(BMC).is_empty());
        assert!(
            Journal::load(Some(dir.path().into()))
                .take_stale(BMC)
                .is_empty()
        );
    }
}
