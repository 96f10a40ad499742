//! Reserve SEL (0x0a 0x42): the reservation ID a Get SEL Entry carries, so a BMC can tell a
//! reader its records moved (cc 0xC5, reservation cancelled) after a clear.

use super::{NETFN_STORAGE, SelError, need};

/// The command number.
pub const CMD: u8 = 0x42;

/// The request: (netfn, cmd, data).
pub fn request() -> (u8, u8, Vec<u8>) {
    (NETFN_STORAGE, CMD, Vec::new())
}

/// A reservation ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation(pub u16);

impl Reservation {
    /// Decodes the response data (completion code stripped).
    pub fn decode(d: &[u8]) -> Result<Reservation, SelError> {
        let b = need(d, 2, "Reserve SEL")?;
        Ok(Reservation(u16::from_le_bytes([b[0], b[1]])))
    }

    /// The response data, as a BMC sends it.
    pub fn encode(&self) -> Vec<u8> {
        self.0.to_le_bytes().to_vec()
    }
}
