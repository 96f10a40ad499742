//! SIGHUP, key by key, where a reload must reach more than the scheduler: a new `[poll] timeout`
//! must reach the Redfish requests of sessions that stay open, and a new `[poll] interval` the
//! choice to keep a BMC's connection open between polls (kept up to 30 s, closed above).

use std::sync::atomic::Ordering;
use std::time::Duration;

use bmc_catcher::daemon::Daemon;
use bmc_catcher::hal::Connector;
use bmc_catcher::model::ErrorKind;
use bmc_catcher::poller::poll_one;

use crate::common::*;
use crate::it::daemon::{snapshot, wait_for};

#[tokio::test(flavor = "multi_thread")]
async fn a_reloaded_poll_timeout_reaches_the_redfish_requests() {
    let bed = TestBed::new().interval("10s").timeout("9s").start().await;
    let sim = bed.fleet.bmcs[0].bmc.clone();
    let mac = mac(sim.mac);
    // Every answer takes 1 s: too slow for 900 ms, in time for 9 s.
    sim.state().faults.delay = Duration::from_secs(1);
    let mut short = bed.config();
    short.poll.timeout = Duration::from_millis(900);
    let daemon = Daemon::start(&short, bed.credentials())
        .await
        .expect("daemon");
    wait_for(
        &daemon.store,
        Duration::from_secs(20),
        "a poll that ran out of time",
        |s| snapshot(s, mac).is_some(),
    )
    .await;
    let first = snapshot(&daemon.store, mac).expect("snapshot");
    assert!(!first.up, "{first:?}");
    assert_eq!(
        first.reading.power.err().map(|e| e.kind),
        Some(ErrorKind::Timeout)
    );

    daemon.reload(bed.config(), bed.credentials()).await;
    wait_for(
        &daemon.store,
        Duration::from_secs(40),
        "a poll inside the reloaded 9 s timeout",
        |s| snapshot(s, mac).is_some_and(|x| x.up && x.reading.first_error().is_none()),
    )
    .await;
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_connection_policy_follows_a_reloaded_interval() {
    let bed = TestBed::new().interval("5s").timeout("4s").start().await;
    let sim = bed.fleet.bmcs[0].bmc.clone();
    let open = || sim.counters.open_connections.load(Ordering::Relaxed);
    let connector = Connector::new(&bed.config(), bed.credentials()).expect("connector");
    let target = targets(&bed.fleet).remove(0);
    let bmc = connector.connect(&target);
    let poll = || async {
        let s = poll_one(bmc.as_ref(), &target, "test", Duration::from_secs(4)).await;
        assert!(s.up, "{s:?}");
    };
    // Kept: after each poll the BMC still has a connection from us.
    let kept = |what: &'static str| async move {
        for _ in 0..3 {
            poll().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(
                open() >= 1,
                "{what}: the connection stays open between polls"
            );
        }
    };
    kept("every 5 s").await;

    connector.set_poll(Duration::from_secs(4), Duration::from_secs(60));
    for _ in 0..3 {
        poll().await;
        wait_until(
            Duration::from_secs(5),
            "every minute: the connection closed after the poll",
            || open() == 0,
        )
        .await;
    }

    connector.set_poll(Duration::from_secs(4), Duration::from_secs(5));
    kept("every 5 s again").await;
    bmc.close().await;
}

/// The first cells of the reload table in docs/operations.md.
fn reload_table_rows() -> Vec<String> {
    let docs = include_str!("../../docs/operations.md");
    let table = docs
        .split("## Reload")
        .nth(1)
        .expect("a Reload section")
        .split("\n\n")
        .find(|block| block.starts_with("| what changed"))
        .expect("the reload table");
    table
        .lines()
        .skip(2)
        .filter_map(|l| l.split('|').nth(1))
        .map(|c| c.trim().to_string())
        .collect()
}

#[test]
fn the_reload_table_lists_what_the_tests_change() {
    // Each row, and where a reload of it is tested.
    let covered = [
        "credentials", // it::cli::sighup_reloads_credentials_and_poll_settings_and_keeps_the_sessions_still_valid
        "`[poll] interval`, `timeout`, `concurrency`", // it::cli (interval), above (timeout), below (concurrency)
        "`[redfish]`, `[ipmi]`, `[poll] protocol`, `max-sensors-per-bmc`, `max-psus-per-bmc`", // below
        "`[discovery]`", // below
        "`[issues]`",    // below
        "`partition`, `session-journal`, `[poll] profile-file`, `[logs]`, `[http]`, `[nats]`", // below
    ];
    assert_eq!(reload_table_rows(), covered);
}

/// One change to a config, for a reload.
type ConfigChange = fn(&mut bmc_catcher::config::Config);

/// How many Redfish sessions a simulated BMC saw created.
fn created(bmc: &bmc_sim::SimBmc) -> u64 {
    bmc.counters.sessions_created.load(Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_row_of_the_reload_table_does_what_it_says() {
    let bed = TestBed::new()
        .bmcs(2)
        .shapes(vec![bmc_sim::SimShape::Legacy])
        .interval("2s")
        .timeout("2s")
        .toml("\n[ipmi]\nrequest-timeout = \"500ms\"\n")
        .start()
        .await;
    let (a, b) = (bed.fleet.bmcs[0].bmc.clone(), bed.fleet.bmcs[1].bmc.clone());
    let (mac_a, mac_b) = (mac(a.mac), mac(b.mac));
    let mut cfg = bed.config();
    let daemon = Daemon::start(&cfg, bed.credentials())
        .await
        .expect("daemon");
    let store = daemon.store.clone();
    let polled = |m| snapshot(&store, m).map_or(0, |s| s.polled_at_ms);
    wait_until(Duration::from_secs(10), "both BMCs polled", || {
        polled(mac_a) > 0 && polled(mac_b) > 0
    })
    .await;
    assert_eq!((created(&a), created(&b)), (1, 1));

    // [poll] concurrency: the workers restart on their backends; sessions kept, polls go on.
    cfg.poll.concurrency = 1;
    daemon.reload(cfg.clone(), bed.credentials()).await;
    let since = polled(mac_a);
    wait_until(Duration::from_secs(10), "a poll after the reload", || {
        polled(mac_a) > since
    })
    .await;
    assert_eq!((created(&a), created(&b)), (1, 1), "[poll]: sessions kept");

    // [redfish], [ipmi], [poll] protocol and limits: every backend is closed (logout) and made anew.
    let changes: [(&str, ConfigChange); 4] = [
        ("[redfish] connections-per-bmc", |c| {
            c.redfish.connections_per_bmc = 2
        }),
        ("[ipmi] keepalive", |c| {
            c.ipmi.keepalive = Duration::from_secs(7)
        }),
        ("[poll] protocol", |c| {
            c.poll.protocol = bmc_catcher::config::ProtocolChoice::Redfish
        }),
        ("[poll] max-sensors-per-bmc", |c| {
            c.poll.max_sensors_per_bmc = 500
        }),
    ];
    for (n, (what, change)) in changes.into_iter().enumerate() {
        change(&mut cfg);
        daemon.reload(cfg.clone(), bed.credentials()).await;
        let want = 2 + n as u64;
        wait_until(Duration::from_secs(10), what, || {
            created(&a) == want && created(&b) == want && a.sessions_open() == 1
        })
        .await;
        assert_eq!(
            a.counters.sessions_deleted.load(Ordering::Relaxed),
            want - 1,
            "{what}: the old session was logged out"
        );
    }

    // [discovery]: the watcher restarts with the new filters.
    cfg.discovery.ignore_macs = vec![mac_b];
    daemon.reload(cfg.clone(), bed.credentials()).await;
    wait_until(Duration::from_secs(10), "the ignored BMC dropped", || {
        store.get(mac_b).is_none() && b.sessions_open() == 0
    })
    .await;

    // [issues]: the next evaluation uses it. A BMC that stops answering is outdated after
    // `outdated-after-intervals` intervals: after 1 (2 s), well before the default 4 (8 s).
    a.state().faults.status = Some(503);
    cfg.issues.outdated_after_intervals = 1;
    daemon.reload(cfg.clone(), bed.credentials()).await;
    wait_until(
        Duration::from_secs(6),
        "info-outdated after one interval",
        || {
            snapshot(&store, mac_a).is_some_and(|s| {
                s.issues
                    .iter()
                    .any(|i| i.kind == bmc_catcher::model::IssueType::InfoOutdated)
            })
        },
    )
    .await;

    // partition, session-journal, [poll] profile-file, [logs], [http], [nats]: need a restart; the running daemon keeps what it
    // has.
    let mut restart_only = cfg.clone();
    restart_only.partition = "other".into();
    restart_only.session_journal = Some("/nonexistent/sessions.json".into());
    restart_only.poll.profile_file = Some("/nonexistent/profiles.json".into());
    restart_only.logs.keep = 3;
    restart_only.http.listen = "127.0.0.1:1".parse().expect("addr");
    restart_only.nats.url = Some("nats://127.0.0.1:1".into());
    daemon.reload(restart_only, bed.credentials()).await;
    let health = reqwest::get(format!("http://{}/healthz", daemon.addr))
        .await
        .expect("the old listener still answers");
    assert!(health.status().is_success());
    assert_eq!(store.partition(), "test");
    daemon.stop().await;
}
