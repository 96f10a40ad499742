//! The shipped systemd unit, as systemd itself judges it: `systemd-analyze security --offline`
//! must rate its exposure 2.0 or lower, and the unit must keep the settings the daemon relies on.

mod common;

use std::process::Command;

use common::*;

const UNIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/deploy/systemd/bmc-catcher.service"
);

#[test]
fn exposure_is_at_most_two() {
    let out = Command::new(which("systemd-analyze"))
        .args(["security", "--offline=yes", "--no-pager", UNIT])
        .output()
        .expect("systemd-analyze");
    let text = String::from_utf8_lossy(&out.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for bmc-catcher.service:")
                .nth(1)
        })
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no exposure level in:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(level <= 2.0, "exposure {level} > 2.0:\n{text}");
}

#[test]
fn unit_keeps_what_the_daemon_relies_on() {
    let unit = std::fs::read_to_string(UNIT).expect("unit");
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "DynamicUser=yes",
        "LoadCredential=credentials:",
        "RestartPreventExitStatus=78",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes",
    ] {
        assert!(unit.contains(line), "the unit lost {line:?}");
    }
}
