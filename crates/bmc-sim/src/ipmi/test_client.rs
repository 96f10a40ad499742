//! Test support: a minimal RMCP+ console (the login is `ipmi_wire`'s [`ClientHandshake`], then
//! encrypted requests), a responder with three users to drive it against, and a spawned responder
//! on a 127.0.70.1 socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::session::Responder;
use super::{IpmiSimHandle, SimUser, Stats, spawn};
use crate::state::{MacAddr, SimBmc, SimShape};
use ipmi_wire::crypto::{CipherSuite, SessionKeys};
use ipmi_wire::handshake::{ClientHandshake, ClientParams, HandshakeError, Stage, Step};
use ipmi_wire::message::{Request, Response};
use ipmi_wire::packet::{self, PayloadType};
use ipmi_wire::rakp::{Algorithms, Privilege, RmcpStatus};

/// Sends one datagram and returns the answer, if any.
pub(crate) type Io<'a> = dyn FnMut(&[u8]) -> Option<Vec<u8>> + 'a;

/// Where session establishment stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failed {
    NoAnswer(&'static str),
    OpenSession(RmcpStatus),
    Rakp2(RmcpStatus),
    Rakp2Code,
    Rakp4(RmcpStatus),
    Rakp4Icv,
}

pub(crate) struct Client {
    pub suite: CipherSuite,
    pub keys: Option<SessionKeys>,
    pub bmc_sid: u32,
    pub console_sid: u32,
    pub seq: u32,
    pub rq_seq: u8,
    /// Corrupt the RAKP 3 code (what a console with the wrong password but no RAKP 2 check does).
    pub bad_rakp3: bool,
}

impl Client {
    pub fn new(suite: CipherSuite) -> Client {
        Client {
            suite,
            keys: None,
            bmc_sid: 0,
            console_sid: 0xa4a3_a2a0,
            seq: 0,
            rq_seq: 0,
            bad_rakp3: false,
        }
    }

    /// Opens a session as `user` asking for `role` (0x10 name-only lookup is added).
    pub fn open(
        &mut self,
        io: &mut Io<'_>,
        user: &str,
        pass: &str,
        role: u8,
    ) -> Result<(), Failed> {
        self.open_with(io, user, pass, role, Algorithms::of_suite(self.suite))
    }

    pub fn open_with(
        &mut self,
        io: &mut Io<'_>,
        user: &str,
        pass: &str,
        role: u8,
        algorithms: Algorithms,
    ) -> Result<(), Failed> {
        let params = ClientParams {
            algorithms,
            max_privilege: Privilege::from_byte(role).unwrap_or(Privilege::Administrator),
            role: role | 0x10,
            ..ClientParams::new(
                self.suite,
                Privilege::Administrator,
                user.as_bytes(),
                pass.as_bytes(),
                self.console_sid,
                1,
                [0x5a; 16],
            )
        };
        let (mut hs, mut datagram) =
            ClientHandshake::new(params).map_err(|_| Failed::NoAnswer("encode"))?;
        loop {
            let what = hs.stage().what();
            let answer = io(&datagram).ok_or(Failed::NoAnswer(what))?;
            match hs.handle(&answer) {
                Ok(Step::Send(mut next)) => {
                    if self.bad_rakp3
                        && hs.stage() == Stage::Rakp3
                        && let Some(last) = next.last_mut()
                    {
                        *last ^= 1;
                    }
                    datagram = next;
                }
                Ok(Step::Done(e)) => {
                    self.bmc_sid = e.bmc_session_id;
                    self.keys = Some(e.keys);
                    return Ok(());
                }
                Ok(Step::Ignore) => return Err(Failed::NoAnswer(what)),
                // Tell the BMC in RAKP 3, as the old console did; it must stay silent.
                Err(HandshakeError::Rakp2Code) => {
                    return match hs.abort().and_then(|d| io(&d)) {
                        None => Err(Failed::Rakp2Code),
                        Some(_) => Err(Failed::NoAnswer("unexpected RAKP 4")),
                    };
                }
                Err(e) => return Err(failed(e)),
            }
        }
    }

    /// The datagram of one in-session request (advances the sequence numbers).
    pub fn request(&mut self, net_fn: u8, cmd: u8, data: &[u8]) -> Vec<u8> {
        self.seq = self.seq.wrapping_add(1);
        self.rq_seq = (self.rq_seq + 1) & 0x3f;
        let msg = Request::new(net_fn, cmd, self.rq_seq, data.to_vec()).encode();
        packet::encode_v2(
            PayloadType::IpmiMessage,
            self.bmc_sid,
            self.seq,
            &msg,
            self.keys.as_ref(),
            [7; 16],
        )
        .unwrap_or_default()
    }

    /// Decodes an in-session answer.
    pub fn response(&self, bytes: &[u8]) -> Option<Response> {
        let p = packet::decode_v2(bytes, self.keys.as_ref()).ok()?;
        if !p.authenticated || !p.encrypted || p.session_id != self.console_sid {
            return None;
        }
        Response::decode(&p.payload).ok()
    }

    /// One request/response; `None` when the BMC stayed silent or answered garbage.
    pub fn call(&mut self, io: &mut Io<'_>, net_fn: u8, cmd: u8, data: &[u8]) -> Option<Response> {
        let req = self.request(net_fn, cmd, data);
        let answer = io(&req)?;
        self.response(&answer)
    }
}

fn failed(e: HandshakeError) -> Failed {
    match e {
        HandshakeError::SuiteRefused(s) | HandshakeError::OpenSessionRefused(s) => {
            Failed::OpenSession(s)
        }
        HandshakeError::Rakp2Refused(s) => Failed::Rakp2(s),
        HandshakeError::Rakp2Code => Failed::Rakp2Code,
        HandshakeError::Rakp4Refused(s) => Failed::Rakp4(s),
        HandshakeError::Rakp4Icv => Failed::Rakp4Icv,
        HandshakeError::UserName(_) | HandshakeError::Password(_) | HandshakeError::Encode(_) => {
            Failed::NoAnswer("encode")
        }
    }
}

/// Idle timeout of the sans-IO responder.
pub(crate) const IDLE: Duration = Duration::from_secs(30);

/// A sans-IO responder for BMC index 2 with [`users`].
pub(crate) fn responder() -> (Responder, Arc<SimBmc>, Arc<Stats>) {
    let bmc = Arc::new(SimBmc::new(
        MacAddr([2, 0, 0, 0, 0, 9]),
        2,
        SimShape::Sensors,
        "admin",
        "password",
    ));
    let stats = Arc::new(Stats::default());
    (
        Responder::new(bmc.clone(), users(), IDLE, stats.clone()),
        bmc,
        stats,
    )
}

/// Opens a session as admin at Administrator level (Set Session Privilege Level done).
pub(crate) fn admin_session(r: &mut Responder, suite: CipherSuite) -> Client {
    let mut c = Client::new(suite);
    let now = Instant::now();
    let mut io = |d: &[u8]| r.handle(d, now);
    c.open(&mut io, "admin", "password", 4).expect("open");
    let resp = c.call(&mut io, 0x06, 0x3b, &[4]).expect("set priv");
    assert_eq!((resp.completion_code, resp.data), (0, vec![4]));
    c
}

pub(crate) fn call(
    r: &mut Responder,
    c: &mut Client,
    net_fn: u8,
    cmd: u8,
    data: &[u8],
) -> Response {
    let now = Instant::now();
    c.call(&mut |d| r.handle(d, now), net_fn, cmd, data)
        .expect("answer")
}

pub(crate) fn open_as(
    r: &mut Responder,
    user: &str,
    pass: &str,
    role: u8,
) -> Result<Client, Failed> {
    let mut c = Client::new(CipherSuite::Cs3);
    let now = Instant::now();
    c.open(&mut |d| r.handle(d, now), user, pass, role)?;
    Ok(c)
}

/// A responder spawned on 127.0.70.1 (free port); stopped when dropped.
pub(crate) struct Sim {
    pub bmc: Arc<SimBmc>,
    pub handle: IpmiSimHandle,
    pub addr: SocketAddr,
    pub cancel: CancellationToken,
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// admin/password (4), operator/operpass (3), viewer/viewpass (2).
pub(crate) fn users() -> Vec<SimUser> {
    vec![
        SimUser::new("admin", "password", 4),
        SimUser::new("operator", "operpass", 3),
        SimUser::new("viewer", "viewpass", 2),
    ]
}

pub(crate) async fn start_with(idle: Duration) -> Sim {
    let bmc = Arc::new(SimBmc::new(
        MacAddr([2, 0, 0, 0, 0, 7]),
        3,
        SimShape::Legacy,
        "admin",
        "password",
    ));
    let socket = UdpSocket::bind("127.0.70.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    let cancel = CancellationToken::new();
    let handle = spawn(socket, bmc.clone(), users(), idle, cancel.clone());
    Sim {
        bmc,
        handle,
        addr,
        cancel,
    }
}

pub(crate) async fn start() -> Sim {
    start_with(Duration::from_secs(30)).await
}
