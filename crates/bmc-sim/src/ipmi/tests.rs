//! End-to-end tests of the IPMI responder with the real `ipmitool -I lanplus` (cipher suites 3 and
//! 17), skipped when `/usr/bin/ipmitool` is not installed.

use super::test_client::{Sim, start};
use crate::state::PowerState;

pub(super) struct Out {
    pub(super) ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `ipmitool -I lanplus` against `sim` with the given cipher suite and credentials.
pub(super) async fn ipmitool(sim: &Sim, suite: u8, user: &str, pass: &str, args: &[&str]) -> Out {
    let mut cmd = std::process::Command::new("ipmitool");
    let port = sim.addr.port().to_string();
    let host = sim.addr.ip().to_string();
    let suite = suite.to_string();
    cmd.args([
        "-I", "lanplus", "-H", &host, "-p", &port, "-U", user, "-P", pass,
    ])
    .args(["-C", &suite, "-N", "1", "-R", "1"])
    .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run ipmitool");
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn admin(sim: &Sim, suite: u8, args: &[&str]) -> String {
    let out = ipmitool(sim, suite, "admin", "password", args).await;
    assert!(
        out.ok,
        "ipmitool -C {suite} {args:?} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    out.stdout
}

pub(super) fn have_ipmitool() -> bool {
    std::path::Path::new("/usr/bin/ipmitool").exists()
}

const SUITES: [u8; 2] = [3, 17];

/// `sdr list` / `sensor list` rows: the `|`-separated cells, trimmed.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.contains('|'))
        .map(|l| l.split('|').map(|c| c.trim().to_string()).collect())
        .collect()
}

fn row<'a>(rows: &'a [Vec<String>], name: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r.first().is_some_and(|n| n == name))
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("no row {name} in {rows:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_status_follows_state_and_control_changes_it() {
    if !have_ipmitool() {
        return;
    }
    let sim = start().await;
    for suite in SUITES {
        sim.bmc.state().power = PowerState::On;
        let out = admin(&sim, suite, &["chassis", "power", "status"]).await;
        assert_eq!(out.trim(), "Chassis Power is on");
        sim.bmc.state().power = PowerState::Off;
        let out = admin(&sim, suite, &["chassis", "power", "status"]).await;
        assert_eq!(out.trim(), "Chassis Power is off");
        for (verb, text, power) in [
            ("on", "Up/On", PowerState::On),
            ("off", "Down/Off", PowerState::Off),
            ("cycle", "Cycle", PowerState::On),
            ("reset", "Reset", PowerState::On),
            ("soft", "Soft", PowerState::Off),
        ] {
            let out = admin(&sim, suite, &["chassis", "power", verb]).await;
            assert_eq!(out.trim(), format!("Chassis Power Control: {text}"));
            assert_eq!(sim.bmc.state().power, power, "after {verb}");
        }
        let out = admin(&sim, suite, &["chassis", "status"]).await;
        assert!(out.contains("System Power         : off"), "{out}");
    }
    let resets = sim
        .bmc
        .counters
        .resets
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(resets, 10);
    assert_eq!(sim.handle.sessions_open(), 0);
    assert_eq!(sim.handle.sessions_created(), 16);
    assert_eq!(sim.handle.sessions_closed(), 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_and_boot_device() {
    if !have_ipmitool() {
        return;
    }
    let sim = start().await;
    for suite in SUITES {
        let out = admin(&sim, suite, &["chassis", "identify", "5"]).await;
        assert_eq!(out.trim(), "Chassis identify interval: 5 seconds");
        let st = sim.bmc.state().clone();
        assert!(st.led_on && st.identify_until.is_some());
        let out = admin(&sim, suite, &["chassis", "identify", "force"]).await;
        assert_eq!(out.trim(), "Chassis identify interval: indefinite");
        let st = sim.bmc.state().clone();
        assert!(st.led_on && st.identify_until.is_none());
        let out = admin(&sim, suite, &["chassis", "identify", "0"]).await;
        assert_eq!(out.trim(), "Chassis identify interval: off");
        assert!(!sim.bmc.state().led_on);
        for (dev, target, shown) in [
            ("pxe", "Pxe", "Force PXE"),
            ("disk", "Hdd", "Force Boot from default Hard-Drive"),
            ("bios", "BiosSetup", "Force Boot into BIOS Setup"),
        ] {
            let out = admin(&sim, suite, &["chassis", "bootdev", dev]).await;
            assert_eq!(out.trim(), format!("Set Boot Device to {dev}"));
            assert_eq!(sim.bmc.state().boot_once.as_deref(), Some(target));
            let out = admin(&sim, suite, &["chassis", "bootparam", "get", "5"]).await;
            assert!(
                out.contains(&format!("Boot Device Selector : {shown}")),
                "{out}"
            );
            assert!(out.contains("Options apply to only next boot"), "{out}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdr_and_sensor_lists_follow_state() {
    if !have_ipmitool() {
        return;
    }
    let sim = start().await;
    let cells = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for suite in SUITES {
        {
            let mut st = sim.bmc.state();
            st.sensors[0].reading = 44.0;
            st.psus[0].health = crate::state::Health::Ok;
            st.consumed_watts = 370.0;
        }
        let sdr = rows(&admin(&sim, suite, &["sdr", "list"]).await);
        assert_eq!(sdr.len(), 8, "{sdr:?}");
        for (name, value) in [
            ("CPU1 Temp", "44 degrees C"),
            ("Intake Temp", "25.50 degrees C"),
            ("Fan1", "6300 RPM"),
            ("Fan2", "6000 RPM"),
            ("12V", "12.06 Volts"),
            ("Pwr Consumption", "370 Watts"),
            ("PSU1", "0x01"),
            ("PSU2", "0x01"),
        ] {
            assert_eq!(row(&sdr, name), cells(&[name, value, "ok"]), "-C {suite}");
        }
        let sensors = rows(&admin(&sim, suite, &["sensor", "list"]).await);
        let na = "na";
        let expect = [
            [
                "CPU1 Temp",
                "44.000",
                "degrees C",
                "ok",
                na,
                na,
                na,
                na,
                "90.000",
                na,
            ],
            [
                "Intake Temp",
                "25.500",
                "degrees C",
                "ok",
                na,
                na,
                na,
                na,
                "45.000",
                na,
            ],
            ["Fan1", "6300.000", "RPM", "ok", na, na, na, na, na, na],
            ["12V", "12.060", "Volts", "ok", na, na, na, na, "13.200", na],
            [
                "Pwr Consumption",
                "370.000",
                "Watts",
                "ok",
                na,
                na,
                na,
                na,
                na,
                na,
            ],
            ["PSU2", "0x1", "discrete", "0x0100", na, na, na, na, na, na],
        ];
        for e in expect {
            assert_eq!(row(&sensors, e[0]), cells(&e), "-C {suite}");
        }
        {
            let mut st = sim.bmc.state();
            st.sensors[0].reading = 95.0;
            st.psus[0].health = crate::state::Health::Critical;
            st.consumed_watts = 400.0;
        }
        let sdr = rows(&admin(&sim, suite, &["sdr", "list"]).await);
        assert_eq!(
            row(&sdr, "CPU1 Temp"),
            cells(&["CPU1 Temp", "95 degrees C", "cr"])
        );
        assert_eq!(row(&sdr, "Pwr Consumption")[1], "400 Watts");
        let sensors = rows(&admin(&sim, suite, &["sensor", "list"]).await);
        assert_eq!(
            row(&sensors, "CPU1 Temp")[1..4],
            cells(&["95.000", "degrees C", "cr"])
        );
        assert_eq!(
            row(&sensors, "PSU1")[1..4],
            cells(&["0x3", "discrete", "0x0300"])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fru_mc_and_sel() {
    if !have_ipmitool() {
        return;
    }
    let sim = start().await;
    for suite in SUITES {
        let fru = admin(&sim, suite, &["fru", "print"]).await;
        for line in [
            " Chassis Type          : Rack Mount Chassis",
            " Board Mfg             : bmc-catcher",
            " Board Product         : Sim Board",
            " Product Manufacturer  : bmc-catcher",
            " Product Name          : Sim 1U",
            " Product Serial        : SIM000003",
        ] {
            assert!(fru.lines().any(|l| l == line), "{line:?} not in\n{fru}");
        }
        let mc = admin(&sim, suite, &["mc", "info"]).await;
        for line in [
            "Device ID                 : 32",
            "Firmware Revision         : 2.10",
            "IPMI Version              : 2.0",
            "Manufacturer ID           : 4753",
            "Device Available          : yes",
        ] {
            assert!(mc.lines().any(|l| l == line), "{line:?} not in\n{mc}");
        }
        let guid = admin(&sim, suite, &["mc", "guid"]).await;
        assert!(
            guid.contains(&format!("System GUID   : {}", sim.bmc.uuid)),
            "{guid}"
        );
        assert!(guid.contains("GUID Encoding : IPMI"), "{guid}");
        let sel = admin(&sim, suite, &["sel", "info"]).await;
        assert!(sel.contains("Entries          : 0"), "{sel}");
        let dcmi = admin(&sim, suite, &["dcmi", "power", "reading"]).await;
        assert!(
            dcmi.contains("Instantaneous power reading:                   370 Watts"),
            "{dcmi}"
        );
        let ciphers = admin(&sim, suite, &["channel", "getciphers", "ipmi", "1"]).await;
        let ids: Vec<&str> = ciphers
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(ids, ["3", "17"]);
    }
    // A board seen under another identity reports it in the GUID (and RAKP 2) and the FRU.
    let other = ("5e1f0000-0000-4000-8000-0000000000aa", "SIM-OTHER");
    sim.bmc.state().identity = Some((other.0.into(), other.1.into()));
    for suite in SUITES {
        let guid = admin(&sim, suite, &["mc", "guid"]).await;
        assert!(
            guid.contains(&format!("System GUID   : {}", other.0)),
            "{guid}"
        );
        let fru = admin(&sim, suite, &["fru", "print"]).await;
        assert!(
            fru.contains(" Product Serial        : SIM-OTHER\n"),
            "{fru}"
        );
    }
    assert_eq!(sim.handle.sessions_open(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_and_suites_are_refused() {
    if !have_ipmitool() {
        return;
    }
    let sim = start().await;
    let status = ["chassis", "power", "status"];
    for suite in SUITES {
        let wrong = ipmitool(&sim, suite, "admin", "wrong", &status).await;
        assert!(
            !wrong.ok && wrong.stderr.contains("Unable to establish"),
            "{}",
            wrong.stderr
        );
        let unknown = ipmitool(&sim, suite, "nobody", "password", &status).await;
        assert!(!unknown.ok, "{}", unknown.stdout);
        // ipmitool asks for Administrator unless told otherwise: too much for an operator.
        let op = ipmitool(&sim, suite, "operator", "operpass", &status).await;
        assert!(!op.ok, "{}", op.stdout);
    }
    for (suite, why) in [
        (1, "invalid integrity algorithm"),
        (2, "invalid confidentiality algorithm"),
    ] {
        let out = ipmitool(&sim, suite, "admin", "password", &status).await;
        assert!(
            !out.ok && out.stderr.contains(why),
            "-C {suite}: {}",
            out.stderr
        );
    }
    assert_eq!(sim.handle.sessions_created(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_may_control_and_user_may_only_read() {
    if !have_ipmitool() {
        return;
    }
    let sim = start().await;
    for suite in SUITES {
        sim.bmc.state().power = PowerState::Off;
        let op = ipmitool(
            &sim,
            suite,
            "operator",
            "operpass",
            &["-L", "OPERATOR", "sdr", "list"],
        )
        .await;
        assert!(op.ok && op.stdout.contains("12.06 Volts"), "{}", op.stderr);
        let on = ["-L", "OPERATOR", "chassis", "power", "on"];
        let op = ipmitool(&sim, suite, "operator", "operpass", &on).await;
        assert!(op.ok, "{}", op.stderr);
        assert_eq!(sim.bmc.state().power, PowerState::On);
        let off = ["-L", "USER", "chassis", "power", "off"];
        let user = ipmitool(&sim, suite, "viewer", "viewpass", &off).await;
        assert!(
            !user.ok && user.stderr.contains("Insufficient privilege level"),
            "{}",
            user.stderr
        );
        assert_eq!(sim.bmc.state().power, PowerState::On);
        let read = ["-L", "USER", "chassis", "power", "status"];
        let user = ipmitool(&sim, suite, "viewer", "viewpass", &read).await;
        assert_eq!(user.stdout.trim(), "Chassis Power is on");
    }
}

mod socket;
