//! The integration tests, one binary. [`it`] needs nothing but Rust: the daemon runs against the
//! simulator (`bmc-sim`, a library here). [`peers`] runs against real programs (OpenIPMI's ipmi_sim
//! and ipmitool, sushy-tools, nats-server, promtool, curl, tmux, systemd-analyze), which
//! `hack/install-peers.sh` installs; it is built only with `--features peers`, which `hack/test.sh`
//! turns on, so `cargo test` passes on a machine with Rust alone and CI still runs every test.

mod common;
mod it;
#[cfg(feature = "peers")]
mod peers;
