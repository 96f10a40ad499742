//! What promtool says of our output: a real scrape of the daemon polling simulated BMCs passes
//! `promtool check metrics` (with every documented metric present), the alert rules pass `promtool
//! check rules` and their unit tests, and every Grafana dashboard query parses as PromQL.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bmc_catcher::daemon::Daemon;
use bmc_sim::SimShape;

use crate::common::*;
use crate::it::daemon::wait_for;
use crate::it::deploy_assets::{
    ALERTS, RULE_TESTS, dashboard, panel_queries, root, variable_query, variables,
};

fn promtool() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("promtool"))
                .find(|f| f.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "promtool not found on PATH: install Debian's `prometheus` (hack/install-peers.sh)"
            )
        })
}

/// Runs promtool in the crate root; fails the test with its output unless it exits 0.
fn promtool_ok(args: &[&str]) -> String {
    let out = Command::new(promtool())
        .args(args)
        .current_dir(root())
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool {} failed ({}):\n{text}",
        args.join(" "),
        out.status
    );
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn promtool_accepts_a_real_scrape() {
    let bed = TestBed::new()
        .bmcs(3)
        .shapes(vec![
            SimShape::Legacy,
            SimShape::Subsystem,
            SimShape::Sensors,
        ])
        .timeout("5s")
        .start()
        .await;
    let dir = &bed.dir;
    let mut cfg = bed.config();
    // A NATS URL where nothing listens: the NATS families are served (and NATS being away is fine).
    let nats_ip = unique_ip();
    cfg.nats.url = Some(format!("nats://{nats_ip}:{}", free_port(nats_ip)));
    let daemon = Daemon::start(&cfg, bed.credentials())
        .await
        .expect("daemon");
    wait_for(&daemon.store, Duration::from_secs(20), "three polls", |s| {
        s.snapshots().len() == 3
    })
    .await;
    let url = format!("http://{}/metrics", daemon.addr);
    let http = reqwest::Client::new();
    let text_resp = http.get(&url).send().await.expect("scrape");
    let ctype = text_resp.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .expect("ct")
        .to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let text = text_resp.text().await.expect("body");
    for needle in [
        "bmc_up{",
        "bmc_power_on{",
        "bmc_temperature_celsius{",
        "bmc_fan_speed_rpm{",
        "bmc_psu_health{",
        "bmc_power_consumed_watts{",
        "bmc_last_success_timestamp_seconds{",
        "bmc_catcher_polls_total{",
        "bmc_catcher_poll_duration_seconds_bucket{",
        "bmc_target_info{",
        "bmc_catcher_build_info{version=",
        "bmc_catcher_partition_info{partition=",
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "# TYPE bmc_catcher_nats_dropped_events_total counter",
        "bmc_catcher_nats_commands_total{result=\"error\"} 0",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    // Every family the daemon serves is documented, and every documented family is served.
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md"))
        .expect("docs");
    let served: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    for name in &served {
        assert!(
            docs.contains(&format!("`{name}`")),
            "{name} is not in docs/metrics.md"
        );
    }
    for line in docs.lines().filter(|l| l.starts_with("| `")) {
        let name = line
            .trim_start_matches("| `")
            .split('`')
            .next()
            .expect("name");
        let optional = [
            "bmc_power_watts",
            "bmc_current_amperes",
            "bmc_fan_speed_percent",
            // Only Redfish `Sensors` collections give them; the simulated fleet has none
            // (peers::redfish_sensors checks them against public-rackmount1 with promtool).
            "bmc_energy_joules",
            "bmc_frequency_hertz",
            "bmc_sensor_percent",
            "bmc_read_error",
            "bmc_issue",
            // Only while a BMC reports more parts than the bounds (it::hostile::series checks it).
            "bmc_parts_dropped",
            // Only for IPMI BMCs with a SEL; this fleet speaks Redfish (peers::ipmi_sel checks it).
            "bmc_sel_used_ratio",
            // Only for BMCs with components; the simulated fleet has none
            // (peers::redfish_components checks them against the DMTF mockups with promtool).
            "bmc_drive_health",
            "bmc_drive_life_left_ratio",
            "bmc_volume_health",
            "bmc_dimm_health",
            "bmc_memory_errors_total",
            "bmc_cpu_health",
            "bmc_nic_link_up",
            "bmc_firmware_info",
            "bmc_components_unexported",
            // Only while a certificate is refused (it::tls_pin checks it).
            "bmc_tls_refused_certificate_expiry_timestamp_seconds",
            // Label families with no sample yet are not written.
            "bmc_catcher_poll_errors_total",
            "bmc_catcher_nats_published_total",
            "bmc_catcher_nats_unsendable_total",
            "bmc_catcher_http_timeouts_total",
        ];
        assert!(
            served.contains(name) || optional.contains(&name),
            "docs/metrics.md lists {name}, the scrape has none"
        );
    }
    std::fs::write(dir.path().join("scrape.txt"), &text).expect("write scrape");
    let out = std::process::Command::new(which("promtool"))
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(dir.path().join("scrape.txt")).expect("open"))
        .output()
        .expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let om = http
        .get(&url)
        .header("Accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .expect("scrape");
    assert!(
        om.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .expect("ct")
            .starts_with("application/openmetrics-text")
    );
    assert!(om.text().await.expect("body").ends_with("# EOF\n"));
    let api: serde_json::Value = http
        .get(format!("http://{}/api/v1/bmcs", daemon.addr))
        .send()
        .await
        .expect("api")
        .json()
        .await
        .expect("json");
    assert_eq!(api.as_array().expect("array").len(), 3);
    let ready = http
        .get(format!("http://{}/readyz", daemon.addr))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    daemon.stop().await;
}

#[test]
fn promtool_accepts_the_rules() {
    let out = promtool_ok(&["check", "rules", ALERTS]);
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn promtool_rule_unit_tests_pass() {
    let out = promtool_ok(&["test", "rules", RULE_TESTS]);
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn grafana_queries_are_valid_promql() {
    // promtool has no PromQL parser command in 2.42, but `check rules` parses every expr: write
    // each panel query (variables expanded) as a recording rule.
    let d = dashboard();
    let mut rules = String::from("groups:\n  - name: grafana-queries\n    rules:\n");
    let mut queries = panel_queries(&d);
    for v in variables(&d) {
        let q = variable_query(v);
        if let Some(inner) = q
            .strip_prefix("label_values(")
            .and_then(|s| s.strip_suffix(')'))
            .and_then(|s| s.rsplit_once(','))
            .map(|(sel, _)| sel.trim().to_string())
        {
            queries.push((
                0,
                format!("var_{}", v["name"].as_str().unwrap_or("")),
                inner,
            ));
        }
    }
    for (id, ref_id, expr) in &queries {
        let expr = serde_json::to_string(&with_variables_expanded(expr)).expect("json string");
        rules.push_str(&format!(
            "      - record: grafana:panel_{id}:{ref_id}\n        expr: {expr}\n"
        ));
    }
    let file = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("grafana-queries-{}.yml", std::process::id()));
    std::fs::write(&file, &rules).expect("write rules");
    let path = file.to_string_lossy().to_string();
    let out = Command::new(promtool())
        .args(["check", "rules", &path])
        .output()
        .expect("run promtool");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "a dashboard query is not valid PromQL:\n{}{}\n{rules}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `expr` with Grafana's variables replaced so promtool can parse it.
fn with_variables_expanded(expr: &str) -> String {
    expr.replace("${mac}", ".*")
        .replace("$mac", ".*")
        .replace("$instance", ".*")
        .replace("$partition", ".*")
        .replace("$__rate_interval", "5m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
}
