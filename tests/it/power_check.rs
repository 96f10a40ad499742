//! `power-state-disagreement` against bmc-sim serving one BMC over both Redfish and IPMI
//! (`protocol = "auto"`): its Redfish view made to report another power state than IPMI raises the
//! issue at the next slow-cadence check (not before), and it clears at the first poll after the
//! two agree again. A BMC without IPMI gets no comparison and no issue.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::ProtocolChoice;
use bmc_catcher::hal::Connector;
use bmc_catcher::issues::{Settings, evaluate};
use bmc_catcher::model::{IssueType, PowerState, Protocol};
use bmc_catcher::poller::poll_one;
use bmc_catcher::store::{Entry, now_ms};
use bmc_sim::{SimProtocol, SimShape};

const INVENTORY_INTERVAL: Duration = Duration::from_secs(3);

fn settings() -> Settings {
    Settings {
        now_ms: now_ms(),
        interval: Duration::from_secs(300),
        outdated_after_intervals: 4,
        log_critical_clears_after: Duration::from_secs(86_400),
        drive_wear_out_below: 10,
    }
}

/// The bed, a connector speaking `auto`, and the BMC as a lease names it (no port of its own:
/// Redfish and IPMI each on the configured one).
async fn bed(protocol: SimProtocol) -> (TestBed, Connector, bmc_catcher::model::Target) {
    let bed = TestBed::new()
        .protocols(vec![protocol])
        .shapes(vec![SimShape::Legacy])
        .start()
        .await;
    let mut t = targets(&bed.fleet).remove(0);
    let mut c = bed.config();
    c.poll.protocol = ProtocolChoice::Auto;
    c.poll.inventory_interval = INVENTORY_INTERVAL;
    c.redfish.port = t.port.take().expect("the simulator's Redfish port");
    c.ipmi.port = bed.fleet.ipmi_port();
    let connector = Connector::new(&c, bed.credentials()).expect("connector");
    (bed, connector, t)
}

/// One poll: the snapshot's power check and the `power-state-disagreement` issues of the BMC.
async fn poll(
    bmc: &dyn bmc_catcher::hal::Bmc,
    t: &bmc_catcher::model::Target,
) -> (Option<bmc_catcher::model::PowerCheck>, Vec<String>) {
    let snap = poll_one(bmc, t, "test", Duration::from_secs(10)).await;
    let check = snap.reading.power_check;
    let entry = Entry {
        target: Arc::new(t.clone()),
        snapshot: Some(Arc::new(snap)),
    };
    let issues = evaluate(&[entry], &settings())
        .into_values()
        .flatten()
        .filter(|i| i.kind == IssueType::PowerStateDisagreement)
        .map(|i| i.detail.to_string())
        .collect();
    (check, issues)
}

#[tokio::test(flavor = "multi_thread")]
async fn redfish_and_ipmi_reporting_two_power_states_raise_the_issue_until_they_agree() {
    let (bed, connector, t) = bed(SimProtocol::Both).await;
    let bmc = connector.connect(&t);
    let sim = &bed.fleet.bmcs[0].bmc;

    // Not compared at the first poll (a start or a takeover polls every BMC at once), but at the
    // first poll an interval (here shorter than FIRST_CHECK_AFTER) after it.
    let (check, issues) = poll(&*bmc, &t).await;
    assert_eq!(check, None, "compared at the first poll");
    assert!(issues.is_empty(), "{issues:?}");
    tokio::time::sleep(INVENTORY_INTERVAL + Duration::from_millis(200)).await;
    let (check, issues) = poll(&*bmc, &t).await;
    let check = check.expect("compared an interval after the first poll");
    assert_eq!(bmc.describe().protocol, Some(Protocol::Redfish));
    assert_eq!(
        (check.polled, check.other_protocol, check.other),
        (PowerState::On, Protocol::Ipmi, PowerState::On)
    );
    assert!(issues.is_empty(), "{issues:?}");

    // The Redfish view goes stale: it says Off while the machine (and IPMI) is on.
    sim.state().faults.redfish_power = Some(sim_power(PowerState::Off));
    // The next comparison is at the BMC's slot in the interval, half to one and a half intervals on.
    tokio::time::sleep(INVENTORY_INTERVAL * 3 / 2 + Duration::from_millis(200)).await;
    let (check, issues) = poll(&*bmc, &t).await;
    assert!(check.is_some_and(|c| c.disagrees()), "{check:?}");
    assert_eq!(issues, ["redfish reports power Off, ipmi reports On"]);

    // Rechecked at every poll while they disagree: cleared at the first poll after they agree.
    sim.state().faults.redfish_power = None;
    let (check, issues) = poll(&*bmc, &t).await;
    assert!(check.is_some_and(|c| !c.disagrees()), "{check:?}");
    assert!(issues.is_empty(), "{issues:?}");

    // Agreeing, the next comparison waits for the interval: a disagreement arising now is seen
    // at the next check, not at this poll.
    sim.state().faults.redfish_power = Some(sim_power(PowerState::Off));
    let (check, issues) = poll(&*bmc, &t).await;
    assert!(
        check.is_some_and(|c| c.polled == PowerState::On),
        "the last check: {check:?}"
    );
    assert!(issues.is_empty(), "{issues:?}");
    bed.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bmc_without_ipmi_gets_no_comparison() {
    let (bed, connector, t) = bed(SimProtocol::Redfish).await;
    let bmc = connector.connect(&t);
    poll(&*bmc, &t).await;
    // Due for a comparison now: IPMI does not answer, so there is none.
    tokio::time::sleep(INVENTORY_INTERVAL + Duration::from_millis(200)).await;
    let (check, issues) = poll(&*bmc, &t).await;
    assert_eq!(bmc.describe().protocol, Some(Protocol::Redfish));
    assert_eq!(check, None);
    assert!(issues.is_empty());
    bed.cancel.cancel();
}
