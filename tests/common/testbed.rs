//! The one test bed: a simulated fleet on a fresh loopback address, its dhcpd leases file, a
//! credentials file (mode 0600) and a config file in a temp dir, written the way an operator would.
//! Tests take the config as a file (`config_path`, for the CLI) or as the value the daemon loads
//! from it (`config`), change what they test, and start the daemon or the binary against it.
//!
//! ```ignore
//! let bed = TestBed::new().bmcs(3).interval("1s").toml("[nats]\nurl = \"...\"\n").start().await;
//! let daemon = Daemon::start(&bed.config(), bed.credentials()).await?;
//! ```

use std::path::{Path, PathBuf};

use bmc_catcher::config::{Config, Credentials};
use bmc_sim::{FleetSpec, SimFleet, SimProtocol, SimShape};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

use super::{unique_ip, write_secret};

/// What to build; [`TestBed::new`] starts one BMC of the default shape, polled every minute.
pub struct Builder {
    spec: FleetSpec,
    interval: String,
    timeout: String,
    toml: String,
    extra_leases: String,
}

/// A running simulated fleet and the files that describe it to the daemon.
pub struct TestBed {
    pub fleet: SimFleet,
    pub dir: TempDir,
    /// Stops the simulated fleet (also on drop).
    pub cancel: CancellationToken,
}

impl TestBed {
    #[expect(clippy::new_ret_no_self, reason = "a test bed starts from its builder")]
    pub fn new() -> Builder {
        Builder {
            spec: FleetSpec {
                count: 1,
                first_ip: unique_ip(),
                ..Default::default()
            },
            interval: "1m".into(),
            timeout: "10s".into(),
            toml: String::new(),
            extra_leases: String::new(),
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn leases_path(&self) -> PathBuf {
        self.dir.path().join("dhcpd.leases")
    }

    /// The config as the daemon loads it from the file.
    pub fn config(&self) -> Config {
        self.load().0
    }

    /// The credentials as the daemon loads them from the file the config names.
    pub fn credentials(&self) -> Credentials {
        self.load().1
    }

    fn load(&self) -> (Config, Credentials) {
        bmc_catcher::config::load(&self.config_path()).expect("the test bed's config loads")
    }

    /// Rewrites the leases file: every simulated BMC (plus the extra leases) as of now.
    pub fn write_leases(&self, extra: &str) {
        let mut text = self.fleet.leases_text(bmc_catcher::store::now_ms() / 1000);
        text.push_str(extra);
        std::fs::write(self.leases_path(), text).expect("write leases");
    }
}

impl Drop for TestBed {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Builder {
    pub fn bmcs(mut self, count: u32) -> Self {
        self.spec.count = count;
        self
    }

    pub fn shapes(mut self, shapes: Vec<SimShape>) -> Self {
        self.spec.shapes = shapes;
        self
    }

    pub fn protocols(mut self, protocols: Vec<SimProtocol>) -> Self {
        self.spec.protocols = protocols;
        self
    }

    /// The password the simulated BMCs accept; the credentials file carries the same one.
    #[cfg_attr(
        not(feature = "peers"),
        expect(dead_code, reason = "only the peer tests set a password")
    )]
    pub fn password(mut self, password: &str) -> Self {
        self.spec.password = password.into();
        self
    }

    /// The simulated BMCs serve drives, RAID, DIMMs, CPUs, NIC ports and firmware inventory.
    pub fn components(mut self) -> Self {
        self.spec.components = true;
        self
    }

    /// `[poll] interval`, as the config file spells it (`"1s"`).
    pub fn interval(mut self, interval: &str) -> Self {
        self.interval = interval.into();
        self
    }

    /// `[poll] timeout`.
    pub fn timeout(mut self, timeout: &str) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// TOML appended to the config file (whole sections: `[nats]`, `[ipmi]`, ...).
    pub fn toml(mut self, toml: &str) -> Self {
        self.toml.push_str(toml);
        self
    }

    /// Leases appended to the simulated fleet's (real peers on other addresses).
    #[cfg_attr(
        not(feature = "peers"),
        expect(dead_code, reason = "only the peer tests add real BMCs")
    )]
    pub fn extra_leases(mut self, text: &str) -> Self {
        self.extra_leases.push_str(text);
        self
    }

    /// Starts the fleet and writes the leases, credentials and config files.
    pub async fn start(self) -> TestBed {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cancel = CancellationToken::new();
        let fleet = SimFleet::start(&self.spec, cancel.clone())
            .await
            .expect("simulated fleet");
        let dir = tempfile::tempdir().expect("temp dir");
        let bed = TestBed { fleet, dir, cancel };
        bed.write_leases(&self.extra_leases);
        write_credentials(bed.dir.path(), &self.spec.username, &self.spec.password);
        write_config_file(
            bed.dir.path(),
            bed.fleet.port(),
            &self.interval,
            &self.timeout,
            &self.toml,
        );
        bed
    }
}

/// `config.toml` in `dir` naming `dir`'s `credentials.toml` and `dhcpd.leases`, the simulators'
/// Redfish port, the poll interval and timeout, and `toml` appended; returns its path.
pub fn write_config_file(
    dir: &Path,
    port: u16,
    interval: &str,
    timeout: &str,
    toml: &str,
) -> PathBuf {
    let config = format!(
        "partition = \"test\"\ncredentials-file = \"{d}/credentials.toml\"\n\
         session-journal = \"{d}/sessions.json\"\n\n\
         [discovery]\nleases-file = \"{d}/dhcpd.leases\"\nrefresh = \"200ms\"\n\n\
         [poll]\ninterval = \"{interval}\"\ntimeout = \"{timeout}\"\n\n\
         [redfish]\nport = {port}\ntls = \"insecure\"\n\n\
         [http]\nlisten = \"127.0.0.1:0\"\n{toml}",
        d = dir.display(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, config).expect("write config");
    path
}

/// `credentials.toml` with one username and password, mode 0600.
pub fn write_credentials(dir: &Path, username: &str, password: &str) {
    write_secret(
        &dir.join("credentials.toml"),
        &format!("username = \"{username}\"\npassword = \"{password}\"\n"),
    );
}
