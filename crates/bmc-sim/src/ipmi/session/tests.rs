//! Sans-IO tests of the session layer: handshakes and their refusals, the session table, sequence
//! windows, privileges, and a no-panic fuzz over random and mutated datagrams.

use std::time::{Duration, Instant};

use super::MAX_SESSIONS;
use crate::ipmi::test_client::{Client, Failed, IDLE, admin_session, call, open_as, responder};
use crate::state::PowerState;
use ipmi_wire::crypto::CipherSuite;
use ipmi_wire::message::{Request, Response};
use ipmi_wire::packet::{self, AsfPing, AsfPong, PayloadType};
use ipmi_wire::rakp::{Algorithms, RmcpStatus};
const SUITES: [CipherSuite; 2] = [CipherSuite::Cs3, CipherSuite::Cs17];

#[test]
fn handshake_commands_and_close_for_both_suites() {
    for suite in SUITES {
        let (mut r, bmc, stats) = responder();
        let mut c = Client::new(suite);
        let now = Instant::now();
        c.open(&mut |d| r.handle(d, now), "admin", "password", 4)
            .expect("open");
        let id = call(&mut r, &mut c, 0x06, 0x01, &[]);
        assert_eq!(id.completion_code, 0);
        assert_eq!(&id.data[..6], &[0x20, 0x01, 0x02, 0x10, 0x02, 0x9f]);
        // The session starts at User: chassis control needs Operator.
        assert_eq!(call(&mut r, &mut c, 0x00, 0x02, &[0]).completion_code, 0xd4);
        assert_eq!(call(&mut r, &mut c, 0x06, 0x3b, &[4]).data, vec![4]);
        assert_eq!(call(&mut r, &mut c, 0x00, 0x02, &[0]).completion_code, 0);
        assert_eq!(bmc.state().power, PowerState::Off);
        assert_eq!(call(&mut r, &mut c, 0x00, 0x01, &[]).data[0] & 1, 0);
        assert_eq!(call(&mut r, &mut c, 0x06, 0x99, &[]).completion_code, 0xc1);
        assert_eq!(r.session_count(), 1);
        let sid = c.bmc_sid.to_le_bytes();
        assert_eq!(call(&mut r, &mut c, 0x06, 0x3c, &sid).completion_code, 0);
        assert_eq!(r.session_count(), 0);
        let created = stats.created.load(std::sync::atomic::Ordering::Relaxed);
        let closed = stats.closed.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!((created, closed), (1, 1));
        // The closed session no longer answers.
        let req = c.request(0x06, 0x01, &[]);
        assert_eq!(r.handle(&req, Instant::now()), None);
    }
}

#[test]
fn asf_ping_and_pre_session_commands() {
    let (mut r, _, _) = responder();
    let now = Instant::now();
    let pong = r.handle(&AsfPing { tag: 9 }.encode(), now).expect("pong");
    assert_eq!(pong, AsfPong::answering(AsfPing { tag: 9 }).encode());
    // IPMI 1.5, auth NONE: Get Channel Authentication Capabilities with the IPMI 2.0 bit.
    let req = Request::new(0x06, 0x38, 1, vec![0x8e, 0x04]);
    let out = packet::encode_v15(0, 0, &req.encode()).expect("v15");
    let answer = packet::decode_v15(&r.handle(&out, now).expect("caps")).expect("decode");
    let resp = Response::decode(&answer.payload).expect("resp");
    assert_eq!(resp.data, vec![0x01, 0x80, 0x04, 0x02, 0, 0, 0, 0]);
    // RMCP+ with session 0: Get Channel Cipher Suites lists 3 and 17.
    let req = Request::new(0x06, 0x54, 2, vec![0x0e, 0x00, 0x80]);
    let out = packet::encode_v2(PayloadType::IpmiMessage, 0, 0, &req.encode(), None, [0; 16]);
    let answer = r.handle(&out.expect("v2"), now).expect("suites");
    let resp = Response::decode(&packet::decode_v2(&answer, None).expect("dec").payload);
    let expected = vec![1, 0xc0, 3, 1, 0x41, 0x81, 0xc0, 17, 3, 0x44, 0x81];
    assert_eq!(resp.expect("resp").data, expected);
    // Anything else needs a session.
    let req = Request::new(0x00, 0x02, 3, vec![0x00]);
    let out = packet::encode_v15(0, 0, &req.encode()).expect("v15");
    let answer = packet::decode_v15(&r.handle(&out, now).expect("refusal")).expect("decode");
    assert_eq!(
        Response::decode(&answer.payload)
            .expect("resp")
            .completion_code,
        0xd4
    );
}

#[test]
fn refusals_leave_no_session() {
    let (mut r, bmc, _) = responder();
    let algs = |auth, integrity, confidentiality| Algorithms {
        auth,
        integrity,
        confidentiality,
    };
    for (a, status) in [
        (algs(1, 0, 0), RmcpStatus::InvalidIntegrityAlgorithm),
        (algs(0, 0, 0), RmcpStatus::InvalidAuthAlgorithm),
        (algs(1, 1, 0), RmcpStatus::InvalidConfidentialityAlgorithm),
        (algs(1, 4, 1), RmcpStatus::NoCipherSuiteMatch),
    ] {
        let mut c = Client::new(CipherSuite::Cs3);
        let now = Instant::now();
        let got = c.open_with(&mut |d| r.handle(d, now), "admin", "password", 4, a);
        assert_eq!(got, Err(Failed::OpenSession(status)));
    }
    let unknown = open_as(&mut r, "nobody", "password", 4).err();
    assert_eq!(unknown, Some(Failed::Rakp2(RmcpStatus::UnauthorizedName)));
    // The console notices the wrong password in RAKP 2 and says so in RAKP 3: no RAKP 4.
    assert_eq!(
        open_as(&mut r, "admin", "wrong", 4).err(),
        Some(Failed::Rakp2Code)
    );
    // A console that sends a wrong RAKP 3 code gets "invalid integrity check value".
    let mut c = Client::new(CipherSuite::Cs17);
    c.bad_rakp3 = true;
    let now = Instant::now();
    let got = c.open(&mut |d| r.handle(d, now), "admin", "password", 4);
    assert_eq!(
        got,
        Err(Failed::Rakp4(RmcpStatus::InvalidIntegrityCheckValue))
    );
    let role = open_as(&mut r, "viewer", "viewpass", 4).err();
    assert_eq!(role, Some(Failed::Rakp2(RmcpStatus::UnauthorizedRole)));
    bmc.state().faults.refuse_logins = true;
    let refused = open_as(&mut r, "admin", "password", 4).err();
    assert_eq!(refused, Some(Failed::Rakp2(RmcpStatus::UnauthorizedName)));
    assert_eq!(r.session_count(), 0);
}

#[test]
fn privilege_levels() {
    let (mut r, bmc, _) = responder();
    let mut op = open_as(&mut r, "operator", "operpass", 3).expect("operator");
    assert_eq!(
        call(&mut r, &mut op, 0x06, 0x3b, &[4]).completion_code,
        0x81
    );
    assert_eq!(call(&mut r, &mut op, 0x06, 0x3b, &[3]).data, vec![3]);
    assert_eq!(call(&mut r, &mut op, 0x00, 0x02, &[0]).completion_code, 0);
    assert_eq!(bmc.state().power, PowerState::Off);
    // An operator may not close someone else's session.
    let other = open_as(&mut r, "viewer", "viewpass", 2).expect("viewer");
    let sid = other.bmc_sid.to_le_bytes();
    assert_eq!(
        call(&mut r, &mut op, 0x06, 0x3c, &sid).completion_code,
        0xd4
    );
    assert_eq!(
        call(&mut r, &mut op, 0x06, 0x3c, &[9, 9, 9, 9]).completion_code,
        0x87
    );
    let mut viewer = other;
    assert_eq!(call(&mut r, &mut viewer, 0x06, 0x3b, &[2]).data, vec![2]);
    assert_eq!(
        call(&mut r, &mut viewer, 0x00, 0x02, &[1]).completion_code,
        0xd4
    );
    assert_eq!(
        call(&mut r, &mut viewer, 0x00, 0x04, &[5]).completion_code,
        0xd4
    );
    assert_eq!(
        call(&mut r, &mut viewer, 0x00, 0x01, &[]).completion_code,
        0
    );
    assert_eq!(bmc.state().power, PowerState::Off);
    // An admin who opened the session as User can not go above it.
    let mut low = open_as(&mut r, "admin", "password", 2).expect("admin as user");
    assert_eq!(
        call(&mut r, &mut low, 0x06, 0x3b, &[3]).completion_code,
        0x80
    );
    assert_eq!(call(&mut r, &mut low, 0x06, 0x3b, &[0]).data, vec![2]);
    // Role 0 = the user's highest.
    let mut high = open_as(&mut r, "operator", "operpass", 0).expect("highest");
    assert_eq!(call(&mut r, &mut high, 0x06, 0x3b, &[3]).data, vec![3]);
}

#[test]
fn session_table_limit_and_idle_expiry() {
    let (mut r, _, stats) = responder();
    let begin = Instant::now();
    let mut active = admin_session(&mut r, CipherSuite::Cs3);
    for _ in 1..MAX_SESSIONS {
        open_as(&mut r, "viewer", "viewpass", 2).expect("fits");
    }
    assert_eq!(r.session_count(), MAX_SESSIONS);
    let full = open_as(&mut r, "viewer", "viewpass", 2).err();
    assert_eq!(
        full,
        Some(Failed::OpenSession(RmcpStatus::InsufficientResources))
    );
    let opened = Instant::now();
    // Use keeps a session alive; the others expire.
    let later = begin + IDLE / 2;
    let req = active.request(0x06, 0x01, &[]);
    assert!(r.handle(&req, later).is_some());
    r.sweep(opened + IDLE + Duration::from_millis(1));
    assert_eq!(r.session_count(), 1);
    r.sweep(later + IDLE);
    assert_eq!(r.session_count(), 0);
    let req = active.request(0x06, 0x01, &[]);
    assert_eq!(r.handle(&req, later + IDLE), None);
    let expired = stats.expired.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(expired, MAX_SESSIONS as u64);
}

#[test]
fn sequence_window_rejects_replays_and_jumps() {
    let (mut r, _, _) = responder();
    let mut c = admin_session(&mut r, CipherSuite::Cs17);
    let now = Instant::now();
    let first = c.request(0x06, 0x01, &[]);
    assert!(r.handle(&first, now).is_some());
    assert_eq!(r.handle(&first, now), None, "replay");
    let skipped = c.request(0x06, 0x01, &[]);
    let newer = c.request(0x06, 0x01, &[]);
    assert!(r.handle(&newer, now).is_some());
    assert!(r.handle(&skipped, now).is_some(), "late but unseen");
    assert_eq!(r.handle(&skipped, now), None);
    c.seq += 100;
    let far = c.request(0x06, 0x01, &[]);
    assert_eq!(r.handle(&far, now), None);
    // Unauthenticated packets inside a session are ignored.
    let plain = packet::encode_v2(
        PayloadType::IpmiMessage,
        c.bmc_sid,
        1,
        &[0; 8],
        None,
        [0; 16],
    );
    assert_eq!(r.handle(&plain.expect("plain"), now), None);
}

/// Deterministic LCG (Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn fuzz_never_panics() {
    let (mut r, _, _) = responder();
    let mut rng = Lcg(0x1234_5678);
    let mut c = admin_session(&mut r, CipherSuite::Cs3);
    // Valid datagrams of every kind to mutate.
    let mut seeds = vec![
        AsfPing { tag: 1 }.encode(),
        packet::encode_v15(0, 0, &Request::new(6, 0x38, 1, vec![0x8e, 4]).encode()).expect("v15"),
        c.request(0x0a, 0x23, &[0, 0, 0, 0, 0, 0xff]),
        c.request(0x00, 0x08, &[5, 0x80, 4, 0, 0, 0]),
    ];
    let mut c2 = Client::new(CipherSuite::Cs17);
    let now = Instant::now();
    let mut record = |d: &[u8]| {
        seeds.push(d.to_vec());
        r.handle(d, now)
    };
    let _ = c2.open(&mut record, "admin", "password", 4);
    let (mut r, _, _) = responder();
    let mut c = admin_session(&mut r, CipherSuite::Cs3);
    for i in 0..20_000u32 {
        let mut d = if rng.below(4) == 0 {
            let len = rng.below(80);
            let mut d: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if len > 4 && rng.below(2) == 0 {
                d[..4].copy_from_slice(&[0x06, 0x00, 0xff, 0x07]);
                d[4] = [0x00, 0x06, 0x02][rng.below(3)];
            }
            d
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        for _ in 0..rng.below(4) {
            match rng.below(3) {
                0 if !d.is_empty() => {
                    let at = rng.below(d.len());
                    d[at] ^= 1 << rng.below(8);
                }
                1 if !d.is_empty() => d.truncate(rng.below(d.len())),
                _ => d.push(rng.next() as u8),
            }
        }
        let _ = r.handle(&d, now + Duration::from_millis(u64::from(i)));
        if i % 1000 == 0 {
            let req = c.request(0x06, 0x01, &[]);
            let _ = r.handle(&req, now);
        }
        assert!(r.session_count() <= MAX_SESSIONS);
    }
}
