//! What a connection may cost: 2,000 half-open connections with the daemon at `ulimit -n 512`,
//! SIGTERM with half-open, half-sent and unread connections open, and a client that never reads
//! its response.

use std::time::Duration;

use bmc_catcher::daemon::Daemon;
use bmc_sim::SimShape;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_half_open_connections_leave_healthz_and_polling_alone() {
    let _heavy = crate::common::HEAVY.lock().await;
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
    let _heavy = crate::common::HEAVY.lock().await;
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
    let _heavy = crate::common::HEAVY.lock().await;
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
