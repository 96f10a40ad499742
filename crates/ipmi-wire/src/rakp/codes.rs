//! The small typed fields of the RMCP+ session messages: privilege levels,
//! the RMCP+ / RAKP status codes (IPMI 2.0 table 13-15) and the three 8-byte
//! algorithm payloads of Open Session.

use super::{NAME_ONLY_LOOKUP, RakpError, need};
use crate::crypto::CipherSuite;

/// Privilege levels. `Highest` (0) is only meaningful as the requested maximum
/// in Open Session / RAKP 1: "the highest level the user has".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Privilege {
    Highest = 0,
    Callback = 1,
    User = 2,
    Operator = 3,
    Administrator = 4,
    Oem = 5,
}

impl Privilege {
    pub fn from_byte(b: u8) -> Result<Self, RakpError> {
        Ok(match b & 0x0f {
            0 => Self::Highest,
            1 => Self::Callback,
            2 => Self::User,
            3 => Self::Operator,
            4 => Self::Administrator,
            5 => Self::Oem,
            _ => return Err(RakpError::BadPrivilege(b)),
        })
    }

    /// RAKP 1 role byte: this level, plus 0x10 for name-only lookup.
    pub fn role_byte(self, name_only_lookup: bool) -> u8 {
        self as u8
            | if name_only_lookup {
                NAME_ONLY_LOOKUP
            } else {
                0
            }
    }
}

/// RMCP+ and RAKP message status codes (table 13-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RmcpStatus {
    Ok,
    InsufficientResources,
    InvalidSessionId,
    InvalidPayloadType,
    InvalidAuthAlgorithm,
    InvalidIntegrityAlgorithm,
    NoMatchingAuthPayload,
    NoMatchingIntegrityPayload,
    InactiveSessionId,
    InvalidRole,
    UnauthorizedRole,
    InsufficientResourcesForRole,
    InvalidNameLength,
    UnauthorizedName,
    UnauthorizedGuid,
    InvalidIntegrityCheckValue,
    InvalidConfidentialityAlgorithm,
    NoCipherSuiteMatch,
    IllegalParameter,
    Other(u8),
}

const STATUS_TABLE: [(RmcpStatus, &str); 19] = [
    (RmcpStatus::Ok, "no errors"),
    (
        RmcpStatus::InsufficientResources,
        "insufficient resources to create a session",
    ),
    (RmcpStatus::InvalidSessionId, "invalid session ID"),
    (RmcpStatus::InvalidPayloadType, "invalid payload type"),
    (
        RmcpStatus::InvalidAuthAlgorithm,
        "invalid authentication algorithm",
    ),
    (
        RmcpStatus::InvalidIntegrityAlgorithm,
        "invalid integrity algorithm",
    ),
    (
        RmcpStatus::NoMatchingAuthPayload,
        "no matching authentication payload",
    ),
    (
        RmcpStatus::NoMatchingIntegrityPayload,
        "no matching integrity payload",
    ),
    (RmcpStatus::InactiveSessionId, "inactive session ID"),
    (RmcpStatus::InvalidRole, "invalid role"),
    (
        RmcpStatus::UnauthorizedRole,
        "unauthorized role or privilege level requested",
    ),
    (
        RmcpStatus::InsufficientResourcesForRole,
        "insufficient resources to create a session at the requested role",
    ),
    (RmcpStatus::InvalidNameLength, "invalid name length"),
    (RmcpStatus::UnauthorizedName, "unauthorized name"),
    (RmcpStatus::UnauthorizedGuid, "unauthorized GUID"),
    (
        RmcpStatus::InvalidIntegrityCheckValue,
        "invalid integrity check value",
    ),
    (
        RmcpStatus::InvalidConfidentialityAlgorithm,
        "invalid confidentiality algorithm",
    ),
    (
        RmcpStatus::NoCipherSuiteMatch,
        "no cipher suite match with proposed security algorithms",
    ),
    (
        RmcpStatus::IllegalParameter,
        "illegal or unrecognized parameter",
    ),
];

impl RmcpStatus {
    pub fn from_byte(b: u8) -> Self {
        STATUS_TABLE
            .get(usize::from(b))
            .map(|(s, _)| *s)
            .unwrap_or(Self::Other(b))
    }

    pub fn to_byte(self) -> u8 {
        match self {
            Self::Other(b) => b,
            known => STATUS_TABLE
                .iter()
                .position(|(s, _)| *s == known)
                .unwrap_or(0xff) as u8,
        }
    }

    pub fn is_ok(self) -> bool {
        self == Self::Ok
    }
}

impl std::fmt::Display for RmcpStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match STATUS_TABLE.iter().find(|(s, _)| s == self) {
            Some((_, text)) => write!(f, "{text} ({:#04x})", self.to_byte()),
            None => write!(f, "unknown RMCP+ status {:#04x}", self.to_byte()),
        }
    }
}

/// The three proposed/selected algorithms (auth, integrity, confidentiality).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Algorithms {
    pub auth: u8,
    pub integrity: u8,
    pub confidentiality: u8,
}

impl Algorithms {
    pub fn of_suite(suite: CipherSuite) -> Self {
        Self {
            auth: suite.auth_algorithm(),
            integrity: suite.integrity_algorithm(),
            confidentiality: suite.confidentiality_algorithm(),
        }
    }

    /// The supported cipher suite these algorithms form, if any.
    pub fn suite(&self) -> Option<CipherSuite> {
        CipherSuite::from_algorithms(self.auth, self.integrity, self.confidentiality)
    }

    pub(super) fn encode_into(&self, out: &mut Vec<u8>) {
        for (ptype, alg) in [
            (0u8, self.auth),
            (1, self.integrity),
            (2, self.confidentiality),
        ] {
            out.extend_from_slice(&[ptype, 0, 0, 0x08, alg & 0x3f, 0, 0, 0]);
        }
    }

    /// Decode the 24 bytes of three algorithm payloads.
    pub(super) fn decode(b: &[u8]) -> Result<Self, RakpError> {
        need("algorithm payloads", b, 24)?;
        let mut algs = [0u8; 3];
        for (index, (chunk, alg)) in b.chunks_exact(8).zip(algs.iter_mut()).enumerate() {
            if chunk[0] != index as u8 {
                return Err(RakpError::BadAlgorithmPayloadType {
                    index,
                    found: chunk[0],
                    expected: index as u8,
                });
            }
            if chunk[3] != 0x08 {
                return Err(RakpError::BadAlgorithmPayloadLength {
                    index,
                    found: chunk[3],
                });
            }
            *alg = chunk[4] & 0x3f;
        }
        Ok(Self {
            auth: algs[0],
            integrity: algs[1],
            confidentiality: algs[2],
        })
    }
}
