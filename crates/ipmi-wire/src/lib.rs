//! IPMI 2.0 RMCP+ without I/O, shared by bmc-catcher (the console side) and bmc-sim (the BMC side).
//!
//! - [`crypto`]: user keys, RAKP codes, session keys, HMACs and AES-CBC-128.
//! - [`packet`]: RMCP / ASF / IPMI 1.5 / RMCP+ datagrams.
//! - [`message`]: IPMI LAN request and response framing.
//! - [`rakp`]: Open Session and RAKP 1-4 as typed messages.
//! - [`handshake`]: both sides of the RMCP+ login as state machines: bytes in, bytes out; random
//!   numbers, session IDs and user lookups come in as inputs, nothing reads a socket or a clock.
//! - [`sel`]: the System Event Log commands (Get SEL Info, Reserve SEL, Get SEL Entry) and its
//!   records in `ipmitool sel elist`'s words.
//! - [`capture`]: the file format of recorded IPMI exchanges (`ipmi.json`) and its lookup.
//!
//! No async runtime, no sockets: the daemon's tokio session and the simulator's UDP task drive
//! these machines.

pub mod capture;
pub mod crypto;
pub mod handshake;
pub mod message;
pub mod packet;
pub mod rakp;
pub mod sel;

#[cfg(test)]
mod known_answers;
#[cfg(test)]
mod noise;
