//! The views' layout: symbols and colour only when asked, stable plain columns otherwise, filters.

use super::*;
use crate::model::Issue;
use crate::model::{Field, Reading, SCHEMA_VERSION};

fn row(i: u8, power: PowerState, issues: Vec<Issue>) -> Row {
    let mac: crate::model::MacAddr = format!("02:00:00:00:00:0{i}").parse().expect("mac");
    let mut reading = Reading::all_failed(crate::model::ErrorKind::Unsupported, "x");
    reading.power = Field::Ok(power);
    reading.inventory = Field::Ok(Box::default());
    Row {
        partition: "p".into(),
        mac: mac.to_string(),
        ip: format!("127.0.9.{i}"),
        snapshot: Some(BmcSnapshot {
            schema_version: SCHEMA_VERSION,
            partition: "p".into(),
            mac,
            ip: format!("127.0.9.{i}").parse().expect("ip"),
            hostname: None,
            protocol: Some(crate::model::Protocol::Ipmi),
            polled_at_ms: 1000,
            duration_ms: 5,
            last_success_ms: Some(1000),
            up: true,
            reading,
            issues,
        }),
    }
}

fn issue(kind: IssueType, severity: Severity) -> Issue {
    Issue {
        kind,
        severity,
        detail: format!("{kind} detail").into(),
    }
}

#[test]
fn status_uses_symbols_and_colour_only_when_asked() {
    let rows = vec![
        row(1, PowerState::On, vec![]),
        row(
            2,
            PowerState::Off,
            vec![issue(IssueType::SensorWarning, Severity::Minor)],
        ),
    ];
    let plain = status_table(
        &rows,
        61_000,
        Style {
            color: false,
            wide: false,
        },
    );
    assert!(
        !plain.contains('\x1b') && !plain.contains('⏻') && !plain.contains('⏾'),
        "{plain}"
    );
    assert!(
        plain.contains("02:00:00:00:00:01 127.0.9.1       ipmi     on"),
        "{plain}"
    );
    assert!(plain.contains(" 60s "), "age of the last success: {plain}");
    let tty = status_table(
        &rows,
        61_000,
        Style {
            color: true,
            wide: false,
        },
    );
    assert!(tty.contains("\x1b[32m⏻\x1b[0m on"), "{tty}");
    assert!(tty.contains("⏾\x1b[0m off"), "{tty}");
    let wide = status_table(
        &rows,
        61_000,
        Style {
            color: false,
            wide: true,
        },
    );
    assert!(wide.starts_with("PARTITION"), "{wide}");
}

#[test]
fn a_sick_psu_turns_the_power_symbol_red() {
    let mut r = row(1, PowerState::On, vec![]);
    if let Some(s) = r.snapshot.as_mut() {
        s.reading.psus = Field::Ok(vec![crate::model::Psu {
            id: "psu-1".into(),
            name: "PSU1".into(),
            health: Health::Critical,
            state: "Enabled".into(),
            input_watts: None,
            output_watts: None,
            capacity_watts: None,
        }]);
    }
    assert_eq!(power_cell(r.snapshot.as_ref()), cell("on", "⏻", RED));
}

#[test]
fn issues_view_lists_each_issue_beneath_its_bmc_and_filters() {
    let rows = vec![
        row(
            1,
            PowerState::On,
            vec![
                issue(IssueType::Unreachable, Severity::Major),
                issue(IssueType::InfoOutdated, Severity::Minor),
            ],
        ),
        row(
            2,
            PowerState::On,
            vec![issue(IssueType::SensorCritical, Severity::Critical)],
        ),
        row(3, PowerState::On, vec![]),
    ];
    let all = issues_table(
        &rows,
        &IssueFilter::default(),
        Style {
            color: false,
            wide: false,
        },
    );
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 4, "{all}");
    assert!(
        lines[1].starts_with("02:00:00:00:00:01 127.0.9.1       unreachable (major)"),
        "{all}"
    );
    assert!(
        lines[2].starts_with("                                  info-outdated (minor)"),
        "{all}"
    );
    let omit = IssueFilter {
        omit: vec![IssueType::InfoOutdated],
        ..IssueFilter::default()
    };
    assert!(
        !issues_table(
            &rows,
            &omit,
            Style {
                color: false,
                wide: false
            }
        )
        .contains("info-outdated")
    );
    let only = IssueFilter {
        only: vec![IssueType::SensorCritical],
        ..IssueFilter::default()
    };
    assert_eq!(
        issues_table(
            &rows,
            &only,
            Style {
                color: false,
                wide: false
            }
        )
        .lines()
        .count(),
        2
    );
    let sev = IssueFilter {
        min_severity: Some(Severity::Major),
        ..IssueFilter::default()
    };
    let t = issues_table(
        &rows,
        &sev,
        Style {
            color: false,
            wide: false,
        },
    );
    assert!(
        t.contains("unreachable") && t.contains("sensor-critical") && !t.contains("info-outdated"),
        "{t}"
    );
}

#[test]
fn yaml_is_block_style() {
    let v = serde_json::json!({"a": 1, "b": {"c": "x"}, "d": [{"e": true}, 2]});
    assert_eq!(to_yaml(&v), "a: 1\nb:\n  c: \"x\"\nd:\n- e: true\n- 2\n");
}
