//! Two catchers in one partition against a real nats-server with JetStream and 200 simulated BMCs:
//! they split the BMCs (each polled and held in session by exactly one catcher, within 60/40),
//! a power flip makes one `power-changed` event, and when one catcher dies without leaving
//! (its runtime dropped: no member key deleted, its NATS connection cut, like kill -9) the other
//! polls every one of its BMCs within 15 s. A catcher stopped the normal way (SIGTERM's path)
//! deletes its member key and the peer takes over at once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::Config;
use bmc_catcher::daemon::Daemon;
use bmc_catcher::model::{Event, EventKind, MacAddr, PowerState};
use bmc_catcher::store::Store;
use bmc_sim::SimShape;
use futures::StreamExt;

mod cluster;
mod commands;

/// A catcher in a runtime of its own, so the test can kill it (drop the runtime: every task stops
/// where it is, as with SIGKILL) or stop it the normal way.
pub(super) struct Catcher {
    pub(super) store: Arc<Store>,
    /// Its /metrics listener.
    addr: std::net::SocketAddr,
    stop: Option<std::sync::mpsc::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Catcher {
    pub(super) fn start(config: Config, bed: &TestBed) -> Catcher {
        let creds = bed.credentials();
        let (store_tx, store_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<bool>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            let daemon = rt
                .block_on(Daemon::start(&config, creds))
                .expect("daemon starts");
            store_tx
                .send((daemon.store.clone(), daemon.addr))
                .expect("test waits");
            // true: stop the normal way; false (or the test gone): die on the spot.
            if stop_rx.recv().unwrap_or(false) {
                rt.block_on(daemon.stop());
            } else {
                rt.shutdown_background();
            }
        });
        let (store, addr) = store_rx.recv().expect("daemon started");
        Catcher {
            store,
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub(super) fn end(&mut self, graceful: bool) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(graceful);
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("catcher thread");
        }
    }

    /// The BMCs this catcher has a snapshot of, polled after `since_ms`.
    fn polled_since(&self, since_ms: i64) -> BTreeSet<MacAddr> {
        self.store
            .snapshots()
            .into_iter()
            .filter(|s| s.polled_at_ms > since_ms)
            .map(|s| s.mac)
            .collect()
    }

    /// A sample of its /metrics, by exact series name.
    async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("http://{}/metrics", self.addr))
            .await
            .expect("scrape")
            .text()
            .await
            .expect("body");
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    }

    pub(super) fn macs(&self) -> BTreeSet<MacAddr> {
        self.store.entries().iter().map(|e| e.target.mac).collect()
    }
}

impl Drop for Catcher {
    fn drop(&mut self) {
        self.end(false);
    }
}

/// The config of catcher `id` (own session journal; the rest as the bed says).
pub(super) fn catcher_config(bed: &TestBed, nats: &str, id: &str) -> Config {
    let mut c = bed.config();
    c.nats.url = Some(nats.to_string());
    c.nats.member_id = Some(id.to_string());
    c.nats.publish_timeout = Duration::from_secs(2);
    c.session_journal = Some(bed.dir.path().join(format!("sessions-{id}.json")));
    c
}

/// Sessions open on each simulated BMC (created minus deleted).
fn open_sessions(bed: &TestBed) -> Vec<u64> {
    bed.fleet
        .bmcs
        .iter()
        .map(|r| {
            let c = &r.bmc.counters;
            c.sessions_created.load(Ordering::Relaxed) - c.sessions_deleted.load(Ordering::Relaxed)
        })
        .collect()
}

/// 200 Legacy-shaped BMCs polled every 3 s, and a nats-server with JetStream (killed on drop).
pub(super) async fn partition_of_200() -> (TestBed, Proc, String) {
    let bed = TestBed::new()
        .bmcs(200)
        .shapes(vec![SimShape::Legacy])
        .interval("3s")
        .timeout("3s")
        .start()
        .await;
    let ip = unique_ip();
    let port = free_port(ip);
    let nats = nats_server(bed.dir.path(), ip, port, &[]);
    (bed, nats, format!("nats://{ip}:{port}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn two_catchers_split_the_bmcs_and_take_over_after_a_kill() {
    // Hundreds of sessions and polls a second: not beside the tests that measure deadlines.
    let _heavy = HEAVY.lock().await;
    let (bed, _nats, url) = partition_of_200().await;
    let all: BTreeSet<MacAddr> = bed.fleet.bmcs.iter().map(|r| mac(r.bmc.mac)).collect();

    let a = Catcher::start(catcher_config(&bed, &url, "mgmt-a"), &bed);
    let mut b = Catcher::start(catcher_config(&bed, &url, "mgmt-b"), &bed);

    // Steady state: the two stores split the fleet, each BMC polled by one.
    wait_until(
        Duration::from_secs(30),
        "the catchers split the fleet",
        || {
            let (ma, mb) = (a.polled_since(0), b.polled_since(0));
            ma.is_disjoint(&mb) && ma.len() + mb.len() == all.len() && a.macs() == ma
        },
    )
    .await;
    // Two more rounds, to see no BMC is polled by both after the first hand-overs settled.
    let settled = bmc_catcher::store::now_ms();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (ma, mb) = (a.polled_since(settled), b.polled_since(settled));
    assert!(ma.is_disjoint(&mb), "a BMC polled by both catchers");
    assert_eq!(ma.len() + mb.len(), all.len(), "every BMC polled by one");
    assert!(
        (80..=120).contains(&ma.len()),
        "split {} / {} is not within 60/40",
        ma.len(),
        mb.len()
    );
    assert_eq!(b.macs(), mb, "b's store holds only what it owns");
    let sessions = open_sessions(&bed);
    assert!(
        sessions.iter().all(|n| *n == 1),
        "one session per BMC, not {:?}",
        sessions.iter().filter(|n| **n != 1).collect::<Vec<_>>()
    );

    // The metrics: two members, the owned BMCs add up to the fleet.
    assert_eq!(a.metric("bmc_catcher_members").await, 2.0);
    assert_eq!(b.metric("bmc_catcher_members").await, 2.0);
    assert_eq!(a.metric("bmc_catcher_owned_bmcs").await, ma.len() as f64);
    assert_eq!(b.metric("bmc_catcher_owned_bmcs").await, mb.len() as f64);
    assert!(a.metric("bmc_catcher_membership_changes_total").await >= 1.0);

    // The CLI: both members, and each BMC's catcher in `status --nats -o wide`.
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(bin())
            .args(args)
            .env_remove("BMC_CATCHER_CONFIG")
            .output()
            .expect("run the CLI");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let (u, conf) = (url.clone(), bed.config_path());
    let conf = conf.to_str().expect("path").to_string();
    let members = tokio::task::spawn_blocking({
        let (u, conf) = (u.clone(), conf.clone());
        move || cli(&["members", "--nats", &u, "-c", &conf])
    })
    .await
    .expect("join");
    let lines: Vec<&str> = members.lines().collect();
    assert_eq!(lines.len(), 3, "{members}");
    assert!(lines[1].starts_with("test       mgmt-a"), "{members}");
    assert!(lines[2].starts_with("test       mgmt-b"), "{members}");
    let status = tokio::task::spawn_blocking(move || {
        cli(&["status", "--nats", &u, "-c", &conf, "-o", "wide"])
    })
    .await
    .expect("join");
    for m in &ma {
        let line = status
            .lines()
            .find(|l| l.contains(&m.to_string()))
            .unwrap_or_else(|| panic!("{m} in\n{status}"));
        assert!(line.contains(" mgmt-a "), "{line}");
    }
    assert_eq!(
        status.lines().filter(|l| l.contains(" mgmt-b ")).count(),
        mb.len(),
        "{status}"
    );

    // One power flip on a BMC of each catcher: one `power-changed` each, from its owner.
    let client = async_nats::connect(url.as_str()).await.expect("connect");
    let mut sub = client
        .subscribe("bmc.test.*.event.power-changed")
        .await
        .expect("subscribe");
    let flipped: Vec<MacAddr> = vec![
        *ma.first().expect("a owns some"),
        *mb.first().expect("b owns some"),
    ];
    for r in &bed.fleet.bmcs {
        if flipped.contains(&mac(r.bmc.mac)) {
            r.bmc.state().power = sim_power(PowerState::Off);
        }
    }
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(7);
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, sub.next()).await {
        let e: Event = serde_json::from_slice(&msg.payload).expect("event JSON");
        assert!(matches!(e.kind, EventKind::PowerChanged { .. }));
        seen.push(e.mac);
    }
    seen.sort();
    let mut want = flipped.clone();
    want.sort();
    assert_eq!(seen, want, "one power-changed per flip");

    // kill -9 b: a polls every one of b's BMCs within 15 s.
    let killed = bmc_catcher::store::now_ms();
    let started = std::time::Instant::now();
    b.end(false);
    wait_until(Duration::from_secs(15), "a took over b's BMCs", || {
        a.polled_since(killed).is_superset(&mb)
    })
    .await;
    eprintln!(
        "takeover after kill: {:.1} s for {} BMCs",
        started.elapsed().as_secs_f64(),
        mb.len()
    );
    assert_eq!(a.macs(), all, "a owns the whole fleet now");

    // A catcher that stops the normal way leaves at once: b again, then stopped.
    let mut b = Catcher::start(catcher_config(&bed, &url, "mgmt-b"), &bed);
    wait_until(Duration::from_secs(20), "b got its share back", || {
        b.polled_since(0) == mb && a.macs().is_disjoint(&mb)
    })
    .await;
    // The restarted b closed the sessions its killed self left (session journal), a closed those
    // of the BMCs it handed back: one session per BMC again.
    wait_until(
        Duration::from_secs(10),
        "one session per BMC after the restart",
        || open_sessions(&bed).iter().all(|n| *n == 1),
    )
    .await;
    let left = bmc_catcher::store::now_ms();
    let started = std::time::Instant::now();
    let stopping = tokio::task::spawn_blocking(move || b.end(true));
    // a owns b's BMCs as soon as b's key is deleted: well before a member-ttl (6 s) could pass.
    wait_until(
        Duration::from_secs(3),
        "a took over at once after b left",
        || a.macs().is_superset(&mb),
    )
    .await;
    let owned = started.elapsed().as_secs_f64();
    wait_until(Duration::from_secs(15), "a polled b's BMCs", || {
        a.polled_since(left).is_superset(&mb)
    })
    .await;
    eprintln!(
        "takeover after a graceful stop: owned after {owned:.1} s, all polled after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    stopping.await.expect("b stopped");
}
