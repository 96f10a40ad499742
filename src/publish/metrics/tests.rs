//! The exposition: families, units and labels as docs/metrics.md lists them; vanished BMCs vanish.

use super::*;
use crate::model::{
    BmcSnapshot, Health, Inventory, PowerMetrics, PowerState, Protocol, Psu, Reading,
    SCHEMA_VERSION, Sensor, Target,
};
use crate::model::{Field, SensorKind, Unit as SensorUnit};

pub(super) fn snapshot() -> BmcSnapshot {
    let sensor = |name: &str, kind, unit, v| Sensor {
        id: format!(
            "/redfish/v1/Chassis/1/Sensors/{}",
            name.replace([' ', '%'], "")
        ),
        name: name.into(),
        kind,
        unit,
        reading: Some(v),
        health: Health::Ok,
        upper_critical: None,
        lower_critical: None,
    };
    BmcSnapshot {
        schema_version: SCHEMA_VERSION,
        partition: "t".into(),
        mac: "02:00:00:00:00:01".parse().expect("mac"),
        ip: "127.0.0.1".parse().expect("ip"),
        hostname: None,
        protocol: Some(Protocol::Redfish),
        polled_at_ms: 1_700_000_000_000,
        duration_ms: 120,
        last_success_ms: Some(1_700_000_000_000),
        up: true,
        reading: Reading {
            power: Field::Ok(PowerState::On),
            inventory: Field::Ok(Box::new(Inventory {
                model: Some("M \"1\"".into()),
                tls_certificate_expires: Some(2_110_985_546),
                ..Inventory::default()
            })),
            led: Field::failed(crate::model::ErrorKind::Unsupported, "no LED"),
            psus: Field::Ok(vec![Psu {
                id: "/redfish/v1/Chassis/1/Power#/PowerSupplies/0".into(),
                name: "PSU1".into(),
                health: Health::Warning,
                state: "Enabled".into(),
                input_watts: Some(200.0),
                output_watts: None,
                capacity_watts: None,
            }]),
            power_metrics: Field::Ok(PowerMetrics {
                consumed_watts: Some(344.0),
                capacity_watts: None,
            }),
            sensors: Field::Ok(vec![
                sensor(
                    "CPU1 Temp",
                    SensorKind::Temperature,
                    SensorUnit::Celsius,
                    41.0,
                ),
                sensor("Fan1", SensorKind::Fan, SensorUnit::Rpm, 2100.0),
                sensor("Fan%", SensorKind::Fan, SensorUnit::Percent, 45.0),
            ]),
            refused_certificate_expires: None,
            tls_refusal: None,
            dropped: Default::default(),
            logs: None,
            components: None,
            power_check: None,
        },
        issues: vec![crate::model::Issue {
            kind: crate::model::IssueType::PowersupplyFailure,
            severity: crate::model::Severity::Major,
            detail: "PSU1 is in warning".into(),
        }],
    }
}

/// The text exposition of a store holding `s` alone.
pub(super) fn render_one(s: BmcSnapshot) -> String {
    let store = Arc::new(Store::new("t"));
    store.upsert_target(Target {
        mac: s.mac,
        ip: s.ip,
        port: None,
        hostname: None,
        lease_ends: None,
    });
    store.record(s);
    render(
        &registry(store, Arc::new(PollStats::default()), 128),
        Format::Text,
    )
    .expect("render")
}

#[test]
fn renders_families_with_units_and_drops_vanished_bmcs() {
    let store = Arc::new(Store::new("t"));
    let s = snapshot();
    store.upsert_target(Target {
        mac: s.mac,
        ip: s.ip,
        port: None,
        hostname: None,
        lease_ends: None,
    });
    store.record(s.clone());
    let stats = Arc::new(PollStats::default());
    stats.observe(&s);
    let reg = registry(store.clone(), stats, 128);
    let text = render(&reg, Format::Text).expect("render");
    for line in [
        "bmc_up{mac=\"02:00:00:00:00:01\"} 1",
        "bmc_target_info{mac=\"02:00:00:00:00:01\",ip=\"127.0.0.1\",protocol=\"redfish\"} 1",
        "bmc_power_on{mac=\"02:00:00:00:00:01\"} 1",
        "bmc_temperature_celsius{mac=\"02:00:00:00:00:01\",sensor=\"CPU1 Temp\",sensor_id=\"/redfish/v1/Chassis/1/Sensors/CPU1Temp\"} 41",
        "bmc_fan_speed_rpm{mac=\"02:00:00:00:00:01\",sensor=\"Fan1\",sensor_id=\"/redfish/v1/Chassis/1/Sensors/Fan1\"} 2100",
        "bmc_fan_speed_percent{mac=\"02:00:00:00:00:01\",sensor=\"Fan%\",sensor_id=\"/redfish/v1/Chassis/1/Sensors/Fan\"} 45",
        "bmc_psu_health{mac=\"02:00:00:00:00:01\",psu=\"PSU1\",psu_id=\"/redfish/v1/Chassis/1/Power#/PowerSupplies/0\",state=\"Enabled\"} 1",
        "bmc_power_consumed_watts{mac=\"02:00:00:00:00:01\"} 344",
        "bmc_tls_certificate_expiry_timestamp_seconds{mac=\"02:00:00:00:00:01\"} 2110985546",
        "bmc_read_error{mac=\"02:00:00:00:00:01\",part=\"led\",kind=\"unsupported\"} 1",
        "bmc_issue{mac=\"02:00:00:00:00:01\",type=\"powersupply-failure\",severity=\"major\"} 1",
        "model=\"M \\\"1\\\"\"",
        "# TYPE bmc_catcher_polls_total counter",
        "bmc_catcher_polls_total{result=\"partial\"} 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains("# EOF") && !text.contains("# UNIT"));
    let om = render(&reg, Format::OpenMetrics).expect("render");
    assert!(om.contains("# UNIT bmc_temperature_celsius celsius") && om.ends_with("# EOF\n"));

    store.remove(s.mac);
    let text = render(&reg, Format::Text).expect("render");
    assert!(
        !text.contains("02:00:00:00:00:01"),
        "vanished BMC still exported:\n{text}"
    );
}

#[test]
fn negotiation_follows_accept() {
    assert_eq!(Format::negotiate(None), Format::Text);
    assert_eq!(
        Format::negotiate(Some("text/plain;version=0.0.4")),
        Format::Text
    );
    assert_eq!(
        Format::negotiate(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
        )),
        Format::OpenMetrics
    );
}

/// Two IPMI sensors named "Temp" and two PSUs named "PS" (one critical): every one is a series of
/// its own, and no two samples share a label set (Prometheus would drop the second).
#[test]
fn parts_of_one_name_are_distinct_series() {
    let mut s = snapshot();
    let temp = |id: &str, v, health| Sensor {
        id: id.into(),
        name: "Temp".into(),
        kind: SensorKind::Temperature,
        unit: SensorUnit::Celsius,
        reading: Some(v),
        health,
        upper_critical: None,
        lower_critical: None,
    };
    s.reading.sensors = Field::Ok(vec![
        temp("20:0:0:30", 30.0, Health::Ok),
        temp("20:0:0:31", 95.0, Health::Critical),
    ]);
    let psu = |id: &str, health| Psu {
        id: id.into(),
        name: "PS".into(),
        health,
        state: "Enabled".into(),
        input_watts: Some(100.0),
        output_watts: None,
        capacity_watts: None,
    };
    s.reading.psus = Field::Ok(vec![
        psu("20:0:0:60", Health::Ok),
        psu("20:0:0:61", Health::Critical),
    ]);
    let text = render_one(s);
    let m = "mac=\"02:00:00:00:00:01\"";
    for line in [
        format!("bmc_temperature_celsius{{{m},sensor=\"Temp\",sensor_id=\"20:0:0:30\"}} 30"),
        format!("bmc_temperature_celsius{{{m},sensor=\"Temp\",sensor_id=\"20:0:0:31\"}} 95"),
        format!(
            "bmc_sensor_health{{{m},sensor=\"Temp\",sensor_id=\"20:0:0:31\",kind=\"temperature\"}} 2"
        ),
        format!("bmc_psu_health{{{m},psu=\"PS\",psu_id=\"20:0:0:60\",state=\"Enabled\"}} 0"),
        format!("bmc_psu_health{{{m},psu=\"PS\",psu_id=\"20:0:0:61\",state=\"Enabled\"}} 2"),
        format!("bmc_psu_input_watts{{{m},psu=\"PS\",psu_id=\"20:0:0:61\"}} 100"),
    ] {
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
    assert!(
        !text.contains("bmc_parts_dropped"),
        "nothing dropped:\n{text}"
    );
    let mut series: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s))
        .collect();
    let all = series.len();
    series.sort_unstable();
    series.dedup();
    assert_eq!(series.len(), all, "a label set twice in\n{text}");
}

#[test]
fn dropped_parts_are_a_gauge_per_part() {
    let mut s = snapshot();
    s.reading.dropped = crate::model::Dropped {
        sensors: 49_000,
        psus: 0,
    };
    let text = render_one(s);
    assert!(
        text.contains("bmc_parts_dropped{mac=\"02:00:00:00:00:01\",part=\"sensors\"} 49000"),
        "{text}"
    );
    assert!(!text.contains("part=\"psus\""), "{text}");
}

#[test]
fn a_bmc_that_answers_nothing_costs_six_short_series() {
    let mut s = snapshot();
    s.up = false;
    s.protocol = None;
    s.last_success_ms = None;
    s.reading = Reading::all_failed(
        crate::model::ErrorKind::Unreachable,
        "02:00:00:00:00:01@127.0.0.1:443: unreachable: connection refused",
    );
    s.issues = vec![crate::model::Issue {
        kind: crate::model::IssueType::Unreachable,
        severity: crate::model::Severity::Major,
        detail: "connection refused".into(),
    }];
    let text = render_one(s);
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("02:00:00:00:00:01"))
        .collect();
    assert_eq!(
        series,
        [
            "bmc_up{mac=\"02:00:00:00:00:01\"} 0.0",
            "bmc_target_info{mac=\"02:00:00:00:00:01\",ip=\"127.0.0.1\",protocol=\"\"} 1.0",
            "bmc_poll_duration_seconds{mac=\"02:00:00:00:00:01\"} 0.12",
            "bmc_last_poll_timestamp_seconds{mac=\"02:00:00:00:00:01\"} 1700000000.0",
            "bmc_read_error{mac=\"02:00:00:00:00:01\",part=\"all\",kind=\"unreachable\"} 1.0",
            "bmc_issue{mac=\"02:00:00:00:00:01\",type=\"unreachable\",severity=\"major\"} 1.0",
        ],
        "one bmc_read_error series, not one per part:\n{text}"
    );
}

/// A DHCP change moves the BMC's address: only the info series changes, `bmc_up` and every other
/// series keep their labels (a Prometheus series that changes labels starts a new series).
#[test]
fn a_new_address_changes_only_the_info_series() {
    let before = render_one(snapshot());
    let mut moved = snapshot();
    moved.ip = "127.0.0.2".parse().expect("ip");
    let after = render_one(moved);
    let series = |text: &str| -> std::collections::BTreeSet<String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && l.contains("02:00:00:00:00:01"))
            .filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s.to_string()))
            .collect()
    };
    let (b, a) = (series(&before), series(&after));
    let changed: Vec<&String> = b.symmetric_difference(&a).collect();
    assert_eq!(
        changed,
        [
            "bmc_target_info{mac=\"02:00:00:00:00:01\",ip=\"127.0.0.1\",protocol=\"redfish\"}",
            "bmc_target_info{mac=\"02:00:00:00:00:01\",ip=\"127.0.0.2\",protocol=\"redfish\"}",
        ],
        "{before}\n---\n{after}"
    );
}

/// The self-metrics an operator's standard dashboards and alerts expect: counters with a result
/// label exist at 0 before the first poll, build and partition info, the process metrics.
#[test]
fn a_fresh_catcher_exports_its_counters_at_zero_and_its_identity() {
    let store = Arc::new(Store::new("rack-1"));
    let text = render(
        &registry(store, Arc::new(PollStats::default()), 128),
        Format::Text,
    )
    .expect("render");
    for line in [
        "bmc_catcher_polls_total{result=\"ok\"} 0",
        "bmc_catcher_polls_total{result=\"partial\"} 0",
        "bmc_catcher_polls_total{result=\"failed\"} 0",
        "# TYPE bmc_catcher_build_info gauge",
        &format!(
            "bmc_catcher_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        ),
        "bmc_catcher_partition_info{partition=\"rack-1\"} 1",
        "# TYPE process_cpu_seconds_total counter",
        "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_start_time_seconds gauge",
        "# TYPE process_open_fds gauge",
        "# TYPE process_max_fds gauge",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}
