//! Byte sizes as strings with a binary unit (`"256MiB"`, `"64KiB"`, `"1GiB"`) or plain bytes
//! (`4096`, `"4096"`) in TOML; written back with the largest unit that divides them.

use serde::{Deserialize, Deserializer, Serializer};

const UNITS: [(&str, u64); 4] = [
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("B", 1),
];

/// `"256MiB"` as bytes; `None` when it is not a size (or overflows).
pub fn parse(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let n: u64 = n.parse().ok()?;
    let unit = unit.trim();
    let mult = if unit.is_empty() {
        1
    } else {
        UNITS.iter().find(|(u, _)| *u == unit)?.1
    };
    n.checked_mul(mult)
}

/// Bytes in the largest unit that divides them (`268435456` -> `"256MiB"`).
pub fn format(bytes: u64) -> String {
    let (unit, mult) = UNITS
        .iter()
        .find(|(_, m)| bytes.is_multiple_of(*m) && bytes >= *m)
        .copied()
        .unwrap_or(("B", 1));
    format!("{}{unit}", bytes / mult)
}

pub fn serialize<S: Serializer>(b: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format(*b))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Bytes(u64),
    Text(String),
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Raw::deserialize(d)? {
        Raw::Bytes(b) => Ok(b),
        Raw::Text(s) => parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{s:?} is not a size like \"256MiB\", \"64KiB\" or a number of bytes"
            ))
        }),
    }
}
