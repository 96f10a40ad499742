//! What every Redfish backend shares: the TLS policy (with its TLS session cache), the settings
//! each BMC's HTTP client is built from, and when connections are kept between polls.

use std::time::Duration;

use crate::config::{Redfish as RedfishConfig, Scheme};
use crate::hal::HalError;

use super::cert_expiry::SeenCertificates;
use super::tls;

/// Connections are kept between polls only when polls come at least this often: BMC web servers
/// close idle keep-alive connections after tens of seconds, and a fleet's worth of idle TLS
/// connections costs the daemon tens of kilobytes each. Otherwise each poll opens one connection
/// (resuming the TLS session, so without a full handshake) and closes it when the poll is done.
const KEEP_BETWEEN_POLLS_UP_TO: Duration = Duration::from_secs(30);

/// What every Redfish backend shares: the TLS policy (with the TLS session cache) and the settings
/// each BMC's HTTP client is built from.
#[derive(Clone)]
pub struct RedfishShared {
    tls: rustls::ClientConfig,
    /// The expiry of each certificate a BMC presented.
    pub(super) certificates: SeenCertificates,
    pub(super) scheme: &'static str,
    pub(super) port: u16,
    pub(super) timeout: Duration,
    pub(super) connections_per_bmc: usize,
    pub(super) keep_between_polls: bool,
}

impl RedfishShared {
    pub fn new(
        cfg: &RedfishConfig,
        request_timeout: Duration,
        interval: Duration,
    ) -> Result<Self, HalError> {
        let certificates = SeenCertificates::default();
        let tls = tls::client_config(
            cfg.tls,
            cfg.ca_file.as_deref(),
            &cfg.pin_file,
            &certificates,
        )
        .map_err(|e| HalError::Protocol {
            bmc: "redfish client".into(),
            detail: e.to_string(),
        })?;
        Ok(RedfishShared {
            tls,
            certificates,
            scheme: match cfg.scheme {
                Scheme::Https => "https",
                Scheme::Http => "http",
            },
            port: cfg.port,
            timeout: request_timeout,
            connections_per_bmc: cfg.connections_per_bmc,
            keep_between_polls: interval <= KEEP_BETWEEN_POLLS_UP_TO,
        })
    }

    /// One BMC's HTTP client: its own small connection pool, the shared TLS config (and so the
    /// shared TLS session cache).
    pub(super) fn client(&self, bmc: &str) -> Result<reqwest::Client, HalError> {
        reqwest::Client::builder()
            .tls_backend_preconfigured(self.tls.clone())
            .no_proxy()
            .connect_timeout(Duration::from_secs(5).min(self.timeout))
            .timeout(self.timeout)
            .pool_idle_timeout(KEEP_BETWEEN_POLLS_UP_TO)
            .pool_max_idle_per_host(self.connections_per_bmc)
            .user_agent(concat!("bmc-catcher/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HalError::Protocol {
                bmc: bmc.to_string(),
                detail: format!("cannot build the HTTP client: {e}"),
            })
    }
}
