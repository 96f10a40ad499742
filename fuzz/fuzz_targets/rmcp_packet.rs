//! Fuzzes the RMCP / RMCP+ wire decoders: `decode_incoming` without keys, `decode_v2` with fixed
//! cipher suite 3 and 17 session keys (also on packets whose AuthCode is made valid, so the
//! decryption path is reached), AES-CBC payload decryption, the encode/decode round trip, the
//! Open Session / RAKP 1-4 decoders and IPMI LAN request/response framing. A panic or a failed
//! round trip is a bug in the crate.
#![no_main]

use std::sync::LazyLock;

use ipmi_wire::crypto::{CipherSuite, SessionKeys};
use ipmi_wire::message::{Request, Response};
use ipmi_wire::packet::{
    AUTH_TYPE_RMCP_PLUS, CLASS_IPMI, Incoming, NEXT_HEADER, PAYLOAD_AUTHENTICATED,
    PAYLOAD_ENCRYPTED, PayloadType, RMCP_SEQ_NO_ACK, RMCP_VERSION, decode_asf, decode_incoming,
    decode_v2, decode_v15, encode_v2,
};
use ipmi_wire::rakp::{
    OpenSessionRequest, OpenSessionResponse, Rakp1, Rakp2, Rakp3, Rakp4,
};
use libfuzzer_sys::fuzz_target;

/// Fixed session keys for cipher suites 3 and 17.
static KEYS: LazyLock<[SessionKeys; 2]> = LazyLock::new(|| {
    [
        SessionKeys::from_sik(CipherSuite::Cs3, (1..=20).collect()),
        SessionKeys::from_sik(CipherSuite::Cs17, (1..=32).collect()),
    ]
});

/// Every decoder of a session payload; decoded LAN messages must re-encode to the same bytes.
fn payloads(b: &[u8]) {
    let _ = OpenSessionRequest::decode(b);
    let _ = OpenSessionResponse::decode(b);
    let _ = Rakp1::decode(b);
    let _ = Rakp2::decode(b);
    let _ = Rakp3::decode(b);
    let _ = Rakp4::decode(b);
    if let Ok(r) = Request::decode(b) {
        assert_eq!(r.encode(), b, "request round trip");
    }
    if let Ok(r) = Response::decode(b) {
        assert_eq!(r.encode(), b, "response round trip");
        let _ = r.answers(&Request::new(r.net_fn & !1, r.cmd, r.rq_seq, Vec::new()));
    }
}

fn incoming(r: Result<Incoming, impl std::fmt::Debug>) {
    match r {
        Ok(Incoming::V15(p)) => payloads(&p.payload),
        Ok(Incoming::V2(p)) => payloads(&p.payload),
        Ok(Incoming::AsfPing(_) | Incoming::AsfPong(_)) | Err(_) => {}
    }
}

/// An authenticated and encrypted RMCP+ packet whose body is `body` as it stands (taken as IV +
/// ciphertext), with a correct integrity trailer, so `decode_v2` gets to decrypting it.
fn forge(keys: &SessionKeys, ptype: u8, body: &[u8]) -> Vec<u8> {
    let body = &body[..body.len().min(usize::from(u16::MAX))];
    let mut out = vec![
        RMCP_VERSION,
        0,
        RMCP_SEQ_NO_ACK,
        CLASS_IPMI,
        AUTH_TYPE_RMCP_PLUS,
    ];
    out.push(PAYLOAD_ENCRYPTED | PAYLOAD_AUTHENTICATED | (ptype & 0x3f));
    out.extend_from_slice(&0x0102_0304u32.to_le_bytes());
    out.extend_from_slice(&7u32.to_le_bytes());
    out.extend_from_slice(&(body.len() as u16).to_le_bytes());
    out.extend_from_slice(body);
    let pad = (4 - (out.len() - 4 + 2) % 4) % 4;
    out.extend(std::iter::repeat_n(0xff, pad));
    out.push(pad as u8);
    out.push(NEXT_HEADER);
    let code = keys.integrity_code(&out[4..]);
    out.extend_from_slice(&code);
    out
}

fuzz_target!(|data: &[u8]| {
    payloads(data);
    incoming(decode_incoming(data, None));
    let _ = decode_asf(data);
    let _ = decode_v15(data);
    let _ = decode_v2(data, None);
    let ptype = data.first().copied().unwrap_or(0);
    let iv: [u8; 16] = std::array::from_fn(|i| data.get(i).copied().unwrap_or(0x5a));
    for keys in KEYS.iter() {
        incoming(decode_incoming(data, Some(keys)));
        if let Ok(plain) = keys.decrypt(data) {
            payloads(&plain);
        }
        match decode_v2(&forge(keys, ptype, data), Some(keys)) {
            Ok(p) => {
                assert!(p.authenticated && p.encrypted);
                payloads(&p.payload);
            }
            Err(e) => {
                // Only the payload type (OEM explicit) or the ciphertext may be refused.
                assert!(
                    matches!(
                        e,
                        ipmi_wire::packet::PacketError::Decrypt(_)
                            | ipmi_wire::packet::PacketError::OemPayloadUnsupported
                    ),
                    "{e:?}"
                );
            }
        }
        // Our own packets decode to what was sent.
        let payload = data.get(1..).unwrap_or_default();
        let pt = PayloadType::from_byte(ptype);
        if let Ok(pkt) = encode_v2(pt, 0x0a0b_0c0d, 42, payload, Some(keys), iv) {
            let p = decode_v2(&pkt, Some(keys)).expect("own packet decodes");
            assert_eq!((p.payload.as_slice(), p.payload_type), (payload, pt));
            assert_eq!((p.session_id, p.session_seq), (0x0a0b_0c0d, 42));
        }
    }
    if let Ok(pkt) = encode_v2(PayloadType::from_byte(ptype), 1, 2, data, None, iv) {
        let p = decode_v2(&pkt, None).expect("own clear packet decodes");
        assert_eq!(p.payload, data);
    }
});
