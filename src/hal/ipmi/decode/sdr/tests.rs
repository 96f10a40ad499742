//! Unit tests of [`super`]: every linearization formula, signed formats and negative M/B from
//! record bytes, 6-bit names, short/skipped records, ipmi-rs-core gaps, and a no-panic fuzz.

use super::*;

fn f(m: i16, b: i16, b_exp: i8, r_exp: i8, format: AnalogFormat, lin: Linearization) -> Factors {
    Factors {
        m,
        b,
        b_exp,
        r_exp,
        format,
        linearization: lin,
    }
}

fn close(a: Option<f64>, b: f64) {
    let a = a.expect("a value");
    assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} != {b}");
}

#[test]
fn linear_with_exponents() {
    let v = f(6, 0, 0, -2, AnalogFormat::Unsigned, Linearization::Linear);
    close(v.convert(201), 12.06);
    // (2*x + 5*10^1) * 10^-1
    let v = f(2, 5, 1, -1, AnalogFormat::Unsigned, Linearization::Linear);
    close(v.convert(10), 7.0);
}

#[test]
fn every_nonlinear_formula() {
    use Linearization::*;
    let base = |l| f(1, 0, 0, 0, AnalogFormat::Unsigned, l);
    close(base(Ln).convert(20), 20f64.ln());
    close(base(Log10).convert(100), 2.0);
    close(base(Log2).convert(64), 6.0);
    close(base(E).convert(2), 2f64.exp());
    close(base(Exp10).convert(3), 1000.0);
    close(base(Exp2).convert(10), 1024.0);
    close(base(OneOverX).convert(4), 0.25);
    close(base(Sqr).convert(12), 144.0);
    close(base(Cube).convert(3), 27.0);
    close(base(Sqrt).convert(81), 9.0);
    close(base(CubeRoot).convert(125), 5.0);
    // formula applies after the linear part: 1/((2*x)*10^-1)
    close(
        f(2, 0, 0, -1, AnalogFormat::Unsigned, OneOverX).convert(5),
        1.0,
    );
    // non-finite results and dynamic factors give no value
    assert_eq!(base(Ln).convert(0), None);
    assert_eq!(base(OneOverX).convert(0), None);
    assert_eq!(base(NonLinear(0x70)).convert(5), None);
    assert_eq!(
        f(1, 0, 0, 0, AnalogFormat::NoReading, Linear).convert(5),
        None
    );
}

#[test]
fn linearization_codes_follow_the_spec() {
    use Linearization::*;
    let want = [
        Linear, Ln, Log10, Log2, E, Exp10, Exp2, OneOverX, Sqr, Cube, Sqrt, CubeRoot,
    ];
    for (code, l) in want.iter().enumerate() {
        assert_eq!(Linearization::from(code as u8), *l);
    }
    assert_eq!(Linearization::from(0x71), NonLinear(0x71));
    assert_eq!(Linearization::from(0x0c), Reserved(0x0c));
}

#[test]
fn signed_formats() {
    let twos = f(
        1,
        0,
        0,
        0,
        AnalogFormat::TwosComplement,
        Linearization::Linear,
    );
    close(twos.convert(0xff), -1.0);
    close(twos.convert(0x80), -128.0);
    close(twos.convert(0x7f), 127.0);
    let ones = f(
        1,
        0,
        0,
        0,
        AnalogFormat::OnesComplement,
        Linearization::Linear,
    );
    close(ones.convert(0xfe), -1.0); // !1
    close(ones.convert(0xfa), -5.0); // !5 (ipmi-rs-core's `!value as i8` gives -6 for 5)
    close(ones.convert(0xff), 0.0); // -0
    close(ones.convert(0x80), -127.0);
    close(ones.convert(0x05), 5.0);
}

/// A full sensor record, ipmi_sim's "12V" with M, B and exponents replaced.
fn full_record(m: i16, b: i16, r_exp: i8, b_exp: i8, units1: u8) -> Vec<u8> {
    let mut r = vec![
        0x07, 0x00, 0x51, 0x01, 0x2e, 0x20, 0x00, 0x05, 0x07, 0x01, 0x67, 0x48, 0x02, 0x01, 0x04,
        0x02, 0x04, 0x02, 0x12, 0x12, 0x00, 0x04, 0x00, 0x00, 0x06, 0x00, 0x00, 0x01, 0x01, 0xe0,
        0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0xdc, 0x00, 0x00, 0xb4, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xc3, 0x31, 0x32, 0x56,
    ];
    let (m, b) = (m as u16 & 0x3ff, b as u16 & 0x3ff);
    r[5 + 15] = units1;
    r[5 + 19] = m as u8;
    r[5 + 20] = ((m >> 8) as u8) << 6;
    r[5 + 21] = b as u8;
    r[5 + 22] = ((b >> 8) as u8) << 6;
    r[5 + 24] = ((r_exp as u8 & 0xf) << 4) | (b_exp as u8 & 0xf);
    r
}

#[test]
fn negative_m_and_b_from_record_bytes() {
    let rec = SdrRecord::parse(&full_record(-1, -300, -1, 1, 0x00))
        .expect("ok")
        .expect("sensor");
    let fa = rec.factors.expect("factors");
    assert_eq!((fa.m, fa.b, fa.r_exp, fa.b_exp), (-1, -300, -1, 1));
    // (-1*10 + -300*10) * 0.1 = -301
    close(convert(&rec, 10), -301.0);
    let rec = SdrRecord::parse(&full_record(-512, 511, 7, -8, 0x80))
        .expect("ok")
        .expect("sensor");
    let fa = rec.factors.expect("factors");
    assert_eq!((fa.m, fa.b, fa.r_exp, fa.b_exp), (-512, 511, 7, -8));
    assert_eq!(fa.format, AnalogFormat::TwosComplement);
    let rec = SdrRecord::parse(&full_record(1, 0, 0, 0, 0x40))
        .expect("ok")
        .expect("sensor");
    close(convert(&rec, 0xfa), -5.0);
    // thresholds use the same conversion: uc raw 0xdc, lc raw 0xb4 (ones' complement)
    let t = rec.thresholds();
    close(t.upper_critical, -35.0);
    close(t.lower_critical, -75.0);
    assert_eq!(t.upper_non_critical, None);
}

#[test]
fn six_bit_packed_name() {
    let mut r = full_record(1, 0, 0, 0, 0);
    r.truncate(5 + 42);
    r.extend([0x83, 0x29, 0xdc, 0xa6]); // 6-bit packed, 3 bytes: "IPMI"
    r[4] = (r.len() - 5) as u8;
    let rec = SdrRecord::parse(&r).expect("ok").expect("sensor");
    assert_eq!(rec.name, "IPMI");
}

#[test]
fn kinds_and_units() {
    assert_eq!(classify(0x03, 6, false), (SensorKind::Power, Unit::Watts));
    assert_eq!(
        classify(0x03, 5, false),
        (SensorKind::Current, Unit::Amperes)
    );
    assert_eq!(
        classify(0x01, 1, false),
        (SensorKind::Temperature, Unit::Celsius)
    );
    assert_eq!(classify(0x04, 18, false), (SensorKind::Fan, Unit::Rpm));
    assert_eq!(classify(0x04, 0, true), (SensorKind::Fan, Unit::Percent));
    assert_eq!(classify(0x02, 4, false), (SensorKind::Voltage, Unit::Volts));
    assert_eq!(
        classify(0x01, 2, false),
        (SensorKind::Temperature, Unit::Other)
    );
    assert_eq!(classify(0x08, 0, false), (SensorKind::Other, Unit::Other));
}

#[test]
fn short_and_skipped_records() {
    assert!(matches!(
        SdrRecord::parse(&[1, 0, 0x51]),
        Err(SdrError::TooShort { .. })
    ));
    assert_eq!(SdrRecord::parse(&[1, 0, 0x51, 0x12, 0]), Ok(None));
    assert_eq!(SdrRecord::parse(&[1, 0, 0x51, 0xc0, 3, 1, 2, 3]), Ok(None));
    let mut r = full_record(1, 0, 0, 0, 0);
    r.truncate(40);
    assert!(matches!(
        SdrRecord::parse(&r),
        Err(SdrError::BodyTooShort { record_id: 7, .. })
    ));
    // extra trailing bytes (ipmi_sim's stray 6) are ignored
    let mut r = full_record(1, 0, 0, 0, 0);
    r.extend([0x6e, 0x05, 0, 0, 0, 0]);
    assert_eq!(
        SdrRecord::parse(&r).expect("ok").expect("sensor").name,
        "12V"
    );
    let (recs, warns) = parse_repository(&[
        vec![1, 2],
        full_record(1, 0, 0, 0, 0),
        vec![0, 0, 0x51, 0x11, 0],
    ]);
    assert_eq!((recs.len(), warns.len()), (1, 1));
}

#[test]
fn fuzz_never_panics() {
    let mut r = super::super::Lcg(42);
    let template = full_record(3, 4, 0, 0, 0);
    for i in 0..30_000 {
        let mut b = r.bytes(80);
        match i % 4 {
            // well-formed headers of every sensor type, random bodies
            0 | 1 if b.len() >= 5 => {
                b[3] = 1 + (i as u8 % 3);
                b[4] = (b.len() - 5) as u8;
            }
            // a real record with a few bytes flipped
            2 => {
                b = template.clone();
                for _ in 0..4 {
                    let at = usize::from(r.next_u8()) % b.len();
                    b[at] = r.next_u8();
                }
            }
            _ => {}
        }
        if let Ok(Some(rec)) = SdrRecord::parse(&b) {
            let _ = convert(&rec, r.next_u8());
            let _ = rec.thresholds();
        }
        let _ = parse_repository_info(&b);
        let _ = parse_reservation(&b);
        let _ = parse_get_sdr(&b);
        let _ = record_len(&b);
    }
    for code in 0..=255u8 {
        for raw in [0u8, 1, 0x7f, 0x80, 0xff] {
            for format in [
                AnalogFormat::Unsigned,
                AnalogFormat::OnesComplement,
                AnalogFormat::TwosComplement,
            ] {
                let _ = f(-512, -512, -8, 7, format, Linearization::from(code)).convert(raw);
            }
        }
    }
}

/// Why records are length-checked, sanitised and partly decoded by us: ipmi-rs-core 0.6's own
/// behaviour on the same bytes.
#[test]
fn ipmi_rs_core_gaps_we_work_around() {
    use ipmi_rs_core::storage::sdr::record::{
        CompactSensorRecord, FullSensorRecord, Linearization as Core,
    };
    let full = full_record(-1, 0, 0, 0, 0);
    // negative M: sign extension takes only bit 8, so M = -1 comes out as -513
    let core = FullSensorRecord::parse(&full[5..]).expect("core parses");
    assert_eq!(core.m, -513);
    assert_eq!(
        SdrRecord::parse(&full)
            .expect("ok")
            .expect("rec")
            .factors
            .map(|f| f.m),
        Some(-1)
    );
    // linearization 0x09 is cube(x) in the spec; ipmi-rs-core calls it sqrt
    assert!(matches!(Core::from(9), Core::Sqrt));
    // short bodies and a reserved ID-string modifier panic inside ipmi-rs-core
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let short = std::panic::catch_unwind(|| FullSensorRecord::parse(&full[5..5 + 42]).is_ok());
    let mut compact = vec![0u8; 27];
    compact[18] = 0x20;
    let modifier = std::panic::catch_unwind(|| CompactSensorRecord::parse(&compact).is_ok());
    std::panic::set_hook(hook);
    assert!(short.is_err() && modifier.is_err());
    // ours: an error and a record respectively
    assert!(SdrRecord::parse(&full[..5 + 42]).is_err());
    let mut rec = vec![1, 0, 0x51, 0x02, 27];
    rec.extend(&compact);
    assert!(SdrRecord::parse(&rec).expect("sanitised").is_some());
}

/// `full_record` renamed `name`, with sensor number `number`, sensor type `ty` and event/reading
/// type `ert`.
fn named_record(name: &str, number: u8, ty: u8, ert: u8) -> Vec<u8> {
    let mut r = full_record(1, 0, 0, 0, 0);
    r.truncate(5 + 42);
    r.push(0xc0 | name.len() as u8); // 8-bit ASCII
    r.extend(name.bytes());
    r[4] = (r.len() - 5) as u8;
    r[5 + 2] = number;
    r[5 + 7] = ty;
    r[5 + 8] = ert;
    r
}

/// An SDR set as a server's BMC has it: two threshold sensors named "Temp" and two PSUs named
/// "PS" (one failed). Each becomes a part with its own id (the sensor key), so none hides another.
#[test]
fn parts_of_one_name_get_distinct_ids() {
    use super::super::reading::{parse_sensor_reading, to_psu, to_sensor};
    let set = vec![
        named_record("Temp", 0x30, 0x01, 0x01),
        named_record("Temp", 0x31, 0x01, 0x01),
        named_record("PS", 0x60, 0x08, 0x6f),
        named_record("PS", 0x61, 0x08, 0x6f),
    ];
    let (records, warnings) = parse_repository(&set);
    assert!(warnings.is_empty(), "{warnings:?}");
    let ids: Vec<String> = records.iter().map(SdrRecord::id).collect();
    assert_eq!(ids, ["20:0:0:30", "20:0:0:31", "20:0:0:60", "20:0:0:61"]);
    // Threshold readings: ok, then upper critical. PSU states: present; present + failure.
    let temp_ok = parse_sensor_reading(&[0x10, 0xc0, 0x00]).expect("reading");
    let temp_cr = parse_sensor_reading(&[0x20, 0xc0, 0x10]).expect("reading");
    let psu_ok = parse_sensor_reading(&[0x00, 0xc0, 0x01, 0x00]).expect("reading");
    let psu_failed = parse_sensor_reading(&[0x00, 0xc0, 0x03, 0x00]).expect("reading");
    let sensors: Vec<_> = [(&records[0], temp_ok), (&records[1], temp_cr)]
        .into_iter()
        .filter_map(|(r, x)| to_sensor(r, &x))
        .map(|s| (s.id, s.name, s.health))
        .collect();
    assert_eq!(
        sensors,
        [
            ("20:0:0:30".into(), "Temp".into(), crate::model::Health::Ok),
            (
                "20:0:0:31".into(),
                "Temp".into(),
                crate::model::Health::Critical
            ),
        ]
    );
    let psus: Vec<_> = [(&records[2], psu_ok), (&records[3], psu_failed)]
        .into_iter()
        .filter_map(|(r, x)| to_psu(r, &x))
        .map(|p| (p.id, p.name, p.health))
        .collect();
    assert_eq!(
        psus,
        [
            ("20:0:0:60".into(), "PS".into(), crate::model::Health::Ok),
            (
                "20:0:0:61".into(),
                "PS".into(),
                crate::model::Health::Critical
            ),
        ]
    );
}
