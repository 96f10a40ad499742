//! The file format of IPMI captures: the requests and replies of one poll, as `bmc-catcher capture`
//! writes them (`ipmi.json`, bytes in hex) and the simulator replays them, and the lookup of a
//! recorded reply. Scrubbing secrets out of the exchanges is the writer's job (bmc-catcher scrubs
//! the FRU before it calls [`Capture::from_scrubbed`]); this module only formats.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One request and its reply, as a session records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    pub net_fn: u8,
    pub cmd: u8,
    pub request: Vec<u8>,
    pub cc: u8,
    pub response: Vec<u8>,
}

/// The file format: one entry per distinct request, the last reply wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub format: String,
    pub exchanges: Vec<HexExchange>,
}

/// One exchange with its bytes in hex (`"0a 1b ..."`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HexExchange {
    pub net_fn: u8,
    pub cmd: u8,
    pub request: String,
    pub cc: u8,
    pub response: String,
}

/// The value of [`Capture::format`].
pub const FORMAT: &str = "bmc-catcher ipmi capture 1";

/// Bytes as lower-case hex pairs separated by spaces.
pub fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The inverse of [`hex`]; `None` on anything that is not whitespace-separated hex bytes.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    s.split_whitespace()
        .map(|x| u8::from_str_radix(x, 16).ok())
        .collect()
}

/// Session management is the simulator's own business, not replayed.
fn replayable(e: &Exchange) -> bool {
    !(e.net_fn == 0x06 && matches!(e.cmd, 0x38 | 0x3b | 0x3c | 0x54))
}

impl Capture {
    /// The capture of exchanges the caller has already scrubbed of secrets: session management
    /// is left out, and of repeated requests the last reply is kept.
    pub fn from_scrubbed(ex: Vec<Exchange>) -> Capture {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(net_fn: u8, cmd: u8, request: &[u8], response: &[u8]) -> Exchange {
        Exchange {
            net_fn,
            cmd,
            request: request.to_vec(),
            cc: 0,
            response: response.to_vec(),
        }
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(hex(&[0x0a, 0xff, 0]), "0a ff 00");
        assert_eq!(unhex("0a ff 00"), Some(vec![0x0a, 0xff, 0]));
        assert_eq!(unhex(""), Some(vec![]));
        assert_eq!(unhex("0g"), None);
    }

    #[test]
    fn last_reply_wins_and_session_management_is_left_out() {
        let c = Capture::from_scrubbed(vec![
            ex(0x06, 0x01, &[], &[1]),
            ex(0x06, 0x3b, &[4], &[4]),
            ex(0x06, 0x01, &[], &[2]),
        ]);
        assert_eq!(c.format, FORMAT);
        assert_eq!(c.exchanges.len(), 1);
        assert_eq!(c.lookup(0x06, 0x01, &[]), Some((0, vec![2])));
        assert_eq!(c.lookup(0x06, 0x3b, &[4]), None);
    }
}
