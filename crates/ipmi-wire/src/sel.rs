//! The System Event Log (IPMI 2.0 section 31): the three commands a reader needs, one per file,
//! each a request encoder and a response decoder ([`info`] Get SEL Info, [`reserve`] Reserve SEL,
//! [`entry`] Get SEL Entry), and the 16-byte records they return ([`record`]), decoded into the
//! words `ipmitool sel elist` prints (the IPMI tables are in [`tables`]).
//!
//! Sans-IO like the rest of the crate: bytes in, values out, never a panic whatever the bytes.
//! The daemon's IPMI backend drives the walk; bmc-sim answers the same commands.

pub mod entry;
pub mod info;
pub mod record;
pub mod reserve;
mod tables;

pub use entry::{GetSelEntry, SelEntry};
pub use info::SelInfo;
pub use record::{Direction, EventText, SelRecord, Severity};
pub use reserve::Reservation;

/// The Storage network function all SEL commands use.
pub const NETFN_STORAGE: u8 = 0x0a;
/// The length of every SEL record.
pub const RECORD_LEN: usize = 16;
/// Record ID 0x0000: the first record of the SEL.
pub const FIRST: u16 = 0x0000;
/// Record ID 0xFFFF: the last record (in a request) or "no next record" (in a response).
pub const LAST: u16 = 0xffff;

/// Why a SEL response could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelError {
    #[error("{what} response is {got} bytes, at least {need} are needed")]
    TooShort {
        what: &'static str,
        need: usize,
        got: usize,
    },
    #[error("SEL record is {got} bytes, a record is 16")]
    RecordLength { got: usize },
}

fn need<'a>(d: &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], SelError> {
    d.get(..n).ok_or(SelError::TooShort {
        what,
        need: n,
        got: d.len(),
    })
}

#[cfg(test)]
mod tests;
