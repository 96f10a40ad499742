//! Get SEL Entry (0x0a 0x43): one whole record by ID, and the ID of the record after it.
//! A response whose record is not exactly 16 bytes is refused ([`SelError::RecordLength`]):
//! the reader skips it with a warning and follows the next ID.

use super::{NETFN_STORAGE, RECORD_LEN, Reservation, SelError, need};

/// The command number.
pub const CMD: u8 = 0x43;
/// Completion code: the requested record is not present (cleared, wrapped).
pub const CC_NOT_PRESENT: u8 = 0xcb;
/// Completion code: the reservation was cancelled (the SEL was cleared meanwhile).
pub const CC_RESERVATION_CANCELLED: u8 = 0xc5;

/// A Get SEL Entry request for a whole record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetSelEntry {
    /// 0 when the BMC does not support reservations (or none was made).
    pub reservation: Reservation,
    pub record_id: u16,
}

impl GetSelEntry {
    /// The request: (netfn, cmd, data); offset 0, whole record (0xFF bytes).
    pub fn request(&self) -> (u8, u8, Vec<u8>) {
        let [r0, r1] = self.reservation.0.to_le_bytes();
        let [i0, i1] = self.record_id.to_le_bytes();
        (NETFN_STORAGE, CMD, vec![r0, r1, i0, i1, 0x00, 0xff])
    }

    /// Decodes a request's data (the BMC side).
    pub fn decode_request(d: &[u8]) -> Result<GetSelEntry, SelError> {
        let b = need(d, 6, "Get SEL Entry request")?;
        Ok(GetSelEntry {
            reservation: Reservation(u16::from_le_bytes([b[0], b[1]])),
            record_id: u16::from_le_bytes([b[2], b[3]]),
        })
    }
}

/// A Get SEL Entry response: the next record's ID ([`super::LAST`]: none) and the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelEntry {
    pub next: u16,
    pub record: [u8; RECORD_LEN],
}

impl SelEntry {
    /// Decodes the response data (completion code stripped). The record must be 16 bytes;
    /// otherwise the error still carries the next ID, so a reader can skip the bad record.
    pub fn decode(d: &[u8]) -> Result<SelEntry, (Option<u16>, SelError)> {
        let b = need(d, 2, "Get SEL Entry").map_err(|e| (None, e))?;
        let next = u16::from_le_bytes([b[0], b[1]]);
        let record = <[u8; RECORD_LEN]>::try_from(&d[2..])
            .map_err(|_| (Some(next), SelError::RecordLength { got: d.len() - 2 }))?;
        Ok(SelEntry { next, record })
    }

    /// The response data, as a BMC sends it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.next.to_le_bytes().to_vec();
        out.extend_from_slice(&self.record);
        out
    }

    /// The record's own ID (its first two bytes).
    pub fn record_id(&self) -> u16 {
        u16::from_le_bytes([self.record[0], self.record[1]])
    }
}
