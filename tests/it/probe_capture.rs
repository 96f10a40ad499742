//! `probe` and `capture` as an operator uses them: probe a simulated Redfish BMC and an ipmi_sim BMC,
//! capture the simulated BMC into a scrubbed mockup, serve the capture back with the simulator and
//! get the same readings.

use std::process::Command;

use crate::common::*;
use bmc_sim::{FleetSpec, SimFleet, SimShape};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

async fn fleet(
    shape: SimShape,
    mockup: Option<std::path::PathBuf>,
) -> (SimFleet, CancellationToken) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cancel = CancellationToken::new();
    let spec = FleetSpec {
        count: 1,
        first_ip: unique_ip(),
        shapes: vec![shape],
        mockup,
        ..Default::default()
    };
    (
        SimFleet::start(&spec, cancel.clone()).await.expect("sim"),
        cancel,
    )
}

pub(crate) fn run(args: Vec<String>) -> (bool, String, String) {
    let out = Command::new(bin()).args(&args).output().expect("run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

pub(crate) fn creds_file(dir: &std::path::Path) -> String {
    let f = dir.join("creds.toml");
    write_secret(&f, "username = \"admin\"\npassword = \"password\"\n");
    f.display().to_string()
}

/// What must survive a capture: everything a poll reads but the scrubbed serial and the TLS
/// certificate's expiry (each simulator makes its own certificate, "now" + N days: a second apart
/// when the two fleets start on either side of a second boundary).
pub(crate) fn comparable(mut s: Value) -> Value {
    for k in [
        "mac",
        "ip",
        "polled_at_ms",
        "duration_ms",
        "last_success_ms",
        "partition",
        "issues",
        "profile",
    ] {
        s.as_object_mut().expect("object").remove(k);
    }
    s["inventory"]["ok"]["serial"] = Value::Null;
    s["inventory"]["ok"]["tls_certificate_expires"] = Value::Null;
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn capture_served_back_polls_the_same() {
    let (f, cancel) = fleet(SimShape::Subsystem, None).await;
    let dir = tempfile::tempdir().expect("tmp");
    let creds = creds_file(dir.path());
    let out = dir.path().join("capture");
    let addr = f.bmcs[0].addr.to_string();
    let (ok, _, err) = {
        let args = vec![
            "capture".into(),
            addr.clone(),
            "--out".into(),
            out.display().to_string(),
            "--credentials-file".into(),
            creds.clone(),
            "--tls".into(),
            "insecure".into(),
        ];
        tokio::task::spawn_blocking(move || run(args))
            .await
            .expect("join")
    };
    assert!(ok, "{err}");
    // Scrubbed: no serial number, no password anywhere in the capture.
    for entry in walk(&out) {
        let text = std::fs::read_to_string(&entry).expect("read");
        assert!(
            !text.contains("SIM000001") && !text.contains("password"),
            "{}: {text}",
            entry.display()
        );
    }
    assert!(
        out.join("Chassis/1/ThermalSubsystem/Fans/Fan1/index.json")
            .exists()
    );

    let (replay, cancel2) = fleet(SimShape::Subsystem, Some(out.clone())).await;
    let probe = |addr: String| {
        let creds = creds.clone();
        tokio::task::spawn_blocking(move || {
            run(vec![
                "probe".into(),
                addr,
                "--protocol".into(),
                "redfish".into(),
                "--credentials-file".into(),
                creds,
                "--tls".into(),
                "insecure".into(),
            ])
        })
    };
    let (ok1, original, err1) = probe(addr).await.expect("join");
    let (ok2, replayed, err2) = probe(replay.bmcs[0].addr.to_string()).await.expect("join");
    assert!(ok1 && ok2, "{err1}\n{err2}");
    let a: Value = serde_json::from_str(&original).expect("json");
    let b: Value = serde_json::from_str(&replayed).expect("json");
    assert_eq!(a["inventory"]["ok"]["serial"], "SIM000001");
    assert_eq!(b["inventory"]["ok"]["serial"], "REDACTED");
    // What the BMC turned out to support: the replayed capture has the same layout.
    assert_eq!(a["profile"]["protocol"], "redfish", "{a}");
    assert_eq!(a["profile"]["redfish"]["shape"], "subsystems", "{a}");
    assert_eq!(a["profile"]["redfish"], b["profile"]["redfish"]);
    assert_eq!(comparable(a), comparable(b));
    // probe says how long each step took, request by request.
    assert!(
        err1.contains("redfish request") && err1.contains("second poll (session reused)"),
        "{err1}"
    );
    cancel.cancel();
    cancel2.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_and_capture_check_the_certificate_by_default() {
    // The simulator's certificate is self-signed: by default neither command logs in to it.
    let (f, cancel) = fleet(SimShape::Legacy, None).await;
    let dir = tempfile::tempdir().expect("tmp");
    let creds = creds_file(dir.path());
    let addr = f.bmcs[0].addr.to_string();
    let out = dir.path().join("capture").display().to_string();
    for args in [
        vec![
            "probe",
            &addr,
            "--protocol",
            "redfish",
            "--credentials-file",
            &creds,
        ],
        vec![
            "capture",
            &addr,
            "--out",
            &out,
            "--credentials-file",
            &creds,
        ],
    ] {
        let args: Vec<String> = args.into_iter().map(String::from).collect();
        let (_, stdout, stderr) = tokio::task::spawn_blocking(move || run(args))
            .await
            .expect("join");
        assert!(stderr.contains("--tls insecure"), "{stdout}\n{stderr}");
    }
    assert_eq!(
        f.bmcs[0]
            .bmc
            .counters
            .sessions_created
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "credentials went to a BMC whose certificate was not checked"
    );
    cancel.cancel();
}

#[test]
fn the_committed_capture_replays() {
    // tests/fixtures/captures/bmc-sim-legacy was written by `bmc-catcher capture` from the simulator.
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/captures/bmc-sim-legacy"
    );
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let (replay, cancel) = fleet(SimShape::Legacy, Some(dir.into())).await;
        let tmp = tempfile::tempdir().expect("tmp");
        let creds = creds_file(tmp.path());
        let addr = replay.bmcs[0].addr.to_string();
        let (ok, out, err) = tokio::task::spawn_blocking(move || {
            run(vec![
                "probe".into(),
                addr,
                "--credentials-file".into(),
                creds,
                "--tls".into(),
                "insecure".into(),
            ])
        })
        .await
        .expect("join");
        assert!(ok, "{err}");
        let s: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(s["power"]["ok"], "On");
        assert_eq!(s["protocol"], "redfish");
        assert!(
            s["sensors"]["ok"].as_array().expect("sensors").len() >= 5,
            "{s}"
        );
        cancel.cancel();
    });
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
