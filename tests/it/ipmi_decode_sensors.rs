//! SDR records and sensor readings captured from ipmi_sim, checked against what ipmitool
//! printed for the same BMC state (`sensor list`, `sdr list`), for three states:
//! normal, alarm (cr/nc everywhere, PSU failure) and extreme (nr, scanning disabled, AC lost).

use crate::it::ipmi_fixtures::*;
use bmc_catcher::hal::ipmi::decode::reading::{
    SensorReading, parse_sensor_reading, to_psu, to_sensor,
};
use bmc_catcher::hal::ipmi::decode::sdr::{
    SdrRecord, SdrType, parse_get_sdr, parse_repository, record_len,
};
use bmc_catcher::model::{Health, SensorKind, Unit};

fn records(set: &str) -> Vec<Vec<u8>> {
    hex_lines(set, "sdr_records.hex")
        .into_iter()
        .map(|(_, r)| ok(r))
        .collect()
}

fn sdrs(set: &str) -> Vec<SdrRecord> {
    let (recs, warnings) = parse_repository(&records(set));
    assert!(warnings.is_empty(), "{warnings:?}");
    recs
}

fn reading(set: &str, n: u8) -> Result<SensorReading, u8> {
    let (_, r) = hex_lines(set, "sensor_readings.hex")
        .into_iter()
        .find(|(k, _)| *k == n.to_string())
        .unwrap_or_else(|| panic!("no reading for sensor {n}"));
    r.map(|d| parse_sensor_reading(&d).expect("decodes"))
}

#[test]
fn chunked_get_sdr_reads_reassemble_into_the_records() {
    for set in SETS {
        let mut assembled: Vec<Vec<u8>> = Vec::new();
        for (key, resp) in hex_lines(set, "sdr_get_chunks.hex") {
            let Ok(data) = resp else { continue };
            if key.ends_with("len 255") {
                continue;
            }
            let (_next, bytes) = parse_get_sdr(&data).expect("get sdr");
            if key.contains(" off 0 ") {
                assert_eq!(record_len(bytes).map(|l| l >= 5), Some(true));
                assembled.push(bytes.to_vec());
            } else if let Some(last) = assembled.last_mut() {
                last.extend_from_slice(bytes);
            }
        }
        assert_eq!(assembled, records(set), "{set}");
        for r in &assembled {
            assert_eq!(record_len(r), Some(r.len()));
        }
    }
}

#[test]
fn whole_record_reads_show_ipmi_sims_stray_bytes_and_0xca() {
    let whole: Vec<_> = hex_lines("normal", "sdr_get_chunks.hex")
        .into_iter()
        .filter(|(k, _)| k.ends_with("len 255"))
        .collect();
    // the 24-byte MC locator comes back with 6 extra bytes; the parser ignores them
    let rec1 = ok(whole[0].1.clone());
    let (next, bytes) = parse_get_sdr(&rec1).expect("get sdr");
    assert_eq!((next, bytes.len(), record_len(bytes)), (2, 30, Some(24)));
    let rec2 = ok(whole[1].1.clone());
    let (_, bytes) = parse_get_sdr(&rec2).expect("get sdr");
    let ev = SdrRecord::parse(bytes)
        .expect("ok")
        .expect("event-only sensor");
    assert_eq!((ev.name.as_str(), bytes.len()), ("Watchdog", 25 + 6));
    // full records cannot be read whole at all
    assert_eq!(whole[2].1, Err(0xca));
}

#[test]
fn repository_decodes_every_sensor_record() {
    let recs = sdrs("normal");
    assert_eq!(records("normal").len(), 10); // incl. the MC locator, skipped without a warning
    let names: Vec<_> = recs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Watchdog",
            "CPU Temp",
            "Inlet Temp",
            "FAN1",
            "FAN2",
            "12V",
            "3.3V",
            "Pwr Consumption",
            "PSU1 Status"
        ]
    );
    let cpu = &recs[1];
    assert_eq!(
        (
            cpu.record_id,
            cpu.record_type,
            cpu.owner_id,
            cpu.owner_lun,
            cpu.sensor_number
        ),
        (3, SdrType::Full, 0x20, 0, 1)
    );
    assert_eq!(
        (cpu.kind, cpu.unit, cpu.threshold_based),
        (SensorKind::Temperature, Unit::Celsius, true)
    );
    let pwr = &recs[7];
    assert_eq!((pwr.sensor_type, pwr.base_unit), (0x03, 6)); // type Current, unit Watts
    assert_eq!((pwr.kind, pwr.unit), (SensorKind::Power, Unit::Watts));
    let psu = &recs[8];
    assert_eq!(
        (
            psu.record_type,
            psu.sensor_type,
            psu.event_reading_type,
            psu.threshold_based
        ),
        (SdrType::Compact, 0x08, 0x6f, false)
    );
    assert_eq!(
        (recs[0].record_type, recs[0].sensor_type),
        (SdrType::EventOnly, 0x23)
    );
    assert_eq!(reading("normal", 0), Err(0xcc)); // event-only: no reading
}

fn unit_text(u: Unit) -> &'static str {
    match u {
        Unit::Celsius => "degrees C",
        Unit::Rpm => "RPM",
        Unit::Volts => "Volts",
        Unit::Watts => "Watts",
        Unit::Amperes => "Amps",
        Unit::Percent => "percent",
        Unit::Hertz => "Hz",
        // IPMI has no unit our decoder turns into kWh.
        Unit::Kwh | Unit::Other => "?",
    }
}

/// ipmitool's status column → our health.
fn health_of(status: &str) -> Health {
    match status {
        "ok" => Health::Ok,
        "nc" => Health::Warning,
        "cr" | "nr" => Health::Critical,
        "na" | "ns" => Health::Unknown,
        s => panic!("status {s}"),
    }
}

fn assert_printed(printed: &str, ours: Option<f64>, what: &str) {
    match printed {
        "na" => assert_eq!(ours, None, "{what}"),
        p => {
            let want: f64 = p.parse().unwrap_or_else(|_| panic!("{what}: {p:?}"));
            let got = ours.unwrap_or_else(|| panic!("{what}: ipmitool printed {p}, we have none"));
            // ipmitool prints %.3f: equal to that precision
            assert!(
                (got - want).abs() < 0.0005 + 1e-9,
                "{what}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn every_threshold_sensor_matches_ipmitool_sensor_list() {
    for set in SETS {
        let recs = sdrs(set);
        let rows: Vec<_> = table(set, "ipmitool_sensor_list.txt")
            .into_iter()
            .filter(|r| r[2] != "discrete")
            .collect();
        assert_eq!(
            rows.len(),
            recs.iter().filter(|r| r.threshold_based).count(),
            "{set}"
        );
        for row in rows {
            let rec = recs
                .iter()
                .find(|r| r.name == row[0])
                .unwrap_or_else(|| panic!("{}", row[0]));
            let rd = reading(set, rec.sensor_number).expect("reading");
            let s = to_sensor(rec, &rd).expect("threshold sensor");
            let what = format!("{set} {}", row[0]);
            assert_printed(&row[1], s.reading, &format!("{what} value"));
            if row[1] != "na" {
                assert_eq!(unit_text(s.unit), row[2], "{what} unit");
            }
            assert_eq!(s.health, health_of(&row[3]), "{what} status {}", row[3]);
            let t = rec.thresholds();
            let ours = [
                t.lower_non_recoverable,
                t.lower_critical,
                t.lower_non_critical,
                t.upper_non_critical,
                t.upper_critical,
                t.upper_non_recoverable,
            ];
            for (i, col) in ["lnr", "lcr", "lnc", "unc", "ucr", "unr"]
                .iter()
                .enumerate()
            {
                assert_printed(&row[4 + i], ours[i], &format!("{what} {col}"));
            }
            assert_eq!(
                (s.upper_critical, s.lower_critical),
                (t.upper_critical, t.lower_critical)
            );
        }
    }
}

#[test]
fn threshold_sensors_match_ipmitool_sdr_list() {
    for set in SETS {
        let recs = sdrs(set);
        for row in table(set, "ipmitool_sdr_list.txt") {
            let rec = recs.iter().find(|r| r.name == row[0]).expect("record");
            if !rec.threshold_based {
                continue;
            }
            let s =
                to_sensor(rec, &reading(set, rec.sensor_number).expect("reading")).expect("sensor");
            let what = format!("{set} {}", row[0]);
            if row[1] == "disabled" {
                assert_eq!(
                    (s.reading, s.health, row[2].as_str()),
                    (None, Health::Unknown, "ns"),
                    "{what}"
                );
                continue;
            }
            let (value, unit) = row[1].split_once(' ').expect("value unit");
            let want: f64 = value.parse().expect("number");
            let got = s.reading.expect("value");
            assert!((got - want).abs() < 0.005 + 1e-9, "{what}: {got} vs {want}");
            assert_eq!(unit_text(s.unit), unit, "{what}");
            assert_eq!(s.health, health_of(&row[2]), "{what}");
        }
    }
}

#[test]
fn alarm_sets_have_the_expected_health() {
    let health = |set, n| {
        let recs = sdrs(set);
        let rec = recs.iter().find(|r| r.name == n).expect("record");
        to_sensor(rec, &reading(set, rec.sensor_number).expect("reading")).expect("sensor")
    };
    assert_eq!(health("normal", "CPU Temp").health, Health::Ok);
    let cpu = health("alarm", "CPU Temp");
    assert_eq!(
        (cpu.reading, cpu.health, cpu.upper_critical),
        (Some(95.0), Health::Critical, Some(90.0))
    );
    let fan = health("alarm", "FAN1");
    assert_eq!(
        (fan.reading, fan.health, fan.lower_critical),
        (Some(480.0), Health::Critical, Some(600.0))
    );
    assert_eq!(health("alarm", "FAN2").health, Health::Warning);
    assert_eq!(health("alarm", "Inlet Temp").health, Health::Warning);
    assert_eq!(health("extreme", "CPU Temp").health, Health::Critical); // nr
    let v = health("extreme", "3.3V"); // scanning disabled: ipmitool "na"
    assert_eq!((v.reading, v.health), (None, Health::Unknown));
}

#[test]
fn psu_status_from_power_supply_offsets() {
    let want = [
        ("normal", "Enabled", Health::Ok),
        ("alarm", "Enabled", Health::Critical),
        ("extreme", "Absent", Health::Critical),
    ];
    for (set, state, health) in want {
        let recs = sdrs(set);
        let rec = recs
            .iter()
            .find(|r| r.name == "PSU1 Status")
            .expect("psu record");
        let rd = reading(set, rec.sensor_number).expect("reading");
        assert_eq!(to_sensor(rec, &rd), None);
        let psu = to_psu(rec, &rd).expect("psu");
        assert_eq!(
            (psu.name.as_str(), psu.state.as_str(), psu.health),
            ("PSU1 Status", state, health),
            "{set}"
        );
        // ipmitool's sensor list prints the state bytes as 0x<byte3><byte4>
        let row = table(set, "ipmitool_sensor_list.txt")
            .into_iter()
            .find(|r| r[0] == "PSU1 Status")
            .expect("row");
        assert_eq!(
            row[3],
            format!("0x{:02x}{:02x}", rd.states & 0xff, rd.states >> 8),
            "{set}"
        );
    }
    // predictive failure alone (offset 2) is a warning, on the real record
    let recs = sdrs("normal");
    let rec = recs
        .iter()
        .find(|r| r.name == "PSU1 Status")
        .expect("psu record");
    let psu = to_psu(rec, &parse_sensor_reading(&[0, 0xc0, 0x05, 0]).expect("rd")).expect("psu");
    assert_eq!(
        (psu.state.as_str(), psu.health),
        ("Enabled", Health::Warning)
    );
    let psu = to_psu(rec, &parse_sensor_reading(&[0, 0xc0, 0x81, 0]).expect("rd")).expect("psu");
    assert_eq!(
        (psu.state.as_str(), psu.health),
        ("StandbyOffline", Health::Ok)
    );
    assert_eq!(
        to_psu(&recs[1], &parse_sensor_reading(&[0, 0xc0, 1]).expect("rd")),
        None
    );
}
