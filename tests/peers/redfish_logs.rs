//! Redfish LogServices against the DMTF public-rackmount1 mockup served by sushy-static: the
//! entries of `Managers/BMC/LogServices/Log` and `Systems/437XR1138R2/LogServices/Log1` are read
//! with the mockup's severities and messages; the first read sends no events, and an entry past
//! the cursor (a cursor file naming an older entry, as after a restart) is sent once.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::{Config, Credentials, ProtocolChoice, TlsPolicy};
use bmc_catcher::hal::cursors::Cursors;
use bmc_catcher::hal::{Bmc, Connector};
use bmc_catcher::model::{EventKind, LogSeverity, Target};
use bmc_catcher::poller::poll_one;
use bmc_catcher::store::{Recorder, Store};

fn catcher(
    dir: &std::path::Path,
    target: &Target,
    port: u16,
) -> (Arc<dyn Bmc>, Arc<Cursors>, Store, Arc<Recorder>) {
    let mut cfg = Config {
        partition: "test".into(),
        credentials_file: None,
        ..Config::default()
    };
    cfg.poll.protocol = ProtocolChoice::Redfish;
    cfg.redfish.port = port;
    cfg.redfish.tls = TlsPolicy::Insecure;
    cfg.logs.cursor_file = Some(dir.join("log-cursors.json"));
    let cursors = Arc::new(Cursors::load(cfg.logs.cursor_file.clone()));
    let connector = Connector::new(&cfg, Credentials::single("admin", "password"))
        .expect("connector")
        .with_cursors(cursors.clone());
    let bmc = connector.connect(target);
    let store = Store::new("test");
    let events = Arc::new(Recorder::default());
    store.observe(events.clone());
    store.upsert_target(target.clone());
    (bmc, cursors, store, events)
}

#[tokio::test(flavor = "multi_thread")]
async fn mockup_log_entries_are_read_and_only_entries_past_the_cursor_are_sent() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tmp");
    let ip = unique_ip();
    let (_sushy, port) = sushy_static(dir.path(), ip, RACKMOUNT1);
    let target = Target {
        mac: "52:54:00:aa:00:16".parse().expect("mac"),
        ip: IpAddr::V4(ip),
        port: None,
        hostname: None,
        lease_ends: None,
    };
    let (bmc, cursors, store, events) = catcher(dir.path(), &target, port);
    let snap = poll_one(&*bmc, &target, "test", Duration::from_secs(20)).await;
    assert!(snap.up, "{snap:?}");
    store.record(snap);
    let logs = store
        .get(target.mac)
        .and_then(|e| e.snapshot)
        .and_then(|s| s.reading.logs.clone())
        .expect("logs read");
    let mut got: Vec<(String, String, LogSeverity, String)> = logs
        .entries
        .iter()
        .map(|e| (e.log.clone(), e.id.clone(), e.severity, e.message.clone()))
        .collect();
    got.sort();
    let c = LogSeverity::Critical;
    assert_eq!(
        got,
        [
            (
                "Managers/BMC/LogServices/Log".into(),
                "1".into(),
                c,
                "System May be Melting".into()
            ),
            (
                "Systems/437XR1138R2/LogServices/Log1".into(),
                "1".into(),
                c,
                "Temperature threshold exceeded".into()
            ),
            (
                "Systems/437XR1138R2/LogServices/Log1".into(),
                "2".into(),
                c,
                "Temperature threshold exceeded".into()
            ),
        ]
    );
    assert_eq!(logs.total, 3);
    let log_events = |events: &Recorder| -> Vec<EventKind> {
        events
            .take()
            .into_iter()
            .map(|e| e.kind)
            .filter(|k| matches!(k, EventKind::LogEntry { .. } | EventKind::LogCleared { .. }))
            .collect()
    };
    assert_eq!(log_events(&events), [], "the first read sends nothing");
    // As if the daemon had stopped after entry 1 of the system log: entry 2 is new, once.
    cursors.set(
        target.mac,
        "Systems/437XR1138R2/LogServices/Log1",
        &serde_json::json!({"last_id": "1", "count": 1}),
    );
    cursors.flush();
    bmc.close().await;
    let (bmc, _cursors, store, events) = catcher(dir.path(), &target, port);
    for _ in 0..2 {
        store.record(poll_one(&*bmc, &target, "test", Duration::from_secs(20)).await);
    }
    let sent = log_events(&events);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let EventKind::LogEntry { entry } = &sent[0] else {
        panic!("{sent:?}");
    };
    assert_eq!(
        (
            entry.log.as_str(),
            entry.id.as_str(),
            entry.message_id.as_deref()
        ),
        (
            "Systems/437XR1138R2/LogServices/Log1",
            "2",
            Some("0x592E28")
        )
    );
    assert_eq!(entry.sensor_type.as_deref(), Some("Temperature"));
}
