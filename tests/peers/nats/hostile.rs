//! What one oversized message or a burst of commands costs against a real nats-server: only its
//! own BMC. A snapshot and an event larger than `max_payload` are dropped and counted while the
//! rest flows; 200 commands to a tarpit leave a healthy BMC's command unhurried; a retried request
//! acts once; destructive actions are rate-limited; a huge request gets a short answer.

use super::*;

/// The events in the stream, as `(mac, component)` of each health change.
async fn health_components(js: &jetstream::Context) -> Vec<(MacAddr, String)> {
    stream_events(js)
        .await
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::HealthChanged { component, .. } => Some((e.mac, component)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_oversized_message_costs_only_its_own_bmc() {
    let s = setup(2, Duration::from_secs(1)).await;
    let conf = s.bed.dir.path().join("nats-small.conf");
    std::fs::write(&conf, "max_payload: 32768\n").expect("conf");
    let _nats = nats_server(
        s.bed.dir.path(),
        s.nats_ip,
        s.nats_port,
        &["-c", conf.to_str().expect("utf-8 path")],
    );
    let mut sims: Vec<_> = s.bed.fleet.bmcs.iter().map(|b| b.bmc.clone()).collect();
    sims.sort_by_key(|b| b.mac);
    let (big, small) = (sims[0].clone(), sims[1].clone());
    // The BMC whose KV key comes first grows a snapshot larger than the server's max_payload.
    {
        let mut st = big.state();
        let template = st.sensors[0].clone();
        for i in 0..1_000 {
            let mut extra = template.clone();
            extra.id = format!("Extra{i}");
            extra.name = format!("Extra temperature sensor number {i}");
            st.sensors.push(extra);
        }
    }
    let daemon = Daemon::start(&s.config, creds()).await.expect("daemon");
    first_poll(&daemon.store, &big).await;
    first_poll(&daemon.store, &small).await;
    // An event larger than max_payload, then an ordinary one behind it.
    daemon.store.emit(
        mac(big.mac),
        EventKind::HealthChanged {
            component: format!("sensor:{}", "x".repeat(100_000)),
            name: "big".into(),
            old: bmc_catcher::model::Health::Ok,
            new: bmc_catcher::model::Health::Warning,
        },
    );
    daemon.store.emit(
        mac(small.mac),
        EventKind::HealthChanged {
            component: "sensor:behind-the-big-one".into(),
            name: "behind".into(),
            old: bmc_catcher::model::Health::Ok,
            new: bmc_catcher::model::Health::Warning,
        },
    );
    small.state().power = sim_power(PowerState::Off);

    let js = jetstream::new(
        async_nats::connect(s.config.nats.url.clone().expect("url").as_str())
            .await
            .expect("connect"),
    );
    let key = format!("test.{}", small.mac.to_string().replace(':', "-"));
    wait_kv_power(
        &js,
        &key,
        "Off",
        Duration::from_secs(20),
        "the small BMC's KV key never showed Off: mirroring stopped at the big one",
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let seen = health_components(&js).await;
        if seen.contains(&(mac(small.mac), "sensor:behind-the-big-one".to_string())) {
            assert!(
                seen.iter().all(|(_, c)| c.len() < 1_000),
                "the oversized event cannot have been stored"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the event behind the oversized one never arrived: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = reqwest::get(format!("http://{}/metrics", daemon.addr))
        .await
        .expect("/metrics")
        .text()
        .await
        .expect("body");
    for what in ["event", "kv_put"] {
        let line = format!("bmc_catcher_nats_unsendable_total{{what=\"{what}\"}}");
        assert!(metrics.contains(&line), "{line} missing:\n{metrics}");
    }
    daemon.stop().await;
    s.bed.cancel.cancel();
}

/// Sends `action` to `mac` with `Nats-Msg-Id: id` (when given); the reply as JSON.
async fn command(
    client: &async_nats::Client,
    mac: &str,
    action: &str,
    id: Option<&str>,
) -> serde_json::Value {
    let subject = format!("bmc.test.{}.cmd", mac.replace(':', "-"));
    let mut headers = async_nats::HeaderMap::new();
    if let Some(id) = id {
        headers.insert(async_nats::header::NATS_MESSAGE_ID, id);
    }
    let msg = tokio::time::timeout(
        Duration::from_secs(30),
        client.request_with_headers(
            subject,
            headers,
            format!("{{\"action\":\"{action}\"}}").into(),
        ),
    )
    .await
    .expect("a reply within 30 s")
    .expect("request");
    serde_json::from_slice(&msg.payload).expect("reply JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_burst_to_a_tarpit_costs_only_that_bmc() {
    let _heavy = HEAVY.lock().await;
    let mut s = setup(1, Duration::from_secs(30)).await;
    s.config.nats.command_timeout = Duration::from_secs(4);
    s.config.nats.command_queue = 4;
    s.config.nats.command_rate_limit = 2;
    // A BMC that accepts TCP and never answers.
    let tarpit_ip = unique_ip();
    let tarpit = tokio::net::TcpListener::bind((tarpit_ip, s.config.redfish.port))
        .await
        .expect("bind tarpit");
    let _tarpit = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = tarpit.accept().await {
            held.push(c);
        }
    });
    let tarpit_mac = "02:7a:7a:7a:7a:01";
    s.bed.write_leases(&leases(&[(tarpit_mac, tarpit_ip)]));
    let _nats = nats_server(s.bed.dir.path(), s.nats_ip, s.nats_port, &[]);
    let client = async_nats::connect(s.config.nats.url.clone().expect("url").as_str())
        .await
        .expect("connect");
    let daemon = Daemon::start(&s.config, creds()).await.expect("daemon");
    let sim = s.bed.fleet.bmcs[0].bmc.clone();
    first_poll(&daemon.store, &sim).await;
    let healthy = sim.mac.to_string();

    // 200 commands to the tarpit, then one to the healthy BMC.
    let burst: Vec<_> = (0..200)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { command(&c, tarpit_mac, "identify-on", None).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let off = command(&client, &healthy, "power-off", None).await;
    let took = started.elapsed();
    assert_eq!(off["ok"], true, "{off}");
    assert!(
        took < Duration::from_secs(2),
        "the healthy BMC's command waited {took:?} behind the tarpit"
    );
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    let mut not_run = 0;
    for b in burst {
        let r = b.await.expect("join");
        assert_eq!(r["ok"], false, "{r}");
        assert!(r["queued_ms"].as_u64().is_some(), "{r}");
        let kind = r["error"]["kind"].as_str().expect("kind").to_string();
        if r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not run"))
        {
            not_run += 1;
        }
        *kinds.entry(kind).or_default() += 1;
    }
    assert_eq!(kinds.get("busy"), Some(&196), "{kinds:?}");
    assert_eq!(kinds.get("timeout"), Some(&4), "{kinds:?}");
    assert_eq!(not_run, 3, "the queued ones expired unrun: {kinds:?}");

    // A retried request (same Nats-Msg-Id) acts once and gets the first reply.
    let first = command(&client, &healthy, "power-on", Some("req-on")).await;
    assert_eq!(first["ok"], true, "{first}");
    let resets = || {
        sim.counters
            .resets
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = resets();
    let cycle = command(&client, &healthy, "power-cycle", Some("req-cycle")).await;
    assert_eq!(cycle["ok"], true, "{cycle}");
    let again = command(&client, &healthy, "power-cycle", Some("req-cycle")).await;
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(again["ok"], true, "{again}");
    assert_eq!(resets(), before + 1, "the retried power-cycle ran twice");
    // power-off and power-cycle used the two destructive actions of the window.
    let third = command(&client, &healthy, "power-reset", Some("req-reset")).await;
    assert_eq!(third["error"]["kind"], "rate-limited", "{third}");
    assert_eq!(resets(), before + 1);

    // A huge request body is refused without being echoed, and the reply arrives.
    let subject = format!("bmc.test.{}.cmd", healthy.replace(':', "-"));
    let huge = format!("{{\"action\":\"{}\"}}", "\\\\".repeat(300_000));
    let msg = client
        .request(subject, huge.into())
        .await
        .expect("a reply to a 600 KB request");
    let r: serde_json::Value = serde_json::from_slice(&msg.payload).expect("json");
    assert_eq!(r["error"]["kind"], "bad-request", "{r}");
    assert!(
        msg.payload.len() < 2_000,
        "{} bytes echoed",
        msg.payload.len()
    );
    daemon.stop().await;
    s.bed.cancel.cancel();
}
