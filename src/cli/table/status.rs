//! `status`: one row per BMC: address, protocol, power, watts, hottest temperature, LED, `WHEN` (the
//! last successful poll) and the number of issues; `-o wide` adds partition, owner and vendor/model.

use super::{
    RESET, Row, Style, YELLOW, clean, finish, grid, hottest, leading_cells, led, power_text, watts,
    when,
};

/// The `status` table (also the `demo` table).
pub fn status_table(rows: &[Row], now_ms: i64, style: Style) -> String {
    let head: &[&str] = if style.wide {
        &[
            "PARTITION",
            "MAC",
            "IP",
            "OWNER",
            "CATCHER",
            "PROTO",
            "VENDOR/MODEL",
            "POWER",
            "WATTS",
            "TEMP",
            "LED",
            "WHEN",
            "ISSUES",
        ]
    } else {
        &[
            "MAC", "IP", "PROTO", "POWER", "WATTS", "TEMP", "LED", "WHEN", "ISSUES",
        ]
    };
    let mut t = grid(head, &["WATTS", "TEMP", "WHEN", "ISSUES"]);
    for r in rows {
        let s = r.snapshot.as_ref();
        let proto = s
            .and_then(|s| s.protocol)
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into());
        let w = s
            .and_then(watts)
            .map(|w| format!("{w:.0}"))
            .unwrap_or_else(|| "-".into());
        let temp = s
            .and_then(hottest)
            .map(|t| format!("{t:.1}"))
            .unwrap_or_else(|| "-".into());
        let n = s.map(|s| s.issues.len()).unwrap_or(0);
        let issues = if style.color && n > 0 {
            format!("{YELLOW}{n}{RESET}")
        } else {
            n.to_string()
        };
        let mut cells = leading_cells(r, s, style, head.len());
        cells.push(proto);
        if style.wide {
            cells.push(model(s));
        }
        cells.extend([
            power_text(s, style),
            w,
            temp,
            s.map(led).unwrap_or("-").to_string(),
            when(now_ms, s),
            issues,
        ]);
        t.add_row(cells);
    }
    finish(&t)
}

fn model(s: Option<&crate::model::BmcSnapshot>) -> String {
    s.and_then(|s| s.reading.inventory.ok())
        .map(|i| {
            let m = format!(
                "{} {}",
                i.manufacturer.as_deref().unwrap_or_default(),
                i.model.as_deref().unwrap_or_default()
            );
            clean(m.trim(), 28)
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "-".into())
}
