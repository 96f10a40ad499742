//! `probe` and `capture` against OpenIPMI's ipmi_sim: probe finds IPMI, and an IPMI capture of
//! ipmi_sim replays in the simulator with the same readings.

use bmc_sim::{FleetSpec, SimFleet};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::common::*;
use crate::it::probe_capture::{comparable, creds_file, run};

#[test]
fn probe_finds_ipmi_on_ipmi_sim() {
    let dir = tempfile::tempdir().expect("tmp");
    let ip = unique_ip();
    let _sim = IpmiSim::start(dir.path(), "probe", ip);
    let (ok, out, err) = run(vec![
        "probe".into(),
        ip.to_string(),
        "--credentials-file".into(),
        creds_file(dir.path()),
        "--timeout".into(),
        "10s".into(),
    ]);
    assert!(ok, "{err}");
    let s: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(s["protocol"], "ipmi", "{s}");
    assert_eq!(s["power"]["ok"], "On");
    assert!(
        err.contains("protocol: ipmi") && err.contains("ipmi request"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ipmi_capture_of_ipmi_sim_replays_in_the_simulator() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tmp");
    let ip = unique_ip();
    let sim = IpmiSim::start(dir.path(), "capture", ip);
    sim.console(&["sensor_set_value 0x20 0 1 85 1"]);
    let creds = creds_file(dir.path());
    let out = dir.path().join("ipmi-capture");
    let (ok, _, err) = {
        let args = vec![
            "capture".into(),
            ip.to_string(),
            "--protocol".into(),
            "ipmi".into(),
            "--out".into(),
            out.display().to_string(),
            "--credentials-file".into(),
            creds.clone(),
        ];
        tokio::task::spawn_blocking(move || run(args))
            .await
            .expect("join")
    };
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(out.join("ipmi.json")).expect("ipmi.json");
    assert!(
        !text.to_ascii_lowercase().contains(&hex_of("SRV-capture")),
        "the serial is scrubbed from the FRU bytes"
    );

    let cancel = CancellationToken::new();
    let spec = FleetSpec {
        count: 1,
        first_ip: unique_ip(),
        protocols: vec![bmc_sim::SimProtocol::Ipmi],
        mockup: Some(out.clone()),
        ..Default::default()
    };
    let replay = SimFleet::start(&spec, cancel.clone()).await.expect("sim");
    let replay_addr = replay.bmcs[0].ipmi.as_ref().expect("ipmi").0.to_string();
    let probe = |addr: String| {
        let creds = creds.clone();
        tokio::task::spawn_blocking(move || {
            run(vec![
                "probe".into(),
                addr,
                "--protocol".into(),
                "ipmi".into(),
                "--credentials-file".into(),
                creds,
            ])
        })
    };
    let (ok1, original, e1) = probe(ip.to_string()).await.expect("join");
    let (ok2, replayed, e2) = probe(replay_addr).await.expect("join");
    assert!(ok1 && ok2, "{e1}\n{e2}");
    let a: Value = serde_json::from_str(&original).expect("json");
    let b: Value = serde_json::from_str(&replayed).expect("json");
    assert_eq!(a["inventory"]["ok"]["serial"], "SRV-capture");
    assert_eq!(b["inventory"]["ok"]["serial"], "XXXXXXXXXXX");
    assert_eq!(a["sensors"]["ok"][0]["reading"], 85.0);
    assert_eq!(comparable(a), comparable(b));
    drop(sim);
    cancel.cancel();
}

fn hex_of(s: &str) -> String {
    s.bytes()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
