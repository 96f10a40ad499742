//! `inventory MAC`: one BMC's components and firmware, one row per part (`KIND ID NAME HEALTH
//! STATE DETAIL`), after a line naming the server (model, serial, BMC firmware, BIOS); a group the
//! BMC could not give is one line saying why. Text from the BMC is cleaned and cut ([`clean`]);
//! a value the BMC did not give is `-`, never a zero.

use std::fmt::Write as _;

use super::{clean, finish, grid};
use crate::model::{BmcSnapshot, Field, Health, LinkStatus, Part, Profile};

/// The longest id or name shown (the JSON output has them whole).
const MAX_TEXT: usize = 48;

fn health(h: Health) -> &'static str {
    match h {
        Health::Ok => "ok",
        Health::Warning => "warning",
        Health::Critical => "critical",
        Health::Unknown => "unknown",
    }
}

fn gb(bytes: Option<u64>) -> Option<String> {
    bytes.map(|b| format!("{:.0} GB", b as f64 / 1e9))
}

fn joined(parts: impl IntoIterator<Item = Option<String>>) -> String {
    let v: Vec<String> = parts.into_iter().flatten().collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

/// The row cells of a part: kind, id, name, health, state.
fn cells(kind: &str, p: &Part) -> Vec<String> {
    vec![
        kind.into(),
        clean(&p.id, MAX_TEXT),
        clean(&p.name, MAX_TEXT),
        health(p.health).into(),
        p.state.as_deref().map_or("-".into(), |s| clean(s, 24)),
    ]
}

/// The inventory of `s` as text.
pub fn inventory_table(s: &BmcSnapshot) -> String {
    let mut out = String::new();
    let inv = s.reading.inventory.ok();
    let text = |v: Option<&String>| v.map_or("-".to_string(), |t| clean(t, MAX_TEXT));
    let _ = writeln!(
        out,
        "{} {}  model {}  serial {}  BMC firmware {}  BIOS {}",
        s.mac,
        s.ip,
        text(inv.and_then(|i| i.model.as_ref())),
        text(inv.and_then(|i| i.serial.as_ref())),
        text(inv.and_then(|i| i.bmc_firmware.as_ref())),
        text(inv.and_then(|i| i.bios_version.as_ref())),
    );
    let Some(c) = s.reading.components.as_deref() else {
        out.push_str("no components: the BMC reports none, or was not read yet\n");
        return out;
    };
    let mut t = grid(&["KIND", "ID", "NAME", "HEALTH", "STATE", "DETAIL"], &[]);
    let mut failed = Vec::new();
    let mut note = |group: &str, err: Option<&crate::model::FieldError>| {
        if let Some(e) = err {
            failed.push(format!("{group}: {}: {}", e.kind, clean(&e.message, 160)));
        }
    };
    note("storage", c.storage.err());
    if let Field::Ok(st) = &c.storage {
        for ctl in &st.controllers {
            let mut row = cells("controller", &ctl.part);
            row.push(joined([
                ctl.model.as_deref().map(|m| clean(m, MAX_TEXT)),
                ctl.firmware_version
                    .as_deref()
                    .map(|v| format!("firmware {}", clean(v, 32))),
                ctl.battery.map(|b| format!("battery {}", health(b))),
            ]));
            t.add_row(row);
        }
        for d in &st.drives {
            let mut row = cells("drive", &d.part);
            row.push(joined([
                d.media_type.as_deref().map(|m| clean(m, 8)),
                gb(d.capacity_bytes),
                d.life_left_percent.map(|l| format!("life left {l} %")),
                d.failure_predicted
                    .filter(|p| *p)
                    .map(|_| "failure predicted".to_string()),
            ]));
            t.add_row(row);
        }
        for v in &st.volumes {
            let mut row = cells("volume", &v.part);
            row.push(joined([
                v.raid_type.as_deref().map(|r| clean(r, 16)),
                gb(v.capacity_bytes),
            ]));
            t.add_row(row);
        }
    }
    note("memory", c.memory.err());
    for d in c.memory.ok().into_iter().flatten() {
        let mut row = cells("dimm", &d.part);
        row.push(joined([
            d.capacity_mib.map(|m| format!("{m} MiB")),
            d.correctable_errors.map(|n| format!("{n} correctable")),
            d.uncorrectable_errors.map(|n| format!("{n} uncorrectable")),
        ]));
        t.add_row(row);
    }
    note("processors", c.processors.err());
    for p in c.processors.ok().into_iter().flatten() {
        let mut row = cells("cpu", &p.part);
        row.push(joined([p.model.as_deref().map(|m| clean(m, MAX_TEXT))]));
        t.add_row(row);
    }
    note("network", c.network.err());
    for n in c.network.ok().into_iter().flatten() {
        let mut row = cells("nic", &n.part);
        let link = n.link.map(|l| {
            match l {
                LinkStatus::Up => "link up",
                LinkStatus::Down => "link down",
                LinkStatus::NoLink => "no link",
            }
            .to_string()
        });
        row.push(joined([
            link,
            n.speed_mbps.map(|s| format!("{s} Mb/s")),
            n.was_up.then(|| "was up".to_string()),
        ]));
        t.add_row(row);
    }
    note("cooling", c.cooling.err());
    for p in c.cooling.ok().into_iter().flatten() {
        let mut row = cells("cooling", &p.part);
        row.push(format!("{:?}", p.kind).to_lowercase());
        t.add_row(row);
    }
    note("firmware", c.firmware.err());
    for f in c.firmware.ok().into_iter().flatten() {
        t.add_row(vec![
            "firmware".into(),
            clean(&f.id, MAX_TEXT),
            clean(&f.name, MAX_TEXT),
            "-".into(),
            "-".into(),
            joined([
                f.version.as_deref().map(|v| clean(v, 48)),
                f.updateable.filter(|u| *u).map(|_| "updateable".into()),
            ]),
        ]);
    }
    if let Some(i) = c.intrusion {
        t.add_row(vec![
            "intrusion".into(),
            "-".into(),
            "chassis".into(),
            "-".into(),
            "-".into(),
            format!("{i:?}").to_lowercase(),
        ]);
    }
    out.push_str(&finish(&t));
    for f in failed {
        let _ = writeln!(out, "not read: {f}");
    }
    if c.dropped > 0 {
        let _ = writeln!(
            out,
            "{} more parts beyond the per-kind bound, not kept",
            c.dropped
        );
    }
    out
}

/// What a BMC turned out to support, a few lines under its inventory: protocol, when found and
/// under which firmware, the vendor row and its quirks, the Redfish layout or the IPMI findings.
pub fn profile_lines(p: &Profile) -> String {
    let mut out = String::new();
    let text = |v: Option<&String>| v.map_or("-".to_string(), |t| clean(t, MAX_TEXT));
    let yes = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    };
    let ago = (crate::model::now_ms() - p.detected_ms).max(0) / 1000;
    let _ = writeln!(
        out,
        "profile: {}, found {}h{:02}m ago under BMC firmware {}; vendor {}{}",
        p.protocol,
        ago / 3600,
        ago % 3600 / 60,
        text(p.bmc_firmware.as_ref()),
        p.vendor
            .as_deref()
            .map_or("-".into(), |v| clean(v, MAX_TEXT)),
        if p.quirks.is_empty() {
            String::new()
        } else {
            let q: Vec<String> = p.quirks.iter().map(|q| clean(q, MAX_TEXT)).collect();
            format!(" (quirks: {})", q.join(", "))
        },
    );
    if let Some(r) = &p.redfish {
        let path = |v: Option<&String>| v.map_or("-".to_string(), |t| clean(t, 160));
        let collections: Vec<String> = r.collections.iter().map(|c| clean(c, MAX_TEXT)).collect();
        let _ = writeln!(
            out,
            "  redfish: shape {:?}, system {}, chassis {}, manager {}, sessions {}, collections {}",
            r.shape,
            path(Some(&r.system)),
            path(r.chassis.as_ref()),
            path(r.manager.as_ref()),
            yes(r.sessions),
            if collections.is_empty() {
                "-".to_string()
            } else {
                collections.join(", ")
            },
        );
    }
    if let Some(i) = &p.ipmi {
        let _ = writeln!(
            out,
            "  ipmi: cipher suite {}, DCMI power {}, SEL {}",
            i.cipher_suite.map_or("-".to_string(), |c| c.to_string()),
            yes(i.dcmi_power),
            yes(i.sel),
        );
    }
    out
}
