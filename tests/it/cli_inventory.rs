//! The component commands of the real binary against a running daemon and simulated BMCs:
//! `inventory MAC` (table and `-o json`, compared with the daemon's snapshot and profile), `firmware` (the
//! drift table marks the odd BMC), and `refresh MAC` (re-reads a firmware inventory that would
//! otherwise wait a day; refused when repeated at once, for an unknown BMC, and without the API's
//! password).

use std::process::Command;
use std::time::Duration;

use crate::common::*;
use crate::it::components::component_fleet;
use crate::it::daemon::{init, snapshot, wait_for};
use bmc_catcher::daemon::Daemon;
use bmc_catcher::model::IssueType;
use bmc_sim::state::components::{BIOS_VERSION, BMC_FIRMWARE, MISMATCHED, NIC_FIRMWARE};
use bmc_sim::state::named_fault::SimFault;

/// Runs `bmc-catcher ARGS --api http://ADDR`; (exit code, stdout, stderr).
fn cli(addr: std::net::SocketAddr, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(bin())
        .args(args)
        .args(["--api", &format!("http://{addr}")])
        .env_remove("BMC_CATCHER_CONFIG")
        .output()
        .expect("run bmc-catcher");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn inventory_firmware_and_refresh_from_the_command_line() {
    init();
    let bed = component_fleet().await;
    let sim = bed.fleet.bmcs[0].bmc.clone();
    SimFault::FirmwareMismatch.apply(&mut sim.state());
    let daemon = Daemon::start(&bed.config(), bed.credentials())
        .await
        .expect("daemon");
    let m = mac(sim.mac);
    wait_for(&daemon.store, Duration::from_secs(20), "drift", |st| {
        snapshot(st, m).is_some_and(|s| s.issues.iter().any(|i| i.kind == IssueType::FirmwareDrift))
    })
    .await;
    let addr = daemon.addr;
    let ms = m.to_string();

    // inventory: every part of the snapshot, in the table and whole in JSON.
    let (code, table, err) = tokio::task::spawn_blocking({
        let ms = ms.clone();
        move || cli(addr, &["inventory", &ms])
    })
    .await
    .expect("join");
    assert_eq!(code, Some(0), "{err}");
    for want in [
        "Disk0",
        "Disk1",
        "RAID1",
        "DIMM_A1",
        "CPU2",
        "NIC1",
        "link up",
        "no link",
        MISMATCHED.0,
        MISMATCHED.1,
        NIC_FIRMWARE,
    ] {
        assert!(table.contains(want), "{want} missing from:\n{table}");
    }
    // What the BMC turned out to support, from the daemon's profile of it.
    let profile = daemon
        .profiles
        .get(m)
        .expect("a profile after the first poll");
    let system = &profile.redfish.as_ref().expect("redfish").system;
    assert!(
        table.contains("profile: redfish") && table.contains(system.as_str()),
        "no profile in:\n{table}"
    );
    let (code, json, err) = tokio::task::spawn_blocking({
        let ms = ms.clone();
        move || cli(addr, &["inventory", &ms, "-o", "json"])
    })
    .await
    .expect("join");
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let s = snapshot(&daemon.store, m).expect("polled");
    let components = serde_json::to_value(s.reading.components.as_deref().expect("components"))
        .expect("serialise");
    assert_eq!(v["components"]["storage"], components["storage"]);
    assert_eq!(v["components"]["firmware"], components["firmware"]);
    assert_eq!(
        v["profile"],
        serde_json::to_value(daemon.profiles.get(m)).expect("serialise")
    );

    // firmware: two BMCs on the usual versions, the odd one marked with its MAC.
    let (code, drift, err) = tokio::task::spawn_blocking(move || cli(addr, &["firmware"]))
        .await
        .expect("join");
    assert_eq!(code, Some(0), "{err}");
    let line = |version: &str| {
        drift
            .lines()
            .find(|l| l.contains(version))
            .unwrap_or_else(|| panic!("no {version} row in:\n{drift}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(line(BMC_FIRMWARE).ends_with("2 -"), "{drift}");
    assert!(line(BIOS_VERSION).ends_with("2 -"), "{drift}");
    assert!(
        line(MISMATCHED.0).ends_with(&format!("1 drift: {ms}")),
        "{drift}"
    );
    assert!(
        line(MISMATCHED.1).ends_with(&format!("1 drift: {ms}")),
        "{drift}"
    );
    let (code, only, _) =
        tokio::task::spawn_blocking(move || cli(addr, &["firmware", "--drift", "-o", "json"]))
            .await
            .expect("join");
    assert_eq!(code, Some(0));
    let only: serde_json::Value = serde_json::from_str(&only).expect("JSON");
    assert_eq!(only.as_array().map(Vec::len), Some(2), "{only}");

    // refresh: the NIC firmware changed; the inventory (due in a day) shows it only once asked.
    sim.state().parts.nic_firmware = "22.36.1".into();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let nic = |st: &bmc_catcher::store::Store| {
        snapshot(st, m)
            .and_then(|s| {
                s.reading
                    .components
                    .as_deref()
                    .and_then(|c| c.firmware.ok().cloned())
            })
            .and_then(|f| f.into_iter().find(|f| f.id == "NIC"))
            .and_then(|f| f.version)
    };
    assert_eq!(
        nic(&daemon.store).as_deref(),
        Some(NIC_FIRMWARE),
        "not re-read unasked"
    );
    let (code, out, err) = tokio::task::spawn_blocking({
        let ms = ms.clone();
        move || cli(addr, &["refresh", &ms])
    })
    .await
    .expect("join");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("3 firmware entries"), "{out}");
    assert_eq!(nic(&daemon.store).as_deref(), Some("22.36.1"));
    // At once again: refused, with when to try again.
    let (code, _, err) = tokio::task::spawn_blocking({
        let ms = ms.clone();
        move || cli(addr, &["refresh", &ms])
    })
    .await
    .expect("join");
    assert_eq!(code, Some(1));
    assert!(err.contains("429") && err.contains("try again in"), "{err}");
    let (code, _, err) =
        tokio::task::spawn_blocking(move || cli(addr, &["refresh", "02:00:00:00:ff:ff"]))
            .await
            .expect("join");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("404") && err.contains("02:00:00:00:ff:ff"),
        "{err}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_needs_the_api_password() {
    init();
    let bed = TestBed::new().components().start().await;
    let dir = bed.dir.path();
    let hash = bcrypt::hash_with_salt("api-pass", 4, [3; 16])
        .expect("hash")
        .format_for_version(bcrypt::Version::TwoY);
    std::fs::write(
        dir.join("web.yml"),
        format!("basic_auth_users:\n  operator: {hash}\n"),
    )
    .expect("web config");
    let mut cfg = bed.config();
    cfg.http.web_config_file = Some(dir.join("web.yml"));
    let daemon = Daemon::start(&cfg, bed.credentials())
        .await
        .expect("daemon");
    let m = mac(bed.fleet.bmcs[0].bmc.mac);
    wait_for(&daemon.store, Duration::from_secs(20), "a poll", |st| {
        snapshot(st, m).is_some()
    })
    .await;
    let url = format!("http://{}/api/v1/bmcs/{m}/refresh", daemon.addr);
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let anonymous = http.post(&url).send().await.expect("POST");
    assert_eq!(anonymous.status(), 401);
    let addr = daemon.addr;
    let ms = m.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args([
                "refresh",
                &ms,
                "--api",
                &format!("http://{addr}"),
                "--api-user",
                "operator",
            ])
            .env("BMC_CATCHER_API_PASSWORD", "api-pass")
            .env_remove("BMC_CATCHER_CONFIG")
            .output()
            .expect("run")
    })
    .await
    .expect("join");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    daemon.stop().await;
}
