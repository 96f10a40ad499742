//! Against real third-party Redfish software: `poll-once` reads the DMTF public-rackmount1 mockup
//! served by sushy-static, and curl (a real client) exercises our simulator's sessions, auth and
//! Reset action.

use std::process::Command;

use crate::common::*;
use serde_json::Value;

#[test]
fn poll_once_reads_rackmount1_from_sushy_static() {
    let s = &poll_once_mockup(RACKMOUNT1, "52:54:00:aa:00:01");
    assert_eq!(s["mac"], "52:54:00:aa:00:01");
    assert_eq!(s["up"], true);
    assert_eq!(s["power"]["ok"], "On", "{s}");
    let sensors = s["sensors"]["ok"].as_array().expect("sensors read");
    let reading = |name: &str| {
        sensors
            .iter()
            .find(|x| x["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing in {sensors:?}"))["reading"]
            .as_f64()
    };
    // From the chassis `Sensors` collection (peers::redfish_sensors compares every member).
    assert_eq!(reading("CPU #1 Temperature"), Some(44.0));
    assert_eq!(reading("Front Panel Intake Temperature"), Some(24.8));
    assert_eq!(reading("Chassis Fan #1"), Some(45.0));
    let psus = s["psus"]["ok"].as_array().expect("psus read");
    assert_eq!(psus[0]["health"], "warning");
    assert_eq!(
        s["power_metrics"]["ok"]["consumed_watts"].as_f64(),
        Some(344.0)
    );
    assert_eq!(s["inventory"]["ok"]["serial"], "437XR1138R2");
    assert_eq!(s["inventory"]["ok"]["bmc_firmware"], "1.45.455b66-rev4");
}

fn curl(args: &[&str]) -> (String, String) {
    let out = Command::new(which("curl"))
        .args(["-sS", "-k", "--max-time", "10", "-D", "-"])
        .args(args)
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    (head.to_string(), body.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn curl_drives_the_simulator() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ip = unique_ip();
    let cancel = tokio_util::sync::CancellationToken::new();
    let spec = bmc_sim::FleetSpec {
        count: 1,
        first_ip: ip,
        ..Default::default()
    };
    let fleet = bmc_sim::SimFleet::start(&spec, cancel.clone())
        .await
        .expect("sim");
    let base = format!("https://{}", fleet.bmcs[0].addr);
    let bmc = fleet.bmcs[0].bmc.clone();
    tokio::task::spawn_blocking(move || {
        let (head, body) = curl(&[&format!("{base}/redfish/v1/Systems/1")]);
        assert!(head.starts_with("HTTP/1.1 401"), "{head}");
        assert!(body.contains("error"));

        let (head, body) = curl(&[
            "-u",
            "admin:password",
            &format!("{base}/redfish/v1/Systems/1"),
        ]);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let sys: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(sys["PowerState"], "On");

        let (head, _) = curl(&[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"UserName":"admin","Password":"password"}"#,
            &format!("{base}/redfish/v1/SessionService/Sessions"),
        ]);
        assert!(head.starts_with("HTTP/1.1 201"), "{head}");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    l.split_once(": ")
                        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.to_string())
                })
                .unwrap_or_else(|| panic!("no {name} in {head}"))
        };
        let token = header("x-auth-token");
        let location = header("location");
        let auth = format!("X-Auth-Token: {token}");

        let (head, _) = curl(&[
            "-X",
            "POST",
            "-H",
            &auth,
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"ResetType":"ForceOff"}"#,
            &format!("{base}/redfish/v1/Systems/1/Actions/ComputerSystem.Reset"),
        ]);
        assert!(head.starts_with("HTTP/1.1 204"), "{head}");
        let (_, body) = curl(&["-H", &auth, &format!("{base}/redfish/v1/Systems/1")]);
        assert_eq!(
            serde_json::from_str::<Value>(&body).expect("json")["PowerState"],
            "Off"
        );

        let (head, _) = curl(&["-X", "DELETE", "-H", &auth, &format!("{base}{location}")]);
        assert!(head.starts_with("HTTP/1.1 204"), "{head}");
        let (head, _) = curl(&["-H", &auth, &format!("{base}/redfish/v1/Systems/1")]);
        assert!(
            head.starts_with("HTTP/1.1 401"),
            "deleted session must not work: {head}"
        );

        let (head, _) = curl(&["-u", "admin:wrong", &format!("{base}/redfish/v1/Systems/1")]);
        assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    })
    .await
    .expect("curl steps");
    assert_eq!(bmc.sessions_open(), 0);
    fleet.stop();
}
