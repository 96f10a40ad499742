//! The IPMI backend: our own async RMCP+ session over a tokio UDP socket ([`session`]) on top of the
//! sans-IO protocol core ([`wire`]: crypto, datagrams, message framing, RAKP), and pure decoders of
//! what a BMC answers ([`decode`]: SDRs and sensor conversion, readings, FRU, chassis, device id).

pub mod bmc;
pub mod capture;
pub mod decode;
mod poll;
pub mod repository;
pub mod session;
pub mod wire;
