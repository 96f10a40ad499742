//! A fleet's Redfish requests per second since it started, by [`Kind`]: every request, the GETs of
//! the firmware inventory and of the memory collection (a client reading the parts in full). The
//! benchmark that shows a client spreads its slow reads over the period reads it back as CSV.

use std::sync::Mutex;
use std::time::Instant;

/// What a request was, for the tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any other request (every request counts as one of these too).
    Request,
    /// `GET UpdateService/FirmwareInventory`: the collection, once per inventory read.
    FirmwareInventory,
    /// `GET Systems/1/Memory`: the collection, once per read of the parts in full.
    Memory,
}

/// The seconds kept: a day. Later requests are not counted.
const MAX_SECONDS: usize = 86_400;

/// Per second since `start`: requests, firmware inventory GETs, memory GETs.
#[derive(Debug)]
pub struct Tally {
    start: Instant,
    seconds: Mutex<Vec<[u32; 3]>>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            start: Instant::now(),
            seconds: Mutex::new(Vec::new()),
        }
    }
}

impl Tally {
    /// Counts one request of `kind` in the current second.
    pub fn note(&self, kind: Kind) {
        self.note_at(self.start.elapsed().as_secs() as usize, kind);
    }

    fn note_at(&self, second: usize, kind: Kind) {
        if second >= MAX_SECONDS {
            return;
        }
        let mut s = self.seconds.lock().unwrap_or_else(|p| p.into_inner());
        if s.len() <= second {
            s.resize(second + 1, [0; 3]);
        }
        s[second][0] += 1;
        match kind {
            Kind::Request => {}
            Kind::FirmwareInventory => s[second][1] += 1,
            Kind::Memory => s[second][2] += 1,
        }
    }

    /// The kind of a request by its method and path (without a trailing `/`).
    pub fn kind_of(get: bool, path: &str) -> Kind {
        match path {
            "/redfish/v1/UpdateService/FirmwareInventory" if get => Kind::FirmwareInventory,
            "/redfish/v1/Systems/1/Memory" if get => Kind::Memory,
            _ => Kind::Request,
        }
    }

    /// `second,requests,firmware_inventory,memory`, a line per second from the start.
    pub fn csv(&self) -> String {
        let s = self.seconds.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::from("second,requests,firmware_inventory,memory\n");
        for (i, [r, f, m]) in s.iter().enumerate() {
            out.push_str(&format!("{i},{r},{f},{m}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_request_in_its_second_and_by_kind() {
        let t = Tally::default();
        t.note_at(0, Kind::Request);
        t.note_at(
            2,
            Tally::kind_of(true, "/redfish/v1/UpdateService/FirmwareInventory"),
        );
        t.note_at(2, Tally::kind_of(true, "/redfish/v1/Systems/1/Memory"));
        t.note_at(
            2,
            Tally::kind_of(true, "/redfish/v1/Systems/1/Memory/DIMM0"),
        );
        t.note_at(2, Tally::kind_of(false, "/redfish/v1/Systems/1/Memory"));
        t.note_at(MAX_SECONDS, Kind::Memory);
        assert_eq!(
            t.csv(),
            "second,requests,firmware_inventory,memory\n0,1,0,0\n1,0,0,0\n2,4,1,1\n"
        );
    }
}
