//! NATS against a real nats-server with JetStream: change events reach a subscriber once, power
//! commands through the CLI get replies, an outage loses and duplicates nothing, and a dead NATS never
//! stalls polling or /metrics. What a hostile message or a command burst costs is in [`hostile`].

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::common::*;
use async_nats::jetstream;
use bmc_catcher::config::{Config, Credentials};
use bmc_catcher::daemon::Daemon;
use bmc_catcher::model::{Event, EventKind};
use bmc_catcher::model::{MacAddr, PowerState};
use bmc_catcher::store::Store;
use bmc_sim::SimShape;
use futures::StreamExt;

mod hostile;

/// A test bed of Legacy-shaped BMCs and a NATS address for it (the server is started by the test).
struct Setup {
    bed: TestBed,
    nats_ip: Ipv4Addr,
    nats_port: u16,
    config: Config,
}

async fn setup(count: u32, interval: Duration) -> Setup {
    let bed = TestBed::new()
        .bmcs(count)
        .shapes(vec![SimShape::Legacy])
        .start()
        .await;
    let nats_ip = unique_ip();
    let nats_port = free_port(nats_ip);
    let mut config = bed.config();
    config.poll.interval = interval;
    config.poll.timeout = interval.min(Duration::from_secs(5));
    config.nats.url = Some(format!("nats://{nats_ip}:{nats_port}"));
    config.nats.publish_timeout = Duration::from_secs(2);
    Setup {
        bed,
        nats_ip,
        nats_port,
        config,
    }
}

fn creds() -> Credentials {
    Credentials::single("admin", "password")
}

/// Waits (up to 20 s) until the daemon polled `sim` once.
async fn first_poll(store: &Store, sim: &bmc_sim::SimBmc) {
    wait_until(Duration::from_secs(20), "first poll", || {
        polled_at(store, mac(sim.mac)) > 0
    })
    .await;
}

fn polled_at(store: &Store, mac: MacAddr) -> i64 {
    store
        .get(mac)
        .and_then(|e| e.snapshot)
        .map(|s| s.polled_at_ms)
        .unwrap_or(0)
}

async fn kv_power(js: &jetstream::Context, key: &str) -> Option<String> {
    let kv = js.get_key_value("bmc_state").await.ok()?;
    let v = kv.get(key).await.ok()??;
    let snap: serde_json::Value = serde_json::from_slice(&v).ok()?;
    snap["power"]["ok"].as_str().map(str::to_string)
}

/// Waits until the KV entry `key` says power `want`; fails the test with `why` after `within`.
async fn wait_kv_power(
    js: &jetstream::Context,
    key: &str,
    want: &str,
    within: Duration,
    why: &str,
) {
    let deadline = tokio::time::Instant::now() + within;
    while kv_power(js, key).await.as_deref() != Some(want) {
        assert!(tokio::time::Instant::now() < deadline, "{why}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn power_change_reaches_a_subscriber_exactly_once() {
    let s = setup(2, Duration::from_secs(1)).await;
    let _nats = nats_server(s.bed.dir.path(), s.nats_ip, s.nats_port, &[]);
    let url = s.config.nats.url.clone().expect("url");
    let client = async_nats::connect(url.as_str())
        .await
        .expect("subscriber connects");
    let mut sub = client
        .subscribe("bmc.test.*.event.>")
        .await
        .expect("subscribe");
    let daemon = Daemon::start(&s.config, creds()).await.expect("daemon");
    let sim = s.bed.fleet.bmcs[0].bmc.clone();
    let token = sim.mac.to_string().replace(':', "-");
    // Wait until the BMC was polled once with power On.
    first_poll(&daemon.store, &sim).await;
    sim.state().power = sim_power(PowerState::Off);
    let mut power_changed = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, sub.next()).await {
        let e: Event = serde_json::from_slice(&msg.payload).expect("event JSON");
        assert_eq!(
            msg.subject.as_str(),
            format!(
                "bmc.test.{}.event.{}",
                e.mac.to_string().replace(':', "-"),
                e.kind.name()
            )
        );
        if e.mac == mac(sim.mac) && matches!(e.kind, EventKind::PowerChanged { .. }) {
            power_changed.push(e);
        }
    }
    assert_eq!(
        power_changed.len(),
        1,
        "exactly one power-changed in 6 polls: {power_changed:?}"
    );
    assert_eq!(
        power_changed[0].kind,
        EventKind::PowerChanged {
            old: PowerState::On,
            new: PowerState::Off
        }
    );
    let js = jetstream::new(client);
    let key = format!("test.{token}");
    wait_kv_power(
        &js,
        &key,
        "Off",
        Duration::from_secs(10),
        "KV never showed Off",
    )
    .await;
    daemon.stop().await;
    s.bed.cancel.cancel();
}

fn power_cli(url: &str, mac: &str, action: &str) -> (Option<i32>, serde_json::Value, String) {
    let out = std::process::Command::new(bin())
        .args([
            "power",
            mac,
            action,
            "--nats",
            url,
            "--partition",
            "test",
            "--timeout",
            "20s",
        ])
        .output()
        .expect("run power");
    let reply = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code(),
        reply,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn power_commands_through_the_cli_get_replies() {
    let s = setup(1, Duration::from_secs(60)).await;
    let _nats = nats_server(s.bed.dir.path(), s.nats_ip, s.nats_port, &[]);
    let url = s.config.nats.url.clone().expect("url");
    let daemon = Daemon::start(&s.config, creds()).await.expect("daemon");
    let sim = s.bed.fleet.bmcs[0].bmc.clone();
    first_poll(&daemon.store, &sim).await;
    let mac = sim.mac.to_string();
    let run = |action: &'static str| {
        let (url, mac) = (url.clone(), mac.clone());
        tokio::task::spawn_blocking(move || power_cli(&url, &mac, action))
    };

    let (code, reply, err) = run("power-cycle").await.expect("join");
    assert_eq!(code, Some(0), "{reply} {err}");
    assert_eq!(reply["ok"], true);
    // What it waited for, on stderr; the reply alone on stdout.
    assert!(
        err.contains(&format!(
            "power-cycle {mac}: waiting up to 20s for the reply of the catcher of partition \"test\" on bmc.test."
        )),
        "{err}"
    );
    assert_eq!(reply["power"], "On");
    assert!(reply["duration_ms"].is_u64());
    assert_eq!(
        sim.counters
            .resets
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    let (code, reply, _) = run("power-off").await.expect("join");
    assert_eq!(
        (code, &reply["ok"], &reply["power"]),
        (Some(0), &serde_json::json!(true), &serde_json::json!("Off"))
    );
    let (code, reply, _) = run("power-off").await.expect("join");
    assert_eq!(
        (code, &reply["noop"]),
        (Some(0), &serde_json::json!(true)),
        "already off: {reply}"
    );
    let (code, reply, _) = run("power-cycle").await.expect("join");
    assert_eq!(code, Some(1));
    assert_eq!(reply["error"]["kind"], "refused", "{reply}");
    let (code, reply, _) = run("identify-on").await.expect("join");
    assert_eq!(code, Some(0), "{reply}");
    assert!(sim.state().led_on);
    let (code, _, _) = run("boot-pxe").await.expect("join");
    assert_eq!(code, Some(0));
    assert_eq!(sim.state().boot_once.as_deref(), Some("Pxe"));
    // An unknown action is a usage error found before any round trip (exit 64); the daemon's own
    // bad-request reply is in control's tests.
    let (code, reply, err) = run("power-explode").await.expect("join");
    assert_eq!(code, Some(64), "{reply} {err}");
    assert!(
        err.contains("power-explode") && err.contains("power-cycle"),
        "{err}"
    );

    let stranger = "02:aa:bb:cc:dd:ee";
    let (code, reply, err) = tokio::task::spawn_blocking({
        let url = url.clone();
        move || power_cli(&url, stranger, "power-on")
    })
    .await
    .expect("join");
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(reply["error"]["kind"], "unknown-bmc", "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .expect("msg")
            .contains(stranger),
        "{reply}"
    );
    daemon.stop().await;
    s.bed.cancel.cancel();
}

/// Every event id in the stream for `mac`, in stream order.
async fn stream_events(js: &jetstream::Context) -> Vec<Event> {
    let stream = js.get_stream("BMC_EVENTS").await.expect("stream");
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .expect("ordered consumer");
    let total = stream.get_info().await.expect("info").state.messages as usize;
    let mut msgs = consumer.messages().await.expect("messages");
    let mut out = Vec::new();
    while out.len() < total {
        let m = tokio::time::timeout(Duration::from_secs(5), msgs.next())
            .await
            .expect("stream message")
            .expect("some")
            .expect("ok");
        out.push(serde_json::from_slice(&m.payload).expect("event"));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_loses_and_duplicates_nothing() {
    let s = setup(1, Duration::from_secs(1)).await;
    let nats = nats_server(s.bed.dir.path(), s.nats_ip, s.nats_port, &[]);
    let daemon = Daemon::start(&s.config, creds()).await.expect("daemon");
    let produced = std::sync::Arc::new(bmc_catcher::store::Recorder::default());
    daemon.store.observe(produced.clone());
    let sim = s.bed.fleet.bmcs[0].bmc.clone();
    first_poll(&daemon.store, &sim).await;
    let url = s.config.nats.url.clone().expect("url");
    {
        // The first events are in JetStream before the outage.
        let js = jetstream::new(async_nats::connect(url.as_str()).await.expect("connect"));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while js.get_stream("BMC_EVENTS").await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "stream never created"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    drop(nats); // outage: longer than two poll periods, with power changes during it
    let mut expected_power = PowerState::On;
    for _ in 0..4 {
        let before = polled_at(&daemon.store, mac(sim.mac));
        expected_power = if expected_power == PowerState::On {
            PowerState::Off
        } else {
            PowerState::On
        };
        sim.state().power = sim_power(expected_power);
        wait_until(Duration::from_secs(10), "a poll after the flip", || {
            polled_at(&daemon.store, mac(sim.mac)) > before + 500
                && daemon
                    .store
                    .get(mac(sim.mac))
                    .and_then(|e| e.snapshot)
                    .and_then(|s| s.reading.power.ok().copied())
                    == Some(expected_power)
        })
        .await;
    }
    let _nats = nats_server(s.bed.dir.path(), s.nats_ip, s.nats_port, &[]);
    let seen: Vec<Event> = produced.take();
    assert!(
        seen.iter()
            .filter(|e| matches!(e.kind, EventKind::PowerChanged { .. }))
            .count()
            >= 4,
        "four power changes during the outage: {seen:?}"
    );
    let js = jetstream::new(async_nats::connect(url.as_str()).await.expect("connect"));
    let key = format!("test.{}", sim.mac.to_string().replace(':', "-"));
    let want = format!("{expected_power:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let info = js
            .get_stream("BMC_EVENTS")
            .await
            .expect("stream")
            .get_info()
            .await
            .expect("info");
        if info.state.messages as usize >= seen.len()
            && kv_power(&js, &key).await.as_deref() == Some(want.as_str())
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "replay incomplete: {} of {}",
            info.state.messages,
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stored = stream_events(&js).await;
    let stored_ids: Vec<&str> = stored.iter().map(|e| e.id.as_str()).collect();
    let produced_ids: Vec<&str> = seen.iter().map(|e| e.id.as_str()).collect();
    let mut unique = stored_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), stored_ids.len(), "no event twice");
    // Everything produced since we subscribed arrived, in the order it was produced.
    let tail: Vec<&str> = stored_ids
        .iter()
        .copied()
        .filter(|id| produced_ids.contains(id))
        .collect();
    assert_eq!(tail, produced_ids, "every event, in order");
    daemon.stop().await;
    s.bed.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn nats_down_never_blocks_polling_or_metrics() {
    let s = setup(1, Duration::from_secs(1)).await;
    // No server yet: the daemon starts anyway.
    let daemon = Daemon::start(&s.config, creds())
        .await
        .expect("daemon starts without NATS");
    let sim = s.bed.fleet.bmcs[0].bmc.clone();
    first_poll(&daemon.store, &sim).await;
    for i in 0..2_500u32 {
        daemon.store.emit(
            mac(sim.mac),
            EventKind::HealthChanged {
                component: format!("sensor:load-{i}"),
                name: format!("load-{i}"),
                old: bmc_catcher::model::Health::Ok,
                new: bmc_catcher::model::Health::Warning,
            },
        );
    }
    let http = reqwest::Client::new();
    let metrics = http
        .get(format!("http://{}/metrics", daemon.addr))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("/metrics answers with NATS down")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains("bmc_catcher_nats_connected 0"),
        "{metrics}"
    );
    let buffered: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("bmc_catcher_nats_buffered_events "))
        .and_then(|v| v.trim().parse().ok())
        .expect("buffered gauge");
    assert!(buffered >= 2_500.0, "buffered {buffered}");
    let before = polled_at(&daemon.store, mac(sim.mac));
    wait_until(Duration::from_secs(10), "polling goes on", || {
        polled_at(&daemon.store, mac(sim.mac)) > before
    })
    .await;
    // NATS comes: the backlog drains into the stream.
    let _nats = nats_server(s.bed.dir.path(), s.nats_ip, s.nats_port, &[]);
    let js = jetstream::new(
        async_nats::connect(s.config.nats.url.clone().expect("url").as_str())
            .await
            .expect("connect"),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let n = match js.get_stream("BMC_EVENTS").await {
            Ok(st) => st.get_info().await.map(|i| i.state.messages).unwrap_or(0),
            Err(_) => 0,
        };
        if n >= 2_500 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {n} events replayed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    daemon.stop().await;
    s.bed.cancel.cancel();
}

fn validate(schema: &str, docs: &[serde_json::Value], dir: &std::path::Path) -> (bool, String) {
    let file = dir.join(format!("{schema}.jsonl"));
    let text: Vec<String> = docs.iter().map(|d| d.to_string()).collect();
    std::fs::write(&file, text.join("\n")).expect("write docs");
    let out = std::process::Command::new(peer(&venv().join("bin/python")))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/hack/validate-json.py"
        ))
        .arg(format!(
            "{}/docs/schema/{schema}.schema.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg(&file)
        .output()
        .expect("python");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn real_payloads_match_the_documented_schemas() {
    let s = setup(2, Duration::from_secs(1)).await;
    let _nats = nats_server(s.bed.dir.path(), s.nats_ip, s.nats_port, &[]);
    let url = s.config.nats.url.clone().expect("url");
    let client = async_nats::connect(url.as_str()).await.expect("connect");
    let mut sub = client
        .subscribe("bmc.test.*.event.>")
        .await
        .expect("subscribe");
    client.flush().await.expect("flush");
    s.bed.fleet.bmcs[1].bmc.state().faults.refuse_logins = true;
    let daemon = Daemon::start(&s.config, creds()).await.expect("daemon");
    let sim = s.bed.fleet.bmcs[0].bmc.clone();
    first_poll(&daemon.store, &sim).await;
    let subject = format!("bmc.test.{}.cmd", sim.mac.to_string().replace(':', "-"));
    let mut replies = Vec::new();
    for body in [
        r#"{"action":"power-off"}"#,
        r#"{"action":"power-off"}"#,
        "nonsense",
        r#"{"action":"power-cycle"}"#,
    ] {
        let r = client
            .request(subject.clone(), body.into())
            .await
            .expect("reply");
        replies.push(serde_json::from_slice::<serde_json::Value>(&r.payload).expect("json"));
    }
    let r = client
        .request("bmc.test.02-99-99-99-99-99.cmd", "power-on".into())
        .await
        .expect("reply");
    replies.push(serde_json::from_slice(&r.payload).expect("json"));
    sim.state().power = sim_power(PowerState::On);
    // A record in the BMC's log after the first read: one log-entry event.
    sim.state().sel.event(0x0c, 0x11, 0x6f, [0x01, 0xff, 0xff]);
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    while let Ok(Some(m)) = tokio::time::timeout_at(deadline, sub.next()).await {
        events.push(serde_json::from_slice::<serde_json::Value>(&m.payload).expect("json"));
    }
    let kinds: std::collections::BTreeSet<String> = events
        .iter()
        .filter_map(|e| e["kind"].as_str().map(str::to_string))
        .collect();
    for k in [
        "discovered",
        "unreachable",
        "power-changed",
        "command-result",
        "log-entry",
    ] {
        assert!(kinds.contains(k), "no {k} event among {kinds:?}");
    }
    let js = jetstream::new(client);
    let kv = js.get_key_value("bmc_state").await.expect("kv");
    let mut snaps = Vec::new();
    for r in &s.bed.fleet.bmcs {
        let key = format!("test.{}", r.bmc.mac.to_string().replace(':', "-"));
        let v = kv.get(&key).await.expect("get").expect("entry");
        snaps.push(serde_json::from_slice::<serde_json::Value>(&v).expect("json"));
    }
    let dir = s.bed.dir.path();
    for (schema, docs) in [
        ("snapshot", &snaps),
        ("event", &events),
        ("command", &replies),
    ] {
        let (ok, out) = validate(schema, docs, dir);
        assert!(ok, "{schema}: {out}");
    }
    // The validator is not a rubber stamp.
    let mut broken = snaps[0].clone();
    broken["power"] = serde_json::json!({"ok": "Sideways"});
    assert!(!validate("snapshot", &[broken], dir).0);
    daemon.stop().await;
    s.bed.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_answers_a_command_in_flight_before_it_stops() {
    let s = setup(1, Duration::from_secs(60)).await;
    let _nats = nats_server(s.bed.dir.path(), s.nats_ip, s.nats_port, &[]);
    let url = s.config.nats.url.clone().expect("url");
    let daemon = Daemon::start(&s.config, creds()).await.expect("daemon");
    let sim = s.bed.fleet.bmcs[0].bmc.clone();
    first_poll(&daemon.store, &sim).await;
    // From now on every answer of the BMC takes 1 s: a power-off (read power, switch, read
    // power) is in flight for about 3 s.
    sim.state().faults.delay = Duration::from_secs(1);
    let nc = async_nats::connect(url.as_str()).await.expect("nats");
    let subject = bmc_catcher::publish::nats::command_subject(
        &s.config.nats.subject_prefix,
        "test",
        mac(sim.mac),
    );
    let reply = tokio::spawn(async move {
        nc.request(subject, r#"{"action":"power-off"}"#.into())
            .await
            .map(|m| serde_json::from_slice::<serde_json::Value>(&m.payload).expect("json"))
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    daemon.stop().await;
    // The reply was sent before stop returned: it is here at once, not seconds later.
    let reply = tokio::time::timeout(Duration::from_millis(500), reply)
        .await
        .expect("the reply came before the daemon stopped")
        .expect("join")
        .expect("a reply, not a NATS error");
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(reply["power"], "Off", "{reply}");
}
