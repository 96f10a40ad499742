//! The IPMI RMCP+ codec per datagram: `encode_v2` / `decode_v2` (and `decode_incoming`) of an
//! authenticated and encrypted IPMI message under cipher suites 3 (HMAC-SHA1-96, AES-CBC-128) and
//! 17 (HMAC-SHA256-128, AES-CBC-128), and the IPMI LAN message framing (`Request` / `Response`
//! encode and decode) inside it. Throughput is in datagrams or messages.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipmi_wire::crypto::{CipherSuite, SessionKeys};
use ipmi_wire::message::{Request, Response};
use ipmi_wire::packet::{Incoming, PayloadType, decode_incoming, decode_v2, encode_v2};

const SESSION_ID: u32 = 0x0203_0405;
const IV: [u8; 16] = [0xa5; 16];

/// Keys of an established session (a fixed SIK; the codec cost does not depend on its value).
fn keys(suite: CipherSuite) -> SessionKeys {
    SessionKeys::from_sik(suite, vec![0x5c; suite.digest_len()])
}

/// Get Sensor Reading (netFn S/E 0x04, cmd 0x2d) of sensor 0x30: what a poll sends most.
fn request() -> Request {
    Request::new(0x04, 0x2d, 17, vec![0x30])
}

/// A Get SDR (netFn storage 0x0a, cmd 0x23) answer carrying a 28-byte chunk of a full sensor
/// record: the largest reply a poll routinely decodes.
fn sdr_request() -> Request {
    Request::new(0x0a, 0x23, 18, vec![0x00, 0x00, 0x2a, 0x00, 0x00, 0x1c])
}

fn sdr_response() -> Response {
    let mut data = vec![0x2b, 0x00]; // next record id
    data.extend((0u8..28).map(|b| b.wrapping_mul(37)));
    Response::for_request(&sdr_request(), 0x00, data)
}

fn bench_packets(c: &mut Criterion) {
    let mut g = c.benchmark_group("rmcp");
    g.throughput(Throughput::Elements(1));
    let req = request().encode();
    let rsp = sdr_response().encode();
    for suite in [CipherSuite::Cs3, CipherSuite::Cs17] {
        let k = keys(suite);
        let id = suite.id();
        let sealed = encode_v2(PayloadType::IpmiMessage, SESSION_ID, 9, &rsp, Some(&k), IV)
            .expect("an IPMI response fits one datagram");
        let back = decode_v2(&sealed, Some(&k)).expect("our own datagram decodes");
        assert!(back.authenticated && back.encrypted && back.payload == rsp);
        if id == 17 {
            eprintln!(
                "rmcp: request payload {} bytes, response payload {} bytes, sealed response {} bytes (cs17)",
                req.len(),
                rsp.len(),
                sealed.len()
            );
        }
        g.bench_function(format!("encode_v2/cs{id}"), |b| {
            b.iter(|| {
                encode_v2(
                    PayloadType::IpmiMessage,
                    SESSION_ID,
                    black_box(9),
                    black_box(&req),
                    Some(&k),
                    IV,
                )
                .expect("encodes")
            })
        });
        g.bench_function(format!("decode_v2/cs{id}"), |b| {
            b.iter(|| decode_v2(black_box(&sealed), Some(&k)).expect("decodes"))
        });
        g.bench_function(format!("decode_incoming/cs{id}"), |b| {
            b.iter(|| match decode_incoming(black_box(&sealed), Some(&k)) {
                Ok(Incoming::V2(p)) => p,
                other => panic!("not an RMCP+ packet: {other:?}"),
            })
        });
    }
    g.finish();
}

fn bench_messages(c: &mut Criterion) {
    let mut g = c.benchmark_group("ipmi_message");
    g.throughput(Throughput::Elements(1));
    let req = request();
    let req_bytes = req.encode();
    let rsp = sdr_response();
    let rsp_bytes = rsp.encode();
    g.bench_function("request_encode", |b| b.iter(|| black_box(&req).encode()));
    g.bench_function("request_decode", |b| {
        b.iter(|| Request::decode(black_box(&req_bytes)).expect("decodes"))
    });
    g.bench_function("response_encode", |b| b.iter(|| black_box(&rsp).encode()));
    g.bench_function("response_decode", |b| {
        b.iter(|| Response::decode(black_box(&rsp_bytes)).expect("decodes"))
    });
    g.finish();
}

criterion_group!(benches, bench_packets, bench_messages);
criterion_main!(benches);
