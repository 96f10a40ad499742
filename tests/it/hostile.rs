//! The hostile-input suite: a crafted Redfish BMC, slow and half-open HTTP clients, command bursts
//! against a tarpit, oversized messages, and the memory bounds. Each test asserts what an operator
//! would check (no request to a third host, a healthy BMC keeps reporting, RSS stays bounded) and
//! each has a row in the hostile-input table of `docs/reliability.md`.

mod http;
mod leases;
mod logs;
mod redfish;
mod series;
mod sessions;
