//! `/metrics` rendering at scrape time for a fleet of 10,000 BMCs: `publish::metrics::render` in
//! classic text (`Format::Text`) and OpenMetrics, over a `Store` filled through its public API
//! (`upsert_target` + `record`) with realistic snapshots: power, inventory, LED, two PSUs, system
//! power draw and ten sensors (four temperatures, four fans, two voltages); every 100th BMC has a
//! failed LED read and every 50th a `sensor-warning` issue. Prints the size of one rendering.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bmc_catcher::model::{
    BmcSnapshot, ErrorKind, Field, Health, Inventory, Led, MacAddr, PowerMetrics, PowerState,
    Protocol, Psu, Reading, SCHEMA_VERSION, Sensor, SensorKind, Target, Unit,
};
use bmc_catcher::model::{Issue, IssueType, Severity};
use bmc_catcher::poller::PollStats;
use bmc_catcher::publish::metrics::{Format, registry, render, render_gzip};
use bmc_catcher::store::Store;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

/// BMCs in the store.
const FLEET: usize = 10_000;
/// 2026-11-20 12:00:00 UTC in milliseconds.
const NOW_MS: i64 = 1_795_176_000_000;

fn mac(i: usize) -> MacAddr {
    MacAddr([0x52, 0x54, 0x00, (i >> 16) as u8, (i >> 8) as u8, i as u8])
}

fn ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8))
}

fn sensor(name: &str, kind: SensorKind, unit: Unit, reading: f64, crit: Option<f64>) -> Sensor {
    Sensor {
        id: format!("/redfish/v1/Chassis/1/Sensors/{}", name.replace(' ', "")),
        name: name.to_string(),
        kind,
        unit,
        reading: Some(reading),
        health: Health::Ok,
        upper_critical: crit,
        lower_critical: None,
    }
}

/// One poll's result for BMC `i`, with readings that vary by BMC.
fn snapshot(i: usize) -> BmcSnapshot {
    let v = (i % 97) as f64;
    let temp = |name, base: f64, crit| {
        sensor(
            name,
            SensorKind::Temperature,
            Unit::Celsius,
            base + v / 10.0,
            Some(crit),
        )
    };
    let fan = |name, base: f64| sensor(name, SensorKind::Fan, Unit::Rpm, base + v * 11.0, None);
    let psu = |n: usize| Psu {
        id: format!("/redfish/v1/Chassis/1/Power#/PowerSupplies/{n}"),
        name: format!("PSU{n}"),
        health: Health::Ok,
        state: "Enabled".into(),
        input_watts: Some(180.0 + v),
        output_watts: Some(165.0 + v),
        capacity_watts: Some(800.0),
    };
    BmcSnapshot {
        schema_version: SCHEMA_VERSION,
        partition: "site-a".into(),
        mac: mac(i),
        ip: ip(i),
        hostname: Some(format!("bmc-r{:03}-u{:02}", i / 40, i % 40)),
        protocol: Some(if i.is_multiple_of(5) {
            Protocol::Ipmi
        } else {
            Protocol::Redfish
        }),
        polled_at_ms: NOW_MS - (i as i64 % 60_000),
        duration_ms: 150 + (i as u64 % 400),
        last_success_ms: Some(NOW_MS - (i as i64 % 60_000)),
        up: true,
        reading: Reading {
            power: Field::Ok(if i.is_multiple_of(17) {
                PowerState::Off
            } else {
                PowerState::On
            }),
            inventory: Field::Ok(Box::new(Inventory {
                uuid: Some(format!("4c4c4544-0042-3510-8052-{i:012x}")),
                manufacturer: Some("Contoso".into()),
                model: Some("3500 Rackmount".into()),
                serial: Some(format!("SN{i:08}")),
                bios_version: Some("P79 v1.45 (12/06/2017)".into()),
                bmc_firmware: Some("1.45.455b66-rev4".into()),
                tls_certificate_expires: Some(2_110_985_546),
            })),
            led: if i.is_multiple_of(100) {
                Field::failed(ErrorKind::Unsupported, "no IndicatorLED")
            } else {
                Field::Ok(Led::Off)
            },
            psus: Field::Ok(vec![psu(1), psu(2)]),
            power_metrics: Field::Ok(PowerMetrics {
                consumed_watts: Some(344.0 + v),
                capacity_watts: Some(1600.0),
            }),
            sensors: Field::Ok(vec![
                temp("CPU1 Temp", 40.0, 90.0),
                temp("CPU2 Temp", 42.0, 90.0),
                temp("Inlet Temp", 22.0, 42.0),
                temp("Exhaust Temp", 35.0, 70.0),
                fan("Fan1", 2100.0),
                fan("Fan2", 2150.0),
                fan("Fan3", 2080.0),
                fan("Fan4", 2120.0),
                sensor("12V", SensorKind::Voltage, Unit::Volts, 12.06, Some(13.2)),
                sensor("3.3V", SensorKind::Voltage, Unit::Volts, 3.31, Some(3.6)),
            ]),
            refused_certificate_expires: None,
            tls_refusal: None,
            dropped: Default::default(),
            logs: None,
            components: None,
            power_check: None,
        },
        issues: Vec::new(),
    }
}

/// A store of `FLEET` polled BMCs, filled as discovery and the poller fill it.
fn fleet() -> (Arc<Store>, Arc<PollStats>) {
    let store = Arc::new(Store::new("site-a"));
    let stats = Arc::new(PollStats::default());
    for i in 0..FLEET {
        let s = snapshot(i);
        store.upsert_target(Target {
            mac: s.mac,
            ip: s.ip,
            port: None,
            hostname: s.hostname.clone(),
            lease_ends: Some(NOW_MS / 1000 + 3600),
        });
        stats.observe(&s);
        store.record(s);
    }
    stats.set_targets(FLEET);
    let issues: BTreeMap<MacAddr, Vec<Issue>> = (0..FLEET)
        .step_by(50)
        .map(|i| {
            let issue = Issue {
                kind: IssueType::SensorWarning,
                severity: Severity::Minor,
                detail: "Inlet Temp above its warning threshold".into(),
            };
            (mac(i), vec![issue])
        })
        .collect();
    store.apply_issues(issues);
    (store, stats)
}

fn bench_render(c: &mut Criterion) {
    let (store, stats) = fleet();
    let reg = registry(store, stats, 128);
    for (format, name) in [(Format::Text, "text"), (Format::OpenMetrics, "openmetrics")] {
        let out = render(&reg, format).expect("renders");
        eprintln!(
            "metrics: {FLEET} BMCs, {name}: {} bytes, {} lines",
            out.len(),
            out.lines().count()
        );
    }

    let mut g = c.benchmark_group("metrics_render_10k");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(FLEET as u64));
    g.bench_function("text", |b| {
        b.iter(|| render(black_box(&reg), Format::Text).expect("renders"))
    });
    g.bench_function("openmetrics", |b| {
        b.iter(|| render(black_box(&reg), Format::OpenMetrics).expect("renders"))
    });
    // What the daemon serves: the text compressed as it is written.
    g.bench_function("text_gzip", |b| {
        b.iter(|| render_gzip(black_box(&reg), Format::Text).expect("renders"))
    });
    g.finish();
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
