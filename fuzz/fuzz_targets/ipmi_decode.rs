//! Fuzzes the IPMI response decoders: SDR records (one, and the input walked as a concatenated
//! repository), the repository responses, Get Sensor Reading and the (record, reading) → sensor /
//! PSU step, FRU images and the FRU responses, the chassis / MC responses, and `scrub_fru` on Read
//! FRU Data exchanges built from the input. A panic or a broken invariant is a bug in the crate.
#![no_main]

use bmc_catcher::hal::ipmi::capture::scrub_fru;
use bmc_catcher::hal::ipmi::decode::chassis::{
    inventory, parse_chassis_status, parse_dcmi_power_reading, parse_device_id, parse_sel_info,
    parse_system_guid,
};
use bmc_catcher::hal::ipmi::decode::fru::{parse_area_info, parse_fru, parse_read_data};
use bmc_catcher::hal::ipmi::decode::reading::{parse_sensor_reading, to_psu, to_sensor};
use bmc_catcher::hal::ipmi::decode::sdr::{
    SdrRecord, parse_get_sdr, parse_repository, parse_repository_info, parse_reservation,
    record_len,
};
use bmc_catcher::hal::ipmi::session::Exchange;
use libfuzzer_sys::fuzz_target;

/// Readings every record is also paired with: normal, all bits set, unavailable, not scanning.
const READINGS: [&[u8]; 4] = [
    &[0x00, 0xc0, 0x00, 0x00],
    &[0xff, 0xff, 0xff, 0xff],
    &[0x80, 0xe0, 0x3f],
    &[0x7f, 0x80],
];

/// The input as a concatenated SDR repository: each record is its 5-byte header + body.
fn split_records(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let n = record_len(data).unwrap_or(data.len()).min(data.len());
        out.push(data[..n].to_vec());
        data = &data[n..];
    }
    out
}

fn sdr(data: &[u8]) {
    let one = SdrRecord::parse(data);
    let records = split_records(data);
    let (sensors, _warnings) = parse_repository(&records);
    let mut all: Vec<SdrRecord> = sensors;
    if let Ok(Some(r)) = one {
        all.push(r);
    }
    for (i, rec) in all.iter().enumerate() {
        let _ = rec.thresholds();
        let own = data.get(i * 4..).unwrap_or_default();
        for bytes in READINGS.iter().copied().chain([own]) {
            if let Ok(reading) = parse_sensor_reading(bytes) {
                if let Some(s) = to_sensor(rec, &reading) {
                    assert!(s.reading.is_none_or(f64::is_finite));
                }
                let _ = to_psu(rec, &reading);
            }
        }
    }
}

fn responses(data: &[u8]) {
    if let Ok(r) = parse_sensor_reading(data) {
        let _ = (r.threshold_health(), r.state(data.len() as u8));
    }
    let _ = (parse_repository_info(data), parse_reservation(data));
    if let Ok((_, rest)) = parse_get_sdr(data) {
        let _ = SdrRecord::parse(rest);
    }
    let _ = (parse_area_info(data), parse_read_data(data));
    let fru = parse_fru(data).ok().map(|(f, _)| f);
    let _ = parse_chassis_status(data).map(|c| c.power_state());
    let _ = parse_sel_info(data);
    let _ = parse_dcmi_power_reading(data).map(|d| d.power_metrics());
    let dev = parse_device_id(data).ok();
    let guid = parse_system_guid(data).ok();
    let _ = inventory(fru.as_ref(), dev.as_ref(), guid.as_ref());
}

fn read_fru(off: usize, chunk: &[u8]) -> Exchange {
    let [lo, hi] = (off as u16).to_le_bytes();
    let mut response = vec![chunk.len() as u8];
    response.extend_from_slice(chunk);
    Exchange {
        net_fn: 0x0a,
        cmd: 0x11,
        request: vec![0, lo, hi, chunk.len() as u8],
        cc: 0,
        response,
    }
}

/// `scrub_fru` over (a) the input as a FRU image read in 16-byte chunks, (b) the input as records
/// `offset lo, offset hi, count, data...` (overlapping, out of order, short), plus an unrelated
/// exchange it must leave alone.
fn scrub(data: &[u8]) {
    let mut chunked: Vec<Exchange> = data
        .chunks(16)
        .enumerate()
        .map(|(i, c)| read_fru(i * 16, c))
        .collect();
    let other = Exchange {
        net_fn: 0x06,
        cmd: 0x01,
        request: vec![],
        cc: 0,
        response: data.to_vec(),
    };
    chunked.push(other.clone());
    let before: Vec<usize> = chunked.iter().map(|e| e.response.len()).collect();
    scrub_fru(&mut chunked);
    assert_eq!(chunked.last(), Some(&other));
    assert_eq!(
        before,
        chunked.iter().map(|e| e.response.len()).collect::<Vec<_>>()
    );

    let mut records = Vec::new();
    let mut rest = data;
    while let [lo, hi, n, tail @ ..] = rest {
        let n = usize::from(*n).min(tail.len());
        // Offsets kept under 4 KiB: the image is as long as the highest offset, and a 64 KiB
        // image per input slows the fuzzer to a few hundred runs a second.
        let off = usize::from(u16::from_le_bytes([*lo, *hi & 0x0f]));
        records.push(read_fru(off, &tail[..n]));
        rest = &tail[n..];
    }
    scrub_fru(&mut records);
}

fuzz_target!(|data: &[u8]| {
    sdr(data);
    responses(data);
    scrub(data);
});
