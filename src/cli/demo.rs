//! `bmc-catcher demo`: the newcomer's first command. Starts a fleet of simulated BMCs on loopback,
//! Redfish (each thermal/power shape) and IPMI alternating (more with `--count`), writes their dhcpd leases into a temp
//! dir, runs the real daemon against that file, prints the URLs, and shows a live table until Ctrl-C
//! (or `--duration`). Every 20 s it flips the power of one simulated server, and every 30 s one
//! BMC logs an event (a `log-entry`, shown by `bmc-catcher logs MAC`), so changes show.

use std::io::{IsTerminal, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Credentials, LeasesFormat, TlsPolicy};
use crate::daemon::{Daemon, shutdown_signal};
use crate::model::SensorKind;
use crate::store::{Store, now_ms};
use bmc_sim::state::PowerState;
use bmc_sim::{FleetSpec, SimFleet, SimProtocol};

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Simulated BMCs to start.
    #[arg(long, default_value_t = 6)]
    pub count: u32,
    /// First loopback address of the fleet.
    #[arg(long, default_value = "127.77.0.1")]
    pub first_ip: Ipv4Addr,
    /// Where the daemon's HTTP listener binds (falls back to a free port when taken).
    #[arg(long, default_value = "127.0.0.1:9742")]
    pub listen: SocketAddr,
    /// Poll interval of the demo daemon.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Stop after this long instead of waiting for Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    let spec = FleetSpec {
        count: args.count.max(1),
        first_ip: args.first_ip,
        protocols: vec![SimProtocol::Redfish, SimProtocol::Ipmi],
        ..FleetSpec::default()
    };
    let fleet = SimFleet::start(&spec, cancel.clone())
        .await
        .map_err(anyhow::Error::msg)?;
    let dir = tempfile::tempdir().context("creating a temp dir for the leases file")?;
    let leases = dir.path().join("dhcpd.leases");
    fleet
        .write_leases(&leases, now_ms() / 1000)
        .context("writing the leases file")?;

    let mut config = Config {
        partition: "demo".into(),
        credentials_file: None,
        ..Config::default()
    };
    config.discovery.leases_file = leases.clone();
    config.discovery.leases_format = LeasesFormat::IscDhcpd;
    config.discovery.refresh = Duration::from_secs(1);
    config.poll.interval = args.interval;
    config.poll.timeout = args.interval.min(Duration::from_secs(5));
    config.redfish.port = fleet.port();
    config.redfish.tls = TlsPolicy::Insecure;
    config.ipmi.port = fleet.ipmi_port();
    config.ipmi.request_timeout = Duration::from_millis(500);
    config.http.listen = args.listen;
    let creds = Credentials::single(&spec.username, &spec.password);
    let daemon = match Daemon::start(&config, creds.clone()).await {
        Ok(d) => d,
        Err(_) => {
            config.http.listen = SocketAddr::new(args.listen.ip(), 0);
            Daemon::start(&config, creds).await?
        }
    };

    println!(
        "bmc-catcher demo: {} simulated BMCs from {} (Redfish on TCP {}, IPMI on UDP {}, alternating)",
        fleet.bmcs.len(),
        args.first_ip,
        fleet.port(),
        fleet.ipmi_port()
    );
    println!("  leases file  {}", leases.display());
    println!("  metrics      http://{}/metrics", daemon.addr);
    println!("  JSON API     http://{}/api/v1/bmcs", daemon.addr);
    if let Some(r) = fleet.bmcs.first() {
        println!(
            "  BMC log      bmc-catcher logs {} --follow --api http://{}  (an event every 30 s)",
            r.bmc.mac, daemon.addr
        );
    }
    println!("  Ctrl-C stops the demo (sessions are logged out on the way).\n");

    let tty = std::io::stdout().is_terminal();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let started = tokio::time::Instant::now();
    let deadline = async {
        match args.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let signal = shutdown_signal();
    tokio::pin!(signal);
    let mut flips = 0u64;
    let mut logged = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut deadline => break,
            _ = &mut signal => break,
        }
        let due = started.elapsed().as_secs() / 20;
        if due > flips && fleet.bmcs.len() > 1 {
            flips = due;
            let mut st = fleet.bmcs[1].bmc.state();
            st.power = if st.power == PowerState::On {
                PowerState::Off
            } else {
                PowerState::On
            };
        }
        // Now and then a BMC logs an event (a fan going low, a temperature going high): it arrives
        // as a log-entry event and in `bmc-catcher logs MAC`.
        let due = started.elapsed().as_secs() / 30;
        if due > logged && !fleet.bmcs.is_empty() {
            logged = due;
            let r = &fleet.bmcs[(due as usize) % fleet.bmcs.len()];
            let mut st = r.bmc.state();
            if due.is_multiple_of(2) {
                st.sel.event(0x04, 0x30, 0x01, [0x50, 0x07, 0x0a]);
            } else {
                st.sel.event(0x01, 0x42, 0x01, [0x57, 0x50, 0x4b]);
            }
        }
        let table = render_table(&daemon.store);
        if tty {
            print!("\x1b[H\x1b[J");
            println!(
                "bmc-catcher demo   metrics http://{}/metrics   api http://{}/api/v1/bmcs\n",
                daemon.addr, daemon.addr
            );
        }
        print!("{table}");
        if !tty {
            println!();
        }
        let _ = std::io::stdout().flush();
    }
    daemon.stop().await;
    let open: usize = fleet
        .bmcs
        .iter()
        .map(|r| r.bmc.sessions_open() + r.ipmi.as_ref().map_or(0, |(_, h)| h.sessions_open()))
        .sum();
    fleet.stop();
    if open == 0 {
        println!("demo stopped; every Redfish and IPMI session was closed");
    } else {
        println!("demo stopped; {open} sessions were left open");
    }
    Ok(())
}

/// The live table: one row per BMC.
pub fn render_table(store: &Store) -> String {
    let mut out = format!(
        "{:<17} {:<15} {:<8} {:<6} {:>7} {:>9} {:>9}\n",
        "MAC", "IP", "PROTO", "POWER", "WATTS", "MAX TEMP", "LAST POLL"
    );
    let now = now_ms();
    for e in store.entries() {
        let (proto, power, watts, temp, age) = match &e.snapshot {
            None => (
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "pending".into(),
            ),
            Some(s) => {
                let r = &s.reading;
                let power = r
                    .power
                    .ok()
                    .map(|p| format!("{p:?}"))
                    .unwrap_or_else(|| "?".into());
                let watts = r
                    .power_metrics
                    .ok()
                    .and_then(|p| p.consumed_watts)
                    .map(|w| format!("{w:.0}"))
                    .unwrap_or_else(|| "-".into());
                let temp = r
                    .sensors
                    .ok()
                    .into_iter()
                    .flatten()
                    .filter(|x| x.kind == SensorKind::Temperature)
                    .filter_map(|x| x.reading)
                    .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
                    .map(|t| format!("{t:.1}°C"))
                    .unwrap_or_else(|| "-".into());
                let age = format!("{}s ago", (now - s.polled_at_ms).max(0) / 1000);
                let proto = s
                    .protocol
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "-".into());
                let power = if s.up { power } else { "DOWN".into() };
                (proto, power, watts, temp, age)
            }
        };
        out.push_str(&format!(
            "{:<17} {:<15} {:<8} {:<6} {:>7} {:>9} {:>9}\n",
            e.target.mac.to_string(),
            e.target.ip.to_string(),
            proto,
            power,
            watts,
            temp,
            age
        ));
    }
    out
}
