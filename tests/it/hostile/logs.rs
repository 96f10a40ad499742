//! Hostile BMC logs, from the simulator: an IPMI SEL record of the wrong length is skipped with a
//! warning and the records around it arrive; a full SEL (60,000 records) on the first read costs
//! a handful of requests, not 60,000; a Redfish LogService of 100,000 entries, entries without
//! `Id` and a 1 MB message are bounded and skipped while the rest of the BMC is read as before.

use crate::common::*;
use bmc_catcher::config::ProtocolChoice;
use bmc_sim::{SimProtocol, SimShape};

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_length_sel_record_is_skipped_and_its_neighbours_arrive() {
    let bed = TestBed::new()
        .protocols(vec![SimProtocol::Ipmi])
        .start()
        .await;
    let sim = bed.fleet.bmcs[0].bmc.clone();
    let c = LogCatcher::new(&bed, ProtocolChoice::Ipmi);
    assert_eq!(c.poll().await, []);
    let bad = {
        let mut st = sim.state();
        st.sel.event(0x01, 0x42, 0x01, [0x59, 0x5c, 0x5a]);
        let bad = st.sel.event(0x0c, 0x11, 0x6f, [0x01, 0xff, 0xff]);
        st.sel.event(0x07, 0x12, 0x6f, [0x00, 0xff, 0xff]);
        st.sel.wrong_length = Some(bad);
        bad
    };
    let got = c.poll().await;
    let words: Vec<(&str, &str)> = got
        .iter()
        .map(|e| (e.sensor.as_deref().unwrap_or(""), e.message.as_str()))
        .collect();
    assert_eq!(
        words,
        [
            ("Temperature #0x42", "Upper Critical going high"),
            ("Processor #0x12", "IERR")
        ],
        "record {bad:#06x} skipped"
    );
    sim.state().sel.event(0x08, 0x13, 0x6f, [0x01, 0xff, 0xff]);
    let got = c.poll().await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].message, "Failure detected");
    // One old record deleted (Delete SEL Entry, no erase): the log shrank, nothing is new and
    // nothing is sent again.
    sim.state().sel.records.pop_front();
    assert_eq!(c.poll().await, []);
    sim.state().sel.event(0x14, 0x15, 0x6f, [0x00, 0xff, 0xff]);
    let got = c.poll().await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].message, "Power Button pressed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_sel_on_first_read_costs_one_bounded_read() {
    let bed = TestBed::new()
        .protocols(vec![SimProtocol::Ipmi])
        .start()
        .await;
    let sim = bed.fleet.bmcs[0].bmc.clone();
    sim.state().sel.fill(60_000);
    let (_, handle) = bed.fleet.bmcs[0].ipmi.clone().expect("ipmi");
    let c = LogCatcher::new(&bed, ProtocolChoice::Ipmi);
    c.poll().await; // the session, SDRs, FRU: read once
    let logs = c.logs();
    assert_eq!(logs.total, 60_000);
    assert_eq!(logs.entries.len(), 1, "only the newest record was read");
    assert!(logs.sel_used_ratio.is_some_and(|r| r > 0.9), "{logs:?}");
    let before = handle.requests();
    sim.state().sel.event(0x01, 0x42, 0x01, [0x59, 0x5c, 0x5a]);
    let got = c.poll().await;
    assert_eq!(got.len(), 1, "{got:?}");
    let cost = handle.requests() - before;
    assert!(cost < 40, "one new record costs a few requests: {cost}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_redfish_log_is_bounded_and_skipped() {
    let bed = TestBed::new().start().await;
    let sim = bed.fleet.bmcs[0].bmc.clone();
    let c = LogCatcher::new(&bed, ProtocolChoice::Redfish);
    sim.state().sel.event(0x01, 0x42, 0x01, [0x59, 0x5c, 0x5a]);
    assert_eq!(c.poll().await, [], "the first read sends nothing");
    assert_eq!(c.logs().entries.len(), 1);
    // A 1 MB message: cut to 1024 characters.
    {
        let mut st = sim.state();
        st.sel.redfish_message = Some("m".repeat(1 << 20));
        st.sel.event(0x0c, 0x11, 0x6f, [0x01, 0xff, 0xff]);
    }
    let got = c.poll().await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0].message.len(),
        bmc_catcher::model::MAX_LOG_MESSAGE_CHARS
    );
    // 100,000 more entries: at most [logs] max-entries-per-poll (200) arrive, the snapshot keeps 50.
    {
        let mut st = sim.state();
        st.sel.redfish_message = None;
        st.sel.redfish_bulk = 100_000;
    }
    let got = c.poll().await;
    assert_eq!(got.len(), 200, "bounded");
    assert_eq!(
        got.last().map(|e| e.id.as_str()),
        Some("b99999"),
        "the newest"
    );
    assert_eq!(c.logs().entries.len(), 50);
    assert_eq!(c.poll().await, [], "nothing twice");
    // Entries without Id: skipped with a warning; nothing else lost.
    {
        let mut st = sim.state();
        st.sel.redfish_bulk = 0;
        st.sel.redfish_without_id = true;
    }
    let got = c.poll().await;
    assert!(got.is_empty(), "{got:?}");
}

/// The premise of `hack/bench-fleet.sh` with `LOGS=grow` (`bmc-sim --sel-per-poll`): each poll of
/// a growing BMC sends exactly one new entry, over IPMI and over Redfish.
#[tokio::test(flavor = "multi_thread")]
async fn a_sel_growing_per_poll_sends_one_entry_per_poll() {
    for shape in [SimShape::Legacy, SimShape::Subsystem, SimShape::Sensors] {
        let bed = TestBed::new()
            .protocols(vec![SimProtocol::Both])
            .shapes(vec![shape])
            .start()
            .await;
        let sim = bed.fleet.bmcs[0].bmc.clone();
        sim.state().sel.grow_per_poll = true;
        for protocol in [
            ProtocolChoice::Ipmi,
            ProtocolChoice::Redfish,
            ProtocolChoice::Auto,
        ] {
            let c = LogCatcher::new(&bed, protocol);
            assert_eq!(
                c.poll().await,
                [],
                "{shape:?} {protocol:?}: the first read is counted, not sent"
            );
            for _ in 0..3 {
                let got = c.poll().await;
                assert_eq!(got.len(), 1, "{shape:?} {protocol:?}: {got:?}");
            }
        }
    }
}

/// An iDRAC-like log (bmc-sim `dell`: `Dell Inc.`, LogService `Sel`, newest first, `$top`/`$skip`):
/// the vendor table's row is used, a long log costs a few pages, and each poll reads back only to
/// the cursor: the new entries arrive once each, oldest first.
#[tokio::test(flavor = "multi_thread")]
async fn a_newest_first_log_is_read_in_pages_back_to_the_cursor() {
    use std::sync::atomic::Ordering;
    let bed = TestBed::new().start().await;
    let sim = bed.fleet.bmcs[0].bmc.clone();
    {
        let mut st = sim.state();
        st.sel.dell = true;
        st.sel.fill(3000);
    }
    let c = LogCatcher::new(&bed, ProtocolChoice::Redfish);
    assert_eq!(c.poll().await, [], "the first read sends nothing");
    let logs = c.logs();
    assert_eq!(logs.total, 3000);
    assert!(
        logs.entries
            .iter()
            .all(|e| e.log == "Managers/1/LogServices/Sel"),
        "{:?}",
        logs.entries.first()
    );
    let newest = sim.state().sel.records.back().map(|(id, _)| id.to_string());
    assert_eq!(logs.entries.last().map(|e| e.id.clone()), newest);
    let ids: Vec<u16> = {
        let mut st = sim.state();
        (0..5)
            .map(|i| st.sel.event(0x07, 0x12 + i, 0x6f, [0x00, 0xff, 0xff]))
            .collect()
    };
    let before = sim.counters.requests.load(Ordering::Relaxed);
    let got = c.poll().await;
    let cost = sim.counters.requests.load(Ordering::Relaxed) - before;
    assert_eq!(
        got.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        ids.iter().map(u16::to_string).collect::<Vec<_>>(),
        "the new entries, oldest first"
    );
    assert!(
        cost < 15,
        "one page back to the cursor, not 3,000 entries: {cost} requests"
    );
    assert_eq!(c.poll().await, [], "nothing twice");
}
