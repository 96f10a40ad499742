//! The scrape-time collector: renders every BMC's newest snapshot from the store as gauge families
//! (`bmc_up`, `bmc_temperature_celsius`, `bmc_psu_health`, `bmc_issue`, ...) at each scrape, so a BMC
//! that leaves the store leaves /metrics with no cleanup. Families without samples are not written.

use std::sync::Arc;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

use super::metrics::PollStats;
use crate::model::{Field, Led, PowerState, SensorKind, Unit as SensorUnit};
use crate::store::Store;

type Labels = Vec<(&'static str, String)>;

#[derive(Debug)]
pub(super) struct StoreCollector {
    pub(super) store: Arc<Store>,
    pub(super) stats: Arc<PollStats>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({} BMCs)", self.len())
    }
}

/// One metric family: its samples collected first, written only when there is at least one.
/// `name` is without the unit: the encoder appends `_<unit>`.
struct FamilyBuf {
    name: &'static str,
    help: &'static str,
    unit: Option<Unit>,
    samples: Vec<(Labels, f64)>,
}

impl FamilyBuf {
    fn new(name: &'static str, help: &'static str, unit: Option<Unit>) -> Self {
        FamilyBuf {
            name,
            help,
            unit,
            samples: Vec::new(),
        }
    }

    fn push(&mut self, labels: Labels, v: f64) {
        self.samples.push((labels, v));
    }

    fn encode(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if self.samples.is_empty() {
            return Ok(());
        }
        let mut m = encoder.encode_descriptor(
            self.name,
            self.help,
            self.unit.as_ref(),
            MetricType::Gauge,
        )?;
        for (labels, v) in &self.samples {
            ConstGauge::new(*v).encode(m.encode_family(labels)?)?;
        }
        Ok(())
    }
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

impl prometheus_client::collector::Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut up = FamilyBuf::new(
            "bmc_up",
            "1 if the last poll read anything from the BMC",
            None,
        );
        let mut info = FamilyBuf::new(
            "bmc_info",
            "Identity and firmware of the BMC's server (always 1)",
            None,
        );
        let mut power_on = FamilyBuf::new(
            "bmc_power_on",
            "1 if chassis power is on, 0 if off (absent when unknown)",
            None,
        );
        let mut led = FamilyBuf::new(
            "bmc_indicator_led_on",
            "1 if the identify LED is lit or blinking",
            None,
        );
        let mut temp = FamilyBuf::new(
            "bmc_temperature",
            "Temperature sensor reading",
            Some(Unit::Celsius),
        );
        let mut fan_rpm = FamilyBuf::new(
            "bmc_fan_speed",
            "Fan speed",
            Some(Unit::Other("rpm".into())),
        );
        let mut fan_pct = FamilyBuf::new(
            "bmc_fan_speed_percent",
            "Fan speed as percent of maximum",
            None,
        );
        let mut volts = FamilyBuf::new("bmc_voltage", "Voltage sensor reading", Some(Unit::Volts));
        let mut watts = FamilyBuf::new(
            "bmc_power",
            "Power sensor reading",
            Some(Unit::Other("watts".into())),
        );
        let mut amps = FamilyBuf::new("bmc_current", "Current sensor reading", Some(Unit::Amperes));
        let mut health = FamilyBuf::new(
            "bmc_sensor_health",
            "Sensor health: 0 ok, 1 warning, 2 critical, -1 unknown",
            None,
        );
        let mut consumed = FamilyBuf::new(
            "bmc_power_consumed",
            "Power drawn by the whole system",
            Some(Unit::Other("watts".into())),
        );
        let mut psu_health = FamilyBuf::new(
            "bmc_psu_health",
            "PSU health: 0 ok, 1 warning, 2 critical, -1 unknown",
            None,
        );
        let mut psu_in = FamilyBuf::new(
            "bmc_psu_input",
            "PSU input power",
            Some(Unit::Other("watts".into())),
        );
        let mut duration = FamilyBuf::new(
            "bmc_poll_duration",
            "Duration of the BMC's last poll",
            Some(Unit::Seconds),
        );
        let mut polled = FamilyBuf::new(
            "bmc_last_poll_timestamp",
            "When the BMC's last poll started",
            Some(Unit::Seconds),
        );
        let mut success = FamilyBuf::new(
            "bmc_last_success_timestamp",
            "When a poll last read anything from the BMC",
            Some(Unit::Seconds),
        );
        let mut cert = FamilyBuf::new(
            "bmc_tls_certificate_expiry_timestamp",
            "When the certificate the BMC's HTTPS endpoint presented expires",
            Some(Unit::Seconds),
        );
        let mut issue = FamilyBuf::new(
            "bmc_issue",
            "1 for each issue the BMC has now, by type and severity (see docs/issues.md)",
            None,
        );
        let mut read_err = FamilyBuf::new(
            "bmc_read_error",
            "1 per part of the last poll that failed, by part and error kind",
            None,
        );
        let mut last = FamilyBuf::new(
            "bmc_catcher_last_poll_timestamp",
            "When the newest poll of any BMC started",
            Some(Unit::Seconds),
        );

        for entry in self.store.entries() {
            let Some(s) = entry.snapshot else { continue };
            let mac = s.mac.to_string();
            let m = || vec![("mac", mac.clone())];
            let proto = s.protocol.map(|p| p.to_string()).unwrap_or_default();
            up.push(
                vec![
                    ("mac", mac.clone()),
                    ("ip", s.ip.to_string()),
                    ("protocol", proto),
                ],
                f64::from(u8::from(s.up)),
            );
            duration.push(m(), s.duration_ms as f64 / 1000.0);
            polled.push(m(), s.polled_at_ms as f64 / 1000.0);
            if let Some(t) = s.last_success_ms {
                success.push(m(), t as f64 / 1000.0);
            }
            let r = &s.reading;
            if let Some(t) = r.inventory.ok().and_then(|i| i.tls_certificate_expires) {
                cert.push(m(), t as f64);
            }
            if let Field::Ok(inv) = &r.inventory {
                info.push(
                    vec![
                        ("mac", mac.clone()),
                        ("manufacturer", opt(&inv.manufacturer)),
                        ("model", opt(&inv.model)),
                        ("serial", opt(&inv.serial)),
                        ("uuid", opt(&inv.uuid)),
                        ("bios_version", opt(&inv.bios_version)),
                        ("bmc_firmware", opt(&inv.bmc_firmware)),
                    ],
                    1.0,
                );
            }
            match r.power.ok() {
                Some(PowerState::On) => power_on.push(m(), 1.0),
                Some(PowerState::Off) => power_on.push(m(), 0.0),
                _ => {}
            }
            if let Some(l) = r.led.ok() {
                led.push(
                    m(),
                    f64::from(u8::from(matches!(l, Led::On | Led::Blinking))),
                );
            }
            for sensor in r.sensors.ok().into_iter().flatten() {
                let labels = vec![("mac", mac.clone()), ("sensor", sensor.name.clone())];
                if let Some(v) = sensor.reading {
                    let fam = match (sensor.kind, sensor.unit) {
                        (SensorKind::Temperature, _) => Some(&mut temp),
                        (SensorKind::Fan, SensorUnit::Percent) => Some(&mut fan_pct),
                        (SensorKind::Fan, _) => Some(&mut fan_rpm),
                        (SensorKind::Voltage, _) => Some(&mut volts),
                        (SensorKind::Power, _) => Some(&mut watts),
                        (SensorKind::Current, _) => Some(&mut amps),
                        (SensorKind::Other, _) => None,
                    };
                    if let Some(f) = fam {
                        f.push(labels.clone(), v);
                    }
                }
                if sensor.kind != SensorKind::Other {
                    let mut l = labels;
                    l.push(("kind", format!("{:?}", sensor.kind).to_lowercase()));
                    health.push(l, sensor.health.as_gauge() as f64);
                }
            }
            if let Some(w) = r.power_metrics.ok().and_then(|p| p.consumed_watts) {
                consumed.push(m(), w);
            }
            for p in r.psus.ok().into_iter().flatten() {
                let l = vec![("mac", mac.clone()), ("psu", p.name.clone())];
                let mut hl = l.clone();
                hl.push(("state", p.state.clone()));
                psu_health.push(hl, p.health.as_gauge() as f64);
                if let Some(w) = p.input_watts {
                    psu_in.push(l, w);
                }
            }
            for i in &s.issues {
                issue.push(
                    vec![
                        ("mac", mac.clone()),
                        ("type", i.kind.to_string()),
                        ("severity", i.severity.as_str().to_string()),
                    ],
                    1.0,
                );
            }
            for (part, e) in r.errors() {
                read_err.push(
                    vec![
                        ("mac", mac.clone()),
                        ("part", part.to_string()),
                        ("kind", e.kind.to_string()),
                    ],
                    1.0,
                );
            }
        }
        let t = self.stats.last_poll_ms();
        if t > 0 {
            last.push(Vec::new(), t as f64 / 1000.0);
        }
        for f in [
            &up,
            &info,
            &power_on,
            &led,
            &temp,
            &fan_rpm,
            &fan_pct,
            &volts,
            &watts,
            &amps,
            &health,
            &consumed,
            &psu_health,
            &psu_in,
            &duration,
            &polled,
            &success,
            &cert,
            &read_err,
            &issue,
            &last,
        ] {
            f.encode(&mut encoder)?;
        }
        Ok(())
    }
}
