//! bmc-catcher: finds every server's BMC from the DHCP leases, polls it over Redfish and IPMI, and
//! publishes what it learns to Prometheus, a JSON API and NATS.
//!
//! # Layout
//!
//! Three crates: this one (the daemon and its CLI), `ipmi-wire` (IPMI over LAN without I/O, both
//! sides of the login as state machines) and `bmc-sim` (simulated BMCs, used by `demo`, the tests
//! and the benchmarks). The modules of this crate depend one way, each only on those to its left:
//!
//! ```text
//! model <- config <- discovery, hal <- store <- poller, issues <- control <- publish <- daemon <- cli
//! ```
//!
//! - [`model`]: MACs, targets, readings (with components: drives, DIMMs, CPUs, NIC ports,
//!   firmware), per-field errors and their kinds, snapshots, issues, actions, events, the per-BMC
//!   bounds on what a poll keeps, what a BMC turned out to support (its `Profile`). No I/O.
//! - [`config`]: the TOML config and the credentials file; errors name the file and key.
//! - [`discovery`]: lease parsers (ISC dhcpd, Kea, dnsmasq), target selection, the file watcher
//!   and how its reads go (`LeasesHealth`, for `/readyz` and `/metrics`).
//! - [`hal`]: the `Bmc` trait, the connector, the Redfish and IPMI backends, the poller's `LazyBmc`,
//!   the state files (session journal, log cursors, BMC profiles) and the one vendor table.
//! - [`store`]: the latest state per BMC; tells observers each event and each changed BMC.
//! - [`poller`]: schedule, one due queue of every BMC and a task per poll in flight, reload,
//!   rounds, its metrics; which BMCs this catcher owns among its partition's members
//!   (`ownership`, rendezvous hashing) and the hand-over of the others (`handover`).
//! - [`issues`]: one function per rule in a table, and the evaluation task.
//! - [`control`]: one command against one BMC: admission (a queue per BMC, deadline from receipt,
//!   rate limit, request ids), prechecks, execution; and `refresh`, one BMC's inventory re-read
//!   on request.
//! - [`publish`]: HTTP (API, health), `/metrics`, NATS (KV, events, commands forwarded to the
//!   BMC's owner, pins, log cursors, BMC profiles, the partition's membership).
//! - [`daemon`]: wiring, SIGHUP reload, systemd notify and watchdog, drain on shutdown.
//! - [`cli`]: one file per subcommand.
//!
//! # The data path
//!
//! ```text
//! leases --stat poll--> discovery::watch --Vec<Target> (watch channel)--> poller
//!   --due queue, a poll task per permit--> Arc<dyn hal::Bmc> --Reading--> BmcSnapshot --> store
//!   --> observers (NATS outbox, KV dirty set); /metrics and /api read the store at request time
//! ```
//!
//! # Tasks and shutdown
//!
//! `daemon::Daemon::start` spawns, on one `TaskTracker`: the discovery watcher (waits on its
//! `refresh` tick), the poller (waits on target-list changes, reloads, the first BMC due with a free
//! concurrency permit, and its polls in flight, each under the poll deadline), the issue evaluation (its tick), the HTTP
//! listener (connections, at most a limit fitted under the fd budget, each under its deadline),
//! and the NATS sender; the NATS command server and the membership task run on a tracker of
//! their own, the log cursor and BMC profile shares on a third. `stop` first stops taking commands (draining the
//! subscriptions) and waits for those in flight, leaves the partition (its member key deleted, so
//! the peer takes the BMCs over at once), then cancels the one `CancellationToken`: the polls in flight finish, every backend logs out, the listener stops
//! accepting and each connection finishes its response or is closed at `[http] shutdown-timeout`;
//! last, the log cursors and profiles noted by the last polls are put into the NATS KV. `docs/architecture.md`
//! has the table of tasks.

pub mod cli;
pub mod config;
pub mod control;
pub mod daemon;
pub mod discovery;
pub mod hal;
pub mod issues;
pub mod model;
pub mod poller;
pub mod publish;
pub mod store;
