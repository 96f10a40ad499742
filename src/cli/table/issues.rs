//! `issues`: the BMCs with at least one issue the filter keeps, one row each, its issues beneath
//! each other as `- detail (type)` lines (metalctl's `machine issues`); `-o wide` adds partition and
//! owner. On a terminal a critical issue's line is red, a major one's yellow.

use super::{
    IssueFilter, RED, RESET, Row, Style, YELLOW, clean, finish, grid, leading_cells, power_text,
    when,
};
use crate::model::Severity;

/// The longest detail shown (the JSON output has it whole).
const MAX_DETAIL: usize = 160;

/// The `issues` table.
pub fn issues_table(rows: &[Row], filter: &IssueFilter, now_ms: i64, style: Style) -> String {
    let head: &[&str] = if style.wide {
        &[
            "PARTITION",
            "MAC",
            "IP",
            "OWNER",
            "CATCHER",
            "POWER",
            "WHEN",
            "ISSUES",
        ]
    } else {
        &["MAC", "IP", "POWER", "WHEN", "ISSUES"]
    };
    let mut t = grid(head, &["WHEN"]);
    for r in rows {
        let Some(s) = &r.snapshot else { continue };
        let lines: Vec<String> = s
            .issues
            .iter()
            .filter(|i| filter.keeps(i.kind, i.severity))
            .map(|i| {
                let line = format!(
                    "- {} ({})",
                    clean(&i.detail, MAX_DETAIL),
                    i.kind.name_in(filter.names)
                );
                match (style.color, i.severity) {
                    (true, Severity::Critical) => format!("{RED}{line}{RESET}"),
                    (true, Severity::Major) => format!("{YELLOW}{line}{RESET}"),
                    _ => line,
                }
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        let mut cells = leading_cells(r, Some(s), style, head.len());
        cells.extend([
            power_text(Some(s), style),
            when(now_ms, Some(s)),
            lines.join("\n"),
        ]);
        t.add_row(cells);
    }
    finish(&t)
}
