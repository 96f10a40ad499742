//! Two catchers on a 3-node nats-server cluster (JetStream, R3 stream and buckets, peers README
//! 6b) while BMCs change power: one NATS node is killed mid-run and the catchers carry on. Every
//! event the catchers emitted is in the stream once (its sequence has no gap), and every BMC's KV
//! entry holds its current power.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::{Catcher, catcher_config};
use crate::common::*;
use async_nats::jetstream;
use bmc_catcher::model::PowerState;
use bmc_catcher::store::Recorder;
use bmc_sim::SimShape;

/// The three nodes: client URL list, and the processes (dropped = killed by PID).
fn cluster(dir: &std::path::Path) -> (String, Vec<Option<Proc>>) {
    let ip = unique_ip();
    let clients: Vec<u16> = (0..3).map(|_| free_port(ip)).collect();
    let routes: Vec<u16> = (0..3).map(|_| free_port(ip)).collect();
    let route_urls: Vec<String> = routes
        .iter()
        .map(|p| format!("\"nats-route://{ip}:{p}\""))
        .collect();
    let mut procs = Vec::new();
    for i in 0..3 {
        let node = dir.join(format!("n{i}"));
        std::fs::create_dir_all(&node).expect("node dir");
        let conf = node.join("node.conf");
        std::fs::write(
            &conf,
            format!(
                "cluster {{\n  name: bmc\n  listen: \"{ip}:{}\"\n  routes: [ {} ]\n}}\n",
                routes[i],
                route_urls.join(", ")
            ),
        )
        .expect("write node config");
        let conf = conf.to_str().expect("path").to_string();
        procs.push(Some(nats_server(&node, ip, clients[i], &["-c", &conf])));
    }
    let url = clients
        .iter()
        .map(|p| format!("nats://{ip}:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    (url, procs)
}

/// The event ids in the stream, in order; an error when a sequence number is missing (a gap) or
/// the stream cannot be read now.
async fn stored_ids(js: &jetstream::Context) -> Result<Vec<String>, String> {
    let mut stream = js
        .get_stream("BMC_EVENTS")
        .await
        .map_err(|e| e.to_string())?;
    let state = stream
        .info()
        .await
        .map_err(|e| e.to_string())?
        .state
        .clone();
    let mut ids = Vec::new();
    for seq in state.first_sequence..=state.last_sequence {
        match stream.get_raw_message(seq).await {
            Ok(msg) => {
                let e: serde_json::Value = serde_json::from_slice(&msg.payload).expect("event");
                ids.push(e["id"].as_str().expect("id").to_string());
            }
            Err(e) if e.kind() == jetstream::stream::RawMessageErrorKind::NoMessageFound => {
                panic!("a gap in the stream at sequence {seq}")
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(ids)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nats_node_lost_loses_no_event_and_no_key() {
    let _heavy = HEAVY.lock().await;
    let bed = TestBed::new()
        .bmcs(30)
        .shapes(vec![SimShape::Legacy])
        .interval("1s")
        .timeout("1s")
        .toml("[ipmi]\nrequest-timeout = \"300ms\"\nretries = 1\n")
        .start()
        .await;
    let (url, mut nodes) = cluster(bed.dir.path());
    let config = |id: &str| {
        let mut c = catcher_config(&bed, &url, id);
        c.nats.replicas = 3;
        c
    };
    let a = Catcher::start(config("mgmt-a"), &bed);
    let b = Catcher::start(config("mgmt-b"), &bed);
    let recorders = [Arc::new(Recorder::default()), Arc::new(Recorder::default())];
    a.store.observe(recorders[0].clone());
    b.store.observe(recorders[1].clone());

    let client = async_nats::ConnectOptions::new()
        .connect(url.split(',').collect::<Vec<_>>())
        .await
        .expect("connect");
    let js = jetstream::new(client);
    // The cluster is up once the catchers made the R3 stream (meta leader elected).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while js.get_stream("BMC_EVENTS").await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no stream on the cluster"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_until(Duration::from_secs(20), "both catchers own BMCs", || {
        !a.macs().is_empty() && !b.macs().is_empty()
    })
    .await;

    // The members stay as they are through the node loss: no live catcher looks dead to its peer
    // while the cluster elects new leaders (member-ttl is 5 renewals, and no peer is expired while
    // a catcher's own watch lags).
    wait_until(Duration::from_secs(10), "the split settled", || {
        a.macs().len() + b.macs().len() == 30
    })
    .await;
    let owned = (a.macs(), b.macs());
    let changes = a.metric("bmc_catcher_membership_changes_total").await;

    // Flip power every 1.5 s; kill a node half way.
    for round in 0..8 {
        let power = if round % 2 == 0 {
            PowerState::Off
        } else {
            PowerState::On
        };
        for r in &bed.fleet.bmcs {
            r.bmc.state().power = sim_power(power);
        }
        if round == 4 {
            nodes[0].take();
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }

    // Every event emitted is in the stream, once, and the stream has no gap.
    let mut emitted: BTreeSet<String> = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        for r in &recorders {
            emitted.extend(r.take().into_iter().map(|e| e.id));
        }
        // The client may still be moving off the killed node, and the stream electing a leader:
        // a request that times out is asked again until the deadline.
        let stored = match stored_ids(&js).await {
            Ok(ids) => ids,
            Err(e) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "stream unreadable: {e}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let unique: BTreeSet<String> = stored.iter().cloned().collect();
        assert_eq!(unique.len(), stored.len(), "an event stored twice");
        let missing = emitted.difference(&unique).count();
        if missing == 0 {
            eprintln!(
                "{} events emitted, all {} in the stream after a node loss",
                emitted.len(),
                stored.len()
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{missing} of {} events never reached the stream",
            emitted.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Both catchers carry on with the split they had (a member seen leaving and coming back
    // during the loss would show in the changes count, printed; its lasting effect would not pass).
    wait_until(
        Duration::from_secs(10),
        "the split as before the node loss",
        || (a.macs(), b.macs()) == owned,
    )
    .await;
    eprintln!(
        "membership changes seen by a during the node loss: {}",
        a.metric("bmc_catcher_membership_changes_total").await - changes
    );
    assert!(
        emitted.len() >= 30 * 4,
        "power changes were emitted: {}",
        emitted.len()
    );

    // Every BMC's KV entry is there and says its power now (On after round 7).
    let kv = js.get_key_value("bmc_state").await.expect("kv");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for r in &bed.fleet.bmcs {
        let key = format!("test.{}", r.bmc.mac.to_string().replace(':', "-"));
        loop {
            let power = kv
                .get(&key)
                .await
                .ok()
                .flatten()
                .and_then(|v| serde_json::from_slice::<serde_json::Value>(&v).ok())
                .and_then(|v| v["power"]["ok"].as_str().map(str::to_string));
            if power.as_deref() == Some("On") {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{key}: KV power {power:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    drop((a, b));
}
