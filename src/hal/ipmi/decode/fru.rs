//! FRU inventory decoding (IPMI Platform Management FRU Information Storage Definition v1.0):
//! the common header, the chassis, board and product info areas, and type/length fields
//! (binary, BCD plus, 6-bit packed ASCII, 8-bit ASCII/Latin-1).
//!
//! `ipmi-rs-core` 0.6 has no FRU data decoding at all (only FRU device-locator SDRs), so
//! everything here is our own. Also decodes Get FRU Inventory Area Info (0x0a 0x10) and
//! Read FRU Data (0x0a 0x11) responses so a caller can assemble the image.

/// What was wrong with FRU data. Fatal for the header; a warning for an area.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FruError {
    #[error("FRU response too short: {what} needs {need} bytes, got {got}")]
    TooShort {
        what: &'static str,
        need: usize,
        got: usize,
    },
    #[error("FRU common header format version {0:#04x} is not 0x01")]
    HeaderVersion(u8),
    #[error("FRU common header checksum is wrong")]
    HeaderChecksum,
    #[error("FRU {area} area at offset {offset} lies beyond the {len}-byte image")]
    AreaOutOfBounds {
        area: &'static str,
        offset: usize,
        len: usize,
    },
    #[error("FRU {area} area is truncated: declares {declared} bytes, {available} available")]
    AreaTruncated {
        area: &'static str,
        declared: usize,
        available: usize,
    },
    #[error("FRU {area} area checksum is wrong")]
    AreaChecksum { area: &'static str },
    #[error("FRU {area} area format version {version:#04x} is not 0x01")]
    AreaVersion { area: &'static str, version: u8 },
    #[error("FRU {area} area: field {field} runs past the end of the area")]
    FieldTruncated { area: &'static str, field: usize },
}

/// The decoded inventory. Text fields are trimmed; empty fields are `None`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fru {
    /// SMBIOS chassis type name as ipmitool prints it ("Rack Mount Chassis").
    pub chassis_type: Option<String>,
    pub chassis_type_code: Option<u8>,
    pub chassis_part: Option<String>,
    pub chassis_serial: Option<String>,
    pub board_mfg: Option<String>,
    pub board_product: Option<String>,
    pub board_serial: Option<String>,
    pub board_part: Option<String>,
    /// Board manufacturing date, Unix seconds (`None` when the FRU says "unspecified").
    pub board_mfg_date: Option<i64>,
    pub product_mfg: Option<String>,
    pub product_name: Option<String>,
    pub product_part: Option<String>,
    pub product_version: Option<String>,
    pub product_serial: Option<String>,
    pub product_asset_tag: Option<String>,
}

/// Get FRU Inventory Area Info (0x0a 0x10) response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FruAreaInfo {
    pub size: u16,
    /// Device is accessed by 16-bit words (offsets and counts in words) instead of bytes.
    pub by_words: bool,
}

/// Decodes Get FRU Inventory Area Info.
pub fn parse_area_info(data: &[u8]) -> Result<FruAreaInfo, FruError> {
    match data {
        [lo, hi, access, ..] => Ok(FruAreaInfo {
            size: u16::from_le_bytes([*lo, *hi]),
            by_words: access & 1 == 1,
        }),
        _ => Err(FruError::TooShort {
            what: "area info",
            need: 3,
            got: data.len(),
        }),
    }
}

/// Decodes a Read FRU Data response: the count byte, then that many data bytes.
pub fn parse_read_data(data: &[u8]) -> Result<&[u8], FruError> {
    let (count, rest) = data.split_first().ok_or(FruError::TooShort {
        what: "read data",
        need: 1,
        got: 0,
    })?;
    let n = usize::from(*count);
    rest.get(..n).ok_or(FruError::TooShort {
        what: "read data",
        need: n + 1,
        got: data.len(),
    })
}

/// Seconds between 1970-01-01 and 1996-01-01 (the FRU date epoch).
const FRU_EPOCH: i64 = 820_454_400;

/// Parses a whole FRU image. `Err` only when the common header is unusable; area problems
/// (bad checksum, truncation) come back as warnings with whatever could be read.
pub fn parse_fru(data: &[u8]) -> Result<(Fru, Vec<FruError>), FruError> {
    let hdr = data.get(..8).ok_or(FruError::TooShort {
        what: "common header",
        need: 8,
        got: data.len(),
    })?;
    if hdr[0] & 0x0f != 1 {
        return Err(FruError::HeaderVersion(hdr[0]));
    }
    if checksum(hdr) != 0 {
        return Err(FruError::HeaderChecksum);
    }
    let mut fru = Fru::default();
    let mut warnings = Vec::new();
    if let Some(f) = area(data, hdr[2], "chassis", &mut warnings) {
        let code = f.fixed.first().copied();
        fru.chassis_type_code = code;
        fru.chassis_type = code.map(|c| chassis_type_name(c).to_string());
        fru.chassis_part = f.field(0);
        fru.chassis_serial = f.field(1);
    }
    if let Some(f) = area(data, hdr[3], "board", &mut warnings) {
        if let [_, a, b, c, ..] = f.fixed[..] {
            let minutes = u32::from_le_bytes([a, b, c, 0]);
            fru.board_mfg_date = (minutes != 0).then(|| FRU_EPOCH + i64::from(minutes) * 60);
        }
        fru.board_mfg = f.field(0);
        fru.board_product = f.field(1);
        fru.board_serial = f.field(2);
        fru.board_part = f.field(3);
    }
    if let Some(f) = area(data, hdr[4], "product", &mut warnings) {
        fru.product_mfg = f.field(0);
        fru.product_name = f.field(1);
        fru.product_part = f.field(2);
        fru.product_version = f.field(3);
        fru.product_serial = f.field(4);
        fru.product_asset_tag = f.field(5);
    }
    Ok((fru, warnings))
}

/// The bytes after version/length that precede the type/length fields, and the fields.
struct Area {
    fixed: Vec<u8>,
    fields: Vec<Option<String>>,
}

impl Area {
    fn field(&self, i: usize) -> Option<String> {
        self.fields.get(i).cloned().flatten()
    }
}

fn checksum(b: &[u8]) -> u8 {
    b.iter().fold(0u8, |a, x| a.wrapping_add(*x))
}

fn area(data: &[u8], off8: u8, name: &'static str, w: &mut Vec<FruError>) -> Option<Area> {
    if off8 == 0 {
        return None;
    }
    let start = usize::from(off8) * 8;
    let head = match data.get(start..start + 2) {
        Some(h) => h,
        None => {
            w.push(FruError::AreaOutOfBounds {
                area: name,
                offset: start,
                len: data.len(),
            });
            return None;
        }
    };
    if head[0] & 0x0f != 1 {
        w.push(FruError::AreaVersion {
            area: name,
            version: head[0],
        });
    }
    let declared = usize::from(head[1]) * 8;
    let end = (start + declared).min(data.len());
    let bytes = data.get(start..end).unwrap_or_default();
    if bytes.len() < declared {
        w.push(FruError::AreaTruncated {
            area: name,
            declared,
            available: bytes.len(),
        });
    } else if checksum(bytes) != 0 {
        w.push(FruError::AreaChecksum { area: name });
    }
    // Fixed bytes after version+length: chassis 1 (type), board 4 (language + date), product 1.
    let nfixed = if name == "board" { 4 } else { 1 };
    let fixed = bytes
        .get(2..2 + nfixed)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let mut fields = Vec::new();
    let mut pos = 2 + nfixed;
    while let Some(&tl) = bytes.get(pos) {
        if tl == 0xC1 {
            break;
        }
        let len = usize::from(tl & 0x3f);
        match bytes.get(pos + 1..pos + 1 + len) {
            Some(raw) => fields.push(decode_field(tl >> 6, raw)),
            None => {
                w.push(FruError::FieldTruncated {
                    area: name,
                    field: fields.len(),
                });
                break;
            }
        }
        pos += 1 + len;
    }
    Some(Area { fixed, fields })
}

/// Decodes one type/length field's data by its 2-bit type code (FRU spec 13.1):
/// 0 binary (rendered as hex), 1 BCD plus, 2 6-bit packed ASCII, 3 8-bit ASCII/Latin-1.
/// Trailing spaces and NULs are trimmed; an empty result is `None`.
pub fn decode_field(type_code: u8, raw: &[u8]) -> Option<String> {
    let s: String = match type_code & 3 {
        0 => raw.iter().map(|b| format!("{b:02x}")).collect(),
        1 => decode_bcd_plus(raw),
        2 => decode_6bit_ascii(raw),
        _ => raw.iter().map(|&b| char::from(b)).collect(),
    };
    let t = s.trim_end_matches([' ', '\0']);
    (!t.is_empty()).then(|| t.to_string())
}

/// BCD plus: two characters per byte, high nibble first; 0-9, A space, B '-', C '.'.
pub fn decode_bcd_plus(raw: &[u8]) -> String {
    let ch = |n: u8| match n {
        0..=9 => char::from(b'0' + n),
        0xA => ' ',
        0xB => '-',
        0xC => '.',
        _ => '?',
    };
    raw.iter().flat_map(|b| [ch(b >> 4), ch(b & 0xf)]).collect()
}

/// 6-bit packed ASCII: four 6-bit characters (0x20 + value) per three bytes, LSB first.
pub fn decode_6bit_ascii(raw: &[u8]) -> String {
    let mut out = String::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in raw {
        acc |= u32::from(b) << bits;
        bits += 8;
        while bits >= 6 {
            out.push(char::from(0x20 + (acc & 0x3f) as u8));
            acc >>= 6;
            bits -= 6;
        }
    }
    out
}

/// SMBIOS chassis type names, as ipmitool's `fru print` shows them.
pub fn chassis_type_name(code: u8) -> &'static str {
    const NAMES: [&str; 37] = [
        "Unspecified",
        "Other",
        "Unknown",
        "Desktop",
        "Low Profile Desktop",
        "Pizza Box",
        "Mini Tower",
        "Tower",
        "Portable",
        "LapTop",
        "Notebook",
        "Hand Held",
        "Docking Station",
        "All in One",
        "Sub Notebook",
        "Space-saving",
        "Lunch Box",
        "Main Server Chassis",
        "Expansion Chassis",
        "SubChassis",
        "Bus Expansion Chassis",
        "Peripheral Chassis",
        "RAID Chassis",
        "Rack Mount Chassis",
        "Sealed-case PC",
        "Multi-system Chassis",
        "Compact PCI",
        "Advanced TCA",
        "Blade",
        "Blade Enclosure",
        "Tablet",
        "Convertible",
        "Detachable",
        "IoT Gateway",
        "Embedded PC",
        "Mini PC",
        "Stick PC",
    ];
    NAMES.get(usize::from(code)).copied().unwrap_or("Unknown")
}

#[cfg(test)]
mod tests;
