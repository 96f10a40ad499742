//! The BMC side of the RMCP+ login: checking an Open Session Request, answering RAKP 1 with RAKP 2
//! after the user and role checks, and RAKP 3 with RAKP 4 after checking the console's code, with
//! the key derivation. One [`ServerHandshake`] per half-open session.
//!
//! The session table stays with the caller: it decides whether there is room for a session and
//! picks its ID ([`OpenRequest::accept`]), finds the handshake a RAKP message names (bytes 4..8 of
//! its payload), forgets it when an answer says [`Outcome::Forget`], and turns
//! [`Outcome::Established`] into an active session. The user table is a lookup closure.

use crate::crypto::{
    self, CipherSuite, RakpContext, SessionKeys, ct_eq, rakp2_auth_code, rakp3_auth_code, rakp4_icv,
};
use crate::packet::PayloadType;
use crate::rakp::{
    Algorithms, OpenSessionRequest, OpenSessionResponse, Privilege, Rakp1, Rakp2, Rakp3, Rakp4,
    RakpError, RmcpStatus,
};

use super::sessionless;

/// What the BMC's user table says about one user name.
#[derive(Clone, Copy)]
pub struct UserEntry<'a> {
    /// At most 20 bytes; a longer one never authenticates.
    pub password: &'a [u8],
    /// 2 user, 3 operator, 4 administrator.
    pub max_privilege: u8,
}

/// The answer to one Open Session Request.
#[derive(Debug)]
pub enum Opening {
    /// Send this refusal; no session.
    Refused(Vec<u8>),
    /// A request the BMC can serve, if it has room: see [`OpenRequest::accept`].
    Acceptable(OpenRequest),
}

/// A valid Open Session Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenRequest {
    tag: u8,
    pub console_session_id: u32,
    pub suite: CipherSuite,
    pub max_privilege: Privilege,
}

/// An Open Session Response datagram.
fn open_response(r: OpenSessionResponse) -> Option<Vec<u8>> {
    sessionless(PayloadType::OpenSessionResponse, &r.encode()).ok()
}

/// Checks an Open Session Request payload; `None` when it is too short to answer at all.
pub fn open_session(payload: &[u8]) -> Option<Opening> {
    let tag = *payload.first()?;
    let console_id = payload
        .get(4..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes);
    let refuse = |status| {
        open_response(OpenSessionResponse {
            tag,
            status,
            max_privilege: 0,
            console_session_id: console_id,
            session: None,
        })
        .map(Opening::Refused)
    };
    let req = match OpenSessionRequest::decode(payload) {
        Ok(r) => r,
        Err(RakpError::BadPrivilege(_)) => return refuse(RmcpStatus::InvalidRole),
        Err(_) => return refuse(RmcpStatus::IllegalParameter),
    };
    let Some(suite) = req.algorithms.suite() else {
        let a = req.algorithms;
        return refuse(if !matches!(a.auth, 1 | 3) {
            RmcpStatus::InvalidAuthAlgorithm
        } else if !matches!(a.integrity, 1 | 4) {
            RmcpStatus::InvalidIntegrityAlgorithm
        } else if a.confidentiality != 1 {
            RmcpStatus::InvalidConfidentialityAlgorithm
        } else {
            RmcpStatus::NoCipherSuiteMatch
        });
    };
    if req.max_privilege == Privilege::Oem {
        return refuse(RmcpStatus::InvalidRole);
    }
    Some(Opening::Acceptable(OpenRequest {
        tag,
        console_session_id: req.console_session_id,
        suite,
        max_privilege: req.max_privilege,
    }))
}

impl OpenRequest {
    /// The refusal of a valid request (e.g. `InsufficientResources` when the table is full).
    pub fn refuse(&self, status: RmcpStatus) -> Option<Vec<u8>> {
        open_response(OpenSessionResponse {
            tag: self.tag,
            status,
            max_privilege: 0,
            console_session_id: self.console_session_id,
            session: None,
        })
    }

    /// Accepts the request as session `bmc_session_id` (non-zero, unused): the handshake to keep
    /// under that ID and the response to send.
    pub fn accept(self, bmc_session_id: u32) -> Option<(ServerHandshake, Vec<u8>)> {
        let max = match self.max_privilege {
            Privilege::Highest => Privilege::Administrator,
            p => p,
        };
        let reply = open_response(OpenSessionResponse {
            tag: self.tag,
            status: RmcpStatus::Ok,
            max_privilege: max as u8,
            console_session_id: self.console_session_id,
            session: Some((bmc_session_id, Algorithms::of_suite(self.suite))),
        })?;
        let hs = ServerHandshake {
            bmc_session_id,
            console_session_id: self.console_session_id,
            suite: self.suite,
            pending: None,
        };
        Some((hs, reply))
    }
}

/// What RAKP 1 established, kept for RAKP 3.
struct Pending {
    guid: [u8; 16],
    user_max: u8,
    console_random: [u8; 16],
    bmc_random: [u8; 16],
    role: u8,
    username: Vec<u8>,
    kuid: [u8; crypto::USER_KEY_LEN],
}

/// An active session's login facts.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerSession {
    pub keys: SessionKeys,
    /// The most the session may raise itself to: the role asked for in RAKP 1, or the user's
    /// maximum when it asked for "highest".
    pub limit: u8,
    /// The user's maximum privilege.
    pub user_max: u8,
}

/// What the caller does with the session after an answer.
pub enum Outcome {
    /// Keep the handshake: more messages are to come.
    Continue,
    /// Drop the session: the login failed or the console gave up.
    Forget,
    /// The login is complete: the session is active.
    Established(Box<ServerSession>),
}

/// A datagram to send (or silence) and what it means for the session.
pub struct ServerAnswer {
    pub datagram: Option<Vec<u8>>,
    pub outcome: Outcome,
}

impl ServerAnswer {
    fn new(datagram: Option<Vec<u8>>, outcome: Outcome) -> Self {
        ServerAnswer { datagram, outcome }
    }
}

/// A RAKP 2 refusal for `payload` (a RAKP 1), e.g. for a session ID the caller does not know.
pub fn refuse_rakp1(
    payload: &[u8],
    console_session_id: u32,
    status: RmcpStatus,
) -> Option<Vec<u8>> {
    let r = Rakp2 {
        tag: *payload.first()?,
        status,
        console_session_id,
        bmc_random: [0; 16],
        bmc_guid: [0; 16],
        auth_code: Vec::new(),
    };
    sessionless(PayloadType::Rakp2, &r.encode()).ok()
}

/// A RAKP 4 refusal for `payload` (a RAKP 3), e.g. for a session ID the caller does not know.
pub fn refuse_rakp3(payload: &[u8], status: RmcpStatus) -> Option<Vec<u8>> {
    rakp4(*payload.first()?, status, 0, Vec::new())
}

fn rakp4(tag: u8, status: RmcpStatus, console_session_id: u32, icv: Vec<u8>) -> Option<Vec<u8>> {
    let r = Rakp4 {
        tag,
        status,
        console_session_id,
        integrity_check_value: icv,
    };
    sessionless(PayloadType::Rakp4, &r.encode()).ok()
}

/// The BMC's half of one login, from Open Session accepted to RAKP 4 sent.
pub struct ServerHandshake {
    bmc_session_id: u32,
    console_session_id: u32,
    suite: CipherSuite,
    pending: Option<Box<Pending>>,
}

impl ServerHandshake {
    pub fn console_session_id(&self) -> u32 {
        self.console_session_id
    }

    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    fn context<'a>(&self, p: &'a Pending) -> RakpContext<'a> {
        RakpContext {
            suite: self.suite,
            console_session_id: self.console_session_id,
            bmc_session_id: self.bmc_session_id,
            console_random: p.console_random,
            bmc_random: p.bmc_random,
            bmc_guid: p.guid,
            role: p.role,
            username: &p.username,
        }
    }

    /// Answers RAKP 1 (again, if the console resends it) with RAKP 2. `bmc_random` is Rc,
    /// `bmc_guid` the GUID sent back; `lookup` finds a user by name (`None`: unknown or refused).
    pub fn rakp1<'u>(
        &mut self,
        payload: &[u8],
        bmc_random: [u8; 16],
        bmc_guid: [u8; 16],
        lookup: impl FnOnce(&[u8]) -> Option<UserEntry<'u>>,
    ) -> ServerAnswer {
        let refuse = |status| {
            ServerAnswer::new(
                refuse_rakp1(payload, self.console_session_id, status),
                Outcome::Forget,
            )
        };
        let Ok(r) = Rakp1::decode(payload) else {
            return refuse(RmcpStatus::InvalidNameLength);
        };
        let level = r.role & 0x0f;
        let checked = match lookup(&r.username) {
            None => Err(RmcpStatus::UnauthorizedName),
            Some(_) if level > 4 => Err(RmcpStatus::InvalidRole),
            Some(u) if level > u.max_privilege => Err(RmcpStatus::UnauthorizedRole),
            Some(u) => crypto::user_key(u.password)
                .map(|k| (k, u.max_privilege))
                .map_err(|_| RmcpStatus::UnauthorizedName),
        };
        let (kuid, user_max) = match checked {
            Ok(v) => v,
            Err(status) => return refuse(status),
        };
        let pending = Pending {
            guid: bmc_guid,
            user_max,
            console_random: r.console_random,
            bmc_random,
            role: r.role,
            username: r.username,
            kuid,
        };
        let auth_code = rakp2_auth_code(&self.context(&pending), &pending.kuid);
        let reply = Rakp2 {
            tag: r.tag,
            status: RmcpStatus::Ok,
            console_session_id: self.console_session_id,
            bmc_random: pending.bmc_random,
            bmc_guid: pending.guid,
            auth_code,
        };
        self.pending = Some(Box::new(pending));
        ServerAnswer::new(
            sessionless(PayloadType::Rakp2, &reply.encode()).ok(),
            Outcome::Continue,
        )
    }

    /// Answers RAKP 3 with RAKP 4: the session is established when the console's code matches.
    pub fn rakp3(&mut self, payload: &[u8]) -> ServerAnswer {
        let Some(tag) = payload.first().copied() else {
            return ServerAnswer::new(None, Outcome::Continue);
        };
        let Some(pending) = self.pending.as_deref() else {
            let refusal = rakp4(tag, RmcpStatus::InvalidSessionId, 0, Vec::new());
            return ServerAnswer::new(refusal, Outcome::Continue);
        };
        let r = match Rakp3::decode(payload) {
            Ok(r) if r.status.is_ok() => r,
            // The console gave up (e.g. our RAKP 2 code did not match its password).
            _ => return ServerAnswer::new(None, Outcome::Forget),
        };
        let ctx = self.context(pending);
        if !ct_eq(&rakp3_auth_code(&ctx, &pending.kuid), &r.auth_code) {
            let refusal = rakp4(
                tag,
                RmcpStatus::InvalidIntegrityCheckValue,
                self.console_session_id,
                Vec::new(),
            );
            return ServerAnswer::new(refusal, Outcome::Forget);
        }
        let keys = SessionKeys::derive(&ctx, &pending.kuid, None);
        let icv = rakp4_icv(&ctx, keys.sik());
        let requested = pending.role & 0x0f;
        let limit = if requested == 0 {
            pending.user_max
        } else {
            requested
        };
        let session = ServerSession {
            keys,
            limit,
            user_max: pending.user_max,
        };
        ServerAnswer::new(
            rakp4(tag, RmcpStatus::Ok, self.console_session_id, icv),
            Outcome::Established(Box::new(session)),
        )
    }
}
