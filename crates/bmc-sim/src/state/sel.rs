//! The simulated BMC's event log ([`SimSel`]): SEL records a test or the demo appends at run
//! time (IPMI serves them by Get SEL Info / Reserve SEL / Get SEL Entry, Redfish as the entries
//! of `Managers/1/LogServices/Log`), a clear, a bulk fill, and the hostile variants a test can
//! switch on: one record answered with the wrong length, a Redfish message of any size, entries
//! without `Id`.

use std::collections::VecDeque;

/// Records the SEL holds at most (the oldest are overwritten beyond: a wrapped SEL).
pub const SEL_CAPACITY: usize = 65_000;

/// The simulated SEL.
#[derive(Debug, Clone, Default)]
pub struct SimSel {
    /// (record ID, the 16-byte record), oldest first.
    pub records: VecDeque<(u16, [u8; 16])>,
    next_id: u16,
    /// Unix seconds of the last addition and erase (0: never).
    pub last_add: u32,
    pub last_erase: u32,
    /// Hostile: Get SEL Entry for this record ID answers 17 bytes of record.
    pub wrong_length: Option<u16>,
    /// Hostile: the Redfish entries carry this message instead (any size).
    pub redfish_message: Option<String>,
    /// Hostile: the Redfish entries carry no `Id` (and no `@odata.id`).
    pub redfish_without_id: bool,
    /// Hostile: this many more Redfish entries after the SEL's (a log of 100,000 entries).
    pub redfish_bulk: usize,
    /// Shaped like an iDRAC's log: the system says `Dell Inc.`, the LogService is `Sel`, its
    /// entries come newest first and `$top`/`$skip` cut pages.
    pub dell: bool,
    /// Benchmarks: every read of the power state (a poll) adds one record first, so each poll
    /// finds one new entry.
    pub grow_per_poll: bool,
}

fn now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

impl SimSel {
    /// Appends a record: `record_type` and the 13 bytes after it (a system event's timestamp
    /// bytes 0 are filled in with the current time, as ipmi_sim's `sel_add` does). Returns its ID.
    pub fn add(&mut self, record_type: u8, body: [u8; 13]) -> u16 {
        self.next_id = self
            .next_id
            .checked_add(1)
            .filter(|i| *i < 0xfff0)
            .unwrap_or(1);
        let id = self.next_id;
        let mut r = [0u8; 16];
        r[..2].copy_from_slice(&id.to_le_bytes());
        r[2] = record_type;
        r[3..].copy_from_slice(&body);
        if record_type == 0x02 && r[3..7] == [0; 4] {
            r[3..7].copy_from_slice(&now().to_le_bytes());
        }
        if self.records.len() >= SEL_CAPACITY {
            self.records.pop_front();
        }
        self.records.push_back((id, r));
        self.last_add = now();
        id
    }

    /// A system event: generator 0x20, sensor type and number, event type (bit 7: deassertion)
    /// and event data 1-3.
    pub fn event(&mut self, sensor_type: u8, sensor: u8, event_dir_type: u8, data: [u8; 3]) -> u16 {
        let mut b = [0u8; 13];
        b[4] = 0x20;
        b[6] = 0x04;
        b[7] = sensor_type;
        b[8] = sensor;
        b[9] = event_dir_type;
        b[10..].copy_from_slice(&data);
        self.add(0x02, b)
    }

    /// A poll read the power state: with [`SimSel::grow_per_poll`], one new record (a temperature
    /// going high on sensor 0x30, then its deassertion, by turns).
    pub fn polled(&mut self) {
        if self.grow_per_poll {
            let dir = if self.next_id.is_multiple_of(2) {
                0x01
            } else {
                0x81
            };
            self.event(0x01, 0x30, dir, [0x57, 0x50, 0x4b]);
        }
    }

    /// `n` records at once (Temperature upper non-critical going high, sensor 0x30).
    pub fn fill(&mut self, n: usize) {
        for _ in 0..n {
            self.event(0x01, 0x30, 0x01, [0x57, 0x50, 0x4b]);
        }
    }

    /// Empties the SEL (`ipmitool sel clear`).
    pub fn clear(&mut self) {
        self.records.clear();
        self.last_erase = now();
    }

    /// Record IDs start over after a clear (`next_id` kept): the position of a record.
    pub fn position(&self, id: u16) -> Option<usize> {
        match id {
            0x0000 => (!self.records.is_empty()).then_some(0),
            0xffff => self.records.len().checked_sub(1),
            id => self.records.iter().position(|(i, _)| *i == id),
        }
    }

    /// Free bytes as Get SEL Info reports them.
    pub fn free_bytes(&self) -> u16 {
        ((SEL_CAPACITY - self.records.len()) * 16).min(0xfffe) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_appended_found_cleared_and_numbered_on() {
        let mut sel = SimSel::default();
        assert_eq!(sel.position(0x0000), None);
        let a = sel.event(0x01, 0x42, 0x01, [0x59, 0x5c, 0x5a]);
        let b = sel.event(0x0c, 0x11, 0x6f, [0x01, 0xff, 0xff]);
        assert_eq!((a, b), (1, 2));
        assert_eq!(sel.position(0x0000), Some(0));
        assert_eq!(sel.position(0xffff), Some(1));
        assert_eq!(sel.position(b), Some(1));
        // ipmitool's words for what was appended (ipmi-wire decodes the record).
        let t = ipmi_wire::sel::SelRecord::decode(&sel.records[1].1).text();
        assert_eq!(
            (t.sensor.as_str(), t.event.as_str()),
            ("Memory #0x11", "Uncorrectable ECC")
        );
        assert!(sel.last_add > 0);
        sel.clear();
        assert!(sel.records.is_empty() && sel.last_erase > 0);
        assert_eq!(
            sel.event(0x01, 0x42, 0x01, [0; 3]),
            3,
            "IDs go on after a clear"
        );
        assert_eq!(
            sel.free_bytes(),
            ((SEL_CAPACITY - 1) * 16).min(0xfffe) as u16
        );
    }
}
