//! The IPMI backend: our own async RMCP+ session over a tokio UDP socket ([`session`]) driving the
//! sans-IO protocol core of the `ipmi-wire` crate (re-exported as [`wire`]: crypto, datagrams,
//! message framing, RAKP, the login state machine), and pure decoders of what a BMC answers
//! ([`decode`]: SDRs and sensor conversion, readings, FRU, chassis, device id).

pub mod bmc;
pub mod capture;
pub mod decode;
mod poll;
pub mod repository;
pub mod sel;
pub mod session;
pub use ipmi_wire as wire;
