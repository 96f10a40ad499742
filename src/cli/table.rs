//! The operator views, rendered from snapshots (pure; `cli::fleet` fetches them): `status`, one row
//! per BMC with a power symbol (⏻ on, ⏾ off; green on, red when a PSU is unhealthy, white when
//! unknown), watts, hottest temperature, LED, age of the last successful poll and issue count; and
//! `issues`, metalctl's layout with one BMC per row and its issues beneath each other. Colour and
//! symbols only when asked (a TTY without `NO_COLOR`); otherwise plain, stable columns.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{BmcSnapshot, Health, Led, PowerState, SensorKind};
use crate::model::{IssueType, Severity};

/// One BMC as the views see it (from the JSON API or the NATS KV).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Row {
    pub partition: String,
    pub mac: String,
    pub ip: String,
    pub snapshot: Option<BmcSnapshot>,
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

/// How a row shows its power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerCell {
    /// `on`, `off` or `unknown`.
    pub word: &'static str,
    pub symbol: &'static str,
    /// The ANSI colour (red when a PSU is in warning or critical health).
    pub colour: &'static str,
}

const fn cell(word: &'static str, symbol: &'static str, colour: &'static str) -> PowerCell {
    PowerCell {
        word,
        symbol,
        colour,
    }
}

/// The row's power as a word, a symbol and a colour.
pub fn power_cell(s: Option<&BmcSnapshot>) -> PowerCell {
    let Some(s) = s else {
        return cell("unknown", "⏻", WHITE);
    };
    let psu_bad = s.reading.psus.ok().is_some_and(|p| {
        p.iter()
            .any(|p| matches!(p.health, Health::Warning | Health::Critical))
    });
    match (s.up, s.reading.power.ok()) {
        (true, Some(PowerState::On | PowerState::PoweringOn)) => {
            cell("on", "⏻", if psu_bad { RED } else { GREEN })
        }
        (true, Some(PowerState::Off | PowerState::PoweringOff)) => {
            cell("off", "⏾", if psu_bad { RED } else { WHITE })
        }
        _ => cell("unknown", "⏻", if psu_bad { RED } else { WHITE }),
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

fn age(now_ms: i64, t: Option<i64>) -> String {
    match t {
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

/// The `status` table.
pub fn status_table(rows: &[Row], now_ms: i64, style: Style) -> String {
    let mut out = String::new();
    let head = if style.wide {
        format!(
            "{:<10} {:<17} {:<15} {:<8} {:<28} {:<7} {:>6} {:>7} {:<5} {:>7} {:>6}\n",
            "PARTITION",
            "MAC",
            "IP",
            "PROTO",
            "VENDOR/MODEL",
            "POWER",
            "WATTS",
            "TEMP",
            "LED",
            "LAST OK",
            "ISSUES"
        )
    } else {
        format!(
            "{:<17} {:<15} {:<8} {:<7} {:>6} {:>7} {:<5} {:>7} {:>6}\n",
            "MAC", "IP", "PROTO", "POWER", "WATTS", "TEMP", "LED", "LAST OK", "ISSUES"
        )
    };
    out.push_str(&head);
    for r in rows {
        let s = r.snapshot.as_ref();
        let PowerCell {
            word,
            symbol,
            colour,
        } = power_cell(s);
        let power = if style.color {
            format!("{colour}{symbol}{RESET} {:<5}", word)
        } else {
            format!("{word:<7}")
        };
        let proto = s
            .and_then(|s| s.protocol)
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into());
        let w = s
            .and_then(watts)
            .map(|w| format!("{w:.0}"))
            .unwrap_or_else(|| "-".into());
        let t = s
            .and_then(hottest)
            .map(|t| format!("{t:.1}"))
            .unwrap_or_else(|| "-".into());
        let l = s.map(led).unwrap_or("-");
        let ok = age(now_ms, s.and_then(|s| s.last_success_ms));
        let n = s.map(|s| s.issues.len()).unwrap_or(0);
        let issues = if style.color && n > 0 {
            format!("{YELLOW}{n:>6}{RESET}")
        } else {
            format!("{n:>6}")
        };
        if style.wide {
            let model = s
                .and_then(|s| s.reading.inventory.ok())
                .map(|i| {
                    format!(
                        "{} {}",
                        i.manufacturer.clone().unwrap_or_default(),
                        i.model.clone().unwrap_or_default()
                    )
                    .trim()
                    .to_string()
                })
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "{:<10} {:<17} {:<15} {:<8} {:<28} {power} {w:>6} {t:>7} {l:<5} {ok:>7} {issues}",
                r.partition,
                r.mac,
                r.ip,
                proto,
                truncate(&model, 28)
            );
        } else {
            let _ = writeln!(
                out,
                "{:<17} {:<15} {:<8} {power} {w:>6} {t:>7} {l:<5} {ok:>7} {issues}",
                r.mac, r.ip, proto
            );
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(std::iter::once('…')).collect()
    }
}

/// Which issues `issues` shows.
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    pub only: Vec<IssueType>,
    pub omit: Vec<IssueType>,
    pub min_severity: Option<Severity>,
}

impl IssueFilter {
    pub fn keeps(&self, kind: IssueType, severity: Severity) -> bool {
        (self.only.is_empty() || self.only.contains(&kind))
            && !self.omit.contains(&kind)
            && self.min_severity.is_none_or(|m| severity >= m)
    }
}

/// The `issues` view: BMCs with at least one kept issue, each issue on its own line.
pub fn issues_table(rows: &[Row], filter: &IssueFilter, style: Style) -> String {
    let mut out = format!("{:<17} {:<15} {}\n", "MAC", "IP", "ISSUES");
    for r in rows {
        let Some(s) = &r.snapshot else { continue };
        let kept: Vec<_> = s
            .issues
            .iter()
            .filter(|i| filter.keeps(i.kind, i.severity))
            .collect();
        for (n, i) in kept.iter().enumerate() {
            let (mac, ip) = if n == 0 {
                (r.mac.as_str(), r.ip.as_str())
            } else {
                ("", "")
            };
            let sev = match (style.color, i.severity) {
                (true, Severity::Critical) => format!("{RED}critical{RESET}"),
                (true, Severity::Major) => format!("{YELLOW}major{RESET}"),
                (_, s) => s.as_str().to_string(),
            };
            let _ = writeln!(out, "{mac:<17} {ip:<15} {} ({sev}): {}", i.kind, i.detail);
        }
    }
    out
}

/// A minimal YAML rendering of JSON (`-o yaml`): block style, strings quoted as JSON strings.
pub fn to_yaml(v: &serde_json::Value) -> String {
    fn go(v: &serde_json::Value, indent: usize, out: &mut String) {
        use serde_json::Value as V;
        let pad = " ".repeat(indent);
        match v {
            V::Object(m) if !m.is_empty() => {
                for (k, x) in m {
                    match x {
                        V::Object(o) if !o.is_empty() => {
                            let _ = writeln!(out, "{pad}{k}:");
                            go(x, indent + 2, out);
                        }
                        V::Array(a) if !a.is_empty() => {
                            let _ = writeln!(out, "{pad}{k}:");
                            go(x, indent, out);
                        }
                        _ => {
                            let _ = writeln!(out, "{pad}{k}: {}", scalar(x));
                        }
                    }
                }
            }
            V::Array(a) if !a.is_empty() => {
                for x in a {
                    let mut inner = String::new();
                    go(x, indent + 2, &mut inner);
                    let body = inner.trim_start();
                    if matches!(x, V::Object(o) if !o.is_empty())
                        || matches!(x, V::Array(a) if !a.is_empty())
                    {
                        let _ = write!(out, "{pad}- {body}");
                    } else {
                        let _ = writeln!(out, "{pad}- {}", scalar(x));
                    }
                }
            }
            x => {
                let _ = writeln!(out, "{pad}{}", scalar(x));
            }
        }
    }
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Object(_) => "{}".into(),
            serde_json::Value::Array(_) => "[]".into(),
            other => other.to_string(),
        }
    }
    let mut out = String::new();
    go(v, 0, &mut out);
    out
}

#[cfg(test)]
mod tests;
