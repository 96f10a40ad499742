//! Shared helpers of the integration tests: loopback addresses and free ports, leases, configs and
//! credentials written to a temp dir, the built binary, signals, and the mapping between the
//! simulator's vocabulary and the daemon's; [`TestBed`], the one builder of a simulated fleet with
//! its leases, credentials and config files; [`LogCatcher`], the pieces that follow one simulated
//! BMC's logs. [`programs`] (with `--features peers`) starts and stops the real peer programs.

mod log_catcher;
#[cfg(feature = "peers")]
pub mod programs;
mod testbed;
pub use log_catcher::LogCatcher;
#[cfg(feature = "peers")]
pub use programs::*;
pub use testbed::{TestBed, write_config_file, write_credentials};

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Held by the tests that load both cores for seconds (thousands of connections, 50,000 sensors,
/// megabyte scrapes) and by the one that measures deadlines to the quarter second
/// (`it::faults`): they run one at a time, the rest of the suite beside them.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A loopback address of its own for each caller in this process (127.<pid-based>.<n>.1), so tests
/// running in parallel, or in parallel processes, never share an address.
pub fn unique_ip() -> Ipv4Addr {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    Ipv4Addr::new(127, 100 + (pid % 100) as u8, (n % 250) as u8 + 1, 1)
}

/// A free TCP port on `ip`.
pub fn free_port(ip: Ipv4Addr) -> u16 {
    TcpListener::bind(SocketAddr::from((ip, 0)))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A dhcpd leases file with one active lease per (mac, ip).
pub fn leases(entries: &[(&str, Ipv4Addr)]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let mut out = String::new();
    for (mac, ip) in entries {
        out.push_str(&format!(
            "lease {ip} {{\n  starts epoch {};\n  ends epoch {};\n  binding state active;\n  hardware ethernet {mac};\n}}\n",
            now - 60,
            now + 3600
        ));
    }
    out
}

/// Writes a secret file with mode 0600, as the daemon demands for credentials.
pub fn write_secret(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write secret");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

/// Writes the leases, `credentials.toml` (admin/password) and `config.toml` (polled every minute)
/// into `dir`, for tests that bring their own BMCs; returns the config path.
pub fn write_config(dir: &Path, leases_text: &str, port: u16, extra: &str) -> PathBuf {
    std::fs::write(dir.join("dhcpd.leases"), leases_text).expect("leases");
    write_credentials(dir, "admin", "password");
    write_config_file(dir, port, "1m", "10s", extra)
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bmc-catcher")
}

/// Sends `sig` (`-TERM`, `-HUP`) to the process `pid`; fails the test if it cannot.
pub fn signal(pid: &str, sig: &str) {
    let number = match sig {
        "-TERM" => libc::SIGTERM,
        "-HUP" => libc::SIGHUP,
        "-KILL" => libc::SIGKILL,
        other => panic!("no such signal in the tests: {other}"),
    };
    if let Err(e) = kill(pid, number) {
        panic!("kill {sig} {pid}: {e}");
    }
}

/// kill(2) of the process whose PID is `pid` (as text, from a pid file or `Child::id`).
pub fn kill(pid: &str, sig: libc::c_int) -> std::io::Result<()> {
    let pid: libc::pid_t = pid
        .trim()
        .parse()
        .map_err(|e| std::io::Error::other(format!("pid {pid:?}: {e}")))?;
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// bmc-catcher's MAC of a simulated BMC (bmc-sim has its own `MacAddr`).
pub fn mac(m: bmc_sim::state::MacAddr) -> bmc_catcher::model::MacAddr {
    bmc_catcher::model::MacAddr(m.0)
}

/// The fleet as poll targets, each with its own port (for callers that bypass leases).
pub fn targets(fleet: &bmc_sim::SimFleet) -> Vec<bmc_catcher::model::Target> {
    fleet
        .endpoints()
        .into_iter()
        .map(|e| bmc_catcher::model::Target {
            mac: mac(e.mac),
            ip: e.addr.ip(),
            port: Some(e.addr.port()),
            hostname: Some(e.hostname),
            lease_ends: None,
        })
        .collect()
}

/// A power state of bmc-catcher's model as the simulator spells it.
pub fn sim_power(p: bmc_catcher::model::PowerState) -> bmc_sim::state::PowerState {
    use bmc_catcher::model::PowerState as P;
    use bmc_sim::state::PowerState as S;
    match p {
        P::On => S::On,
        P::Off => S::Off,
        P::PoweringOn => S::PoweringOn,
        P::PoweringOff => S::PoweringOff,
        P::Unknown => S::Unknown,
    }
}

/// Waits until `pred` holds, checking every 50 ms; fails the test naming `what` after `within`.
pub async fn wait_until(within: std::time::Duration, what: &str, mut pred: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !pred() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
