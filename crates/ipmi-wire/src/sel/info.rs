//! Get SEL Info (0x0a 0x40): how many records, how much room is left, when the SEL was last
//! added to and erased, whether it overflowed. A reader compares it with its cursor to decide
//! whether any record needs reading at all.

use super::{NETFN_STORAGE, SelError, need};

/// The command number.
pub const CMD: u8 = 0x40;

/// The request: (netfn, cmd, data).
pub fn request() -> (u8, u8, Vec<u8>) {
    (NETFN_STORAGE, CMD, Vec::new())
}

/// Get SEL Info response. Timestamps are raw IPMI times (0 and 0xFFFFFFFF: unspecified).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelInfo {
    /// SEL version, BCD (0x51 = 1.5).
    pub version: u8,
    pub entries: u16,
    /// Free bytes; 0xFFFF means "65535 or more".
    pub free_bytes: u16,
    pub last_add: u32,
    pub last_erase: u32,
    pub overflow: bool,
    pub supports_reserve: bool,
}

impl SelInfo {
    /// Decodes the response data (completion code stripped).
    pub fn decode(d: &[u8]) -> Result<SelInfo, SelError> {
        let b = need(d, 14, "Get SEL Info")?;
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Ok(SelInfo {
            version: b[0],
            entries: u16::from_le_bytes([b[1], b[2]]),
            free_bytes: u16::from_le_bytes([b[3], b[4]]),
            last_add: u32_at(5),
            last_erase: u32_at(9),
            overflow: b[13] & 0x80 != 0,
            supports_reserve: b[13] & 0x02 != 0,
        })
    }

    /// The response data, as a BMC sends it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.version];
        out.extend_from_slice(&self.entries.to_le_bytes());
        out.extend_from_slice(&self.free_bytes.to_le_bytes());
        out.extend_from_slice(&self.last_add.to_le_bytes());
        out.extend_from_slice(&self.last_erase.to_le_bytes());
        out.push(u8::from(self.overflow) << 7 | u8::from(self.supports_reserve) << 1);
        out
    }

    /// The share of the SEL in use, 0.0-1.0: records x 16 bytes over records plus free space
    /// (`ipmitool sel info`'s "Percent Used"). `None` for an empty SEL that reports no room.
    pub fn used_ratio(&self) -> Option<f64> {
        let used = f64::from(self.entries) * super::RECORD_LEN as f64;
        let total = used + f64::from(self.free_bytes);
        (total > 0.0).then(|| used / total)
    }
}
