//! The simulator's own small vocabulary for what a BMC reports: MAC addresses, power states,
//! health and sensor kinds. Deliberately independent of bmc-catcher's `model` (the daemon depends
//! on the simulator for its demo, never the other way round); the daemon maps these where it
//! needs to.

use std::fmt;

/// A BMC's MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The server's power, as Redfish and IPMI report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowerState {
    On,
    Off,
    PoweringOn,
    PoweringOff,
    Unknown,
}

/// The health of a sensor or a power supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    Ok,
    Warning,
    Critical,
    Unknown,
}

/// What a sensor measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SensorKind {
    Temperature,
    Fan,
    Voltage,
    Power,
    Current,
    Other,
}
