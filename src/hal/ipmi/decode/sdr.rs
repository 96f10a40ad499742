//! SDR (Sensor Data Record) decoding: our [`SdrRecord`] summary of full, compact and event-only
//! sensor records, reading/threshold conversion ([`convert`]), the repository walk helpers
//! (Reserve SDR Repository, Get SDR, Get SDR Repository Info) and [`parse_repository`].
//!
//! `ipmi-rs-core` 0.6 decodes the record layout (sensor key, entity, sensor type, event/reading
//! type, units, threshold-readable mask, analog data format, B and exponents, ID string). We
//! decode ourselves what it gets wrong or hides: M (its sign extension is wrong for negative M),
//! the linearization code (it maps 0x09..0x0B wrongly), the raw threshold bytes (private), the
//! conversion (private, f32, ignores linearization, wrong 1's complement), 6-bit/BCD ID strings,
//! and Get SDR Repository Info (it panics on short data and hides its timestamps). Its record
//! parsers index past short buffers and `panic!` on an ID-string modifier of 2 or 3, so records
//! are length-checked and those reserved bits cleared before they are handed to it.

use ipmi_rs_core::storage::sdr::Record;
use ipmi_rs_core::storage::sdr::event_reading_type_code::EventReadingTypeCodes;
use ipmi_rs_core::storage::sdr::record::{
    DataFormat, IdentifiableSensor, InstancedSensor, RecordContents, SensorId, SensorUnits,
    ThresholdKind, WithSensorRecordCommon,
};

use super::fru::{decode_6bit_ascii, decode_bcd_plus};
use crate::model::{SensorKind, Unit};

/// What was wrong with an SDR record or an SDR-repository response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdrError {
    #[error("{what} too short: need {need} bytes, got {got}")]
    TooShort {
        what: &'static str,
        need: usize,
        got: usize,
    },
    #[error(
        "SDR record {record_id:#06x} (type {record_type:#04x}) has a {got}-byte body, needs {need}"
    )]
    BodyTooShort {
        record_id: u16,
        record_type: u8,
        need: usize,
        got: usize,
    },
    #[error("SDR record {record_id:#06x} (type {record_type:#04x}) not decodable: {reason}")]
    Invalid {
        record_id: u16,
        record_type: u8,
        reason: String,
    },
}

/// Which sensor record layout a record had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdrType {
    Full = 0x01,
    Compact = 0x02,
    EventOnly = 0x03,
}

/// Analog reading format (full records, sensor units 1 bits 7:6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalogFormat {
    Unsigned,
    OnesComplement,
    TwosComplement,
    /// 0b11: the sensor returns no analog reading.
    NoReading,
}

/// Linearization function applied after the linear formula (IPMI 2.0 table 43-1 byte 24).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linearization {
    Linear,
    Ln,
    Log10,
    Log2,
    E,
    Exp10,
    Exp2,
    OneOverX,
    Sqr,
    Cube,
    Sqrt,
    CubeRoot,
    /// 0x70..=0x7F: factors change with the reading (Get Sensor Reading Factors needed).
    NonLinear(u8),
    Reserved(u8),
}

impl From<u8> for Linearization {
    fn from(v: u8) -> Self {
        use Linearization::*;
        match v & 0x7f {
            0 => Linear,
            1 => Ln,
            2 => Log10,
            3 => Log2,
            4 => E,
            5 => Exp10,
            6 => Exp2,
            7 => OneOverX,
            8 => Sqr,
            9 => Cube,
            0x0a => Sqrt,
            0x0b => CubeRoot,
            v @ 0x70..=0x7f => NonLinear(v),
            v => Reserved(v),
        }
    }
}

/// Conversion factors: `y = L[(M*x + B*10^Bexp) * 10^Rexp]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Factors {
    pub m: i16,
    pub b: i16,
    pub b_exp: i8,
    pub r_exp: i8,
    pub format: AnalogFormat,
    pub linearization: Linearization,
}

impl Factors {
    /// Converts a raw byte; `None` when the sensor has no analog reading, the linearization
    /// needs dynamic factors, or the result is not finite (e.g. ln of a negative number).
    pub fn convert(&self, raw: u8) -> Option<f64> {
        let x = match self.format {
            AnalogFormat::Unsigned => f64::from(raw),
            // ones' complement: negative n is stored as !n; +1 turns it into two's complement
            // (0xFF, "-0", wraps to 0).
            AnalogFormat::OnesComplement if raw & 0x80 != 0 => f64::from(raw.wrapping_add(1) as i8),
            AnalogFormat::OnesComplement | AnalogFormat::TwosComplement => f64::from(raw as i8),
            AnalogFormat::NoReading => return None,
        };
        let lin = (f64::from(self.m) * x + f64::from(self.b) * 10f64.powi(i32::from(self.b_exp)))
            * 10f64.powi(i32::from(self.r_exp));
        use Linearization::*;
        let y = match self.linearization {
            Linear => lin,
            Ln => lin.ln(),
            Log10 => lin.log10(),
            Log2 => lin.log2(),
            E => lin.exp(),
            Exp10 => 10f64.powf(lin),
            Exp2 => lin.exp2(),
            OneOverX => 1.0 / lin,
            Sqr => lin * lin,
            Cube => lin * lin * lin,
            Sqrt => lin.sqrt(),
            CubeRoot => lin.cbrt(),
            NonLinear(_) | Reserved(_) => return None,
        };
        y.is_finite().then_some(y)
    }
}

/// One value per threshold (raw bytes or converted values); `None` = not readable.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ThresholdSet<T> {
    pub lower_non_recoverable: Option<T>,
    pub lower_critical: Option<T>,
    pub lower_non_critical: Option<T>,
    pub upper_non_critical: Option<T>,
    pub upper_critical: Option<T>,
    pub upper_non_recoverable: Option<T>,
}

impl<T: Copy> ThresholdSet<T> {
    pub fn map<U>(&self, f: impl Fn(T) -> Option<U>) -> ThresholdSet<U> {
        ThresholdSet {
            lower_non_recoverable: self.lower_non_recoverable.and_then(&f),
            lower_critical: self.lower_critical.and_then(&f),
            lower_non_critical: self.lower_non_critical.and_then(&f),
            upper_non_critical: self.upper_non_critical.and_then(&f),
            upper_critical: self.upper_critical.and_then(&f),
            upper_non_recoverable: self.upper_non_recoverable.and_then(&f),
        }
    }
}

/// Our summary of one sensor SDR.
#[derive(Debug, Clone, PartialEq)]
pub struct SdrRecord {
    pub record_id: u16,
    pub record_type: SdrType,
    /// Sensor owner ID byte (slave address / software ID incl. bit 0).
    pub owner_id: u8,
    pub owner_lun: u8,
    pub channel: u8,
    pub sensor_number: u8,
    pub entity_id: u8,
    pub name: String,
    /// IPMI sensor type code (0x01 temperature, 0x08 power supply, ...).
    pub sensor_type: u8,
    /// Event/reading type code (0x01 threshold, 0x6f sensor-specific, ...).
    pub event_reading_type: u8,
    /// IPMI base unit code (1 = degrees C, 4 = V, 5 = A, 6 = W, 18 = RPM, ...).
    pub base_unit: u8,
    pub percentage: bool,
    pub kind: SensorKind,
    pub unit: Unit,
    pub threshold_based: bool,
    /// Conversion factors; full records only.
    pub factors: Option<Factors>,
    /// Raw values of the readable thresholds (full records only).
    pub thresholds_raw: ThresholdSet<u8>,
}

impl SdrRecord {
    /// The sensor's stable identity, unique in a well-formed repository where names need not be:
    /// its sensor key (owner ID, channel, owner LUN, sensor number) in hex, `20:0:0:30`.
    pub fn id(&self) -> String {
        format!(
            "{:02x}:{:x}:{:x}:{:02x}",
            self.owner_id, self.channel, self.owner_lun, self.sensor_number
        )
    }

    /// Decodes one record (5-byte header + body; extra trailing bytes are ignored).
    /// `Ok(None)` for record types we do not use (locators, OEM, ...).
    pub fn parse(bytes: &[u8]) -> Result<Option<SdrRecord>, SdrError> {
        let [id_lo, id_hi, _ver, record_type, len, ..] = *bytes else {
            return Err(SdrError::TooShort {
                what: "SDR record",
                need: 5,
                got: bytes.len(),
            });
        };
        let record_id = u16::from_le_bytes([id_lo, id_hi]);
        let (kind, need) = match record_type {
            0x01 => (SdrType::Full, 43),
            0x02 => (SdrType::Compact, 27),
            0x03 => (SdrType::EventOnly, 12),
            _ => return Ok(None),
        };
        let body_len = usize::from(len).min(bytes.len() - 5);
        if body_len < need || body_len < usize::from(len) {
            let got = body_len;
            return Err(SdrError::BodyTooShort {
                record_id,
                record_type,
                need: need.max(usize::from(len)),
                got,
            });
        }
        let mut rec = bytes[..5 + body_len].to_vec();
        // Reserved values ipmi-rs-core would panic on or reject; we use neither field.
        match kind {
            SdrType::Full if rec[5 + 23] & 3 == 3 => rec[5 + 23] &= !3, // sensor direction
            SdrType::Compact => rec[5 + 18] &= !0x20, // ID string instance modifier type
            SdrType::EventOnly => rec[5 + 7] &= !0x20,
            SdrType::Full => {}
        }
        let invalid = |reason: String| SdrError::Invalid {
            record_id,
            record_type,
            reason,
        };
        let parsed = Record::parse(&rec).map_err(|e| invalid(format!("{e:?}")))?;
        let body = &rec[5..];
        let (key, name, sensor_type, ertc, entity_id, units) = match &parsed.contents {
            RecordContents::FullSensor(s) => (
                *s.key_data(),
                s.id_string(),
                *s.ty(),
                *s.event_reading_type_codes(),
                s.entity_id(),
                Some(s.common().sensor_units),
            ),
            RecordContents::CompactSensor(s) => (
                *s.key_data(),
                s.id_string(),
                *s.ty(),
                *s.event_reading_type_codes(),
                s.entity_id(),
                Some(s.common().sensor_units),
            ),
            RecordContents::EventOnlySensor(s) => (
                s.key,
                &s.id_string,
                s.ty,
                s.event_reading_type_code,
                s.entity_id,
                None,
            ),
            _ => return Err(invalid("unexpected record contents".into())),
        };
        let (base_unit, percentage) = units.map_or((0, false), |u: SensorUnits| {
            (u8::from(u.base_unit), u.is_percentage)
        });
        let sensor_type = u8::from(sensor_type);
        let (k, unit) = classify(sensor_type, base_unit, percentage);
        let mut out = SdrRecord {
            record_id,
            record_type: kind,
            owner_id: u8::from(key.owner_id),
            owner_lun: key.owner_lun.value(),
            channel: key.owner_channel.value(),
            sensor_number: key.sensor_number.get(),
            entity_id,
            name: sensor_name(name),
            sensor_type,
            event_reading_type: body[8],
            base_unit,
            percentage,
            kind: k,
            unit,
            threshold_based: ertc == EventReadingTypeCodes::Threshold,
            factors: None,
            thresholds_raw: ThresholdSet::default(),
        };
        if let RecordContents::FullSensor(full) = &parsed.contents {
            let m10 = (u16::from(body[20] >> 6) << 8) | u16::from(body[19]);
            let m = if m10 & 0x200 != 0 {
                m10 as i16 - 0x400
            } else {
                m10 as i16
            };
            out.factors = Some(Factors {
                m,
                b: full.b,
                b_exp: full.b_exponent,
                r_exp: full.result_exponent,
                format: match full.analog_data_format {
                    Some(DataFormat::Unsigned) => AnalogFormat::Unsigned,
                    Some(DataFormat::OnesComplement) => AnalogFormat::OnesComplement,
                    Some(DataFormat::TwosComplement) => AnalogFormat::TwosComplement,
                    None => AnalogFormat::NoReading,
                },
                linearization: Linearization::from(body[18]),
            });
            let access = full.capabilities().threshold_access;
            let raw = |kind, i: usize| access.readable(kind).then_some(body[i]);
            out.thresholds_raw = ThresholdSet {
                upper_non_recoverable: raw(ThresholdKind::UpperNonRecoverable, 31),
                upper_critical: raw(ThresholdKind::UpperCritical, 32),
                upper_non_critical: raw(ThresholdKind::UpperNonCritical, 33),
                lower_non_recoverable: raw(ThresholdKind::LowerNonRecoverable, 34),
                lower_critical: raw(ThresholdKind::LowerCritical, 35),
                lower_non_critical: raw(ThresholdKind::LowerNonCritical, 36),
            };
        }
        Ok(Some(out))
    }

    /// The readable thresholds, converted like readings.
    pub fn thresholds(&self) -> ThresholdSet<f64> {
        self.thresholds_raw.map(|raw| convert(self, raw))
    }
}

/// Converts a raw reading or threshold byte of `record` (full records only).
pub fn convert(record: &SdrRecord, raw: u8) -> Option<f64> {
    record.factors.and_then(|f| f.convert(raw))
}

fn sensor_name(id: &SensorId) -> String {
    let s = match id {
        SensorId::Unicode(s) | SensorId::Ascii8BAndLatin1(s) => s.clone(),
        SensorId::BCDPlus(b) => decode_bcd_plus(b),
        SensorId::Ascii6BPacked(b) => decode_6bit_ascii(b),
    };
    s.trim_end_matches([' ', '\0']).to_string()
}

/// Our kind/unit from the sensor type and base unit. The unit wins where it is unambiguous:
/// vendors (and ipmi_sim's "Pwr Consumption") put watts on sensor type Current (0x03).
pub fn classify(sensor_type: u8, base_unit: u8, percentage: bool) -> (SensorKind, Unit) {
    let unit = match base_unit {
        _ if percentage => Unit::Percent,
        1 => Unit::Celsius,
        4 => Unit::Volts,
        5 => Unit::Amperes,
        6 => Unit::Watts,
        18 => Unit::Rpm,
        _ => Unit::Other,
    };
    let kind = match (unit, sensor_type) {
        (Unit::Watts, _) => SensorKind::Power,
        (Unit::Rpm, _) | (_, 0x04) => SensorKind::Fan,
        (Unit::Celsius, _) | (_, 0x01) => SensorKind::Temperature,
        (Unit::Volts, _) | (_, 0x02) => SensorKind::Voltage,
        (Unit::Amperes, _) | (_, 0x03) => SensorKind::Current,
        _ => SensorKind::Other,
    };
    (kind, unit)
}

/// Decodes every record, keeping sensor records; unused types are skipped silently and
/// undecodable records become warnings.
pub fn parse_repository(records: &[Vec<u8>]) -> (Vec<SdrRecord>, Vec<SdrError>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for r in records {
        match SdrRecord::parse(r) {
            Ok(Some(rec)) => out.push(rec),
            Ok(None) => {}
            Err(e) => warnings.push(e),
        }
    }
    (out, warnings)
}

mod repository;
pub use repository::*;

#[cfg(test)]
mod tests;
