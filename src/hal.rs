//! The hardware-abstraction seam: the [`Bmc`] trait every backend implements, the [`HalError`] they
//! return, and [`Connector`], the factory that turns a discovered [`Target`] into a backend.
//!
//! Vendor and protocol differences stay behind this trait; the poller never sees them. A backend owns
//! its session with the BMC (one per BMC, reused across polls) and serialises its own operations, so a
//! poll and a power command never run against one BMC at once.

mod auto;
pub mod cursors;
pub mod ipmi;
pub mod journal;
mod lazy;
pub mod profiles;
pub mod redfish;
pub mod slots;
mod state_file;
pub mod vendors;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use lazy::LazyBmc;

use crate::config::{
    Config, Credential, Credentials, Ipmi as IpmiConfig, IpmiPrivilege, ProtocolChoice,
};
use crate::model::{Action, ErrorKind, Limits, MacAddr, PowerState, Protocol, Reading, Target};

/// What a backend says about itself; no I/O, never holds credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BmcInfo {
    pub mac: MacAddr,
    pub ip: IpAddr,
    pub port: u16,
    /// `None` while `protocol = "auto"` has not found out yet.
    pub protocol: Option<Protocol>,
}

/// One BMC behind one protocol.
#[async_trait]
pub trait Bmc: Send + Sync {
    fn describe(&self) -> BmcInfo;
    /// Reads power, inventory, LED, PSUs, power draw and sensors; a failed part fails alone.
    async fn poll(&self) -> Reading;
    /// Reads chassis power only (cheap; commands check it before acting).
    async fn power_state(&self) -> Result<PowerState, HalError>;
    /// Carries out a power, identify or boot-device action. Returns once the BMC accepted it.
    async fn perform(&self, action: Action) -> Result<(), HalError>;
    /// Ends the session (log out). Idempotent; the next call opens a new session.
    async fn close(&self);
    /// Forgets what is read on the slow cadence (Redfish firmware inventory, IPMI FRU, device id
    /// and GUID), so the next poll reads it again (`bmc-catcher refresh MAC`).
    async fn refresh_inventory(&self);
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
    /// The BMC's TLS certificate was refused: a pinned certificate changed, or it is not trusted.
    #[error("{bmc}: TLS: {detail}")]
    Tls {
        bmc: String,
        detail: String,
        refusal: crate::model::TlsRefusal,
    },
    #[error("{bmc}: authentication failed: {detail}")]
    Auth { bmc: String, detail: String },
    #[error("{bmc}: protocol error: {detail}")]
    Protocol { bmc: String, detail: String },
    #[error("{bmc}: not supported: {detail}")]
    Unsupported { bmc: String, detail: String },
}

/// A part of a reading from the result of reading it.
pub fn field<T>(r: Result<T, HalError>) -> crate::model::Field<T> {
    match r {
        Ok(v) => crate::model::Field::Ok(v),
        Err(e) => crate::model::Field::failed(e.kind(), e.to_string()),
    }
}

impl HalError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            HalError::Timeout { .. } => ErrorKind::Timeout,
            HalError::Unreachable { .. } => ErrorKind::Unreachable,
            HalError::Tls { .. } => ErrorKind::Tls,
            HalError::Auth { .. } => ErrorKind::Auth,
            HalError::Protocol { .. } => ErrorKind::Protocol,
            HalError::Unsupported { .. } => ErrorKind::Unsupported,
        }
    }
}

impl BmcInfo {
    /// `mac@ip:port`, how errors and logs name a BMC; `mac@ip` while `auto` has not found its
    /// protocol (the port would be a guess: Redfish's for a BMC that may speak only IPMI).
    pub fn label(&self) -> String {
        match self.protocol {
            Some(_) => format!("{}@{}:{}", self.mac, self.ip, self.port),
            None => format!("{}@{}", self.mac, self.ip),
        }
    }

    /// The backend's name for logs: `redfish`, `ipmi` or `auto`.
    pub fn backend(&self) -> &'static str {
        match self.protocol {
            Some(Protocol::Redfish) => "redfish",
            Some(Protocol::Ipmi) => "ipmi",
            None => "auto",
        }
    }
}

/// Builds backends for targets: holds the shared HTTP client, the credentials and the policy.
pub struct Connector {
    protocol: ProtocolChoice,
    redfish: redfish::RedfishShared,
    ipmi: IpmiConfig,
    limits: Limits,
    credentials: std::sync::RwLock<Arc<Credentials>>,
    /// Where IPMI sessions are noted while open (Redfish's are in `redfish`).
    journal: Arc<journal::Journal>,
    /// Where each BMC's logs were read up to.
    cursors: Arc<cursors::Cursors>,
    /// What each BMC turned out to support.
    profiles: Arc<profiles::Profiles>,
}

impl Connector {
    pub fn new(config: &Config, credentials: Credentials) -> Result<Connector, HalError> {
        Ok(Connector {
            protocol: config.poll.protocol,
            redfish: redfish::RedfishShared::new(
                &config.redfish,
                config.poll.timeout,
                config.poll.interval,
            )?
            .with_limits(Limits {
                logs: config.logs.policy(),
                ..config.poll.limits()
            })
            .with_member(
                config
                    .nats
                    .url
                    .as_ref()
                    .map(|_| config.nats.member_id())
                    .as_deref(),
            ),
            ipmi: config.ipmi.clone(),
            limits: Limits {
                logs: config.logs.policy(),
                ..config.poll.limits()
            },
            credentials: std::sync::RwLock::new(Arc::new(credentials)),
            journal: Arc::new(journal::Journal::default()),
            cursors: Arc::new(cursors::Cursors::default()),
            profiles: Arc::new(profiles::Profiles::default()),
        })
    }

    /// Starts every backend made from now on from what `profiles` remembers of its BMC (the
    /// daemon's `[poll] profile-file`), and notes there what it finds.
    pub fn with_profiles(mut self, profiles: Arc<profiles::Profiles>) -> Connector {
        self.profiles = profiles;
        self
    }

    /// What each BMC turned out to support.
    pub fn profiles(&self) -> &Arc<profiles::Profiles> {
        &self.profiles
    }

    /// Reads and notes every BMC's log cursors in `cursors` (the daemon's `[logs] cursor-file`),
    /// for backends made from now on.
    pub fn with_cursors(mut self, cursors: Arc<cursors::Cursors>) -> Connector {
        self.cursors = cursors;
        self
    }

    /// Notes the Redfish and IPMI sessions of every backend made from now on in `journal`, so
    /// that a later start closes the ones a crash left open.
    pub fn with_journal(mut self, journal: Arc<journal::Journal>) -> Connector {
        self.redfish.set_journal(journal.clone());
        self.journal = journal;
        self
    }

    /// Applies new `[poll]` timing to every backend made by this connector, without dropping a
    /// session: the Redfish request timeout and whether connections stay open between polls.
    pub fn set_poll(&self, timeout: std::time::Duration, interval: std::time::Duration) {
        self.redfish.set_poll(timeout, interval);
    }

    pub fn ipmi_bmc(&self, target: &Target, cred: Option<&Credential>) -> ipmi::bmc::IpmiBmc {
        let port = target.port.unwrap_or(self.ipmi.port);
        let info = BmcInfo {
            mac: target.mac,
            ip: target.ip,
            port,
            protocol: Some(Protocol::Ipmi),
        };
        let cfg = cred.map(|c| ipmi::session::SessionConfig {
            addr: SocketAddr::new(target.ip, port),
            username: c.username.clone(),
            password: c.password.clone(),
            suites: self
                .ipmi
                .cipher_suites
                .iter()
                .filter_map(|id| ipmi::wire::crypto::CipherSuite::from_id(*id).ok())
                .collect(),
            privilege: match self.ipmi.privilege {
                IpmiPrivilege::User => ipmi::wire::rakp::Privilege::User,
                IpmiPrivilege::Operator => ipmi::wire::rakp::Privilege::Operator,
                IpmiPrivilege::Administrator => ipmi::wire::rakp::Privilege::Administrator,
            },
            request_timeout: self.ipmi.request_timeout,
            retries: self.ipmi.retries,
            recorder: None,
        });
        ipmi::bmc::IpmiBmc::new(info, cfg, self.ipmi.keepalive, self.limits)
            .with_journal(self.journal.clone())
            .with_cursors(self.cursors.clone())
            .with_profiles(self.profiles.clone())
    }

    fn creds(&self) -> Arc<Credentials> {
        self.credentials
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the credentials (SIGHUP); backends made from now on use the new ones.
    pub fn set_credentials(&self, credentials: Credentials) {
        *self.credentials.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(credentials);
    }

    /// The credential configured for `target`.
    pub fn credential(&self, target: &Target) -> Option<Credential> {
        self.creds().for_target(target.mac, target.ip).cloned()
    }

    /// A backend for `target`. Opens no connection: the first poll does.
    pub fn connect(&self, target: &Target) -> Arc<dyn Bmc> {
        let cred = self.creds().for_target(target.mac, target.ip).cloned();
        let redfish = |cred| {
            redfish::RedfishBmc::new(&self.redfish, target, cred)
                .with_cursors(self.cursors.clone())
                .with_profiles(self.profiles.clone())
        };
        match self.protocol {
            ProtocolChoice::Redfish => Arc::new(redfish(cred)),
            ProtocolChoice::Ipmi => Arc::new(self.ipmi_bmc(target, cred.as_ref())),
            ProtocolChoice::Auto => Arc::new(auto::AutoBmc::new(
                redfish(cred.clone()),
                self.ipmi_bmc(target, cred.as_ref()),
                self.profiles.clone(),
            )),
        }
    }
}
