//! TLS pins in the NATS KV (real nats-server with JetStream): a daemon under `tls = "pin"` writes
//! the pins it takes to the bucket; a new management server (empty state directory, same NATS) gets
//! them back; a pin removed by `trust` leaves the bucket and does not come back.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::{Config, Credentials, LeasesFormat, TlsPolicy};
use bmc_catcher::daemon::Daemon;
use bmc_catcher::hal::redfish::pin;
use bmc_catcher::publish::nats::pins;
use bmc_sim::{FleetSpec, SimFleet};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread")]
async fn pins_reach_the_kv_and_come_back_to_a_new_management_server() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim_cancel = CancellationToken::new();
    let spec = FleetSpec {
        count: 2,
        first_ip: unique_ip(),
        ..Default::default()
    };
    let fleet = SimFleet::start(&spec, sim_cancel.clone())
        .await
        .expect("sim");
    let dir = tempfile::tempdir().expect("tmp");
    let leases = dir.path().join("dhcpd.leases");
    fleet
        .write_leases(&leases, bmc_catcher::store::now_ms() / 1000)
        .expect("leases");
    let nats_ip = unique_ip();
    let nats_port = free_port(nats_ip);
    let _nats = nats_server(dir.path(), nats_ip, nats_port, &[]);

    let mut config = Config {
        partition: "test".into(),
        credentials_file: None,
        ..Config::default()
    };
    config.discovery.leases_file = leases;
    config.discovery.leases_format = LeasesFormat::IscDhcpd;
    config.poll.interval = Duration::from_secs(2);
    config.poll.timeout = Duration::from_secs(2);
    config.redfish.port = fleet.port();
    config.redfish.tls = TlsPolicy::Pin;
    config.redfish.pin_file = dir.path().join("first/tls-pins.json");
    config.http.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.nats.url = Some(format!("nats://{nats_ip}:{nats_port}"));
    let daemon = Daemon::start(&config, Credentials::single("admin", "password"))
        .await
        .expect("daemon");

    // The first management server pins both BMCs, and the pins reach the bucket.
    let client = async_nats::connect(format!("{nats_ip}:{nats_port}"))
        .await
        .expect("nats");
    let js = async_nats::jetstream::new(client);
    let ips: Vec<String> = fleet.bmcs.iter().map(|r| r.addr.ip().to_string()).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let first = loop {
        let local = pin::load(&config.redfish.pin_file);
        let mut in_kv = 0;
        if let Ok(kv) = js.get_key_value("bmc_tls_pins").await {
            for ip in &ips {
                let value = kv.get(format!("test.{ip}")).await.ok().flatten();
                let sha = value
                    .and_then(|v| serde_json::from_slice::<serde_json::Value>(&v).ok())
                    .and_then(|v| v["sha256"].as_str().map(str::to_string));
                if sha.is_some() && sha.as_ref() == local.get(ip) {
                    in_kv += 1;
                }
            }
        }
        if in_kv == ips.len() {
            break local;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pins in the KV: {in_kv} of {}",
            ips.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    daemon.stop().await;

    // A new management server: empty state directory, same NATS.
    let kv = pins::bucket(&js, &config.nats).await.expect("bucket");
    let second = dir.path().join("second/tls-pins.json");
    let mut last = None;
    pins::sync(&kv, "test", &second, &mut last)
        .await
        .expect("sync");
    assert_eq!(pin::load(&second), first, "pins restored from the KV");

    // `trust` on it: the pin leaves the bucket, and a later start does not restore it.
    let mut trusted = pin::load(&second);
    trusted.remove(&ips[0]);
    pin::save(&second, &trusted).expect("save");
    pins::sync(&kv, "test", &second, &mut last)
        .await
        .expect("sync");
    assert!(
        kv.get(format!("test.{}", ips[0]))
            .await
            .expect("get")
            .is_none(),
        "trusted anew: gone from the KV"
    );
    let mut restarted = None;
    pins::sync(&kv, "test", &second, &mut restarted)
        .await
        .expect("sync");
    let after = pin::load(&second);
    assert!(!after.contains_key(&ips[0]), "{after:?}");
    assert_eq!(after.get(&ips[1]), first.get(&ips[1]));
    sim_cancel.cancel();
}
