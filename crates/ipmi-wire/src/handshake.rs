//! Both sides of the RMCP+ login (Open Session, RAKP 1-4; IPMI 2.0 sections 13.17-13.23) as I/O-free
//! state machines, in the manner of ntpd-rs's `ntp-proto`: datagrams in, datagrams and outcomes out.
//! Random numbers, session IDs and the user table are inputs; nothing here reads a socket, a clock
//! or an RNG, so the caller owns timers, retransmissions and the session table.
//!
//! - [`client`]: the console ([`ClientHandshake`]), driven by bmc-catcher's tokio session and by
//!   bmc-sim's test console.
//! - [`server`]: the BMC ([`ServerHandshake`]), driven by bmc-sim's responder.

pub mod client;
pub mod server;

pub use client::{ClientHandshake, ClientParams, Established, HandshakeError, Stage, Step};
pub use server::{
    OpenRequest, Opening, Outcome, ServerAnswer, ServerHandshake, ServerSession, UserEntry,
};

use crate::packet::{self, PayloadType};

/// An RMCP+ datagram outside any session (session ID 0, sequence 0, no keys).
fn sessionless(ptype: PayloadType, payload: &[u8]) -> Result<Vec<u8>, packet::PacketError> {
    packet::encode_v2(ptype, 0, 0, payload, None, [0; 16])
}

#[cfg(test)]
mod tests;
