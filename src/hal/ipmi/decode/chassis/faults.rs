//! The fault bits of Get Chassis Status turned into the parts the rest of a reading already has,
//! so they raise the issues those parts raise (no issue of their own):
//!
//! | bit (IPMI 2.0 table 28-3) | part | issue |
//! |---|---|---|
//! | byte 3 bit 2, drive fault | drive `chassis-status/drive-fault`, critical | `drive-failed` |
//! | byte 3 bit 3, cooling/fan fault | fan sensor `chassis-status/cooling-fault`, critical, no reading | `sensor-critical` |
//! | byte 1 bit 3, power fault; bit 4, power control fault; bit 1, power overload | PSU `chassis-status/power`, critical | `powersupply-failure` (critical) |
//! | byte 1 bit 2, interlock | PSU `chassis-status/power`, warning | `powersupply-failure` (major) |
//!
//! A part is made only while its bit is set (a clear bit is no part, so BMCs without faults carry
//! nothing extra); intrusion (byte 3 bit 0) is `components.intrusion`, decoded in the poll. Pure.

use super::ChassisStatus;
use crate::model::{Drive, Health, Part, Psu, Sensor, SensorKind, Unit};

/// The parts the set fault bits of one chassis status describe.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChassisFaults {
    pub drive: Option<Drive>,
    pub cooling: Option<Sensor>,
    pub power: Option<Psu>,
}

/// The parts for the fault bits set in `st`.
pub fn chassis_faults(st: &ChassisStatus) -> ChassisFaults {
    let drive = st.drive_fault.then(|| Drive {
        part: Part {
            id: "chassis-status/drive-fault".into(),
            name: "Chassis drive fault".into(),
            health: Health::Critical,
            state: Some("Enabled".into()),
        },
        failure_predicted: None,
        life_left_percent: None,
        capacity_bytes: None,
        media_type: None,
        model: None,
    });
    let cooling = st.fan_fault.then(|| Sensor {
        id: "chassis-status/cooling-fault".into(),
        name: "Chassis cooling/fan fault".into(),
        kind: SensorKind::Fan,
        unit: Unit::Other,
        reading: None,
        health: Health::Critical,
        upper_critical: None,
        lower_critical: None,
    });
    let mut faults = Vec::new();
    for (set, word) in [
        (st.power_fault, "power fault"),
        (st.power_control_fault, "power control fault"),
        (st.power_overload, "power overload"),
        (st.interlock, "interlock open"),
    ] {
        if set {
            faults.push(word);
        }
    }
    let power = (!faults.is_empty()).then(|| Psu {
        id: "chassis-status/power".into(),
        name: "Chassis power".into(),
        // The interlock alone (a panel opened on purpose) is a warning; the others are failures.
        health: if faults == ["interlock open"] {
            Health::Warning
        } else {
            Health::Critical
        },
        state: faults.join(", "),
        input_watts: None,
        output_watts: None,
        capacity_watts: None,
    });
    ChassisFaults {
        drive,
        cooling,
        power,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_chassis_status;
    use super::*;

    #[test]
    fn each_fault_bit_becomes_its_part_and_a_clear_status_none() {
        let none = chassis_faults(&parse_chassis_status(&[0x01, 0x00, 0x00]).expect("status"));
        assert_eq!(none, ChassisFaults::default());
        // byte 3: drive fault (bit 2) and fan fault (bit 3).
        let f = chassis_faults(&parse_chassis_status(&[0x01, 0x00, 0x0c]).expect("status"));
        assert_eq!(f.drive.map(|d| d.part.health), Some(Health::Critical));
        let fan = f.cooling.expect("fan fault");
        assert_eq!((fan.health, fan.reading), (Health::Critical, None));
        assert!(f.power.is_none());
        // byte 1: power fault (bit 3) with overload (bit 1).
        let p = chassis_faults(&parse_chassis_status(&[0x0b, 0x00, 0x00]).expect("status"))
            .power
            .expect("power fault");
        assert_eq!(p.health, Health::Critical);
        assert_eq!(p.state, "power fault, power overload");
        // The interlock alone is a warning.
        let i = chassis_faults(&parse_chassis_status(&[0x05, 0x00, 0x00]).expect("status"))
            .power
            .expect("interlock");
        assert_eq!(
            (i.health, i.state.as_str()),
            (Health::Warning, "interlock open")
        );
    }
}
