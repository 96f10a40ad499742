//! The operator assets under `deploy/`: the Prometheus rules pass `promtool check rules` and their
//! unit tests (`promtool test rules`), every alert is tested firing and not firing and carries a
//! severity, a summary and a description; the Grafana dashboard is a well-formed model whose queries
//! parse as PromQL; and every metric name the rules, the tests and the dashboard use is documented
//! in `docs/metrics.md`. Self-contained: needs only `promtool` (Debian `prometheus`) on PATH.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use serde_json::Value;

pub(crate) const ALERTS: &str = "deploy/prometheus/alerts.yml";
pub(crate) const RULE_TESTS: &str = "deploy/prometheus/tests.yml";
const DASHBOARD: &str = "deploy/grafana/bmc-catcher.json";
const METRICS_DOC: &str = "docs/metrics.md";

/// The alerts operators were promised (the rules may have more).
const REQUIRED_ALERTS: &[&str] = &[
    "BmcDown",
    "BmcInfoOutdated",
    "BmcPowerSupplyFailure",
    "BmcPowerSupplyWarning",
    "BmcTemperatureCritical",
    "BmcIssueCritical",
    "BmcCatcherNotPolling",
    "BmcCatcherNatsDisconnected",
    "BmcCatcherNatsDroppingEvents",
    "BmcDriveFailed",
    "BmcDriveWearOut",
    "BmcRaidDegraded",
    "BmcDimmFailed",
    "BmcMemoryUncorrectableErrors",
    "BmcNicLinkDown",
    "BmcFirmwareDrift",
];

pub(crate) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

// ---- a little YAML, by lines -------------------------------------------------------------------

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// One alerting rule of alerts.yml as far as these tests need it.
#[derive(Debug, Default)]
struct Alert {
    name: String,
    line: usize,
    keys: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

/// `key: value` of a line, the value unquoted; a block scalar (`>-`, `|`...) yields its indicator.
fn key_value(line: &str) -> Option<(String, String)> {
    let t = line.trim().trim_start_matches("- ");
    let (k, v) = t.split_once(':')?;
    if k.is_empty() || k.contains(char::is_whitespace) {
        return None;
    }
    let v = v.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v);
    Some((k.to_string(), v.to_string()))
}

/// The value of the mapping entry at `lines[i]`, following a block scalar onto deeper lines.
fn scalar(lines: &[&str], i: usize, inline: &str) -> String {
    if !matches!(inline, ">" | ">-" | "|" | "|-" | ">+" | "|+") {
        return inline.to_string();
    }
    let own = indent(lines[i]);
    lines[i + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > own)
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The alerting rules of alerts.yml: each `- alert:` item with its direct keys, `labels` and
/// `annotations`.
fn alerts() -> Vec<Alert> {
    let text = read(ALERTS);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        if !t.starts_with("- alert:") {
            i += 1;
            continue;
        }
        let item = indent(lines[i]);
        let keys_at = item + 2;
        let mut a = Alert {
            line: i + 1,
            ..Alert::default()
        };
        let mut section: Option<&str> = None;
        let mut j = i;
        while j < lines.len() {
            let l = lines[j];
            if j > i && is_content(l) && indent(l) <= item {
                break;
            }
            if is_content(l)
                && let Some((k, v)) = key_value(l)
            {
                let at = if j == i { keys_at } else { indent(l) };
                if at == keys_at {
                    section = match k.as_str() {
                        "labels" => Some("labels"),
                        "annotations" => Some("annotations"),
                        _ => None,
                    };
                    a.keys.insert(k, scalar(&lines, j, &v));
                } else if at == keys_at + 2 {
                    let v = scalar(&lines, j, &v);
                    match section {
                        Some("labels") => {
                            a.labels.insert(k, v);
                        }
                        Some("annotations") => {
                            a.annotations.insert(k, v);
                        }
                        _ => {}
                    }
                }
            }
            j += 1;
        }
        a.name = a.keys.get("alert").cloned().unwrap_or_default();
        out.push(a);
        i = j;
    }
    out
}

/// For each `alertname:` in tests.yml, whether that test case expects alerts (`true`) or none
/// (`exp_alerts: []`, `false`).
fn alert_cases() -> Vec<(String, bool)> {
    let text = read(RULE_TESTS);
    let lines: Vec<&str> = text.lines().filter(|l| is_content(l)).collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some((k, name)) = key_value(l) else {
            continue;
        };
        if k != "alertname" {
            continue;
        }
        let next = lines.get(i + 1).map(|s| s.trim()).unwrap_or_default();
        let after = lines.get(i + 2).map(|s| s.trim()).unwrap_or_default();
        let expects = match next {
            "exp_alerts: []" => false,
            "exp_alerts:" if after.starts_with("- exp_labels:") => true,
            other => panic!("{RULE_TESTS}: alertname {name} is followed by {other:?}"),
        };
        out.push((name, expects));
    }
    out
}

// ---- metric names ---------------------------------------------------------------------------------

/// Every identifier `bmc_[a-z_]+` in `text` that starts at a word boundary (so the `bmc_up` of
/// `instance:bmc_up:sum` counts, `xbmc_y` does not).
fn metric_names(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find("bmc_") {
        let start = from + pos;
        let boundary = start == 0 || {
            let b = bytes[start - 1];
            !(b.is_ascii_alphanumeric() || b == b'_')
        };
        let mut end = start + 4;
        while end < bytes.len() && (bytes[end].is_ascii_lowercase() || bytes[end] == b'_') {
            end += 1;
        }
        if boundary && end > start + 4 {
            out.insert(text[start..end].trim_end_matches('_').to_string());
        }
        from = end;
    }
    out
}

/// The names docs/metrics.md lists as `` `name` ``.
fn documented() -> HashSet<String> {
    let doc = read(METRICS_DOC);
    let names: HashSet<String> = doc
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("bmc_"))
        .map(str::to_string)
        .collect();
    names
}

fn is_documented(name: &str, docs: &HashSet<String>) -> bool {
    docs.contains(name)
        || ["_bucket", "_sum", "_count"]
            .iter()
            .filter_map(|s| name.strip_suffix(s))
            .any(|base| docs.contains(base))
}

// ---- the dashboard ------------------------------------------------------------------------------

pub(crate) fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"))
}

/// Every panel, including those nested in (collapsed) rows.
fn all_panels(d: &Value) -> Vec<&Value> {
    fn walk<'a>(ps: &'a [Value], out: &mut Vec<&'a Value>) {
        for p in ps {
            out.push(p);
            if let Some(inner) = p.get("panels").and_then(Value::as_array) {
                walk(inner, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        d["panels"]
            .as_array()
            .expect("dashboard `panels` is an array"),
        &mut out,
    );
    out
}

/// (panel id, refId, expr) of every query of every panel.
pub(crate) fn panel_queries(d: &Value) -> Vec<(i64, String, String)> {
    all_panels(d)
        .into_iter()
        .filter(|p| p["type"] != "row")
        .flat_map(|p| {
            let id = p["id"].as_i64().unwrap_or(-1);
            p["targets"].as_array().into_iter().flatten().map(move |t| {
                (
                    id,
                    t["refId"].as_str().unwrap_or("").to_string(),
                    t["expr"].as_str().unwrap_or("").to_string(),
                )
            })
        })
        .collect()
}

pub(crate) fn variables(d: &Value) -> Vec<&Value> {
    d["templating"]["list"]
        .as_array()
        .map(|l| l.iter().collect())
        .unwrap_or_default()
}

/// The PromQL of a template variable's query (`label_values(...)`), as a string.
pub(crate) fn variable_query(v: &Value) -> String {
    match &v["query"] {
        Value::String(s) => s.clone(),
        q => q["query"].as_str().unwrap_or("").to_string(),
    }
}

/// Grafana's `$var` / `${var}` / `[[var]]` references in `expr`.
fn referenced_variables(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let ident = |s: usize| {
        let mut e = s;
        while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_') {
            e += 1;
        }
        e
    };
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let braced = b.get(i + 1) == Some(&b'{');
            let s = if braced { i + 2 } else { i + 1 };
            let e = ident(s);
            if e > s {
                out.push(expr[s..e].to_string());
            }
            i = e.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

// ---- the tests --------------------------------------------------------------------------------------

#[test]
fn every_alert_has_for_severity_summary_and_description() {
    let text = read(ALERTS);
    assert!(
        text.lines().any(|l| l.trim() == "- name: bmc-catcher"),
        "{ALERTS}: no rule group named bmc-catcher"
    );
    let alerts = alerts();
    assert_eq!(
        alerts.len(),
        text.lines()
            .filter(|l| l.trim_start().starts_with("- alert:"))
            .count()
    );
    let mut seen = HashSet::new();
    for a in &alerts {
        let at = format!("{ALERTS}:{} ({})", a.line, a.name);
        assert!(!a.name.is_empty(), "{at}: no alert name");
        assert!(seen.insert(a.name.clone()), "{at}: duplicate alert name");
        assert!(
            a.keys.get("expr").is_some_and(|e| !e.is_empty()),
            "{at}: no expr"
        );
        let dur = a.keys.get("for").map(String::as_str).unwrap_or_default();
        assert!(
            !dur.is_empty()
                && dur.ends_with(['s', 'm', 'h'])
                && dur.chars().next().is_some_and(|c| c.is_ascii_digit()),
            "{at}: `for:` missing or not a duration: {dur:?}"
        );
        let severity = a.labels.get("severity").map(String::as_str);
        assert!(
            matches!(severity, Some("critical" | "warning" | "info")),
            "{at}: labels.severity must be critical, warning or info, is {severity:?}"
        );
        for key in ["summary", "description"] {
            let v = a.annotations.get(key).map(String::as_str).unwrap_or("");
            assert!(v.len() > 10, "{at}: annotation {key} missing or empty");
        }
        let templated = a
            .annotations
            .values()
            .any(|v| v.contains("{{") && v.contains("$labels."));
        assert!(
            templated,
            "{at}: annotations never name the series ($labels.…)"
        );
    }
    for name in REQUIRED_ALERTS {
        assert!(seen.contains(*name), "{ALERTS}: alert {name} is missing");
    }
}

#[test]
fn every_alert_is_unit_tested_firing_and_not_firing() {
    let cases = alert_cases();
    for a in alerts() {
        for (expect, what) in [(true, "firing"), (false, "not firing (`exp_alerts: []`)")] {
            assert!(
                cases.iter().any(|(n, e)| *n == a.name && *e == expect),
                "{RULE_TESTS}: no test case shows {} {what}",
                a.name
            );
        }
    }
    let known: HashSet<String> = alerts().into_iter().map(|a| a.name).collect();
    for (name, _) in &cases {
        assert!(
            known.contains(name),
            "{RULE_TESTS}: tests {name}, which {ALERTS} does not define"
        );
    }
}

#[test]
fn every_metric_used_is_documented() {
    let docs = documented();
    let d = dashboard();
    let mut sources: Vec<(String, BTreeSet<String>)> = vec![
        (ALERTS.to_string(), metric_names(&read(ALERTS))),
        (RULE_TESTS.to_string(), metric_names(&read(RULE_TESTS))),
    ];
    for (id, ref_id, expr) in panel_queries(&d) {
        sources.push((
            format!("{DASHBOARD} panel {id} query {ref_id}"),
            metric_names(&expr),
        ));
    }
    for v in variables(&d) {
        sources.push((
            format!("{DASHBOARD} variable {}", v["name"]),
            metric_names(&variable_query(v)),
        ));
    }
    let mut undocumented = Vec::new();
    for (src, names) in &sources {
        for n in names {
            if !is_documented(n, &docs) {
                undocumented.push(format!("{src}: {n}"));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "not in {METRICS_DOC}:\n{}",
        undocumented.join("\n")
    );
    // The scan finds what it should (a broken scan would pass the check above vacuously).
    let all: BTreeSet<&String> = sources.iter().flat_map(|(_, n)| n).collect();
    for must in [
        "bmc_up",
        "bmc_last_success_timestamp_seconds",
        "bmc_psu_health",
        "bmc_sensor_health",
        "bmc_catcher_last_poll_timestamp_seconds",
        "bmc_catcher_nats_connected",
        "bmc_catcher_nats_dropped_events_total",
        "bmc_target_info",
        "bmc_catcher_partition_info",
        "bmc_catcher_poll_duration_seconds_bucket",
        "bmc_issue",
        "bmc_drive_health",
        "bmc_drive_life_left_ratio",
        "bmc_dimm_health",
        "bmc_memory_errors_total",
        "bmc_nic_link_up",
        "bmc_firmware_info",
    ] {
        assert!(
            all.contains(&must.to_string()),
            "no source uses {must}: {all:?}"
        );
    }
    assert!(!is_documented("bmc_no_such_metric", &docs));
}

#[test]
fn grafana_dashboard_is_a_well_formed_model() {
    let d = dashboard();
    assert!(
        d["title"].as_str().is_some_and(|t| !t.is_empty()),
        "no title"
    );
    let uid = d["uid"].as_str().unwrap_or("");
    assert!(
        !uid.is_empty() && uid.len() <= 40,
        "uid must be 1..40 characters: {uid:?}"
    );
    let schema = d["schemaVersion"].as_i64().unwrap_or(0);
    assert!(schema >= 36, "schemaVersion {schema} is older than 36");
    assert!(
        d["__inputs"].as_array().is_some_and(|i| i.iter().any(|i| {
            i["name"] == "DS_PROMETHEUS"
                && i["type"] == "datasource"
                && i["pluginId"] == "prometheus"
        })),
        "no DS_PROMETHEUS datasource input"
    );

    let vars = variables(&d);
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no template variable {name}"))
    };
    let ds = var("datasource");
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");
    let mac = var("mac");
    assert_eq!(mac["type"], "query");
    assert_eq!(mac["datasource"]["uid"], "${datasource}");
    assert_eq!(
        variable_query(mac),
        "label_values(bmc_up{instance=~\"$instance\"}, mac)"
    );
    // A partition picks its catchers, a catcher its BMCs.
    assert_eq!(
        variable_query(var("partition")),
        "label_values(bmc_catcher_partition_info, partition)"
    );
    assert_eq!(
        variable_query(var("instance")),
        "label_values(bmc_catcher_partition_info{partition=~\"$partition\"}, instance)"
    );
    let order: Vec<&str> = vars.iter().filter_map(|v| v["name"].as_str()).collect();
    assert_eq!(order, ["datasource", "partition", "instance", "mac"]);
    let var_names: HashSet<&str> = vars.iter().filter_map(|v| v["name"].as_str()).collect();

    let panels = all_panels(&d);
    assert!(!panels.is_empty(), "no panels");
    let mut ids = HashSet::new();
    let mut boxes: Vec<(i64, [u64; 4])> = Vec::new();
    for p in &panels {
        let id = p["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("panel without an integer id: {}", p["title"]));
        let at = format!("panel {id} ({})", p["title"]);
        assert!(ids.insert(id), "{at}: duplicate id");
        assert!(
            p["title"].as_str().is_some_and(|t| !t.trim().is_empty()),
            "{at}: no title"
        );
        let kind = p["type"].as_str().unwrap_or("");
        assert!(
            [
                "stat",
                "timeseries",
                "table",
                "gauge",
                "bargauge",
                "state-timeline",
                "status-history",
                "heatmap",
                "text",
                "row",
            ]
            .contains(&kind),
            "{at}: unexpected panel type {kind:?}"
        );
        let g = &p["gridPos"];
        let n = |k: &str| {
            g[k].as_u64()
                .unwrap_or_else(|| panic!("{at}: gridPos.{k} missing or not an unsigned integer"))
        };
        let (x, y, w, h) = (n("x"), n("y"), n("w"), n("h"));
        assert!(
            (1..=24).contains(&w) && x + w <= 24,
            "{at}: gridPos x={x} w={w} leaves the 24-column grid"
        );
        assert!((1..=50).contains(&h), "{at}: gridPos h={h}");
        boxes.push((id, [x, y, w, h]));
        if kind == "row" || kind == "text" {
            continue;
        }
        assert_eq!(
            p["datasource"]["uid"], "${datasource}",
            "{at}: datasource must be the $datasource variable"
        );
        assert_eq!(p["datasource"]["type"], "prometheus", "{at}");
        let targets = p["targets"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        assert!(!targets.is_empty(), "{at}: no targets");
        let mut refs = HashSet::new();
        for t in targets {
            let r = t["refId"].as_str().unwrap_or("");
            assert!(
                !r.is_empty() && refs.insert(r),
                "{at}: refId {r:?} missing or repeated"
            );
            let expr = t["expr"].as_str().unwrap_or("");
            assert!(!expr.trim().is_empty(), "{at} {r}: empty expr");
            if let Some(tds) = t.get("datasource") {
                assert_eq!(tds["uid"], "${datasource}", "{at} {r}: target datasource");
            }
            for v in referenced_variables(expr) {
                assert!(
                    v.starts_with("__") || var_names.contains(v.as_str()),
                    "{at} {r}: uses ${v}, which is no template variable"
                );
            }
        }
    }
    // Every query follows the catcher picked, and rates use Grafana's `$__rate_interval` (a fixed
    // window is too short for a long scrape interval and smooths away a short one).
    for (id, ref_id, expr) in panel_queries(&d) {
        for name in metric_names(&expr) {
            assert!(
                expr.contains(&format!("{name}{{instance=~\"$instance\"")),
                "panel {id} {ref_id}: {name} not filtered by $instance: {expr}"
            );
        }
        if expr.contains("rate(") || expr.contains("increase(") {
            assert!(
                expr.contains("[$__rate_interval]"),
                "panel {id} {ref_id}: a rate without $__rate_interval: {expr}"
            );
        }
    }
    // No two panels overlap.
    for (i, (a, [ax, ay, aw, ah])) in boxes.iter().enumerate() {
        for (b, [bx, by, bw, bh]) in &boxes[i + 1..] {
            let apart = ax + aw <= *bx || bx + bw <= *ax || ay + ah <= *by || by + bh <= *ay;
            assert!(apart, "panels {a} and {b} overlap");
        }
    }
    // What the issue asked the dashboard to show.
    let exprs: Vec<String> = panel_queries(&d).into_iter().map(|(_, _, e)| e).collect();
    for needle in [
        "sum(bmc_power_consumed_watts{",
        "bmc_power_on",
        "bmc_temperature_celsius{instance=~\"$instance\",mac=~\"$mac\"}",
        "bmc_fan_speed_rpm{instance=~\"$instance\",mac=~\"$mac\"}",
        "bmc_voltage_volts{instance=~\"$instance\",mac=~\"$mac\"}",
        "bmc_psu_health",
        "bmc_catcher_poll_duration_seconds_bucket",
        "bmc_catcher_polls_total",
        "bmc_read_error",
        "bmc_catcher_nats_connected",
        "bmc_catcher_nats_buffered_events",
        "bmc_issue",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(needle)),
            "no panel queries {needle}"
        );
    }
}

#[test]
fn metric_name_scan_finds_names_at_word_boundaries() {
    let names = metric_names(
        "instance:bmc_up:sum rate(bmc_catcher_polls_total[5m]) xbmc_nope bmc-catcher bmc_ {bmc_issue}",
    );
    let want: BTreeSet<String> = ["bmc_up", "bmc_catcher_polls_total", "bmc_issue"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, want);
}
