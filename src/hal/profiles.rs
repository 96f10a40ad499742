//! What each BMC turned out to support ([`Profile`], by MAC), kept in a file (`[poll]
//! profile-file`) so that a restart skips detecting it: `protocol = "auto"` starts with the
//! protocol found, Redfish with the layout found (no discovery GETs), IPMI with the cipher suite
//! the BMC accepted. Backends read a BMC's profile when they are built and note what they find; a
//! backend that finds its profile stale (a remembered path now 404, another protocol, new BMC
//! firmware) replaces it. The daemon writes the file at most once a second ([`Profiles::flush`])
//! and at stop.
//!
//! The file is read like every state file (`state_file`): a missing, unreadable or broken file is
//! an empty state and a warning naming it; an entry over the bounds of [`Profile::check`] or not
//! keyed by a MAC is dropped with a warning. With NATS the profiles are shared too
//! (`publish::nats::profiles`): what changed is taken with [`Profiles::take_changed`] and put into
//! the KV.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::model::{MacAddr, Profile};

/// The largest profile file read back (a profile is well under 4 KiB; 64 MiB holds >16,000).
const MAX_FILE: u64 = 64 << 20;

#[derive(Debug, Default)]
struct State {
    profiles: BTreeMap<MacAddr, Profile>,
    /// The file lags behind.
    dirty: bool,
    /// BMCs whose profile changed since the last [`Profiles::take_changed`].
    changed: BTreeSet<MacAddr>,
}

/// Every BMC's profile. Without a path it only keeps memory.
#[derive(Debug, Default)]
pub struct Profiles {
    path: Option<PathBuf>,
    state: Mutex<State>,
}

impl Profiles {
    /// Reads what an earlier process left in `path`. A missing file is a clean start; an
    /// unreadable or invalid one is reported and ignored (every BMC is then detected again).
    pub fn load(path: Option<PathBuf>) -> Profiles {
        let profiles = path.as_deref().map(read).unwrap_or_default();
        if !profiles.is_empty() {
            tracing::info!(
                bmcs = profiles.len(),
                "BMC profiles from an earlier run: their detection is skipped"
            );
        }
        Profiles {
            path,
            state: Mutex::new(State {
                profiles,
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The profile of `mac`, if one is remembered.
    pub fn get(&self, mac: MacAddr) -> Option<Profile> {
        self.lock().profiles.get(&mac).cloned()
    }

    /// Notes `profile` as `mac`'s (a value over the bounds is not kept).
    pub fn set(&self, mac: MacAddr, profile: Profile) {
        self.update(mac, |_| Some(profile));
    }

    /// Changes `mac`'s profile in place, under one lock (`f` gets `None` when there is none yet,
    /// and may create one; `None` from it forgets the profile). A result over the bounds of
    /// [`Profile::check`] is not kept.
    pub fn update(&self, mac: MacAddr, f: impl FnOnce(Option<Profile>) -> Option<Profile>) {
        let mut s = self.lock();
        let old = s.profiles.get(&mac).cloned();
        let new = f(old.clone());
        if new == old {
            return;
        }
        match new {
            Some(p) => {
                if let Err(e) = p.check() {
                    tracing::warn!(bmc.mac = %mac, error = %e, "BMC profile over its bounds; not kept");
                    return;
                }
                s.profiles.insert(mac, p);
            }
            None => {
                s.profiles.remove(&mac);
            }
        }
        s.dirty = true;
        s.changed.insert(mac);
    }

    /// Forgets `mac`'s profile (it was found stale): the next backend detects it again.
    pub fn forget(&self, mac: MacAddr) {
        self.update(mac, |_| None);
    }

    /// The BMCs whose profile changed here since the last call, with the profile (`None`:
    /// forgotten), to share them.
    pub fn take_changed(&self) -> Vec<(MacAddr, Option<Profile>)> {
        let mut s = self.lock();
        let changed = std::mem::take(&mut s.changed);
        changed
            .into_iter()
            .map(|mac| (mac, s.profiles.get(&mac).cloned()))
            .collect()
    }

    /// Takes `mac`'s profile from elsewhere (another catcher, through the KV) when none is here or
    /// it was detected later than the one here; true if taken. A value over the bounds of
    /// [`Profile::check`] is refused. Not shared again (it came from there).
    pub fn merge(&self, mac: MacAddr, theirs: Profile) -> Result<bool, String> {
        theirs.check()?;
        let mut s = self.lock();
        if s.profiles
            .get(&mac)
            .is_some_and(|ours| ours.detected_ms >= theirs.detected_ms)
        {
            return Ok(false);
        }
        s.profiles.insert(mac, theirs);
        s.dirty = true;
        Ok(true)
    }

    /// Keeps only the profiles of `leased` (the BMCs the leases name now), so the file does not
    /// grow with every BMC that ever had a lease; a BMC that comes back is detected again. An
    /// empty list (no leases read yet, or none left) drops nothing. Local only: the KV keys stay
    /// (the partition's other catchers read the same leases). Returns how many were dropped.
    pub fn retain(&self, leased: &std::collections::HashSet<MacAddr>) -> usize {
        if leased.is_empty() {
            return 0;
        }
        let mut s = self.lock();
        let before = s.profiles.len();
        s.profiles.retain(|mac, _| leased.contains(mac));
        let dropped = before - s.profiles.len();
        if dropped > 0 {
            s.dirty = true;
            tracing::info!(
                dropped,
                kept = s.profiles.len(),
                "BMC profiles of BMCs without a lease dropped"
            );
        }
        dropped
    }

    /// Gives `mac` back to the next [`Profiles::take_changed`] (sharing it failed).
    pub fn mark_changed(&self, mac: MacAddr) {
        self.lock().changed.insert(mac);
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
            s.profiles.clone()
        };
        if let Err(e) = super::state_file::save(path, &map) {
            self.lock().dirty = true;
            tracing::warn!(file = %path.display(), error = %e, "cannot write the BMC profile file");
        }
    }
}

/// The profiles in `path`: each entry is checked on its own, so one bad entry costs only itself.
fn read(path: &Path) -> BTreeMap<MacAddr, Profile> {
    let stored: BTreeMap<String, serde_json::Value> =
        super::state_file::load(path, "BMC profile file", MAX_FILE);
    let mut out = BTreeMap::new();
    let mut dropped = 0usize;
    for (mac, value) in stored {
        let profile = mac
            .parse::<MacAddr>()
            .map_err(|e| e.to_string())
            .and_then(|mac| {
                let p: Profile = serde_json::from_value(value).map_err(|e| e.to_string())?;
                p.check().map(|()| (mac, p))
            });
        match profile {
            Ok((mac, p)) => {
                out.insert(mac, p);
            }
            Err(_) => dropped += 1,
        }
    }
    if dropped > 0 {
        tracing::warn!(file = %path.display(), dropped, "BMC profile entries not valid; those BMCs are detected again");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IpmiProfile, Protocol};

    fn mac(n: u8) -> MacAddr {
        format!("02:00:00:00:00:{n:02x}").parse().expect("mac")
    }

    fn ipmi(suite: u8) -> Profile {
        Profile {
            ipmi: Some(IpmiProfile {
                cipher_suite: Some(suite),
                dcmi_power: Some(true),
                sel: None,
            }),
            ..Profile::new(Protocol::Ipmi, 1)
        }
    }

    /// A BMC whose lease is gone takes its profile out of the file; no leases drop nothing.
    #[test]
    fn profiles_of_bmcs_without_a_lease_are_dropped_from_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("profiles.json");
        let p = Profiles::load(Some(path.clone()));
        p.set(mac(1), ipmi(17));
        p.set(mac(2), ipmi(3));
        p.flush();
        assert_eq!(p.take_changed().len(), 2, "both shared");
        assert_eq!(
            p.retain(&std::collections::HashSet::new()),
            0,
            "no leases yet"
        );
        assert_eq!(p.retain(&[mac(1), mac(9)].into_iter().collect()), 1);
        assert!(p.take_changed().is_empty(), "the KV keys stay");
        p.flush();
        let again = Profiles::load(Some(path));
        assert_eq!(again.get(mac(1)), Some(ipmi(17)));
        assert_eq!(again.get(mac(2)), None);
    }

    #[test]
    fn profiles_survive_a_restart_and_a_forgotten_one_is_gone() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("profiles.json");
        let first = Profiles::load(Some(path.clone()));
        first.set(mac(1), ipmi(17));
        first.set(mac(2), ipmi(3));
        first.flush();
        let second = Profiles::load(Some(path.clone()));
        assert_eq!(second.get(mac(1)), Some(ipmi(17)));
        second.forget(mac(2));
        second.update(mac(1), |p| {
            p.map(|mut p| {
                p.detected_ms = 2;
                p
            })
        });
        second.flush();
        let third = Profiles::load(Some(path));
        assert_eq!(third.get(mac(1)).map(|p| p.detected_ms), Some(2));
        assert_eq!(third.get(mac(2)), None);
        assert!(third.take_changed().is_empty(), "nothing changed here yet");
    }

    #[test]
    fn changes_are_taken_once_for_sharing() {
        let p = Profiles::default();
        p.set(mac(1), ipmi(17));
        p.set(mac(1), ipmi(17));
        assert_eq!(p.take_changed(), vec![(mac(1), Some(ipmi(17)))]);
        assert!(p.take_changed().is_empty());
        p.forget(mac(1));
        assert_eq!(p.take_changed(), vec![(mac(1), None)]);
        let mut hostile = ipmi(3);
        hostile.quirks = vec!["q".into(); 1000];
        p.set(mac(2), hostile);
        assert_eq!(p.get(mac(2)), None, "a profile over its bounds is not kept");
        assert!(p.take_changed().is_empty());
    }

    #[test]
    fn a_profile_from_elsewhere_is_taken_when_newer_and_within_its_bounds() {
        let p = Profiles::default();
        assert_eq!(p.merge(mac(1), ipmi(3)), Ok(true), "none here");
        let mut older = ipmi(17);
        older.detected_ms = 0;
        assert_eq!(p.merge(mac(1), older), Ok(false));
        let mut newer = ipmi(17);
        newer.detected_ms = 5;
        assert_eq!(p.merge(mac(1), newer.clone()), Ok(true));
        assert_eq!(p.get(mac(1)), Some(newer));
        assert!(p.take_changed().is_empty(), "not shared back");
        let mut hostile = ipmi(3);
        hostile.detected_ms = 9;
        hostile.vendor = Some("x".repeat(10_000));
        assert!(p.merge(mac(1), hostile).is_err());
    }

    #[test]
    fn a_broken_file_or_a_hostile_entry_is_dropped_with_the_rest_kept() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("profiles.json");
        std::fs::write(&path, "{not json").expect("write");
        assert!(Profiles::load(Some(path.clone())).get(mac(1)).is_none());
        assert!(
            Profiles::load(Some(dir.path().into()))
                .get(mac(1))
                .is_none(),
            "a directory"
        );
        let good = serde_json::to_value(ipmi(3)).expect("json");
        let file = serde_json::json!({
            "02:00:00:00:00:01": good,
            "not-a-mac": good,
            "02:00:00:00:00:02": {"protocol": "redfish", "detected_ms": 1, "redfish": {
                "shape": "legacy", "system": "https://10.0.0.9/redfish/v1/Systems/1"}},
            "02:00:00:00:00:03": {"protocol": "ipmi", "detected_ms": 1, "token": "x"},
        });
        std::fs::write(&path, file.to_string()).expect("write");
        let p = Profiles::load(Some(path));
        assert_eq!(p.get(mac(1)), Some(ipmi(3)));
        assert_eq!(p.get(mac(2)), None, "a path to another host");
        assert_eq!(p.get(mac(3)), None, "an unknown key");
    }
}
