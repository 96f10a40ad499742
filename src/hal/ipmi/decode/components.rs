//! Discrete sensors of the component types decoded into the same component health words the
//! Redfish backend reports: drive slot (sensor type 0x0d) as a [`Drive`], memory (0x0c) as a
//! [`Dimm`], processor (0x07) as a [`Cpu`], with the generic sensor-specific offsets of IPMI 2.0
//! table 42-3. The power unit (0x09) is decoded in [`power_unit`] as a PSU-like part. Pure: takes
//! the SDR record and the Get Sensor Reading response, never panics.

use super::reading::SensorReading;
use super::sdr::SdrRecord;
use crate::model::{Cpu, Dimm, Drive, Health, Part, Psu};

/// A component a discrete sensor describes.
#[derive(Debug, Clone, PartialEq)]
pub enum IpmiPart {
    Drive(Drive),
    Dimm(Dimm),
    Cpu(Cpu),
}

/// Sensor-specific reading type.
const SENSOR_SPECIFIC: u8 = 0x6f;

/// The health from the offsets set: any `critical` one, else any `warning` one, else ok.
fn health(r: &SensorReading, critical: &[u8], warning: &[u8]) -> Health {
    if !r.is_valid() {
        Health::Unknown
    } else if critical.iter().any(|o| r.state(*o)) {
        Health::Critical
    } else if warning.iter().any(|o| r.state(*o)) {
        Health::Warning
    } else {
        Health::Ok
    }
}

fn part(id: String, name: &str, health: Health, state: &str) -> Part {
    Part {
        id,
        name: name.to_string(),
        health,
        state: Some(state.to_string()),
    }
}

/// The component a discrete sensor of type drive slot, memory or processor describes.
pub fn to_component(record: &SdrRecord, reading: &SensorReading) -> Option<IpmiPart> {
    if record.event_reading_type != SENSOR_SPECIFIC {
        return None;
    }
    decode(record.sensor_type, record.id(), &record.name, reading)
}

/// [`to_component`] from the sensor type, id and name.
pub fn decode(sensor_type: u8, id: String, name: &str, r: &SensorReading) -> Option<IpmiPart> {
    match sensor_type {
        // 0 presence, 1 fault, 2 predictive failure, 5 in critical array, 6 in failed array,
        // 8 rebuild aborted.
        0x0d => {
            let present = r.state(0);
            let h = health(r, &[1, 6], &[2, 5, 8]);
            let (h, state) = match (r.is_valid(), present, h) {
                (true, false, Health::Ok) => (Health::Unknown, "Absent"),
                _ => (h, "Enabled"),
            };
            Some(IpmiPart::Drive(Drive {
                part: part(id, name, h, state),
                failure_predicted: r.is_valid().then(|| r.state(2)),
                life_left_percent: None,
                capacity_bytes: None,
                media_type: None,
                model: None,
            }))
        }
        // 0 correctable ECC, 1 uncorrectable ECC, 2 parity, 3 scrub failed, 4 device disabled,
        // 5 correctable ECC logging limit, 7 configuration error, 10 critical overtemperature.
        0x0c => {
            let state = if r.state(4) { "Disabled" } else { "Enabled" };
            Some(IpmiPart::Dimm(Dimm {
                part: part(id, name, health(r, &[1, 2, 3, 10], &[0, 4, 5, 7]), state),
                capacity_mib: None,
                correctable_errors: None,
                uncorrectable_errors: None,
            }))
        }
        // 0 IERR, 1 thermal trip, 2-4 FRB1-3, 5 configuration error, 6 uncorrectable CPU-complex
        // error, 8 disabled, 10 throttled, 11 machine check, 12 correctable machine check.
        0x07 => {
            let state = if r.state(8) { "Disabled" } else { "Enabled" };
            Some(IpmiPart::Cpu(Cpu {
                part: part(
                    id,
                    name,
                    health(r, &[0, 1, 2, 3, 4, 6, 11], &[5, 10, 12]),
                    state,
                ),
                model: None,
            }))
        }
        _ => None,
    }
}

/// A power unit sensor (type 0x09) as a PSU-like part: 4 AC lost and 6 failure detected are
/// critical, 3 interlock, 5 soft power control failure and 7 predictive failure warning.
pub fn power_unit(record: &SdrRecord, r: &SensorReading) -> Option<Psu> {
    if record.sensor_type != 0x09 || record.event_reading_type != SENSOR_SPECIFIC {
        return None;
    }
    Some(Psu {
        id: record.id(),
        name: record.name.clone(),
        health: health(r, &[4, 6], &[3, 5, 7]),
        state: if r.state(0) { "Off" } else { "Enabled" }.to_string(),
        input_watts: None,
        output_watts: None,
        capacity_watts: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::ipmi::decode::reading::parse_sensor_reading;

    /// A Get Sensor Reading response with discrete states `states` (bits 0-14).
    fn reading(states: u16) -> SensorReading {
        let [lo, hi] = states.to_le_bytes();
        parse_sensor_reading(&[0, 0xc0, lo, hi]).expect("reading")
    }

    fn drive(states: u16) -> Drive {
        match decode(0x0d, "d".into(), "Drive 0", &reading(states)) {
            Some(IpmiPart::Drive(d)) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn drive_slot_states_become_health() {
        let ok = drive(0b1);
        assert_eq!(
            (ok.part.health, ok.failure_predicted),
            (Health::Ok, Some(false))
        );
        assert_eq!(drive(0b11).part.health, Health::Critical, "fault");
        let p = drive(0b101);
        assert_eq!(
            (p.part.health, p.failure_predicted),
            (Health::Warning, Some(true))
        );
        assert_eq!(
            drive(0b100_0001).part.health,
            Health::Critical,
            "in failed array"
        );
        let empty = drive(0);
        assert!(empty.part.absent());
    }

    #[test]
    fn memory_and_processor_states_become_health() {
        let dimm = |s| match decode(0x0c, "m".into(), "DIMM A1", &reading(s)) {
            Some(IpmiPart::Dimm(d)) => d.part.health,
            other => panic!("{other:?}"),
        };
        assert_eq!(dimm(0), Health::Ok);
        assert_eq!(dimm(0b1), Health::Warning, "correctable ECC");
        assert_eq!(dimm(0b10), Health::Critical, "uncorrectable ECC");
        let cpu = |s| match decode(0x07, "c".into(), "CPU0", &reading(s)) {
            Some(IpmiPart::Cpu(c)) => c.part.health,
            other => panic!("{other:?}"),
        };
        assert_eq!(cpu(1 << 7), Health::Ok, "presence only");
        assert_eq!(cpu(1), Health::Critical, "IERR");
        assert_eq!(cpu(1 << 10), Health::Warning, "throttled");
        assert!(decode(0x01, "t".into(), "Temp", &reading(0)).is_none());
    }

    #[test]
    fn an_unreadable_sensor_is_unknown_not_ok() {
        let r = parse_sensor_reading(&[0, 0xe0, 0x02, 0x00]).expect("reading");
        match decode(0x0c, "m".into(), "DIMM", &r) {
            Some(IpmiPart::Dimm(d)) => assert_eq!(d.part.health, Health::Unknown),
            other => panic!("{other:?}"),
        }
    }
}
