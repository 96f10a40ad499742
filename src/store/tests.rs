//! Change detection: which differences between snapshots become events, and only once.

use super::*;
use crate::model::{ErrorKind, Field, Health, Psu, Reading, SCHEMA_VERSION};

fn mac() -> MacAddr {
    "02:00:00:00:00:01".parse().expect("mac")
}

fn target(ip: &str) -> Target {
    Target {
        mac: mac(),
        ip: ip.parse().expect("ip"),
        port: None,
        hostname: None,
        lease_ends: None,
    }
}

fn snap(power: Option<PowerState>, psu: Health) -> BmcSnapshot {
    let mut reading = Reading::all_failed(ErrorKind::Timeout, "deadline");
    if let Some(p) = power {
        reading.power = Field::Ok(p);
        reading.psus = Field::Ok(vec![Psu {
            id: "psu-1".into(),
            name: "PSU1".into(),
            health: psu,
            state: "Enabled".into(),
            input_watts: None,
            output_watts: None,
            capacity_watts: None,
        }]);
    }
    BmcSnapshot {
        schema_version: SCHEMA_VERSION,
        partition: "t".into(),
        mac: mac(),
        ip: "127.0.0.1".parse().expect("ip"),
        hostname: None,
        protocol: None,
        polled_at_ms: 1,
        duration_ms: 1,
        last_success_ms: power.map(|_| 1),
        up: power.is_some(),
        reading,
        issues: Vec::new(),
    }
}

fn drain(rx: &mut Arc<Recorder>) -> Vec<EventKind> {
    rx.take().into_iter().map(|e| e.kind).collect()
}

#[test]
fn lifecycle_events_fire_on_change_only() {
    let store = Store::new("t");
    let mut rx = Arc::new(Recorder::default());
    store.observe(rx.clone());
    store.upsert_target(target("127.0.0.1"));
    store.upsert_target(target("127.0.0.1"));
    assert_eq!(
        drain(&mut rx),
        vec![EventKind::Discovered {
            ip: "127.0.0.1".parse().expect("ip")
        }]
    );

    store.record(snap(Some(PowerState::On), Health::Ok));
    assert_eq!(drain(&mut rx), vec![]);
    store.record(snap(Some(PowerState::On), Health::Ok));
    store.record(snap(Some(PowerState::Off), Health::Critical));
    assert_eq!(
        drain(&mut rx),
        vec![
            EventKind::PowerChanged {
                old: PowerState::On,
                new: PowerState::Off
            },
            EventKind::HealthChanged {
                component: "psu:psu-1".into(),
                name: "PSU1".into(),
                old: Health::Ok,
                new: Health::Critical
            },
        ]
    );
    store.record(snap(None, Health::Ok));
    store.record(snap(None, Health::Ok));
    let ev = drain(&mut rx);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert!(matches!(
        ev[0],
        EventKind::Unreachable {
            error: ErrorKind::Timeout,
            ..
        }
    ));
    assert_eq!(
        store
            .get(mac())
            .and_then(|e| e.snapshot)
            .and_then(|s| s.last_success_ms),
        Some(1),
        "a failed poll keeps the last success time"
    );
    store.record(snap(Some(PowerState::Off), Health::Critical));
    assert_eq!(drain(&mut rx), vec![EventKind::Recovered]);

    store.upsert_target(target("127.0.0.2"));
    store.remove(mac());
    assert_eq!(
        drain(&mut rx),
        vec![
            EventKind::IpChanged {
                old: "127.0.0.1".parse().expect("ip"),
                new: "127.0.0.2".parse().expect("ip")
            },
            EventKind::Gone {
                ip: "127.0.0.2".parse().expect("ip")
            },
        ]
    );
    store.record(snap(Some(PowerState::On), Health::Ok));
    assert!(store.is_empty(), "a result for a removed BMC is dropped");
}

#[test]
fn event_ids_reach_observers_in_order_under_concurrent_emitters() {
    let store = Arc::new(Store::new("t"));
    let rec = Arc::new(Recorder::default());
    store.observe(rec.clone());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    store.emit(
                        mac(),
                        EventKind::HealthChanged {
                            component: format!("sensor:{t}-{i}"),
                            name: format!("{t}-{i}"),
                            old: Health::Ok,
                            new: Health::Warning,
                        },
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("emitter");
    }
    let seqs: Vec<u64> = rec
        .take()
        .iter()
        .map(|e| {
            e.id.rsplit('-')
                .next()
                .and_then(|s| s.parse().ok())
                .expect("id ends in its sequence number")
        })
        .collect();
    assert_eq!(seqs.len(), 4_000);
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "ids out of order"
    );
}

/// Two PSUs named alike: when the second turns critical, the change is seen (by id), not hidden
/// behind the healthy one of the same name.
#[test]
fn a_change_of_one_of_two_parts_of_one_name_is_seen() {
    let with = |second: Health| {
        let mut s = snap(Some(PowerState::On), Health::Ok);
        if let Field::Ok(psus) = &mut s.reading.psus {
            let mut twin = psus[0].clone();
            twin.id = "psu-2".into();
            twin.health = second;
            psus.push(twin);
        }
        s
    };
    let events = changes(Some(&with(Health::Ok)), &with(Health::Critical));
    assert_eq!(
        events,
        vec![EventKind::HealthChanged {
            component: "psu:psu-2".into(),
            name: "PSU1".into(),
            old: Health::Ok,
            new: Health::Critical,
        }]
    );
}

#[test]
fn pages_walk_the_fleet_in_mac_order() {
    let store = Store::new("p");
    for i in [3u8, 1, 2, 5, 4] {
        let mut t = target("10.0.0.1");
        t.mac = MacAddr([2, 0, 0, 0, 0, i]);
        store.upsert_target(t);
    }
    let macs = |v: Vec<Entry>| v.iter().map(|e| e.target.mac.0[5]).collect::<Vec<_>>();
    assert_eq!(macs(store.page(None, 2)), [1, 2]);
    let (last, more) = store.page_end(None, 2);
    assert_eq!(last.map(|m| m.0[5]), Some(2));
    assert!(more);
    assert_eq!(macs(store.page(last, 2)), [3, 4]);
    let (last, more) = store.page_end(Some(MacAddr([2, 0, 0, 0, 0, 4])), 2);
    assert_eq!(last.map(|m| m.0[5]), Some(5));
    assert!(!more);
    assert_eq!(store.page_end(last, 2), (None, false));
}

fn log_entry(id: &str, severity: crate::model::LogSeverity) -> crate::model::LogEntry {
    crate::model::LogEntry {
        log: "sel".into(),
        id: id.into(),
        created_ms: None,
        severity,
        sensor_type: None,
        sensor: Some("Memory #0x11".into()),
        message: "Uncorrectable ECC".into(),
        detail: Some("Asserted".into()),
        message_id: None,
    }
}

#[test]
fn new_log_entries_are_events_once_and_an_ack_forgets_the_critical_one() {
    use crate::model::{LastCritical, LogSeverity, Logs};
    let store = Store::new("t");
    let mut rx = Arc::new(Recorder::default());
    store.observe(rx.clone());
    store.upsert_target(target("127.0.0.1"));
    drain(&mut rx);
    let mut s = snap(Some(PowerState::On), Health::Ok);
    let e = log_entry("0x0004", LogSeverity::Critical);
    s.reading.logs = Some(Box::new(Logs {
        entries: vec![std::sync::Arc::new(e.clone())],
        fresh: vec![std::sync::Arc::new(e.clone())],
        last_critical: Some(LastCritical {
            message: "Memory #0x11: Uncorrectable ECC".into(),
            seen_ms: now_ms() - 10,
        }),
        ..Logs::default()
    }));
    store.record(s.clone());
    assert_eq!(drain(&mut rx), [EventKind::LogEntry { entry: e.clone() }]);
    // A poll that read no log keeps the entries, none of them new.
    store.record(snap(Some(PowerState::On), Health::Ok));
    assert_eq!(drain(&mut rx), []);
    let kept = store.get(mac()).and_then(|x| x.snapshot).expect("snapshot");
    let logs = kept.reading.logs.as_ref().expect("logs kept");
    assert_eq!(logs.entries, [std::sync::Arc::new(e.clone())]);
    assert!(logs.fresh.is_empty() && logs.last_critical.is_some());
    // Acknowledged: forgotten now and when the backend reports the same entry again.
    assert!(store.ack_logs(mac()));
    assert!(!store.ack_logs("02:00:00:00:00:99".parse().expect("mac")));
    let acked = |store: &Store| {
        store
            .get(mac())
            .and_then(|x| x.snapshot)
            .and_then(|s| s.reading.logs.clone())
            .expect("logs")
            .last_critical
    };
    assert_eq!(acked(&store), None);
    if let Some(l) = s.reading.logs.as_mut() {
        l.fresh.clear();
    }
    store.record(s);
    assert_eq!(acked(&store), None);
    // A cleared log: one log-cleared.
    let mut s = snap(Some(PowerState::On), Health::Ok);
    s.reading.logs = Some(Box::new(Logs {
        cleared: vec!["Managers/1/LogServices/Sel".into()],
        ..Logs::default()
    }));
    store.record(s);
    assert_eq!(
        drain(&mut rx),
        [EventKind::LogCleared {
            log: "Managers/1/LogServices/Sel".into()
        }]
    );
}
