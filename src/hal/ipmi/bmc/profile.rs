//! An IPMI BMC's part of its capability profile: the cipher suite it accepted (tried first at the
//! next session, also after a restart), and whether DCMI power reading and the SEL answered.

use super::super::session::SessionConfig;
use super::IpmiBmc;
use crate::hal::vendors;
use crate::model::{IpmiProfile, Profile, Protocol, now_ms};

impl IpmiBmc {
    /// Moves the remembered cipher suite to the front of `cfg`'s, when it is one configured (a
    /// profile never adds a suite).
    pub(super) fn prefer_remembered_suite(&self, cfg: &mut SessionConfig) {
        let remembered = self
            .profiles
            .get(self.info.mac)
            .and_then(|p| p.ipmi)
            .and_then(|i| i.cipher_suite);
        if let Some(id) = remembered
            && let Some(at) = cfg.suites.iter().position(|s| s.id() == id)
        {
            let suite = cfg.suites.remove(at);
            cfg.suites.insert(0, suite);
        }
    }

    /// Changes this BMC's IPMI profile (made, as an IPMI BMC's, when there is none; its vendor
    /// then by the MAC's OUI, as IPMI names no manufacturer the vendor table knows).
    pub(super) fn note_profile(&self, f: impl FnOnce(&mut IpmiProfile)) {
        let mac = self.info.mac;
        self.profiles.update(mac, |old| {
            let mut p = old.unwrap_or_else(|| {
                let mut p = Profile::new(Protocol::Ipmi, now_ms());
                if let Some(v) = vendors::for_system(None, None, Some(mac)) {
                    p.vendor = Some(v.name.to_string());
                    p.quirks = v.quirks.iter().map(|q| q.name().to_string()).collect();
                }
                p
            });
            let mut i = p.ipmi.take().unwrap_or_default();
            f(&mut i);
            p.ipmi = Some(i);
            Some(p)
        });
    }

    /// After a poll: whether DCMI power reading and the SEL answered (or were found missing).
    pub(super) async fn note_support(&self) {
        let (dcmi, sel) = {
            let inner = self.inner.lock().await;
            let Some(c) = inner.cached.as_ref() else {
                return;
            };
            let known = |ok: bool, missing: bool| match (ok, missing) {
                (true, _) => Some(true),
                (false, true) => Some(false),
                _ => None,
            };
            (known(c.dcmi_ok, c.no_dcmi), known(c.sel_ok, c.no_sel))
        };
        if dcmi.is_none() && sel.is_none() {
            return;
        }
        self.note_profile(|i| {
            i.dcmi_power = dcmi.or(i.dcmi_power);
            i.sel = sel.or(i.sel);
        });
    }
}
