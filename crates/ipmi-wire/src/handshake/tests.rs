//! A [`ClientHandshake`] talking to a [`ServerHandshake`] in memory: both suites, a wrong password,
//! a refused suite, an unknown user, a wrong RAKP 3 code, and stray datagrams that must be ignored.

use super::server::{self, refuse_rakp1};
use super::*;
use crate::crypto::CipherSuite;
use crate::packet::{self, AsfPing, PayloadType};
use crate::rakp::{Algorithms, Privilege, RmcpStatus};

const BMC_SID: u32 = 0x0102_0304;
const CONSOLE_SID: u32 = 0xa4a3_a2a0;

/// A BMC with one user (admin/password, administrator) and room for one session.
#[derive(Default)]
struct Bmc {
    session: Option<ServerHandshake>,
    established: Option<ServerSession>,
    /// Corrupt the next RAKP 2 code, as a BMC with another password for the user would send.
    other_password: bool,
}

impl Bmc {
    fn answer(&mut self, datagram: &[u8]) -> Option<Vec<u8>> {
        let p = packet::decode_v2(datagram, None).ok()?;
        match p.payload_type {
            PayloadType::OpenSessionRequest => match server::open_session(&p.payload)? {
                Opening::Refused(d) => Some(d),
                Opening::Acceptable(req) if self.session.is_some() => {
                    req.refuse(RmcpStatus::InsufficientResources)
                }
                Opening::Acceptable(req) => {
                    let (hs, reply) = req.accept(BMC_SID)?;
                    self.session = Some(hs);
                    Some(reply)
                }
            },
            PayloadType::Rakp1 => {
                let Some(hs) = self.session.as_mut() else {
                    return refuse_rakp1(&p.payload, 0, RmcpStatus::InvalidSessionId);
                };
                let password: &[u8] = if self.other_password {
                    b"other"
                } else {
                    b"password"
                };
                let a = hs.rakp1(&p.payload, [0x11; 16], [0x22; 16], |name| {
                    (name == b"admin").then_some(UserEntry {
                        password,
                        max_privilege: 4,
                    })
                });
                self.apply(a)
            }
            PayloadType::Rakp3 => {
                let a = self.session.as_mut()?.rakp3(&p.payload);
                self.apply(a)
            }
            _ => None,
        }
    }

    fn apply(&mut self, a: ServerAnswer) -> Option<Vec<u8>> {
        match a.outcome {
            Outcome::Continue => {}
            Outcome::Forget => self.session = None,
            Outcome::Established(s) => self.established = Some(*s),
        }
        a.datagram
    }
}

fn params(suite: CipherSuite, user: &str, pass: &str) -> ClientParams {
    ClientParams::new(
        suite,
        Privilege::Administrator,
        user.as_bytes(),
        pass.as_bytes(),
        CONSOLE_SID,
        7,
        [0x5a; 16],
    )
}

/// Runs a login to its end: the client's result and the BMC afterwards.
fn login(bmc: &mut Bmc, p: ClientParams) -> (Result<Established, HandshakeError>, ClientHandshake) {
    let (mut hs, mut datagram) = ClientHandshake::new(p).expect("open session encodes");
    loop {
        assert_eq!(hs.pending(), Some(datagram.as_slice()));
        let answer = bmc
            .answer(&datagram)
            .expect("the BMC answers every login message");
        match hs.handle(&answer) {
            Ok(Step::Send(next)) => datagram = next,
            Ok(Step::Done(e)) => return (Ok(*e), hs),
            Ok(Step::Ignore) => panic!("the BMC's own answer was ignored in {:?}", hs.stage()),
            Err(e) => return (Err(e), hs),
        }
    }
}

#[test]
fn both_suites_agree_on_the_keys() {
    for suite in [CipherSuite::Cs3, CipherSuite::Cs17] {
        let mut bmc = Bmc::default();
        let (got, hs) = login(&mut bmc, params(suite, "admin", "password"));
        let e = got.expect("login");
        assert_eq!(
            (e.suite, e.bmc_session_id, e.console_session_id),
            (suite, BMC_SID, CONSOLE_SID)
        );
        let server = bmc.established.expect("the BMC has an active session");
        assert!(
            e.keys == server.keys,
            "console and BMC derived different keys"
        );
        assert_eq!((server.limit, server.user_max), (4, 4));
        assert_eq!(hs.stage(), Stage::Finished);
        assert_eq!(hs.pending(), None);
    }
}

#[test]
fn a_wrong_password_is_caught_in_rakp2_and_abort_drops_the_session() {
    let mut bmc = Bmc::default();
    let (got, hs) = login(&mut bmc, params(CipherSuite::Cs17, "admin", "wrong"));
    assert_eq!(got.err(), Some(HandshakeError::Rakp2Code));
    assert!(bmc.session.is_some(), "half-open until the console says so");
    let abort = hs.abort().expect("RAKP 3 with an error status");
    assert_eq!(bmc.answer(&abort), None);
    assert!(bmc.session.is_none());
}

#[test]
fn a_bmc_with_another_password_fails_the_rakp2_check() {
    let mut bmc = Bmc {
        other_password: true,
        ..Bmc::default()
    };
    let (got, _) = login(&mut bmc, params(CipherSuite::Cs3, "admin", "password"));
    assert_eq!(got.err(), Some(HandshakeError::Rakp2Code));
}

#[test]
fn refusals_are_typed() {
    let mut p = params(CipherSuite::Cs3, "admin", "password");
    p.algorithms = Algorithms {
        auth: 1,
        integrity: 4,
        confidentiality: 1,
    };
    let (got, _) = login(&mut Bmc::default(), p);
    assert_eq!(
        got.err(),
        Some(HandshakeError::SuiteRefused(RmcpStatus::NoCipherSuiteMatch))
    );
    let mut full = Bmc::default();
    let _ = login(&mut full, params(CipherSuite::Cs3, "admin", "password"));
    let (got, _) = login(&mut full, params(CipherSuite::Cs3, "admin", "password"));
    assert_eq!(
        got.err(),
        Some(HandshakeError::OpenSessionRefused(
            RmcpStatus::InsufficientResources
        ))
    );
    let (got, _) = login(
        &mut Bmc::default(),
        params(CipherSuite::Cs3, "nobody", "password"),
    );
    assert_eq!(
        got.err(),
        Some(HandshakeError::Rakp2Refused(RmcpStatus::UnauthorizedName))
    );
    let long = "x".repeat(17);
    let (got, _) = login(
        &mut Bmc::default(),
        params(CipherSuite::Cs3, &long, "password"),
    );
    assert!(matches!(got, Err(HandshakeError::UserName(_))));
}

#[test]
fn a_wrong_rakp3_code_gets_invalid_integrity_check_value() {
    let mut bmc = Bmc::default();
    let (mut hs, open) =
        ClientHandshake::new(params(CipherSuite::Cs17, "admin", "password")).expect("encode");
    let Ok(Step::Send(rakp1)) = hs.handle(&bmc.answer(&open).expect("open")) else {
        panic!("RAKP 1 expected");
    };
    let Ok(Step::Send(mut rakp3)) = hs.handle(&bmc.answer(&rakp1).expect("rakp2")) else {
        panic!("RAKP 3 expected");
    };
    if let Some(last) = rakp3.last_mut() {
        *last ^= 1;
    }
    let rakp4 = bmc.answer(&rakp3).expect("rakp4");
    assert_eq!(
        hs.handle(&rakp4).err(),
        Some(HandshakeError::Rakp4Refused(
            RmcpStatus::InvalidIntegrityCheckValue
        ))
    );
    assert!(bmc.session.is_none());
}

#[test]
fn stray_and_foreign_datagrams_are_ignored() {
    let mut bmc = Bmc::default();
    let (mut hs, open) =
        ClientHandshake::new(params(CipherSuite::Cs3, "admin", "password")).expect("encode");
    let answer = bmc.answer(&open).expect("open");
    // Garbage, an ASF ping, a reply with another tag, and a reply of another stage.
    let mut other_tag = answer.clone();
    other_tag[16] ^= 0xff;
    let early_rakp4 =
        server::refuse_rakp3(&[7, 0, 0, 0, 0, 0, 0, 0], RmcpStatus::Ok).expect("encode");
    for stray in [
        vec![1, 2, 3],
        AsfPing { tag: 1 }.encode(),
        other_tag,
        early_rakp4,
    ] {
        assert!(
            matches!(hs.handle(&stray), Ok(Step::Ignore)),
            "{stray:02x?}"
        );
        assert_eq!(hs.stage(), Stage::OpenSession);
    }
    assert_eq!(hs.retransmit(), Some(open));
    assert!(matches!(hs.handle(&answer), Ok(Step::Send(_))));
    // A duplicate of the Open Session response, now late: ignored too.
    assert!(matches!(hs.handle(&answer), Ok(Step::Ignore)));
    assert_eq!(hs.stage(), Stage::Rakp1);
}
