//! Who a BMC is: its MAC (the identity; the IP is an attribute that can change), the [`Target`]
//! discovery selects from the leases, and the [`Protocol`] a backend speaks.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A MAC address: the identity of a BMC (its IP is an attribute that can change).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// This BMC's place within a `period`: FNV-1a of the MAC modulo the period, in milliseconds.
    /// A fleet's MACs fall evenly over the period, so the polls and the slow reads placed by it
    /// are spread like the MACs, not bunched where the BMCs were discovered.
    pub fn phase(self, period: std::time::Duration) -> std::time::Duration {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.0 {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let ms = period.as_millis().max(1) as u64;
        std::time::Duration::from_millis(h % ms)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a string is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a MAC address: {0:?} (want six hex octets separated by ':' or '-')")]
pub struct MacParseError(pub String);

impl FromStr for MacAddr {
    type Err = MacParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || MacParseError(s.to_string());
        let mut out = [0u8; 6];
        let mut parts = s.trim().split([':', '-']);
        for byte in &mut out {
            let p = parts.next().ok_or_else(err)?;
            if p.is_empty() || p.len() > 2 {
                return Err(err());
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(MacAddr(out))
    }
}

/// In the generated JSON schemas (`docs/schema/`): the string form, lower-case with colons.
#[cfg(test)]
impl schemars::JsonSchema for MacAddr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MacAddr".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9a-f]{2}(:[0-9a-f]{2}){5}$"
        })
    }
}

impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One BMC to watch, as discovery selected it from the leases.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub mac: MacAddr,
    pub ip: IpAddr,
    /// Port override (simulators and tests); `None` means the protocol's configured port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Lease end, Unix seconds; `None` for an infinite lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_ends: Option<i64>,
}

/// Which protocol a backend speaks.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Redfish,
    Ipmi,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Redfish => "redfish",
            Protocol::Ipmi => "ipmi",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parses_both_separators_and_prints_lowercase() {
        let a: MacAddr = "52:54:00:A1:00:11".parse().expect("colon form");
        let b: MacAddr = "52-54-00-a1-00-11".parse().expect("dash form");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "52:54:00:a1:00:11");
        assert!("52:54:00:a1:00".parse::<MacAddr>().is_err());
        assert!("52:54:00:a1:00:11:22".parse::<MacAddr>().is_err());
        assert!("52:54:00:a1:00:zz".parse::<MacAddr>().is_err());
    }
}
