//! [`IpmiBmc`]: the `Bmc` backend over IPMI. One RMCP+ session per BMC, opened at the first poll,
//! kept alive between polls by a small task (Get Device ID every `keepalive`), re-opened when the BMC
//! forgot it, closed by `close`. A poll reads chassis status, the sensors the SDR repository lists
//! (the repository is read again only when its timestamps change), PSU states, DCMI power (or the
//! power sensor when DCMI is missing), and once per session the device id, GUID and FRU inventory.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

mod profile;

use super::decode::chassis;
use super::poll::{Cached, action_request, poll_session};
use super::session::{Session, SessionConfig};
use super::wire::rakp::Privilege;
use crate::hal::cursors::Cursors;
use crate::hal::journal::Journal;
use crate::hal::profiles::Profiles;
use crate::hal::{Bmc, BmcInfo, HalError};
use crate::model::{Action, ErrorKind, Limits, PowerState, Reading};

/// Boxed and made on first use: a BMC that never opens a session (unreachable, or found to speak
/// Redfish by `protocol = "auto"`) costs a few pointers here, not a session's and a cache's worth.
struct Inner {
    session: Option<Box<Session>>,
    cached: Option<Box<Cached>>,
}

pub struct IpmiBmc {
    info: BmcInfo,
    cfg: Option<SessionConfig>,
    keepalive: Duration,
    /// How many sensors and PSUs a poll keeps (`[poll] max-sensors-per-bmc`, ...).
    limits: Limits,
    inner: Arc<Mutex<Inner>>,
    stop_keepalive: std::sync::Mutex<Option<CancellationToken>>,
    /// Where the open session is noted, so that a start after a crash closes it.
    journal: Arc<Journal>,
    /// Where the SEL was read up to, so that a restart reports no record twice.
    cursors: Arc<Cursors>,
    /// What every BMC turned out to support: the cipher suite this one accepted is tried first.
    profiles: Arc<Profiles>,
}

impl IpmiBmc {
    /// `cfg` is `None` when no credentials are configured for this BMC.
    pub fn new(
        info: BmcInfo,
        cfg: Option<SessionConfig>,
        keepalive: Duration,
        limits: Limits,
    ) -> IpmiBmc {
        IpmiBmc {
            info,
            cfg,
            keepalive,
            limits,
            inner: Arc::new(Mutex::new(Inner {
                session: None,
                cached: None,
            })),
            stop_keepalive: std::sync::Mutex::new(None),
            journal: Arc::new(Journal::default()),
            cursors: Arc::new(Cursors::default()),
            profiles: Arc::new(Profiles::default()),
        }
    }

    /// Tries the cipher suite `profiles` remembers for this BMC first, and notes what it finds.
    pub fn with_profiles(mut self, profiles: Arc<Profiles>) -> IpmiBmc {
        self.profiles = profiles;
        self
    }

    /// Reads and notes this BMC's SEL cursor in `cursors`.
    pub fn with_cursors(mut self, cursors: Arc<Cursors>) -> IpmiBmc {
        self.cursors = cursors;
        self
    }

    /// Before a poll: the cache, with the SEL cursor an earlier run noted.
    async fn restore_cursor(&self) {
        let mut inner = self.inner.lock().await;
        if inner.cached.is_none() {
            let mut c = Box::<Cached>::default();
            c.sel.cursor = self.cursors.get(self.info.mac, super::sel::SEL);
            inner.cached = Some(c);
        }
    }

    /// After a poll: notes where the SEL was read up to.
    async fn note_cursor(&self) {
        let inner = self.inner.lock().await;
        if let Some(cursor) = inner.cached.as_ref().and_then(|c| c.sel.cursor) {
            self.cursors.set(self.info.mac, super::sel::SEL, &cursor);
        }
    }

    /// Notes this BMC's sessions in `journal` (the daemon's session journal).
    pub fn with_journal(mut self, journal: Arc<Journal>) -> IpmiBmc {
        self.journal = journal;
        self
    }

    /// This BMC's name in the session journal.
    fn journal_key(&self) -> String {
        format!(
            "ipmi://{}",
            std::net::SocketAddr::new(self.info.ip, self.info.port)
        )
    }

    /// Notes the new session and closes those an earlier run left open on this BMC. Closing
    /// another session takes Administrator privilege: with a lower `[ipmi] privilege` they are
    /// left to the BMC's session inactivity timeout (typically a minute).
    async fn after_open(&self, session: &mut Session) {
        let key = self.journal_key();
        self.journal.opened(&key, &format!("{:08x}", session.id()));
        let stale: Vec<u32> = self
            .journal
            .take_stale(&key)
            .iter()
            .filter_map(|s| u32::from_str_radix(s, 16).ok())
            .filter(|id| *id != session.id())
            .collect();
        if stale.is_empty() {
            return;
        }
        let may = self
            .cfg
            .as_ref()
            .is_some_and(|c| c.privilege >= Privilege::Administrator);
        if !may
            || session
                .ensure_privilege(Privilege::Administrator)
                .await
                .is_err()
        {
            tracing::info!(bmc = %self.bmc(), sessions = stale.len(), "ipmi sessions left by an earlier run: closing them needs administrator privilege, left to the BMC's timeout");
            return;
        }
        for id in stale {
            let closed = session.close_other(id).await;
            tracing::info!(bmc = %self.bmc(), session = format_args!("{id:08x}"), closed, "ipmi session left by an earlier run");
        }
    }

    fn bmc(&self) -> String {
        self.info.label()
    }

    /// Records every request and reply of the sessions this backend opens (for `capture`).
    pub fn record_into(&mut self, recorder: super::session::Recorder) {
        if let Some(cfg) = self.cfg.as_mut() {
            cfg.recorder = Some(recorder);
        }
    }

    /// Does anything answer IPMI (pre-session Get Channel Auth Caps) at this BMC's address?
    pub async fn probe(&self, timeout: Duration) -> Result<(), HalError> {
        let cfg = SessionConfig {
            addr: std::net::SocketAddr::new(self.info.ip, self.info.port),
            username: String::new(),
            password: secrecy::SecretString::from(String::new()),
            suites: Vec::new(),
            privilege: Privilege::User,
            request_timeout: timeout,
            retries: 1,
            recorder: None,
        };
        let socket = super::session::socket_for(cfg.addr, &self.bmc()).await?;
        super::session::probe(&socket, &self.bmc(), &cfg)
            .await
            .map(drop)
    }

    /// Opens a session into `slot` (and starts the keep-alive) unless one is there.
    async fn ensure_open(
        &self,
        slot: &mut Option<Box<Session>>,
        cached: &mut Option<Box<Cached>>,
    ) -> Result<(), HalError> {
        if slot.is_none() {
            let mut cfg = self.cfg.clone().ok_or_else(|| HalError::Auth {
                bmc: self.bmc(),
                detail: "no credentials configured for this BMC".into(),
            })?;
            self.prefer_remembered_suite(&mut cfg);
            let mut session = Box::new(Session::open(cfg, &self.bmc()).await?);
            let suite = session.suite.id();
            self.note_profile(|i| i.cipher_suite = Some(suite));
            self.after_open(&mut session).await;
            *slot = Some(session);
            if let Some(c) = cached.as_mut() {
                c.device = None;
                c.guid = None;
            }
            self.start_keepalive();
        }
        Ok(())
    }

    fn start_keepalive(&self) {
        if self.keepalive.is_zero() {
            return;
        }
        let token = CancellationToken::new();
        if let Some(old) = self
            .stop_keepalive
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(token.clone())
        {
            old.cancel();
        }
        let weak: Weak<Mutex<Inner>> = Arc::downgrade(&self.inner);
        let period = self.keepalive;
        let bmc = self.bmc();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(period) => {}
                    _ = token.cancelled() => return,
                }
                let Some(inner) = weak.upgrade() else { return };
                let mut guard = inner.lock().await;
                let Some(s) = guard.session.as_mut() else {
                    return;
                };
                if s.idle() < period {
                    continue;
                }
                if let Err(e) = s.request(0x06, 0x01, &[]).await {
                    tracing::info!(bmc = %bmc, error = %e, "ipmi keep-alive failed; the next poll opens a new session");
                    guard.session = None;
                    return;
                }
            }
        });
    }

    /// Runs `f` in the session; when the session turns out to be dead (timeout, or the BMC
    /// forgot it), drops it and tries once more with a new one.
    async fn with_session(&self, op: Op) -> Result<Done, HalError> {
        let mut guard = self.inner.lock().await;
        let Inner { session, cached } = &mut *guard;
        let fresh = session.is_none();
        let bmc = self.bmc();
        self.ensure_open(session, cached).await?;
        let first = match session.as_mut() {
            Some(s) => run(s, cached.get_or_insert_with(Box::default), &bmc, op).await,
            None => {
                return Err(HalError::Protocol {
                    bmc,
                    detail: "no session".into(),
                });
            }
        };
        match first {
            Err(HalError::Timeout { .. }) if !fresh => {
                tracing::info!(bmc = %bmc, "ipmi session stopped answering; opening a new one");
                *session = None;
                self.ensure_open(session, cached).await?;
                match session.as_mut() {
                    Some(s) => run(s, cached.get_or_insert_with(Box::default), &bmc, op).await,
                    None => Err(HalError::Protocol {
                        bmc,
                        detail: "no session".into(),
                    }),
                }
            }
            other => other,
        }
    }
}

/// What a caller wants done in the session.
#[derive(Clone, Copy)]
enum Op {
    Poll(Limits),
    PowerState,
    Perform(Action),
}

enum Done {
    Reading(Box<Reading>),
    Power(PowerState),
    Performed,
}

async fn run(s: &mut Session, c: &mut Cached, bmc: &str, op: Op) -> Result<Done, HalError> {
    match op {
        Op::Poll(limits) => poll_session(s, c, bmc, &limits)
            .await
            .map(|r| Done::Reading(Box::new(r))),
        Op::PowerState => {
            let d = s.command(0x00, 0x01, &[]).await?;
            chassis::parse_chassis_status(&d)
                .map(|st| Done::Power(st.power_state()))
                .map_err(|e| HalError::Protocol {
                    bmc: bmc.into(),
                    detail: e.to_string(),
                })
        }
        Op::Perform(action) => {
            s.ensure_privilege(Privilege::Operator).await?;
            let (netfn, cmd, data) = action_request(action);
            s.command(netfn, cmd, &data).await.map(|_| Done::Performed)
        }
    }
}

#[async_trait]
impl Bmc for IpmiBmc {
    fn describe(&self) -> BmcInfo {
        self.info.clone()
    }

    async fn poll(&self) -> Reading {
        self.restore_cursor().await;
        let done = self.with_session(Op::Poll(self.limits)).await;
        self.note_cursor().await;
        self.note_support().await;
        match done {
            Ok(Done::Reading(mut r)) => {
                r.bound(&self.limits);
                *r
            }
            Ok(_) => Reading::all_failed(ErrorKind::Protocol, "internal: unexpected answer"),
            Err(e) => Reading::all_failed(e.kind(), &e.to_string()),
        }
    }

    async fn power_state(&self) -> Result<PowerState, HalError> {
        match self.with_session(Op::PowerState).await? {
            Done::Power(p) => Ok(p),
            _ => Err(HalError::Protocol {
                bmc: self.bmc(),
                detail: "internal: unexpected answer".into(),
            }),
        }
    }

    async fn perform(&self, action: Action) -> Result<(), HalError> {
        self.with_session(Op::Perform(action)).await.map(drop)
    }

    async fn close(&self) {
        if let Some(t) = self
            .stop_keepalive
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            t.cancel();
        }
        let mut inner = self.inner.lock().await;
        if let Some(s) = inner.session.take() {
            s.close().await;
            self.journal.closed(&self.journal_key());
        }
    }

    async fn refresh_inventory(&self) {
        if let Some(c) = self.inner.lock().await.cached.as_mut() {
            c.forget_inventory();
        }
    }
}
