//! Hostile HTTP clients against the daemon's listener (issue 13, defects 4 and 5): what a
//! connection may cost ([`connections`]: 2,000 half-open under a low fd limit, slow and half-sent
//! requests at SIGTERM, a client that never reads) and what a response may cost ([`bodies`]: 50
//! slow `/metrics` readers, the JSON API's pages). Here: the daemon as a process under an fd limit,
//! and the clients. The daemon runs as the real binary where its fd limit or its RSS is what is
//! measured, in-process otherwise.

use std::net::SocketAddr;
use std::time::Duration;

use bmc_sim::state::{SensorKind, SimSensor};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::common::*;

mod bodies;
mod connections;

/// The `bmc-catcher run` process of a test bed, started under `ulimit -n nofile` and listening
/// on its own loopback address; killed (by its PID) when dropped.
pub(super) struct Catcher {
    child: tokio::process::Child,
    pub addr: SocketAddr,
    http: reqwest::Client,
}

impl Catcher {
    /// Starts the daemon with `[http]` keys `http` (TOML lines) and waits for `/healthz`.
    pub async fn start(bed: &TestBed, nofile: u64, http: &str) -> Catcher {
        let ip = unique_ip();
        let addr = SocketAddr::from((ip, free_port(ip)));
        let path = bed.config_path();
        let text = std::fs::read_to_string(&path).expect("config");
        let text = text.replace(
            "listen = \"127.0.0.1:0\"\n",
            &format!("listen = \"{addr}\"\n{http}\n"),
        );
        std::fs::write(&path, text).expect("config");
        let log = std::fs::File::create(bed.dir.path().join("run.log")).expect("log");
        let child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -n {nofile} && exec \"$0\" run --config \"$1\""
            ))
            .arg(bin())
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("bmc-catcher run");
        let catcher = Catcher {
            child,
            addr,
            // A new connection for each request, as curl or a load balancer's check makes.
            http: reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(1))
                .build()
                .expect("client"),
        };
        let until = Instant::now() + Duration::from_secs(20);
        while catcher.get("/healthz").await.is_none() {
            assert!(Instant::now() < until, "the daemon never answered /healthz");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        catcher
    }

    pub fn pid(&self) -> String {
        self.child.id().expect("running").to_string()
    }

    /// The body of a 200 answer to `path` within 1 s, else `None`.
    pub async fn get(&self, path: &str) -> Option<String> {
        self.get_within(path, Duration::from_secs(1)).await
    }

    /// The body of a 200 answer to `path` within `within`, else `None`.
    pub async fn get_within(&self, path: &str, within: Duration) -> Option<String> {
        let r = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .timeout(within)
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        r.text().await.ok()
    }

    /// The daemon's BMCs as `/api/v1/bmcs` shows them.
    pub async fn bmcs(&self) -> Vec<Value> {
        let text = self.get("/api/v1/bmcs").await.unwrap_or_default();
        serde_json::from_str::<Vec<Value>>(&text).unwrap_or_default()
    }

    /// VmRSS of the daemon, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// SIGTERM, and how long until the process has exited (`None`: not within `within`).
    pub async fn terminate(&mut self, within: Duration) -> Option<Duration> {
        let started = Instant::now();
        signal(&self.pid(), "-TERM");
        tokio::time::timeout(within, self.child.wait())
            .await
            .ok()
            .map(|_| started.elapsed())
    }
}

/// Raises this process's soft fd limit to `n` (at most the hard limit): the client side of the
/// floods holds thousands of sockets.
pub(super) fn raise_nofile(n: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < n {
            lim.rlim_cur = n.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// `n` connections that send nothing, each given up after 3 s if the server never accepts it.
pub(super) async fn half_open(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let connects =
        (0..n).map(|_| tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(addr)));
    futures::future::join_all(connects)
        .await
        .into_iter()
        .filter_map(|r| r.ok()?.ok())
        .collect()
}

/// A connection whose receive buffer is a few KiB and which sends `GET path` and never reads.
pub(super) async fn non_reader(addr: SocketAddr, path: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut s = socket.connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .expect("request");
    s
}

/// The value of the unlabelled or exactly labelled series `series` in a scrape.
pub(super) fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Adds `n` temperature sensors with long names to every simulated BMC: a /metrics of megabytes,
/// where each appears twice ("riser card" in a reading and a health series).
pub(super) fn many_sensors(bed: &TestBed, n: usize) {
    // Above the default max-sensors-per-bmc (1000): the test wants a big /metrics, not the bound.
    let path = bed.config_path();
    let text = std::fs::read_to_string(&path).expect("config");
    let text = text.replacen(
        "[poll]\n",
        &format!("[poll]\nmax-sensors-per-bmc = {}\n", n + 100),
        1,
    );
    std::fs::write(&path, text).expect("config");
    for r in &bed.fleet.bmcs {
        let mut state = r.bmc.state();
        for i in 0..n {
            state.sensors.push(SimSensor {
                id: format!("Extra{i}"),
                name: format!("Inlet ambient temperature sensor of riser card {i:05}"),
                kind: SensorKind::Temperature,
                reading: 30.0 + (i % 10) as f64,
                upper_critical: Some(90.0),
            });
        }
    }
}
