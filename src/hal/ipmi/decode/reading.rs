//! Get Sensor Reading (0x04 0x2d) decoding and the step from (SDR record, reading) to the
//! daemon's [`Sensor`] and [`Psu`].
//!
//! `ipmi-rs-core` 0.6 decodes the reading byte, the "scanning disabled" / "reading unavailable"
//! flags and the threshold comparison bits (`GetSensorReading` + `ThresholdReading`); its raw
//! reading type keeps the discrete state bytes private, so those are read here. The health and
//! power-supply mapping is ours.

use ipmi_rs_core::connection::IpmiCommand;
use ipmi_rs_core::sensor_event::{GetSensorReading, ThresholdReading};

use super::sdr::{SdrRecord, convert};
use crate::model::{Health, Psu, Sensor};

/// What was wrong with a Get Sensor Reading response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadingError {
    #[error("Get Sensor Reading response too short: need 2 bytes, got {0}")]
    TooShort(usize),
}

/// Threshold comparison bits (response byte 3).
pub mod status {
    pub const LOWER_NON_CRITICAL: u8 = 0x01;
    pub const LOWER_CRITICAL: u8 = 0x02;
    pub const LOWER_NON_RECOVERABLE: u8 = 0x04;
    pub const UPPER_NON_CRITICAL: u8 = 0x08;
    pub const UPPER_CRITICAL: u8 = 0x10;
    pub const UPPER_NON_RECOVERABLE: u8 = 0x20;
}

/// A decoded Get Sensor Reading response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SensorReading {
    /// The raw reading byte (meaningful for threshold sensors).
    pub raw: u8,
    pub event_messages_disabled: bool,
    pub scanning_disabled: bool,
    pub unavailable: bool,
    /// Threshold comparison bits (see [`status`]); 0 when the BMC omitted them.
    pub threshold_status: u8,
    /// Discrete state bits 0..=14 (bytes 3 and 4); 0 when omitted.
    pub states: u16,
}

impl SensorReading {
    /// True when the reading byte may be used: neither unavailable nor scanning disabled.
    pub fn is_valid(&self) -> bool {
        !self.unavailable && !self.scanning_disabled
    }

    /// Health from the threshold bits, as ipmitool's ok/nc/cr/nr; `Unknown` when invalid.
    pub fn threshold_health(&self) -> Health {
        if !self.is_valid() {
            return Health::Unknown;
        }
        let s = self.threshold_status;
        let crit = status::LOWER_CRITICAL
            | status::LOWER_NON_RECOVERABLE
            | status::UPPER_CRITICAL
            | status::UPPER_NON_RECOVERABLE;
        if s & crit != 0 {
            Health::Critical
        } else if s & (status::LOWER_NON_CRITICAL | status::UPPER_NON_CRITICAL) != 0 {
            Health::Warning
        } else {
            Health::Ok
        }
    }

    /// Whether discrete state bit `offset` (0..=14) is asserted.
    pub fn state(&self, offset: u8) -> bool {
        offset < 15 && self.states & (1 << offset) != 0
    }
}

/// Decodes a Get Sensor Reading response (completion code stripped).
pub fn parse_sensor_reading(data: &[u8]) -> Result<SensorReading, ReadingError> {
    let raw = GetSensorReading::parse_success_response(data)
        .map_err(|_| ReadingError::TooShort(data.len()))?;
    let t = ThresholdReading::from(&raw);
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    // ThresholdReading hides the bits when the reading is unavailable; keep them anyway.
    let threshold_status = t.threshold_status.map_or(byte(2) & 0x3f, |s| {
        u8::from(s.at_or_below_lower_non_critical)
            | u8::from(s.at_or_below_lower_critical) << 1
            | u8::from(s.at_or_below_lower_non_recoverable) << 2
            | u8::from(s.at_or_above_upper_non_critical) << 3
            | u8::from(s.at_or_above_upper_critical) << 4
            | u8::from(s.at_or_above_non_recoverable) << 5
    });
    Ok(SensorReading {
        raw: byte(0),
        event_messages_disabled: t.all_event_messages_disabled,
        scanning_disabled: t.scanning_disabled,
        unavailable: t.reading.is_none(),
        threshold_status,
        states: u16::from_le_bytes([byte(2), byte(3) & 0x7f]),
    })
}

/// A threshold sensor's [`Sensor`]; `None` for discrete / event-only sensors. The reading is
/// `None` when unavailable or not scanned (health `Unknown`), and for threshold sensors in
/// compact records, which carry no conversion factors.
pub fn to_sensor(record: &SdrRecord, reading: &SensorReading) -> Option<Sensor> {
    if !record.threshold_based {
        return None;
    }
    let t = record.thresholds();
    Some(Sensor {
        id: record.id(),
        name: record.name.clone(),
        kind: record.kind,
        unit: record.unit,
        reading: if reading.is_valid() {
            convert(record, reading.raw)
        } else {
            None
        },
        health: reading.threshold_health(),
        upper_critical: t.upper_critical,
        lower_critical: t.lower_critical,
    })
}

/// Power Supply (sensor type 0x08) sensor-specific offsets, IPMI 2.0 table 42-3.
pub mod psu_offset {
    pub const PRESENCE_DETECTED: u8 = 0;
    pub const FAILURE_DETECTED: u8 = 1;
    pub const PREDICTIVE_FAILURE: u8 = 2;
    pub const INPUT_LOST: u8 = 3;
    pub const INPUT_LOST_OR_OUT_OF_RANGE: u8 = 4;
    pub const INPUT_OUT_OF_RANGE_PRESENT: u8 = 5;
    pub const CONFIGURATION_ERROR: u8 = 6;
    pub const INACTIVE: u8 = 7;
}

/// A [`Psu`] from a discrete Power Supply sensor (type 0x08, sensor-specific 0x6f);
/// `None` for any other sensor.
///
/// State: "Enabled" when presence is detected, "StandbyOffline" when also inactive/standby,
/// "Absent" otherwise, "Unknown" when the reading is unavailable. Health: failure, AC lost
/// and input lost/out of range are Critical; predictive failure, input out of range but
/// present and configuration error are Warning; a present PSU without those is Ok, an
/// absent one Unknown.
pub fn to_psu(record: &SdrRecord, reading: &SensorReading) -> Option<Psu> {
    if record.sensor_type != 0x08 || record.event_reading_type != 0x6f {
        return None;
    }
    use psu_offset::*;
    let on = |o| reading.state(o);
    let (state, health) = if !reading.is_valid() {
        ("Unknown", Health::Unknown)
    } else {
        let present = on(PRESENCE_DETECTED);
        let health = if on(FAILURE_DETECTED) || on(INPUT_LOST) || on(INPUT_LOST_OR_OUT_OF_RANGE) {
            Health::Critical
        } else if on(PREDICTIVE_FAILURE)
            || on(INPUT_OUT_OF_RANGE_PRESENT)
            || on(CONFIGURATION_ERROR)
        {
            Health::Warning
        } else if present {
            Health::Ok
        } else {
            Health::Unknown
        };
        let state = match (present, on(INACTIVE)) {
            (false, _) => "Absent",
            (true, true) => "StandbyOffline",
            (true, false) => "Enabled",
        };
        (state, health)
    };
    Some(Psu {
        id: record.id(),
        name: record.name.clone(),
        health,
        state: state.to_string(),
        input_watts: None,
        output_watts: None,
        capacity_watts: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(d: &[u8]) -> SensorReading {
        parse_sensor_reading(d).expect("reading")
    }

    #[test]
    fn flags_and_health() {
        let x = r(&[0x2d, 0xc0, 0x00, 0x00]);
        assert_eq!(
            (x.raw, x.is_valid(), x.threshold_health()),
            (0x2d, true, Health::Ok)
        );
        assert!(!x.event_messages_disabled);
        assert_eq!(r(&[0, 0xc0, 0x08]).threshold_health(), Health::Warning);
        assert_eq!(r(&[0, 0xc0, 0x01]).threshold_health(), Health::Warning);
        assert_eq!(r(&[0, 0xc0, 0x18]).threshold_health(), Health::Critical);
        assert_eq!(r(&[0, 0xc0, 0x04]).threshold_health(), Health::Critical);
        assert_eq!(r(&[0, 0xc0]).threshold_health(), Health::Ok);
        let u = r(&[0, 0xe0, 0x10]);
        assert!(u.unavailable && !u.is_valid());
        assert_eq!(u.threshold_health(), Health::Unknown);
        assert_eq!(u.threshold_status, 0x10);
        let s = r(&[0xb9, 0x80, 0x10, 0x00]);
        assert!(s.scanning_disabled && !s.is_valid());
        assert!(r(&[0, 0x40]).event_messages_disabled);
        assert_eq!(parse_sensor_reading(&[1]), Err(ReadingError::TooShort(1)));
    }

    #[test]
    fn discrete_states() {
        let x = r(&[0, 0xc0, 0x09, 0x40]);
        assert!(x.state(0) && x.state(3) && x.state(14) && !x.state(1) && !x.state(15));
    }

    #[test]
    fn fuzz_never_panics() {
        let mut g = super::super::Lcg(3);
        for _ in 0..20_000 {
            let b = g.bytes(6);
            if let Ok(x) = parse_sensor_reading(&b) {
                let _ = x.threshold_health();
                let _ = x.state(g.next_u8());
            }
        }
    }
}
