//! Hostile HTTP clients against the daemon's listener (issue 13, defects 4 and 5): 2,000 half-open
//! connections under a low fd limit, slow and half-sent requests at SIGTERM, a client that never
//! reads its response, 50 slow `/metrics` readers, and the JSON API's pages. The daemon runs as
//! the real binary where its fd limit or its RSS is what is measured, in-process otherwise.

use std::net::SocketAddr;
use std::time::Duration;

use bmc_catcher::daemon::Daemon;
use bmc_sim::SimShape;
use bmc_sim::state::{SensorKind, SimSensor};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::common::*;

/// The `bmc-catcher run` process of a test bed, started under `ulimit -n nofile` and listening
/// on its own loopback address; killed (by its PID) when dropped.
struct Catcher {
    child: tokio::process::Child,
    addr: SocketAddr,
    http: reqwest::Client,
}

impl Catcher {
    /// Starts the daemon with `[http]` keys `http` (TOML lines) and waits for `/healthz`.
    async fn start(bed: &TestBed, nofile: u64, http: &str) -> Catcher {
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

    fn pid(&self) -> String {
        self.child.id().expect("running").to_string()
    }

    /// The body of a 200 answer to `path` within 1 s, else `None`.
    async fn get(&self, path: &str) -> Option<String> {
        self.get_within(path, Duration::from_secs(1)).await
    }

    /// The body of a 200 answer to `path` within `within`, else `None`.
    async fn get_within(&self, path: &str, within: Duration) -> Option<String> {
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
    async fn bmcs(&self) -> Vec<Value> {
        let text = self.get("/api/v1/bmcs").await.unwrap_or_default();
        serde_json::from_str::<Vec<Value>>(&text).unwrap_or_default()
    }

    /// VmRSS of the daemon, in KiB.
    fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// SIGTERM, and how long until the process has exited (`None`: not within `within`).
    async fn terminate(&mut self, within: Duration) -> Option<Duration> {
        let started = Instant::now();
        signal(&self.pid(), "-TERM");
        tokio::time::timeout(within, self.child.wait())
            .await
            .ok()
            .map(|_| started.elapsed())
    }
}

/// The tests of this file measure time and RSS: one at a time, so they do not measure each other.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Raises this process's soft fd limit to `n` (at most the hard limit): the client side of the
/// floods holds thousands of sockets.
fn raise_nofile(n: u64) {
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
async fn half_open(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let connects =
        (0..n).map(|_| tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(addr)));
    futures::future::join_all(connects)
        .await
        .into_iter()
        .filter_map(|r| r.ok()?.ok())
        .collect()
}

/// A connection whose receive buffer is a few KiB and which sends `GET path` and never reads.
async fn non_reader(addr: SocketAddr, path: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut s = socket.connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .expect("request");
    s
}

/// The value of the unlabelled or exactly labelled series `series` in a scrape.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Adds `n` temperature sensors with long names to every simulated BMC: a /metrics of megabytes,
/// where each appears twice ("riser card" in a reading and a health series).
fn many_sensors(bed: &TestBed, n: usize) {
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

#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_half_open_connections_leave_healthz_and_polling_alone() {
    let _one = ONE_AT_A_TIME.lock().await;
    raise_nofile(8192);
    let bed = TestBed::new()
        .bmcs(2)
        .interval("1s")
        .timeout("1s")
        .toml("\n[ipmi]\nrequest-timeout = \"200ms\"\n")
        .start()
        .await;
    // The second BMC's lease comes only during the flood: polling it needs new sockets (the
    // first one's keep-alive connection would hide an fd shortage).
    let all = bed.fleet.leases_text(bmc_catcher::store::now_ms() / 1000);
    let second = all.rfind("lease ").expect("two leases");
    std::fs::write(bed.leases_path(), &all[..second]).expect("one lease");
    // 512 fds: what the flood alone would take four times over.
    let catcher = Catcher::start(&bed, 512, "header-read-timeout = \"1s\"").await;
    let until = Instant::now() + Duration::from_secs(20);
    while catcher
        .bmcs()
        .await
        .iter()
        .filter(|b| b["snapshot"]["up"] == true)
        .count()
        < 1
    {
        assert!(Instant::now() < until, "the first BMC up before the flood");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let flood_started = bmc_catcher::store::now_ms();
    let flood = half_open(catcher.addr, 2000).await;
    // /healthz answers while the 2,000 are open on the client's side.
    let asked = Instant::now();
    let mut answered = None;
    while asked.elapsed() < Duration::from_secs(5) {
        if catcher.get("/healthz").await.as_deref() == Some("ok\n") {
            answered = Some(asked.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answered = answered.expect("/healthz answers within 5 s of 2,000 half-open connections");
    bed.write_leases("");
    // Both BMCs are polled after the flood began, the new one too, and are up: no false
    // "unreachable".
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let bmcs = catcher.bmcs().await;
        let fresh_and_up = bmcs
            .iter()
            .filter(|b| {
                b["snapshot"]["up"] == true
                    && b["snapshot"]["polled_at_ms"].as_i64().unwrap_or(0) > flood_started + 1000
            })
            .count();
        if fresh_and_up == 2 {
            break;
        }
        assert!(
            Instant::now() < until,
            "the BMCs stopped being polled or went down during the flood: {bmcs:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let scrape = catcher
        .get_within("/metrics", Duration::from_secs(10))
        .await
        .expect("/metrics");
    let refused = sample(&scrape, "bmc_catcher_http_connections_refused_total").unwrap_or(0.0);
    let limit = sample(&scrape, "bmc_catcher_http_connections_limit").unwrap_or(0.0);
    assert!(
        refused > 0.0,
        "the flood beyond the limit is counted:\n{scrape}"
    );
    assert!(
        limit > 0.0 && limit < 256.0,
        "the limit fits 512 fds: {limit}"
    );
    assert!(
        sample(
            &scrape,
            "bmc_catcher_http_timeouts_total{deadline=\"header\"}"
        )
        .unwrap_or(0.0)
            > 0.0,
        "the half-open connections were closed at the header deadline:\n{scrape}"
    );
    eprintln!(
        "flood: {} of 2000 connected, /healthz after {answered:?}, limit {limit}, refused {refused}",
        flood.len()
    );
    drop(flood);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_with_half_open_slow_and_unread_connections_open() {
    let _one = ONE_AT_A_TIME.lock().await;
    raise_nofile(8192);
    let bed = TestBed::new()
        .bmcs(1)
        .shapes(vec![SimShape::Legacy])
        .interval("1s")
        .timeout("1s")
        .toml("\n[ipmi]\nrequest-timeout = \"200ms\"\n")
        .start()
        .await;
    many_sensors(&bed, 3000);
    let mut catcher = Catcher::start(&bed, 4096, "shutdown-timeout = \"2s\"").await;
    let until = Instant::now() + Duration::from_secs(20);
    while catcher
        .get("/metrics")
        .await
        .is_none_or(|m| m.len() < 200_000)
    {
        assert!(Instant::now() < until, "the big BMC polled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Half-open, half a request sent, and responses nobody reads.
    let _idle = half_open(catcher.addr, 300).await;
    let mut partial = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(catcher.addr).await.expect("connect");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHo")
            .await
            .expect("half a request");
        partial.push(s);
    }
    let mut unread = Vec::new();
    for _ in 0..50 {
        unread.push(non_reader(catcher.addr, "/metrics").await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let took = catcher.terminate(Duration::from_secs(10)).await;
    let took = took.expect("SIGTERM ends the daemon within 10 s with 400 hostile connections open");
    // The shutdown deadline is 2 s; polling's drain comes on top.
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?}");
    eprintln!("SIGTERM with 400 hostile connections: exited after {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_reads_its_response_is_cut_off() {
    let _one = ONE_AT_A_TIME.lock().await;
    // A body of 8 MB (10 BMCs, 3,500 sensors each): more than the kernel's socket buffers take
    // (tcp_wmem max 4 MiB) from a client that reads nothing.
    let bed = TestBed::new()
        .bmcs(10)
        .shapes(vec![SimShape::Legacy])
        .toml("max-connections = 16\nresponse-timeout = \"4s\"\n")
        .start()
        .await;
    many_sensors(&bed, 3500);
    let daemon = Daemon::start(&bed.config(), bed.credentials())
        .await
        .expect("daemon");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let url = format!("http://{}/metrics", daemon.addr);
    let until = Instant::now() + Duration::from_secs(20);
    // A scrape cut off by the response deadline on a slow machine counts as not yet.
    let scrape = async || http.get(&url).send().await.ok()?.text().await.ok();
    let size = loop {
        let body = scrape().await.unwrap_or_default();
        if body.matches("riser card").count() >= 2 * 10 * 3500 {
            break body.len();
        }
        assert!(Instant::now() < until, "the big BMC polled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut s = non_reader(daemon.addr, "/metrics").await;
    // Longer than response-timeout (4 s: a debug build renders 7 MB slowly on a busy machine),
    // without reading.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut got)).await;
    assert!(
        matches!(read, Ok(Ok(_)) | Ok(Err(_))),
        "the daemon closed the connection (EOF or reset), it did not keep waiting"
    );
    assert!(
        got.len() < size,
        "the response was cut off: {} of {size} bytes",
        got.len()
    );
    let scrape = scrape().await.expect("a scrape after the cut");
    let cut = sample(
        &scrape,
        "bmc_catcher_http_timeouts_total{deadline=\"response\"}",
    );
    assert!(
        cut.is_some_and(|n| n >= 1.0),
        "counted as a response timeout: {cut:?}"
    );
    eprintln!(
        "never-read client: got {} of {size} bytes, then the connection closed",
        got.len()
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_slow_metrics_readers_share_one_body() {
    let _one = ONE_AT_A_TIME.lock().await;
    raise_nofile(8192);
    let bed = TestBed::new()
        .bmcs(10)
        .shapes(vec![SimShape::Legacy])
        .start()
        .await;
    many_sensors(&bed, 3500);
    let catcher = Catcher::start(&bed, 4096, "").await;
    let until = Instant::now() + Duration::from_secs(30);
    let size = loop {
        let m = catcher
            .get_within("/metrics", Duration::from_secs(10))
            .await
            .unwrap_or_default();
        if m.matches("riser card").count() >= 2 * 10 * 3500 {
            break m.len();
        }
        assert!(Instant::now() < until, "all ten big BMCs polled");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    // Warm: a few scrapes, so the allocator has what one render takes.
    for _ in 0..3 {
        catcher
            .get_within("/metrics", Duration::from_secs(10))
            .await
            .expect("scrape");
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let before = catcher.rss_kib();
    let mut readers = Vec::new();
    for _ in 0..50 {
        readers.push(non_reader(catcher.addr, "/metrics").await);
    }
    // The highest RSS over 10 s with the 50 waiting (a render per reader takes a while).
    let mut during = before;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        during = during.max(catcher.rss_kib());
    }
    let growth = during.saturating_sub(before) * 1024;
    eprintln!(
        "50 slow /metrics readers of a {size}-byte body: RSS {before} -> {during} KiB (+{} KiB)",
        growth / 1024
    );
    // 8 MB: more than the kernel takes into a socket's buffers (about 3 MB here), so a reader that
    // does not read keeps the rest in the daemon. Each with its own copy: 50 x 5 MB; shared: one
    // body and the render that made it.
    assert!(
        growth < 5 * size as u64,
        "RSS grew by {growth} bytes with 50 slow readers of a {size}-byte body"
    );
    drop(readers);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bmc_list_comes_in_pages_that_name_the_next() {
    let _one = ONE_AT_A_TIME.lock().await;
    let bed = TestBed::new().bmcs(3).start().await;
    let daemon = Daemon::start(&bed.config(), bed.credentials())
        .await
        .expect("daemon");
    wait_until(Duration::from_secs(20), "three targets", || {
        daemon.store.len() == 3
    })
    .await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let base = format!("http://{}", daemon.addr);
    let first = http
        .get(format!("{base}/api/v1/bmcs?limit=2"))
        .send()
        .await
        .expect("page 1");
    let next = first.headers()["link"].to_str().expect("link").to_string();
    let page: Vec<Value> = first.json().await.expect("an array");
    assert_eq!(page.len(), 2);
    let path = bmc_catcher::publish::http::pages::next_link(&next).expect("rel=next");
    let second = http
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("page 2");
    assert!(
        second.headers().get("link").is_none(),
        "the last page names no next"
    );
    let rest: Vec<Value> = second.json().await.expect("an array");
    assert_eq!(rest.len(), 1);
    let macs: std::collections::BTreeSet<_> = page
        .iter()
        .chain(&rest)
        .map(|b| b["target"]["mac"].to_string())
        .collect();
    assert_eq!(macs.len(), 3, "every BMC once");
    // Without a limit: the whole (small) fleet, as before pages.
    let all: Vec<Value> = http
        .get(format!("{base}/api/v1/bmcs"))
        .send()
        .await
        .expect("all")
        .json()
        .await
        .expect("an array");
    assert_eq!(all.len(), 3);
    daemon.stop().await;
}
