//! A leases file that cannot be read shows as such: `/readyz` answers 503 naming the file (not
//! "ready" with zero BMCs), `bmc_catcher_leases_read_errors_total` counts the failed reads and
//! `bmc_catcher_leases_last_success_timestamp_seconds` stops moving; once the file is back, ready
//! again; when it goes again, the BMCs of the last good read are still polled and /readyz says so.

use std::time::Duration;

use crate::common::*;
use bmc_catcher::daemon::Daemon;

/// `/readyz` as (status, body).
async fn readyz(addr: std::net::SocketAddr) -> (u16, String) {
    let r = reqwest::get(format!("http://{addr}/readyz"))
        .await
        .expect("readyz");
    (r.status().as_u16(), r.text().await.expect("body"))
}

/// The value of the un-labelled series `name` in a scrape.
async fn metric(addr: std::net::SocketAddr, name: &str) -> f64 {
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
}

/// Scrapes until the series `name` satisfies `pred` (a render is shared for a second); fails
/// naming `what` after 20 s.
async fn wait_metric(
    addr: std::net::SocketAddr,
    name: &str,
    what: &str,
    pred: impl Fn(f64) -> bool,
) -> f64 {
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let v = metric(addr, name).await;
        if pred(v) {
            return v;
        }
        assert!(tokio::time::Instant::now() < until, "{what}: {name} is {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls `/readyz` until `pred` holds of it; fails naming `what` after 20 s.
async fn wait_readyz(
    addr: std::net::SocketAddr,
    what: &str,
    pred: impl Fn(u16, &str) -> bool,
) -> String {
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = readyz(addr).await;
        if pred(status, &body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "{what}: /readyz is {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_and_metrics_show_a_leases_file_that_cannot_be_read() {
    let bed = TestBed::new().start().await;
    let leases = bed.leases_path();
    let name = leases.display().to_string();
    std::fs::remove_file(&leases).expect("rm");
    let daemon = Daemon::start(&bed.config(), bed.credentials())
        .await
        .expect("daemon");
    let addr = daemon.addr;

    let body = wait_readyz(addr, "missing at start", |s, b| {
        s == 503 && b.contains(&name)
    })
    .await;
    assert!(body.contains("no BMC is polled"), "{body}");
    assert!(metric(addr, "bmc_catcher_leases_read_errors_total").await >= 1.0);
    assert_eq!(
        metric(addr, "bmc_catcher_leases_last_success_timestamp_seconds").await,
        0.0
    );

    bed.write_leases("");
    wait_readyz(addr, "readable", |s, _| s == 200).await;
    let recent = (bmc_catcher::store::now_ms() / 1000 - 60) as f64;
    wait_metric(
        addr,
        "bmc_catcher_leases_last_success_timestamp_seconds",
        "read",
        |t| t >= recent,
    )
    .await;
    let mac = crate::common::mac(bed.fleet.bmcs[0].bmc.mac);
    wait_until(Duration::from_secs(20), "the BMC polled", || {
        daemon.store.get(mac).and_then(|e| e.snapshot).is_some()
    })
    .await;

    let errors = metric(addr, "bmc_catcher_leases_read_errors_total").await;
    std::fs::remove_file(&leases).expect("rm");
    let body = wait_readyz(addr, "gone again", |s, _| s == 503).await;
    assert!(
        body.contains(&name) && body.contains("the 1 BMCs of the last good read are still polled"),
        "{body}"
    );
    wait_metric(
        addr,
        "bmc_catcher_leases_read_errors_total",
        "gone again",
        |n| n > errors,
    )
    .await;
    assert!(
        daemon.store.get(mac).is_some(),
        "the last good targets stay"
    );
    daemon.stop().await;
}
