//! The SDR repository walk: Get SDR Repository Info (0x0a 0x20), Reserve SDR Repository
//! (0x0a 0x22) and Get SDR (0x0a 0x23) responses. Part of [`super`] (shares [`SdrError`]).
//!
//! Decoded here rather than with `ipmi-rs-core`'s `SdrRepositoryInfo::parse`, which indexes
//! 14 bytes without a length check, misreads the modality bits and keeps its timestamps
//! private; it has no Reserve SDR Repository and reads whole records only.

use super::super::IpmiTime;
use super::SdrError;

/// Get SDR Repository Info (0x0a 0x20) response. Its counts and timestamps key the SDR cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdrRepositoryInfo {
    /// SDR version, BCD (0x51 = 1.5).
    pub version: u8,
    pub record_count: u16,
    /// Free bytes; 0xFFFF = unspecified.
    pub free_space: u16,
    pub most_recent_addition: IpmiTime,
    pub most_recent_erase: IpmiTime,
    pub overflow: bool,
    pub supports_reserve: bool,
    pub supports_delete: bool,
    pub supports_partial_add: bool,
    pub supports_alloc_info: bool,
}

impl SdrRepositoryInfo {
    /// When any part of this changes, cached SDRs must be re-read.
    pub fn cache_key(&self) -> (u16, u32, u32) {
        (
            self.record_count,
            self.most_recent_addition.raw(),
            self.most_recent_erase.raw(),
        )
    }
}

/// Decodes Get SDR Repository Info.
pub fn parse_repository_info(d: &[u8]) -> Result<SdrRepositoryInfo, SdrError> {
    let d = d.get(..14).ok_or(SdrError::TooShort {
        what: "Get SDR Repository Info",
        need: 14,
        got: d.len(),
    })?;
    Ok(SdrRepositoryInfo {
        version: d[0],
        record_count: u16::from_le_bytes([d[1], d[2]]),
        free_space: u16::from_le_bytes([d[3], d[4]]),
        most_recent_addition: IpmiTime::from_le(&d[5..9]),
        most_recent_erase: IpmiTime::from_le(&d[9..13]),
        overflow: d[13] & 0x80 != 0,
        supports_delete: d[13] & 0x08 != 0,
        supports_partial_add: d[13] & 0x04 != 0,
        supports_reserve: d[13] & 0x02 != 0,
        supports_alloc_info: d[13] & 0x01 != 0,
    })
}

/// Decodes Reserve SDR Repository (0x0a 0x22): the reservation ID for partial Get SDR reads.
pub fn parse_reservation(d: &[u8]) -> Result<u16, SdrError> {
    match d {
        [lo, hi, ..] => Ok(u16::from_le_bytes([*lo, *hi])),
        _ => Err(SdrError::TooShort {
            what: "Reserve SDR Repository",
            need: 2,
            got: d.len(),
        }),
    }
}

/// Decodes a Get SDR (0x0a 0x23) response: (next record ID, the bytes read).
/// ipmi_sim appends 6 stray bytes to whole-record reads: callers read header + body in chunks.
pub fn parse_get_sdr(d: &[u8]) -> Result<(u16, &[u8]), SdrError> {
    match d {
        [lo, hi, rest @ ..] => Ok((u16::from_le_bytes([*lo, *hi]), rest)),
        _ => Err(SdrError::TooShort {
            what: "Get SDR",
            need: 2,
            got: d.len(),
        }),
    }
}

/// Total record length (header + body) from its 5-byte header.
pub fn record_len(header: &[u8]) -> Option<usize> {
    header.get(4).map(|l| 5 + usize::from(*l))
}
