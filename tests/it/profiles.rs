//! The capability profile (`[poll] profile-file`) against bmc-sim: a restart (a second backend
//! built from the file the first one left) makes fewer requests than the first start, over Redfish
//! (no probe, no layout discovery) and over IPMI (no probes); a stale profile (a remembered system
//! path now 404, a remembered protocol the BMC no longer speaks) recovers within one poll.

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

#[tokio::test(flavor = "multi_thread")]
async fn an_ipmi_restart_from_the_profile_skips_the_probes() {
    let bed = TestBed::new()
        .protocols(vec![SimProtocol::Ipmi])
        .start()
        .await;
    let (addr, handle) = bed.fleet.bmcs[0].ipmi.clone().expect("ipmi");
    let mut c = Config::default();
    c.poll.protocol = ProtocolChoice::Auto;
    // Nothing listens there on loopback: the Redfish probe is refused at once.
    c.redfish.port = 1;
    c.ipmi.port = addr.port();
    let t = Target {
        mac: mac(bed.fleet.bmcs[0].bmc.mac),
        ip: addr.ip(),
        port: None,
        hostname: None,
        lease_ends: None,
    };
    let profiles = Arc::new(Profiles::default());
    let connector = |profiles: &Arc<Profiles>| {
        Connector::new(&c, Credentials::single("admin", "password"))
            .expect("connector")
            .with_profiles(profiles.clone())
    };

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
    bed.cancel.cancel();
}
