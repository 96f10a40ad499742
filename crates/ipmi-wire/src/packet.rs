//! RMCP datagram framing (IPMI 2.0 section 13): the RMCP header, ASF presence
//! ping/pong, the IPMI 1.5 session wrapper (auth type NONE, used before a
//! session exists) and the IPMI 2.0 / RMCP+ session wrapper with its
//! integrity trailer (AuthCode) and encrypted payloads.
//!
//! Encoders build whole UDP payloads; decoders take whole UDP payloads and
//! never panic. Session bookkeeping (sequence windows, IDs) is the caller's.

use super::crypto::{CryptoError, SessionKeys, ct_eq};

mod asf;
pub use asf::{Asf, AsfPing, AsfPong, decode_asf};

/// UDP port of RMCP / RMCP+.
pub const RMCP_PORT: u16 = 623;
/// RMCP version 1.0.
pub const RMCP_VERSION: u8 = 0x06;
/// RMCP sequence number meaning "no RMCP ACK" (always used for IPMI).
pub const RMCP_SEQ_NO_ACK: u8 = 0xff;
/// RMCP message class ASF.
pub const CLASS_ASF: u8 = 0x06;
/// RMCP message class IPMI.
pub const CLASS_IPMI: u8 = 0x07;
/// ASF IANA enterprise number (4542).
pub const ASF_IANA: u32 = 4542;
/// Session auth type / format byte of an RMCP+ packet.
pub const AUTH_TYPE_RMCP_PLUS: u8 = 0x06;
/// Session auth type NONE (IPMI 1.5).
pub const AUTH_TYPE_NONE: u8 = 0x00;
/// Payload-type bit: payload is encrypted.
pub const PAYLOAD_ENCRYPTED: u8 = 0x80;
/// Payload-type bit: packet carries an AuthCode.
pub const PAYLOAD_AUTHENTICATED: u8 = 0x40;
/// "Next header" byte of the integrity trailer.
pub const NEXT_HEADER: u8 = 0x07;

const V2_HEADER_LEN: usize = 16; // RMCP 4 + authtype 1 + ptype 1 + sid 4 + seq 4 + len 2
const V15_HEADER_LEN: usize = 14; // RMCP 4 + authtype 1 + seq 4 + sid 4 + len 1

/// Errors of the packet module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("datagram is {0} bytes, shorter than the {1}-byte header it needs")]
    Truncated(usize, usize),
    #[error("RMCP version {0:#04x}, expected 0x06")]
    BadRmcpVersion(u8),
    #[error("RMCP message class {0:#04x} is neither ASF (0x06) nor IPMI (0x07)")]
    BadRmcpClass(u8),
    #[error("ASF IANA number {0}, expected 4542")]
    BadAsfIana(u32),
    #[error("ASF message type {0:#04x} is neither ping (0x80) nor pong (0x40)")]
    BadAsfType(u8),
    #[error("ASF data length {0} is not the expected {1}")]
    BadAsfLength(u8, u8),
    #[error("session auth type {0:#04x} is not supported (only NONE 0x00 and RMCP+ 0x06)")]
    UnsupportedAuthType(u8),
    #[error("payload length field says {declared} bytes but {available} are present")]
    LengthMismatch { declared: usize, available: usize },
    #[error("payload is {0} bytes, more than the length field can carry")]
    PayloadTooLong(usize),
    #[error("OEM explicit payloads (type 0x02) are not supported")]
    OemPayloadUnsupported,
    #[error("packet is authenticated/encrypted but no session keys were given")]
    NoSessionKeys,
    #[error("integrity trailer is malformed: {0}")]
    BadTrailer(&'static str),
    #[error("AuthCode does not match: packet was altered or keys are wrong")]
    AuthCodeMismatch,
    #[error("cannot decrypt payload: {0}")]
    Decrypt(#[from] CryptoError),
}

fn rmcp_header(class: u8) -> [u8; 4] {
    [RMCP_VERSION, 0x00, RMCP_SEQ_NO_ACK, class]
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)?.try_into().ok().map(u32::from_le_bytes)
}

/// Checks the RMCP header; returns the message class.
fn check_rmcp(bytes: &[u8]) -> Result<u8, PacketError> {
    let [version, _reserved, _seq, class] = match bytes.first_chunk::<4>() {
        Some(h) => *h,
        None => return Err(PacketError::Truncated(bytes.len(), 4)),
    };
    if version != RMCP_VERSION {
        return Err(PacketError::BadRmcpVersion(version));
    }
    match class & 0x0f {
        CLASS_ASF | CLASS_IPMI if class & 0x80 == 0 => Ok(class),
        _ => Err(PacketError::BadRmcpClass(class)),
    }
}

/// An IPMI 1.5 session packet with auth type NONE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V15Packet {
    pub session_seq: u32,
    pub session_id: u32,
    /// The IPMI message (see `message`).
    pub payload: Vec<u8>,
}

/// Encode an IPMI 1.5 packet with auth type NONE (no AuthCode field).
pub fn encode_v15(
    session_seq: u32,
    session_id: u32,
    payload: &[u8],
) -> Result<Vec<u8>, PacketError> {
    let len =
        u8::try_from(payload.len()).map_err(|_| PacketError::PayloadTooLong(payload.len()))?;
    let mut out = rmcp_header(CLASS_IPMI).to_vec();
    out.push(AUTH_TYPE_NONE);
    out.extend_from_slice(&session_seq.to_le_bytes());
    out.extend_from_slice(&session_id.to_le_bytes());
    out.push(len);
    out.extend_from_slice(payload);
    Ok(out)
}

/// Decode an IPMI 1.5 packet with auth type NONE. A single trailing legacy
/// pad byte (0x00) is tolerated.
pub fn decode_v15(bytes: &[u8]) -> Result<V15Packet, PacketError> {
    if check_rmcp(bytes)? & 0x0f != CLASS_IPMI {
        return Err(PacketError::BadRmcpClass(bytes[3]));
    }
    let Some(h) = bytes.get(4..V15_HEADER_LEN) else {
        return Err(PacketError::Truncated(bytes.len(), V15_HEADER_LEN));
    };
    if h[0] != AUTH_TYPE_NONE {
        return Err(PacketError::UnsupportedAuthType(h[0]));
    }
    let declared = usize::from(h[9]);
    let available = bytes.len() - V15_HEADER_LEN;
    let trailer_ok =
        available == declared || (available == declared + 1 && bytes.last() == Some(&0));
    if !trailer_ok {
        return Err(PacketError::LengthMismatch {
            declared,
            available,
        });
    }
    Ok(V15Packet {
        session_seq: u32_at(bytes, 5).unwrap_or_default(),
        session_id: u32_at(bytes, 9).unwrap_or_default(),
        payload: bytes[V15_HEADER_LEN..V15_HEADER_LEN + declared].to_vec(),
    })
}

/// RMCP+ payload types (low 6 bits of the payload-type byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadType {
    IpmiMessage,
    Sol,
    OpenSessionRequest,
    OpenSessionResponse,
    Rakp1,
    Rakp2,
    Rakp3,
    Rakp4,
    /// Any other 6-bit value (OEM 0x20-0x27, reserved, ...). 0x02 (OEM
    /// explicit) is rejected by the codec because it carries extra fields.
    Other(u8),
}

impl PayloadType {
    pub fn to_byte(self) -> u8 {
        match self {
            Self::IpmiMessage => 0x00,
            Self::Sol => 0x01,
            Self::OpenSessionRequest => 0x10,
            Self::OpenSessionResponse => 0x11,
            Self::Rakp1 => 0x12,
            Self::Rakp2 => 0x13,
            Self::Rakp3 => 0x14,
            Self::Rakp4 => 0x15,
            Self::Other(b) => b & 0x3f,
        }
    }

    pub fn from_byte(b: u8) -> Self {
        match b & 0x3f {
            0x00 => Self::IpmiMessage,
            0x01 => Self::Sol,
            0x10 => Self::OpenSessionRequest,
            0x11 => Self::OpenSessionResponse,
            0x12 => Self::Rakp1,
            0x13 => Self::Rakp2,
            0x14 => Self::Rakp3,
            0x15 => Self::Rakp4,
            other => Self::Other(other),
        }
    }
}

/// A decoded RMCP+ packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub payload_type: PayloadType,
    pub session_id: u32,
    pub session_seq: u32,
    /// The packet carried an AuthCode, and it was verified.
    pub authenticated: bool,
    /// The payload was encrypted, and was decrypted.
    pub encrypted: bool,
    /// Plaintext payload.
    pub payload: Vec<u8>,
}

/// Encode an RMCP+ packet. With `keys` the payload is encrypted with K2
/// (using `rng_iv`, which the caller draws from a CSPRNG) and the packet is
/// authenticated with K1; without keys it is sent in the clear (pre-session
/// Open Session / RAKP messages use session ID 0 and sequence 0).
pub fn encode_v2(
    payload_type: PayloadType,
    session_id: u32,
    seq: u32,
    payload: &[u8],
    keys: Option<&SessionKeys>,
    rng_iv: [u8; 16],
) -> Result<Vec<u8>, PacketError> {
    if payload_type.to_byte() == 0x02 {
        return Err(PacketError::OemPayloadUnsupported);
    }
    let body = match keys {
        Some(k) => k.encrypt(rng_iv, payload),
        None => payload.to_vec(),
    };
    let len = u16::try_from(body.len()).map_err(|_| PacketError::PayloadTooLong(payload.len()))?;
    let flags = if keys.is_some() {
        PAYLOAD_ENCRYPTED | PAYLOAD_AUTHENTICATED
    } else {
        0
    };
    let mut out = rmcp_header(CLASS_IPMI).to_vec();
    out.push(AUTH_TYPE_RMCP_PLUS);
    out.push(flags | payload_type.to_byte());
    out.extend_from_slice(&session_id.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&body);
    if let Some(k) = keys {
        // Integrity pad: authtype..next-header must be a multiple of 4.
        let covered = out.len() - 4 + 2;
        let pad = (4 - covered % 4) % 4;
        out.extend(std::iter::repeat_n(0xff, pad));
        out.push(pad as u8);
        out.push(NEXT_HEADER);
        let code = k.integrity_code(&out[4..]);
        out.extend_from_slice(&code);
    }
    Ok(out)
}

/// Decode an RMCP+ packet, verifying the AuthCode (constant time) and
/// decrypting the payload when the packet says so; either needs `keys`.
/// A packet without the authenticated/encrypted bits decodes even when keys
/// are given: inside an established session the caller must reject it
/// (`Packet::authenticated` / `encrypted` say what was checked).
pub fn decode_v2(bytes: &[u8], keys: Option<&SessionKeys>) -> Result<Packet, PacketError> {
    if check_rmcp(bytes)? & 0x0f != CLASS_IPMI {
        return Err(PacketError::BadRmcpClass(bytes[3]));
    }
    let Some(h) = bytes.get(4..V2_HEADER_LEN) else {
        return Err(PacketError::Truncated(bytes.len(), V2_HEADER_LEN));
    };
    if h[0] & 0x0f != AUTH_TYPE_RMCP_PLUS {
        return Err(PacketError::UnsupportedAuthType(h[0]));
    }
    let ptype = h[1];
    let (encrypted, authenticated) = (
        ptype & PAYLOAD_ENCRYPTED != 0,
        ptype & PAYLOAD_AUTHENTICATED != 0,
    );
    if ptype & 0x3f == 0x02 {
        return Err(PacketError::OemPayloadUnsupported);
    }
    let declared = usize::from(u16::from_le_bytes([h[10], h[11]]));
    let available = bytes.len() - V2_HEADER_LEN;
    let Some(body) = bytes.get(V2_HEADER_LEN..V2_HEADER_LEN + declared) else {
        return Err(PacketError::LengthMismatch {
            declared,
            available,
        });
    };
    let keys = match keys {
        Some(k) => Some(k),
        None if encrypted || authenticated => return Err(PacketError::NoSessionKeys),
        None => None,
    };
    if let (true, Some(k)) = (authenticated, keys) {
        let icv_len = k.suite().integrity_len();
        let rest = available - declared;
        let Some(pad) = rest.checked_sub(2 + icv_len) else {
            return Err(PacketError::BadTrailer(
                "too short for pad length, next header and AuthCode",
            ));
        };
        let trailer_at = V2_HEADER_LEN + declared;
        if pad > 3 {
            return Err(PacketError::BadTrailer("integrity pad longer than 3 bytes"));
        }
        if usize::from(bytes[trailer_at + pad]) != pad {
            return Err(PacketError::BadTrailer(
                "pad length byte does not match the pad",
            ));
        }
        if bytes[trailer_at + pad + 1] != NEXT_HEADER {
            return Err(PacketError::BadTrailer("next header is not 0x07"));
        }
        let code_at = trailer_at + pad + 2;
        if !ct_eq(&k.integrity_code(&bytes[4..code_at]), &bytes[code_at..]) {
            return Err(PacketError::AuthCodeMismatch);
        }
    } else if available != declared {
        return Err(PacketError::LengthMismatch {
            declared,
            available,
        });
    }
    let payload = match (encrypted, keys) {
        (true, Some(k)) => k.decrypt(body)?,
        _ => body.to_vec(),
    };
    Ok(Packet {
        payload_type: PayloadType::from_byte(ptype),
        session_id: u32_at(h, 2).unwrap_or_default(),
        session_seq: u32_at(h, 6).unwrap_or_default(),
        authenticated,
        encrypted,
        payload,
    })
}

/// Any datagram that can arrive on port 623.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    AsfPing(AsfPing),
    AsfPong(AsfPong),
    V15(V15Packet),
    V2(Packet),
}

/// Classify and decode one datagram (ASF, IPMI 1.5 auth NONE, or RMCP+).
pub fn decode_incoming(bytes: &[u8], keys: Option<&SessionKeys>) -> Result<Incoming, PacketError> {
    if check_rmcp(bytes)? & 0x0f == CLASS_ASF {
        return Ok(match decode_asf(bytes)? {
            Asf::Ping(p) => Incoming::AsfPing(p),
            Asf::Pong(p) => Incoming::AsfPong(p),
        });
    }
    match bytes.get(4) {
        Some(&AUTH_TYPE_NONE) => decode_v15(bytes).map(Incoming::V15),
        Some(b) if b & 0x0f == AUTH_TYPE_RMCP_PLUS => decode_v2(bytes, keys).map(Incoming::V2),
        Some(&b) => Err(PacketError::UnsupportedAuthType(b)),
        None => Err(PacketError::Truncated(bytes.len(), 5)),
    }
}

#[cfg(test)]
mod tests;
