//! Everything that serves the store to the outside: the Prometheus exposition ([`metrics`]) and the
//! HTTP listener with `/metrics`, the JSON API and health checks ([`http`]), and NATS ([`nats`]).

pub mod http;
pub mod metrics;
pub mod nats;
#[cfg(test)]
mod schema;
