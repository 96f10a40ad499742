//! Integration tests that need nothing but Rust: the real daemon, CLI and backends against the
//! simulator, fixtures captured from real BMC software, and the shipped assets checked as text.

mod cli;
mod cli_inventory;
pub mod components;
pub mod daemon;
pub mod deploy_assets;
mod faults;
mod hostile;
mod ipmi_client;
mod ipmi_decode_mc;
mod ipmi_decode_sensors;
pub mod ipmi_fixtures;
mod leases_permissions;
mod operator;
mod power_check;
pub mod probe_capture;
mod profiles;
mod readiness;
mod reload;
pub mod service_unit;
mod systemd_credentials;
mod tls_pin;
mod web_api;
