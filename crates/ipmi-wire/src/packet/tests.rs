//! Unit tests of `wire::packet`: round trips, rejected tampering and truncation, no panics on noise.
use super::*;
use crate::crypto::{CipherSuite, SessionKeys};
use crate::noise::Lcg;

const PING_PONG: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/rmcp/asf_ping_pong.txt"
));

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn keys(suite: CipherSuite) -> SessionKeys {
    SessionKeys::from_sik(suite, vec![0x5c; suite.digest_len()])
}

#[test]
fn asf_real_ping_and_pong() {
    let lines: Vec<Vec<u8>> = PING_PONG
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| unhex(&l[4..]))
        .collect();
    let Incoming::AsfPing(ping) = decode_incoming(&lines[0], None).unwrap() else {
        panic!()
    };
    assert_eq!(ping, AsfPing { tag: 7 });
    assert_eq!(ping.encode(), lines[0]);
    let Incoming::AsfPong(pong) = decode_incoming(&lines[1], None).unwrap() else {
        panic!()
    };
    assert!(pong.supports_ipmi());
    assert_eq!(
        pong,
        AsfPong::answering(ping),
        "ipmi_sim's pong is the one we would send"
    );
    assert_eq!(pong.encode(), lines[1]);
}

#[test]
fn asf_errors() {
    let ping = AsfPing { tag: 1 }.encode();
    let mut bad = ping.clone();
    bad[6] = 0;
    assert_eq!(decode_asf(&bad), Err(PacketError::BadAsfIana(0xbe)));
    let mut bad = ping.clone();
    bad[8] = 0x41;
    assert_eq!(decode_asf(&bad), Err(PacketError::BadAsfType(0x41)));
    let mut pong = AsfPong::answering(AsfPing { tag: 1 }).encode();
    pong.truncate(27);
    assert_eq!(decode_asf(&pong), Err(PacketError::Truncated(27, 28)));
    assert_eq!(
        decode_asf(&encode_v15(0, 0, b"").unwrap()),
        Err(PacketError::BadRmcpClass(0x07))
    );
}

#[test]
fn v15_round_trip_and_errors() {
    let bytes = encode_v15(5, 0x0102_0304, &[1, 2, 3]).unwrap();
    let p = decode_v15(&bytes).unwrap();
    assert_eq!(
        p,
        V15Packet {
            session_seq: 5,
            session_id: 0x0102_0304,
            payload: vec![1, 2, 3]
        }
    );
    let mut padded = bytes.clone();
    padded.push(0);
    assert_eq!(decode_v15(&padded).unwrap(), p);
    padded.push(0);
    assert!(matches!(
        decode_v15(&padded),
        Err(PacketError::LengthMismatch { .. })
    ));
    assert_eq!(
        encode_v15(0, 0, &[0; 256]),
        Err(PacketError::PayloadTooLong(256))
    );
    let mut md5 = bytes.clone();
    md5[4] = 0x02;
    assert_eq!(
        decode_v15(&md5),
        Err(PacketError::UnsupportedAuthType(0x02))
    );
    assert_eq!(
        decode_incoming(&md5, None),
        Err(PacketError::UnsupportedAuthType(0x02))
    );
}

#[test]
fn v2_clear_round_trip() {
    for ptype in [
        PayloadType::OpenSessionRequest,
        PayloadType::Rakp3,
        PayloadType::IpmiMessage,
        PayloadType::Other(0x21),
    ] {
        let bytes = encode_v2(ptype, 0, 0, b"payload", None, [0; 16]).unwrap();
        let p = decode_v2(&bytes, None).unwrap();
        assert_eq!(p.payload_type, ptype);
        assert!(!p.authenticated && !p.encrypted);
        assert_eq!(p.payload, b"payload");
        assert_eq!(PayloadType::from_byte(ptype.to_byte()), ptype);
    }
    let mut trailing = encode_v2(PayloadType::Rakp1, 0, 0, b"x", None, [0; 16]).unwrap();
    trailing.push(0);
    assert_eq!(
        decode_v2(&trailing, None),
        Err(PacketError::LengthMismatch {
            declared: 1,
            available: 2
        })
    );
    assert_eq!(
        encode_v2(PayloadType::Other(2), 0, 0, b"", None, [0; 16]),
        Err(PacketError::OemPayloadUnsupported)
    );
    assert_eq!(
        encode_v2(PayloadType::Sol, 0, 0, &vec![0; 65536], None, [0; 16]),
        Err(PacketError::PayloadTooLong(65536))
    );
}

#[test]
fn v2_secure_round_trip_all_lengths() {
    for suite in [CipherSuite::Cs3, CipherSuite::Cs17] {
        let k = keys(suite);
        for len in 0..70usize {
            let payload: Vec<u8> = (0..len as u8).collect();
            let bytes = encode_v2(
                PayloadType::IpmiMessage,
                0x1234,
                77,
                &payload,
                Some(&k),
                [len as u8; 16],
            )
            .unwrap();
            // authtype..next-header is a multiple of 4; AuthCode follows.
            assert_eq!((bytes.len() - 4 - suite.integrity_len()) % 4, 0);
            assert_eq!(bytes[5], 0xc0);
            let p = decode_v2(&bytes, Some(&k)).unwrap();
            assert_eq!(
                (p.session_id, p.session_seq, p.authenticated, p.encrypted),
                (0x1234, 77, true, true)
            );
            assert_eq!(p.payload, payload);
        }
    }
}

#[test]
fn v2_tampering_rejected() {
    let k = keys(CipherSuite::Cs17);
    let bytes = encode_v2(
        PayloadType::IpmiMessage,
        9,
        1,
        b"get device id",
        Some(&k),
        [3; 16],
    )
    .unwrap();
    // Every single-bit flip after the RMCP header is caught.
    for i in 4..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x01;
        assert!(decode_v2(&bad, Some(&k)).is_err(), "flip at {i} accepted");
    }
    let mut bad = bytes.clone();
    *bad.last_mut().unwrap() ^= 0x80;
    assert_eq!(
        decode_v2(&bad, Some(&k)),
        Err(PacketError::AuthCodeMismatch)
    );
    // Wrong keys, missing keys.
    assert!(decode_v2(&bytes, Some(&keys(CipherSuite::Cs3))).is_err());
    assert_eq!(decode_v2(&bytes, None), Err(PacketError::NoSessionKeys));
    let other = SessionKeys::from_sik(CipherSuite::Cs17, vec![1; 32]);
    assert_eq!(
        decode_v2(&bytes, Some(&other)),
        Err(PacketError::AuthCodeMismatch)
    );
}

#[test]
fn v2_wrong_confidentiality_pad_rejected() {
    // A correctly authenticated packet whose plaintext pad is wrong.
    let k = keys(CipherSuite::Cs3);
    let mut plain_block = [0xaau8; 16];
    plain_block[14..].copy_from_slice(&[0x07, 0x01]); // pad byte should be 0x01
    let mut body = vec![1u8; 16];
    body.extend_from_slice(&raw_block(k.k2(), [1; 16], plain_block));
    let mut pkt = rmcp_header(CLASS_IPMI).to_vec();
    pkt.extend_from_slice(&[0x06, 0xc0, 1, 0, 0, 0, 1, 0, 0, 0, 32, 0]);
    pkt.extend_from_slice(&body);
    pkt.extend_from_slice(&[0xff, 0xff, 0x02, 0x07]);
    let code = k.integrity_code(&pkt[4..]);
    pkt.extend_from_slice(&code);
    assert_eq!(
        decode_v2(&pkt, Some(&k)),
        Err(PacketError::Decrypt(CryptoError::BadPadByte {
            index: 0,
            found: 0x07,
            expected: 0x01
        }))
    );
}

fn raw_block(k2: &[u8], iv: [u8; 16], block: [u8; 16]) -> Vec<u8> {
    use aes::cipher::{BlockModeEncrypt, KeyIvInit};
    let mut enc = cbc::Encryptor::<aes::Aes128>::new_from_slices(&k2[..16], &iv).unwrap();
    let mut b = block.into();
    enc.encrypt_block(&mut b);
    b.to_vec()
}

#[test]
fn v2_bad_trailers() {
    let k = keys(CipherSuite::Cs3);
    let good = encode_v2(PayloadType::IpmiMessage, 1, 1, b"abc", Some(&k), [0; 16]).unwrap();
    let trailer_at = 16 + 32;
    let pad = usize::from(good[good.len() - 14]);
    let mut bad = good.clone();
    bad[trailer_at + pad + 1] = 0x06;
    let code = k.integrity_code(&bad[4..trailer_at + pad + 2]);
    bad.truncate(trailer_at + pad + 2);
    bad.extend_from_slice(&code);
    assert_eq!(
        decode_v2(&bad, Some(&k)),
        Err(PacketError::BadTrailer("next header is not 0x07"))
    );
    let mut bad = good.clone();
    bad[trailer_at + pad] ^= 1;
    assert!(matches!(
        decode_v2(&bad, Some(&k)),
        Err(PacketError::BadTrailer(_))
    ));
}

#[test]
fn truncations_rejected_without_panic() {
    let k = keys(CipherSuite::Cs3);
    let samples = [
        AsfPing { tag: 1 }.encode(),
        AsfPong::answering(AsfPing { tag: 1 }).encode(),
        encode_v15(1, 2, &[0x20, 0x18, 0xc8, 0x81, 0, 0x38, 0x8e, 0x04, 0xb5]).unwrap(),
        encode_v2(PayloadType::Rakp2, 0, 0, &[0; 40], None, [0; 16]).unwrap(),
        encode_v2(PayloadType::IpmiMessage, 1, 1, &[0; 20], Some(&k), [9; 16]).unwrap(),
    ];
    for s in &samples {
        assert!(decode_incoming(s, Some(&k)).is_ok());
        for cut in 0..s.len() {
            assert!(
                decode_incoming(&s[..cut], Some(&k)).is_err(),
                "prefix {cut} of {s:02x?}"
            );
            let _ = decode_v2(&s[..cut], Some(&k));
            let _ = decode_v15(&s[..cut]);
            let _ = decode_asf(&s[..cut]);
        }
    }
}

#[test]
fn lcg_fuzz_decoders() {
    let k = keys(CipherSuite::Cs17);
    let seed = encode_v2(PayloadType::IpmiMessage, 1, 1, &[7; 9], Some(&k), [2; 16]).unwrap();
    let mut rng = Lcg(42);
    for round in 0..20_000 {
        let mut data = if round % 2 == 0 {
            let len = usize::from(rng.next()) % 90;
            let mut d: Vec<u8> = (0..len).map(|_| rng.next()).collect();
            // Often give it a valid-looking RMCP header so deeper code runs.
            if d.len() >= 5 && rng.next() & 1 == 0 {
                d[..4].copy_from_slice(&[0x06, 0, 0xff, [0x06, 0x07][usize::from(rng.next() & 1)]]);
                d[4] = [0x00, 0x06][usize::from(rng.next() & 1)];
            }
            d
        } else {
            seed.clone()
        };
        if round % 2 == 1 {
            for _ in 0..1 + rng.next() % 4 {
                let i = usize::from(rng.next()) % data.len();
                data[i] = rng.next();
            }
        }
        let _ = decode_incoming(&data, Some(&k));
        let _ = decode_incoming(&data, None);
    }
}
