//! Which BMCs the KV mirror must write: a store [`Observer`] that collects the MACs whose state
//! changed (or that were removed) and wakes the sender; after a reconnect the sender marks all.
//! BMCs handed over to a peer catcher are noted, so their keys are left to the peer.

use std::collections::BTreeSet;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::model::{Event, MacAddr};
use crate::store::Observer;

#[derive(Default)]
pub struct Dirty {
    macs: Mutex<BTreeSet<MacAddr>>,
    /// Handed over to a peer catcher: their KV keys are the peer's to write, never deleted here.
    released: Mutex<BTreeSet<MacAddr>>,
    notify: Notify,
}

impl Dirty {
    fn macs(&self) -> std::sync::MutexGuard<'_, BTreeSet<MacAddr>> {
        self.macs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks every given BMC (after a reconnect, the whole store).
    pub fn mark_all(&self, macs: impl IntoIterator<Item = MacAddr>) {
        self.macs().extend(macs);
        self.notify.notify_one();
    }

    /// Takes the MACs changed since the last call (one consumer: the KV mirror).
    pub fn take(&self) -> Vec<MacAddr> {
        std::mem::take(&mut *self.macs()).into_iter().collect()
    }

    /// Puts MACs back that could not be mirrored.
    pub fn requeue(&self, macs: impl IntoIterator<Item = MacAddr>) {
        self.macs().extend(macs);
    }

    /// Whether `mac` was handed over to a peer (and not taken back since).
    pub fn is_released(&self, mac: MacAddr) -> bool {
        self.released
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&mac)
    }

    /// Resolves when something was marked since the last wake-up.
    pub async fn changed(&self) {
        self.notify.notified().await;
    }
}

impl Observer for Dirty {
    fn event(&self, _event: &Event) {}

    fn changed(&self, mac: MacAddr) {
        self.released
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&mac);
        self.macs().insert(mac);
        self.notify.notify_one();
    }

    fn released(&self, mac: MacAddr) {
        self.released
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(mac);
        self.macs().remove(&mac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bmc_handed_over_is_never_deleted_until_it_changes_here_again() {
        let d = Dirty::default();
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        Observer::changed(&d, mac);
        Observer::released(&d, mac);
        assert!(d.take().is_empty(), "its pending write is dropped");
        assert!(d.is_released(mac), "the mirror skips the delete");
        Observer::changed(&d, mac);
        assert!(!d.is_released(mac), "taken back: its key is ours again");
        assert_eq!(d.take(), [mac]);
    }
}
