//! The capability profile (`[poll] profile-file`) against bmc-sim: a restart (a second backend
//! built from the file the first one left) makes fewer requests than the first start, over Redfish
//! (no probe, no layout discovery) and over IPMI (no probes); a stale profile (a remembered system
//! path now 404, a remembered protocol the BMC no longer speaks) recovers within one poll, a new
//! BMC firmware version makes the layout found again at the next; IPMI opens its session with the
//! remembered cipher suite when it is configured, and only then.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::{Config, Credentials, ProtocolChoice};
use bmc_catcher::hal::Connector;
use bmc_catcher::hal::profiles::Profiles;
use bmc_catcher::model::{Profile, Protocol, RedfishShape, Target};
use bmc_sim::{SimProtocol, SimShape};

/// The bed, an `auto` config pointing at its Redfish and IPMI ports, and the BMC's target.
async fn bed(protocol: SimProtocol) -> (TestBed, Config, Target) {
    let bed = TestBed::new()
        .protocols(vec![protocol])
        .shapes(vec![SimShape::Sensors])
        .start()
        .await;
    let mut t = targets(&bed.fleet).remove(0);
    let mut c = bed.config();
    c.poll.protocol = ProtocolChoice::Auto;
    c.redfish.port = t.port.take().expect("the simulator's Redfish port");
    c.ipmi.port = bed.fleet.ipmi_port();
    c.ipmi.request_timeout = Duration::from_millis(300);
    c.ipmi.retries = 0;
    (bed, c, t)
}

fn connector(bed: &TestBed, c: &Config, profiles: &Arc<Profiles>) -> Connector {
    Connector::new(c, bed.credentials())
        .expect("connector")
        .with_profiles(profiles.clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redfish_restart_from_the_profile_file_makes_fewer_requests() {
    let (bed, c, t) = bed(SimProtocol::Redfish).await;
    let sim = &bed.fleet.bmcs[0].bmc;
    let requests = || sim.counters.requests.load(Ordering::Relaxed);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("profiles.json");

    let first = Arc::new(Profiles::load(Some(path.clone())));
    let bmc = connector(&bed, &c, &first).connect(&t);
    let before = requests();
    let r = bmc.poll().await;
    let first_start = requests() - before;
    assert!(r.power.ok().is_some(), "{r:?}");
    bmc.close().await;
    first.flush();

    let second = Arc::new(Profiles::load(Some(path)));
    let p = second.get(t.mac).expect("the profile survived the restart");
    assert_eq!(p.protocol, Protocol::Redfish);
    let rf = p.redfish.as_ref().expect("the redfish layout");
    assert_eq!(rf.system, "/redfish/v1/Systems/1");
    assert_eq!(rf.shape, RedfishShape::Sensors);
    assert!(rf.sensors.is_some(), "{rf:?}");
    assert_eq!(rf.sessions, Some(true), "the simulator gives sessions");
    assert!(p.bmc_firmware.is_some(), "{p:?}");

    let bmc = connector(&bed, &c, &second).connect(&t);
    let before = requests();
    let again = bmc.poll().await;
    let restart = requests() - before;
    assert_eq!(bmc.describe().protocol, Some(Protocol::Redfish));
    assert_eq!(again.power.ok(), r.power.ok());
    assert_eq!(
        again.sensors.ok().map(Vec::len),
        r.sensors.ok().map(Vec::len),
        "the same sensors from the remembered layout"
    );
    assert!(
        restart < first_start,
        "the restart made {restart} requests, the first start {first_start}"
    );
    bmc.close().await;
    bed.cancel.cancel();
}

/// One BMC that speaks IPMI only, an `auto` config for it (offering `suites`) and its target.
async fn ipmi_bed(suites: Vec<u8>) -> (TestBed, Config, Target) {
    let bed = TestBed::new()
        .protocols(vec![SimProtocol::Ipmi])
        .start()
        .await;
    let (addr, _) = bed.fleet.bmcs[0].ipmi.clone().expect("ipmi");
    let mut c = Config::default();
    c.poll.protocol = ProtocolChoice::Auto;
    // Nothing listens there on loopback: the Redfish probe is refused at once.
    c.redfish.port = 1;
    c.ipmi.port = addr.port();
    c.ipmi.cipher_suites = suites;
    let t = Target {
        mac: mac(bed.fleet.bmcs[0].bmc.mac),
        ip: addr.ip(),
        port: None,
        hostname: None,
        lease_ends: None,
    };
    (bed, c, t)
}

fn ipmi_connector(c: &Config, profiles: &Arc<Profiles>) -> Connector {
    Connector::new(c, Credentials::single("admin", "password"))
        .expect("connector")
        .with_profiles(profiles.clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ipmi_restart_from_the_profile_skips_the_probes() {
    let (bed, c, t) = ipmi_bed(vec![17, 3]).await;
    let handle = bed.fleet.bmcs[0].ipmi.clone().expect("ipmi").1;
    let profiles = Arc::new(Profiles::default());
    let connector = |profiles: &Arc<Profiles>| ipmi_connector(&c, profiles);

    let bmc = connector(&profiles).connect(&t);
    let before = handle.requests();
    let r = bmc.poll().await;
    let first_start = handle.requests() - before;
    assert!(r.power.ok().is_some(), "{r:?}");
    bmc.close().await;
    let p = profiles.get(t.mac).expect("a profile");
    assert_eq!(p.protocol, Protocol::Ipmi);
    let ipmi = p.ipmi.expect("the ipmi part");
    assert_eq!(ipmi.cipher_suite, Some(17), "the first configured suite");
    assert_eq!(ipmi.dcmi_power, Some(true), "{ipmi:?}");

    let bmc = connector(&profiles).connect(&t);
    let before = handle.requests();
    let again = bmc.poll().await;
    let restart = handle.requests() - before;
    assert_eq!(again.power.ok(), r.power.ok());
    assert!(
        restart < first_start,
        "the restart made {restart} IPMI requests, the first start {first_start}"
    );
    bmc.close().await;
    bed.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remembered_system_path_now_404_is_found_again_in_the_same_poll() {
    let (bed, c, t) = bed(SimProtocol::Redfish).await;
    let profiles = Arc::new(Profiles::default());
    let bmc = connector(&bed, &c, &profiles).connect(&t);
    assert!(bmc.poll().await.power.ok().is_some());
    bmc.close().await;
    let mut stale = profiles.get(t.mac).expect("a profile");
    stale.redfish.as_mut().expect("redfish").system = "/redfish/v1/Systems/gone".into();
    profiles.set(t.mac, stale);

    let bmc = connector(&bed, &c, &profiles).connect(&t);
    let r = bmc.poll().await;
    assert!(r.power.ok().is_some(), "recovered in this poll: {r:?}");
    assert!(r.inventory.ok().is_some(), "{r:?}");
    let p = profiles.get(t.mac).expect("a profile");
    assert_eq!(
        p.redfish.map(|r| r.system).as_deref(),
        Some("/redfish/v1/Systems/1"),
        "the profile holds the layout found again"
    );
    bmc.close().await;
    bed.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remembered_protocol_the_bmc_no_longer_speaks_is_detected_again_in_the_same_poll() {
    let (bed, c, t) = bed(SimProtocol::Redfish).await;
    let profiles = Arc::new(Profiles::default());
    profiles.set(t.mac, Profile::new(Protocol::Ipmi, 1));

    let bmc = connector(&bed, &c, &profiles).connect(&t);
    let r = bmc.poll().await;
    assert!(r.power.ok().is_some(), "recovered in this poll: {r:?}");
    assert_eq!(bmc.describe().protocol, Some(Protocol::Redfish));
    let p = profiles.get(t.mac).expect("a profile");
    assert_eq!(p.protocol, Protocol::Redfish);
    assert!(p.redfish.is_some(), "{p:?}");
    bmc.close().await;

    // A power state asked before any poll (a command's precheck) recovers the same way.
    profiles.set(t.mac, Profile::new(Protocol::Ipmi, 2));
    let bmc = connector(&bed, &c, &profiles).connect(&t);
    assert_eq!(
        bmc.power_state().await.expect("power state over Redfish"),
        r.power.ok().copied().expect("polled power")
    );
    assert_eq!(bmc.describe().protocol, Some(Protocol::Redfish));
    bmc.close().await;
    bed.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn ipmi_opens_with_the_remembered_cipher_suite_only_when_it_is_configured() {
    let (bed, c, t) = ipmi_bed(vec![17, 3]).await;
    let remembered = |suite: u8| {
        let p = Arc::new(Profiles::default());
        p.set(
            t.mac,
            Profile {
                ipmi: Some(bmc_catcher::model::IpmiProfile {
                    cipher_suite: Some(suite),
                    ..Default::default()
                }),
                ..Profile::new(Protocol::Ipmi, 1)
            },
        );
        p
    };
    let suite_after_a_poll = |c: &Config, profiles: Arc<Profiles>| {
        let bmc = ipmi_connector(c, &profiles).connect(&t);
        async move {
            let r = bmc.poll().await;
            assert!(r.power.ok().is_some(), "{r:?}");
            bmc.close().await;
            profiles
                .get(t.mac)
                .and_then(|p| p.ipmi)
                .and_then(|i| i.cipher_suite)
        }
    };
    assert_eq!(suite_after_a_poll(&c, remembered(3)).await, Some(3));
    let mut only_17 = c.clone();
    only_17.ipmi.cipher_suites = vec![17];
    assert_eq!(
        suite_after_a_poll(&only_17, remembered(3)).await,
        Some(17),
        "a profile never adds a suite the config does not offer"
    );
    bed.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_bmc_firmware_makes_the_layout_found_again_at_the_next_poll() {
    let (bed, c, t) = bed(SimProtocol::Redfish).await;
    let sim = &bed.fleet.bmcs[0].bmc;
    let profiles = Arc::new(Profiles::default());
    let bmc = connector(&bed, &c, &profiles).connect(&t);
    assert!(bmc.poll().await.power.ok().is_some());
    bmc.close().await;
    let was = profiles.get(t.mac).and_then(|p| p.bmc_firmware);
    assert!(was.is_some(), "the firmware it was found under");

    // A restart after a BMC firmware update: the remembered layout serves the first poll, which
    // sees the new version and drops it; the next poll finds the layout again.
    sim.state().parts.bmc_firmware = "9.9.sim".into();
    let bmc = connector(&bed, &c, &profiles).connect(&t);
    assert!(bmc.poll().await.power.ok().is_some());
    let p = profiles.get(t.mac).expect("a profile");
    assert_eq!(p.protocol, Protocol::Redfish, "the protocol is kept");
    assert!(p.redfish.is_none(), "the layout is forgotten: {p:?}");
    assert!(bmc.poll().await.power.ok().is_some());
    let p = profiles.get(t.mac).expect("a profile");
    assert!(p.redfish.is_some(), "found again: {p:?}");
    assert_eq!(p.bmc_firmware.as_deref(), Some("9.9.sim"));
    bmc.close().await;
    bed.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_writes_the_profile_file_and_the_next_start_reads_it() {
    let bed = TestBed::new()
        .bmcs(1)
        .shapes(vec![SimShape::Legacy])
        .interval("1s")
        .timeout("1s")
        .toml("\n[ipmi]\nrequest-timeout = \"200ms\"\n")
        .start()
        .await;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("profiles.json");
    let mut cfg = bed.config();
    cfg.poll.profile_file = Some(path.clone());
    let m = mac(bed.fleet.bmcs[0].bmc.mac);
    let daemon = bmc_catcher::daemon::Daemon::start(&cfg, bed.credentials())
        .await
        .expect("daemon");
    crate::it::daemon::wait_for(&daemon.store, Duration::from_secs(20), "a poll", |st| {
        crate::it::daemon::snapshot(st, m).is_some_and(|s| s.up)
    })
    .await;
    daemon.stop().await;
    let text = std::fs::read_to_string(&path).expect("the profile file");
    assert!(text.contains("/redfish/v1/Systems/1"), "{text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let again = bmc_catcher::daemon::Daemon::start(&cfg, bed.credentials())
        .await
        .expect("daemon");
    let p = again.profiles.get(m).expect("read back at start");
    assert_eq!(p.protocol, Protocol::Redfish);
    again.stop().await;
    bed.cancel.cancel();
}
