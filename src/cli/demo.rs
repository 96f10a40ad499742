//! `bmc-catcher demo`: the newcomer's first command. Starts a fleet of simulated BMCs on loopback,
//! Redfish (each thermal/power shape) and IPMI alternating (more with `--count`), writes their dhcpd leases into a temp
//! dir, runs the real daemon against that file, prints the URLs, and shows a live table until Ctrl-C
//! (or `--duration`), in the columns and words of `status`; piped, only when the table changed. Every
//! 20 s it flips the power of one simulated server, and every 30 s one BMC logs an event (a
//! `log-entry`, shown by `bmc-catcher logs MAC`), so changes show.

use std::io::{IsTerminal, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cli::table::{Row, Style, status_table};
use crate::config::{Config, Credentials, LeasesFormat, TlsPolicy};
use crate::daemon::{Daemon, shutdown_signal};
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
    let style = Style {
        color: tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        wide: false,
    };
    let mut changes = Changes::default();
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
        if tty {
            print!("\x1b[H\x1b[J");
            println!(
                "bmc-catcher demo   metrics http://{}/metrics   api http://{}/api/v1/bmcs\n",
                daemon.addr, daemon.addr
            );
            print!("{}", render_table(&daemon.store, now_ms(), style));
        } else if changes.changed(render_table(&daemon.store, 0, style)) {
            println!("{}", render_table(&daemon.store, now_ms(), style));
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

/// The live table: one row per BMC, the columns and words of `status`.
pub fn render_table(store: &Store, now_ms: i64, style: Style) -> String {
    let rows: Vec<Row> = store
        .entries()
        .into_iter()
        .map(|e| Row {
            partition: store.partition().to_string(),
            mac: e.target.mac.to_string(),
            ip: e.target.ip.to_string(),
            snapshot: e.snapshot.map(std::sync::Arc::unwrap_or_clone),
            catcher: None,
        })
        .collect();
    status_table(&rows, now_ms, style)
}

/// Piped, the demo prints a table only when it differs from the last one printed, ages aside
/// (a log of hundreds of identical tables says nothing).
#[derive(Debug, Default)]
pub struct Changes {
    last: Option<String>,
}

impl Changes {
    /// Whether the table whose age-free rendering is `stable` is worth printing.
    pub fn changed(&mut self, stable: String) -> bool {
        if self.last.as_ref() == Some(&stable) {
            return false;
        }
        self.last = Some(stable);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Target;

    #[test]
    fn piped_only_changed_tables_are_printed() {
        let store = Store::new("demo");
        store.upsert_target(Target {
            mac: "02:00:00:00:00:01".parse().expect("mac"),
            ip: "127.0.0.1".parse().expect("ip"),
            port: None,
            hostname: None,
            lease_ends: None,
        });
        let plain = Style {
            color: false,
            wide: false,
        };
        let mut changes = Changes::default();
        let table = render_table(&store, 0, plain);
        assert!(table.starts_with("MAC "), "the status columns: {table}");
        assert!(
            table.contains("unknown") && table.contains("never"),
            "{table}"
        );
        assert!(changes.changed(table.clone()));
        assert!(!changes.changed(render_table(&store, 0, plain)));
        store.upsert_target(Target {
            mac: "02:00:00:00:00:02".parse().expect("mac"),
            ip: "127.0.0.2".parse().expect("ip"),
            port: None,
            hostname: None,
            lease_ends: None,
        });
        assert!(changes.changed(render_table(&store, 0, plain)));
    }
}
