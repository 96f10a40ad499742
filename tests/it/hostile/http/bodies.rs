//! What a response may cost: 50 slow readers of an 8 MB `/metrics`, `/metrics` compressed for
//! the scrapers that accept gzip, and `/api/v1/bmcs` in pages.

use std::time::Duration;

use bmc_catcher::daemon::Daemon;
use bmc_sim::SimShape;
use serde_json::Value;
use tokio::time::Instant;

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn fifty_slow_metrics_readers_share_one_body() {
    let _heavy = crate::common::HEAVY.lock().await;
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
async fn a_scraper_that_accepts_gzip_gets_the_same_series_compressed() {
    use std::io::Read;
    let bed = TestBed::new().bmcs(3).start().await;
    let daemon = Daemon::start(&bed.config(), bed.credentials())
        .await
        .expect("daemon");
    wait_until(Duration::from_secs(20), "three BMCs polled", || {
        daemon.store.snapshots().len() == 3
    })
    .await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let url = format!("http://{}/metrics", daemon.addr);
    // As Prometheus asks.
    let zipped = http
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("gzip scrape");
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let zipped = zipped.bytes().await.expect("body");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_string(&mut text)
        .expect("a gzip body");
    // As curl asks.
    let plain = http.get(&url).send().await.expect("plain scrape");
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.text().await.expect("text");
    let series = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("bmc_up{"))
            .map(|l| l.rsplit_once(' ').map_or(l, |(s, _)| s).to_string())
            .collect()
    };
    assert_eq!(series(&text).len(), 3, "{text}");
    assert_eq!(series(&text), series(&plain));
    assert!(
        zipped.len() * 3 < plain.len(),
        "{} bytes compressed to {}",
        plain.len(),
        zipped.len()
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bmc_list_comes_in_pages_that_name_the_next() {
    let _heavy = crate::common::HEAVY.lock().await;
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
