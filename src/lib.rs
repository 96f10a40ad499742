//! bmc-catcher: finds BMCs in DHCP leases, polls them over Redfish, serves what it learns.
pub mod app;
pub mod config;
pub mod demo;
pub mod discovery;
pub mod hal;
pub mod model;
pub mod poller;
pub mod publish;
pub mod sim;
pub mod store;
