//! Pure decoders for IPMI responses a BMC poller needs: SDR records and sensor conversion
//! ([`sdr`]), Get Sensor Reading ([`reading`]), discrete component sensors ([`components`]), FRU inventory ([`fru`]) and chassis / device /
//! GUID / SEL / DCMI responses ([`chassis`]).
//!
//! Every function takes the response *data* (completion code already checked and stripped)
//! and never panics, whatever the bytes. Record decoding uses `ipmi-rs-core` 0.6 where it is
//! correct; each module documents what it decodes itself and why.

pub mod chassis;
pub mod components;
pub mod fru;
pub mod reading;
pub mod sdr;

/// An IPMI timestamp (SEL / SDR repository): seconds since 1970, or since the BMC initialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpmiTime {
    /// `0x00000000` or `0xFFFFFFFF`: never set / not available.
    Unspecified,
    /// `0x00000001..=0x20000000`: seconds since the BMC initialised (its clock was never set).
    SinceInit(u32),
    /// Seconds since 1970-01-01 UTC.
    Unix(u32),
}

impl IpmiTime {
    /// Classifies a raw little-endian timestamp as the IPMI spec (section 37) defines it.
    pub fn from_raw(raw: u32) -> Self {
        match raw {
            0 | 0xFFFF_FFFF => IpmiTime::Unspecified,
            1..=0x2000_0000 => IpmiTime::SinceInit(raw),
            _ => IpmiTime::Unix(raw),
        }
    }

    /// The raw value, for cache keys (`Unspecified` is 0).
    pub fn raw(self) -> u32 {
        match self {
            IpmiTime::Unspecified => 0,
            IpmiTime::SinceInit(v) | IpmiTime::Unix(v) => v,
        }
    }

    pub(crate) fn from_le(b: &[u8]) -> Self {
        match b {
            [a, b, c, d, ..] => IpmiTime::from_raw(u32::from_le_bytes([*a, *b, *c, *d])),
            _ => IpmiTime::Unspecified,
        }
    }
}

/// Tiny deterministic generator for the no-panic fuzz tests of every module.
#[cfg(test)]
pub(crate) struct Lcg(pub u64);

#[cfg(test)]
impl Lcg {
    pub(crate) fn next_u8(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u8
    }

    /// A random buffer of up to `max` bytes.
    pub(crate) fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = usize::from(self.next_u8()) % (max + 1);
        (0..len).map(|_| self.next_u8()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::IpmiTime;

    #[test]
    fn timestamps_classified() {
        assert_eq!(IpmiTime::from_raw(0), IpmiTime::Unspecified);
        assert_eq!(IpmiTime::from_raw(0xFFFF_FFFF), IpmiTime::Unspecified);
        assert_eq!(IpmiTime::from_raw(1390), IpmiTime::SinceInit(1390));
        assert_eq!(IpmiTime::from_raw(0x6b06_e977), IpmiTime::Unix(0x6b06_e977));
        assert_eq!(IpmiTime::from_le(&[1, 2]), IpmiTime::Unspecified);
    }
}
