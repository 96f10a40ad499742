//! The least-privilege account example (deploy/nats/accounts.conf) on a real nats-server: the
//! catcher can publish its state and answer commands, the reader can read state and events but not
//! command, the operator can command.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::*;
use async_nats::jetstream;
use bmc_catcher::config::{Config, Credentials, LeasesFormat, TlsPolicy};
use bmc_catcher::daemon::Daemon;
use bmc_sim::SimShape;
use futures::StreamExt;

const ACCOUNTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nats/accounts.conf");

async fn connect(url: &str, user: &str, pass: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), pass.into())
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("{user} connects: {e}"))
}

fn power(
    dir: &std::path::Path,
    url: &str,
    user: &str,
    pass: &str,
    mac: &str,
) -> (Option<i32>, String) {
    let creds = dir.join(format!("{user}.toml"));
    write_secret(
        &creds,
        &format!("[nats]\nusername = \"{user}\"\npassword = \"{pass}\"\n"),
    );
    let cfg = dir.join(format!("{user}-config.toml"));
    std::fs::write(
        &cfg,
        format!(
            "credentials-file = \"{}\"\n[nats]\nurl = \"{url}\"\n",
            creds.display()
        ),
    )
    .expect("cfg");
    let out = std::process::Command::new(bin())
        .args(["power", mac, "identify-on", "--timeout", "5s", "--config"])
        .arg(&cfg)
        .output()
        .expect("power");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// What the test's nats-server logged (its permission violations).
fn nats_logs(dir: &std::path::Path) -> String {
    std::fs::read_dir(dir)
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("nats-"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_user_can_do_exactly_its_job() {
    let bed = TestBed::new()
        .bmcs(1)
        .shapes(vec![SimShape::Legacy])
        .start()
        .await;
    let (fleet, cancel) = (&bed.fleet, &bed.cancel);
    // A SEL record, so the catcher has a log cursor to share.
    fleet.bmcs[0]
        .bmc
        .state()
        .sel
        .event(0x01, 0x42, 0x01, [0x59, 0x5c, 0x5a]);
    let dir = &bed.dir;
    let ip = unique_ip();
    let port = free_port(ip);
    let _nats = nats_server(dir.path(), ip, port, &["-c", ACCOUNTS]);
    let url = format!("nats://{ip}:{port}");

    let mut config = Config {
        credentials_file: None,
        ..Config::default()
    };
    config.discovery.leases_file = dir.path().join("dhcpd.leases");
    config.discovery.leases_format = LeasesFormat::IscDhcpd;
    config.poll.interval = Duration::from_secs(60);
    config.poll.timeout = Duration::from_secs(5);
    config.redfish.port = fleet.port();
    config.redfish.tls = TlsPolicy::Pin;
    config.redfish.pin_file = dir.path().join("tls-pins.json");
    config.http.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.nats.url = Some(url.clone());
    config.nats.member_id = Some("mgmt-1".into());
    let creds = Credentials::parse(
        "username = \"admin\"\npassword = \"password\"\n[nats]\nusername = \"bmc-catcher-default\"\npassword = \"change-me-catcher\"\n",
        std::path::Path::new("test-creds.toml"),
    )
    .expect("creds");

    let reader = connect(&url, "bmc-reader", "change-me-reader").await;
    let mut events = reader
        .subscribe("bmc.*.*.event.>")
        .await
        .expect("reader subscribes to events");
    reader.flush().await.expect("flush");
    let daemon = Daemon::start(&config, creds).await.expect("daemon");
    let mac = fleet.bmcs[0].bmc.mac;
    let token = mac.to_string().replace(':', "-");

    // The catcher published an event the reader sees, and a KV entry the reader can read.
    let first = tokio::time::timeout(Duration::from_secs(20), events.next())
        .await
        .expect("an event")
        .expect("msg");
    assert!(
        first
            .subject
            .as_str()
            .starts_with(&format!("bmc.default.{token}.event.")),
        "{}",
        first.subject
    );
    let js = jetstream::new(reader.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = match js.get_key_value("bmc_state").await {
            Ok(kv) => kv.get(format!("default.{token}")).await.ok().flatten(),
            Err(_) => None,
        };
        if let Some(v) = got {
            let snap: serde_json::Value = serde_json::from_slice(&v).expect("json");
            assert_eq!(snap["power"]["ok"], "On");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "reader never read the KV entry"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Under its own account the catcher keeps its TLS pins in the pins bucket.
    let catcher = connect(&url, "bmc-catcher-default", "change-me-catcher").await;
    let cjs = jetstream::new(catcher);
    let ip = fleet.bmcs[0].addr.ip().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = match cjs.get_key_value("bmc_tls_pins").await {
            Ok(kv) => kv.get(format!("default.{ip}")).await.ok().flatten(),
            Err(_) => None,
        };
        if got.is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the catcher's pin never reached the bmc_tls_pins bucket: {}",
            nats_logs(dir.path())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // And the cursor of the BMC's log in the log cursors bucket.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = match cjs.get_key_value("bmc_log_cursors").await {
            Ok(kv) => kv.get(format!("default.{token}")).await.ok().flatten(),
            Err(_) => None,
        };
        if got.is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the catcher's log cursor never reached the bmc_log_cursors bucket: {}",
            nats_logs(dir.path())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // And what the BMC turned out to support in the profiles bucket.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = match cjs.get_key_value("bmc_profiles").await {
            Ok(kv) => kv.get(format!("default.{token}")).await.ok().flatten(),
            Err(_) => None,
        };
        if let Some(v) = got {
            let p: bmc_catcher::model::Profile = serde_json::from_slice(&v).expect("a profile");
            assert_eq!(p.protocol, bmc_catcher::model::Protocol::Redfish, "{p:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the catcher's BMC profile never reached the bmc_profiles bucket: {}",
            nats_logs(dir.path())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The catcher joined its partition's members (a denied bucket would leave it polling alone,
    // quietly degraded); the reader lists the members, and can forge none.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = bmc_catcher::cli::members::read(&js, "bmc_members").await;
        if let Ok(rows) = &rows
            && rows
                .iter()
                .any(|r| r.partition == "default" && r.member == "mgmt-1" && r.info.is_some())
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the catcher never joined bmc_members: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let members = js.get_key_value("bmc_members").await.expect("members kv");
    assert!(
        members.put("default.forged", "{}".into()).await.is_err(),
        "reader must not join a partition"
    );
    let op = jetstream::new(connect(&url, "bmc-operator", "change-me-operator").await);
    if let Ok(kv) = op.get_key_value("bmc_members").await {
        assert!(
            kv.put("default.forged", "{}".into()).await.is_err(),
            "operator must not join a partition"
        );
    }

    // The reader may not command; the operator may.
    let (d, u) = (dir.path().to_path_buf(), url.clone());
    let m = mac.to_string();
    let (code, out) =
        tokio::task::spawn_blocking(move || power(&d, &u, "bmc-reader", "change-me-reader", &m))
            .await
            .expect("join");
    assert_eq!(code, Some(1), "reader must not command: {out}");
    assert!(!fleet.bmcs[0].bmc.state().led_on);
    let (d, u) = (dir.path().to_path_buf(), url.clone());
    let m = mac.to_string();
    let (code, out) = tokio::task::spawn_blocking(move || {
        power(&d, &u, "bmc-operator", "change-me-operator", &m)
    })
    .await
    .expect("join");
    assert_eq!(code, Some(0), "operator commands: {out}");
    assert!(fleet.bmcs[0].bmc.state().led_on);

    // The reader cannot write state.
    let kv = js.get_key_value("bmc_state").await.expect("kv");
    assert!(
        kv.put(format!("default.{token}"), "forged".into())
            .await
            .is_err(),
        "reader must not write the KV"
    );
    daemon.stop().await;
    cancel.cancel();
}
