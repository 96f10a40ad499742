//! Chassis and management-controller responses: Get Chassis Status (0x00 0x01), Get Device ID
//! (0x06 0x01), Get System GUID (0x06 0x37), Get SEL Info (0x0a 0x40) and DCMI Get Power
//! Reading (0x2c 0x02), plus [`inventory`] to fill the daemon's [`Inventory`]; [`faults`] turns
//! the status's fault bits into parts.
//!
//! `ipmi-rs-core` 0.6 provides Get Device ID (`DeviceId::from_data`, used here). It has no Get
//! Chassis Status, Get System GUID or DCMI; its Get SEL Info demands exactly 14 bytes and keeps
//! the timestamps private, so SEL Info is decoded here too.

use ipmi_rs_core::app::DeviceId;

pub mod faults;

use super::IpmiTime;
use super::fru::Fru;
use crate::model::{Inventory, Led, PowerMetrics, PowerState};

/// What was wrong with a chassis / MC response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChassisError {
    #[error("{what} response too short: need {need} bytes, got {got}")]
    TooShort {
        what: &'static str,
        need: usize,
        got: usize,
    },
    #[error("DCMI response has group extension {0:#04x}, not 0xdc")]
    NotDcmi(u8),
}

fn need<'a>(d: &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], ChassisError> {
    d.get(..n).ok_or(ChassisError::TooShort {
        what,
        need: n,
        got: d.len(),
    })
}

/// Get Chassis Status. Bytes 1-3 are mandatory (ipmi_sim sends exactly those); byte 4 (front
/// panel button capabilities) is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChassisStatus {
    pub power_on: bool,
    pub power_overload: bool,
    pub interlock: bool,
    pub power_fault: bool,
    pub power_control_fault: bool,
    /// 0 stays off, 1 restores previous state, 2 powers up, 3 unknown.
    pub restore_policy: u8,
    /// Last power event bits (byte 2): AC failed 0, overload 1, interlock 2, fault 3, IPMI cmd 4.
    pub last_power_event: u8,
    pub intrusion: bool,
    pub front_panel_lockout: bool,
    pub drive_fault: bool,
    pub fan_fault: bool,
    /// Identify LED, when the BMC reports it (byte 3 bit 6): off, timed on (blinking for a
    /// while) → `Blinking`, indefinite on → `On`; otherwise `Unknown`.
    pub identify: Led,
    pub front_panel: Option<u8>,
}

impl ChassisStatus {
    pub fn power_state(&self) -> PowerState {
        if self.power_on {
            PowerState::On
        } else {
            PowerState::Off
        }
    }
}

/// Decodes Get Chassis Status.
pub fn parse_chassis_status(d: &[u8]) -> Result<ChassisStatus, ChassisError> {
    let b = need(d, 3, "Get Chassis Status")?;
    let bit = |byte: u8, n: u8| byte & (1 << n) != 0;
    let identify = match (bit(b[2], 6), (b[2] >> 4) & 3) {
        (false, _) => Led::Unknown,
        (true, 0) => Led::Off,
        (true, 1) => Led::Blinking,
        (true, 2) => Led::On,
        (true, _) => Led::Unknown,
    };
    Ok(ChassisStatus {
        power_on: bit(b[0], 0),
        power_overload: bit(b[0], 1),
        interlock: bit(b[0], 2),
        power_fault: bit(b[0], 3),
        power_control_fault: bit(b[0], 4),
        restore_policy: (b[0] >> 5) & 3,
        last_power_event: b[1] & 0x1f,
        intrusion: bit(b[2], 0),
        front_panel_lockout: bit(b[2], 1),
        drive_fault: bit(b[2], 2),
        fan_fault: bit(b[2], 3),
        identify,
        front_panel: d.get(3).copied(),
    })
}

/// Get Device ID, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub device_id: u8,
    pub device_revision: u8,
    /// "major.minor" as ipmitool prints it, e.g. "2.10" (minor is two BCD digits).
    pub firmware: String,
    /// "2.0"
    pub ipmi_version: String,
    /// IANA enterprise number (20 bits).
    pub manufacturer_id: u32,
    pub product_id: u16,
    pub device_available: bool,
    pub provides_device_sdrs: bool,
    pub aux_firmware: Option<[u8; 4]>,
}

/// Decodes Get Device ID (via `ipmi-rs-core`).
pub fn parse_device_id(d: &[u8]) -> Result<DeviceInfo, ChassisError> {
    let id = DeviceId::from_data(d).ok_or(ChassisError::TooShort {
        what: "Get Device ID",
        need: 11,
        got: d.len(),
    })?;
    Ok(DeviceInfo {
        device_id: id.device_id,
        device_revision: id.device_revision,
        firmware: format!("{}.{:02}", id.major_fw_revision, id.minor_fw_revision),
        ipmi_version: format!("{}.{}", id.major_version, id.minor_version),
        // ipmi-rs-core keeps all 24 bits; the top 4 are reserved.
        manufacturer_id: id.manufacturer_id & 0x000f_ffff,
        product_id: id.product_id,
        device_available: id.device_available,
        provides_device_sdrs: id.provides_device_sdrs,
        aux_firmware: id.aux_revision,
    })
}

/// How the 16 GUID bytes were ordered on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuidEncoding {
    /// IPMI spec: the whole 16 bytes reversed (all fields LSB first).
    Ipmi,
    /// RFC 4122: all fields MSB first (bytes as printed).
    Rfc4122,
    /// SMBIOS: time fields LSB first, clock-seq and node as is (ipmi_sim, many BMCs).
    Smbios,
}

/// Get System GUID, as text in the standard 8-4-4-4-12 form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemGuid {
    pub uuid: String,
    pub encoding: GuidEncoding,
    pub raw: [u8; 16],
}

/// Decodes Get System GUID, choosing the byte order as `ipmitool mc guid` does by default:
/// the encoding whose version nibble is valid (1..=5), trying IPMI, RFC 4122, then SMBIOS;
/// the last valid one wins unless an earlier one is a time-based GUID with a plausible date.
/// With no valid version the IPMI order is used.
pub fn parse_system_guid(d: &[u8]) -> Result<SystemGuid, ChassisError> {
    let b = need(d, 16, "Get System GUID")?;
    let mut raw = [0u8; 16];
    raw.copy_from_slice(b);
    let mut rev = raw;
    rev.reverse();
    let swap = |mut x: [u8; 16]| {
        x[..4].reverse();
        x[4..6].reverse();
        x[6..8].reverse();
        x
    };
    // Each candidate is the 16 bytes in RFC 4122 (printing) order.
    let candidates = [
        (GuidEncoding::Ipmi, rev),
        (GuidEncoding::Rfc4122, raw),
        (GuidEncoding::Smbios, swap(raw)),
    ];
    let mut chosen = None;
    for (enc, bytes) in candidates {
        let version = bytes[6] >> 4;
        if (1..=5).contains(&version) {
            chosen = Some((enc, bytes));
            if version == 1 && plausible_time(&bytes) {
                break;
            }
        }
    }
    let (encoding, u) = chosen.unwrap_or((GuidEncoding::Ipmi, rev));
    let hex = |r: &[u8]| r.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        hex(&u[..4]),
        hex(&u[4..6]),
        hex(&u[6..8]),
        hex(&u[8..10]),
        hex(&u[10..])
    );
    Ok(SystemGuid {
        uuid,
        encoding,
        raw,
    })
}

/// Time-based GUID stamped between 1970 and 2100.
fn plausible_time(u: &[u8; 16]) -> bool {
    let t = (u64::from(u[6] & 0x0f) << 56)
        | (u64::from(u[7]) << 48)
        | (u64::from(u[4]) << 40)
        | (u64::from(u[5]) << 32)
        | u64::from(u32::from_be_bytes([u[0], u[1], u[2], u[3]]));
    let unix = (t / 10_000_000).saturating_sub(12_219_292_800);
    (1..4_102_444_800).contains(&unix)
}

/// Get SEL Info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelInfo {
    /// SEL version, BCD (0x51 = 1.5).
    pub version: u8,
    pub entries: u16,
    pub free_bytes: u16,
    pub last_add: IpmiTime,
    pub last_erase: IpmiTime,
    pub overflow: bool,
    pub supports_delete: bool,
    pub supports_partial_add: bool,
    pub supports_reserve: bool,
    pub supports_alloc_info: bool,
}

/// Decodes Get SEL Info.
pub fn parse_sel_info(d: &[u8]) -> Result<SelInfo, ChassisError> {
    let b = need(d, 14, "Get SEL Info")?;
    Ok(SelInfo {
        version: b[0],
        entries: u16::from_le_bytes([b[1], b[2]]),
        free_bytes: u16::from_le_bytes([b[3], b[4]]),
        last_add: IpmiTime::from_le(&b[5..9]),
        last_erase: IpmiTime::from_le(&b[9..13]),
        overflow: b[13] & 0x80 != 0,
        supports_delete: b[13] & 0x08 != 0,
        supports_partial_add: b[13] & 0x04 != 0,
        supports_reserve: b[13] & 0x02 != 0,
        supports_alloc_info: b[13] & 0x01 != 0,
    })
}

/// DCMI Get Power Reading, mode 0x01 (system power statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DcmiPowerReading {
    pub current_watts: u16,
    pub min_watts: u16,
    pub max_watts: u16,
    pub avg_watts: u16,
    /// IPMI timestamp of the reading.
    pub timestamp: IpmiTime,
    pub period_ms: u32,
    /// "Power measurement active" (state byte bit 6); when false the numbers mean nothing.
    pub active: bool,
}

impl DcmiPowerReading {
    pub fn power_metrics(&self) -> PowerMetrics {
        PowerMetrics {
            consumed_watts: self.active.then_some(f64::from(self.current_watts)),
            capacity_watts: None,
        }
    }
}

/// Decodes the DCMI Get Power Reading response (group extension 0xdc first).
pub fn parse_dcmi_power_reading(d: &[u8]) -> Result<DcmiPowerReading, ChassisError> {
    let b = need(d, 18, "DCMI Get Power Reading")?;
    if b[0] != 0xdc {
        return Err(ChassisError::NotDcmi(b[0]));
    }
    let w = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    Ok(DcmiPowerReading {
        current_watts: w(1),
        min_watts: w(3),
        max_watts: w(5),
        avg_watts: w(7),
        timestamp: IpmiTime::from_le(&b[9..13]),
        period_ms: u32::from_le_bytes([b[13], b[14], b[15], b[16]]),
        active: b[17] & 0x40 != 0,
    })
}

/// The daemon's [`Inventory`] from what IPMI offers: product (else board) manufacturer, name
/// and serial from the FRU, the BMC firmware from Get Device ID, the UUID from the GUID.
/// IPMI has no BIOS version.
pub fn inventory(
    fru: Option<&Fru>,
    dev: Option<&DeviceInfo>,
    guid: Option<&SystemGuid>,
) -> Inventory {
    let pick = |p: fn(&Fru) -> &Option<String>, b: fn(&Fru) -> &Option<String>| {
        fru.and_then(|f| p(f).clone().or_else(|| b(f).clone()))
    };
    Inventory {
        uuid: guid.map(|g| g.uuid.clone()),
        manufacturer: pick(|f| &f.product_mfg, |f| &f.board_mfg),
        model: pick(|f| &f.product_name, |f| &f.board_product),
        serial: pick(|f| &f.product_serial, |f| &f.board_serial),
        bios_version: None,
        bmc_firmware: dev.map(|d| d.firmware.clone()),
        tls_certificate_expires: None,
    }
}

#[cfg(test)]
mod tests;
