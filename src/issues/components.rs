//! The component rules (rows of [`super::rules::RULES`]): failed and failing drives, worn-out
//! drives, degraded RAID volumes, degraded memory, failed CPUs, NIC ports that lost their link,
//! an opened chassis, and firmware drift across the partition (with its fleet index,
//! [`Versions`]). Absent parts (an empty slot) never raise anything.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::model::{
    BmcSnapshot, Components, Health, Intrusion, Issue, IssueType, LinkStatus, Part, Protocol,
    Severity,
};
use crate::store::Entry;

use super::rules::{Bmc, issue};

fn components<'a>(b: &Bmc<'a>) -> Option<&'a Components> {
    b.entry.snapshot.as_ref()?.reading.components.as_deref()
}

fn present(p: &Part) -> bool {
    !p.absent()
}

/// How a detail names a part: its name and id (names repeat: "Drive Sample" four times).
fn named(p: &Part) -> String {
    if p.id == p.name {
        p.name.clone()
    } else {
        format!("{} [{}]", p.name, p.id)
    }
}

/// `drive-failed`: a drive in critical health.
pub(super) fn drive_failed(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(c) = components(b) else {
        return Vec::new();
    };
    c.drives()
        .iter()
        .filter(|d| present(&d.part) && d.part.health == Health::Critical)
        .map(|d| {
            issue(
                IssueType::DriveFailed,
                Severity::Critical,
                format!("{} is critical", named(&d.part)),
            )
        })
        .collect()
}

/// `drive-predicted-failure`: the drive predicts its failure (`FailurePredicted`) or is in
/// warning health.
pub(super) fn drive_predicted_failure(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(c) = components(b) else {
        return Vec::new();
    };
    c.drives()
        .iter()
        .filter(|d| present(&d.part) && d.part.health != Health::Critical)
        .filter_map(|d| {
            let why = if d.failure_predicted == Some(true) {
                "predicts its failure"
            } else if d.part.health == Health::Warning {
                "is in warning"
            } else {
                return None;
            };
            Some(issue(
                IssueType::DrivePredictedFailure,
                Severity::Major,
                format!("{} {why}", named(&d.part)),
            ))
        })
        .collect()
}

/// `drive-wear-out`: media life left below `[issues] drive-wear-out-below` percent.
pub(super) fn drive_wear_out(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(c) = components(b) else {
        return Vec::new();
    };
    let below = f64::from(b.settings.drive_wear_out_below);
    c.drives()
        .iter()
        .filter(|d| present(&d.part))
        .filter_map(|d| {
            let left = d.life_left_percent.filter(|l| *l < below)?;
            Some(issue(
                IssueType::DriveWearOut,
                Severity::Minor,
                format!("{} has {left} % of its life left", named(&d.part)),
            ))
        })
        .collect()
}

/// `raid-degraded`: a volume degraded or failed.
pub(super) fn raid_degraded(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(c) = components(b) else {
        return Vec::new();
    };
    c.volumes()
        .iter()
        .filter(|v| v.degraded())
        .map(|v| {
            issue(
                IssueType::RaidDegraded,
                Severity::Critical,
                format!(
                    "{} ({}) is {}",
                    named(&v.part),
                    v.raid_type.as_deref().unwrap_or("RAID"),
                    v.part
                        .state
                        .as_deref()
                        .filter(|s| *s != "Enabled")
                        .unwrap_or(health_word(v.part.health))
                ),
            )
        })
        .collect()
}

fn health_word(h: Health) -> &'static str {
    match h {
        Health::Ok => "ok",
        Health::Warning => "in warning",
        Health::Critical => "critical",
        Health::Unknown => "of unknown health",
    }
}

/// `memory-degraded`: a DIMM in warning or critical health, or with uncorrectable errors.
pub(super) fn memory_degraded(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(dimms) = components(b).and_then(|c| c.memory.ok()) else {
        return Vec::new();
    };
    dimms
        .iter()
        .filter(|d| present(&d.part))
        .filter_map(|d| {
            let uncorrectable = d.uncorrectable_errors.filter(|n| *n > 0);
            let severity = match (d.part.health, uncorrectable) {
                (Health::Critical, _) | (_, Some(_)) => Severity::Critical,
                (Health::Warning, None) => Severity::Major,
                _ => return None,
            };
            let errors = uncorrectable
                .map(|n| format!(", {n} uncorrectable errors"))
                .unwrap_or_default();
            Some(issue(
                IssueType::MemoryDegraded,
                severity,
                format!(
                    "{} is {}{errors}",
                    named(&d.part),
                    health_word(d.part.health)
                ),
            ))
        })
        .collect()
}

/// `cpu-failed`: a processor in critical (critical) or warning (major) health.
pub(super) fn cpu_failed(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(cpus) = components(b).and_then(|c| c.processors.ok()) else {
        return Vec::new();
    };
    cpus.iter()
        .filter(|c| present(&c.part))
        .filter_map(|c| {
            let severity = match c.part.health {
                Health::Critical => Severity::Critical,
                Health::Warning => Severity::Major,
                _ => return None,
            };
            Some(issue(
                IssueType::CpuFailed,
                severity,
                format!("{} is {}", named(&c.part), health_word(c.part.health)),
            ))
        })
        .collect()
}

/// `nic-link-down`: a port that was up at an earlier poll has no link now (ports never up, the
/// unused ones, stay quiet).
pub(super) fn nic_link_down(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(ports) = components(b).and_then(|c| c.network.ok()) else {
        return Vec::new();
    };
    ports
        .iter()
        .filter(|p| p.was_up && matches!(p.link, Some(LinkStatus::Down | LinkStatus::NoLink)))
        .map(|p| {
            issue(
                IssueType::NicLinkDown,
                Severity::Major,
                format!("{} lost its link", named(&p.part)),
            )
        })
        .collect()
}

/// `chassis-intrusion`: the chassis intrusion sensor says the case was opened or tampered with.
pub(super) fn chassis_intrusion(b: &Bmc<'_>) -> Vec<Issue> {
    let detail = match components(b).and_then(|c| c.intrusion) {
        Some(Intrusion::Intruded) => "the chassis was opened",
        Some(Intrusion::Tampered) => "the chassis reports tampering",
        _ => return Vec::new(),
    };
    vec![issue(IssueType::ChassisIntrusion, Severity::Major, detail)]
}

/// Per model, how many BMCs run each BMC firmware and BIOS version: built once per evaluation.
#[derive(Default)]
pub(super) struct Versions {
    bmc: HashMap<String, HashMap<String, u32>>,
    bios: HashMap<String, HashMap<String, u32>>,
}

fn count(map: &mut HashMap<String, HashMap<String, u32>>, model: &str, version: &str) {
    let per = match map.get_mut(model) {
        Some(per) => per,
        None => map.entry(model.to_string()).or_default(),
    };
    match per.get_mut(version) {
        Some(n) => *n += 1,
        None => {
            per.insert(version.to_string(), 1);
        }
    }
}

/// The version most BMCs of the model run (the greater version on a tie) and how many run it;
/// `bmc-catcher firmware` marks the others the same way.
pub fn usual(per: &HashMap<String, u32>) -> Option<(&str, u32)> {
    per.iter()
        .max_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)))
        .map(|(v, n)| (v.as_str(), *n))
}

/// The group a BMC's versions are compared within: its model, read over one protocol. IPMI's Get
/// Device ID gives the BMC firmware as `major.minor` where Redfish gives the full version
/// (`2.10` against `2.10.36`), so a model polled both ways is two groups (`R650`, `R650 over
/// IPMI`), not one with a false drift. `bmc-catcher firmware` groups the same way.
pub fn version_group(model: &str, protocol: Option<Protocol>) -> Cow<'_, str> {
    match protocol {
        Some(Protocol::Ipmi) => Cow::Owned(format!("{model} over IPMI")),
        _ => Cow::Borrowed(model),
    }
}

/// What a snapshot says its BMC runs: its [`version_group`] and the BMC firmware (`bmc`) and BIOS
/// (`bios`) versions it names; `None` without an inventory or a model. `firmware-drift` and
/// `bmc-catcher firmware` count the same versions this way.
pub fn running_versions(
    snap: &BmcSnapshot,
) -> Option<(Cow<'_, str>, impl Iterator<Item = (&'static str, &str)>)> {
    let inv = snap.reading.inventory.ok()?;
    let group = version_group(inv.model.as_deref()?, snap.protocol);
    let versions = [("bmc", &inv.bmc_firmware), ("bios", &inv.bios_version)]
        .into_iter()
        .filter_map(|(component, v)| Some((component, v.as_deref()?)));
    Some((group, versions))
}

impl Versions {
    pub(super) fn index(entries: &[Entry]) -> Versions {
        let mut v = Versions::default();
        for e in entries {
            let Some((group, versions)) = e.snapshot.as_deref().and_then(running_versions) else {
                continue;
            };
            for (component, version) in versions {
                let map = if component == "bmc" {
                    &mut v.bmc
                } else {
                    &mut v.bios
                };
                count(map, &group, version);
            }
        }
        v
    }
}

/// `firmware-drift`: the BMC runs another BMC firmware or BIOS version than most BMCs of its
/// model (read over the same protocol, [`version_group`]) in the partition.
pub(super) fn firmware_drift(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(inv) = b.inventory() else {
        return Vec::new();
    };
    let Some(model) = inv.model.as_deref() else {
        return Vec::new();
    };
    let protocol = b.entry.snapshot.as_ref().and_then(|s| s.protocol);
    let model = &*version_group(model, protocol);
    let mut drift = Vec::new();
    for (what, mine, index) in [
        ("BMC firmware", &inv.bmc_firmware, &b.fleet.versions.bmc),
        ("BIOS", &inv.bios_version, &b.fleet.versions.bios),
    ] {
        let (Some(mine), Some(per)) = (mine, index.get(model)) else {
            continue;
        };
        if let Some((usual, n)) = usual(per)
            && usual != mine
        {
            drift.push(format!("{what} {mine}, where {n} {model} run {usual}"));
        }
    }
    if drift.is_empty() {
        return Vec::new();
    }
    vec![issue(
        IssueType::FirmwareDrift,
        Severity::Minor,
        drift.join("; "),
    )]
}

#[cfg(test)]
mod tests;
