//! Issue evaluation: what is wrong with each BMC, computed where the data is, from the store's
//! entries (targets + newest snapshots) and the clock. [`evaluate`] is pure: it builds the fleet
//! indexes once (`rules::Fleet`), runs every rule of `rules::RULES` over each BMC and returns each
//! BMC's issues; [`task::run`] evaluates the fleet periodically and hands the result to the store.
//! The types ([`crate::model::IssueType`]) are documented in docs/issues.md.

mod components;
pub use components::{running_versions, usual as usual_version, version_group};
mod rules;
pub mod task;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::{Issue, MacAddr};
use crate::store::Entry;

/// What `evaluate` needs besides the entries.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub now_ms: i64,
    pub interval: Duration,
    pub outdated_after_intervals: u32,
    /// `bmc-log-critical` clears this long after its entry was read (`[logs] critical-clears-after`).
    pub log_critical_clears_after: Duration,
    /// `drive-wear-out` below this much media life left, percent (`[issues] drive-wear-out-below`).
    pub drive_wear_out_below: u8,
}

/// Every BMC's issues (BMCs without issues are absent), sorted by type.
pub fn evaluate(entries: &[Entry], s: &Settings) -> BTreeMap<MacAddr, Vec<Issue>> {
    let fleet = rules::Fleet::index(entries);
    let mut out: BTreeMap<MacAddr, Vec<Issue>> = BTreeMap::new();
    for e in entries {
        let bmc = rules::Bmc {
            entry: e,
            fleet: &fleet,
            settings: s,
        };
        let mut list: Vec<Issue> = rules::RULES.iter().flat_map(|rule| rule(&bmc)).collect();
        if list.is_empty() {
            continue;
        }
        list.sort_by(|a, b| a.kind.cmp(&b.kind).then(a.detail.cmp(&b.detail)));
        list.dedup_by(|a, b| a.kind == b.kind && a.detail == b.detail);
        out.insert(e.target.mac, list);
    }
    out
}

#[cfg(test)]
mod tests;
