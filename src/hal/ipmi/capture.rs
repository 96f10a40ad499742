//! IPMI captures as bmc-catcher writes them: the exchanges of one poll with the serial numbers and
//! the asset tag in the FRU data overwritten with `X` (area checksums fixed), in the file format of
//! `ipmi_wire::capture` (re-exported here), which the simulator replays.

use std::collections::BTreeMap;

pub use ipmi_wire::capture::{Capture, Exchange, FORMAT, HexExchange};

use super::decode::fru::parse_fru;

/// The capture of a poll's exchanges, scrubbed of FRU secrets.
pub fn from_exchanges(mut ex: Vec<Exchange>) -> Capture {
    scrub_fru(&mut ex);
    Capture::from_scrubbed(ex)
}
/// Overwrites the FRU's serial numbers and asset tag with `X` in the Read FRU Data replies.
pub fn scrub_fru(ex: &mut [Exchange]) {
    // Read FRU Data (0x0a 0x11): request [device, offset lo, offset hi, count]; reply [count, data..].
    let mut image: BTreeMap<usize, u8> = BTreeMap::new();
    for e in ex
        .iter()
        .filter(|e| e.net_fn == 0x0a && e.cmd == 0x11 && e.cc == 0 && e.request.len() == 4)
    {
        let off = usize::from(u16::from_le_bytes([e.request[1], e.request[2]]));
        for (i, b) in e.response.iter().skip(1).enumerate() {
            image.insert(off + i, *b);
        }
    }
    let len = image.keys().next_back().map_or(0, |k| k + 1);
    let mut bytes: Vec<u8> = (0..len)
        .map(|i| image.get(&i).copied().unwrap_or(0))
        .collect();
    let Ok((fru, _)) = parse_fru(&bytes) else {
        return;
    };
    let secrets: Vec<String> = [
        fru.product_serial,
        fru.board_serial,
        fru.chassis_serial,
        fru.product_asset_tag,
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect();
    for s in secrets {
        let needle = s.as_bytes();
        let mut i = 0;
        while i + needle.len() <= bytes.len() {
            if &bytes[i..i + needle.len()] == needle {
                bytes[i..i + needle.len()].fill(b'X');
                i += needle.len();
            } else {
                i += 1;
            }
        }
    }
    // Each info area ends in a checksum byte making the area sum to zero.
    for slot in 2..=4usize {
        let Some(&start8) = bytes.get(slot) else {
            continue;
        };
        let start = usize::from(start8) * 8;
        let Some(&len8) = bytes.get(start + 1) else {
            continue;
        };
        let end = start + usize::from(len8) * 8;
        if start == 0 || end > bytes.len() || end <= start + 1 {
            continue;
        }
        let sum = bytes[start..end - 1]
            .iter()
            .fold(0u8, |a, b| a.wrapping_add(*b));
        bytes[end - 1] = 0u8.wrapping_sub(sum);
    }
    for e in ex
        .iter_mut()
        .filter(|e| e.net_fn == 0x0a && e.cmd == 0x11 && e.cc == 0 && e.request.len() == 4)
    {
        let off = usize::from(u16::from_le_bytes([e.request[1], e.request[2]]));
        for i in 0..e.response.len().saturating_sub(1) {
            if let Some(b) = bytes.get(off + i) {
                e.response[i + 1] = *b;
            }
        }
    }
}
