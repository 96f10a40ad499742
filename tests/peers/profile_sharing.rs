//! BMC capability profiles shared through a real nats-server's KV bucket (`[nats]
//! profiles-bucket`): a profile one catcher finds reaches the other; a forgotten one is deleted
//! from the bucket; a hostile value (a Redfish path on another host, an oversized body) is skipped
//! and the good ones still arrive.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::Config;
use bmc_catcher::hal::profiles::Profiles;
use bmc_catcher::model::{IpmiProfile, MacAddr, Profile, Protocol};
use bmc_catcher::publish::nats::profiles as shared;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A catcher's profiles (memory only), shared by the daemon's own task until `stop`.
fn sharing(
    client: &async_nats::Client,
    nats: &Config,
    stop: &CancellationToken,
) -> (Arc<Profiles>, tokio::task::JoinHandle<()>) {
    let profiles = Arc::new(Profiles::default());
    let (tx, connected) = watch::channel(true);
    let task = tokio::spawn({
        let (client, cfg, p, stop) = (
            client.clone(),
            nats.nats.clone(),
            profiles.clone(),
            stop.clone(),
        );
        async move {
            let _tx = tx;
            shared::run(client, cfg, "test".into(), p, connected, stop).await
        }
    });
    (profiles, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_found_by_one_catcher_reaches_the_other_and_hostile_ones_are_skipped() {
    let dir = tempfile::tempdir().expect("tmp");
    let ip = unique_ip();
    let port = free_port(ip);
    let _nats = nats_server(dir.path(), ip, port, &[]);
    let mut nats = Config::default();
    nats.nats.url = Some(format!("nats://{ip}:{port}"));
    let client = async_nats::connect(format!("{ip}:{port}"))
        .await
        .expect("nats");
    let js = async_nats::jetstream::new(client.clone());
    let stop = CancellationToken::new();
    let (a, task_a) = sharing(&client, &nats, &stop);
    let (b, task_b) = sharing(&client, &nats, &stop);

    let mac: MacAddr = "02:00:00:00:aa:01".parse().expect("mac");
    let found = Profile {
        ipmi: Some(IpmiProfile {
            cipher_suite: Some(17),
            dcmi_power: Some(true),
            sel: Some(true),
        }),
        ..Profile::new(Protocol::Ipmi, 10)
    };
    a.set(mac, found.clone());
    wait_until(Duration::from_secs(20), "b has a's profile", || {
        b.get(mac).as_ref() == Some(&found)
    })
    .await;

    // Forgotten (found stale) by a: its key leaves the bucket.
    let kv = shared::bucket(&js, &nats.nats).await.expect("bucket");
    a.forget(mac);
    let key = "test.02-00-00-00-aa-01";
    let mut gone = false;
    for _ in 0..200 {
        if kv.get(key).await.expect("get").is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "{key} still in the bucket");

    // Hostile values next to a good one: only the good one is taken.
    let far = r#"{"protocol":"redfish","detected_ms":5,"redfish":{"shape":"none","system":"//10.0.0.9/x"}}"#;
    kv.put("test.02-00-00-00-aa-02", far.into())
        .await
        .expect("put");
    kv.put("test.02-00-00-00-aa-03", vec![b' '; 100_000].into())
        .await
        .expect("put");
    kv.put(
        "test.02-00-00-00-aa-04",
        r#"{"protocol":"ipmi","detected_ms":7}"#.into(),
    )
    .await
    .expect("put");
    let good: MacAddr = "02:00:00:00:aa:04".parse().expect("mac");
    wait_until(Duration::from_secs(20), "the good value merged", || {
        b.get(good).is_some()
    })
    .await;
    for bad in ["02:00:00:00:aa:02", "02:00:00:00:aa:03"] {
        assert_eq!(b.get(bad.parse().expect("mac")), None, "{bad}");
    }
    stop.cancel();
    task_a.await.expect("task a");
    task_b.await.expect("task b");
}
