//! The simulated BMC's sensor data records, sensor readings and FRU 0 image, built from the live
//! [`SimState`] at request time so a changed reading or PSU health shows up in the next answer.
//!
//! Sensor numbers and record IDs follow the order of the state: record 1 is the MC device locator,
//! then one full sensor record (type 0x01) per `state.sensors` entry (sensor numbers 1..=n), one for
//! the system power draw ("Pwr Consumption", n + 1), and one compact record (type 0x02) per PSU.

use crate::state::SimState;
use crate::state::{Health, SensorKind};

/// SDR version 1.5 (0x51).
pub(crate) const SDR_VERSION: u8 = 0x51;
/// Sensor owner: the BMC itself.
const OWNER: u8 = 0x20;
/// Name of the MC device locator record.
const MC_NAME: &str = "Sim BMC";
/// The bytes of an ID string at most (ipmitool prints 16).
const MAX_NAME: usize = 16;

/// `y = (M * x + B * 10^Bexp) * 10^Rexp` with unsigned raw `x` (linear, IPMI 2.0 section 36.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Linear {
    pub m: i16,
    pub b: i16,
    pub b_exp: i8,
    pub r_exp: i8,
}

impl Linear {
    const fn new(m: i16, r_exp: i8) -> Self {
        Linear {
            m,
            b: 0,
            b_exp: 0,
            r_exp,
        }
    }

    /// The raw byte whose conversion is nearest to `value` (clamped to 0..=255).
    pub fn to_raw(self, value: f64) -> u8 {
        let b = f64::from(self.b) * 10f64.powi(i32::from(self.b_exp));
        let x = (value / 10f64.powi(i32::from(self.r_exp)) - b) / f64::from(self.m);
        if x.is_nan() {
            return 0;
        }
        x.round().clamp(0.0, 255.0) as u8
    }

    /// The value a client computes from `raw`.
    #[cfg(test)]
    pub fn to_value(self, raw: u8) -> f64 {
        let b = f64::from(self.b) * 10f64.powi(i32::from(self.b_exp));
        (f64::from(self.m) * f64::from(raw) + b) * 10f64.powi(i32::from(self.r_exp))
    }
}

/// What one sensor measures and how it is encoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Measure {
    /// A threshold sensor (event/reading type 0x01).
    Threshold {
        sensor_type: u8,
        unit: u8,
        entity: u8,
        conv: Linear,
        value: f64,
        upper_critical: Option<f64>,
    },
    /// A PSU status sensor (type 0x08, sensor-specific 0x6f): presence, failure, predictive failure.
    Psu { health: Health },
}

/// One sensor of the simulated BMC, as of now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SimSdrSensor {
    pub number: u8,
    pub instance: u8,
    pub name: String,
    pub measure: Measure,
}

/// Sensor type, base unit, entity and conversion for a kind of analog sensor.
fn class_of(kind: SensorKind) -> (u8, u8, u8, Linear) {
    match kind {
        // 0.5 degrees C steps, 0..127.5.
        SensorKind::Temperature => (0x01, 1, 0x07, Linear::new(5, -1)),
        // 50 RPM steps, 0..12750.
        SensorKind::Fan => (0x04, 18, 0x1d, Linear::new(50, 0)),
        // 0.06 V steps, 0..15.3 (12.06 and 13.2 are exact).
        SensorKind::Voltage => (0x02, 4, 0x07, Linear::new(6, -2)),
        // Sensor type Current with unit Watts, as ipmi_sim does; 5 W steps, 0..1275.
        SensorKind::Power => (0x03, 6, 0x13, Linear::new(5, 0)),
        // 0.1 A steps.
        SensorKind::Current => (0x03, 5, 0x07, Linear::new(1, -1)),
        SensorKind::Other => (0x0b, 0, 0x07, Linear::new(1, 0)),
    }
}

/// Every sensor of `st` in SDR order (numbers from 1).
pub(crate) fn sensors(st: &SimState) -> Vec<SimSdrSensor> {
    let mut out = Vec::new();
    let mut number: u8 = 0;
    let mut instances = [0u8; 16];
    let mut next = |number: &mut u8, slot: usize| {
        *number = number.wrapping_add(1);
        let i = instances.get_mut(slot).map_or(1, |i| {
            *i = i.wrapping_add(1);
            *i
        });
        (*number, i)
    };
    for s in &st.sensors {
        let (sensor_type, unit, entity, conv) = class_of(s.kind);
        let (n, instance) = next(&mut number, usize::from(sensor_type));
        out.push(SimSdrSensor {
            number: n,
            instance,
            name: s.name.clone(),
            measure: Measure::Threshold {
                sensor_type,
                unit,
                entity,
                conv,
                value: s.reading,
                upper_critical: s.upper_critical,
            },
        });
    }
    let (sensor_type, unit, entity, conv) = class_of(SensorKind::Power);
    let (n, instance) = next(&mut number, usize::from(sensor_type));
    out.push(SimSdrSensor {
        number: n,
        instance,
        name: "Pwr Consumption".into(),
        measure: Measure::Threshold {
            sensor_type,
            unit,
            entity,
            conv,
            value: st.consumed_watts,
            upper_critical: None,
        },
    });
    for p in &st.psus {
        let (n, instance) = next(&mut number, 0);
        out.push(SimSdrSensor {
            number: n,
            instance,
            name: p.name.clone(),
            measure: Measure::Psu { health: p.health },
        });
    }
    out
}

/// The ID string's type/length byte (8-bit ASCII) and bytes, at most 16.
fn id_string(name: &str) -> Vec<u8> {
    let bytes: Vec<u8> = name.bytes().take(MAX_NAME).collect();
    let mut out = vec![0xc0 | bytes.len() as u8];
    out.extend(bytes);
    out
}

/// Prepends the 5-byte record header (record ID, version, type, length).
fn with_header(id: u16, record_type: u8, body: Vec<u8>) -> Vec<u8> {
    let mut out = id.to_le_bytes().to_vec();
    out.extend_from_slice(&[SDR_VERSION, record_type, body.len() as u8]);
    out.extend(body);
    out
}

fn mc_locator(id: u16) -> Vec<u8> {
    // Slave address, channel 0, no notification flags, capabilities as Get Device ID says, 3 reserved,
    // entity 0x06 (system management module) instance 1, OEM 0.
    let mut body = vec![
        OWNER,
        0x00,
        0x00,
        super::cmd::DEVICE_SUPPORT,
        0,
        0,
        0,
        0x06,
        0x01,
        0x00,
    ];
    body.extend(id_string(MC_NAME));
    with_header(id, 0x12, body)
}

fn full_record(id: u16, s: &SimSdrSensor) -> Option<Vec<u8>> {
    let Measure::Threshold {
        sensor_type,
        unit,
        entity,
        conv,
        upper_critical,
        ..
    } = s.measure
    else {
        return None;
    };
    let uc = upper_critical.map(|v| conv.to_raw(v));
    let event_mask: u16 = if uc.is_some() { 0x0200 } else { 0 };
    let readable: u8 = if uc.is_some() { 0x10 } else { 0 };
    let m = conv.m.to_le_bytes();
    let b = conv.b.to_le_bytes();
    let exps = ((conv.r_exp as u8 & 0x0f) << 4) | (conv.b_exp as u8 & 0x0f);
    let mut body = vec![OWNER, 0x00, s.number, entity, s.instance];
    // Init: scanning, events, type; event generation and scanning enabled. Caps: auto re-arm,
    // thresholds readable, no hysteresis, no event message control.
    body.extend_from_slice(&[0x67, 0x44, sensor_type, 0x01]);
    body.extend_from_slice(&event_mask.to_le_bytes());
    body.extend_from_slice(&event_mask.to_le_bytes());
    body.extend_from_slice(&[readable, 0x00]);
    // Units: unsigned, no rate/modifier; base unit; no modifier unit; linear.
    body.extend_from_slice(&[0x00, unit, 0x00, 0x00]);
    body.extend_from_slice(&[
        m[0],
        (m[1] & 0x03) << 6,
        b[0],
        (b[1] & 0x03) << 6,
        0x00,
        exps,
    ]);
    // Analog flags, nominal, normal max/min, sensor max/min.
    body.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0xff, 0x00]);
    // Thresholds unr, ucr, unc, lnr, lcr, lnc; hysteresis +/-; 2 reserved; OEM.
    body.extend_from_slice(&[0, uc.unwrap_or(0), 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    body.extend(id_string(&s.name));
    Some(with_header(id, 0x01, body))
}

fn compact_record(id: u16, s: &SimSdrSensor) -> Vec<u8> {
    // Presence, failure, predictive failure: asserted, deasserted and readable.
    let mask = 0x0007u16.to_le_bytes();
    let mut body = vec![
        OWNER, 0x00, s.number, 0x0a, s.instance, 0x67, 0x40, 0x08, 0x6f,
    ];
    for _ in 0..3 {
        body.extend_from_slice(&mask);
    }
    // No analog reading; share count 1; no hysteresis; 3 reserved; OEM.
    body.extend_from_slice(&[0xc0, 0x00, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 0]);
    body.extend(id_string(&s.name));
    with_header(id, 0x02, body)
}

/// The SDR repository: every record with its 5-byte header; record IDs are index + 1.
pub(crate) fn records(st: &SimState) -> Vec<Vec<u8>> {
    let mut out = vec![mc_locator(1)];
    for s in sensors(st) {
        let id = out.len() as u16 + 1;
        let rec = full_record(id, &s).unwrap_or_else(|| compact_record(id, &s));
        out.push(rec);
    }
    out
}

/// Get Sensor Reading response data (4 bytes) for `s`.
pub(crate) fn reading(s: &SimSdrSensor) -> Vec<u8> {
    match &s.measure {
        Measure::Threshold {
            conv,
            value,
            upper_critical,
            ..
        } => {
            let raw = conv.to_raw(*value);
            let above_uc = upper_critical.is_some_and(|uc| raw >= conv.to_raw(uc));
            vec![raw, 0xc0, if above_uc { 0x10 } else { 0x00 }, 0x00]
        }
        Measure::Psu { health } => {
            let bits = 0x01
                | match health {
                    Health::Ok => 0x00,
                    Health::Warning => 0x04,
                    Health::Critical | Health::Unknown => 0x02,
                };
            vec![0x00, 0xc0, bits, 0x00]
        }
    }
}

/// Get Sensor Thresholds response data: readable mask, then lnc, lcr, lnr, unc, ucr, unr.
pub(crate) fn thresholds(s: &SimSdrSensor) -> Vec<u8> {
    match &s.measure {
        Measure::Threshold {
            conv,
            upper_critical: Some(uc),
            ..
        } => vec![0x10, 0, 0, 0, 0, conv.to_raw(*uc), 0],
        _ => vec![0; 7],
    }
}

/// Type/length byte + bytes of a FRU field (8-bit ASCII, at most 63 bytes; never the 0xc1 end mark).
fn fru_field(s: &str) -> Vec<u8> {
    let mut bytes: Vec<u8> = s.bytes().take(63).collect();
    if bytes.len() == 1 {
        bytes.push(b' ');
    }
    let mut out = vec![0xc0 | bytes.len() as u8];
    out.extend(bytes);
    out
}

/// Closes a FRU area: end mark, zero pad to a multiple of 8 (checksum included), length byte, checksum.
fn fru_area(mut area: Vec<u8>) -> Vec<u8> {
    area.push(0xc1);
    while !(area.len() + 1).is_multiple_of(8) {
        area.push(0);
    }
    let blocks = ((area.len() + 1) / 8) as u8;
    if let Some(len) = area.get_mut(1) {
        *len = blocks;
    }
    area.push(checksum(&area));
    area
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b))
        .wrapping_neg()
}

/// Minutes from 1996-01-01 to 2025-01-01 00:00 UTC (the board's manufacturing date).
const MFG_MINUTES: u32 = 10_593 * 24 * 60;

/// FRU 0: common header, chassis (rack mount), board ("bmc-catcher" / "Sim Board") and product
/// ("bmc-catcher" / "Sim 1U", `serial`: the BMC's) areas.
pub(crate) fn fru_image(serial: &str) -> Vec<u8> {
    let mut chassis = vec![0x01, 0x00, 0x17];
    for f in ["SIM-CH-1U", serial] {
        chassis.extend(fru_field(f));
    }
    let chassis = fru_area(chassis);
    let mut board = vec![0x01, 0x00, 0x00];
    board.extend_from_slice(&MFG_MINUTES.to_le_bytes()[..3]);
    let board_serial = format!("MB-{serial}");
    for f in ["bmc-catcher", "Sim Board", &board_serial, "SIM-MB-1", ""] {
        board.extend(fru_field(f));
    }
    let board = fru_area(board);
    let mut product = vec![0x01, 0x00, 0x00];
    let asset = format!("ASSET-{serial}");
    for f in ["bmc-catcher", "Sim 1U", "SIM-1U", "1.0", serial, &asset, ""] {
        product.extend(fru_field(f));
    }
    let product = fru_area(product);
    let chassis_at = 1u8;
    let board_at = chassis_at + (chassis.len() / 8) as u8;
    let product_at = board_at + (board.len() / 8) as u8;
    let mut header = vec![0x01, 0x00, chassis_at, board_at, product_at, 0x00, 0x00];
    header.push(checksum(&header));
    let mut out = header;
    out.extend(chassis);
    out.extend(board);
    out.extend(product);
    out
}

#[cfg(test)]
mod tests;
