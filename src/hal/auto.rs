//! `protocol = "auto"`: tries Redfish (an unauthenticated GET of the service root), then IPMI (a
//! pre-session Get Channel Authentication Capabilities), and remembers the answer for this BMC. Until
//! one answers, every call reports why neither did.
//!
//! The protocol found is noted in the BMC's profile (`hal::profiles`), and a backend built with a
//! profile starts with the protocol it remembers, without probing. When that protocol then fails
//! at a poll or a power-state read for want of a service (timeout, unreachable, protocol error,
//! not supported; not a refused login), the protocol is detected again and the call made once more
//! with what answers now (an action is not: it may have been carried out).
//!
//! A BMC polled over Redfish is also asked its power state over IPMI right before the Redfish poll,
//! on the slow cadence (`[poll] inventory-interval`, and at every poll while the two disagree):
//! the [`PowerCheck`] behind `power-state-disagreement`. An IPMI that does not answer (no IPMI
//! over LAN, other credentials) costs one bounded try per interval and no issue. The first
//! comparison is made at the first poll [`FIRST_CHECK_AFTER`] (or the interval, when shorter)
//! after the BMC's first poll, not at it: a start or a takeover polls thousands of BMCs at once,
//! and an IPMI session each would slow exactly those polls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::ipmi::bmc::IpmiBmc;
use super::profiles::Profiles;
use super::redfish::RedfishBmc;
use super::{Bmc, BmcInfo, HalError};
use crate::model::{Action, ErrorKind, PowerCheck, PowerState, Profile, Protocol, Reading, now_ms};

/// How long each probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long after its first poll a BMC's power states are first compared (at most).
const FIRST_CHECK_AFTER: Duration = Duration::from_secs(300);

/// Where the power comparison of one BMC stands.
enum Check {
    /// Not polled yet.
    Unseen,
    /// First polled then; compared once [`FIRST_CHECK_AFTER`] has passed.
    Waiting(Instant),
    /// Compared then (`None`: IPMI gave no power state).
    Done(Instant, Option<PowerCheck>),
}

/// The protocol in use, and how it was found.
#[derive(Debug, Clone, Copy)]
struct Chosen {
    protocol: Protocol,
    /// Taken from the profile, not probed: detected again if it finds no service.
    remembered: bool,
}

pub struct AutoBmc {
    redfish: RedfishBmc,
    ipmi: IpmiBmc,
    chosen: Mutex<Option<Chosen>>,
    profiles: Arc<Profiles>,
    /// The profile was consulted (once per backend: after it failed, detection decides).
    profile_read: std::sync::atomic::AtomicBool,
    info: std::sync::Mutex<BmcInfo>,
    /// The last power comparison and when it was made.
    power_check: Mutex<Check>,
}

impl AutoBmc {
    /// `profiles`: where the protocol found is noted, and read from at the first use.
    pub fn new(redfish: RedfishBmc, ipmi: IpmiBmc, profiles: Arc<Profiles>) -> AutoBmc {
        let mut info = redfish.describe();
        info.protocol = None;
        AutoBmc {
            redfish,
            ipmi,
            chosen: Mutex::new(None),
            profiles,
            profile_read: std::sync::atomic::AtomicBool::new(false),
            info: std::sync::Mutex::new(info),
            power_check: Mutex::new(Check::Unseen),
        }
    }

    /// Uses `protocol` from now on (and says so in [`Bmc::describe`]).
    fn choose(&self, protocol: Protocol) {
        let mut info = match protocol {
            Protocol::Redfish => self.redfish.describe(),
            Protocol::Ipmi => self.ipmi.describe(),
        };
        info.protocol = Some(protocol);
        *self.info.lock().unwrap_or_else(|p| p.into_inner()) = info;
    }

    /// A poll with the backend in use; a remembered protocol that finds no service is detected
    /// again and the poll made once more.
    async fn poll_with_profile(&self) -> Reading {
        let r = self.poll_once().await;
        let failed = if r.any_ok() {
            None
        } else {
            r.first_error().map(|e| e.kind)
        };
        if self.detect_again_after(failed).await {
            return self.poll_once().await;
        }
        r
    }

    /// After a use of the backend that failed with `failed` (`None`: it answered): true, with the
    /// choice undone, when the protocol came from the profile and found no service (timeout,
    /// unreachable, protocol error, not supported; not a refused login). A remembered protocol
    /// that answered is from then on as good as detected.
    async fn detect_again_after(&self, failed: Option<ErrorKind>) -> bool {
        let mut chosen = self.chosen.lock().await;
        let Some(c) = chosen.as_mut().filter(|c| c.remembered) else {
            return false;
        };
        let no_service = matches!(
            failed,
            Some(
                ErrorKind::Timeout
                    | ErrorKind::Unreachable
                    | ErrorKind::Protocol
                    | ErrorKind::Unsupported
            )
        );
        if !no_service {
            if failed.is_none() {
                c.remembered = false;
            }
            return false;
        }
        tracing::info!(bmc = %self.describe().label(), "the remembered protocol finds no service; detecting again");
        *chosen = None;
        self.info.lock().unwrap_or_else(|p| p.into_inner()).protocol = None;
        true
    }

    async fn poll_once(&self) -> Reading {
        match self.backend().await {
            Ok(b) if b.describe().protocol == Some(Protocol::Redfish) => {
                self.poll_checking_power(b).await
            }
            Ok(b) => b.poll().await,
            Err(e) => {
                Reading::all_failed(e.kind(), &format!("no Redfish or IPMI service found: {e}"))
            }
        }
    }

    /// A Redfish poll of `redfish`, with the comparison with IPMI's power state made when due
    /// (a while after the first poll, at the BMC's slot in the inventory interval, while they
    /// disagree), else the last one.
    /// IPMI is asked first, so whatever its read leaves in the BMC's log is in the log this poll
    /// reads; its session is closed again (no keepalives for a once-a-day question).
    async fn poll_checking_power(&self, redfish: &dyn Bmc) -> Reading {
        let mut last = self.power_check.lock().await;
        let now = Instant::now();
        let interval = self.redfish.inventory_interval();
        let due = match &*last {
            Check::Unseen => {
                *last = Check::Waiting(now);
                false
            }
            Check::Waiting(first) => now.duration_since(*first) >= interval.min(FIRST_CHECK_AFTER),
            Check::Done(_, Some(c)) if c.disagrees() => true,
            Check::Done(at, _) => {
                now >= super::slots::Slots::of(self.redfish.describe().mac).next(*at, interval)
            }
        };
        let ipmi = if due {
            let r = tokio::time::timeout(PROBE_TIMEOUT, self.ipmi.power_state()).await;
            self.ipmi.close().await;
            match r {
                Ok(Ok(p)) => Some(p),
                Ok(Err(e)) => {
                    tracing::debug!(bmc = %self.redfish.describe().label(), error = %e, "IPMI power state for the cross-check failed");
                    None
                }
                Err(_) => None,
            }
        } else {
            None
        };
        let mut r = redfish.poll().await;
        if due {
            // A Redfish poll that read no power state compares nothing: asked again next poll.
            if let Some(polled) = r.power.ok().copied() {
                let check = ipmi.map(|other| PowerCheck {
                    polled_protocol: Protocol::Redfish,
                    polled,
                    other_protocol: Protocol::Ipmi,
                    other,
                });
                *last = Check::Done(now, check);
            }
        }
        r.power_check = match &*last {
            Check::Done(_, c) => *c,
            _ => None,
        };
        r
    }

    /// The backend to use, detecting it on first use.
    async fn backend(&self) -> Result<&dyn Bmc, HalError> {
        let mut chosen = self.chosen.lock().await;
        if chosen.is_none()
            && !self
                .profile_read
                .swap(true, std::sync::atomic::Ordering::Relaxed)
            && let Some(p) = self.profiles.get(self.redfish.describe().mac)
        {
            tracing::debug!(bmc = %self.redfish.describe().label(), protocol = %p.protocol, "protocol from the profile");
            self.choose(p.protocol);
            *chosen = Some(Chosen {
                protocol: p.protocol,
                remembered: true,
            });
        }
        if chosen.is_none() {
            let redfish = match tokio::time::timeout(PROBE_TIMEOUT, self.redfish.probe()).await {
                Ok(r) => r,
                Err(_) => Err(HalError::Timeout {
                    bmc: self.redfish.describe().label(),
                    after: PROBE_TIMEOUT,
                    what: "Redfish service root".into(),
                }),
            };
            let found = match redfish {
                Ok(()) => Protocol::Redfish,
                Err(rf) => match self.ipmi.probe(PROBE_TIMEOUT / 2).await {
                    Ok(()) => Protocol::Ipmi,
                    Err(ipmi) => {
                        let kind_rank = |e: &HalError| e.kind() as u8;
                        // Report the more telling failure (a timeout says less than a refusal).
                        let e = if kind_rank(&ipmi) > kind_rank(&rf) {
                            ipmi
                        } else {
                            rf
                        };
                        return Err(e);
                    }
                },
            };
            // The port of the protocol found (an IPMI BMC's is UDP 623, not Redfish's 443).
            self.choose(found);
            let info = self.describe();
            tracing::info!(bmc = %info.label(), backend = info.backend(), protocol = %found, "protocol detected");
            self.profiles.update(info.mac, |old| match old {
                Some(p) if p.protocol == found => Some(p),
                _ => Some(Profile::new(found, now_ms())),
            });
            *chosen = Some(Chosen {
                protocol: found,
                remembered: false,
            });
        }
        Ok(match chosen.map(|c| c.protocol) {
            Some(Protocol::Ipmi) => &self.ipmi,
            _ => &self.redfish,
        })
    }
}

#[async_trait]
impl Bmc for AutoBmc {
    fn describe(&self) -> BmcInfo {
        self.info.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn poll(&self) -> Reading {
        self.poll_with_profile().await
    }

    /// A remembered protocol that finds no service is detected again and asked once more (a power
    /// state is safe to ask twice; an action in `perform` is not retried).
    async fn power_state(&self) -> Result<PowerState, HalError> {
        let r = self.backend().await?.power_state().await;
        if self
            .detect_again_after(r.as_ref().err().map(HalError::kind))
            .await
        {
            return self.backend().await?.power_state().await;
        }
        r
    }

    async fn perform(&self, action: Action) -> Result<(), HalError> {
        self.backend().await?.perform(action).await
    }

    async fn close(&self) {
        self.redfish.close().await;
        self.ipmi.close().await;
    }

    async fn refresh_inventory(&self) {
        self.redfish.refresh_inventory().await;
        self.ipmi.refresh_inventory().await;
    }
}
