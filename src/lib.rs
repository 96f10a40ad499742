//! bmc-catcher: finds every server's BMC from the DHCP leases, polls it, and publishes what it learns.
//!
//! # The map
//!
//! ```text
//! leases file --stat poll--> discovery::watch --Vec<Target> (watch channel)--> poller
//!                                                                               | one task per BMC
//!                                                                               v
//!                                        hal::Connector --> Arc<dyn hal::Bmc> (Redfish session per BMC)
//!                                                                               |
//!                                                                               v BmcSnapshot
//!                                            store (latest per MAC, change events on a broadcast channel)
//!                                                  |                     |
//!                                    publish::metrics (scrape-time)   publish::http (/api/v1/bmcs)
//! ```
//!
//! - [`config`]: the TOML config and the separate credentials file; errors name file and key.
//! - [`model`]: MACs, targets, readings, per-field results and error kinds. No I/O.
//! - [`discovery`]: lease parsers (ISC dhcpd, Kea CSV, dnsmasq), target selection, the file watcher.
//! - [`hal`]: the `Bmc` trait and the Redfish backend (sessions, TLS policy, the three
//!   thermal/power shapes).
//! - [`poller`]: per-BMC phase offsets, bounded concurrency, deadlines, drain on shutdown.
//! - [`store`]: the newest snapshot per BMC and the events its changes make.
//! - [`publish`]: `/metrics` and the JSON API.
//! - [`app`]: wiring, systemd notify/watchdog, SIGTERM drain. `demo` (feature `demo`, on by
//!   default): the daemon against simulated BMCs of the `bmc-sim` crate.
//!
//! # Tasks and shutdown
//!
//! `app::Daemon::start` spawns, on one `TaskTracker`: the discovery watcher (waits on a `refresh`
//! interval), the poller (waits on target-list changes; its workers wait on their next slot and on the
//! concurrency semaphore), and the HTTP listener. One `CancellationToken` stops them all: the watcher
//! returns, workers finish their in-flight poll (bounded by the poll deadline), every backend logs out,
//! the listener shuts down gracefully, then `Daemon::stop` returns.

pub mod app;
pub mod commands;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod discovery;
pub mod hal;
pub mod issues;
pub mod model;
pub mod poller;
pub mod power_cli;
pub mod probe;
pub mod publish;
pub mod store;
pub mod views;
pub mod views_cli;
