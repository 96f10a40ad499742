//! Unit tests of [`super`]: chassis status bits, GUID byte orders, DCMI layout, inventory and a
//! no-panic fuzz.

use super::*;

#[test]
fn chassis_status_bits() {
    let s = parse_chassis_status(&[0x01, 0x00, 0x00]).expect("ok");
    assert!(s.power_on && !s.power_fault && !s.fan_fault);
    assert_eq!(
        (s.identify, s.front_panel, s.power_state()),
        (Led::Unknown, None, PowerState::On)
    );
    let s = parse_chassis_status(&[0x5e, 0x11, 0x4f, 0x00]).expect("ok");
    assert!(
        !s.power_on && s.power_overload && s.interlock && s.power_fault && s.power_control_fault
    );
    assert_eq!(s.restore_policy, 2);
    assert!(s.intrusion && s.front_panel_lockout && s.drive_fault && s.fan_fault);
    assert_eq!((s.identify, s.front_panel), (Led::Off, Some(0)));
    assert_eq!(
        parse_chassis_status(&[0, 0, 0x50]).expect("ok").identify,
        Led::Blinking
    );
    assert_eq!(
        parse_chassis_status(&[0, 0, 0x60]).expect("ok").identify,
        Led::On
    );
    assert_eq!(
        parse_chassis_status(&[0, 0, 0x70]).expect("ok").identify,
        Led::Unknown
    );
    assert!(matches!(
        parse_chassis_status(&[1, 0]),
        Err(ChassisError::TooShort { need: 3, .. })
    ));
}

#[test]
fn guid_encodings() {
    // RFC 4122 version 4 GUID 12345678-9abc-4def-81a3-456789abcdef in each wire order
    // (0xa3 keeps the other two orders' version nibbles invalid, so detection is unambiguous)
    let rfc: [u8; 16] = [
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef, 0x81, 0xa3, 0x45, 0x67, 0x89, 0xab, 0xcd,
        0xef,
    ];
    let want = "12345678-9abc-4def-81a3-456789abcdef";
    let mut ipmi = rfc;
    ipmi.reverse();
    let g = parse_system_guid(&ipmi).expect("ok");
    assert_eq!((g.uuid.as_str(), g.encoding), (want, GuidEncoding::Ipmi));
    let mut smbios = rfc;
    smbios[..4].reverse();
    smbios[4..6].reverse();
    smbios[6..8].reverse();
    let g = parse_system_guid(&smbios).expect("ok");
    assert_eq!((g.uuid.as_str(), g.encoding), (want, GuidEncoding::Smbios));
    // ambiguous: with 0x23 the RFC 4122 reading of IPMI-ordered bytes has version 2 too, and,
    // like ipmitool, the later valid candidate wins
    let mut amb = rfc;
    amb[9] = 0x23;
    amb.reverse();
    assert_eq!(
        parse_system_guid(&amb).expect("ok").encoding,
        GuidEncoding::Rfc4122
    );
    let g = parse_system_guid(&[0u8; 16]).expect("ok");
    assert_eq!(g.encoding, GuidEncoding::Ipmi);
    assert!(parse_system_guid(&[0u8; 15]).is_err());
}

#[test]
fn dcmi_power_reading_spec_layout() {
    // DCMI 1.5 table 6-16: dc, cur 0x0140, min 0x00c8, max 0x0258, avg 0x012c, ts, period, state
    let d = [
        0xdc, 0x40, 0x01, 0xc8, 0x00, 0x58, 0x02, 0x2c, 0x01, 0x77, 0xe9, 0x06, 0x6b, 0xe8, 0x03,
        0x00, 0x00, 0x40,
    ];
    let p = parse_dcmi_power_reading(&d).expect("ok");
    assert_eq!(
        (p.current_watts, p.min_watts, p.max_watts, p.avg_watts),
        (320, 200, 600, 300)
    );
    assert_eq!((p.period_ms, p.active), (1000, true));
    assert_eq!(p.timestamp, IpmiTime::Unix(0x6b06_e977));
    assert_eq!(p.power_metrics().consumed_watts, Some(320.0));
    let mut off = d;
    off[17] = 0;
    assert_eq!(
        parse_dcmi_power_reading(&off)
            .expect("ok")
            .power_metrics()
            .consumed_watts,
        None
    );
    off[0] = 0xdd;
    assert_eq!(
        parse_dcmi_power_reading(&off),
        Err(ChassisError::NotDcmi(0xdd))
    );
}

#[test]
fn inventory_prefers_product_then_board() {
    let fru = Fru {
        board_mfg: Some("B".into()),
        board_product: Some("BP".into()),
        product_serial: Some("S".into()),
        ..Fru::default()
    };
    let inv = inventory(Some(&fru), None, None);
    assert_eq!(inv.manufacturer.as_deref(), Some("B"));
    assert_eq!(inv.model.as_deref(), Some("BP"));
    assert_eq!(inv.serial.as_deref(), Some("S"));
    assert_eq!(inventory(None, None, None), Inventory::default());
}

#[test]
fn fuzz_never_panics() {
    let mut g = super::super::Lcg(11);
    for _ in 0..20_000 {
        let b = g.bytes(24);
        let _ = parse_chassis_status(&b);
        let _ = parse_device_id(&b);
        let _ = parse_system_guid(&b);
        let _ = parse_sel_info(&b);
        let _ = parse_dcmi_power_reading(&b);
    }
}
