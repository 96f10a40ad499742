//! The operator views on a demo fleet with planted faults: one BMC unreachable, one PSU failed, one
//! sensor critical, one board answering under two MACs. `issues` lists exactly those, `--omit` hides
//! what it names (metal-api's names too), and the NATS events and `bmc_issue` series agree with it;
//! `status` shows coloured power dots on a terminal (tmux) and none when piped.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::{Config, Credentials, LeasesFormat, TlsPolicy};
use bmc_catcher::daemon::Daemon;
use bmc_catcher::model::{Event, EventKind};
use bmc_sim::SimShape;
use bmc_sim::state::Health;
use futures::StreamExt;

type Found = BTreeSet<(String, String)>;

fn cli(args: &[&str]) -> String {
    let out = Command::new(bin()).args(args).output().expect("run");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// (mac, type) pairs from the `issues` table: each `- detail (type)` line, continuation lines
/// belonging to the MAC above.
fn parse_issues(text: &str) -> Found {
    let mut out = Found::new();
    let mut mac = String::new();
    for l in text.lines().skip(1) {
        if !l.starts_with(' ') {
            mac = l.split_whitespace().next().unwrap_or("").to_string();
        }
        let kind = l
            .trim_end()
            .strip_suffix(')')
            .and_then(|l| l.rsplit_once('('))
            .map(|(_, k)| k.to_string())
            .unwrap_or_default();
        out.insert((mac.clone(), kind));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn issues_cli_nats_and_metrics_agree() {
    let bed = TestBed::new()
        .bmcs(6)
        .shapes(vec![SimShape::Legacy])
        .start()
        .await;
    let (fleet, cancel) = (&bed.fleet, &bed.cancel);
    let b = |i: usize| fleet.bmcs[i].bmc.clone();
    b(0).state().faults.drop_connections = true;
    b(1).state().psus[0].health = Health::Critical;
    b(2).state().sensors[0].reading = 95.0;
    let twin = (b(3).uuid.clone(), b(3).serial.clone());
    b(4).state().identity = Some(twin);
    let dir = &bed.dir;
    let nats_ip = unique_ip();
    let nats_port = free_port(nats_ip);
    let _nats = nats_server(dir.path(), nats_ip, nats_port, &[]);
    let url = format!("nats://{nats_ip}:{nats_port}");
    let client = async_nats::connect(url.as_str()).await.expect("connect");
    let mut sub = client.subscribe("bmc.views.*.event.>").await.expect("sub");
    client.flush().await.expect("flush");

    let mut config = Config {
        partition: "views".into(),
        credentials_file: None,
        ..Config::default()
    };
    config.discovery.leases_file = dir.path().join("dhcpd.leases");
    config.discovery.leases_format = LeasesFormat::IscDhcpd;
    config.discovery.refresh = Duration::from_millis(200);
    config.poll.interval = Duration::from_secs(60);
    config.poll.timeout = Duration::from_secs(5);
    config.redfish.port = fleet.port();
    config.redfish.tls = TlsPolicy::Insecure;
    config.http.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.nats.url = Some(url.clone());
    let daemon = Daemon::start(&config, Credentials::single("admin", "password"))
        .await
        .expect("daemon");
    let api = format!("http://{}", daemon.addr);

    let m = |i: usize| b(i).mac.to_string();
    let expected: Found = [
        (m(0), "unreachable"),
        (m(1), "powersupply-failure"),
        (m(2), "sensor-critical"),
        (m(3), "no-distinct-ip"),
        (m(4), "no-distinct-ip"),
    ]
    .into_iter()
    .map(|(a, t)| (a, t.to_string()))
    .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let found = loop {
        let a = api.clone();
        let text = tokio::task::spawn_blocking(move || cli(&["issues", "--api", &a]))
            .await
            .expect("join");
        let found = parse_issues(&text);
        if found == expected {
            break found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "issues never settled; last:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let a = api.clone();
    let omitted = tokio::task::spawn_blocking(move || {
        cli(&["issues", "--api", &a, "--omit", "bmc-no-distinct-ip"])
    })
    .await
    .expect("join");
    assert!(!omitted.contains("(no-distinct-ip)"), "{omitted}");
    assert_eq!(parse_issues(&omitted).len(), 3, "{omitted}");
    let a = api.clone();
    let critical = tokio::task::spawn_blocking(move || {
        cli(&["issues", "--api", &a, "--severity", "critical"])
    })
    .await
    .expect("join");
    assert_eq!(parse_issues(&critical).len(), 2, "{critical}");

    // NATS: the issue-raised events say the same.
    let mut raised = Found::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while raised != found {
        let msg = tokio::time::timeout_at(deadline, sub.next())
            .await
            .expect("events")
            .expect("msg");
        let e: Event = serde_json::from_slice(&msg.payload).expect("event");
        if let EventKind::IssueRaised { issue, .. } = e.kind {
            raised.insert((e.mac.to_string(), issue.to_string()));
        }
    }
    // /metrics: the bmc_issue series too.
    let text = reqwest::get(format!("{api}/metrics"))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    let series: Found = text
        .lines()
        .filter_map(|l| l.strip_prefix("bmc_issue{"))
        .map(|l| {
            let field = |k: &str| {
                l.split(&format!("{k}=\""))
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap_or("")
                    .to_string()
            };
            (field("mac"), field("type"))
        })
        .collect();
    assert_eq!(series, found, "{text}");

    // status: symbols and colour on a terminal, none when piped.
    let a = api.clone();
    let piped = tokio::task::spawn_blocking(move || cli(&["status", "--api", &a]))
        .await
        .expect("join");
    assert!(!piped.contains('\x1b') && !piped.contains('●'), "{piped}");
    assert!(piped.contains(&m(5)), "{piped}");
    let session = format!("bmc-catcher-test-{}", std::process::id());
    let a = api.clone();
    let screen = tokio::task::spawn_blocking(move || {
        let tmux = which("tmux");
        let cmd = format!("{} status --api {a}; sleep 30", bin());
        let ok = Command::new(&tmux)
            .args(["new-session", "-d", "-x", "160", "-y", "20", "-s", &session])
            .arg(cmd)
            .env_remove("NO_COLOR")
            .status()
            .expect("tmux");
        assert!(ok.success());
        let mut screen = String::new();
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(100));
            let out = Command::new(&tmux)
                .args(["capture-pane", "-p", "-e", "-t", &session])
                .output()
                .expect("capture");
            screen = String::from_utf8_lossy(&out.stdout).to_string();
            if screen.contains("ISSUES") && screen.matches('\n').count() > 6 {
                break;
            }
        }
        let _ = Command::new(&tmux)
            .args(["kill-session", "-t", &session])
            .status();
        screen
    })
    .await
    .expect("join");
    assert!(screen.contains('●'), "power dots on a TTY:\n{screen}");
    assert!(
        screen.contains("\x1b[32m"),
        "green for a powered-on BMC:\n{screen}"
    );
    assert!(
        screen.contains("\x1b[33m●"),
        "yellow for the failed PSU:\n{screen}"
    );
    daemon.stop().await;
    cancel.cancel();
}
