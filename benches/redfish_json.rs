//! Redfish JSON decoding on the DMTF `public-rackmount1` mockup: `serde_json::from_slice` into a
//! `Value` plus the legacy `Thermal` / `Power` shapes (`shapes::legacy_thermal`,
//! `shapes::legacy_power`), and `shapes::sensor` over every resource of the chassis' `Sensors`
//! collection. Parsing and shaping are measured together and apart.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use bmc_catcher::hal::redfish::shapes;
use bmc_catcher::model::{Budget, Limits};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

fn chassis() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/redfish-mockups/public-rackmount1/Chassis/1U")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("mockup {}: {e}", path.display()))
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("the mockup is JSON")
}

/// Fresh budgets of the default per-BMC limits: (sensors, PSUs).
fn budgets() -> (Budget, Budget) {
    let l = Limits::default();
    (Budget::new(l.max_sensors), Budget::new(l.max_psus))
}

fn thermal_of(v: &Value) -> Vec<bmc_catcher::model::Sensor> {
    shapes::legacy_thermal(v, &mut budgets().0)
}

fn power_of(
    v: &Value,
) -> (
    Vec<bmc_catcher::model::Psu>,
    bmc_catcher::model::PowerMetrics,
    Vec<bmc_catcher::model::Sensor>,
) {
    let (mut sensors, mut psus) = budgets();
    shapes::legacy_power(v, &mut psus, &mut sensors)
}

fn bench_legacy(c: &mut Criterion) {
    let thermal = read(&chassis().join("Thermal/index.json"));
    let power = read(&chassis().join("Power/index.json"));
    let (thermal_v, power_v) = (parse(&thermal), parse(&power));
    let sensors = thermal_of(&thermal_v);
    let (psus, _, volts) = power_of(&power_v);
    assert!(!sensors.is_empty() && !psus.is_empty() && !volts.is_empty());
    eprintln!(
        "redfish_json: Thermal {} bytes -> {} sensors; Power {} bytes -> {} PSUs, {} voltages",
        thermal.len(),
        sensors.len(),
        power.len(),
        psus.len(),
        volts.len()
    );

    let mut g = c.benchmark_group("redfish_thermal");
    g.throughput(Throughput::Bytes(thermal.len() as u64));
    g.bench_function("from_slice", |b| b.iter(|| parse(black_box(&thermal))));
    g.bench_function("legacy_thermal", |b| {
        b.iter(|| thermal_of(black_box(&thermal_v)))
    });
    g.bench_function("from_slice+legacy_thermal", |b| {
        b.iter(|| thermal_of(&parse(black_box(&thermal))))
    });
    g.finish();

    let mut g = c.benchmark_group("redfish_power");
    g.throughput(Throughput::Bytes(power.len() as u64));
    g.bench_function("from_slice", |b| b.iter(|| parse(black_box(&power))));
    g.bench_function("legacy_power", |b| b.iter(|| power_of(black_box(&power_v))));
    g.bench_function("from_slice+legacy_power", |b| {
        b.iter(|| power_of(&parse(black_box(&power))))
    });
    g.finish();
}

fn bench_sensors(c: &mut Criterion) {
    let dir = chassis().join("Sensors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the mockup has a Sensors collection")
        .map(|e| {
            e.expect("readable directory entry")
                .path()
                .join("index.json")
        })
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let bodies: Vec<Vec<u8>> = files.iter().map(|p| read(p)).collect();
    let values: Vec<Value> = bodies.iter().map(|b| parse(b)).collect();
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    eprintln!(
        "redfish_json: {} Sensor resources, {bytes} bytes",
        bodies.len()
    );

    let mut g = c.benchmark_group("redfish_sensors");
    g.throughput(Throughput::Elements(bodies.len() as u64));
    g.bench_function("sensor_all", |b| {
        b.iter(|| {
            black_box(&values)
                .iter()
                .map(shapes::sensor)
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("from_slice+sensor_all", |b| {
        b.iter(|| {
            black_box(&bodies)
                .iter()
                .map(|body| shapes::sensor(&parse(body)))
                .collect::<Vec<_>>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_legacy, bench_sensors);
criterion_main!(benches);
