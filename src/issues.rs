//! Issue evaluation: what is wrong with each BMC, computed where the data is, from the store's
//! entries (targets + newest snapshots) and the clock. Pure: `evaluate` takes the entries and the
//! settings and returns each BMC's issues; the store keeps them, the API, /metrics and NATS show
//! them. Every type is documented in docs/issues.md.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use crate::model::{ErrorKind, Health, Issue, IssueType, MacAddr, PowerState, Severity};
use crate::store::Entry;

/// What `evaluate` needs besides the entries.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub now_ms: i64,
    pub interval: Duration,
    pub outdated_after_intervals: u32,
}

fn issue(kind: IssueType, severity: Severity, detail: String) -> Issue {
    Issue {
        kind,
        severity,
        detail,
    }
}

/// Every BMC's issues (BMCs without issues are absent), sorted by type.
pub fn evaluate(entries: &[Entry], s: &Settings) -> BTreeMap<MacAddr, Vec<Issue>> {
    let mut out: BTreeMap<MacAddr, Vec<Issue>> = BTreeMap::new();
    let mut by_ip: HashMap<IpAddr, Vec<MacAddr>> = HashMap::new();
    let mut by_uuid: HashMap<String, Vec<(MacAddr, Option<String>)>> = HashMap::new();
    for e in entries {
        by_ip.entry(e.target.ip).or_default().push(e.target.mac);
        if let Some(inv) = e.snapshot.as_ref().and_then(|s| s.reading.inventory.ok())
            && let Some(uuid) = inv.uuid.as_ref().filter(|u| !u.is_empty())
        {
            by_uuid
                .entry(uuid.to_ascii_lowercase())
                .or_default()
                .push((e.target.mac, inv.serial.clone()));
        }
    }
    for e in entries {
        let mac = e.target.mac;
        let list = out.entry(mac).or_default();
        let others_on_ip: Vec<String> = by_ip[&e.target.ip]
            .iter()
            .filter(|m| **m != mac)
            .map(|m| m.to_string())
            .collect();
        if !others_on_ip.is_empty() {
            list.push(issue(
                IssueType::NoDistinctIp,
                Severity::Major,
                format!(
                    "{} is also leased to {}",
                    e.target.ip,
                    others_on_ip.join(", ")
                ),
            ));
        }
        let Some(snap) = &e.snapshot else { continue };
        let r = &snap.reading;
        if let Some(inv) = r.inventory.ok()
            && let Some(uuid) = inv.uuid.as_ref().filter(|u| !u.is_empty())
        {
            let same = &by_uuid[&uuid.to_ascii_lowercase()];
            let others: Vec<&(MacAddr, Option<String>)> =
                same.iter().filter(|(m, _)| *m != mac).collect();
            if !others.is_empty() {
                let same_board = others
                    .iter()
                    .any(|(_, serial)| serial.is_some() && *serial == inv.serial);
                let names: Vec<String> = others.iter().map(|(m, _)| m.to_string()).collect();
                list.push(if same_board {
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
                });
            }
        }
        let first_err = r.first_error();
        let cert_changed =
            first_err.filter(|e| e.message.contains(crate::hal::redfish::pin::CHANGED));
        if let Some(e) = cert_changed {
            list.push(issue(
                IssueType::TlsCertificateChanged,
                Severity::Critical,
                e.message.clone(),
            ));
        } else if !snap.up {
            match first_err.map(|e| e.kind) {
                Some(ErrorKind::Auth) => list.push(issue(
                    IssueType::AuthFailed,
                    Severity::Major,
                    first_err.map(|e| e.message.clone()).unwrap_or_default(),
                )),
                _ => list.push(issue(
                    IssueType::Unreachable,
                    Severity::Major,
                    first_err
                        .map(|e| format!("{}: {}", e.kind, e.message))
                        .unwrap_or_else(|| "no part could be read".into()),
                )),
            }
        }
        let outdated_ms =
            s.interval.as_millis() as i64 * i64::from(s.outdated_after_intervals.max(1));
        let since = snap.last_success_ms;
        let stale = match since {
            Some(t) => s.now_ms - t > outdated_ms,
            None => false,
        };
        if stale {
            let age = (s.now_ms - since.unwrap_or(0)) / 1000;
            list.push(issue(
                IssueType::InfoOutdated,
                Severity::Minor,
                format!("no successful poll for {age} s"),
            ));
        }
        if snap.up
            && e.target
                .lease_ends
                .is_some_and(|end| end * 1000 < snap.polled_at_ms)
        {
            list.push(issue(
                IssueType::LeaseExpiredButAnswers,
                Severity::Minor,
                format!("its lease for {} ended, yet it answered", e.target.ip),
            ));
        }
        if snap.up
            && !matches!(
                r.power.ok(),
                Some(
                    PowerState::On
                        | PowerState::Off
                        | PowerState::PoweringOn
                        | PowerState::PoweringOff
                )
            )
        {
            list.push(issue(
                IssueType::PowerStateUnknown,
                Severity::Minor,
                r.power
                    .err()
                    .map(|e| e.message.clone())
                    .unwrap_or_else(|| "the BMC reports power as unknown".into()),
            ));
        }
        for p in r.psus.ok().into_iter().flatten() {
            match p.health {
                Health::Critical => list.push(issue(
                    IssueType::PowersupplyFailure,
                    Severity::Critical,
                    format!("{} is critical ({})", p.name, p.state),
                )),
                Health::Warning => list.push(issue(
                    IssueType::PowersupplyFailure,
                    Severity::Major,
                    format!("{} is in warning ({})", p.name, p.state),
                )),
                _ => {}
            }
        }
        let sensors = r.sensors.ok().map(|v| v.as_slice()).unwrap_or_default();
        let describe = |h: Health| -> Vec<String> {
            sensors
                .iter()
                .filter(|x| x.health == h)
                .map(|x| match x.reading {
                    Some(v) => format!("{} {v}", x.name),
                    None => x.name.clone(),
                })
                .collect()
        };
        let critical = describe(Health::Critical);
        if !critical.is_empty() {
            list.push(issue(
                IssueType::SensorCritical,
                Severity::Critical,
                critical.join(", "),
            ));
        }
        let warning = describe(Health::Warning);
        if !warning.is_empty() {
            list.push(issue(
                IssueType::SensorWarning,
                Severity::Minor,
                warning.join(", "),
            ));
        }
    }
    out.retain(|_, v| !v.is_empty());
    for v in out.values_mut() {
        v.sort_by(|a, b| a.kind.cmp(&b.kind).then(a.detail.cmp(&b.detail)));
        v.dedup_by(|a, b| a.kind == b.kind && a.detail == b.detail);
    }
    out
}

#[cfg(test)]
mod tests;
