//! Two catchers in one partition against a real nats-server with JetStream and 200 simulated BMCs:
//! they split the BMCs (each polled and held in session by exactly one catcher, within 60/40, as
//! bmc-sim counts the polls and sessions of each catcher's `User-Agent`), a power flip makes one
//! `power-changed` event, and when one catcher (a `bmc-catcher run` process) is killed with
//! SIGKILL the other polls every one of its BMCs within 15 s. The same process restarted gets its
//! share back; stopped with SIGTERM it deletes its member key and the peer takes over at once.

use std::collections::{BTreeMap, BTreeSet};
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

/// A catcher as its own `bmc-catcher run` process (member `id`), for a real SIGKILL or SIGTERM.
struct Process {
    child: std::process::Child,
}

impl Process {
    fn start(bed: &TestBed, nats: &str, id: &str) -> Process {
        let base = std::fs::read_to_string(bed.config_path()).expect("bed config");
        let d = bed.dir.path();
        let journal = d.join(format!("sessions-{id}.json"));
        let config = base
            .lines()
            .map(|l| {
                if l.starts_with("session-journal") {
                    format!("session-journal = \"{}\"", journal.display())
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + &format!(
                "\n[nats]\nurl = \"{nats}\"\nmember-id = \"{id}\"\npublish-timeout = \"2s\"\n"
            );
        let path = d.join(format!("catcher-{id}.toml"));
        std::fs::write(&path, config).expect("write config");
        let log = std::fs::File::create(d.join(format!("catcher-{id}.log"))).expect("log");
        let child = std::process::Command::new(bin())
            .args(["run", "--config"])
            .arg(&path)
            .env_remove("BMC_CATCHER_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start bmc-catcher run");
        Process { child }
    }

    /// kill -9.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM, then waits for the exit; true when it exited cleanly.
    fn stop(mut self) -> bool {
        kill(&self.child.id().to_string(), libc::SIGTERM).expect("SIGTERM");
        self.child.wait().expect("exit").success()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many polls (`.0`) and sessions (`.1`) each BMC saw from member `id`, as bmc-sim counted
/// them by `User-Agent`.
fn by_member(bed: &TestBed, id: &str) -> BTreeMap<MacAddr, (u64, u64)> {
    let agent = format!("(member {id})");
    bed.fleet
        .bmcs
        .iter()
        .map(|r| {
            let c = r.bmc.clients.counts();
            let (p, s) = c
                .iter()
                .filter(|(k, _)| k.ends_with(&agent))
                .fold((0, 0), |(p, s), (_, v)| (p + v.polls, s + v.sessions));
            (mac(r.bmc.mac), (p, s))
        })
        .collect()
}

/// The BMCs `after` shows polled more often than `before`.
fn polled_between(
    before: &BTreeMap<MacAddr, (u64, u64)>,
    after: &BTreeMap<MacAddr, (u64, u64)>,
) -> BTreeSet<MacAddr> {
    after
        .iter()
        .filter(|(m, (p, _))| *p > before.get(m).map_or(0, |b| b.0))
        .map(|(m, _)| *m)
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
    let mut b = Process::start(&bed, &url, "mgmt-b");

    // Steady state: a polls what it holds, b (seen from bmc-sim) the rest.
    wait_until(
        Duration::from_secs(30),
        "the catchers split the fleet",
        || {
            let ma = a.polled_since(0);
            let mb = polled_between(&BTreeMap::new(), &by_member(&bed, "mgmt-b"));
            !ma.is_empty() && a.macs() == ma && mb.union(&ma).count() == all.len()
        },
    )
    .await;
    // Two more rounds, to see no BMC is polled by both after the first hand-overs settled.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let settled = bmc_catcher::store::now_ms();
    let (sim_a, sim_b) = (by_member(&bed, "mgmt-a"), by_member(&bed, "mgmt-b"));
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (sim_a2, sim_b2) = (by_member(&bed, "mgmt-a"), by_member(&bed, "mgmt-b"));
    let ma = a.polled_since(settled);
    let mb = polled_between(&sim_b, &sim_b2);
    assert_eq!(
        polled_between(&sim_a, &sim_a2),
        ma,
        "bmc-sim saw a's polls where a's store says"
    );
    assert!(ma.is_disjoint(&mb), "a BMC polled by both catchers");
    assert_eq!(ma.len() + mb.len(), all.len(), "every BMC polled by one");
    assert!(
        (80..=120).contains(&ma.len()),
        "split {} / {} is not within 60/40",
        ma.len(),
        mb.len()
    );
    assert!(
        a.macs().is_disjoint(&mb),
        "a's store holds only what it owns"
    );
    // Sessions: none opened in steady state, and each BMC's came from its owner alone.
    for (m, (_, s)) in &sim_a2 {
        let (b_sessions, owner_a) = (sim_b2[m].1, ma.contains(m));
        assert_eq!(*s, sim_a[m].1, "a opened a session on {m} in steady state");
        assert_eq!(
            b_sessions, sim_b[m].1,
            "b opened a session on {m} in steady state"
        );
        assert!(
            if owner_a { *s >= 1 } else { b_sessions >= 1 },
            "{m}: no session from its owner"
        );
    }
    let sessions = open_sessions(&bed);
    assert!(
        sessions.iter().all(|n| *n == 1),
        "one session per BMC, not {:?}",
        sessions.iter().filter(|n| **n != 1).collect::<Vec<_>>()
    );

    // The metrics: two members, the owned BMCs add up to the fleet.
    assert_eq!(a.metric("bmc_catcher_members").await, 2.0);
    assert_eq!(a.metric("bmc_catcher_owned_bmcs").await, ma.len() as f64);
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
    b.kill();
    wait_until(Duration::from_secs(15), "a took over b's BMCs", || {
        a.polled_since(killed).is_superset(&mb)
    })
    .await;
    eprintln!(
        "takeover after kill -9: {:.1} s for {} BMCs",
        started.elapsed().as_secs_f64(),
        mb.len()
    );
    assert_eq!(a.macs(), all, "a owns the whole fleet now");

    // A catcher that stops the normal way leaves at once: b again, then stopped with SIGTERM.
    let before = by_member(&bed, "mgmt-b");
    let b = Process::start(&bed, &url, "mgmt-b");
    wait_until(Duration::from_secs(20), "b got its share back", || {
        polled_between(&before, &by_member(&bed, "mgmt-b")) == mb && a.macs().is_disjoint(&mb)
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
    let stopping = tokio::task::spawn_blocking(move || b.stop());
    // a owns b's BMCs as soon as b's key is deleted: well before a member-ttl (5 s) could pass.
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
        "takeover after SIGTERM: owned after {owned:.1} s, all polled after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(stopping.await.expect("join"), "b exited cleanly on SIGTERM");
}
