//! [`LogCatcher`]: a daemon's worth of pieces for following the logs of a test bed's first
//! simulated BMC over one protocol (its backend, with the log cursors given, and a store whose
//! events are recorded), for the tests of the log followers.

use std::sync::Arc;
use std::time::Duration;

use super::TestBed;
use bmc_catcher::config::{Config, Credentials, ProtocolChoice};
use bmc_catcher::hal::cursors::Cursors;
use bmc_catcher::hal::{Bmc, Connector};
use bmc_catcher::model::{EventKind, LogEntry, Logs, MacAddr, Target};
use bmc_catcher::poller::poll_one;
use bmc_catcher::store::{Recorder, Store};

pub struct LogCatcher {
    pub bmc: Arc<dyn Bmc>,
    pub target: Target,
    pub store: Store,
    pub events: Arc<Recorder>,
}

impl LogCatcher {
    /// Reads the BMC over `protocol`, its cursors kept in memory only.
    pub fn new(bed: &TestBed, protocol: ProtocolChoice) -> LogCatcher {
        LogCatcher::with_cursors(bed, protocol, Arc::default())
    }

    /// Reads the BMC over `protocol`, noting its log cursors in `cursors`.
    pub fn with_cursors(
        bed: &TestBed,
        protocol: ProtocolChoice,
        cursors: Arc<Cursors>,
    ) -> LogCatcher {
        let sim = &bed.fleet.bmcs[0];
        // An IPMI-only fleet has no Redfish port for the test bed's config to name.
        let (mut c, ip, creds) = match protocol {
            ProtocolChoice::Ipmi => (
                Config::default(),
                sim.ipmi.clone().expect("ipmi").0.ip(),
                Credentials::single("admin", "password"),
            ),
            _ => (bed.config(), sim.addr.ip(), bed.credentials()),
        };
        c.poll.protocol = protocol;
        c.poll.timeout = Duration::from_secs(30);
        c.ipmi.port = bed.fleet.ipmi_port();
        let target = Target {
            mac: MacAddr(sim.bmc.mac.0),
            ip,
            port: None,
            hostname: None,
            lease_ends: None,
        };
        let bmc = Connector::new(&c, creds)
            .expect("connector")
            .with_cursors(cursors)
            .connect(&target);
        let store = Store::new("test");
        let events = Arc::new(Recorder::default());
        store.observe(events.clone());
        store.upsert_target(target.clone());
        LogCatcher {
            bmc,
            target,
            store,
            events,
        }
    }

    /// One poll into the store: the new log entries it sent.
    pub async fn poll(&self) -> Vec<LogEntry> {
        let snap = poll_one(&*self.bmc, &self.target, "test", Duration::from_secs(30)).await;
        assert!(snap.up, "{snap:?}");
        assert!(snap.reading.sensors.ok().is_some(), "the rest is read");
        self.store.record(snap);
        self.events
            .take()
            .into_iter()
            .filter_map(|e| match e.kind {
                EventKind::LogEntry { entry } => Some(entry),
                _ => None,
            })
            .collect()
    }

    /// The log part of the BMC's snapshot.
    pub fn logs(&self) -> Logs {
        self.store
            .get(self.target.mac)
            .and_then(|e| e.snapshot)
            .and_then(|s| s.reading.logs.as_deref().cloned())
            .expect("logs read")
    }
}
