//! Simulated BMCs for the demo, the tests and the benchmarks: each a Redfish service over HTTPS on
//! its own loopback address ([`redfish`], [`state`]), and a fleet of them with a matching ISC dhcpd
//! leases file, so the real daemon can discover and poll them exactly as it would real hardware.

pub mod redfish;
pub mod state;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::model::MacAddr;
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
    pub mockup: Option<PathBuf>,
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
            mockup: None,
            username: "admin".into(),
            password: "password".into(),
        }
    }
}

/// One running simulated BMC.
pub struct Running {
    pub bmc: Arc<SimBmc>,
    pub addr: SocketAddr,
}

/// A running fleet; dropping it does not stop it, `stop()` or cancelling the token does.
pub struct SimFleet {
    pub bmcs: Vec<Running>,
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
        let mut bmcs = Vec::new();
        let mut port = spec.port;
        for i in 0..spec.count {
            let ip = nth_ip(spec.first_ip, i);
            if !ip.is_loopback() {
                return Err(format!(
                    "{ip} is not a loopback address: bmc-sim only listens on 127.0.0.0/8"
                ));
            }
            let shape = spec
                .shapes
                .get(i as usize % spec.shapes.len().max(1))
                .copied()
                .unwrap_or(SimShape::Legacy);
            let bmc = Arc::new(SimBmc::new(
                sim_mac(i + 1),
                i + 1,
                shape,
                &spec.username,
                &spec.password,
            ));
            let listener = TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), port))
                .await
                .map_err(|e| format!("cannot listen on {ip}:{port}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            port = addr.port();
            redfish::spawn(
                listener,
                redfish::Served {
                    bmc: bmc.clone(),
                    mockup: spec.mockup.clone(),
                },
                cancel.child_token(),
            )?;
            bmcs.push(Running { bmc, addr });
        }
        Ok(SimFleet { bmcs, cancel })
    }

    /// Targets with their ports, for callers that bypass leases (ports may differ per BMC).
    pub fn targets(&self) -> Vec<crate::model::Target> {
        self.bmcs
            .iter()
            .map(|r| crate::model::Target {
                mac: r.bmc.mac,
                ip: r.addr.ip(),
                port: Some(r.addr.port()),
                hostname: Some(format!("sim-{}", r.bmc.serial)),
                lease_ends: None,
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

    /// The port every BMC of the fleet listens on.
    pub fn port(&self) -> u16 {
        self.bmcs.first().map(|r| r.addr.port()).unwrap_or(0)
    }

    pub fn stop(&self) {
        self.cancel.cancel();
    }
}
