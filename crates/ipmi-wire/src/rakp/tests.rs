//! Unit tests of `wire::rakp`: round trips, rejected tampering and truncation, no panics on noise.
use super::*;
use crate::crypto::CipherSuite;
use crate::noise::Lcg;

fn algs() -> Algorithms {
    Algorithms::of_suite(CipherSuite::Cs17)
}

fn samples() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "open_req",
            OpenSessionRequest {
                tag: 3,
                max_privilege: Privilege::Administrator,
                console_session_id: 0xa0a2_a3a4,
                algorithms: algs(),
            }
            .encode(),
        ),
        (
            "open_rsp",
            OpenSessionResponse {
                tag: 3,
                status: RmcpStatus::Ok,
                max_privilege: 4,
                console_session_id: 1,
                session: Some((0x0202, algs())),
            }
            .encode(),
        ),
        (
            "rakp1",
            Rakp1 {
                tag: 4,
                bmc_session_id: 0x0202,
                console_random: [7; 16],
                role: 0x14,
                username: b"admin".to_vec(),
            }
            .encode()
            .unwrap(),
        ),
        (
            "rakp2",
            Rakp2 {
                tag: 4,
                status: RmcpStatus::Ok,
                console_session_id: 1,
                bmc_random: [8; 16],
                bmc_guid: [9; 16],
                auth_code: vec![0xab; 32],
            }
            .encode(),
        ),
        (
            "rakp3",
            Rakp3 {
                tag: 5,
                status: RmcpStatus::Ok,
                bmc_session_id: 0x0202,
                auth_code: vec![1; 20],
            }
            .encode(),
        ),
        (
            "rakp4",
            Rakp4 {
                tag: 5,
                status: RmcpStatus::Ok,
                console_session_id: 1,
                integrity_check_value: vec![2; 16],
            }
            .encode(),
        ),
    ]
}

fn decode(kind: &str, b: &[u8]) -> Result<Vec<u8>, RakpError> {
    Ok(match kind {
        "open_req" => OpenSessionRequest::decode(b)?.encode(),
        "open_rsp" => OpenSessionResponse::decode(b)?.encode(),
        "rakp1" => Rakp1::decode(b)?.encode()?,
        "rakp2" => Rakp2::decode(b)?.encode(),
        "rakp3" => Rakp3::decode(b)?.encode(),
        _ => Rakp4::decode(b)?.encode(),
    })
}

#[test]
fn round_trips() {
    for (kind, bytes) in samples() {
        assert_eq!(decode(kind, &bytes).unwrap(), bytes, "{kind}");
    }
    let rakp1 = Rakp1::decode(&samples()[2].1).unwrap();
    assert_eq!(rakp1.role, Privilege::Administrator.role_byte(true));
    assert_eq!(
        OpenSessionRequest::decode(&samples()[0].1)
            .unwrap()
            .algorithms
            .suite(),
        Some(CipherSuite::Cs17)
    );
}

#[test]
fn truncations_rejected_without_panic() {
    for (kind, bytes) in samples() {
        // A 32-byte code cut to 20 (or a 16-byte ICV cut to 12) is a
        // well-formed SHA1 message; every other prefix must be rejected.
        let also_valid = match kind {
            "rakp2" => 40 + 20,
            "rakp4" => 8 + 12,
            _ => usize::MAX,
        };
        for cut in 0..bytes.len() {
            let r = decode(kind, &bytes[..cut]);
            assert_eq!(r.is_ok(), cut == also_valid, "{kind} cut at {cut}: {r:?}");
        }
    }
}

#[test]
fn error_replies() {
    // ipmi_sim's answer to a cipher suite 17 proposal: tag + status only.
    let rsp = OpenSessionResponse::decode(&[0x00, 0x04]).unwrap();
    assert_eq!(rsp.status, RmcpStatus::InvalidAuthAlgorithm);
    assert_eq!(rsp.session, None);
    let short = OpenSessionResponse {
        session: None,
        ..rsp
    };
    assert_eq!(OpenSessionResponse::decode(&short.encode()).unwrap(), short);
    let r2 = Rakp2::decode(&[1, 0x0d, 0, 0, 1, 0, 0, 0]).unwrap();
    assert_eq!(r2.status, RmcpStatus::UnauthorizedName);
    assert!(r2.auth_code.is_empty());
    assert_eq!(Rakp2::decode(&r2.encode()).unwrap(), r2);
    let r4 = Rakp4::decode(&[1, 0x0f]).unwrap();
    assert_eq!(r4.status, RmcpStatus::InvalidIntegrityCheckValue);
    assert!(
        Rakp4::decode(&[1, 0x00]).is_err(),
        "OK status needs the session ID"
    );
    assert_eq!(
        Rakp4::decode(&[1, 0, 0, 0, 1, 0, 0, 0, 9, 9]),
        Err(RakpError::BadCodeLength {
            what: "RAKP 4",
            len: 2,
            allowed: &[12, 16]
        })
    );
}

#[test]
fn status_codes() {
    for b in 0..=0x12u8 {
        let s = RmcpStatus::from_byte(b);
        assert_ne!(s, RmcpStatus::Other(b));
        assert_eq!(s.to_byte(), b);
    }
    assert_eq!(RmcpStatus::from_byte(0x13), RmcpStatus::Other(0x13));
    assert_eq!(RmcpStatus::Other(0x80).to_byte(), 0x80);
    assert_eq!(
        RmcpStatus::from_byte(0x01).to_string(),
        "insufficient resources to create a session (0x01)"
    );
    assert_eq!(RmcpStatus::from_byte(0x02), RmcpStatus::InvalidSessionId);
    assert_eq!(
        RmcpStatus::from_byte(0x0d).to_string(),
        "unauthorized name (0x0d)"
    );
    assert_eq!(RmcpStatus::from_byte(0x11), RmcpStatus::NoCipherSuiteMatch);
    assert_eq!(
        RmcpStatus::Other(0x99).to_string(),
        "unknown RMCP+ status 0x99"
    );
}

#[test]
fn privileges() {
    for b in 0..=5u8 {
        assert_eq!(Privilege::from_byte(b).unwrap() as u8, b);
    }
    assert_eq!(Privilege::from_byte(6), Err(RakpError::BadPrivilege(6)));
    assert_eq!(Privilege::Operator.role_byte(false), 0x03);
    assert_eq!(Privilege::Highest.role_byte(true), 0x10);
}

#[test]
fn field_errors() {
    let mut req = samples()[0].1.clone();
    req[8] = 1;
    assert_eq!(
        OpenSessionRequest::decode(&req),
        Err(RakpError::BadAlgorithmPayloadType {
            index: 0,
            found: 1,
            expected: 0
        })
    );
    let mut req = samples()[0].1.clone();
    req[19] = 7;
    assert_eq!(
        OpenSessionRequest::decode(&req),
        Err(RakpError::BadAlgorithmPayloadLength { index: 1, found: 7 })
    );
    let long = Rakp1 {
        tag: 0,
        bmc_session_id: 0,
        console_random: [0; 16],
        role: 4,
        username: vec![b'a'; 17],
    };
    assert!(matches!(long.encode(), Err(RakpError::TooLong { .. })));
    let mut r1 = samples()[2].1.clone();
    r1.push(b'x');
    assert_eq!(
        Rakp1::decode(&r1),
        Err(RakpError::NameLengthMismatch {
            declared: 5,
            available: 6
        })
    );
    let mut r2 = samples()[3].1.clone();
    r2.extend_from_slice(&[0; 1]);
    assert!(matches!(Rakp2::decode(&r2), Err(RakpError::TooLong { .. })));
}

#[test]
fn lcg_fuzz() {
    let mut rng = Lcg(99);
    let seeds = samples();
    for round in 0..30_000usize {
        let (kind, seed) = &seeds[round % seeds.len()];
        let mut d = if round % 3 == 0 {
            (0..usize::from(rng.next()) % 80)
                .map(|_| rng.next())
                .collect()
        } else {
            seed.clone()
        };
        if !d.is_empty() {
            let i = usize::from(rng.next()) % d.len();
            d[i] = rng.next();
        }
        let _ = decode(kind, &d);
    }
}
