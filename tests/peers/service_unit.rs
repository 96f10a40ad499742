//! The shipped systemd unit as systemd itself judges it: `systemd-analyze security --offline` must
//! rate its exposure 2.0 or lower.

use std::process::Command;

use crate::common::*;
use crate::it::service_unit::UNIT;

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
