//! `firmware`: the firmware-drift table across the BMCs read (a partition from the API, the fleet
//! from NATS): per model (`MODEL over IPMI` for the BMCs read over IPMI, whose firmware versions
//! are shorter), each BMC firmware and BIOS version and how many BMCs run it; a version
//! other than the one most BMCs of the model run (the rule of `firmware-drift`) is marked `drift`
//! with the BMCs that run it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{Row, clean, finish, grid};
use crate::issues::{running_versions, usual_version};

/// MACs named on a drift row of the table (the JSON output has them all).
const MAX_MACS_SHOWN: usize = 4;

/// One version of one component of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirmwareRow {
    pub model: String,
    /// `bmc` or `bios`.
    pub component: &'static str,
    pub version: String,
    pub bmcs: u32,
    /// Not the version most BMCs of the model run.
    pub drift: bool,
    pub macs: Vec<String>,
}

/// The rows, by model, component and version; BMCs without a model or a version are left out.
pub fn firmware_rows(rows: &[Row]) -> Vec<FirmwareRow> {
    // (model, component) -> version -> MACs
    let mut index: BTreeMap<(String, &'static str), BTreeMap<String, Vec<String>>> =
        BTreeMap::new();
    for r in rows {
        let Some((group, versions)) = r.snapshot.as_ref().and_then(running_versions) else {
            continue;
        };
        for (component, version) in versions {
            index
                .entry((group.to_string(), component))
                .or_default()
                .entry(version.to_string())
                .or_default()
                .push(r.mac.clone());
        }
    }
    let mut out = Vec::new();
    for ((model, component), versions) in index {
        let counts: HashMap<String, u32> = versions
            .iter()
            .map(|(v, macs)| (v.clone(), macs.len() as u32))
            .collect();
        let usual = usual_version(&counts).map(|(v, _)| v.to_string());
        for (version, macs) in versions {
            out.push(FirmwareRow {
                drift: usual.as_deref() != Some(version.as_str()),
                model: model.clone(),
                component,
                bmcs: macs.len() as u32,
                version,
                macs,
            });
        }
    }
    out
}

/// The table of [`firmware_rows`].
pub fn firmware_table(rows: &[FirmwareRow]) -> String {
    let mut t = grid(
        &["MODEL", "COMPONENT", "VERSION", "BMCS", "DRIFT"],
        &["BMCS"],
    );
    for r in rows {
        let drift = if r.drift {
            let mut shown: Vec<&str> = r
                .macs
                .iter()
                .take(MAX_MACS_SHOWN)
                .map(String::as_str)
                .collect();
            if r.macs.len() > MAX_MACS_SHOWN {
                shown.push("…");
            }
            format!("drift: {}", shown.join(" "))
        } else {
            "-".into()
        };
        t.add_row(vec![
            clean(&r.model, 40),
            r.component.to_string(),
            clean(&r.version, 40),
            r.bmcs.to_string(),
            drift,
        ]);
    }
    finish(&t)
}
