//! IPMI 2.0 RMCP+ protocol core, sans I/O: `crypto` (keys, HMACs, AES),
//! `packet` (RMCP/ASF/IPMI 1.5/RMCP+ datagrams), `message` (IPMI LAN request
//! and response framing) and `rakp` (Open Session and RAKP 1-4).

pub mod crypto;
pub mod message;
pub mod packet;
pub mod rakp;

#[cfg(test)]
mod kat_tests;
