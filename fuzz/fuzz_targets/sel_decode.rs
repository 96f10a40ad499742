//! Fuzzes the SEL codec of `ipmi-wire`: the input as a Get SEL Info, Reserve SEL and Get SEL Entry
//! response, and every 16-byte window of it as a SEL record put into ipmitool's words. A panic or
//! a broken invariant is a bug in the crate.
#![no_main]

use ipmi_wire::sel::{SelEntry, SelInfo, SelRecord, Reservation, GetSelEntry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = SelInfo::decode(data) {
        if let Some(r) = info.used_ratio() {
            assert!((0.0..=1.0).contains(&r), "used ratio {r}");
        }
        assert_eq!(SelInfo::decode(&info.encode()).map(|i| i.entries), Ok(info.entries));
    }
    let _ = Reservation::decode(data);
    let _ = GetSelEntry::decode_request(data);
    match SelEntry::decode(data) {
        Ok(_) => assert_eq!(data.len(), 18),
        Err((next, _)) => assert_eq!(next.is_some(), data.len() >= 2),
    }
    for w in data.windows(16) {
        let mut r = [0u8; 16];
        r.copy_from_slice(w);
        let rec = SelRecord::decode(&r);
        let t = rec.text();
        assert!(!t.sensor.is_empty());
        assert_eq!(rec.id(), u16::from_le_bytes([w[0], w[1]]));
    }
});
