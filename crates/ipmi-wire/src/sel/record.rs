//! One 16-byte SEL record (IPMI 2.0 section 32): a system event record (type 0x02), an OEM
//! record with a timestamp (0xC0-0xDF) or without (0xE0-0xFF), or a record of another type,
//! kept as bytes. [`SelRecord::text`] says it in `ipmitool sel elist`'s words.

use super::RECORD_LEN;
use super::tables;

/// How bad an event is, from the event type and offset (see [`tables`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// Whether a system event asserts or deasserts its state (event dir, bit 7 of byte 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asserted,
    Deasserted,
}

impl Direction {
    /// As ipmitool prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Asserted => "Asserted",
            Direction::Deasserted => "Deasserted",
        }
    }
}

/// A decoded SEL record. Every variant carries the record ID; no bytes are ever refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelRecord {
    System {
        id: u16,
        /// Raw IPMI time: seconds since 1970, or since the BMC started (<= 0x20000000).
        timestamp: u32,
        generator: u16,
        sensor_type: u8,
        sensor_number: u8,
        /// Event/reading type code (bits 6:0 of byte 12).
        event_type: u8,
        direction: Direction,
        data: [u8; 3],
    },
    OemTimestamped {
        id: u16,
        record_type: u8,
        timestamp: u32,
        manufacturer: u32,
        data: [u8; 6],
    },
    /// OEM records without a timestamp and records of an unknown type: 13 bytes after the type.
    Opaque {
        id: u16,
        record_type: u8,
        data: [u8; 13],
    },
}

/// A record in `ipmitool sel elist`'s words, column by column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventText {
    /// "Temperature #0x42", "OEM record c1".
    pub sensor: String,
    /// The sensor type alone ("Temperature"); empty for OEM records.
    pub sensor_type: &'static str,
    /// "Upper Critical going high"; for OEM records the manufacturer ID in hex (or empty).
    pub event: String,
    /// "Asserted"/"Deasserted"; for OEM records the data in hex.
    pub detail: String,
    pub direction: Option<Direction>,
    pub severity: Severity,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl SelRecord {
    pub fn decode(r: &[u8; RECORD_LEN]) -> SelRecord {
        let id = u16::from_le_bytes([r[0], r[1]]);
        let record_type = r[2];
        let ts = u32::from_le_bytes([r[3], r[4], r[5], r[6]]);
        let tail = |from: usize| -> [u8; 13] {
            let mut d = [0u8; 13];
            d.copy_from_slice(&r[from..from + 13]);
            d
        };
        match record_type {
            0x02 => SelRecord::System {
                id,
                timestamp: ts,
                generator: u16::from_le_bytes([r[7], r[8]]),
                sensor_type: r[10],
                sensor_number: r[11],
                event_type: r[12] & 0x7f,
                direction: if r[12] & 0x80 == 0 {
                    Direction::Asserted
                } else {
                    Direction::Deasserted
                },
                data: [r[13], r[14], r[15]],
            },
            0xc0..=0xdf => SelRecord::OemTimestamped {
                id,
                record_type,
                timestamp: ts,
                manufacturer: u32::from_le_bytes([r[7], r[8], r[9], 0]),
                data: [r[10], r[11], r[12], r[13], r[14], r[15]],
            },
            _ => SelRecord::Opaque {
                id,
                record_type,
                data: tail(3),
            },
        }
    }

    pub fn id(&self) -> u16 {
        match self {
            SelRecord::System { id, .. }
            | SelRecord::OemTimestamped { id, .. }
            | SelRecord::Opaque { id, .. } => *id,
        }
    }

    /// The raw timestamp, when the record has one.
    pub fn timestamp(&self) -> Option<u32> {
        match self {
            SelRecord::System { timestamp, .. } | SelRecord::OemTimestamped { timestamp, .. } => {
                Some(*timestamp)
            }
            SelRecord::Opaque { .. } => None,
        }
    }

    /// The record as `ipmitool sel elist` prints it (without SDR names: "#0x42").
    pub fn text(&self) -> EventText {
        match self {
            SelRecord::System {
                sensor_type,
                sensor_number,
                event_type,
                direction,
                data,
                ..
            } => {
                let type_name = tables::sensor_type_name(*sensor_type);
                let (event, severity) = tables::describe(*sensor_type, *event_type, data[0] & 0x0f)
                    .map_or_else(
                        || {
                            (
                                format!(
                                    "Unknown event type {event_type:#04x} offset {:#03x}",
                                    data[0] & 0x0f
                                ),
                                Severity::Info,
                            )
                        },
                        |(t, s)| (t.to_string(), s),
                    );
                EventText {
                    sensor: format!("{type_name} #{sensor_number:#04x}"),
                    sensor_type: type_name,
                    event,
                    detail: direction.as_str().to_string(),
                    direction: Some(*direction),
                    // Leaving a bad state is good news.
                    severity: match direction {
                        Direction::Asserted => severity,
                        Direction::Deasserted => Severity::Info,
                    },
                }
            }
            SelRecord::OemTimestamped {
                record_type,
                manufacturer,
                data,
                ..
            } => EventText {
                sensor: format!("OEM record {record_type:02x}"),
                sensor_type: "",
                event: format!("{manufacturer:06x}"),
                detail: hex(data),
                direction: None,
                severity: Severity::Info,
            },
            SelRecord::Opaque {
                record_type, data, ..
            } => EventText {
                sensor: format!("OEM record {record_type:02x}"),
                sensor_type: "",
                event: String::new(),
                detail: hex(data),
                direction: None,
                severity: Severity::Info,
            },
        }
    }
}
