//! A known password goes in through the credentials file; it must come out nowhere: not in the
//! logs at any level (trace included), /metrics, the JSON API, NATS payloads, command output or the
//! process arguments, whether logins work or fail, over Redfish and IPMI.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;
use bmc_sim::SimShape;
use futures::StreamExt;

const SECRET: &str = "Sup3r-S3cret-Pw!";

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(SECRET),
        "the password leaked into {what}:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_password_appears_nowhere() {
    // Two Redfish BMCs that know the password, one that refuses every login.
    let ipmi_ip = unique_ip();
    let nats_ip = unique_ip();
    let nats_port = free_port(nats_ip);
    let url = format!("nats://{nats_ip}:{nats_port}");
    let http_port = free_port(std::net::Ipv4Addr::LOCALHOST);
    let bed = TestBed::new()
        .bmcs(3)
        .shapes(vec![SimShape::Legacy])
        .password(SECRET)
        .interval("2s")
        .timeout("2s")
        .extra_leases(&leases(&[("52:54:00:cc:00:01", ipmi_ip)]))
        .toml(&format!(
            "\n[nats]\nurl = \"{url}\"\n\n[ipmi]\nport = 623\nrequest-timeout = \"500ms\"\nretries = 1\n"
        ))
        .start()
        .await;
    let (fleet, cancel) = (&bed.fleet, &bed.cancel);
    fleet.bmcs[2].bmc.state().faults.refuse_logins = true;
    let dir = &bed.dir;
    let _ipmi = IpmiSim::start_with(dir.path(), "secrets", ipmi_ip, SECRET);
    let _nats = nats_server(dir.path(), nats_ip, nats_port, &[]);
    let nc = async_nats::connect(url.as_str()).await.expect("nats");
    let mut events = nc.subscribe("bmc.test.>").await.expect("sub");
    nc.flush().await.expect("flush");
    let cfg = bed.config_path();
    let text = std::fs::read_to_string(&cfg).expect("cfg").replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{http_port}\""),
    );
    std::fs::write(&cfg, text).expect("cfg");
    let log = dir.path().join("run.log");
    let mut child = std::process::Command::new(bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .env("BMC_CATCHER_LOG", "trace")
        .stderr(std::fs::File::create(&log).expect("log"))
        .stdout(Stdio::null())
        .spawn()
        .expect("run");
    let pid = child.id();
    let api = format!("http://127.0.0.1:{http_port}");
    // Wait until all four BMCs were polled (three answer, one refuses).
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let bmcs = loop {
        if let Ok(r) = http.get(format!("{api}/api/v1/bmcs")).send().await
            && let Ok(text) = r.text().await
            && text.matches("\"polled_at_ms\"").count() >= 4
        {
            break text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the daemon never polled all four BMCs"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        bmcs.contains("\"auth\""),
        "one BMC refused the login: {bmcs}"
    );
    assert_clean("the JSON API", &bmcs);
    let metrics = http
        .get(format!("{api}/metrics"))
        .send()
        .await
        .expect("m")
        .text()
        .await
        .expect("t");
    assert_clean("/metrics", &metrics);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
    assert_clean("the process arguments", &String::from_utf8_lossy(&cmdline));
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
    assert_clean(
        "the process environment",
        &String::from_utf8_lossy(&environ),
    );

    // Commands and the operator views.
    let mac = fleet.bmcs[0].bmc.mac.to_string();
    let (c, m, a) = (cfg.clone(), mac.clone(), api.clone());
    let outputs = tokio::task::spawn_blocking(move || {
        let mut all = String::new();
        for args in [
            vec![
                "power",
                &m,
                "identify-on",
                "--config",
                c.to_str().expect("utf8"),
            ],
            vec![
                "power",
                "02:99:99:99:99:99",
                "power-on",
                "--config",
                c.to_str().expect("utf8"),
            ],
            vec!["status", "--api", &a, "-o", "json"],
            vec!["issues", "--api", &a],
            vec!["check-config", "--config", c.to_str().expect("utf8")],
            vec!["poll-once", "--config", c.to_str().expect("utf8")],
        ] {
            let out = Command::new(bin())
                .args(&args)
                .env("BMC_CATCHER_LOG", "trace")
                .output()
                .expect("cli");
            all.push_str(&String::from_utf8_lossy(&out.stdout));
            all.push_str(&String::from_utf8_lossy(&out.stderr));
        }
        all
    })
    .await
    .expect("join");
    assert!(outputs.contains("identify-on"), "{outputs}");
    assert_clean("command output", &outputs);

    // NATS: events and the KV.
    let mut payloads = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while let Ok(Some(m)) = tokio::time::timeout_at(deadline, events.next()).await {
        payloads.push_str(&String::from_utf8_lossy(&m.payload));
    }
    let js = async_nats::jetstream::new(nc);
    let kv = js.get_key_value("bmc_state").await.expect("kv");
    let mut keys = kv.keys().await.expect("keys");
    while let Some(k) = keys.next().await {
        if let Some(v) = kv.get(k.expect("key")).await.expect("get") {
            payloads.push_str(&String::from_utf8_lossy(&v));
        }
    }
    assert!(payloads.contains("discovered"), "{payloads}");
    assert_clean("NATS payloads", &payloads);

    let _ = kill(&pid.to_string(), libc::SIGTERM);
    let _ = child.wait();
    let log_text = std::fs::read_to_string(&log).expect("log");
    assert!(log_text.lines().count() > 100, "trace logging was on");
    assert_clean("the daemon's log (trace)", &log_text);
    cancel.cancel();
}
