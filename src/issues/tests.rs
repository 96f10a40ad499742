//! Each issue type from the state that should raise it, and nothing from a healthy fleet.

use std::net::IpAddr;
use std::sync::Arc;

use super::*;
use crate::model::{
    BmcSnapshot, ErrorKind, Field, FieldError, Health, Inventory, IssueType, PowerState, Psu,
    Reading, SCHEMA_VERSION, Sensor, SensorKind, Severity, Target, Unit,
};

const NOW: i64 = 1_800_000_000_000;

pub(super) fn settings() -> Settings {
    Settings {
        now_ms: NOW,
        interval: Duration::from_secs(300),
        outdated_after_intervals: 4,
        log_critical_clears_after: Duration::from_secs(3600),
        drive_wear_out_below: 10,
    }
}

pub(super) fn healthy(i: u8) -> Entry {
    let mac = MacAddr([2, 0, 0, 0, 0, i]);
    let ip: IpAddr = format!("127.0.9.{i}").parse().expect("ip");
    let reading = Reading {
        power: Field::Ok(PowerState::On),
        inventory: Field::Ok(Box::new(Inventory {
            uuid: Some(format!("uuid-{i}")),
            serial: Some(format!("serial-{i}")),
            ..Inventory::default()
        })),
        led: Field::Ok(crate::model::Led::Off),
        psus: Field::Ok(vec![Psu {
            id: "PSU1".into(),
            name: "PSU1".into(),
            health: Health::Ok,
            state: "Enabled".into(),
            input_watts: None,
            output_watts: None,
            capacity_watts: None,
        }]),
        power_metrics: Field::Ok(Default::default()),
        sensors: Field::Ok(vec![Sensor {
            id: "CPU Temp".into(),
            name: "CPU Temp".into(),
            kind: SensorKind::Temperature,
            unit: Unit::Celsius,
            reading: Some(45.0),
            health: Health::Ok,
            upper_critical: Some(90.0),
            lower_critical: None,
        }]),
        refused_certificate_expires: None,
        tls_refusal: None,
        dropped: Default::default(),
        logs: None,
        components: None,
        power_check: None,
    };
    Entry {
        target: Arc::new(Target {
            mac,
            ip,
            port: None,
            hostname: None,
            lease_ends: Some(NOW / 1000 + 3600),
        }),
        snapshot: Some(std::sync::Arc::new(BmcSnapshot {
            schema_version: SCHEMA_VERSION,
            partition: "t".into(),
            mac,
            ip,
            hostname: None,
            protocol: None,
            polled_at_ms: NOW - 1000,
            duration_ms: 10,
            last_success_ms: Some(NOW - 1000),
            up: true,
            reading,
            issues: Vec::new(),
        })),
    }
}

pub(super) fn snap(e: &mut Entry) -> &mut BmcSnapshot {
    std::sync::Arc::make_mut(e.snapshot.as_mut().expect("snapshot"))
}

pub(super) fn types(
    found: &BTreeMap<MacAddr, Vec<Issue>>,
    e: &Entry,
) -> Vec<(IssueType, Severity)> {
    found
        .get(&e.target.mac)
        .map(|v| v.iter().map(|i| (i.kind, i.severity)).collect())
        .unwrap_or_default()
}

#[test]
fn a_healthy_fleet_has_no_issues() {
    let entries: Vec<Entry> = (1..=5).map(healthy).collect();
    assert!(evaluate(&entries, &settings()).is_empty());
}

#[test]
fn each_condition_raises_its_issue() {
    let mut e: Vec<Entry> = (1..=9).map(healthy).collect();
    // 1: unreachable; 2: auth failed and outdated.
    let down = Reading::all_failed(ErrorKind::Timeout, "deadline");
    snap(&mut e[0]).reading = down;
    snap(&mut e[0]).up = false;
    snap(&mut e[1]).reading = Reading::all_failed(ErrorKind::Auth, "RAKP 2: unauthorized name");
    snap(&mut e[1]).up = false;
    snap(&mut e[1]).last_success_ms = Some(NOW - 21 * 60 * 1000);
    // 3 and 4 share an IP.
    Arc::make_mut(&mut e[3].target).ip = e[2].target.ip;
    // 5: PSU critical and a critical sensor; 6: a warning sensor and power unknown.
    if let Field::Ok(p) = &mut snap(&mut e[4]).reading.psus {
        p[0].health = Health::Critical;
    }
    if let Field::Ok(s) = &mut snap(&mut e[4]).reading.sensors {
        s[0].health = Health::Critical;
    }
    if let Field::Ok(s) = &mut snap(&mut e[5]).reading.sensors {
        s[0].health = Health::Warning;
    }
    snap(&mut e[5]).reading.power = Field::Error(FieldError {
        kind: ErrorKind::Protocol,
        message: "bad chassis status".into(),
    });
    // 7: lease ended but it answered.
    Arc::make_mut(&mut e[6].target).lease_ends = Some(NOW / 1000 - 60);
    // 8 and 9 report the same UUID; 9 also has 8's serial: the same BMC under two MACs.
    let inv = |e: &mut Entry| match &mut snap(e).reading.inventory {
        Field::Ok(i) => i.clone(),
        Field::Error(_) => unreachable!(),
    };
    let eight = inv(&mut e[7]);
    if let Field::Ok(i) = &mut snap(&mut e[8]).reading.inventory {
        i.uuid = eight.uuid.clone();
    }
    let found = evaluate(&e, &settings());
    use IssueType as T;
    use Severity as S;
    assert_eq!(types(&found, &e[0]), vec![(T::Unreachable, S::Major)]);
    assert_eq!(
        types(&found, &e[1]),
        vec![(T::AuthFailed, S::Major), (T::InfoOutdated, S::Minor)]
    );
    assert_eq!(types(&found, &e[2]), vec![(T::NoDistinctIp, S::Major)]);
    assert_eq!(types(&found, &e[3]), vec![(T::NoDistinctIp, S::Major)]);
    assert_eq!(
        types(&found, &e[4]),
        vec![
            (T::PowersupplyFailure, S::Critical),
            (T::SensorCritical, S::Critical)
        ]
    );
    assert_eq!(
        types(&found, &e[5]),
        vec![
            (T::SensorWarning, S::Minor),
            (T::PowerStateUnknown, S::Minor)
        ]
    );
    assert_eq!(
        types(&found, &e[6]),
        vec![(T::LeaseExpiredButAnswers, S::Minor)]
    );
    assert_eq!(types(&found, &e[7]), vec![(T::DuplicateUuid, S::Major)]);
    let detail = &found[&e[2].target.mac][0].detail;
    assert!(detail.contains(&e[3].target.mac.to_string()), "{detail}");

    if let Field::Ok(i) = &mut snap(&mut e[8]).reading.inventory {
        i.serial = eight.serial.clone();
    }
    let found = evaluate(&e, &settings());
    assert_eq!(
        types(&found, &e[8]),
        vec![(T::NoDistinctIp, S::Major)],
        "same UUID and serial: one BMC, two MACs"
    );
}

#[test]
fn the_store_raises_and_clears_once() {
    let store = crate::store::Store::new("t");
    let mut e = healthy(1);
    store.upsert_target(e.target.clone());
    let mut snapshot = std::sync::Arc::unwrap_or_clone(e.snapshot.take().expect("snap"));
    if let Field::Ok(s) = &mut snapshot.reading.sensors {
        s[0].health = Health::Critical;
    }
    store.record(snapshot.clone());
    let rx = std::sync::Arc::new(crate::store::Recorder::default());
    store.observe(rx.clone());
    let run = || evaluate(&store.entries(), &settings());
    store.apply_issues(run());
    store.apply_issues(run());
    if let Field::Ok(s) = &mut snapshot.reading.sensors {
        s[0].health = Health::Ok;
    }
    store.record(snapshot);
    store.apply_issues(run());
    let kinds: Vec<&str> = rx.take().iter().map(|ev| ev.kind.name()).collect();
    assert_eq!(
        kinds,
        vec!["issue-raised", "health-changed", "issue-cleared"]
    );
    assert!(store.snapshots()[0].issues.is_empty());
}

#[test]
fn names_parse_back() {
    for t in IssueType::ALL {
        assert_eq!(t.as_str().parse::<IssueType>(), Ok(t));
    }
    assert!("bogus".parse::<IssueType>().is_err());
    assert_eq!("critical".parse::<Severity>(), Ok(Severity::Critical));
}

#[test]
fn psus_and_sensors_of_one_name_are_told_apart_by_id() {
    let mut e = healthy(1);
    let psu = |id: &str, health| Psu {
        id: id.into(),
        name: "PSU".into(),
        health,
        state: "Enabled".into(),
        input_watts: None,
        output_watts: None,
        capacity_watts: None,
    };
    // Two critical PSUs named alike stay two issues; the healthy twin raises none.
    snap(&mut e).reading.psus = Field::Ok(vec![
        psu("20:0:0:60", Health::Ok),
        psu("20:0:0:61", Health::Critical),
        psu("20:0:0:62", Health::Critical),
    ]);
    let found = evaluate(std::slice::from_ref(&e), &settings());
    let details: Vec<&str> = found[&e.target.mac]
        .iter()
        .filter(|i| i.kind == IssueType::PowersupplyFailure)
        .map(|i| &*i.detail)
        .collect();
    assert_eq!(
        details,
        [
            "PSU [20:0:0:61] is critical (Enabled)",
            "PSU [20:0:0:62] is critical (Enabled)"
        ]
    );
}

#[test]
fn dropped_parts_raise_too_many_sensors() {
    let mut e = healthy(1);
    let found = evaluate(std::slice::from_ref(&e), &settings());
    assert!(!found.contains_key(&e.target.mac));
    snap(&mut e).reading.dropped = crate::model::Dropped {
        sensors: 49_000,
        psus: 2,
    };
    let found = evaluate(std::slice::from_ref(&e), &settings());
    let issues = &found[&e.target.mac];
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(
        (issues[0].kind, issues[0].severity),
        (IssueType::TooManySensors, Severity::Major)
    );
    assert_eq!(
        &*issues[0].detail,
        "the BMC reports 49000 sensors beyond the 1 kept ([poll] max-sensors-per-bmc) \
         and 2 PSUs beyond the 1 kept ([poll] max-psus-per-bmc)"
    );
}

#[test]
fn a_refused_certificate_raises_changed_or_untrusted_by_its_cause() {
    let mut e = healthy(1);
    for (refusal, want) in [
        (
            Some(crate::model::TlsRefusal::Changed),
            (IssueType::TlsCertificateChanged, Severity::Critical),
        ),
        (
            Some(crate::model::TlsRefusal::Untrusted),
            (IssueType::TlsUntrusted, Severity::Major),
        ),
    ] {
        let s = snap(&mut e);
        s.up = false;
        s.reading = Reading::all_failed(ErrorKind::Tls, "the certificate is not trusted");
        s.reading.tls_refusal = refusal;
        let found = evaluate(std::slice::from_ref(&e), &settings());
        assert_eq!(types(&found, &e), [want], "{refusal:?}");
    }
}

#[test]
fn a_critical_log_entry_raises_until_it_ages_out_and_a_full_sel_raises_too() {
    let mut e = healthy(1);
    let logs = crate::model::Logs {
        sel_used_ratio: Some(0.5),
        last_critical: Some(crate::model::LastCritical {
            message: "Memory #0x11: Uncorrectable ECC".into(),
            seen_ms: NOW - 1000,
        }),
        ..Default::default()
    };
    snap(&mut e).reading.logs = Some(Box::new(logs));
    let found = evaluate(std::slice::from_ref(&e), &settings());
    assert_eq!(
        types(&found, &e),
        [(IssueType::BmcLogCritical, Severity::Major)]
    );
    assert_eq!(
        &*found[&e.target.mac][0].detail,
        "Memory #0x11: Uncorrectable ECC"
    );
    // An hour later (critical-clears-after) it is gone.
    let later = Settings {
        now_ms: NOW + 3600 * 1000,
        ..settings()
    };
    let mac = e.target.mac;
    let log_issues = |found: &BTreeMap<MacAddr, Vec<Issue>>| -> Vec<(IssueType, Severity)> {
        found
            .get(&mac)
            .map(|v| v.iter().map(|i| (i.kind, i.severity)).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|(t, _)| matches!(t, IssueType::BmcLogCritical | IssueType::SelAlmostFull))
            .collect()
    };
    // (info-outdated by then, too)
    assert_eq!(log_issues(&evaluate(std::slice::from_ref(&e), &later)), []);
    // 91 % full: sel-almost-full; 90 % is not.
    if let Some(l) = snap(&mut e).reading.logs.as_mut() {
        l.sel_used_ratio = Some(0.91);
    }
    let found = evaluate(std::slice::from_ref(&e), &later);
    assert_eq!(
        log_issues(&found),
        [(IssueType::SelAlmostFull, Severity::Minor)]
    );
    assert!(
        found[&mac]
            .iter()
            .any(|i| &*i.detail == "the SEL is 91 % full")
    );
    if let Some(l) = snap(&mut e).reading.logs.as_mut() {
        l.sel_used_ratio = Some(0.9);
    }
    assert_eq!(log_issues(&evaluate(std::slice::from_ref(&e), &later)), []);
}
