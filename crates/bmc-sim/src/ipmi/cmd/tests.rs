//! Sans-IO tests of the command handlers through an established session: chassis control, boot
//! flags, identify, DCMI, the SDR repository (chunking, reservations) and live sensor readings.

use std::time::{Duration, Instant};

use crate::ipmi::test_client::{admin_session, call, responder};
use crate::state::{Health, PowerState};
use ipmi_wire::crypto::CipherSuite;

#[test]
fn chassis_boot_identify_and_power_reading() {
    let (mut r, bmc, _) = responder();
    let mut c = admin_session(&mut r, CipherSuite::Cs3);
    let resets = || {
        bmc.counters
            .resets
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    for (action, power) in [
        (0, PowerState::Off),
        (2, PowerState::On),
        (5, PowerState::Off),
    ] {
        assert_eq!(
            call(&mut r, &mut c, 0x00, 0x02, &[action]).completion_code,
            0
        );
        assert_eq!(bmc.state().power, power);
    }
    assert_eq!(resets(), 3);
    assert_eq!(call(&mut r, &mut c, 0x00, 0x02, &[4]).completion_code, 0xcc);
    for (device, target) in [(0x04, "Pxe"), (0x08, "Hdd"), (0x18, "BiosSetup")] {
        let set = call(&mut r, &mut c, 0x00, 0x08, &[5, 0x80, device, 0, 0, 0]);
        assert_eq!(set.completion_code, 0);
        assert_eq!(bmc.state().boot_once.as_deref(), Some(target));
        let get = call(&mut r, &mut c, 0x00, 0x09, &[5, 0, 0]);
        assert_eq!(get.data, vec![1, 5, 0x80, device, 0, 0, 0]);
    }
    call(&mut r, &mut c, 0x00, 0x08, &[5, 0x00, 0, 0, 0, 0]);
    assert_eq!(bmc.state().boot_once, None);
    assert_eq!(
        call(&mut r, &mut c, 0x00, 0x08, &[5, 0x80, 0x14, 0, 0, 0]).completion_code,
        0xcc
    );
    assert_eq!(
        call(&mut r, &mut c, 0x00, 0x09, &[0x61, 0, 0]).completion_code,
        0x80
    );
    // Timed identify: on now, off once the interval passed (the sweep does it).
    let start = Instant::now();
    assert_eq!(call(&mut r, &mut c, 0x00, 0x04, &[2]).completion_code, 0);
    assert!(bmc.state().led_on);
    assert_eq!(call(&mut r, &mut c, 0x00, 0x01, &[]).data[2], 0x50);
    r.sweep(start + Duration::from_secs(3));
    assert!(!bmc.state().led_on);
    call(&mut r, &mut c, 0x00, 0x04, &[0, 1]);
    assert_eq!(call(&mut r, &mut c, 0x00, 0x01, &[]).data[2], 0x60);
    call(&mut r, &mut c, 0x00, 0x04, &[0]);
    assert!(!bmc.state().led_on);
    bmc.state().consumed_watts = 385.0;
    let dcmi = call(&mut r, &mut c, 0x2c, 0x02, &[0xdc, 0x01, 0, 0]);
    assert_eq!(
        (dcmi.completion_code, &dcmi.data[..3]),
        (0, &[0xdc, 0x81, 0x01][..])
    );
    assert_eq!(
        call(&mut r, &mut c, 0x2c, 0x00, &[0x00]).completion_code,
        0xc1
    );
}

#[test]
fn sdr_reads_are_chunked_and_readings_follow_state() {
    let (mut r, bmc, _) = responder();
    let mut c = admin_session(&mut r, CipherSuite::Cs3);
    let records = super::super::sdr::records(&bmc.state());
    let resv = call(&mut r, &mut c, 0x0a, 0x22, &[]).data;
    let (lo, hi) = (resv[0], resv[1]);
    // Whole-record reads: the MC locator fits, a full sensor record does not.
    let mc = call(&mut r, &mut c, 0x0a, 0x23, &[lo, hi, 0, 0, 0, 0xff]);
    assert_eq!((mc.completion_code, &mc.data[2..]), (0, &records[0][..]));
    assert_eq!(
        call(&mut r, &mut c, 0x0a, 0x23, &[lo, hi, 2, 0, 0, 0xff]).completion_code,
        0xca
    );
    assert_eq!(
        call(&mut r, &mut c, 0x0a, 0x23, &[lo, hi, 2, 0, 0, 33]).completion_code,
        0xca
    );
    assert_eq!(
        call(&mut r, &mut c, 0x0a, 0x23, &[9, 9, 2, 0, 5, 8]).completion_code,
        0xc5
    );
    assert_eq!(
        call(&mut r, &mut c, 0x0a, 0x23, &[lo, hi, 99, 0, 0, 5]).completion_code,
        0xcb
    );
    // Walk the repository in 16-byte chunks.
    let (mut id, mut walked) = (0u16, Vec::new());
    while id != 0xffff {
        let [a, b] = id.to_le_bytes();
        let head = call(&mut r, &mut c, 0x0a, 0x23, &[lo, hi, a, b, 0, 5]);
        let mut rec = head.data[2..].to_vec();
        let total = 5 + usize::from(rec[4]);
        while rec.len() < total {
            let n = (total - rec.len()).min(16) as u8;
            let chunk = call(
                &mut r,
                &mut c,
                0x0a,
                0x23,
                &[lo, hi, a, b, rec.len() as u8, n],
            );
            rec.extend_from_slice(&chunk.data[2..]);
        }
        walked.push(rec);
        id = u16::from_le_bytes([head.data[0], head.data[1]]);
    }
    assert_eq!(walked, records);
    // The same records through the device SDR commands.
    assert_eq!(
        call(&mut r, &mut c, 0x04, 0x20, &[1]).data,
        vec![records.len() as u8, 1]
    );
    assert_eq!(
        call(&mut r, &mut c, 0x04, 0x20, &[0]).data[0],
        records.len() as u8 - 1
    );
    let dev = call(&mut r, &mut c, 0x04, 0x21, &[0, 0, 1, 0, 0, 0xff]);
    assert_eq!(&dev.data[2..], &records[0][..]);
    assert_eq!(
        call(&mut r, &mut c, 0x04, 0x25, &[1, 0xff]).data,
        vec![0, 0]
    );
    // Readings: CPU1 Temp is sensor 1 (0.5 degrees per count), PSU1 follows Pwr Consumption.
    bmc.state().sensors[0].reading = 95.0;
    assert_eq!(
        call(&mut r, &mut c, 0x04, 0x2d, &[1]).data,
        vec![190, 0xc0, 0x10, 0]
    );
    bmc.state().sensors[0].reading = 42.5;
    assert_eq!(
        call(&mut r, &mut c, 0x04, 0x2d, &[1]).data,
        vec![85, 0xc0, 0x00, 0]
    );
    assert_eq!(
        call(&mut r, &mut c, 0x04, 0x27, &[1]).data,
        vec![0x10, 0, 0, 0, 0, 180, 0]
    );
    let psu = bmc.state().sensors.len() as u8 + 2;
    assert_eq!(
        call(&mut r, &mut c, 0x04, 0x2d, &[psu]).data,
        vec![0, 0xc0, 0x01, 0]
    );
    bmc.state().psus[0].health = Health::Critical;
    assert_eq!(call(&mut r, &mut c, 0x04, 0x2d, &[psu]).data[2], 0x03);
    bmc.state().psus[0].health = Health::Warning;
    assert_eq!(call(&mut r, &mut c, 0x04, 0x2d, &[psu]).data[2], 0x05);
    assert_eq!(
        call(&mut r, &mut c, 0x04, 0x2d, &[200]).completion_code,
        0xcb
    );
}
