//! RMCP+ session establishment messages (IPMI 2.0 sections 13.17-13.23):
//! Open Session Request/Response and RAKP Messages 1-4 as typed structs with
//! `encode()`/`decode()` for both directions, the RMCP+ status codes, the
//! privilege levels and the 8-byte algorithm payloads.
//!
//! Computing and checking the auth codes is `crypto`'s job; here they are bytes.

mod codes;
pub use codes::{Algorithms, Privilege, RmcpStatus};

/// RAKP 1 role-byte bit: look the user up by name only (not name + privilege).
pub const NAME_ONLY_LOOKUP: u8 = 0x10;

/// Errors of the rakp module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RakpError {
    #[error("{what} is {len} bytes, at least {min} are needed")]
    Truncated {
        what: &'static str,
        len: usize,
        min: usize,
    },
    #[error("{what} is {len} bytes, at most {max} are allowed")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("algorithm payload {index} has type {found:#04x}, expected {expected:#04x}")]
    BadAlgorithmPayloadType {
        index: usize,
        found: u8,
        expected: u8,
    },
    #[error("algorithm payload {index} has length {0:#04x}, expected 0x08", .found)]
    BadAlgorithmPayloadLength { index: usize, found: u8 },
    #[error("{what} is {len} bytes; a successful reply carries {allowed:?} bytes")]
    BadCodeLength {
        what: &'static str,
        len: usize,
        allowed: &'static [usize],
    },
    #[error("privilege level {0:#04x} is not 0-5")]
    BadPrivilege(u8),
    #[error("user name length byte says {declared} but {available} bytes follow")]
    NameLengthMismatch { declared: usize, available: usize },
}

fn need(what: &'static str, b: &[u8], min: usize) -> Result<(), RakpError> {
    if b.len() < min {
        return Err(RakpError::Truncated {
            what,
            len: b.len(),
            min,
        });
    }
    Ok(())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or_default()
}

fn arr16(b: &[u8], at: usize) -> [u8; 16] {
    b.get(at..at + 16)
        .and_then(|s| s.try_into().ok())
        .unwrap_or_default()
}

/// On a success status the trailing code must have one of the lengths of
/// the supported algorithms (SHA1 / SHA256).
fn check_code(
    what: &'static str,
    ok: bool,
    code: &[u8],
    allowed: &'static [usize],
) -> Result<(), RakpError> {
    if ok && !allowed.contains(&code.len()) {
        return Err(RakpError::BadCodeLength {
            what,
            len: code.len(),
            allowed,
        });
    }
    Ok(())
}

fn check_max(what: &'static str, v: &[u8], max: usize) -> Result<(), RakpError> {
    if v.len() > max {
        return Err(RakpError::TooLong {
            what,
            len: v.len(),
            max,
        });
    }
    Ok(())
}

/// Open Session Request (payload type 0x10), console to BMC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenSessionRequest {
    pub tag: u8,
    /// Requested maximum privilege (0 = highest the user has).
    pub max_privilege: Privilege,
    pub console_session_id: u32,
    pub algorithms: Algorithms,
}

impl OpenSessionRequest {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.tag, self.max_privilege as u8, 0, 0];
        out.extend_from_slice(&self.console_session_id.to_le_bytes());
        self.algorithms.encode_into(&mut out);
        out
    }

    pub fn decode(b: &[u8]) -> Result<Self, RakpError> {
        need("Open Session Request", b, 32)?;
        check_max("Open Session Request", b, 32)?;
        Ok(Self {
            tag: b[0],
            max_privilege: Privilege::from_byte(b[1])?,
            console_session_id: u32_at(b, 4),
            algorithms: Algorithms::decode(&b[8..])?,
        })
    }
}

/// Open Session Response (payload type 0x11), BMC to console. On an error
/// status BMCs may send only tag + status (ipmi_sim does) or the 8-byte
/// prefix; those decode with `session: None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenSessionResponse {
    pub tag: u8,
    pub status: RmcpStatus,
    /// Maximum privilege byte as sent (ipmi_sim sends 0).
    pub max_privilege: u8,
    pub console_session_id: u32,
    /// The BMC session ID and the selected algorithms (full form only).
    pub session: Option<(u32, Algorithms)>,
}

impl OpenSessionResponse {
    /// Full (36-byte) form when `session` is set, else the 8-byte form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.tag, self.status.to_byte(), self.max_privilege, 0];
        out.extend_from_slice(&self.console_session_id.to_le_bytes());
        if let Some((bmc_sid, algs)) = self.session {
            out.extend_from_slice(&bmc_sid.to_le_bytes());
            algs.encode_into(&mut out);
        }
        out
    }

    pub fn decode(b: &[u8]) -> Result<Self, RakpError> {
        need("Open Session Response", b, 2)?;
        let status = RmcpStatus::from_byte(b[1]);
        let min = if status.is_ok() { 36 } else { 2 };
        need("Open Session Response", b, min)?;
        check_max("Open Session Response", b, 36)?;
        let session = if b.len() >= 36 {
            Some((u32_at(b, 8), Algorithms::decode(&b[12..36])?))
        } else {
            None
        };
        Ok(Self {
            tag: b[0],
            status,
            max_privilege: b.get(2).copied().unwrap_or(0),
            console_session_id: u32_at(b, 4),
            session,
        })
    }
}

/// RAKP Message 1 (payload type 0x12), console to BMC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rakp1 {
    pub tag: u8,
    pub bmc_session_id: u32,
    /// Rm.
    pub console_random: [u8; 16],
    /// Requested maximum privilege including the 0x10 name-only-lookup bit.
    pub role: u8,
    /// User name, at most 16 bytes.
    pub username: Vec<u8>,
}

impl Rakp1 {
    /// Errors if the user name is longer than 16 bytes.
    pub fn encode(&self) -> Result<Vec<u8>, RakpError> {
        check_max("user name", &self.username, 16)?;
        let mut out = vec![self.tag, 0, 0, 0];
        out.extend_from_slice(&self.bmc_session_id.to_le_bytes());
        out.extend_from_slice(&self.console_random);
        out.extend_from_slice(&[self.role, 0, 0, self.username.len() as u8]);
        out.extend_from_slice(&self.username);
        Ok(out)
    }

    pub fn decode(b: &[u8]) -> Result<Self, RakpError> {
        need("RAKP 1", b, 28)?;
        let declared = usize::from(b[27]);
        let available = b.len() - 28;
        if declared > 16 {
            return Err(RakpError::TooLong {
                what: "user name",
                len: declared,
                max: 16,
            });
        }
        if declared != available {
            return Err(RakpError::NameLengthMismatch {
                declared,
                available,
            });
        }
        Ok(Self {
            tag: b[0],
            bmc_session_id: u32_at(b, 4),
            console_random: arr16(b, 8),
            role: b[24],
            username: b[28..].to_vec(),
        })
    }
}

/// RAKP Message 2 (payload type 0x13), BMC to console. On an error status
/// only the first 8 bytes (or tag + status) may be present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rakp2 {
    pub tag: u8,
    pub status: RmcpStatus,
    pub console_session_id: u32,
    /// Rc.
    pub bmc_random: [u8; 16],
    /// GUIDc.
    pub bmc_guid: [u8; 16],
    /// Key exchange auth code (20 bytes SHA1, 32 bytes SHA256; empty on error).
    pub auth_code: Vec<u8>,
}

impl Rakp2 {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.tag, self.status.to_byte(), 0, 0];
        out.extend_from_slice(&self.console_session_id.to_le_bytes());
        if self.status.is_ok() {
            out.extend_from_slice(&self.bmc_random);
            out.extend_from_slice(&self.bmc_guid);
            out.extend_from_slice(&self.auth_code);
        }
        out
    }

    pub fn decode(b: &[u8]) -> Result<Self, RakpError> {
        need("RAKP 2", b, 2)?;
        let status = RmcpStatus::from_byte(b[1]);
        need("RAKP 2", b, if status.is_ok() { 40 } else { 2 })?;
        check_max("RAKP 2", b, 40 + 32)?;
        check_code(
            "RAKP 2 auth code",
            status.is_ok(),
            b.get(40..).unwrap_or_default(),
            &[20, 32],
        )?;
        Ok(Self {
            tag: b[0],
            status,
            console_session_id: u32_at(b, 4),
            bmc_random: arr16(b, 8),
            bmc_guid: arr16(b, 24),
            auth_code: b.get(40..).unwrap_or_default().to_vec(),
        })
    }
}

/// RAKP Message 3 (0x14, console to BMC) and RAKP Message 4 (0x15, BMC to
/// console) share one layout: tag, status, 2 reserved, a session ID (the
/// BMC's in RAKP 3, the console's in RAKP 4) and a trailing code.
macro_rules! rakp_34 {
    ($(#[$doc:meta])* $name:ident, $what:literal, $sid:ident, $code:ident, $max:literal, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            pub tag: u8,
            pub status: RmcpStatus,
            pub $sid: u32,
            pub $code: Vec<u8>,
        }

        impl $name {
            pub fn encode(&self) -> Vec<u8> {
                let mut out = vec![self.tag, self.status.to_byte(), 0, 0];
                out.extend_from_slice(&self.$sid.to_le_bytes());
                out.extend_from_slice(&self.$code);
                out
            }

            pub fn decode(b: &[u8]) -> Result<Self, RakpError> {
                need($what, b, 2)?;
                let status = RmcpStatus::from_byte(b[1]);
                need($what, b, if status.is_ok() { 8 } else { 2 })?;
                check_max($what, b, 8 + $max)?;
                check_code($what, status.is_ok(), b.get(8..).unwrap_or_default(), $allowed)?;
                Ok(Self {
                    tag: b[0],
                    status,
                    $sid: u32_at(b, 4),
                    $code: b.get(8..).unwrap_or_default().to_vec(),
                })
            }
        }
    };
}

rakp_34!(
    /// RAKP Message 3: status and the console's key exchange auth code (full length).
    Rakp3, "RAKP 3", bmc_session_id, auth_code, 32, &[20, 32]);
rakp_34!(
    /// RAKP Message 4: status and the integrity check value (12 or 16 bytes).
    Rakp4, "RAKP 4", console_session_id, integrity_check_value, 16, &[12, 16]);

#[cfg(test)]
mod tests;
