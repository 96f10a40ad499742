//! The hardware-abstraction seam: the [`Bmc`] trait every backend implements, the [`HalError`] they
//! return, and [`Connector`], the factory that turns a discovered [`Target`] into a backend.
//!
//! Vendor and protocol differences stay behind this trait; the poller never sees them. A backend owns
//! its session with the BMC (one per BMC, reused across polls) and serialises its own operations, so a
//! poll and a power command never run against one BMC at once.

pub mod ipmi;
pub mod redfish;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::config::{Config, Credentials, ProtocolChoice};
use crate::model::{Action, ErrorKind, MacAddr, PowerState, Protocol, Reading, Target};

/// What a backend says about itself; no I/O, never holds credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BmcInfo {
    pub mac: MacAddr,
    pub ip: IpAddr,
    pub port: u16,
    pub protocol: Protocol,
}

/// One BMC behind one protocol.
#[async_trait]
pub trait Bmc: Send + Sync {
    fn describe(&self) -> &BmcInfo;
    /// Reads power, inventory, LED, PSUs, power draw and sensors; a failed part fails alone.
    async fn poll(&self) -> Reading;
    /// Reads chassis power only (cheap; commands check it before acting).
    async fn power_state(&self) -> Result<PowerState, HalError>;
    /// Carries out a power, identify or boot-device action. Returns once the BMC accepted it.
    async fn perform(&self, action: Action) -> Result<(), HalError>;
    /// Ends the session (log out). Idempotent; the next call opens a new session.
    async fn close(&self);
}

/// Why talking to one BMC failed. Every variant names the BMC (`mac@ip`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum HalError {
    #[error("{bmc}: no answer within {after:?} ({what})")]
    Timeout {
        bmc: String,
        after: Duration,
        what: String,
    },
    #[error("{bmc}: unreachable: {detail}")]
    Unreachable { bmc: String, detail: String },
    #[error("{bmc}: authentication failed: {detail}")]
    Auth { bmc: String, detail: String },
    #[error("{bmc}: protocol error: {detail}")]
    Protocol { bmc: String, detail: String },
    #[error("{bmc}: not supported: {detail}")]
    Unsupported { bmc: String, detail: String },
}

impl HalError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            HalError::Timeout { .. } => ErrorKind::Timeout,
            HalError::Unreachable { .. } => ErrorKind::Unreachable,
            HalError::Auth { .. } => ErrorKind::Auth,
            HalError::Protocol { .. } => ErrorKind::Protocol,
            HalError::Unsupported { .. } => ErrorKind::Unsupported,
        }
    }
}

impl BmcInfo {
    /// `mac@ip:port`, how errors and logs name a BMC.
    pub fn label(&self) -> String {
        format!("{}@{}:{}", self.mac, self.ip, self.port)
    }
}

/// Builds backends for targets: holds the shared HTTP client, the credentials and the policy.
pub struct Connector {
    protocol: ProtocolChoice,
    redfish: redfish::RedfishShared,
    credentials: Arc<Credentials>,
}

impl Connector {
    pub fn new(config: &Config, credentials: Credentials) -> Result<Connector, HalError> {
        Ok(Connector {
            protocol: config.poll.protocol,
            redfish: redfish::RedfishShared::new(&config.redfish, config.poll.timeout)?,
            credentials: Arc::new(credentials),
        })
    }

    /// A backend for `target`. Opens no connection: the first poll does.
    pub fn connect(&self, target: &Target) -> Arc<dyn Bmc> {
        let cred = self.credentials.for_target(target.mac, target.ip).cloned();
        match self.protocol {
            // IPMI is not implemented yet: config validation refuses `ipmi`, and `auto` means Redfish.
            ProtocolChoice::Auto | ProtocolChoice::Redfish | ProtocolChoice::Ipmi => {
                Arc::new(redfish::RedfishBmc::new(&self.redfish, target, cred))
            }
        }
    }
}
