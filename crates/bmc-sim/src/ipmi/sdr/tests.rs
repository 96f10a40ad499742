//! Pure tests of the SDR records, the reading conversion and the FRU image.

use super::*;
use crate::state::MacAddr;
use crate::state::{SimBmc, SimShape};

fn bmc(index: u32) -> SimBmc {
    SimBmc::new(
        MacAddr([2, 0, 0, 0, 0, 1]),
        index,
        SimShape::Legacy,
        "admin",
        "password",
    )
}

fn sum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b))
}

/// Sensor type, unit and conversion of a full record (bytes with the 5-byte header).
fn full_fields(rec: &[u8]) -> (u8, u8, Linear) {
    let m = i16::from(rec[24]) | (i16::from(rec[25] >> 6) << 8);
    let b = i16::from(rec[26]) | (i16::from(rec[27] >> 6) << 8);
    let nibble = |n: u8| ((n << 4) as i8) >> 4;
    let conv = Linear {
        m,
        b,
        b_exp: nibble(rec[29] & 0x0f),
        r_exp: nibble(rec[29] >> 4),
    };
    (rec[12], rec[21], conv)
}

fn id_string(rec: &[u8], at: usize) -> String {
    let len = usize::from(rec[at] & 0x1f);
    String::from_utf8_lossy(&rec[at + 1..at + 1 + len]).into_owned()
}

#[test]
fn every_simulated_value_round_trips_exactly() {
    let cases: Vec<(SensorKind, f64)> = (0..7)
        .flat_map(|i| {
            let v = f64::from(i);
            [
                (SensorKind::Temperature, 41.0 + v),
                (SensorKind::Temperature, 24.0 + v / 2.0),
                (SensorKind::Fan, 6000.0 + 100.0 * v),
                (SensorKind::Fan, 5700.0 + 100.0 * v),
                (SensorKind::Power, 340.0 + 10.0 * v),
            ]
        })
        .chain([
            (SensorKind::Voltage, 12.06),
            (SensorKind::Voltage, 13.2),
            (SensorKind::Temperature, 90.0),
            (SensorKind::Temperature, 45.0),
        ])
        .collect();
    for (kind, value) in cases {
        let (_, _, _, conv) = class_of(kind);
        let back = conv.to_value(conv.to_raw(value));
        assert!((back - value).abs() < 1e-9, "{kind:?} {value} -> {back}");
    }
    let (_, _, _, temp) = class_of(SensorKind::Temperature);
    assert_eq!(temp.to_raw(-5.0), 0);
    assert_eq!(temp.to_raw(1e9), 255);
    assert_eq!(temp.to_raw(f64::NAN), 0);
}

#[test]
fn records_describe_every_sensor() {
    let bmc = bmc(4);
    let mut st = bmc.state().clone();
    st.sensors[0].name = "A very long sensor name".into();
    let records = records(&st);
    let types: Vec<u8> = records.iter().map(|r| r[3]).collect();
    assert_eq!(types, [0x12, 1, 1, 1, 1, 1, 1, 2, 2]);
    for (i, rec) in records.iter().enumerate() {
        assert_eq!(u16::from_le_bytes([rec[0], rec[1]]), i as u16 + 1);
        assert_eq!(rec[2], SDR_VERSION);
        assert_eq!(usize::from(rec[4]), rec.len() - 5, "record {i}");
    }
    assert_eq!(id_string(&records[0], 15), "Sim BMC");
    assert_eq!(id_string(&records[1], 47), "A very long sens");
    let names: Vec<String> = records[2..7].iter().map(|r| id_string(r, 47)).collect();
    assert_eq!(
        names,
        ["Intake Temp", "Fan1", "Fan2", "12V", "Pwr Consumption"]
    );
    assert_eq!(id_string(&records[7], 31), "PSU1");
    let numbers: Vec<u8> = records[1..].iter().map(|r| r[7]).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7, 8]);
    // CPU temperature: type 0x01, degrees C, upper critical 90 readable.
    let (stype, unit, conv) = full_fields(&records[1]);
    assert_eq!((stype, unit), (0x01, 1));
    assert_eq!(conv.to_value(records[1][37]), 90.0);
    assert_eq!(records[1][18], 0x10);
    let (stype, unit, conv) = full_fields(&records[5]);
    assert_eq!((stype, unit, records[5][37]), (0x02, 4, 220));
    assert!((conv.to_value(220) - 13.2).abs() < 1e-9);
    let (stype, unit, _) = full_fields(&records[3]);
    assert_eq!((stype, unit, records[3][18]), (0x04, 18, 0x00));
    let (stype, unit, _) = full_fields(&records[6]);
    assert_eq!((stype, unit), (0x03, 6));
    // PSUs: sensor type Power Supply, sensor-specific, no analog reading.
    assert_eq!(
        (records[7][12], records[7][13], records[7][20]),
        (0x08, 0x6f, 0xc0)
    );
}

#[test]
fn readings_convert_live_values_and_threshold_bits() {
    let bmc = bmc(0);
    let mut st = bmc.state().clone();
    st.sensors[0].reading = 90.0;
    st.sensors[4].reading = 12.06;
    st.psus[1].health = Health::Warning;
    let sensors = sensors(&st);
    assert_eq!(reading(&sensors[0]), vec![180, 0xc0, 0x10, 0]);
    assert_eq!(reading(&sensors[4]), vec![201, 0xc0, 0x00, 0]);
    assert_eq!(reading(&sensors[5]), vec![68, 0xc0, 0x00, 0]);
    assert_eq!(reading(&sensors[6]), vec![0, 0xc0, 0x01, 0]);
    assert_eq!(reading(&sensors[7]), vec![0, 0xc0, 0x05, 0]);
    assert_eq!(thresholds(&sensors[4]), vec![0x10, 0, 0, 0, 0, 220, 0]);
    assert_eq!(thresholds(&sensors[2]), vec![0; 7]);
    st.sensors[0].reading = 89.5;
    assert_eq!(reading(&super::sensors(&st)[0])[2], 0x00);
}

/// The type/length-prefixed fields of a FRU area from `at` up to the 0xc1 end mark.
fn fields(area: &[u8], mut at: usize) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(&tl) = area.get(at) {
        if tl == 0xc1 {
            break;
        }
        let len = usize::from(tl & 0x3f);
        out.push(String::from_utf8_lossy(&area[at + 1..at + 1 + len]).into_owned());
        at += 1 + len;
    }
    out
}

#[test]
fn fru_image_has_valid_areas() {
    let bmc = bmc(12);
    let image = fru_image(&bmc.serial);
    assert_eq!(sum(&image[..8]), 0);
    assert_eq!(image[0], 0x01);
    let area = |n: usize| {
        let at = usize::from(image[n]) * 8;
        let len = usize::from(image[at + 1]) * 8;
        &image[at..at + len]
    };
    let (chassis, board, product) = (area(2), area(3), area(4));
    for a in [chassis, board, product] {
        assert_eq!(sum(a), 0);
        assert_eq!(a[0], 0x01);
    }
    assert_eq!(image.len(), 8 + chassis.len() + board.len() + product.len());
    assert_eq!(chassis[2], 0x17);
    assert_eq!(fields(chassis, 3), ["SIM-CH-1U", "SIM000012"]);
    let minutes = u32::from_le_bytes([board[3], board[4], board[5], 0]);
    assert_eq!(minutes, 10_593 * 1440);
    assert_eq!(
        fields(board, 6),
        ["bmc-catcher", "Sim Board", "MB-SIM000012", "SIM-MB-1", ""]
    );
    assert_eq!(
        fields(product, 3),
        [
            "bmc-catcher",
            "Sim 1U",
            "SIM-1U",
            "1.0",
            "SIM000012",
            "ASSET-SIM000012",
            ""
        ]
    );
    // A one-byte field would read as the end mark: it is padded.
    assert_eq!(fru_field("x"), vec![0xc2, b'x', b' ']);
}
