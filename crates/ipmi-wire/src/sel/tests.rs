//! SEL codec tests: real ipmi_sim responses (tests/fixtures/sel/ipmi_sim.txt) decoded into what
//! `ipmitool sel elist` printed for them, the requests' bytes, and hostile input.

use super::*;

const FIXTURE: &str = include_str!("../../tests/fixtures/sel/ipmi_sim.txt");

fn unhex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("fixture hex"))
        .collect()
}

fn fixture() -> Vec<(Vec<u8>, [String; 3])> {
    FIXTURE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            (
                unhex(cols[0]),
                [cols[1].into(), cols[2].into(), cols[3].into()],
            )
        })
        .collect()
}

#[test]
fn ipmi_sim_records_read_as_ipmitool_prints_them() {
    let rows = fixture();
    assert_eq!(rows.len(), 14);
    for (i, (bytes, want)) in rows.iter().enumerate() {
        let entry = SelEntry::decode(bytes).expect("16-byte record");
        assert_eq!(usize::from(entry.record_id()), i + 1);
        let rec = SelRecord::decode(&entry.record);
        assert_eq!(rec.id(), entry.record_id());
        let t = rec.text();
        assert_eq!([t.sensor, t.event, t.detail], *want, "record {}", i + 1);
    }
}

#[test]
fn record_chain_and_fields() {
    let rows = fixture();
    let first = SelEntry::decode(&rows[0].0).expect("record");
    assert_eq!(first.next, 2);
    let last = SelEntry::decode(&rows[13].0).expect("record");
    assert_eq!(last.next, LAST);
    let rec = SelRecord::decode(&SelEntry::decode(&rows[3].0).expect("record").record);
    let SelRecord::System {
        timestamp,
        generator,
        sensor_type,
        sensor_number,
        event_type,
        direction,
        data,
        ..
    } = rec
    else {
        panic!("system record expected: {rec:?}");
    };
    assert_eq!(timestamp, 0x6b11_5573); // 2026-12-03 11:41:39 UTC, as ipmitool printed
    assert_eq!((generator, sensor_type, sensor_number), (0x20, 0x01, 0x42));
    assert_eq!((event_type, direction), (0x01, Direction::Asserted));
    assert_eq!(data, [0x59, 0x5c, 0x5a]);
}

#[test]
fn severities() {
    let sev: Vec<Severity> = fixture()
        .iter()
        .map(|(b, _)| {
            SelRecord::decode(&SelEntry::decode(b).expect("record").record)
                .text()
                .severity
        })
        .collect();
    use Severity::*;
    assert_eq!(
        sev,
        [
            Info, Critical, Info, Critical, Critical, Critical, Critical, Info, Info, Critical,
            Info, Info, Info, Info
        ]
    );
}

#[test]
fn sel_info_from_ipmi_sim() {
    // `ipmitool raw 0x0a 0x40`; `sel info`: 3 entries, 15952 bytes free, Reserve supported.
    let info = SelInfo::decode(&unhex("51 03 00 50 3e f3 51 00 00 00 00 00 00 0a")).expect("info");
    assert_eq!(info.entries, 3);
    assert_eq!(info.free_bytes, 15952);
    assert_eq!(info.last_add, 0x51f3);
    assert_eq!(info.last_erase, 0);
    assert!(!info.overflow && info.supports_reserve);
    let ratio = info.used_ratio().expect("ratio");
    assert!((ratio - 48.0 / 16000.0).abs() < 1e-9);
    assert_eq!(SelInfo::decode(&info.encode()), Ok(info));
    assert_eq!(
        SelInfo::decode(&[0x51; 13]),
        Err(SelError::TooShort {
            what: "Get SEL Info",
            need: 14,
            got: 13
        })
    );
    let full = SelInfo {
        overflow: true,
        free_bytes: 0,
        ..info
    };
    assert_eq!(
        SelInfo::decode(&full.encode()).map(|i| i.used_ratio()),
        Ok(Some(1.0))
    );
}

#[test]
fn requests_as_ipmitool_sends_them() {
    assert_eq!(info::request(), (0x0a, 0x40, vec![]));
    assert_eq!(reserve::request(), (0x0a, 0x42, vec![]));
    let get = GetSelEntry {
        reservation: Reservation(0x0102),
        record_id: 0x0004,
    };
    assert_eq!(
        get.request(),
        (0x0a, 0x43, vec![0x02, 0x01, 0x04, 0x00, 0x00, 0xff])
    );
    assert_eq!(GetSelEntry::decode_request(&get.request().2), Ok(get));
    assert_eq!(Reservation::decode(&[0x01, 0x00]), Ok(Reservation(1)));
    assert!(Reservation::decode(&[0x01]).is_err());
}

#[test]
fn wrong_length_record_is_refused_but_names_the_next_id() {
    let mut bytes = fixture()[0].0.clone();
    bytes.push(0x00);
    assert_eq!(
        SelEntry::decode(&bytes),
        Err((Some(2), SelError::RecordLength { got: 17 }))
    );
    assert_eq!(
        SelEntry::decode(&bytes[..10]),
        Err((Some(2), SelError::RecordLength { got: 8 }))
    );
    assert!(matches!(SelEntry::decode(&[0x01]), Err((None, _))));
    let ok = SelEntry::decode(&fixture()[0].0).expect("record");
    assert_eq!(SelEntry::decode(&ok.encode()), Ok(ok));
}

#[test]
fn unknown_types_and_offsets_still_read() {
    // Sensor type 0xC5 (OEM), event type 0x70 (OEM), and an unknown threshold offset.
    let mut r = [0u8; 16];
    r[2] = 0x02;
    r[10] = 0xc5;
    r[11] = 0x07;
    r[12] = 0x70;
    let t = SelRecord::decode(&r).text();
    assert_eq!(t.sensor, "OEM #0x07");
    assert!(
        t.event.starts_with("Unknown event type 0x70"),
        "{}",
        t.event
    );
    r[10] = 0x60;
    r[12] = 0x01;
    r[13] = 0x0f;
    let t = SelRecord::decode(&r).text();
    assert_eq!(t.sensor, "Unknown #0x07");
    assert!(t.event.starts_with("Unknown"));
    r[2] = 0x10; // not a defined record type: kept as bytes
    assert!(matches!(
        SelRecord::decode(&r),
        SelRecord::Opaque {
            record_type: 0x10,
            ..
        }
    ));
}

#[test]
fn noise_never_panics() {
    let mut n = crate::noise::Lcg(0x5e1);
    for _ in 0..20_000 {
        let len = usize::from(n.next()) % 25;
        let b: Vec<u8> = (0..len).map(|_| n.next()).collect();
        let _ = SelInfo::decode(&b);
        let _ = Reservation::decode(&b);
        let _ = GetSelEntry::decode_request(&b);
        if let Ok(e) = SelEntry::decode(&b) {
            let r = SelRecord::decode(&e.record);
            let t = r.text();
            assert!(!t.sensor.is_empty());
        }
    }
}
