//! The per-BMC gauge families, one entry each: name, help, unit and the samples one snapshot gives.
//! Every family is listed in `docs/metrics.md`. Identity that may change (the leased IP, the protocol)
//! is on `bmc_target_info` only, so a DHCP change moves one info series, not every series of the BMC.

use prometheus_client::registry::Unit;

use super::{Emit, Family, Labels};
use crate::model::{BmcSnapshot, Field, Led, PowerState, SensorKind, Unit as SensorUnit};

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn mac(s: &BmcSnapshot) -> Labels {
    vec![("mac", s.mac.to_string())]
}

/// Sensor readings of one kind (and, for fans, unit). `sensor_id` keeps two sensors of one name
/// (IPMI SDR names repeat) two series.
fn sensor_values(s: &BmcSnapshot, emit: &mut Emit<'_>, want: fn(SensorKind, SensorUnit) -> bool) {
    for sensor in s.reading.sensors.ok().into_iter().flatten() {
        if let Some(v) = sensor.reading
            && want(sensor.kind, sensor.unit)
        {
            emit(
                vec![
                    ("mac", s.mac.to_string()),
                    ("sensor", sensor.name.clone()),
                    ("sensor_id", sensor.id.clone()),
                ],
                v,
            );
        }
    }
}

pub(super) fn families() -> Vec<Family> {
    let watts = || Some(Unit::Other("watts".into()));
    vec![
        Family::new(
            "bmc_up",
            "1 if the last poll read anything from the BMC",
            None,
            |s, emit| emit(mac(s), f64::from(u8::from(s.up))),
        ),
        Family::new(
            "bmc_target_info",
            "Where the BMC is: its address from the leases and the protocol it answered (always 1)",
            None,
            |s, emit| {
                let proto = s.protocol.map(|p| p.to_string()).unwrap_or_default();
                emit(
                    vec![
                        ("mac", s.mac.to_string()),
                        ("ip", s.ip.to_string()),
                        ("protocol", proto),
                    ],
                    1.0,
                )
            },
        ),
        Family::new(
            "bmc_info",
            "Identity and firmware of the BMC's server (always 1)",
            None,
            |s, emit| {
                if let Field::Ok(inv) = &s.reading.inventory {
                    emit(
                        vec![
                            ("mac", s.mac.to_string()),
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
            },
        ),
        Family::new(
            "bmc_power_on",
            "1 if chassis power is on, 0 if off (absent when unknown)",
            None,
            |s, emit| match s.reading.power.ok() {
                Some(PowerState::On) => emit(mac(s), 1.0),
                Some(PowerState::Off) => emit(mac(s), 0.0),
                _ => {}
            },
        ),
        Family::new(
            "bmc_indicator_led_on",
            "1 if the identify LED is lit or blinking",
            None,
            |s, emit| {
                if let Some(l) = s.reading.led.ok() {
                    emit(
                        mac(s),
                        f64::from(u8::from(matches!(l, Led::On | Led::Blinking))),
                    );
                }
            },
        ),
        Family::new(
            "bmc_temperature",
            "Temperature sensor reading",
            Some(Unit::Celsius),
            |s, emit| sensor_values(s, emit, |k, _| k == SensorKind::Temperature),
        ),
        Family::new(
            "bmc_fan_speed",
            "Fan speed",
            Some(Unit::Other("rpm".into())),
            |s, emit| {
                sensor_values(s, emit, |k, u| {
                    k == SensorKind::Fan && u != SensorUnit::Percent
                })
            },
        ),
        Family::new(
            "bmc_fan_speed_percent",
            "Fan speed as percent of maximum",
            None,
            |s, emit| {
                sensor_values(s, emit, |k, u| {
                    k == SensorKind::Fan && u == SensorUnit::Percent
                })
            },
        ),
        Family::new(
            "bmc_voltage",
            "Voltage sensor reading",
            Some(Unit::Volts),
            |s, emit| sensor_values(s, emit, |k, _| k == SensorKind::Voltage),
        ),
        Family::new("bmc_power", "Power sensor reading", watts(), |s, emit| {
            sensor_values(s, emit, |k, _| k == SensorKind::Power)
        }),
        Family::new(
            "bmc_current",
            "Current sensor reading",
            Some(Unit::Amperes),
            |s, emit| sensor_values(s, emit, |k, _| k == SensorKind::Current),
        ),
        Family::new(
            "bmc_energy",
            "Energy used since the BMC's counter was last reset (a Redfish energy sensor)",
            Some(Unit::Joules),
            |s, emit| {
                // The model keeps kWh, as BMCs report it; Prometheus wants base units.
                let mut joules = |labels, kwh: f64| emit(labels, kwh * 3.6e6);
                sensor_values(s, &mut joules, |k, _| k == SensorKind::Energy)
            },
        ),
        Family::new(
            "bmc_frequency",
            "AC input frequency",
            Some(Unit::Other("hertz".into())),
            |s, emit| sensor_values(s, emit, |k, _| k == SensorKind::Frequency),
        ),
        Family::new(
            "bmc_sensor_percent",
            "A percentage that is not a fan speed: a battery's state of health, humidity",
            None,
            |s, emit| sensor_values(s, emit, |k, _| k == SensorKind::Percent),
        ),
        Family::new(
            "bmc_sensor_health",
            "Sensor health: 0 ok, 1 warning, 2 critical, -1 unknown",
            None,
            |s, emit| {
                for sensor in s.reading.sensors.ok().into_iter().flatten() {
                    if sensor.kind != SensorKind::Other {
                        emit(
                            vec![
                                ("mac", s.mac.to_string()),
                                ("sensor", sensor.name.clone()),
                                ("sensor_id", sensor.id.clone()),
                                ("kind", format!("{:?}", sensor.kind).to_lowercase()),
                            ],
                            sensor.health.as_gauge() as f64,
                        );
                    }
                }
            },
        ),
        Family::new(
            "bmc_power_consumed",
            "Power drawn by the whole system",
            watts(),
            |s, emit| {
                if let Some(w) = s.reading.power_metrics.ok().and_then(|p| p.consumed_watts) {
                    emit(mac(s), w);
                }
            },
        ),
        Family::new(
            "bmc_psu_health",
            "PSU health: 0 ok, 1 warning, 2 critical, -1 unknown",
            None,
            |s, emit| {
                for p in s.reading.psus.ok().into_iter().flatten() {
                    emit(
                        vec![
                            ("mac", s.mac.to_string()),
                            ("psu", p.name.clone()),
                            ("psu_id", p.id.clone()),
                            ("state", p.state.clone()),
                        ],
                        p.health.as_gauge() as f64,
                    );
                }
            },
        ),
        Family::new("bmc_psu_input", "PSU input power", watts(), |s, emit| {
            for p in s.reading.psus.ok().into_iter().flatten() {
                if let Some(w) = p.input_watts {
                    emit(
                        vec![
                            ("mac", s.mac.to_string()),
                            ("psu", p.name.clone()),
                            ("psu_id", p.id.clone()),
                        ],
                        w,
                    );
                }
            }
        }),
        Family::new(
            "bmc_poll_duration",
            "Duration of the BMC's last poll",
            Some(Unit::Seconds),
            |s, emit| emit(mac(s), s.duration_ms as f64 / 1000.0),
        ),
        Family::new(
            "bmc_last_poll_timestamp",
            "When the BMC's last poll started",
            Some(Unit::Seconds),
            |s, emit| emit(mac(s), s.polled_at_ms as f64 / 1000.0),
        ),
        Family::new(
            "bmc_last_success_timestamp",
            "When a poll last read anything from the BMC",
            Some(Unit::Seconds),
            |s, emit| {
                if let Some(t) = s.last_success_ms {
                    emit(mac(s), t as f64 / 1000.0);
                }
            },
        ),
        Family::new(
            "bmc_tls_certificate_expiry_timestamp",
            "When the certificate the BMC's HTTPS endpoint presented expires",
            Some(Unit::Seconds),
            |s, emit| {
                let inv = s.reading.inventory.ok();
                if let Some(t) = inv.and_then(|i| i.tls_certificate_expires) {
                    emit(mac(s), t as f64);
                }
            },
        ),
        Family::new(
            "bmc_tls_refused_certificate_expiry_timestamp",
            "When the certificate the BMC presented and the TLS policy refused (a changed pin) expires",
            Some(Unit::Seconds),
            |s, emit| {
                if let Some(t) = s.reading.refused_certificate_expires {
                    emit(mac(s), t as f64);
                }
            },
        ),
        Family::new(
            "bmc_read_error",
            "1 per part of the last poll that failed, by part and error kind (part \"all\" when nothing was read)",
            None,
            |s, emit| {
                if !s.up {
                    // Nothing was read: one series saying why, not one per part (an unreachable
                    // fleet of 200,000 BMCs would otherwise be 1.2 million series).
                    if let Some(e) = s.reading.first_error() {
                        emit(
                            vec![
                                ("mac", s.mac.to_string()),
                                ("part", "all".to_string()),
                                ("kind", e.kind.to_string()),
                            ],
                            1.0,
                        );
                    }
                    return;
                }
                for (part, e) in s.reading.errors() {
                    emit(
                        vec![
                            ("mac", s.mac.to_string()),
                            ("part", part.to_string()),
                            ("kind", e.kind.to_string()),
                        ],
                        1.0,
                    );
                }
            },
        ),
        Family::new(
            "bmc_parts_dropped",
            "Sensors or PSUs the BMC reported beyond the per-BMC limit at the last poll: counted, not kept",
            None,
            |s, emit| {
                let d = s.reading.dropped;
                for (part, n) in [("sensors", d.sensors), ("psus", d.psus)] {
                    if n > 0 {
                        emit(
                            vec![("mac", s.mac.to_string()), ("part", part.to_string())],
                            n as f64,
                        );
                    }
                }
            },
        ),
        Family::new(
            "bmc_issue",
            "1 for each issue the BMC has now, by type and severity (see docs/issues.md)",
            None,
            |s, emit| {
                for i in &s.issues {
                    emit(
                        vec![
                            ("mac", s.mac.to_string()),
                            ("type", i.kind.to_string()),
                            ("severity", i.severity.as_str().to_string()),
                        ],
                        1.0,
                    );
                }
            },
        ),
    ]
}
