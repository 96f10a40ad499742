//! The rules, one small function each, in one table ([`RULES`]): each looks at one BMC (its entry,
//! the fleet indexes and the settings) and returns the issues it finds. A new issue type is a new
//! function and a new row.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::model::{
    ErrorKind, Health, Inventory, Issue, IssueType, MacAddr, PowerState, Severity, TlsRefusal,
};
use crate::store::Entry;

use super::{Settings, components};

/// What the rules know about the whole fleet, built once per evaluation.
pub(super) struct Fleet {
    by_ip: HashMap<IpAddr, Vec<MacAddr>>,
    /// Lower-cased UUID -> the BMCs reporting it, with their serial numbers.
    by_uuid: HashMap<String, Vec<(MacAddr, Option<String>)>>,
    /// Per model, the BMC firmware and BIOS versions run (`firmware-drift`).
    pub(super) versions: super::components::Versions,
}

impl Fleet {
    pub(super) fn index(entries: &[Entry]) -> Fleet {
        let mut fleet = Fleet {
            by_ip: HashMap::new(),
            by_uuid: HashMap::new(),
            versions: super::components::Versions::index(entries),
        };
        for e in entries {
            fleet
                .by_ip
                .entry(e.target.ip)
                .or_default()
                .push(e.target.mac);
            if let Some(inv) = e.snapshot.as_ref().and_then(|s| s.reading.inventory.ok())
                && let Some(uuid) = inv.uuid.as_ref().filter(|u| !u.is_empty())
            {
                fleet
                    .by_uuid
                    .entry(uuid.to_ascii_lowercase())
                    .or_default()
                    .push((e.target.mac, inv.serial.clone()));
            }
        }
        fleet
    }
}

/// One BMC as a rule sees it.
pub(super) struct Bmc<'a> {
    pub entry: &'a Entry,
    pub fleet: &'a Fleet,
    pub settings: &'a Settings,
}

impl<'a> Bmc<'a> {
    /// The inventory the BMC's last poll read.
    pub(super) fn inventory(&self) -> Option<&'a Inventory> {
        self.entry
            .snapshot
            .as_ref()
            .and_then(|s| s.reading.inventory.ok())
            .map(|b| &**b)
    }
}

type Rule = fn(&Bmc<'_>) -> Vec<Issue>;

/// Every rule, in no particular order (the caller sorts).
pub(super) const RULES: &[Rule] = &[
    shared_ip,
    shared_uuid,
    not_answering,
    info_outdated,
    lease_expired_but_answers,
    power_state_unknown,
    power_state_disagreement,
    powersupply_failure,
    sensors,
    too_many_sensors,
    bmc_log_critical,
    sel_almost_full,
    components::drive_failed,
    components::drive_predicted_failure,
    components::drive_wear_out,
    components::raid_degraded,
    components::memory_degraded,
    components::cpu_failed,
    components::nic_link_down,
    components::chassis_intrusion,
    components::firmware_drift,
];

pub(super) fn issue(kind: IssueType, severity: Severity, detail: impl Into<Arc<str>>) -> Issue {
    Issue {
        kind,
        severity,
        detail: detail.into(),
    }
}

/// `no-distinct-ip`: another BMC holds a lease for the same address.
fn shared_ip(b: &Bmc<'_>) -> Vec<Issue> {
    let t = &b.entry.target;
    let others: Vec<String> = b.fleet.by_ip[&t.ip]
        .iter()
        .filter(|m| **m != t.mac)
        .map(|m| m.to_string())
        .collect();
    if others.is_empty() {
        return Vec::new();
    }
    vec![issue(
        IssueType::NoDistinctIp,
        Severity::Major,
        format!("{} is also leased to {}", t.ip, others.join(", ")),
    )]
}

/// `no-distinct-ip` (the same board answers for several MACs) or `duplicate-uuid`.
fn shared_uuid(b: &Bmc<'_>) -> Vec<Issue> {
    let mac = b.entry.target.mac;
    let Some(inv) = b.inventory() else {
        return Vec::new();
    };
    let Some(uuid) = inv.uuid.as_ref().filter(|u| !u.is_empty()) else {
        return Vec::new();
    };
    let others: Vec<&(MacAddr, Option<String>)> = b.fleet.by_uuid[&uuid.to_ascii_lowercase()]
        .iter()
        .filter(|(m, _)| *m != mac)
        .collect();
    if others.is_empty() {
        return Vec::new();
    }
    let same_board = others
        .iter()
        .any(|(_, serial)| serial.is_some() && *serial == inv.serial);
    let names: Vec<String> = others.iter().map(|(m, _)| m.to_string()).collect();
    vec![if same_board {
        issue(
            IssueType::NoDistinctIp,
            Severity::Major,
            format!(
                "the same BMC (UUID {uuid}, serial {}) answers for {}",
                inv.serial.clone().unwrap_or_default(),
                names.join(", ")
            ),
        )
    } else {
        issue(
            IssueType::DuplicateUuid,
            Severity::Major,
            format!("UUID {uuid} is also reported by {}", names.join(", ")),
        )
    }]
}

/// `tls-certificate-changed`, `tls-untrusted`, `auth-failed` or `unreachable`, from the first
/// failed part.
fn not_answering(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(snap) = &b.entry.snapshot else {
        return Vec::new();
    };
    let first = snap.reading.first_error();
    if let Some(e) = first.filter(|e| e.kind == ErrorKind::Tls) {
        return vec![match snap.reading.tls_refusal {
            Some(TlsRefusal::Untrusted) => {
                issue(IssueType::TlsUntrusted, Severity::Major, e.message.clone())
            }
            Some(TlsRefusal::Changed) | None => issue(
                IssueType::TlsCertificateChanged,
                Severity::Critical,
                e.message.clone(),
            ),
        }];
    }
    if snap.up {
        return Vec::new();
    }
    vec![match first {
        Some(e) if e.kind == ErrorKind::Auth => {
            issue(IssueType::AuthFailed, Severity::Major, e.message.clone())
        }
        // The failed read's own text (it names the BMC and why), shared rather than copied: an
        // unreachable fleet is evaluated every refresh.
        Some(e) => issue(IssueType::Unreachable, Severity::Major, e.message.clone()),
        None => issue(
            IssueType::Unreachable,
            Severity::Major,
            "no part could be read",
        ),
    }]
}

/// `info-outdated`: no successful poll for `outdated-after-intervals` intervals.
fn info_outdated(b: &Bmc<'_>) -> Vec<Issue> {
    let s = b.settings;
    let Some(since) = b.entry.snapshot.as_ref().and_then(|x| x.last_success_ms) else {
        return Vec::new();
    };
    let outdated_ms = s.interval.as_millis() as i64 * i64::from(s.outdated_after_intervals.max(1));
    if s.now_ms - since <= outdated_ms {
        return Vec::new();
    }
    vec![issue(
        IssueType::InfoOutdated,
        Severity::Minor,
        format!("no successful poll for {} s", (s.now_ms - since) / 1000),
    )]
}

/// `lease-expired-but-answers`: the BMC answered after its lease ended.
fn lease_expired_but_answers(b: &Bmc<'_>) -> Vec<Issue> {
    let t = &b.entry.target;
    match &b.entry.snapshot {
        Some(snap)
            if snap.up
                && t.lease_ends
                    .is_some_and(|end| end * 1000 < snap.polled_at_ms) =>
        {
            vec![issue(
                IssueType::LeaseExpiredButAnswers,
                Severity::Minor,
                format!("its lease for {} ended, yet it answered", t.ip),
            )]
        }
        _ => Vec::new(),
    }
}

/// `power-state-unknown`: the BMC answers but not with a power state.
fn power_state_unknown(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(snap) = b.entry.snapshot.as_ref().filter(|s| s.up) else {
        return Vec::new();
    };
    let power = &snap.reading.power;
    if matches!(
        power.ok(),
        Some(PowerState::On | PowerState::Off | PowerState::PoweringOn | PowerState::PoweringOff)
    ) {
        return Vec::new();
    }
    vec![issue(
        IssueType::PowerStateUnknown,
        Severity::Minor,
        power
            .err()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "the BMC reports power as unknown".into()),
    )]
}

/// `power-state-disagreement`: the BMC's two protocols, asked one right after the other, gave
/// two power states.
fn power_state_disagreement(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(c) = b
        .entry
        .snapshot
        .as_ref()
        .and_then(|s| s.reading.power_check)
        .filter(|c| c.disagrees())
    else {
        return Vec::new();
    };
    vec![issue(
        IssueType::PowerStateDisagreement,
        Severity::Major,
        format!(
            "{} reports power {:?}, {} reports {:?}",
            c.polled_protocol, c.polled, c.other_protocol, c.other
        ),
    )]
}

/// How a detail names a sensor or PSU: its name and, where it differs, its id, so two parts of
/// one name (IPMI SDR names repeat) stay two issues.
fn part(name: &str, id: &str) -> String {
    if id.is_empty() || id == name {
        name.to_string()
    } else {
        format!("{name} [{id}]")
    }
}

/// `powersupply-failure`: a PSU in critical (critical) or warning (major) health.
fn powersupply_failure(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(snap) = &b.entry.snapshot else {
        return Vec::new();
    };
    snap.reading
        .psus
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|p| match p.health {
            Health::Critical => Some(issue(
                IssueType::PowersupplyFailure,
                Severity::Critical,
                format!("{} is critical ({})", part(&p.name, &p.id), p.state),
            )),
            Health::Warning => Some(issue(
                IssueType::PowersupplyFailure,
                Severity::Major,
                format!("{} is in warning ({})", part(&p.name, &p.id), p.state),
            )),
            _ => None,
        })
        .collect()
}

/// `sensor-critical` and `sensor-warning`: one issue each, naming every sensor in that state.
fn sensors(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(snap) = &b.entry.snapshot else {
        return Vec::new();
    };
    let sensors = snap
        .reading
        .sensors
        .ok()
        .map(|v| v.as_slice())
        .unwrap_or_default();
    let describe = |h: Health| -> Vec<String> {
        sensors
            .iter()
            .filter(|x| x.health == h)
            .map(|x| match x.reading {
                Some(v) => format!("{} {v}", part(&x.name, &x.id)),
                None => part(&x.name, &x.id),
            })
            .collect()
    };
    let mut out = Vec::new();
    let critical = describe(Health::Critical);
    if !critical.is_empty() {
        out.push(issue(
            IssueType::SensorCritical,
            Severity::Critical,
            critical.join(", "),
        ));
    }
    let warning = describe(Health::Warning);
    if !warning.is_empty() {
        out.push(issue(
            IssueType::SensorWarning,
            Severity::Minor,
            warning.join(", "),
        ));
    }
    out
}

/// `too-many-sensors`: the last poll kept only `[poll] max-sensors-per-bmc` sensors or
/// `max-psus-per-bmc` PSUs of more the BMC reported.
fn too_many_sensors(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(snap) = &b.entry.snapshot else {
        return Vec::new();
    };
    let r = &snap.reading;
    let kept = |n: Option<usize>| n.unwrap_or(0);
    let mut parts = Vec::new();
    if r.dropped.sensors > 0 {
        parts.push(format!(
            "{} sensors beyond the {} kept ([poll] max-sensors-per-bmc)",
            r.dropped.sensors,
            kept(r.sensors.ok().map(Vec::len))
        ));
    }
    if r.dropped.psus > 0 {
        parts.push(format!(
            "{} PSUs beyond the {} kept ([poll] max-psus-per-bmc)",
            r.dropped.psus,
            kept(r.psus.ok().map(Vec::len))
        ));
    }
    if parts.is_empty() {
        return Vec::new();
    }
    vec![issue(
        IssueType::TooManySensors,
        Severity::Major,
        format!("the BMC reports {}", parts.join(" and ")),
    )]
}

/// `bmc-log-critical`: a critical entry arrived in the BMC's own log, not yet acknowledged and
/// read less than `[logs] critical-clears-after` ago. The detail is the entry's sensor and message.
fn bmc_log_critical(b: &Bmc<'_>) -> Vec<Issue> {
    let Some(c) = b
        .entry
        .snapshot
        .as_ref()
        .and_then(|s| s.reading.logs.as_ref())
        .and_then(|l| l.last_critical.as_ref())
    else {
        return Vec::new();
    };
    let age = b.settings.now_ms.saturating_sub(c.seen_ms);
    if age >= b.settings.log_critical_clears_after.as_millis() as i64 {
        return Vec::new();
    }
    vec![issue(
        IssueType::BmcLogCritical,
        Severity::Major,
        c.message.clone(),
    )]
}

/// `sel-almost-full`: the SEL is more than 90 % full; new events will soon be lost (or overwrite
/// the oldest).
fn sel_almost_full(b: &Bmc<'_>) -> Vec<Issue> {
    let logs = b
        .entry
        .snapshot
        .as_ref()
        .and_then(|s| s.reading.logs.as_ref());
    match logs.and_then(|l| l.sel_used_ratio.map(|r| (r, l.overflow))) {
        Some((r, overflow)) if r > 0.9 || overflow => vec![issue(
            IssueType::SelAlmostFull,
            Severity::Minor,
            format!(
                "the SEL is {:.0} % full{}",
                r * 100.0,
                if overflow { " and overflowed" } else { "" }
            ),
        )],
        _ => Vec::new(),
    }
}
