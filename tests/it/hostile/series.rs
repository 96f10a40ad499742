//! Hostile BMCs against the series the catcher exports: 50,000 sensors on one BMC (in a `Thermal`
//! array and in a `Sensors` collection) cost only the per-BMC bound, are counted and raise
//! `too-many-sensors`, while a healthy BMC next to them is polled as before; and PSUs and sensors
//! that share a name stay distinct series, so a critical PSU is not hidden by a healthy twin. Over
//! IPMI, sensor records beyond the bound are not even read.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::*;
use crate::it::daemon::{snapshot, wait_for};
use bmc_catcher::config::{Config, ProtocolChoice};
use bmc_catcher::daemon::Daemon;
use bmc_catcher::hal::Connector;
use bmc_catcher::model::{Health, IssueType, MacAddr, Target};
use bmc_sim::state::{Health as SimHealth, SensorKind, SimPsu, SimSensor};
use bmc_sim::{SimProtocol, SimShape};

/// Sensors a hostile BMC reports; the default bound is 1,000.
const HOSTILE_SENSORS: usize = 50_000;
const BOUND: usize = 1_000;

fn temperature(i: usize) -> SimSensor {
    SimSensor {
        id: format!("T{i}"),
        name: "Temp".into(),
        kind: SensorKind::Temperature,
        reading: 30.0,
        upper_critical: Some(90.0),
    }
}

async fn scrape(daemon: &Daemon) -> String {
    reqwest::get(format!("http://{}/metrics", daemon.addr))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("scrape body")
}

/// The sample lines of `family` for the BMC `mac`.
fn samples<'a>(text: &'a str, family: &str, mac: MacAddr) -> Vec<&'a str> {
    let of = format!("{family}{{mac=\"{mac}\"");
    text.lines().filter(|l| l.starts_with(&of)).collect()
}

/// The value of a sample line.
fn value(line: &str) -> f64 {
    line.rsplit_once(' ')
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_thousand_sensors_cost_only_the_bound_and_raise_an_issue() {
    let _heavy = crate::common::HEAVY.lock().await;
    let bed = TestBed::new()
        .bmcs(3)
        .shapes(vec![SimShape::Legacy, SimShape::Sensors, SimShape::Legacy])
        .interval("30s")
        .timeout("20s")
        .start()
        .await;
    let f = &bed.fleet;
    for hostile in &f.bmcs[..2] {
        let mut st = hostile.bmc.state();
        st.sensors.extend((0..HOSTILE_SENSORS).map(temperature));
    }
    let reported = HOSTILE_SENSORS + 5; // and the simulator's own five
    let [legacy, collection, healthy] = [0, 1, 2].map(|i| mac(f.bmcs[i].bmc.mac));
    let daemon = Daemon::start(&bed.config(), bed.credentials())
        .await
        .expect("daemon");
    wait_for(
        &daemon.store,
        Duration::from_secs(60),
        "every BMC polled, the hostile ones with too-many-sensors",
        |s| {
            snapshot(s, healthy).is_some()
                && [legacy, collection].iter().all(|m| {
                    snapshot(s, *m).is_some_and(|x| {
                        x.issues.iter().any(|i| i.kind == IssueType::TooManySensors)
                    })
                })
        },
    )
    .await;
    for m in [legacy, collection] {
        let s = snapshot(&daemon.store, m).expect("snapshot");
        assert!(s.up, "{m}: {:?}", s.reading.errors());
        let kept = s.reading.sensors.ok().expect("sensors").len();
        assert_eq!(kept, BOUND, "{m} keeps the bound");
        assert_eq!(s.reading.dropped.sensors, (reported - BOUND) as u64, "{m}");
        assert_eq!(s.reading.dropped.psus, 0, "{m}");
        let issue = s
            .issues
            .iter()
            .find(|i| i.kind == IssueType::TooManySensors)
            .expect("too-many-sensors");
        assert!(
            issue.detail.contains("49005 sensors beyond the 1000 kept"),
            "{}",
            issue.detail
        );
    }
    // The collection's members beyond the bound were never fetched: one poll asked for the bound
    // and a handful of resources (service root, system, chassis, ...), not for 50,000 members.
    let requests = f.bmcs[1].bmc.counters.requests.load(Ordering::Relaxed);
    assert!(
        requests < (BOUND + 50) as u64,
        "{requests} requests to the BMC with a 50,000-member collection"
    );
    // The healthy neighbour is read as ever.
    let h = snapshot(&daemon.store, healthy).expect("snapshot");
    assert!(h.up && h.issues.is_empty(), "{:?}", h.issues);
    assert_eq!(h.reading.sensors.ok().map(Vec::len), Some(5));
    assert!(h.reading.dropped.is_none());

    let text = scrape(&daemon).await;
    for m in [legacy, collection] {
        let dropped = samples(&text, "bmc_parts_dropped", m);
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert!(dropped[0].contains("part=\"sensors\""), "{dropped:?}");
        assert_eq!(value(dropped[0]), (reported - BOUND) as f64, "{dropped:?}");
        assert_eq!(
            samples(&text, "bmc_sensor_health", m).len(),
            BOUND,
            "{m}: the scrape carries the bound, not 50,000 series"
        );
    }
    assert!(samples(&text, "bmc_parts_dropped", healthy).is_empty());
    assert_eq!(samples(&text, "bmc_temperature_celsius", healthy).len(), 2);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn psus_and_sensors_of_one_name_stay_distinct_series() {
    let bed = TestBed::new()
        .bmcs(2)
        .shapes(vec![SimShape::Legacy, SimShape::Sensors])
        .start()
        .await;
    let f = &bed.fleet;
    for r in &f.bmcs {
        let mut st = r.bmc.state();
        let psu = |id: &str, health| SimPsu {
            id: id.into(),
            name: "Power Supply".into(),
            health,
            input_watts: 200.0,
            capacity_watts: 800.0,
        };
        st.psus = vec![psu("PSU1", SimHealth::Ok), psu("PSU2", SimHealth::Critical)];
        st.sensors.push(SimSensor {
            reading: 95.0,
            ..temperature(1)
        });
        st.sensors.push(temperature(2));
    }
    let macs: Vec<MacAddr> = f.bmcs.iter().map(|r| mac(r.bmc.mac)).collect();
    let daemon = Daemon::start(&bed.config(), bed.credentials())
        .await
        .expect("daemon");
    wait_for(
        &daemon.store,
        Duration::from_secs(20),
        "both BMCs polled, with their PSU issue",
        |s| {
            macs.iter().all(|m| {
                snapshot(s, *m).is_some_and(|x| {
                    x.issues
                        .iter()
                        .any(|i| i.kind == IssueType::PowersupplyFailure)
                })
            })
        },
    )
    .await;
    let text = scrape(&daemon).await;
    for m in &macs {
        let s = snapshot(&daemon.store, *m).expect("snapshot");
        let psus = s.reading.psus.ok().expect("psus");
        assert_eq!(
            psus.iter().map(|p| p.health).collect::<Vec<_>>(),
            [Health::Ok, Health::Critical]
        );
        assert_ne!(psus[0].id, psus[1].id);
        let health = samples(&text, "bmc_psu_health", *m);
        assert_eq!(health.len(), 2, "{health:?}");
        assert!(
            health
                .iter()
                .any(|l| l.contains(&format!("psu_id=\"{}\"", psus[1].id)) && value(l) == 2.0),
            "the critical PSU's series: {health:?}"
        );
        let temps: Vec<&str> = samples(&text, "bmc_sensor_health", *m)
            .into_iter()
            .filter(|l| l.contains("sensor=\"Temp\""))
            .collect();
        assert_eq!(temps.len(), 2, "{temps:?}");
        assert!(temps.iter().any(|l| value(l) == 2.0), "{temps:?}");
    }
    daemon.stop().await;
}

/// An IPMI BMC whose SDR repository holds 205 threshold sensors, 200 of them named "Temp", under
/// `max-sensors-per-bmc = 50`: a poll keeps 50 with distinct ids, counts the rest, and (the
/// repository cached) sends no Get Sensor Reading for the records beyond the bound.
#[tokio::test(flavor = "multi_thread")]
async fn ipmi_records_beyond_the_bound_are_counted_not_read() {
    let bed = TestBed::new()
        .protocols(vec![SimProtocol::Ipmi])
        .start()
        .await;
    let fleet = &bed.fleet;
    fleet.bmcs[0]
        .bmc
        .state()
        .sensors
        .extend((0..200).map(temperature));
    let (ip, handle) = fleet.bmcs[0].ipmi.clone().expect("ipmi");
    let mut c = Config::default();
    c.poll.protocol = ProtocolChoice::Ipmi;
    c.poll.timeout = Duration::from_secs(20);
    c.poll.max_sensors_per_bmc = 50;
    c.ipmi.port = fleet.ipmi_port();
    let creds = bmc_catcher::config::Credentials::single("admin", "password");
    let bmc = Connector::new(&c, creds)
        .expect("connector")
        .connect(&Target {
            mac: mac(fleet.bmcs[0].bmc.mac),
            ip: ip.ip(),
            port: None,
            hostname: None,
            lease_ends: None,
        });
    let r = bmc.poll().await;
    assert!(r.first_error().is_none(), "{:?}", r.errors());
    let sensors = r.sensors.ok().expect("sensors");
    assert_eq!(sensors.len(), 50);
    // 200 + the simulator's 5 + its power sensor, less the 50 kept.
    assert_eq!(r.dropped.sensors, 156);
    let mut ids: Vec<&str> = sensors.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50, "every kept sensor has an id of its own");
    let before = handle.requests();
    let r = bmc.poll().await;
    assert_eq!(r.dropped.sensors, 156);
    let second = handle.requests() - before;
    assert!(
        second < 70,
        "a cached poll reads the 50 kept sensors, the 2 PSUs and the chassis, not 206: {second} requests"
    );
    bmc.close().await;
}
