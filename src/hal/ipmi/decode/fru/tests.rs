//! Unit tests of [`super`]: 6-bit packed ASCII, BCD plus, checksums and a no-panic fuzz.

use super::*;

#[test]
fn six_bit_ascii() {
    // "IPMI" packs to 0x29 0xdc 0xa6 (FRU spec example encoding of 'I','P','M','I').
    assert_eq!(decode_6bit_ascii(&[0x29, 0xdc, 0xa6]), "IPMI");
    // "ABC123": A=0x21 B=0x22 C=0x23 1=0x11 2=0x12 3=0x13
    let chars = [0x21u32, 0x22, 0x23, 0x11, 0x12, 0x13];
    let mut bits: u64 = 0;
    for (i, c) in chars.iter().enumerate() {
        bits |= u64::from(*c) << (6 * i);
    }
    let raw: Vec<u8> = (0..5).map(|i| (bits >> (8 * i)) as u8).collect();
    assert_eq!(decode_6bit_ascii(&raw[..5]), "ABC123");
    assert_eq!(decode_field(2, &raw[..5]).as_deref(), Some("ABC123"));
}

#[test]
fn bcd_plus() {
    assert_eq!(decode_bcd_plus(&[0x12, 0xb3, 0xc4, 0xa5]), "12-3.4 5");
    assert_eq!(
        decode_field(1, &[0x20, 0x24, 0xaa]).as_deref(),
        Some("2024")
    );
    assert_eq!(decode_field(0, &[0xde, 0xad]).as_deref(), Some("dead"));
    assert_eq!(decode_field(3, b"  ").as_deref(), None);
}

fn area_bytes(mut body: Vec<u8>) -> Vec<u8> {
    body.push(0xC1);
    while !(body.len() + 1).is_multiple_of(8) {
        body.push(0);
    }
    body[1] = ((body.len() + 1) / 8) as u8;
    let c = checksum(&body);
    body.push(0u8.wrapping_sub(c));
    body
}

#[test]
fn packed_fields_and_bad_checksum_warns() {
    // chassis with a 6-bit part number and a BCD plus serial
    let ch = area_bytes(vec![1, 0, 0x17, 0x83, 0x29, 0xdc, 0xa6, 0x42, 0x12, 0x34]);
    let mut hdr = vec![1, 0, 1, 0, 0, 0, 0];
    hdr.push(0u8.wrapping_sub(checksum(&hdr)));
    let mut img = [hdr, ch].concat();
    let (fru, w) = parse_fru(&img).expect("parse");
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(fru.chassis_part.as_deref(), Some("IPMI"));
    assert_eq!(fru.chassis_serial.as_deref(), Some("1234"));
    assert_eq!(fru.chassis_type.as_deref(), Some("Rack Mount Chassis"));
    img[12] ^= 0x01; // corrupt one character, checksum now wrong
    let (fru, w) = parse_fru(&img).expect("parse");
    assert_eq!(w, vec![FruError::AreaChecksum { area: "chassis" }]);
    assert!(fru.chassis_part.is_some());
}

#[test]
fn header_errors() {
    assert!(matches!(
        parse_fru(&[1, 0, 0]),
        Err(FruError::TooShort { .. })
    ));
    assert_eq!(
        parse_fru(&[2, 0, 0, 0, 0, 0, 0, 0xfe]),
        Err(FruError::HeaderVersion(2))
    );
    assert_eq!(
        parse_fru(&[1, 0, 1, 0, 0, 0, 0, 0]),
        Err(FruError::HeaderChecksum)
    );
    assert_eq!(
        parse_read_data(&[3, 1, 2]),
        Err(FruError::TooShort {
            what: "read data",
            need: 4,
            got: 3
        })
    );
}

#[test]
fn fuzz_never_panics() {
    let mut r = super::super::Lcg(7);
    for i in 0..20_000 {
        let mut b = r.bytes(300);
        if i % 2 == 0 && b.len() >= 8 {
            // make the header valid so the area parser gets exercised
            b[0] = 1;
            for x in &mut b[2..5] {
                *x %= 40;
            }
            let c = checksum(&b[..7]);
            b[7] = 0u8.wrapping_sub(c);
        }
        let _ = parse_fru(&b);
        let _ = parse_area_info(&b);
        let _ = parse_read_data(&b);
        let _ = decode_field(b.first().copied().unwrap_or(0), &b);
    }
}
