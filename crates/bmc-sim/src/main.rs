//! `bmc-sim`: a fleet of simulated BMCs (Redfish over HTTPS, IPMI over RMCP+, or both) on loopback
//! addresses, with a matching ISC dhcpd leases file, running until Ctrl-C or SIGTERM. For trying
//! bmc-catcher (or ipmitool, curl, any Redfish or IPMI client) without hardware, and for reproducing
//! the faults its test suite injects (`--fault`, [`SimFault`]).

use std::net::Ipv4Addr;
use std::path::PathBuf;

use clap::Parser;
use tokio_util::sync::CancellationToken;

use bmc_sim::state::fault_cycle::Phase;
use bmc_sim::state::named_fault::SimFault;
use bmc_sim::{FleetSpec, SimFleet, SimProtocol, SimShape};

#[derive(Parser)]
#[command(
    name = "bmc-sim",
    version,
    about = "Simulated BMCs on loopback (Redfish over HTTPS, IPMI over RMCP+, or both), with a dhcpd leases file",
    after_help = "Faults (--fault, on the BMCs --fault-bmc names, else on all) are the ones bmc-catcher's \
test suite injects, e.g. `bmc-sim --count 3 --protocol redfish,ipmi --fault busy-503 --fault-bmc 2`."
)]
struct Args {
    /// How many BMCs.
    #[arg(long, default_value_t = 3)]
    count: u32,
    /// First address (must be in 127.0.0.0/8); the others follow.
    #[arg(long, default_value = "127.0.1.1")]
    first_ip: Ipv4Addr,
    /// Port shared by every BMC (0: a free one).
    #[arg(long, default_value_t = 8443)]
    port: u16,
    /// Protocols, assigned round-robin (redfish, ipmi, both).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [SimProtocol::Redfish])]
    protocol: Vec<SimProtocol>,
    /// UDP port shared by every IPMI responder (0: a free one; 623 needs root).
    #[arg(long, default_value_t = 6230)]
    ipmi_port: u16,
    /// Thermal/power shapes, assigned round-robin.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [SimShape::Legacy, SimShape::Subsystem, SimShape::Sensors])]
    shape: Vec<SimShape>,
    /// Serve this DMTF mockup directory instead of generated resources (power and sessions still live).
    #[arg(long)]
    mockup: Option<PathBuf>,
    /// Write an ISC dhcpd leases file listing the fleet here.
    #[arg(long)]
    leases: Option<PathBuf>,
    #[arg(long, default_value = "admin")]
    username: String,
    /// The BMCs' password (a simulator's; not a secret).
    #[arg(long, default_value = "password")]
    password: String,
    /// Break the BMCs this way from the start (comma-separated; see the list below).
    #[arg(long, value_enum, value_delimiter = ',')]
    fault: Vec<SimFault>,
    /// Which BMCs get --fault: their places in the fleet, from 1 (comma-separated; default: all).
    #[arg(long, value_delimiter = ',', requires = "fault")]
    fault_bmc: Vec<usize>,
    /// Soak runs: every third BMC (the 2nd, 5th, ...) steps through good -> hang -> hostile ->
    /// good, one phase per this many seconds.
    #[arg(long)]
    fault_cycle_secs: Option<u64>,
    /// Every poll of a BMC's power state (IPMI Get Chassis Status, Redfish GET Systems/1) first
    /// adds one record to its SEL / LogService: one new log entry per BMC per poll (benchmarks).
    #[arg(long)]
    sel_per_poll: bool,
    /// Serve drives, a RAID1 volume, DIMMs, CPUs, NIC ports and the firmware inventory (needed by
    /// the faults drive-failed, raid-degraded and nic-link-down; costs 7 more GETs per poll: 6 -> 13 for the legacy shape).
    #[arg(long)]
    components: bool,
    /// At exit, write the fleet's Redfish requests per second here as CSV (`second,requests,
    /// firmware_inventory,memory`): how a client spreads its reads (benchmarks).
    #[arg(long)]
    tally: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    let spec = FleetSpec {
        count: args.count,
        first_ip: args.first_ip,
        port: args.port,
        shapes: args.shape,
        protocols: args.protocol,
        ipmi_port: args.ipmi_port,
        mockup: args.mockup,
        components: args.components,
        username: args.username,
        password: args.password,
    };
    let cancel = CancellationToken::new();
    let fleet = match SimFleet::start(&spec, cancel.clone()).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("bmc-sim: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    if let Some(n) = args
        .fault_bmc
        .iter()
        .find(|n| **n == 0 || **n > fleet.bmcs.len())
    {
        eprintln!(
            "bmc-sim: --fault-bmc {n}: the fleet has BMCs 1 to {}",
            fleet.bmcs.len()
        );
        fleet.stop();
        return std::process::ExitCode::from(2);
    }
    for (i, r) in fleet.bmcs.iter().enumerate() {
        r.bmc.state().sel.grow_per_poll = args.sel_per_poll;
        if args.fault_bmc.is_empty() || args.fault_bmc.contains(&(i + 1)) {
            let mut st = r.bmc.state();
            for f in &args.fault {
                f.apply(&mut st);
            }
        }
    }
    for r in &fleet.bmcs {
        let redfish = (r.protocol != SimProtocol::Ipmi)
            .then(|| format!("https://{} {:?}", r.addr, r.bmc.shape));
        let ipmi = r.ipmi.as_ref().map(|(a, _)| format!("ipmi://{a}"));
        let services: Vec<String> = [redfish, ipmi].into_iter().flatten().collect();
        println!("{} {}", r.bmc.mac, services.join(" "));
    }
    if let Some(path) = &args.leases {
        let now = unix_now();
        if let Err(e) = fleet.write_leases(path, now) {
            eprintln!("bmc-sim: cannot write {}: {e}", path.display());
            return std::process::ExitCode::from(1);
        }
        println!("leases written to {}", path.display());
    }
    if let Some(secs) = args.fault_cycle_secs.filter(|s| *s > 0) {
        let bmcs: Vec<_> = fleet
            .bmcs
            .iter()
            .skip(1)
            .step_by(3)
            .map(|r| r.bmc.clone())
            .collect();
        let stop = cancel.clone();
        tokio::spawn(async move {
            for n in 1.. {
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(secs)) => {}
                    _ = stop.cancelled() => return,
                }
                let phase = Phase::of(n);
                eprintln!("bmc-sim: {} BMCs now {phase:?}", bmcs.len());
                for b in &bmcs {
                    b.state().faults = phase.faults();
                }
            }
        });
    }
    shutdown_signal().await;
    // What the clients did to the fleet, for benchmarks and curious operators.
    let (mut rf_created, mut rf_open, mut ipmi_created, mut ipmi_open, mut requests) =
        (0u64, 0usize, 0u64, 0usize, 0u64);
    for r in &fleet.bmcs {
        use std::sync::atomic::Ordering;
        rf_created += r.bmc.counters.sessions_created.load(Ordering::Relaxed);
        rf_open += r.bmc.sessions_open();
        requests += r.bmc.counters.requests.load(Ordering::Relaxed);
        if let Some((_, h)) = &r.ipmi {
            ipmi_created += h.sessions_created();
            ipmi_open += h.sessions_open();
            requests += h.requests();
        }
    }
    if let Some(path) = &args.tally
        && let Err(e) = std::fs::write(path, fleet.tally.csv())
    {
        eprintln!("bmc-sim: cannot write {}: {e}", path.display());
    }
    eprintln!(
        "bmc-sim: sessions created: redfish {rf_created}, ipmi {ipmi_created}; still open: redfish {rf_open}, ipmi {ipmi_open}; requests {requests}"
    );
    fleet.stop();
    std::process::ExitCode::SUCCESS
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser, ValueEnum};

    use super::*;

    /// `bmc-sim --help` names both protocols and every fault a test can inject.
    #[test]
    fn help_names_both_protocols_and_every_fault() {
        let help = Args::command().render_long_help().to_string();
        assert!(help.contains("Redfish") && help.contains("IPMI"), "{help}");
        for f in SimFault::value_variants() {
            let name = f.to_possible_value().map(|p| p.get_name().to_string());
            let name = name.unwrap_or_default();
            assert!(help.contains(&name), "{name} missing from\n{help}");
        }
    }

    #[test]
    fn faults_take_comma_lists_for_chosen_bmcs() {
        let a = Args::try_parse_from([
            "bmc-sim",
            "--fault",
            "busy-503,ipmi-truncated-then-good",
            "--fault-bmc",
            "2,3",
        ])
        .expect("parses");
        assert_eq!(
            a.fault,
            [SimFault::Busy503, SimFault::IpmiTruncatedThenGood]
        );
        assert_eq!(a.fault_bmc, [2, 3]);
        assert!(Args::try_parse_from(["bmc-sim", "--fault", "no-such-fault"]).is_err());
        assert!(
            Args::try_parse_from(["bmc-sim", "--fault-bmc", "2"]).is_err(),
            "--fault-bmc without --fault"
        );
    }
}
