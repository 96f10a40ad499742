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
        catcher: Some("mgmt-1".into()),
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

const PLAIN: Style = Style {
    color: false,
    wide: false,
};
const TTY: Style = Style {
    color: true,
    wide: false,
};
const WIDE: Style = Style {
    color: false,
    wide: true,
};

#[test]
fn status_is_the_table_a_user_sees() {
    let mut rows = vec![
        row(1, PowerState::On, vec![]),
        row(
            2,
            PowerState::Off,
            vec![issue(IssueType::SensorWarning, Severity::Minor)],
        ),
    ];
    rows[1].ip = "fd00:10:20:30::1234".into();
    let plain = status_table(&rows, 61_000, PLAIN);
    assert_eq!(
        plain,
        "\
MAC                IP                   PROTO  POWER  WATTS  TEMP  LED  WHEN  ISSUES
02:00:00:00:00:01  127.0.9.1            ipmi   on         -     -  -     60s       0
02:00:00:00:00:02  fd00:10:20:30::1234  ipmi   off        -     -  -     60s       1
"
    );
    let tty = status_table(&rows, 61_000, TTY);
    assert!(tty.contains("\x1b[32m●\x1b[0m on"), "{tty}");
    assert!(tty.contains("\x1b[31m●\x1b[0m off"), "{tty}");
    // The colour codes take no room: the columns after POWER line up in every row.
    let col = |t: &str, line: usize| {
        let l = t.lines().nth(line).expect("line");
        let visible: String = strip_ansi(l);
        visible.find("60s").expect("WHEN")
    };
    assert_eq!(col(&tty, 1), col(&tty, 2), "{tty}");
    assert_eq!(col(&plain, 1), col(&plain, 2), "{plain}");
    let wide = status_table(&rows, 61_000, WIDE);
    let head = wide.lines().next().unwrap_or("");
    assert!(
        head.starts_with("PARTITION  MAC")
            && head.contains("OWNER")
            && head.contains("VENDOR/MODEL"),
        "{wide}"
    );
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in s.chars() {
        match (esc, c) {
            (false, '\x1b') => esc = true,
            (true, 'm') => esc = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}

#[test]
fn a_sick_psu_turns_the_power_dot_yellow() {
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
    assert_eq!(power_cell(r.snapshot.as_ref()), cell("on", YELLOW));
    assert_eq!(power_cell(None), cell("unknown", WHITE));
}

fn fleet() -> Vec<Row> {
    vec![
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
    ]
}

#[test]
fn issues_is_the_metalctl_layout() {
    let all = issues_table(&fleet(), &IssueFilter::default(), 61_000, PLAIN);
    assert_eq!(
        all,
        "\
MAC                IP         POWER  WHEN  ISSUES
02:00:00:00:00:01  127.0.9.1  on      60s  - unreachable detail (unreachable)
                                           - info-outdated detail (info-outdated)
02:00:00:00:00:02  127.0.9.1  on      60s  - sensor-critical detail (sensor-critical)
"
        .replace(
            "127.0.9.1  on      60s  - sensor",
            "127.0.9.2  on      60s  - sensor"
        )
    );
    let wide = issues_table(&fleet(), &IssueFilter::default(), 61_000, WIDE);
    assert!(
        wide.starts_with("PARTITION  MAC                IP         OWNER  CATCHER  POWER  WHEN  ISSUES\np          02:00:00:00:00:01  127.0.9.1  -      mgmt-1   on"),
        "{wide}"
    );
    let tty = issues_table(&fleet(), &IssueFilter::default(), 61_000, TTY);
    assert!(
        tty.contains("\x1b[31m- sensor-critical detail (sensor-critical)\x1b[0m"),
        "{tty}"
    );
}

#[test]
fn issues_filters_by_type_and_severity() {
    let rows = fleet();
    let omit = IssueFilter {
        omit: vec![IssueType::InfoOutdated],
        ..IssueFilter::default()
    };
    assert!(!issues_table(&rows, &omit, 0, PLAIN).contains("info-outdated"));
    let only = IssueFilter {
        only: vec![IssueType::SensorCritical],
        ..IssueFilter::default()
    };
    assert_eq!(issues_table(&rows, &only, 0, PLAIN).lines().count(), 2);
    let sev = IssueFilter {
        min_severity: Some(Severity::Major),
        ..IssueFilter::default()
    };
    let t = issues_table(&rows, &sev, 0, PLAIN);
    assert!(
        t.contains("(unreachable)")
            && t.contains("(sensor-critical)")
            && !t.contains("(info-outdated)"),
        "{t}"
    );
}

/// A BMC-given detail with escape sequences and line breaks cannot move the cursor or break the
/// layout, and a long one is cut.
#[test]
fn hostile_details_are_cleaned_and_cut() {
    let mut rows = fleet();
    if let Some(s) = rows[0].snapshot.as_mut() {
        s.issues[0].detail = format!("\x1b[2J\x1b[Hgone\r\nfake row{}", "x".repeat(10_000)).into();
    }
    let t = issues_table(&rows, &IssueFilter::default(), 0, PLAIN);
    assert!(!t.contains('\x1b') && !t.contains('\r'), "{t:?}");
    assert_eq!(t.lines().count(), 4, "{t}");
    assert!(t.lines().all(|l| l.chars().count() < 250), "{t}");
    assert!(t.contains("- ?[2J?[Hgone??fake row"), "{t}");
}

#[test]
fn yaml_is_block_style() {
    let v = serde_json::json!({"a": 1, "b": {"c": "x"}, "d": [{"e": true}, 2]});
    assert_eq!(to_yaml(&v), "a: 1\nb:\n  c: \"x\"\nd:\n- e: true\n- 2\n");
}

#[test]
fn issues_print_metal_api_names_when_asked() {
    let rows = fleet();
    let metal = IssueFilter {
        names: crate::model::IssueNames::MetalApi,
        ..IssueFilter::default()
    };
    let t = issues_table(&rows, &metal, 0, PLAIN);
    assert!(
        t.contains("(bmc-info-outdated)") && !t.contains("(info-outdated)"),
        "{t}"
    );
    assert!(
        t.contains("(sensor-critical)"),
        "ours where metal-api has none: {t}"
    );
    let ours = issues_table(&rows, &IssueFilter::default(), 0, PLAIN);
    assert!(ours.contains("(info-outdated)"), "{ours}");
}
