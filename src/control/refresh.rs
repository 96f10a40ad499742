//! `refresh`: re-reads one BMC's slow-cadence parts now (`bmc-catcher refresh MAC`,
//! `POST /api/v1/bmcs/{mac}/refresh`). The backend forgets its firmware inventory (IPMI: FRU,
//! device id, GUID), then one poll runs through the same backend as the poller's, so it shares
//! the session and waits for a poll in flight, and its snapshot is stored as any poll's.
//!
//! Bounded: one refresh of a BMC per [`MIN_SPACING`], at most [`MAX_AT_ONCE`] at once across the
//! fleet, each within `[poll] timeout`; only a BMC this catcher polls can be refreshed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::model::MacAddr;
use crate::poller::{Fleet, poll_one};
use crate::store::Store;

/// The shortest time between two refreshes of one BMC.
pub const MIN_SPACING: Duration = Duration::from_secs(10);
/// Refreshes running at once, across the fleet.
pub const MAX_AT_ONCE: usize = 4;

/// What a refresh read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refreshed {
    pub mac: MacAddr,
    /// The poll answered (some part of it was read).
    pub up: bool,
    pub polled_at_ms: i64,
    pub duration_ms: u64,
    /// Firmware inventory entries read, when the BMC has a firmware inventory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_entries: Option<usize>,
    /// Why the poll read nothing (or the first part that failed), when something failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why a refresh was not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RefreshError {
    #[error("no BMC with MAC {mac} is polled by this catcher (partition {partition})")]
    UnknownBmc { mac: MacAddr, partition: String },
    #[error("{mac} was refreshed {ago:?} ago; try again in {} s", retry_after.as_secs().max(1))]
    TooSoon {
        mac: MacAddr,
        ago: Duration,
        retry_after: Duration,
    },
    #[error("{running} refreshes are running; try again later")]
    Busy { running: usize },
}

/// Runs refreshes within the bounds.
pub struct Refresher {
    fleet: Fleet,
    store: Arc<Store>,
    timeout: Duration,
    /// When each BMC was last refreshed (only BMCs of the fleet get an entry).
    last: Mutex<HashMap<MacAddr, Instant>>,
    running: Semaphore,
}

impl Refresher {
    /// `timeout` is each refresh's poll deadline (`[poll] timeout`).
    pub fn new(fleet: Fleet, store: Arc<Store>, timeout: Duration) -> Refresher {
        Refresher {
            fleet,
            store,
            timeout,
            last: Mutex::default(),
            running: Semaphore::new(MAX_AT_ONCE),
        }
    }

    /// Admits a refresh of `mac` at `now`: notes it, or says why not.
    fn admit(&self, mac: MacAddr, now: Instant) -> Result<(), RefreshError> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = last.get(&mac) {
            let ago = now.saturating_duration_since(*at);
            if ago < MIN_SPACING {
                return Err(RefreshError::TooSoon {
                    mac,
                    ago,
                    retry_after: MIN_SPACING - ago,
                });
            }
        }
        // Entries older than the spacing admit anything: dropped, so the map holds at most the
        // BMCs refreshed within the last MIN_SPACING.
        last.retain(|_, at| now.saturating_duration_since(*at) < MIN_SPACING);
        last.insert(mac, now);
        Ok(())
    }

    /// Refreshes `mac`: forgets its slow-cadence parts and polls it once, storing the snapshot.
    pub async fn refresh(&self, mac: MacAddr) -> Result<Refreshed, RefreshError> {
        let unknown = || RefreshError::UnknownBmc {
            mac,
            partition: self.store.partition().to_string(),
        };
        let bmc = self.fleet.get(mac).ok_or_else(unknown)?;
        let target = self.store.get(mac).ok_or_else(unknown)?.target;
        let _permit = self.running.try_acquire().map_err(|_| RefreshError::Busy {
            running: MAX_AT_ONCE,
        })?;
        self.admit(mac, Instant::now())?;
        bmc.refresh_inventory().await;
        let snap = poll_one(
            bmc.as_ref(),
            &target,
            self.store.partition_shared(),
            self.timeout,
        )
        .await;
        let refreshed = Refreshed {
            mac,
            up: snap.up,
            polled_at_ms: snap.polled_at_ms,
            duration_ms: snap.duration_ms,
            firmware_entries: snap
                .reading
                .components
                .as_ref()
                .and_then(|c| c.firmware.ok())
                .map(Vec::len),
            error: snap
                .reading
                .errors()
                .first()
                .map(|(part, e)| format!("{part}: {}", e.message)),
        };
        tracing::info!(bmc.mac = %mac, up = snap.up, ms = snap.duration_ms, "inventory refreshed");
        self.store.record(snap);
        Ok(refreshed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bmc_is_refreshed_at_most_once_per_spacing_and_the_map_stays_small() {
        let r = Refresher::new(Fleet::default(), Arc::new(Store::new("p")), MIN_SPACING);
        let (a, b) = (MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2]));
        let t0 = Instant::now();
        assert_eq!(r.admit(a, t0), Ok(()));
        let again = r.admit(a, t0 + Duration::from_secs(3));
        assert!(
            matches!(again, Err(RefreshError::TooSoon { retry_after, .. }) if retry_after == Duration::from_secs(7)),
            "{again:?}"
        );
        assert_eq!(r.admit(b, t0 + Duration::from_secs(4)), Ok(()));
        assert_eq!(r.admit(a, t0 + MIN_SPACING), Ok(()));
        let later = t0 + MIN_SPACING * 3;
        assert_eq!(r.admit(b, later), Ok(()));
        assert_eq!(r.last.lock().expect("lock").len(), 1, "old entries dropped");
    }
}
