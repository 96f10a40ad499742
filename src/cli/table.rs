//! The operator views, rendered from snapshots (pure; `cli::fleet` fetches them), in the layout of
//! metalctl's `machine issues`: a `POWER` column with a `●` (green on, red off, white unknown,
//! yellow when a PSU is unhealthy; in fonts every terminal has) and the word, a `WHEN` column (age of
//! the last successful poll), and for `issues` one `- detail (type)` line per issue. `status`
//! ([`status_table`]), `issues` ([`issues_table`]) and `demo` share these columns and words; `-o wide`
//! adds `PARTITION`, `OWNER` (the hostname the BMC's lease names) and `CATCHER` (the member of
//! the partition that polls it, with `--nats`). Columns are laid out by
//! comfy-table, which measures display width (IPv6 addresses, wide glyphs, colour codes). Colour
//! and the dot only when asked (a TTY without `NO_COLOR`); otherwise plain, stable columns. Text a
//! BMC gave (details, names) is cut and stripped of control characters before it reaches a
//! terminal.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};
use serde::Serialize;

use crate::model::{BmcSnapshot, Health, IssueType, Led, PowerState, SensorKind, Severity};

mod firmware;
mod inventory;
mod issues;
mod status;
mod yaml;

pub use firmware::{FirmwareRow, firmware_rows, firmware_table};
pub use inventory::{inventory_table, profile_lines};
pub use issues::issues_table;
pub use status::status_table;
pub use yaml::to_yaml;

/// One BMC as the views see it (from the JSON API or the NATS KV).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Row {
    pub partition: String,
    pub mac: String,
    pub ip: String,
    pub snapshot: Option<BmcSnapshot>,
    /// The catcher (member id) that owns the BMC, when read from NATS with its members bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catcher: Option<String>,
}

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    pub wide: bool,
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const WHITE: &str = "\x1b[37m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// The power symbol: U+25CF BLACK CIRCLE, in every monospace font (⏻/⏾ are not).
pub const DOT: &str = "●";

/// How a row shows its power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerCell {
    /// `on`, `off` or `unknown`.
    pub word: &'static str,
    /// The ANSI colour of the dot (yellow when a PSU is in warning or critical health).
    pub colour: &'static str,
}

const fn cell(word: &'static str, colour: &'static str) -> PowerCell {
    PowerCell { word, colour }
}

/// The row's power as a word and a colour.
pub fn power_cell(s: Option<&BmcSnapshot>) -> PowerCell {
    let Some(s) = s else {
        return cell("unknown", WHITE);
    };
    let psu_bad = s.reading.psus.ok().is_some_and(|p| {
        p.iter()
            .any(|p| matches!(p.health, Health::Warning | Health::Critical))
    });
    let (word, colour) = match (s.up, s.reading.power.ok()) {
        (true, Some(PowerState::On | PowerState::PoweringOn)) => ("on", GREEN),
        (true, Some(PowerState::Off | PowerState::PoweringOff)) => ("off", RED),
        _ => ("unknown", WHITE),
    };
    cell(word, if psu_bad { YELLOW } else { colour })
}

/// The `POWER` cell: `● on` (coloured dot) on a terminal, `on` otherwise.
fn power_text(s: Option<&BmcSnapshot>, style: Style) -> String {
    let PowerCell { word, colour } = power_cell(s);
    if style.color {
        format!("{colour}{DOT}{RESET} {word}")
    } else {
        word.to_string()
    }
}

pub fn watts(s: &BmcSnapshot) -> Option<f64> {
    s.reading.power_metrics.ok().and_then(|p| p.consumed_watts)
}

pub fn hottest(s: &BmcSnapshot) -> Option<f64> {
    s.reading
        .sensors
        .ok()?
        .iter()
        .filter(|x| x.kind == SensorKind::Temperature)
        .filter_map(|x| x.reading)
        .reduce(f64::max)
}

/// The `WHEN` cell: how long ago the last successful poll was (`never`).
fn when(now_ms: i64, s: Option<&BmcSnapshot>) -> String {
    match s.and_then(|s| s.last_success_ms) {
        None => "never".into(),
        Some(t) => {
            let s = ((now_ms - t) / 1000).max(0);
            match s {
                0..=119 => format!("{s}s"),
                120..=7199 => format!("{}m", s / 60),
                _ => format!("{}h", s / 3600),
            }
        }
    }
}

fn led(s: &BmcSnapshot) -> &'static str {
    match s.reading.led.ok() {
        Some(Led::On) => "on",
        Some(Led::Blinking) => "blink",
        Some(Led::Off) => "off",
        _ => "-",
    }
}

/// The `OWNER` cell of `-o wide`: the hostname of the BMC's lease.
fn owner(s: Option<&BmcSnapshot>) -> String {
    s.and_then(|s| s.hostname.as_deref())
        .map(|h| clean(h, 40))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "-".into())
}

/// The cells every table starts a row with: `MAC IP`, and with `-o wide` `PARTITION` before them
/// and `OWNER CATCHER` after them.
fn leading_cells(r: &Row, s: Option<&BmcSnapshot>, style: Style, capacity: usize) -> Vec<String> {
    let mut cells = Vec::with_capacity(capacity);
    if style.wide {
        cells.push(clean(&r.partition, 40));
    }
    cells.push(r.mac.clone());
    cells.push(r.ip.clone());
    if style.wide {
        cells.push(owner(s));
        cells.push(
            r.catcher
                .as_deref()
                .map_or_else(|| "-".into(), |c| clean(c, 64)),
        );
    }
    cells
}

/// Text from a BMC or a lease made safe for a terminal: control characters (escape sequences, line
/// breaks) become `?`, and it is cut to `max` characters.
pub fn clean(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.pop();
        out.push('…');
    }
    out
}

/// A borderless table with `header`; `right` names the columns aligned right (numbers).
pub(super) fn grid(header: &[&str], right: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| Cell::new(*h)));
    for (i, h) in header.iter().enumerate() {
        if let Some(c) = t.column_mut(i) {
            c.set_padding((0, 2));
            if right.contains(h) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    t
}

/// The table's text, each line without trailing blanks and ending in a newline.
pub(super) fn finish(t: &Table) -> String {
    t.lines().map(|l| l.trim_end().to_string() + "\n").collect()
}

/// Which issues `issues` shows.
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    pub only: Vec<IssueType>,
    pub omit: Vec<IssueType>,
    pub min_severity: Option<Severity>,
    /// And whose names the kept issues are shown with.
    pub names: crate::model::IssueNames,
}

impl IssueFilter {
    pub fn keeps(&self, kind: IssueType, severity: Severity) -> bool {
        (self.only.is_empty() || self.only.contains(&kind))
            && !self.omit.contains(&kind)
            && self.min_severity.is_none_or(|m| severity >= m)
    }
}

#[cfg(test)]
mod tests;
