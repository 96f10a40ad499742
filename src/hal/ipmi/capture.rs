//! IPMI captures: the requests and replies of one poll, as `bmc-catcher capture` writes them
//! (`ipmi.json`, bytes in hex) and the simulator replays them. Serial numbers and the asset tag in
//! the FRU data are overwritten with `X` (area checksums fixed) before anything is written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::decode::fru::parse_fru;
use super::session::Exchange;

/// The file format: one entry per distinct request, the last reply wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub format: String,
    pub exchanges: Vec<HexExchange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HexExchange {
    pub net_fn: u8,
    pub cmd: u8,
    pub request: String,
    pub cc: u8,
    pub response: String,
}

pub const FORMAT: &str = "bmc-catcher ipmi capture 1";

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    s.split_whitespace()
        .map(|x| u8::from_str_radix(x, 16).ok())
        .collect()
}

/// Session management is the simulator's own business, not replayed.
fn replayable(e: &Exchange) -> bool {
    !(e.net_fn == 0x06 && matches!(e.cmd, 0x38 | 0x3b | 0x3c | 0x54))
}

impl Capture {
    pub fn from_exchanges(mut ex: Vec<Exchange>) -> Capture {
        scrub_fru(&mut ex);
        let mut last: BTreeMap<(u8, u8, Vec<u8>), Exchange> = BTreeMap::new();
        for e in ex.into_iter().filter(replayable) {
            last.insert((e.net_fn, e.cmd, e.request.clone()), e);
        }
        Capture {
            format: FORMAT.into(),
            exchanges: last
                .into_values()
                .map(|e| HexExchange {
                    net_fn: e.net_fn,
                    cmd: e.cmd,
                    request: hex(&e.request),
                    cc: e.cc,
                    response: hex(&e.response),
                })
                .collect(),
        }
    }

    /// The recorded reply to a request: (completion code, data).
    pub fn lookup(&self, net_fn: u8, cmd: u8, request: &[u8]) -> Option<(u8, Vec<u8>)> {
        self.exchanges
            .iter()
            .find(|e| {
                e.net_fn == net_fn && e.cmd == cmd && unhex(&e.request).as_deref() == Some(request)
            })
            .and_then(|e| Some((e.cc, unhex(&e.response)?)))
    }
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
