//! TLS pinning, trust on first use: the first certificate is pinned; a board swap (a new
//! certificate on the same address) stops the BMC's polls and raises `tls-certificate-changed`
//! until `bmc-catcher trust` shows the new one and, once confirmed, pins exactly it; under
//! `tls = "verify"` an untrusted certificate is a `tls` failure raising `tls-untrusted`, not
//! "unreachable".

use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::{Config, Credentials};
use bmc_catcher::daemon::Daemon;
use bmc_catcher::model::IssueType;
use bmc_sim::{FleetSpec, SimFleet};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_certificate_is_refused_until_trusted() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ip = unique_ip();
    let spec = FleetSpec {
        count: 1,
        first_ip: ip,
        ..Default::default()
    };
    let first = CancellationToken::new();
    let fleet = SimFleet::start(&spec, first.clone()).await.expect("sim");
    let port = fleet.port();
    let dir = tempfile::tempdir().expect("tmp");
    let pins = dir.path().join("pins.json");
    let cfg_path = write_config(
        dir.path(),
        &fleet.leases_text(bmc_catcher::store::now_ms() / 1000),
        port,
        "",
    );
    let text = std::fs::read_to_string(&cfg_path)
        .expect("cfg")
        .replace(
            "tls = \"insecure\"",
            &format!("tls = \"pin\"\npin-file = \"{}\"", pins.display()),
        )
        .replace("interval = \"1m\"", "interval = \"2s\"")
        .replace("timeout = \"10s\"", "timeout = \"2s\"")
        .replace("[poll]\n", "[poll]\nprotocol = \"redfish\"\n");
    std::fs::write(&cfg_path, text + "\n[ipmi]\nrequest-timeout = \"500ms\"\n").expect("cfg");
    let config = Config::load(&cfg_path).expect("config");
    let daemon = Daemon::start(&config, Credentials::single("admin", "password"))
        .await
        .expect("daemon");
    let mac = crate::common::mac(fleet.bmcs[0].bmc.mac);
    let deadline = |s| tokio::time::Instant::now() + Duration::from_secs(s);
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    while !daemon
        .store
        .get(mac)
        .and_then(|e| e.snapshot)
        .is_some_and(|s| s.up)
    {
        assert!(tokio::time::Instant::now() < until, "first poll");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The certificate's expiry is in the inventory, as the simulator made it.
    let expires = daemon
        .store
        .get(mac)
        .and_then(|e| e.snapshot)
        .and_then(|s| {
            s.reading
                .inventory
                .ok()
                .and_then(|i| i.tls_certificate_expires)
        })
        .expect("certificate expiry in the inventory");
    let in_days = (expires - bmc_catcher::store::now_ms() / 1000) as f64 / 86400.0;
    let valid = bmc_sim::redfish::CERT_VALID_DAYS as f64;
    assert!(
        (valid - 1.0..=valid).contains(&in_days),
        "expires in {in_days} days"
    );
    let pinned = std::fs::read_to_string(&pins).expect("pin file written");
    assert!(pinned.contains(&ip.to_string()), "{pinned}");

    // Board swap: same address and port, a new certificate.
    first.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = CancellationToken::new();
    let swapped = SimFleet::start(
        &FleetSpec {
            port,
            ..spec.clone()
        },
        second.clone(),
    )
    .await
    .expect("new board");
    let issue_of = |t: IssueType| {
        daemon
            .store
            .get(mac)
            .and_then(|e| e.snapshot)
            .is_some_and(|s| s.issues.iter().any(|i| i.kind == t))
    };
    let until = deadline(20);
    while !issue_of(IssueType::TlsCertificateChanged) {
        assert!(
            tokio::time::Instant::now() < until,
            "tls-certificate-changed never raised: {:?}",
            daemon.store.get(mac).and_then(|e| e.snapshot)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let snap = daemon
        .store
        .get(mac)
        .and_then(|e| e.snapshot)
        .expect("snap");
    assert!(!snap.up, "the new certificate is not used");
    // The refused certificate's expiry stays visible, apart from the pinned one's.
    let refused = snap
        .reading
        .refused_certificate_expires
        .expect("the refused certificate's expiry");
    let in_days = (refused - bmc_catcher::store::now_ms() / 1000) as f64 / 86400.0;
    assert!(
        (in_days - valid).abs() < 2.0,
        "the refused certificate expires in {in_days} days"
    );
    let scrape = reqwest::get(format!("http://{}/metrics", daemon.addr))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    let series = format!("bmc_tls_refused_certificate_expiry_timestamp_seconds{{mac=\"{mac}\"}} ");
    let value: f64 = scrape
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} missing:\n{scrape}"));
    assert_eq!(value, refused as f64);
    assert_eq!(
        swapped.bmcs[0].bmc.sessions_open(),
        0,
        "no login on an untrusted certificate"
    );

    // What the new board presents, as a client sees it.
    let presented = bmc_catcher::hal::redfish::presented::presented(
        std::net::IpAddr::V4(ip),
        port,
        Duration::from_secs(5),
    )
    .await
    .expect("the new board's certificate");
    let old_pin = bmc_catcher::hal::redfish::pin::load(&pins)
        .get(&ip.to_string())
        .cloned()
        .expect("the old pin");
    assert_ne!(presented.sha256, old_pin);
    let trust = |extra: &[&str]| {
        let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        let cfg_path = cfg_path.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(bin())
                .args(["trust", &ip.to_string(), "--config"])
                .arg(&cfg_path)
                .args(extra)
                .output()
                .expect("trust")
        })
    };
    // No terminal to confirm on: the certificate is shown, nothing is pinned, a usage error.
    let out = trust(&[]).await.expect("join");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert_eq!(out.status.code(), Some(64), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "pinned now in {}: sha256 {old_pin}",
            pins.display()
        )) && stdout.contains(&format!("sha256   {}", presented.sha256))
            && stdout.contains(&format!("subject  {}", presented.subject))
            && stdout.contains("expires in"),
        "the pinned and the presented certificate are shown: {stdout}"
    );
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&pins).expect("pins"), pinned);
    // A fingerprint the board does not present is refused.
    let out = trust(&["--fingerprint", &"ab".repeat(32)])
        .await
        .expect("join");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(std::fs::read_to_string(&pins).expect("pins"), pinned);
    // --yes pins exactly the certificate shown.
    let out = trust(&["--yes"]).await.expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        bmc_catcher::hal::redfish::pin::load(&pins).get(&ip.to_string()),
        Some(&presented.sha256),
        "the presented certificate is pinned"
    );
    let until = deadline(30);
    while !daemon
        .store
        .get(mac)
        .and_then(|e| e.snapshot)
        .is_some_and(|s| s.up)
        || issue_of(IssueType::TlsCertificateChanged)
    {
        assert!(
            tokio::time::Instant::now() < until,
            "never recovered after trust"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(
        std::fs::read_to_string(&pins).expect("pins"),
        pinned,
        "the new certificate is pinned"
    );
    daemon.stop().await;
    second.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_a_tls_failure_with_its_own_issue() {
    // tls = "verify" (the default) against the simulator's self-signed certificate.
    let bed = TestBed::new()
        .bmcs(1)
        .interval("2s")
        .timeout("2s")
        .toml("[ipmi]\nrequest-timeout = \"500ms\"\n")
        .start()
        .await;
    let mut config = bed.config();
    config.redfish.tls = bmc_catcher::config::TlsPolicy::Verify;
    config.poll.protocol = bmc_catcher::config::ProtocolChoice::Redfish;
    let daemon = Daemon::start(&config, bed.credentials())
        .await
        .expect("daemon");
    let mac = crate::common::mac(bed.fleet.bmcs[0].bmc.mac);
    let snapshot = || daemon.store.get(mac).and_then(|e| e.snapshot);
    wait_until(Duration::from_secs(20), "tls-untrusted raised", || {
        snapshot().is_some_and(|s| s.issues.iter().any(|i| i.kind == IssueType::TlsUntrusted))
    })
    .await;
    let s = snapshot().expect("snapshot");
    let e = s.reading.first_error().expect("failed");
    assert_eq!(e.kind, bmc_catcher::model::ErrorKind::Tls, "{e:?}");
    assert!(
        e.message.contains("ca-file"),
        "the advice names ca-file: {}",
        e.message
    );
    assert!(
        !s.issues
            .iter()
            .any(|i| i.kind == IssueType::Unreachable || i.kind == IssueType::TlsCertificateChanged),
        "{:?}",
        s.issues
    );
    assert_eq!(
        bed.fleet.bmcs[0]
            .bmc
            .counters
            .sessions_created
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "no login to a BMC whose certificate is not trusted"
    );
    daemon.stop().await;
}

#[test]
fn a_known_fingerprint_is_pinned_for_a_bmc_that_cannot_be_reached() {
    let dir = tempfile::tempdir().expect("tmp");
    let pins = dir.path().join("pins.json");
    let ip = unique_ip();
    // Nothing listens on the port: the certificate cannot be shown.
    let cfg_path = write_config(dir.path(), "", free_port(ip), "");
    let text = std::fs::read_to_string(&cfg_path).expect("cfg").replace(
        "tls = \"insecure\"",
        &format!("tls = \"pin\"\npin-file = \"{}\"", pins.display()),
    );
    std::fs::write(&cfg_path, text).expect("cfg");
    let trust = |extra: &[&str]| {
        std::process::Command::new(bin())
            .args(["trust", &ip.to_string(), "--timeout", "2s", "--config"])
            .arg(&cfg_path)
            .args(extra)
            .output()
            .expect("trust")
    };
    let out = trust(&["--yes"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing to show, nothing pinned"
    );
    assert!(!pins.exists());
    let out = trust(&["--fingerprint", "sha256:12345"]);
    assert_eq!(out.status.code(), Some(64), "a malformed fingerprint");
    let known = vec!["AB"; 32].join(":");
    let out = trust(&["--fingerprint", &known]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        bmc_catcher::hal::redfish::pin::load(&pins).get(&ip.to_string()),
        Some(&"ab".repeat(32))
    );
}
