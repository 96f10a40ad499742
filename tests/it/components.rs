//! Component faults end to end: the real daemon polls three simulated BMCs that serve drives, a
//! RAID1 volume, DIMMs, CPUs, NIC ports and a firmware inventory; a drive failure, a degraded
//! volume, a lost NIC link and a firmware mismatch injected at run time (the named faults of
//! `bmc-sim --fault`) each raise their issue within one poll and clear after the BMC is healed.
//! Over IPMI, the failed drive shows as the chassis status's drive-fault bit and raises
//! `drive-failed` the same way. Also: what serving components costs in GETs per poll, counted by
//! the simulator.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::*;
use crate::it::daemon::{init, snapshot};
use bmc_catcher::config::ProtocolChoice;
use bmc_catcher::daemon::Daemon;
use bmc_catcher::hal::Connector;
use bmc_catcher::model::{BmcSnapshot, IssueType, LinkStatus, MacAddr};
use bmc_catcher::poller::poll_one;
use bmc_catcher::store::Store;
use bmc_sim::state::components::{BMC_FIRMWARE, MISMATCHED};
use bmc_sim::state::named_fault::SimFault;
use bmc_sim::{SimBmc, SimProtocol, SimShape};

fn has(s: &BmcSnapshot, t: IssueType) -> bool {
    s.issues.iter().any(|i| i.kind == t)
}

/// Waits until the BMC's issue `t` is `raised` (or cleared), counting the polls started after the
/// call; fails if it takes more than `max_polls` of them (or 20 s).
async fn within_polls(store: &Store, mac: MacAddr, t: IssueType, raised: bool, max_polls: usize) {
    let since = snapshot(store, mac).map_or(0, |s| s.polled_at_ms);
    let mut polls = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = snapshot(store, mac) {
            if s.polled_at_ms > since {
                polls.insert(s.polled_at_ms);
            }
            if has(&s, t) == raised {
                return;
            }
        }
        assert!(
            polls.len() <= max_polls && tokio::time::Instant::now() < deadline,
            "{t} still {} after {} polls",
            if raised { "absent" } else { "raised" },
            polls.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn apply(bmc: &SimBmc, f: SimFault) {
    f.apply(&mut bmc.state());
}

fn heal(bmc: &SimBmc) {
    bmc.state().parts.heal();
}

/// Three simulated BMCs of one model with components, polled every second.
pub(crate) async fn component_fleet() -> TestBed {
    TestBed::new()
        .bmcs(3)
        .shapes(vec![SimShape::Legacy])
        .components()
        .interval("1s")
        .timeout("1s")
        .toml("\n[ipmi]\nrequest-timeout = \"200ms\"\n")
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn component_faults_raise_their_issue_within_one_poll_and_clear_after() {
    init();
    let bed = component_fleet().await;
    let daemon = Daemon::start(&bed.config(), bed.credentials())
        .await
        .expect("daemon");
    let sim = bed.fleet.bmcs[0].bmc.clone();
    let m = mac(sim.mac);
    crate::it::daemon::wait_for(&daemon.store, Duration::from_secs(20), "components", |st| {
        (0..3).all(|i| {
            snapshot(st, mac(bed.fleet.bmcs[i].bmc.mac))
                .and_then(|s| s.reading.components.map(|c| c.drives().len() == 2))
                .unwrap_or(false)
        })
    })
    .await;
    // The parts as served: two drives, one RAID1 volume, two DIMMs, two CPUs, two ports (one
    // up), three firmware entries; nothing raised.
    let s = snapshot(&daemon.store, m).expect("polled");
    let c = s.reading.components.as_deref().expect("components");
    assert_eq!(c.volumes().len(), 1);
    assert_eq!(c.volumes()[0].raid_type.as_deref(), Some("RAID1"));
    assert_eq!(c.memory.ok().map(Vec::len), Some(2));
    assert_eq!(c.processors.ok().map(Vec::len), Some(2));
    let ports = c.network.ok().expect("ports");
    assert_eq!(
        ports.iter().map(|p| p.link).collect::<Vec<_>>(),
        [Some(LinkStatus::Up), Some(LinkStatus::NoLink)]
    );
    let fw = c.firmware.ok().expect("firmware inventory");
    assert_eq!(fw.len(), 3);
    assert_eq!(fw[0].version.as_deref(), Some(BMC_FIRMWARE));
    let component_issues = [
        IssueType::DriveFailed,
        IssueType::RaidDegraded,
        IssueType::NicLinkDown,
        IssueType::FirmwareDrift,
    ];
    for t in component_issues {
        assert!(!has(&s, t), "{t} raised on a healthy BMC: {:?}", s.issues);
    }

    // Each fault, then healed. At most two polls: the one in flight when the fault was set may
    // have read before it.
    for (fault, issue) in [
        (SimFault::DriveFailed, IssueType::DriveFailed),
        (SimFault::RaidDegraded, IssueType::RaidDegraded),
        (SimFault::NicLinkDown, IssueType::NicLinkDown),
        (SimFault::FirmwareMismatch, IssueType::FirmwareDrift),
    ] {
        apply(&sim, fault);
        within_polls(&daemon.store, m, issue, true, 2).await;
        let s = snapshot(&daemon.store, m).expect("polled");
        let detail = s
            .issues
            .iter()
            .find(|i| i.kind == issue)
            .map(|i| i.detail.to_string())
            .unwrap_or_default();
        match issue {
            IssueType::DriveFailed => assert!(detail.contains("Disk0"), "{detail}"),
            IssueType::NicLinkDown => assert!(detail.contains("NIC1"), "{detail}"),
            IssueType::FirmwareDrift => {
                assert!(detail.contains(MISMATCHED.0), "{detail}");
                assert!(detail.contains(MISMATCHED.1), "{detail}");
                // The BMC's firmware changed: its firmware inventory was read again at once,
                // not a day later (`inventory-interval` keeps its default here).
                let fw = s
                    .reading
                    .components
                    .as_deref()
                    .and_then(|c| c.firmware.ok());
                assert_eq!(
                    fw.and_then(|f| f[0].version.clone()).as_deref(),
                    Some(MISMATCHED.0)
                );
            }
            _ => {}
        }
        // The other two BMCs stay clean (the drift is the odd one's, not theirs).
        for other in &bed.fleet.bmcs[1..] {
            let o = snapshot(&daemon.store, mac(other.bmc.mac)).expect("polled");
            assert!(!has(&o, issue), "{issue} on a healthy BMC: {:?}", o.issues);
        }
        heal(&sim);
        within_polls(&daemon.store, m, issue, false, 2).await;
    }
    // The port that never had a link never raised anything.
    let s = snapshot(&daemon.store, m).expect("polled");
    assert!(
        !s.issues.iter().any(|i| i.detail.contains("NIC2")),
        "{:?}",
        s.issues
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ipmi_chassis_drive_fault_raises_drive_failed_and_clears() {
    init();
    // Both services (the test bed's config names a Redfish port); polled over IPMI only.
    let bed = TestBed::new()
        .protocols(vec![SimProtocol::Both])
        .interval("1s")
        .timeout("1s")
        .toml("\n[ipmi]\nrequest-timeout = \"200ms\"\n")
        .start()
        .await;
    let mut cfg = bed.config();
    cfg.poll.protocol = ProtocolChoice::Ipmi;
    cfg.ipmi.port = bed.fleet.ipmi_port();
    let daemon = Daemon::start(&cfg, bed.credentials())
        .await
        .expect("daemon");
    let sim = bed.fleet.bmcs[0].bmc.clone();
    let m = mac(sim.mac);
    crate::it::daemon::wait_for(&daemon.store, Duration::from_secs(20), "a poll", |st| {
        snapshot(st, m).is_some_and(|s| s.up)
    })
    .await;
    let s = snapshot(&daemon.store, m).expect("polled");
    assert!(s.reading.components.is_none(), "no fault, no parts: {s:?}");
    apply(&sim, SimFault::DriveFailed);
    within_polls(&daemon.store, m, IssueType::DriveFailed, true, 2).await;
    let s = snapshot(&daemon.store, m).expect("polled");
    let drives = s.reading.components.as_deref().map(|c| c.drives().to_vec());
    assert_eq!(
        drives
            .as_deref()
            .and_then(|d| d.first())
            .map(|d| d.part.id.as_str()),
        Some("chassis-status/drive-fault"),
        "{drives:?}"
    );
    heal(&sim);
    within_polls(&daemon.store, m, IssueType::DriveFailed, false, 2).await;
    daemon.stop().await;
}

/// GETs one steady poll costs (layout known, session open), by the simulator's request counter;
/// `in_full`: with `[poll] component-interval = "0s"`, the parts read at every poll.
async fn gets_per_poll(components: bool, in_full: bool) -> u64 {
    let mut b = TestBed::new().bmcs(1).shapes(vec![SimShape::Legacy]);
    if components {
        b = b.components();
    }
    let bed = b.start().await;
    let mut cfg = bed.config();
    if in_full {
        cfg.poll.component_interval = Duration::ZERO;
    }
    let connector = Connector::new(&cfg, bed.credentials()).expect("connector");
    let target = targets(&bed.fleet).remove(0);
    let bmc = connector.connect(&target);
    let sim = bed.fleet.bmcs[0].bmc.clone();
    let first = poll_one(bmc.as_ref(), &target, "test", cfg.poll.timeout).await;
    assert!(first.reading.first_error().is_none(), "{first:?}");
    let before = sim.counters.requests.load(Ordering::Relaxed);
    let steady = poll_one(bmc.as_ref(), &target, "test", cfg.poll.timeout).await;
    assert!(steady.up);
    assert_eq!(
        steady
            .reading
            .components
            .as_deref()
            .map(|c| c.drives().len()),
        components.then_some(2),
        "the parts are in every snapshot, read or kept"
    );
    bmc.close().await;
    sim.counters.requests.load(Ordering::Relaxed) - before
}

#[tokio::test(flavor = "multi_thread")]
async fn a_steady_poll_reads_the_nic_ports_and_the_parts_only_when_due() {
    init();
    let without = gets_per_poll(false, false).await;
    let steady = gets_per_poll(true, false).await;
    let in_full = gets_per_poll(true, true).await;
    // The system's health rollup held and every part was healthy: only EthernetInterfaces.
    assert_eq!(steady - without, 1, "without {without}, steady {steady}");
    // In full: Storage (controller inline), its two drives, Volumes, Memory, Processors and
    // EthernetInterfaces, members expanded; the firmware inventory waits for its interval.
    assert_eq!(in_full - without, 7, "without {without}, in full {in_full}");
}
