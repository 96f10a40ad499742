//! The daemon against simulated BMCs: the same readings from all three thermal/power shapes, one
//! session across many rounds and none after shutdown, a hanging BMC that costs only its own
//! deadline, a refused login, and a real scrape accepted by promtool.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::*;
use bmc_catcher::daemon::Daemon;
use bmc_catcher::hal::Connector;
use bmc_catcher::model::{BmcSnapshot, ErrorKind, Health, MacAddr, SensorKind};
use bmc_catcher::poller::{Schedule, poll_round};
use bmc_catcher::store::Store;
use bmc_sim::SimShape;

pub(crate) fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Waits until `pred` holds for the store, or fails after `within`.
pub(crate) async fn wait_for(
    store: &Store,
    within: Duration,
    what: &str,
    pred: impl Fn(&Store) -> bool,
) {
    let deadline = tokio::time::Instant::now() + within;
    while !pred(store) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn snapshot(store: &Store, mac: MacAddr) -> Option<BmcSnapshot> {
    store.get(mac).and_then(|e| e.snapshot.as_deref().cloned())
}

/// Readings by name, in hundredths.
type Named = Vec<(String, i64)>;

/// What must be equal whichever shape served it: power, temperatures, fans, PSU health, watts.
fn essentials(s: &BmcSnapshot) -> (String, Named, Named, Vec<Health>, Option<f64>) {
    let r = &s.reading;
    let sensors = r.sensors.ok().expect("sensors read");
    let pick = |k: SensorKind| {
        let mut v: Vec<(String, i64)> = sensors
            .iter()
            .filter(|x| x.kind == k)
            .map(|x| (x.name.clone(), (x.reading.expect("reading") * 100.0) as i64))
            .collect();
        v.sort();
        v
    };
    (
        format!("{:?}", r.power.ok().expect("power")),
        pick(SensorKind::Temperature),
        pick(SensorKind::Fan),
        r.psus
            .ok()
            .expect("psus")
            .iter()
            .map(|p| p.health)
            .collect(),
        r.power_metrics.ok().expect("watts").consumed_watts,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn three_shapes_give_the_same_readings() {
    init();
    let mut seen = Vec::new();
    for shape in [SimShape::Legacy, SimShape::Subsystem, SimShape::Sensors] {
        let bed = TestBed::new().bmcs(1).shapes(vec![shape]).start().await;
        let (f, cancel) = (&bed.fleet, &bed.cancel);
        f.bmcs[0].bmc.state().psus[1].health = bmc_sim::state::Health::Warning;
        let cfg = bed.config();
        let connector = Connector::new(&cfg, bed.credentials()).expect("connector");
        let schedule = Schedule {
            interval: cfg.poll.interval,
            timeout: cfg.poll.timeout,
            concurrency: 4,
        };
        let snaps = poll_round(&connector, &targets(f), "test", schedule).await;
        assert_eq!(snaps.len(), 1);
        assert!(
            snaps[0].up && snaps[0].reading.first_error().is_none(),
            "{shape:?}: {:?}",
            snaps[0]
        );
        let e = essentials(&snaps[0]);
        assert_eq!(e.0, "On");
        assert_eq!(e.1.len(), 2, "{shape:?}: two temperatures");
        assert_eq!(e.2.len(), 2, "{shape:?}: two fans");
        assert_eq!(e.3, vec![Health::Ok, Health::Warning], "{shape:?}");
        assert_eq!(e.4, Some(340.0 + 10.0), "{shape:?}");
        seen.push((shape, e));
        cancel.cancel();
    }
    assert_eq!(seen[0].1, seen[1].1, "legacy vs subsystem");
    assert_eq!(seen[0].1, seen[2].1, "legacy vs sensors");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_session_across_ten_rounds_and_none_after_shutdown() {
    let bed = TestBed::new()
        .bmcs(1)
        .shapes(vec![SimShape::Legacy])
        .interval("1s")
        .timeout("1s")
        .toml("\n[ipmi]\nrequest-timeout = \"200ms\"\n")
        .start()
        .await;
    let (f, cancel) = (&bed.fleet, &bed.cancel);
    let cfg = bed.config();
    let daemon = Daemon::start(&cfg, bed.credentials())
        .await
        .expect("daemon");
    let mac = crate::common::mac(f.bmcs[0].bmc.mac);
    let mut rounds = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while rounds.len() < 10 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} rounds in 30 s",
            rounds.len()
        );
        if let Some(s) = snapshot(&daemon.store, mac) {
            assert!(s.up, "{s:?}");
            rounds.insert(s.polled_at_ms);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let bmc = f.bmcs[0].bmc.clone();
    assert_eq!(bmc.counters.sessions_created.load(Ordering::Relaxed), 1);
    assert_eq!(bmc.sessions_open(), 1);
    daemon.stop().await;
    assert_eq!(bmc.sessions_open(), 0, "shutdown must log out");
    assert_eq!(bmc.counters.sessions_deleted.load(Ordering::Relaxed), 1);
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_bmc_costs_only_its_own_deadline() {
    let bed = TestBed::new()
        .bmcs(2)
        .shapes(vec![SimShape::Legacy])
        .timeout("3s")
        .start()
        .await;
    let (f, cancel) = (&bed.fleet, &bed.cancel);
    // A third "BMC" that accepts TCP on the same port and never says a word.
    let hang_ip = unique_ip();
    let hang = tokio::net::TcpListener::bind((hang_ip, f.port()))
        .await
        .expect("bind hang");
    let held = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let held2 = held.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = hang.accept().await {
            held2.lock().await.push(s);
        }
    });
    let dir = &bed.dir;
    let hang_mac: MacAddr = "02:ff:00:00:00:01".parse().expect("mac");
    let mut text = f.leases_text(bmc_catcher::store::now_ms() / 1000);
    text.push_str(&leases(&[("02:ff:00:00:00:01", hang_ip)]));
    std::fs::write(dir.path().join("dhcpd.leases"), text).expect("leases");
    let cfg = bed.config();
    let timeout = cfg.poll.timeout;
    let daemon = Daemon::start(&cfg, bed.credentials())
        .await
        .expect("daemon");
    let healthy: Vec<MacAddr> = f.bmcs.iter().map(|r| mac(r.bmc.mac)).collect();
    wait_for(
        &daemon.store,
        Duration::from_secs(20),
        "healthy polls",
        |s| healthy.iter().all(|m| snapshot(s, *m).is_some()),
    )
    .await;
    // The healthy BMCs were polled while the hanging one was still inside its deadline.
    assert!(
        snapshot(&daemon.store, hang_mac).is_none(),
        "the hanging BMC cannot have finished yet"
    );
    for m in &healthy {
        assert!(snapshot(&daemon.store, *m).expect("snap").up);
    }
    wait_for(
        &daemon.store,
        Duration::from_secs(20),
        "hang deadline",
        |s| snapshot(s, hang_mac).is_some(),
    )
    .await;
    let s = snapshot(&daemon.store, hang_mac).expect("snap");
    assert!(!s.up);
    assert_eq!(
        s.reading.power.err().expect("power failed").kind,
        ErrorKind::Timeout,
        "{s:?}"
    );
    assert!(
        s.duration_ms >= timeout.as_millis() as u64,
        "ended at the deadline, not before: {}",
        s.duration_ms
    );
    daemon.stop().await;
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_login_and_closed_port_have_their_kinds() {
    let bed = TestBed::new()
        .bmcs(1)
        .shapes(vec![SimShape::Legacy])
        .timeout("5s")
        .start()
        .await;
    let (f, cancel) = (&bed.fleet, &bed.cancel);
    f.bmcs[0].bmc.state().faults.refuse_logins = true;
    let cfg = bed.config();
    let connector = Connector::new(&cfg, bed.credentials()).expect("connector");
    let mut targets = targets(f);
    let closed_ip = unique_ip();
    targets.push(bmc_catcher::model::Target {
        mac: "02:ff:00:00:00:02".parse().expect("mac"),
        ip: IpAddr::V4(closed_ip),
        port: Some(free_port(closed_ip)),
        hostname: None,
        lease_ends: None,
    });
    let schedule = Schedule {
        interval: cfg.poll.interval,
        timeout: cfg.poll.timeout,
        concurrency: 4,
    };
    let snaps = poll_round(&connector, &targets, "test", schedule).await;
    let kind = |i: usize| snaps[i].reading.power.err().map(|e| e.kind);
    let auth = snaps
        .iter()
        .position(|s| s.mac == mac(f.bmcs[0].bmc.mac))
        .expect("sim");
    assert_eq!(kind(auth), Some(ErrorKind::Auth), "{:?}", snaps[auth]);
    assert_eq!(
        kind(1 - auth),
        Some(ErrorKind::Unreachable),
        "{:?}",
        snaps[1 - auth]
    );
    let msg = &snaps[auth].reading.power.err().expect("err").message;
    assert!(!msg.contains("password"), "no secret in errors: {msg}");
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn leases_changes_add_and_drop_bmcs_and_close_sessions() {
    let bed = TestBed::new()
        .bmcs(2)
        .shapes(vec![SimShape::Legacy])
        .timeout("5s")
        .start()
        .await;
    let (f, cancel) = (&bed.fleet, &bed.cancel);
    let dir = &bed.dir;
    let path = dir.path().join("dhcpd.leases");
    let now = bmc_catcher::store::now_ms() / 1000;
    let full = f.leases_text(now);
    let second = full.rfind("lease ").expect("two leases");
    let (first_only, second_only) = (full[..second].to_string(), full[second..].to_string());
    // dhcpd replaces its file by rename; do the same.
    let replace = |text: &str| {
        let tmp = dir.path().join("dhcpd.leases.new");
        std::fs::write(&tmp, text).expect("write");
        std::fs::rename(&tmp, &path).expect("rename");
    };
    replace(&first_only);
    let cfg = bed.config();
    let daemon = Daemon::start(&cfg, bed.credentials())
        .await
        .expect("daemon");
    let (a, b) = (f.bmcs[0].bmc.clone(), f.bmcs[1].bmc.clone());
    wait_for(
        &daemon.store,
        Duration::from_secs(10),
        "first BMC polled",
        |s| snapshot(s, mac(a.mac)).is_some(),
    )
    .await;
    assert!(daemon.store.get(mac(b.mac)).is_none());

    replace(&full);
    wait_for(
        &daemon.store,
        Duration::from_secs(10),
        "new BMC polled",
        |s| snapshot(s, mac(b.mac)).is_some(),
    )
    .await;
    assert_eq!(a.sessions_open(), 1);

    replace(&second_only);
    wait_for(
        &daemon.store,
        Duration::from_secs(10),
        "vanished BMC dropped",
        |s| s.get(mac(a.mac)).is_none(),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while a.sessions_open() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "session of the vanished BMC still open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(b.sessions_open(), 1);
    daemon.stop().await;
    assert_eq!(b.sessions_open(), 0);
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_is_replaced_once() {
    let bed = TestBed::new()
        .bmcs(1)
        .shapes(vec![SimShape::Sensors])
        .timeout("5s")
        .start()
        .await;
    let (f, cancel) = (&bed.fleet, &bed.cancel);
    let cfg = bed.config();
    let connector = Connector::new(&cfg, bed.credentials()).expect("connector");
    let bmc = connector.connect(&targets(f)[0]);
    let sim = f.bmcs[0].bmc.clone();
    assert!(bmc.poll().await.first_error().is_none());
    // The BMC forgets every session (reboot, timeout): the next poll logs in again, once.
    sim.sessions.lock().expect("lock").clear();
    let r = bmc.poll().await;
    assert!(r.first_error().is_none(), "{r:?}");
    assert_eq!(sim.counters.sessions_created.load(Ordering::Relaxed), 2);
    bmc.close().await;
    assert_eq!(sim.sessions_open(), 0);
    cancel.cancel();
}
