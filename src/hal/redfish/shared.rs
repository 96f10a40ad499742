//! What every Redfish backend shares: the TLS policy (with its TLS session cache), the settings
//! each BMC's HTTP client is built from, and when connections are kept between polls.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::config::{Redfish as RedfishConfig, Scheme};
use crate::hal::HalError;
use crate::model::Limits;

use super::cert_expiry::SeenCertificates;
use super::origin::Origin;
use super::tls;
use crate::hal::journal::Journal;

/// Connections are kept between polls only when polls come at least this often: BMC web servers
/// close idle keep-alive connections after tens of seconds, and a fleet's worth of idle TLS
/// connections costs the daemon tens of kilobytes each. Otherwise each poll opens one connection
/// (resuming the TLS session, so without a full handshake) and closes it when the poll is done.
const KEEP_BETWEEN_POLLS_UP_TO: Duration = Duration::from_secs(30);

/// What every Redfish backend shares: the TLS policy (with the TLS session cache) and the settings
/// each BMC's HTTP client is built from.
#[derive(Clone)]
pub struct RedfishShared {
    /// Shared, not copied into every BMC's session (a `ClientConfig` is hundreds of bytes);
    /// copied only when a BMC's HTTP client is built.
    tls: Arc<rustls::ClientConfig>,
    /// The expiry of each certificate a BMC presented.
    pub(super) certificates: SeenCertificates,
    pub(super) scheme: &'static str,
    pub(super) port: u16,
    pub(super) connections_per_bmc: usize,
    /// How many sensors and PSUs of one BMC a poll keeps (`[poll] max-sensors-per-bmc`, ...).
    pub(super) limits: Limits,
    /// From `[poll]`, shared by every BMC's copy and read at each request, so a SIGHUP reaches
    /// the sessions that stay open.
    poll: Arc<PollTiming>,
    /// Where sessions are noted while open (the daemon's `session-journal`).
    pub(super) journal: Arc<Journal>,
    /// The `User-Agent` of every request: the version and, with NATS, the member id, so a BMC's
    /// own log (and an operator reading it) tells the two catchers of a partition apart.
    user_agent: Arc<str>,
}

/// The `[poll]` settings a Redfish client reads at each request.
#[derive(Debug)]
struct PollTiming {
    timeout_ms: AtomicU64,
    keep_between_polls: AtomicBool,
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
            tls: Arc::new(tls),
            certificates,
            scheme: match cfg.scheme {
                Scheme::Https => "https",
                Scheme::Http => "http",
            },
            port: cfg.port,
            connections_per_bmc: cfg.connections_per_bmc,
            limits: Limits::default(),
            poll: Arc::new(PollTiming {
                timeout_ms: AtomicU64::new(request_timeout.as_millis() as u64),
                keep_between_polls: AtomicBool::new(interval <= KEEP_BETWEEN_POLLS_UP_TO),
            }),
            journal: Arc::new(Journal::default()),
            user_agent: user_agent(None).into(),
        })
    }

    /// Names `member` (a valid member id; `None`: no NATS, no member) in the `User-Agent` of the
    /// backends made from now on.
    pub fn with_member(mut self, member: Option<&str>) -> Self {
        self.user_agent = user_agent(member).into();
        self
    }

    /// Notes every session in `journal` from now on (backends made after this call).
    pub fn set_journal(&mut self, journal: Arc<Journal>) {
        self.journal = journal;
    }

    /// The per-BMC bounds on sensors and PSUs (`[poll]`) of the backends made from now on.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Applies new `[poll]` settings to every BMC's client (SIGHUP): the request timeout from the
    /// next request on, the connection policy from the end of the next poll on.
    pub fn set_poll(&self, request_timeout: Duration, interval: Duration) {
        self.poll
            .timeout_ms
            .store(request_timeout.as_millis() as u64, Ordering::Relaxed);
        self.poll
            .keep_between_polls
            .store(interval <= KEEP_BETWEEN_POLLS_UP_TO, Ordering::Relaxed);
    }

    /// The deadline of one request.
    pub(super) fn timeout(&self) -> Duration {
        Duration::from_millis(self.poll.timeout_ms.load(Ordering::Relaxed))
    }

    /// Whether a BMC's connection stays open between polls.
    pub(super) fn keep_between_polls(&self) -> bool {
        self.poll.keep_between_polls.load(Ordering::Relaxed)
    }

    /// One BMC's HTTP client: its own small connection pool, the shared TLS config (and so the
    /// shared TLS session cache). Each request carries its own deadline ([`Self::timeout`]).
    pub(super) fn client(&self, bmc: &str) -> Result<reqwest::Client, HalError> {
        reqwest::Client::builder()
            .tls_backend_preconfigured((*self.tls).clone())
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(KEEP_BETWEEN_POLLS_UP_TO)
            .pool_max_idle_per_host(self.connections_per_bmc)
            // A redirect is followed only on the BMC's own origin: custom headers such as
            // X-Auth-Token would otherwise go along to wherever the BMC points.
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let allowed = attempt
                    .previous()
                    .first()
                    .is_some_and(|first| Origin::may_redirect(first, attempt.url()));
                if allowed && attempt.previous().len() <= 3 {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .user_agent(&*self.user_agent)
            .build()
            .map_err(|e| HalError::Protocol {
                bmc: bmc.to_string(),
                detail: format!("cannot build the HTTP client: {e}"),
            })
    }
}

/// `bmc-catcher/<version>`, with ` (member <id>)` when the catcher is a partition member.
fn user_agent(member: Option<&str>) -> String {
    let base = concat!("bmc-catcher/", env!("CARGO_PKG_VERSION"));
    match member {
        Some(id) => format!("{base} (member {id})"),
        None => base.to_string(),
    }
}
