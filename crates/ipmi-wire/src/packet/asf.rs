//! ASF presence ping / pong (RMCP message class 0x06), used to discover that
//! a host speaks IPMI before opening a session.

use super::{ASF_IANA, CLASS_ASF, PacketError, check_rmcp, rmcp_header};

const ASF_PING: u8 = 0x80;
const ASF_PONG: u8 = 0x40;

/// ASF Presence Ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsfPing {
    pub tag: u8,
}

/// ASF Presence Pong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsfPong {
    pub tag: u8,
    pub iana: u32,
    pub oem: u32,
    /// Bit 7: IPMI supported; low bits: ASF version (1 = 1.0).
    pub supported_entities: u8,
    pub supported_interactions: u8,
}

impl AsfPong {
    /// The pong a BMC sends for `ping`: IPMI supported, ASF 1.0.
    pub fn answering(ping: AsfPing) -> Self {
        Self {
            tag: ping.tag,
            iana: ASF_IANA,
            oem: 0,
            supported_entities: 0x81,
            supported_interactions: 0,
        }
    }

    /// Bit 7 of the supported entities: the peer speaks IPMI.
    pub fn supports_ipmi(&self) -> bool {
        self.supported_entities & 0x80 != 0
    }
}

fn asf_header(kind: u8, tag: u8, data_len: u8) -> Vec<u8> {
    let mut out = rmcp_header(CLASS_ASF).to_vec();
    out.extend_from_slice(&ASF_IANA.to_be_bytes());
    out.extend_from_slice(&[kind, tag, 0x00, data_len]);
    out
}

impl AsfPing {
    pub fn encode(&self) -> Vec<u8> {
        asf_header(ASF_PING, self.tag, 0)
    }
}

impl AsfPong {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = asf_header(ASF_PONG, self.tag, 16);
        out.extend_from_slice(&self.iana.to_be_bytes());
        out.extend_from_slice(&self.oem.to_be_bytes());
        out.extend_from_slice(&[self.supported_entities, self.supported_interactions]);
        out.extend_from_slice(&[0; 6]);
        out
    }
}

/// An ASF message: ping or pong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asf {
    Ping(AsfPing),
    Pong(AsfPong),
}

/// Decode an ASF-class RMCP datagram.
pub fn decode_asf(bytes: &[u8]) -> Result<Asf, PacketError> {
    if check_rmcp(bytes)? & 0x0f != CLASS_ASF {
        return Err(PacketError::BadRmcpClass(bytes[3]));
    }
    let Some(h) = bytes.get(4..12) else {
        return Err(PacketError::Truncated(bytes.len(), 12));
    };
    let iana = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    if iana != ASF_IANA {
        return Err(PacketError::BadAsfIana(iana));
    }
    let (kind, tag, data_len) = (h[4], h[5], h[7]);
    match kind {
        ASF_PING if data_len == 0 => Ok(Asf::Ping(AsfPing { tag })),
        ASF_PING => Err(PacketError::BadAsfLength(data_len, 0)),
        ASF_PONG if data_len != 16 => Err(PacketError::BadAsfLength(data_len, 16)),
        ASF_PONG => {
            let Some(d) = bytes.get(12..28) else {
                return Err(PacketError::Truncated(bytes.len(), 28));
            };
            Ok(Asf::Pong(AsfPong {
                tag,
                iana: u32::from_be_bytes([d[0], d[1], d[2], d[3]]),
                oem: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
                supported_entities: d[8],
                supported_interactions: d[9],
            }))
        }
        other => Err(PacketError::BadAsfType(other)),
    }
}
