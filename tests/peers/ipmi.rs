//! The IPMI backend against OpenIPMI's ipmi_sim, checked with ipmitool: readings and power equal
//! what ipmitool prints (after changing them at run time), one session over 50 rounds and none left
//! after close, error kinds for each way a session can fail, commands, and no forked process.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::{Config, Credentials, ProtocolChoice};
use bmc_catcher::hal::Connector;
use bmc_catcher::model::{Action, ErrorKind, Health, MacAddr, PowerState, Target};
use bmc_catcher::poller::{Schedule, poll_round};

fn ipmi_config(dir: &std::path::Path) -> Config {
    let mut c = Config {
        partition: "test".into(),
        credentials_file: None,
        ..Config::default()
    };
    c.discovery.leases_file = dir.join("dhcpd.leases");
    c.poll.protocol = ProtocolChoice::Ipmi;
    c.poll.timeout = Duration::from_secs(10);
    c.http.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c
}

fn target(mac: &str, ip: std::net::Ipv4Addr, port: Option<u16>) -> Target {
    Target {
        mac: mac.parse().expect("mac"),
        ip: IpAddr::V4(ip),
        port,
        hostname: None,
        lease_ends: None,
    }
}

fn schedule() -> Schedule {
    Schedule {
        interval: Duration::from_secs(60),
        timeout: Duration::from_secs(10),
        concurrency: 8,
    }
}

/// `ipmitool sensor list`: name -> (value, status) for threshold sensors.
fn sensor_list(text: &str) -> BTreeMap<String, (f64, String)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            let v: f64 = f.get(1)?.parse().ok()?;
            Some((f[0].to_string(), (v, f.get(3)?.to_string())))
        })
        .collect()
}

fn health_word(h: &str) -> Health {
    match h {
        "ok" => Health::Ok,
        "nc" => Health::Warning,
        "cr" | "nr" => Health::Critical,
        _ => Health::Unknown,
    }
}

#[test]
fn poll_once_equals_ipmitool_after_runtime_changes() {
    let dir = tempfile::tempdir().expect("tmp");
    let ip = unique_ip();
    let sim = IpmiSim::start(dir.path(), "pollonce", ip);
    // Change readings at run time, and the power "from the host side".
    sim.console(&[
        "sensor_set_value 0x20 0 1 95 1",
        "sensor_set_value 0x20 0 3 8 1",
        "sensor_set_value 0x20 0 2 42 1",
    ]);
    std::fs::write(sim.run.join("power"), "0\n").expect("power off");
    let cfg = ipmi_sim_config(dir.path(), "52:54:00:bb:00:01", ip);
    let snaps = poll_once(&cfg);
    let s = &snaps[0];
    assert_eq!(s["protocol"], "ipmi", "{s}");
    assert_eq!(s["power"]["ok"], "Off", "{s}");
    assert!(
        sim.ipmitool(&["chassis", "power", "status"])
            .contains("off")
    );
    let ours: BTreeMap<String, (f64, Health)> = s["sensors"]["ok"]
        .as_array()
        .expect("sensors")
        .iter()
        .map(|x| {
            let h: Health = serde_json::from_value(x["health"].clone()).expect("health");
            (
                x["name"].as_str().expect("name").to_string(),
                (x["reading"].as_f64().expect("reading"), h),
            )
        })
        .collect();
    let theirs = sensor_list(&sim.ipmitool(&["sensor", "list"]));
    assert!(theirs.len() >= 7, "{theirs:?}");
    for (name, (value, status)) in &theirs {
        let (v, h) = ours
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from poll-once: {ours:?}"));
        assert!(
            (v - value).abs() < 0.0005,
            "{name}: ours {v}, ipmitool {value}"
        );
        assert_eq!(*h, health_word(status), "{name}: ipmitool says {status}");
    }
    assert_eq!(theirs["CPU Temp"].1, "cr");
    assert_eq!(s["inventory"]["ok"]["serial"], "SRV-pollonce");
    assert_eq!(s["inventory"]["ok"]["bmc_firmware"], "2.10");
    assert_eq!(
        s["power_metrics"]["ok"]["consumed_watts"], 320.0,
        "falls back to the power sensor"
    );
    assert_eq!(s["psus"]["ok"][0]["state"], "Enabled", "{s}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_rounds_use_one_session_and_none_is_left() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tmp");
    let ip = unique_ip();
    let sim = IpmiSim::start(dir.path(), "fifty", ip);
    let cfg = ipmi_config(dir.path());
    let connector =
        Connector::new(&cfg, Credentials::single("admin", "password")).expect("connector");
    let bmc = connector.connect(&target("52:54:00:bb:00:02", ip, None));
    let before = tokio::task::block_in_place(|| sim.active_sessions());
    for round in 0..50 {
        let r = bmc.poll().await;
        assert!(
            r.first_error().is_none()
                || r.led
                    .err()
                    .is_some_and(|e| e.kind == ErrorKind::Unsupported),
            "round {round}: {r:?}"
        );
        if round == 25 {
            // ipmitool still gets in while we hold our session.
            let status =
                tokio::task::block_in_place(|| sim.ipmitool(&["chassis", "power", "status"]));
            assert!(status.contains("Chassis Power is on"), "{status}");
        }
    }
    let during = tokio::task::block_in_place(|| sim.active_sessions());
    assert_eq!(
        during,
        before + 1,
        "exactly one session of ours after 50 rounds"
    );
    bmc.close().await;
    let after = tokio::task::block_in_place(|| sim.active_sessions());
    assert_eq!(after, before, "our session is closed");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_failure_has_its_kind_and_spares_the_others() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tmp");
    let ip = unique_ip();
    let _sim = IpmiSim::start(dir.path(), "kinds", ip);
    // A "BMC" that reads every datagram and never answers.
    let mute_ip = unique_ip();
    let mute = tokio::net::UdpSocket::bind((mute_ip, 0))
        .await
        .expect("mute");
    let mute_port = mute.local_addr().expect("addr").port();
    let closed_ip = unique_ip();
    let closed_port = {
        let s = std::net::UdpSocket::bind((closed_ip, 0)).expect("bind");
        s.local_addr().expect("addr").port()
    };
    let creds = Credentials::parse(
        "username = \"admin\"\npassword = \"password\"\n\
         [[override]]\nmac = \"52:54:00:bb:00:12\"\nusername = \"admin\"\npassword = \"wrong\"\n\
         [[override]]\nmac = \"52:54:00:bb:00:13\"\nusername = \"nobody\"\npassword = \"password\"\n",
        std::path::Path::new("creds.toml"),
    )
    .expect("creds");
    let cfg = ipmi_config(dir.path());
    let connector = Connector::new(&cfg, creds.clone()).expect("connector");
    let targets = vec![
        target("52:54:00:bb:00:11", ip, None),
        target("52:54:00:bb:00:12", ip, None),
        target("52:54:00:bb:00:13", ip, None),
        target("52:54:00:bb:00:14", closed_ip, Some(closed_port)),
        target("52:54:00:bb:00:15", mute_ip, Some(mute_port)),
    ];
    let snaps = poll_round(&connector, &targets, "test", schedule()).await;
    let kind = |mac: &str| {
        let m: MacAddr = mac.parse().expect("mac");
        let s = snaps.iter().find(|s| s.mac == m).expect("snap");
        (
            s.reading.power.err().map(|e| e.kind),
            s.duration_ms,
            s.reading.power.err().map(|e| e.message.clone()),
        )
    };
    assert_eq!(
        kind("52:54:00:bb:00:11").0,
        None,
        "the healthy BMC: {:?}",
        kind("52:54:00:bb:00:11")
    );
    assert_eq!(
        kind("52:54:00:bb:00:12").0,
        Some(ErrorKind::Auth),
        "wrong password"
    );
    assert!(
        !kind("52:54:00:bb:00:12")
            .2
            .unwrap_or_default()
            .contains("wrong\""),
        "no password in errors"
    );
    assert_eq!(
        kind("52:54:00:bb:00:13").0,
        Some(ErrorKind::Auth),
        "unknown user"
    );
    assert_eq!(
        kind("52:54:00:bb:00:14").0,
        Some(ErrorKind::Unreachable),
        "nothing listening"
    );
    let (k, ms, _) = kind("52:54:00:bb:00:15");
    assert_eq!(k, Some(ErrorKind::Timeout), "never answers");
    assert!(ms < 10_000, "within the deadline: {ms} ms");

    // Cipher suite 17 only: ipmi_sim refuses it.
    let mut only17 = ipmi_config(dir.path());
    only17.ipmi.cipher_suites = vec![17];
    let connector = Connector::new(&only17, creds).expect("connector");
    let snaps = poll_round(&connector, &targets[..1], "test", schedule()).await;
    assert_eq!(
        snaps[0].reading.power.err().map(|e| e.kind),
        Some(ErrorKind::Unsupported),
        "{:?}",
        snaps[0]
    );
    drop(mute);
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_switch_power_through_chassis_control() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tmp");
    let ip = unique_ip();
    let sim = IpmiSim::start(dir.path(), "cmds", ip);
    let cfg = ipmi_config(dir.path());
    let creds = Credentials::parse(
        "username = \"operator\"\npassword = \"operpass\"\n",
        std::path::Path::new("creds.toml"),
    )
    .expect("creds");
    let connector = Connector::new(&cfg, creds).expect("connector");
    let bmc = connector.connect(&target("52:54:00:bb:00:21", ip, None));
    assert_eq!(bmc.power_state().await.expect("power"), PowerState::On);
    bmc.perform(Action::PowerOff)
        .await
        .expect("an operator may switch power off");
    assert_eq!(bmc.power_state().await.expect("power"), PowerState::Off);
    let status = tokio::task::block_in_place(|| sim.ipmitool(&["chassis", "power", "status"]));
    assert!(status.contains("Chassis Power is off"), "{status}");
    bmc.perform(Action::PowerOn).await.expect("on");
    bmc.perform(Action::BootPxe).await.expect("boot pxe");
    let log = std::fs::read_to_string(sim.run.join("chassis.log")).expect("log");
    assert!(
        log.contains("set power 0") && log.contains("set power 1") && log.contains("set boot pxe"),
        "{log}"
    );
    bmc.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_forks_nothing_while_polling() {
    let dir = tempfile::tempdir().expect("tmp");
    let ip = unique_ip();
    let _sim = IpmiSim::start(dir.path(), "nofork", ip);
    let cfg = write_config(
        dir.path(),
        &leases(&[("52:54:00:bb:00:31", ip)]),
        8443,
        "\n[ipmi]\nport = 623\n",
    );
    let text = std::fs::read_to_string(&cfg)
        .expect("cfg")
        .replace(
            "interval = \"1m\"",
            "interval = \"1s\"\nprotocol = \"ipmi\"",
        )
        .replace("timeout = \"10s\"", "timeout = \"1s\"");
    std::fs::write(
        &cfg,
        text.replace(
            "[ipmi]\nport = 623\n",
            "[ipmi]\nport = 623\nrequest-timeout = \"300ms\"\nretries = 1\n",
        ),
    )
    .expect("cfg");
    let mut child = std::process::Command::new(bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .env("BMC_CATCHER_LOG", "bmc_catcher=debug")
        .stderr(std::fs::File::create(dir.path().join("run.log")).expect("log"))
        .spawn()
        .expect("run");
    let pid = child.id();
    let children = || -> usize {
        let mut n = 0;
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                n += std::fs::read_to_string(t.path().join("children"))
                    .unwrap_or_default()
                    .split_whitespace()
                    .count();
            }
        }
        n
    };
    let mut samples = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        assert_eq!(children(), 0, "the daemon forked a process");
        samples += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = std::fs::read_to_string(dir.path().join("run.log")).expect("log");
    let _ = kill(&pid.to_string(), libc::SIGTERM);
    let _ = child.wait();
    assert!(samples > 50);
    let polls = log
        .lines()
        .filter(|l| l.contains("\"message\":\"poll done\"") && l.contains("\"up\":true"))
        .count();
    assert!(
        polls >= 3,
        "at least three IPMI polls while sampling: {log}"
    );
    assert!(!log.contains("poll incomplete"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_detects_redfish_and_ipmi_and_remembers() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tmp");
    let ipmi_ip = unique_ip();
    let _sim = IpmiSim::start(dir.path(), "auto", ipmi_ip);
    let cancel = tokio_util::sync::CancellationToken::new();
    let spec = bmc_sim::FleetSpec {
        count: 1,
        first_ip: unique_ip(),
        ..Default::default()
    };
    let fleet = bmc_sim::SimFleet::start(&spec, cancel.clone())
        .await
        .expect("sim");
    let mut cfg = ipmi_config(dir.path());
    cfg.poll.protocol = ProtocolChoice::Auto;
    cfg.redfish.port = fleet.port();
    cfg.redfish.tls = bmc_catcher::config::TlsPolicy::Insecure;
    let connector =
        Connector::new(&cfg, Credentials::single("admin", "password")).expect("connector");
    let redfish_ip = match fleet.bmcs[0].addr.ip() {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(_) => unreachable!("the simulator listens on IPv4 loopback"),
    };
    let rf = connector.connect(&target("02:00:00:00:00:01", redfish_ip, None));
    let ip = connector.connect(&target("52:54:00:bb:00:41", ipmi_ip, None));
    assert_eq!(
        rf.describe().protocol,
        None,
        "unknown before the first poll"
    );
    for _ in 0..2 {
        let (a, b) = tokio::join!(rf.poll(), ip.poll());
        assert!(a.power.ok().is_some(), "{a:?}");
        assert!(b.power.ok().is_some(), "{b:?}");
    }
    assert_eq!(
        rf.describe().protocol,
        Some(bmc_catcher::model::Protocol::Redfish)
    );
    assert_eq!(
        ip.describe().protocol,
        Some(bmc_catcher::model::Protocol::Ipmi)
    );
    rf.close().await;
    ip.close().await;
    cancel.cancel();
}
