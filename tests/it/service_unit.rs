//! The shipped systemd unit, as systemd itself judges it: `systemd-analyze security --offline`
//! must rate its exposure 2.0 or lower, and the unit must keep the settings the daemon relies on.

pub(crate) const UNIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/deploy/systemd/bmc-catcher.service"
);

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
