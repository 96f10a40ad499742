//! `protocol = "auto"`: tries Redfish (an unauthenticated GET of the service root), then IPMI (a
//! pre-session Get Channel Authentication Capabilities), and remembers the answer for this BMC. Until
//! one answers, every call reports why neither did.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::ipmi::bmc::IpmiBmc;
use super::redfish::RedfishBmc;
use super::{Bmc, BmcInfo, HalError};
use crate::model::{Action, PowerState, Protocol, Reading};

/// How long each probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

pub struct AutoBmc {
    redfish: RedfishBmc,
    ipmi: IpmiBmc,
    chosen: Mutex<Option<Protocol>>,
    info: std::sync::Mutex<BmcInfo>,
}

impl AutoBmc {
    pub fn new(redfish: RedfishBmc, ipmi: IpmiBmc) -> AutoBmc {
        let mut info = redfish.describe();
        info.protocol = None;
        AutoBmc {
            redfish,
            ipmi,
            chosen: Mutex::new(None),
            info: std::sync::Mutex::new(info),
        }
    }

    /// The backend to use, detecting it on first use.
    async fn backend(&self) -> Result<&dyn Bmc, HalError> {
        let mut chosen = self.chosen.lock().await;
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
            let mut info = match found {
                Protocol::Redfish => self.redfish.describe(),
                Protocol::Ipmi => self.ipmi.describe(),
            };
            info.protocol = Some(found);
            // The port of the protocol found (an IPMI BMC's is UDP 623, not Redfish's 443).
            tracing::info!(bmc = %info.label(), backend = info.backend(), protocol = %found, "protocol detected");
            *self.info.lock().unwrap_or_else(|p| p.into_inner()) = info;
            *chosen = Some(found);
        }
        Ok(match *chosen {
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
        match self.backend().await {
            Ok(b) => b.poll().await,
            Err(e) => {
                Reading::all_failed(e.kind(), &format!("no Redfish or IPMI service found: {e}"))
            }
        }
    }

    async fn power_state(&self) -> Result<PowerState, HalError> {
        self.backend().await?.power_state().await
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
