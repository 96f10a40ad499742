//! Unit tests of `wire::message`: round trips, rejected tampering and truncation, no panics on noise.
use super::*;
use crate::noise::Lcg;

#[test]
fn real_get_channel_auth_caps_bytes() {
    // From the ipmitool capture (crates/ipmi-wire/tests/fixtures/rmcp/cs3_mc_info.txt).
    let req_bytes = [0x20, 0x18, 0xc8, 0x81, 0x00, 0x38, 0x8e, 0x04, 0xb5];
    let req = Request::decode(&req_bytes).unwrap();
    assert_eq!(req, Request::new(0x06, 0x38, 0, vec![0x8e, 0x04]));
    assert_eq!(req.encode(), req_bytes);
    let rsp_bytes = [
        0x81, 0x1c, 0x63, 0x20, 0x00, 0x38, 0x00, 0x01, 0x96, 0x04, 0x03, 0, 0, 0, 0x00, 0x0a,
    ];
    let rsp = Response::decode(&rsp_bytes).unwrap();
    assert!(rsp.answers(&req));
    assert_eq!((rsp.net_fn, rsp.completion_code), (0x07, 0x00));
    assert_eq!(rsp.data, [0x01, 0x96, 0x04, 0x03, 0, 0, 0, 0x00]);
    assert_eq!(Response::for_request(&req, 0, rsp.data.clone()), rsp);
    assert_eq!(rsp.encode(), rsp_bytes);
}

#[test]
fn checksums() {
    assert_eq!(checksum(&[0x20, 0x18]), 0xc8);
    assert_eq!(checksum(&[]), 0);
    let mut all = vec![1, 2, 3, 250];
    all.push(checksum(&all));
    assert_eq!(all.iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0);
}

#[test]
fn round_trips() {
    for seq in [0u8, 1, 31, 63] {
        for data in [vec![], vec![0x04], (0..40).collect::<Vec<u8>>()] {
            let mut req = Request::new(0x2c, 0x3e, seq, data.clone());
            req.rs_lun = 2;
            req.rq_lun = 1;
            assert_eq!(Request::decode(&req.encode()).unwrap(), req);
            let rsp = Response::for_request(&req, 0xc1, data);
            assert_eq!(Response::decode(&rsp.encode()).unwrap(), rsp);
            assert!(rsp.answers(&req));
            let mut other = req.clone();
            other.rq_seq = (seq + 1) & 0x3f;
            assert!(!rsp.answers(&other));
        }
    }
}

#[test]
fn errors() {
    let req = Request::new(0x06, 0x01, 5, vec![]).encode();
    let rsp = Response::for_request(&Request::new(0x06, 0x01, 5, vec![]), 0, vec![1]).encode();
    assert_eq!(Response::decode(&req), Err(MessageError::Truncated(7, 8)));
    let req2 = Request::new(0x06, 0x01, 5, vec![9]).encode();
    assert_eq!(
        Response::decode(&req2),
        Err(MessageError::NotAResponse(0x06))
    );
    assert_eq!(Request::decode(&rsp), Err(MessageError::NotARequest(0x07)));
    let mut bad = req.clone();
    bad[2] ^= 1;
    assert!(matches!(
        Request::decode(&bad),
        Err(MessageError::BadHeaderChecksum(_))
    ));
    let mut bad = rsp.clone();
    bad[5] ^= 1;
    assert!(matches!(
        Response::decode(&bad),
        Err(MessageError::BadDataChecksum(_))
    ));
    for cut in 0..req.len() {
        assert!(Request::decode(&req[..cut]).is_err());
    }
    for cut in 0..rsp.len() {
        assert!(Response::decode(&rsp[..cut]).is_err());
    }
}

#[test]
fn lcg_fuzz() {
    let mut rng = Lcg(7);
    let seed =
        Response::for_request(&Request::new(0x06, 0x01, 3, vec![]), 0, vec![1, 2, 3]).encode();
    for round in 0..20_000 {
        let data: Vec<u8> = if round % 2 == 0 {
            (0..usize::from(rng.next()) % 24)
                .map(|_| rng.next())
                .collect()
        } else {
            let mut d = seed.clone();
            let i = usize::from(rng.next()) % d.len();
            d[i] = rng.next();
            d
        };
        let _ = Request::decode(&data);
        let _ = Response::decode(&data);
    }
}
