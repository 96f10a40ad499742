//! The console side of the RMCP+ login: Open Session -> RAKP 1 -> RAKP 3 -> established, checking
//! the BMC's RAKP 2 key-exchange code and RAKP 4 integrity check value, deriving the session keys.
//!
//! The machine holds the datagram it waits an answer to ([`ClientHandshake::pending`]); the caller
//! sends it, resends it on its own timer, and feeds every datagram that arrives to
//! [`ClientHandshake::handle`]. Datagrams that are not the awaited answer (another payload type, a
//! wrong tag, undecodable) are [`Step::Ignore`]d, so a late or foreign reply never ends the login.

use crate::crypto::{
    self, CipherSuite, CryptoError, RakpContext, SessionKeys, ct_eq, rakp2_auth_code,
    rakp3_auth_code, rakp4_icv,
};
use crate::packet::{Incoming, PacketError, PayloadType, decode_incoming};
use crate::rakp::{
    Algorithms, OpenSessionRequest, OpenSessionResponse, Privilege, Rakp1, Rakp2, Rakp3, Rakp4,
    RakpError, RmcpStatus,
};

use super::sessionless;

/// What the console brings to one login attempt; the random values are the caller's.
#[derive(Clone)]
pub struct ClientParams {
    pub suite: CipherSuite,
    /// The algorithms proposed in Open Session; normally `Algorithms::of_suite(suite)`.
    pub algorithms: Algorithms,
    /// The maximum privilege asked for in Open Session.
    pub max_privilege: Privilege,
    /// The RAKP 1 role byte (privilege, plus 0x10 for a name-only lookup).
    pub role: u8,
    pub username: Vec<u8>,
    /// At most 20 bytes (the IPMI 2.0 user key); checked when RAKP 2 arrives.
    pub password: Vec<u8>,
    /// Our session ID, non-zero.
    pub console_session_id: u32,
    /// The message tag of every login message.
    pub tag: u8,
    /// Rm, the console's random number in RAKP 1.
    pub console_random: [u8; 16],
}

impl ClientParams {
    /// Parameters for `suite` at `privilege` with a name-only lookup (what ipmitool does).
    pub fn new(
        suite: CipherSuite,
        privilege: Privilege,
        username: &[u8],
        password: &[u8],
        console_session_id: u32,
        tag: u8,
        console_random: [u8; 16],
    ) -> Self {
        ClientParams {
            suite,
            algorithms: Algorithms::of_suite(suite),
            max_privilege: privilege,
            role: privilege.role_byte(true),
            username: username.to_vec(),
            password: password.to_vec(),
            console_session_id,
            tag,
            console_random,
        }
    }
}

impl std::fmt::Debug for ClientParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientParams")
            .field("suite", &self.suite)
            .field("max_privilege", &self.max_privilege)
            .field("role", &self.role)
            .field("username", &String::from_utf8_lossy(&self.username))
            .finish_non_exhaustive()
    }
}

/// Which answer the machine waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Open Session Request sent, waiting for its response.
    OpenSession,
    /// RAKP 1 sent, waiting for RAKP 2.
    Rakp1,
    /// RAKP 3 sent, waiting for RAKP 4.
    Rakp3,
    /// Established or failed: nothing more to send.
    Finished,
}

impl Stage {
    /// The message sent in this stage, for timeouts and logs ("Open Session", "RAKP 1", "RAKP 3").
    pub fn what(self) -> &'static str {
        match self {
            Stage::OpenSession => "Open Session",
            Stage::Rakp1 => "RAKP 1",
            Stage::Rakp3 => "RAKP 3",
            Stage::Finished => "login finished",
        }
    }
}

/// A session the BMC accepted.
#[derive(Clone, PartialEq, Eq)]
pub struct Established {
    pub suite: CipherSuite,
    pub keys: SessionKeys,
    /// The ID we put in every in-session packet.
    pub bmc_session_id: u32,
    /// The ID the BMC puts in its in-session packets.
    pub console_session_id: u32,
}

impl std::fmt::Debug for Established {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Established")
            .field("suite", &self.suite)
            .field("bmc_session_id", &self.bmc_session_id)
            .field("console_session_id", &self.console_session_id)
            .finish_non_exhaustive()
    }
}

/// What to do after a datagram arrived.
#[derive(Debug)]
pub enum Step {
    /// Send this next login datagram (it is now [`ClientHandshake::pending`]).
    Send(Vec<u8>),
    /// The session is open.
    Done(Box<Established>),
    /// Not the answer we wait for: keep waiting (and resending on the caller's timer).
    Ignore,
}

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The BMC does not support the proposed cipher suite: try another one.
    #[error("cipher suite refused: {0}")]
    SuiteRefused(RmcpStatus),
    /// Open Session refused for another reason (resources, role, ...).
    #[error("Open Session refused: {0}")]
    OpenSessionRefused(RmcpStatus),
    /// The user name cannot be sent in RAKP 1 (longer than 16 bytes).
    #[error("{0}")]
    UserName(RakpError),
    /// The BMC refused the user or the role in RAKP 2.
    #[error("RAKP 2: {0}")]
    Rakp2Refused(RmcpStatus),
    /// The password cannot be a user key (longer than 20 bytes).
    #[error("{0}")]
    Password(CryptoError),
    /// The BMC's RAKP 2 key-exchange code does not match: the password is wrong.
    #[error("RAKP 2: the BMC's key-exchange code does not match")]
    Rakp2Code,
    /// The BMC refused our RAKP 3.
    #[error("RAKP 4: {0}")]
    Rakp4Refused(RmcpStatus),
    /// The BMC's RAKP 4 integrity check value does not match.
    #[error("RAKP 4: integrity check value does not match")]
    Rakp4Icv,
    /// A login datagram could not be encoded.
    #[error("{0}")]
    Encode(PacketError),
}

/// Open Session statuses that mean "not this suite" rather than "not you".
fn refuses_suite(s: RmcpStatus) -> bool {
    matches!(
        s,
        RmcpStatus::InvalidAuthAlgorithm
            | RmcpStatus::InvalidIntegrityAlgorithm
            | RmcpStatus::InvalidConfidentialityAlgorithm
            | RmcpStatus::NoCipherSuiteMatch
            | RmcpStatus::NoMatchingAuthPayload
            | RmcpStatus::NoMatchingIntegrityPayload
    )
}

/// What RAKP 2 told us, kept for RAKP 3 and 4.
struct Exchanged {
    bmc_random: [u8; 16],
    bmc_guid: [u8; 16],
    kuid: [u8; crypto::USER_KEY_LEN],
}

/// The console's half of one login attempt with one cipher suite.
pub struct ClientHandshake {
    params: ClientParams,
    stage: Stage,
    pending: Vec<u8>,
    bmc_session_id: u32,
    rakp2: Option<Exchanged>,
}

impl ClientHandshake {
    /// Starts a login; returns the machine and the Open Session Request to send.
    pub fn new(params: ClientParams) -> Result<(Self, Vec<u8>), HandshakeError> {
        let open = OpenSessionRequest {
            tag: params.tag,
            max_privilege: params.max_privilege,
            console_session_id: params.console_session_id,
            algorithms: params.algorithms,
        }
        .encode();
        let first =
            sessionless(PayloadType::OpenSessionRequest, &open).map_err(HandshakeError::Encode)?;
        let hs = ClientHandshake {
            params,
            stage: Stage::OpenSession,
            pending: first.clone(),
            bmc_session_id: 0,
            rakp2: None,
        };
        Ok((hs, first))
    }

    /// Which answer the machine waits for.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The datagram waiting for an answer; `None` once the login is over.
    pub fn pending(&self) -> Option<&[u8]> {
        (self.stage != Stage::Finished).then_some(self.pending.as_slice())
    }

    /// A copy of [`ClientHandshake::pending`], to send again after silence.
    pub fn retransmit(&self) -> Option<Vec<u8>> {
        self.pending().map(<[u8]>::to_vec)
    }

    /// After [`HandshakeError::Rakp2Code`]: a RAKP 3 with "invalid integrity check value" that
    /// tells the BMC to drop the half-open session. Sending it is optional (ipmitool does not).
    pub fn abort(&self) -> Option<Vec<u8>> {
        self.rakp2.as_ref()?;
        let r3 = Rakp3 {
            tag: self.params.tag,
            status: RmcpStatus::InvalidIntegrityCheckValue,
            bmc_session_id: self.bmc_session_id,
            auth_code: Vec::new(),
        };
        sessionless(PayloadType::Rakp3, &r3.encode()).ok()
    }

    /// Feeds one received datagram.
    pub fn handle(&mut self, datagram: &[u8]) -> Result<Step, HandshakeError> {
        let expected = match self.stage {
            Stage::OpenSession => PayloadType::OpenSessionResponse,
            Stage::Rakp1 => PayloadType::Rakp2,
            Stage::Rakp3 => PayloadType::Rakp4,
            Stage::Finished => return Ok(Step::Ignore),
        };
        let payload = match decode_incoming(datagram, None) {
            Ok(Incoming::V2(p)) if p.payload_type == expected => p.payload,
            _ => return Ok(Step::Ignore),
        };
        let result = match self.stage {
            Stage::OpenSession => self.on_open_session(&payload),
            Stage::Rakp1 => self.on_rakp2(&payload),
            _ => self.on_rakp4(&payload),
        };
        match &result {
            Ok(Step::Send(next)) => self.pending.clone_from(next),
            Ok(Step::Ignore) => {}
            Ok(Step::Done(_)) | Err(_) => self.stage = Stage::Finished,
        }
        result
    }

    fn send(
        &mut self,
        ptype: PayloadType,
        payload: &[u8],
        next: Stage,
    ) -> Result<Step, HandshakeError> {
        let datagram = sessionless(ptype, payload).map_err(HandshakeError::Encode)?;
        self.stage = next;
        Ok(Step::Send(datagram))
    }

    fn on_open_session(&mut self, payload: &[u8]) -> Result<Step, HandshakeError> {
        let Some(resp) = OpenSessionResponse::decode(payload)
            .ok()
            .filter(|r| r.tag == self.params.tag)
        else {
            return Ok(Step::Ignore);
        };
        self.bmc_session_id = match (resp.status, resp.session) {
            (RmcpStatus::Ok, Some((sid, _))) => sid,
            (s, _) if refuses_suite(s) => return Err(HandshakeError::SuiteRefused(s)),
            (s, _) => return Err(HandshakeError::OpenSessionRefused(s)),
        };
        let rakp1 = Rakp1 {
            tag: self.params.tag,
            bmc_session_id: self.bmc_session_id,
            console_random: self.params.console_random,
            role: self.params.role,
            username: self.params.username.clone(),
        }
        .encode()
        .map_err(HandshakeError::UserName)?;
        self.send(PayloadType::Rakp1, &rakp1, Stage::Rakp1)
    }

    fn context<'a>(&'a self, r: &Exchanged) -> RakpContext<'a> {
        RakpContext {
            suite: self.params.suite,
            console_session_id: self.params.console_session_id,
            bmc_session_id: self.bmc_session_id,
            console_random: self.params.console_random,
            bmc_random: r.bmc_random,
            bmc_guid: r.bmc_guid,
            role: self.params.role,
            username: &self.params.username,
        }
    }

    fn on_rakp2(&mut self, payload: &[u8]) -> Result<Step, HandshakeError> {
        let Some(rakp2) = Rakp2::decode(payload)
            .ok()
            .filter(|r| r.tag == self.params.tag)
        else {
            return Ok(Step::Ignore);
        };
        if !rakp2.status.is_ok() {
            return Err(HandshakeError::Rakp2Refused(rakp2.status));
        }
        let kuid = crypto::user_key(&self.params.password).map_err(HandshakeError::Password)?;
        let exchanged = Exchanged {
            bmc_random: rakp2.bmc_random,
            bmc_guid: rakp2.bmc_guid,
            kuid,
        };
        let ctx = self.context(&exchanged);
        let good = ct_eq(&rakp2.auth_code, &rakp2_auth_code(&ctx, &exchanged.kuid));
        let code = rakp3_auth_code(&ctx, &exchanged.kuid);
        self.rakp2 = Some(exchanged);
        if !good {
            return Err(HandshakeError::Rakp2Code);
        }
        let rakp3 = Rakp3 {
            tag: self.params.tag,
            status: RmcpStatus::Ok,
            bmc_session_id: self.bmc_session_id,
            auth_code: code,
        }
        .encode();
        self.send(PayloadType::Rakp3, &rakp3, Stage::Rakp3)
    }

    fn on_rakp4(&mut self, payload: &[u8]) -> Result<Step, HandshakeError> {
        let Some(rakp4) = Rakp4::decode(payload)
            .ok()
            .filter(|r| r.tag == self.params.tag)
        else {
            return Ok(Step::Ignore);
        };
        if !rakp4.status.is_ok() {
            return Err(HandshakeError::Rakp4Refused(rakp4.status));
        }
        let Some(exchanged) = &self.rakp2 else {
            return Ok(Step::Ignore);
        };
        let ctx = self.context(exchanged);
        let keys = SessionKeys::derive(&ctx, &exchanged.kuid, None);
        if !ct_eq(&rakp4.integrity_check_value, &rakp4_icv(&ctx, keys.sik())) {
            return Err(HandshakeError::Rakp4Icv);
        }
        Ok(Step::Done(Box::new(Established {
            suite: self.params.suite,
            keys,
            bmc_session_id: self.bmc_session_id,
            console_session_id: self.params.console_session_id,
        })))
    }
}

impl std::fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientHandshake")
            .field("params", &self.params)
            .field("stage", &self.stage)
            .field("bmc_session_id", &self.bmc_session_id)
            .finish_non_exhaustive()
    }
}
