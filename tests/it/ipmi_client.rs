//! Our IPMI client against our own simulator, for what ipmi_sim cannot show: cipher suite 17
//! (HMAC-SHA256) end to end, the SDR cache (a second poll reads only sensor values), a BMC that
//! forgets every session (re-opened once), and an operator-only command refused to a user account.

use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::{Config, Credentials, ProtocolChoice};
use bmc_catcher::hal::Connector;
use bmc_catcher::model::{Action, ErrorKind, PowerState, Target};
use bmc_sim::{SimFleet, SimProtocol};

/// One simulated BMC that speaks IPMI only.
async fn ipmi_bed() -> TestBed {
    TestBed::new()
        .protocols(vec![SimProtocol::Ipmi])
        .start()
        .await
}

fn connector(fleet: &SimFleet, suites: Vec<u8>, creds: Credentials) -> Connector {
    let mut c = Config::default();
    c.poll.protocol = ProtocolChoice::Ipmi;
    c.poll.timeout = Duration::from_secs(10);
    c.ipmi.port = fleet.ipmi_port();
    c.ipmi.cipher_suites = suites;
    Connector::new(&c, creds).expect("connector")
}

fn target(fleet: &SimFleet) -> Target {
    Target {
        mac: mac(fleet.bmcs[0].bmc.mac),
        ip: fleet.bmcs[0].ipmi.as_ref().expect("ipmi").0.ip(),
        port: None,
        hostname: None,
        lease_ends: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cipher_17_polls_and_the_sdr_cache_saves_requests() {
    let bed = ipmi_bed().await;
    let (fleet, cancel) = (&bed.fleet, &bed.cancel);
    let handle = fleet.bmcs[0].ipmi.as_ref().expect("ipmi").1.clone();
    let bmc = connector(fleet, vec![17], Credentials::single("admin", "password"))
        .connect(&target(fleet));
    let r = bmc.poll().await;
    assert!(r.first_error().is_none(), "{r:?}");
    assert_eq!(handle.sessions_created(), 1);
    let first = handle.requests();
    let r = bmc.poll().await;
    assert!(r.first_error().is_none(), "{r:?}");
    let second = handle.requests() - first;
    assert!(
        second * 2 < first,
        "the second poll reads sensor values only: {second} requests vs {first}"
    );
    let sensors = r.sensors.ok().expect("sensors");
    assert_eq!(
        sensors
            .iter()
            .find(|s| s.name == "CPU1 Temp")
            .and_then(|s| s.reading),
        Some(42.0)
    );
    assert_eq!(handle.sessions_created(), 1, "one session for both polls");
    bmc.close().await;
    assert_eq!(handle.sessions_open(), 0);
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bmc_that_forgets_sessions_gets_one_new_one() {
    let bed = ipmi_bed().await;
    let (fleet, cancel) = (&bed.fleet, &bed.cancel);
    let handle = fleet.bmcs[0].ipmi.as_ref().expect("ipmi").1.clone();
    let sim = fleet.bmcs[0].bmc.clone();
    let bmc = connector(fleet, vec![17, 3], Credentials::single("admin", "password"))
        .connect(&target(fleet));
    assert!(bmc.poll().await.first_error().is_none());
    // "Reboot": the BMC goes silent for a moment and comes back without our session.
    sim.state().faults.drop_connections = true;
    let silent = bmc.poll().await;
    assert_eq!(
        silent.power.err().map(|e| e.kind),
        Some(ErrorKind::Timeout),
        "{silent:?}"
    );
    sim.state().faults.drop_connections = false;
    let back = bmc.poll().await;
    assert!(back.first_error().is_none(), "{back:?}");
    assert_eq!(
        handle.sessions_created(),
        2,
        "one new session after the outage, not one per retry"
    );
    bmc.close().await;
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_account_reads_but_cannot_switch_power() {
    let bed = ipmi_bed().await;
    let (fleet, cancel) = (&bed.fleet, &bed.cancel);
    let sim = fleet.bmcs[0].bmc.clone();
    let creds = Credentials::parse(
        "username = \"reader\"\npassword = \"password\"\n",
        std::path::Path::new("c.toml"),
    )
    .expect("creds");
    let mut c = Config::default();
    c.poll.protocol = ProtocolChoice::Ipmi;
    c.ipmi.port = fleet.ipmi_port();
    c.ipmi.privilege = bmc_catcher::config::IpmiPrivilege::User;
    let bmc = Connector::new(&c, creds)
        .expect("connector")
        .connect(&target(fleet));
    assert!(bmc.poll().await.power.ok().is_some(), "a user may read");
    let e = bmc
        .perform(Action::PowerOff)
        .await
        .expect_err("a user may not switch power");
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert_eq!(sim.state().power, sim_power(PowerState::On));
    bmc.close().await;
    cancel.cancel();
}

/// A buffer the test's tracing subscriber writes the log into.
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `protocol = "auto"` finding IPMI logs the BMC with its IPMI port, not the Redfish port it
/// tried first; before it knows, it names no port at all.
#[tokio::test]
async fn auto_names_the_ipmi_port_of_an_ipmi_bmc() {
    let bed = ipmi_bed().await;
    let fleet = &bed.fleet;
    let mut c = Config::default();
    c.poll.protocol = ProtocolChoice::Auto;
    c.ipmi.port = fleet.ipmi_port();
    let std::net::IpAddr::V4(ip) = fleet.bmcs[0].ipmi.as_ref().expect("ipmi").0.ip() else {
        panic!("the simulator listens on IPv4 loopback");
    };
    // Where nothing listens: the Redfish probe is refused, IPMI answers.
    c.redfish.port = free_port(ip);
    let connector = Connector::new(&c, Credentials::single("admin", "password")).expect("c");
    let t = target(fleet);
    let bmc = connector.connect(&t);
    assert_eq!(bmc.describe().label(), format!("{}@{}", t.mac, t.ip));
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let reading = {
        let _guard = tracing::subscriber::set_default(subscriber);
        bmc.poll().await
    };
    assert!(reading.power.ok().is_some(), "{reading:?}");
    let text = String::from_utf8_lossy(&log.0.lock().expect("log")).to_string();
    let line = text
        .lines()
        .find(|l| l.contains("protocol detected"))
        .unwrap_or_else(|| panic!("no detection logged:\n{text}"));
    let ipmi = format!("{}@{}:{}", t.mac, t.ip, fleet.ipmi_port());
    assert!(
        line.contains(&ipmi) && line.contains("backend=\"ipmi\""),
        "{line}"
    );
    assert!(!line.contains(&format!(":{}", c.redfish.port)), "{line}");
    assert_eq!(bmc.describe().label(), ipmi);
    bmc.close().await;
}
