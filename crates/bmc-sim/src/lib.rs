//! Simulated BMCs for the demo, the tests and the benchmarks: each on its own loopback address, a
//! Redfish service over HTTPS ([`redfish`]), an IPMI RMCP+ responder over UDP ([`ipmi`]), or both,
//! serving one [`state::SimBmc`]; and a fleet of them with a matching ISC dhcpd leases file, so the
//! real daemon can discover and poll them exactly as it would real hardware.

pub mod ipmi;
pub mod redfish;
mod render;
pub mod state;
pub mod tally;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::state::MacAddr;
pub use state::{Faults, SimBmc, SimShape};

/// How to build a fleet.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    pub count: u32,
    /// The first address; the others follow (127.0.1.1, 127.0.1.2, ...).
    pub first_ip: Ipv4Addr,
    /// 0 = a free port, chosen for the first BMC and shared by all (leases carry no port).
    pub port: u16,
    /// Shapes assigned round-robin.
    pub shapes: Vec<SimShape>,
    /// Protocols assigned round-robin.
    pub protocols: Vec<SimProtocol>,
    /// UDP port of the IPMI responders (0: a free one, chosen for the first and shared by all).
    pub ipmi_port: u16,
    /// Serve this DMTF mockup / `capture` directory: its Redfish tree, and its `ipmi.json` to IPMI.
    pub mockup: Option<PathBuf>,
    /// Serve drives, RAID, DIMMs, CPUs, NIC ports and the firmware inventory
    /// ([`state::components`]); off by default, so a benchmark fleet costs no extra GETs.
    pub components: bool,
    pub username: String,
    pub password: String,
}

impl Default for FleetSpec {
    fn default() -> Self {
        FleetSpec {
            count: 3,
            first_ip: Ipv4Addr::new(127, 0, 1, 1),
            port: 0,
            shapes: vec![SimShape::Legacy, SimShape::Subsystem, SimShape::Sensors],
            protocols: vec![SimProtocol::Redfish],
            ipmi_port: 0,
            mockup: None,
            components: false,
            username: "admin".into(),
            password: "password".into(),
        }
    }
}

/// Which services a simulated BMC offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SimProtocol {
    Redfish,
    Ipmi,
    Both,
}

/// One running simulated BMC.
pub struct Running {
    pub bmc: Arc<SimBmc>,
    /// Where its Redfish service listens, or would (the address with the fleet's Redfish port).
    pub addr: SocketAddr,
    pub protocol: SimProtocol,
    /// The IPMI responder's address and counters, when it speaks IPMI.
    pub ipmi: Option<(SocketAddr, ipmi::IpmiSimHandle)>,
}

/// Where one BMC of a fleet listens (its Redfish address, or the would-be one for IPMI-only BMCs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub mac: MacAddr,
    pub addr: SocketAddr,
    /// The name its lease carries (`sim-SIM000001`).
    pub hostname: String,
}

/// A running fleet; dropping it does not stop it, `stop()` or cancelling the token does.
pub struct SimFleet {
    pub bmcs: Vec<Running>,
    /// Its Redfish requests per second since it started.
    pub tally: Arc<tally::Tally>,
    cancel: CancellationToken,
}

/// The MAC of the `i`-th simulated BMC (locally administered 02:...).
pub fn sim_mac(i: u32) -> MacAddr {
    let b = i.to_be_bytes();
    MacAddr([0x02, 0x00, b[0], b[1], b[2], b[3]])
}

fn nth_ip(first: Ipv4Addr, i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(first).wrapping_add(i))
}

impl SimFleet {
    pub async fn start(spec: &FleetSpec, cancel: CancellationToken) -> Result<SimFleet, String> {
        // A mockup directory with an IPMI capture: the IPMI responders replay it.
        let replay = match spec
            .mockup
            .as_ref()
            .map(|d| d.join("ipmi.json"))
            .filter(|f| f.exists())
        {
            Some(f) => {
                let text =
                    std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                let c: ipmi_wire::capture::Capture =
                    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
                Some(Arc::new(c))
            }
            None => None,
        };
        let mut bmcs = Vec::new();
        let tally = Arc::new(tally::Tally::default());
        let mut port = spec.port;
        let mut ipmi_port = spec.ipmi_port;
        for i in 0..spec.count {
            let ip = nth_ip(spec.first_ip, i);
            if !ip.is_loopback() {
                return Err(format!(
                    "{ip} is not a loopback address: bmc-sim only listens on 127.0.0.0/8"
                ));
            }
            let pick = |v: &[SimShape]| v.get(i as usize % v.len().max(1)).copied();
            let shape = pick(&spec.shapes).unwrap_or(SimShape::Legacy);
            let protocol = spec
                .protocols
                .get(i as usize % spec.protocols.len().max(1))
                .copied()
                .unwrap_or(SimProtocol::Redfish);
            let bmc = Arc::new(SimBmc::new(
                sim_mac(i + 1),
                i + 1,
                shape,
                &spec.username,
                &spec.password,
            ));
            if let Some(capture) = &replay {
                bmc.state().ipmi_replay = Some(capture.clone());
            }
            bmc.state().parts.served = spec.components;
            let mut addr = SocketAddr::new(IpAddr::V4(ip), port);
            if protocol != SimProtocol::Ipmi {
                let listener = TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), port))
                    .await
                    .map_err(|e| format!("cannot listen on {ip}:{port}: {e}"))?;
                addr = listener.local_addr().map_err(|e| e.to_string())?;
                port = addr.port();
                redfish::spawn(
                    listener,
                    redfish::Served {
                        bmc: bmc.clone(),
                        mockup: spec.mockup.clone(),
                        tally: tally.clone(),
                    },
                    cancel.child_token(),
                )?;
            }
            let ipmi = if protocol != SimProtocol::Redfish {
                let socket =
                    tokio::net::UdpSocket::bind(SocketAddr::new(IpAddr::V4(ip), ipmi_port))
                        .await
                        .map_err(|e| format!("cannot bind UDP {ip}:{ipmi_port}: {e}"))?;
                let local = socket.local_addr().map_err(|e| e.to_string())?;
                ipmi_port = local.port();
                let users = vec![
                    ipmi::SimUser::admin_of(&bmc),
                    ipmi::SimUser::new("operator", &spec.password, 3),
                    ipmi::SimUser::new("reader", &spec.password, 2),
                ];
                let handle = ipmi::spawn(
                    socket,
                    bmc.clone(),
                    users,
                    Duration::from_secs(60),
                    cancel.child_token(),
                );
                Some((local, handle))
            } else {
                None
            };
            bmcs.push(Running {
                bmc,
                addr,
                protocol,
                ipmi,
            });
        }
        Ok(SimFleet {
            bmcs,
            tally,
            cancel,
        })
    }

    /// Where each BMC listens, for callers that bypass leases (ports may differ per BMC).
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.bmcs
            .iter()
            .map(|r| Endpoint {
                mac: r.bmc.mac,
                addr: r.addr,
                hostname: format!("sim-{}", r.bmc.serial),
            })
            .collect()
    }

    /// An ISC dhcpd leases file listing every BMC with a lease from `now` for 12 hours.
    pub fn leases_text(&self, now: i64) -> String {
        let mut out = String::from("# written by bmc-sim\nauthoring-byte-order little-endian;\n\n");
        for r in &self.bmcs {
            let _ = write!(
                out,
                "lease {} {{\n  starts epoch {};\n  ends epoch {};\n  binding state active;\n  hardware ethernet {};\n  client-hostname \"sim-{}\";\n}}\n",
                r.addr.ip(),
                now - 60,
                now + 12 * 3600,
                r.bmc.mac,
                r.bmc.serial
            );
        }
        out
    }

    pub fn write_leases(&self, path: &Path, now: i64) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.leases_text(now))?;
        std::fs::rename(tmp, path)
    }

    /// The port every Redfish BMC of the fleet listens on (0 when none speaks Redfish).
    pub fn port(&self) -> u16 {
        self.bmcs
            .iter()
            .find(|r| r.protocol != SimProtocol::Ipmi)
            .map(|r| r.addr.port())
            .unwrap_or(0)
    }

    /// The UDP port every IPMI BMC of the fleet listens on (0 when none speaks IPMI).
    pub fn ipmi_port(&self) -> u16 {
        self.bmcs
            .iter()
            .find_map(|r| r.ipmi.as_ref().map(|(a, _)| a.port()))
            .unwrap_or(0)
    }

    pub fn stop(&self) {
        self.cancel.cancel();
    }
}
