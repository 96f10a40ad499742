//! The component metrics, rendered from each snapshot's components at scrape time:
//! `bmc_drive_health{mac,drive}`, `bmc_drive_life_left_ratio{mac,drive}`,
//! `bmc_volume_health{mac,volume}`, `bmc_dimm_health{mac,dimm}`,
//! `bmc_memory_errors_total{mac,dimm,type}`, `bmc_cpu_health{mac,cpu}`,
//! `bmc_nic_link_up{mac,port}`, `bmc_firmware_info{mac,component,version}` and
//! `bmc_components_unexported{mac}`.
//!
//! A per-BMC label budget (`[metrics] max-components-per-bmc`) bounds the series one BMC adds:
//! its parts are admitted in a fixed order (drives, volumes, DIMMs, CPUs, NIC ports, firmware)
//! until the budget is spent; the rest are counted in `bmc_components_unexported`. Absent parts
//! (empty slots) are not exported and cost nothing.

use std::sync::Arc;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::model::{BmcSnapshot, Components, LinkStatus, Part};

/// The parts of one BMC that fit its budget.
struct Admitted<'a> {
    mac: String,
    drives: Vec<&'a crate::model::Drive>,
    volumes: Vec<&'a crate::model::Volume>,
    dimms: Vec<&'a crate::model::Dimm>,
    cpus: Vec<&'a crate::model::Cpu>,
    nics: Vec<&'a crate::model::NicPort>,
    firmware: Vec<&'a crate::model::Firmware>,
    unexported: usize,
}

/// Takes the present parts of `all` while `left` lasts; counts the rest in `over`.
fn take<'a, T>(
    all: Option<&'a Vec<T>>,
    part: impl Fn(&T) -> Option<&Part>,
    left: &mut usize,
    over: &mut usize,
) -> Vec<&'a T> {
    let mut out = Vec::new();
    for x in all.into_iter().flatten() {
        if part(x).is_some_and(Part::absent) {
            continue;
        }
        if *left == 0 {
            *over += 1;
            continue;
        }
        *left -= 1;
        out.push(x);
    }
    out
}

fn admit(mac: String, c: &Components, budget: usize) -> Admitted<'_> {
    let (mut left, mut over) = (budget, 0);
    let storage = c.storage.ok();
    let drives = take(
        storage.map(|s| &s.drives),
        |d| Some(&d.part),
        &mut left,
        &mut over,
    );
    let volumes = take(
        storage.map(|s| &s.volumes),
        |v| Some(&v.part),
        &mut left,
        &mut over,
    );
    let dimms = take(c.memory.ok(), |d| Some(&d.part), &mut left, &mut over);
    let cpus = take(c.processors.ok(), |x| Some(&x.part), &mut left, &mut over);
    let nics = take(c.network.ok(), |n| Some(&n.part), &mut left, &mut over);
    let firmware = take(c.firmware.ok(), |_| None, &mut left, &mut over);
    Admitted {
        mac,
        drives,
        volumes,
        dimms,
        cpus,
        nics,
        firmware,
        unexported: over,
    }
}

/// One family: a descriptor, then `samples` of every BMC (labels after `mac`, value); not
/// written when no BMC has a sample.
fn family<'a>(
    encoder: &mut DescriptorEncoder,
    bmcs: &'a [Admitted<'a>],
    (name, help, kind): (&str, &str, MetricType),
    samples: impl Fn(&'a Admitted<'a>, &mut dyn FnMut(Vec<(&'static str, String)>, f64)),
) -> Result<(), std::fmt::Error> {
    let mut any = false;
    for b in bmcs {
        samples(b, &mut |_, _| any = true);
    }
    if !any {
        return Ok(());
    }
    let mut m = encoder.encode_descriptor(name, help, None, kind)?;
    let mut result = Ok(());
    for b in bmcs {
        samples(b, &mut |extra, v| {
            if result.is_err() {
                return;
            }
            let mut labels = vec![("mac", b.mac.clone())];
            labels.extend(extra);
            result = m.encode_family(&labels).and_then(|e| match kind {
                MetricType::Counter => ConstCounter::new(v as u64).encode(e),
                _ => ConstGauge::new(v).encode(e),
            });
        });
        result?;
    }
    Ok(())
}

/// Writes every component family for the BMCs in `snaps`, at most `budget` parts per BMC.
pub(super) fn encode(
    snaps: &[Arc<BmcSnapshot>],
    encoder: &mut DescriptorEncoder,
    budget: usize,
) -> Result<(), std::fmt::Error> {
    let bmcs: Vec<Admitted<'_>> = snaps
        .iter()
        .filter_map(|s| {
            let c = s.reading.components.as_deref()?;
            Some(admit(s.mac.to_string(), c, budget))
        })
        .collect();
    if bmcs.is_empty() {
        return Ok(());
    }
    let gauge = MetricType::Gauge;
    family(
        encoder,
        &bmcs,
        (
            "bmc_drive_health",
            "Health of a drive: 0 ok, 1 warning, 2 critical, -1 unknown",
            gauge,
        ),
        |b, emit| {
            for d in &b.drives {
                emit(
                    vec![("drive", d.part.id.clone())],
                    d.part.health.as_gauge() as f64,
                );
            }
        },
    )?;
    family(
        encoder,
        &bmcs,
        (
            "bmc_drive_life_left_ratio",
            "Media life left of a drive (0-1), where the drive reports it",
            gauge,
        ),
        |b, emit| {
            for d in &b.drives {
                if let Some(p) = d.life_left_percent {
                    emit(vec![("drive", d.part.id.clone())], p / 100.0);
                }
            }
        },
    )?;
    family(
        encoder,
        &bmcs,
        (
            "bmc_volume_health",
            "Health of a RAID volume: 0 ok, 1 warning/degraded, 2 critical, -1 unknown",
            gauge,
        ),
        |b, emit| {
            for v in &b.volumes {
                let h = if v.degraded() {
                    v.part.health.max(crate::model::Health::Warning)
                } else {
                    v.part.health
                };
                emit(vec![("volume", v.part.id.clone())], h.as_gauge() as f64);
            }
        },
    )?;
    family(
        encoder,
        &bmcs,
        (
            "bmc_dimm_health",
            "Health of a DIMM: 0 ok, 1 warning, 2 critical, -1 unknown",
            gauge,
        ),
        |b, emit| {
            for d in &b.dimms {
                emit(
                    vec![("dimm", d.part.id.clone())],
                    d.part.health.as_gauge() as f64,
                );
            }
        },
    )?;
    family(
        encoder,
        &bmcs,
        (
            "bmc_memory_errors",
            "ECC errors of a DIMM as the BMC counts them, by type (correctable, uncorrectable)",
            MetricType::Counter,
        ),
        |b, emit| {
            for d in &b.dimms {
                for (kind, n) in [
                    ("correctable", d.correctable_errors),
                    ("uncorrectable", d.uncorrectable_errors),
                ] {
                    if let Some(n) = n {
                        emit(
                            vec![("dimm", d.part.id.clone()), ("type", kind.to_string())],
                            n as f64,
                        );
                    }
                }
            }
        },
    )?;
    family(
        encoder,
        &bmcs,
        (
            "bmc_cpu_health",
            "Health of a processor: 0 ok, 1 warning, 2 critical, -1 unknown",
            gauge,
        ),
        |b, emit| {
            for c in &b.cpus {
                emit(
                    vec![("cpu", c.part.id.clone())],
                    c.part.health.as_gauge() as f64,
                );
            }
        },
    )?;
    family(
        encoder,
        &bmcs,
        (
            "bmc_nic_link_up",
            "1 if the NIC port has a link, 0 if not; absent when the BMC does not say",
            gauge,
        ),
        |b, emit| {
            for n in &b.nics {
                if let Some(l) = n.link {
                    emit(
                        vec![("port", n.part.id.clone())],
                        f64::from(u8::from(l == LinkStatus::Up)),
                    );
                }
            }
        },
    )?;
    family(
        encoder,
        &bmcs,
        (
            "bmc_firmware_info",
            "A firmware entry of the BMC's inventory and its version (always 1)",
            gauge,
        ),
        |b, emit| {
            for f in &b.firmware {
                emit(
                    vec![
                        ("component", f.id.clone()),
                        ("version", f.version.clone().unwrap_or_default()),
                    ],
                    1.0,
                );
            }
        },
    )?;
    family(
        encoder,
        &bmcs,
        (
            "bmc_components_unexported",
            "Parts of the BMC beyond [metrics] max-components-per-bmc: in the snapshot, not exported",
            gauge,
        ),
        |b, emit| {
            if b.unexported > 0 {
                emit(Vec::new(), b.unexported as f64);
            }
        },
    )
}

#[cfg(test)]
mod tests;
