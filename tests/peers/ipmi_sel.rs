//! The SEL against OpenIPMI's ipmi_sim: records appended at run time (the console's `sel_add`)
//! arrive once each, in order, as `log-entry` events in the words `ipmitool sel elist` prints for
//! them; the records there at the first read are kept, not replayed; `ipmitool sel clear` gives
//! one `log-cleared`, then new records arrive again; a restart (the cursor file read back) sends
//! no record twice.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::{Config, Credentials, ProtocolChoice};
use bmc_catcher::hal::cursors::Cursors;
use bmc_catcher::hal::{Bmc, Connector};
use bmc_catcher::model::{EventKind, LogEntry, Target};
use bmc_catcher::poller::poll_one;
use bmc_catcher::store::{Recorder, Store};

/// Records as ipmi_sim's console appends them: a sensor not in the SDRs (0x42, 0x30, 0x11), the
/// SDR's "CPU Temp" (sensor 1), a deassertion and an OEM record.
const RECORDS: [&str; 5] = [
    "sel_add 0x20 0x02 0 0 0 0 0x20 0x00 0x04 0x01 0x42 0x01 0x59 0x5c 0x5a",
    "sel_add 0x20 0x02 0 0 0 0 0x20 0x00 0x04 0x04 0x30 0x01 0x52 0x07 0x0a",
    "sel_add 0x20 0x02 0 0 0 0 0x20 0x00 0x04 0x0c 0x11 0x6f 0x01 0xff 0xff",
    "sel_add 0x20 0x02 0 0 0 0 0x20 0x00 0x04 0x01 0x01 0x81 0x59 0x55 0x5a",
    "sel_add 0x20 0xc1 0 0 0 0 0x57 0x01 0x00 0xde 0xad 0xbe 0xef 0x01 0x02",
];

struct Bed {
    sim: IpmiSim,
    target: Target,
    bmc: Arc<dyn Bmc>,
    cursors: Arc<Cursors>,
    store: Store,
    events: Arc<Recorder>,
    dir: tempfile::TempDir,
}

fn config(dir: &std::path::Path) -> Config {
    let mut c = Config {
        partition: "test".into(),
        credentials_file: None,
        ..Config::default()
    };
    c.discovery.leases_file = dir.join("dhcpd.leases");
    c.poll.protocol = ProtocolChoice::Ipmi;
    c.logs.backfill = 2;
    c.logs.cursor_file = Some(dir.join("log-cursors.json"));
    c
}

/// A daemon's worth of the pieces: backend (with the cursors read back from the file), store.
fn catcher(
    dir: &std::path::Path,
    target: &Target,
) -> (Arc<dyn Bmc>, Arc<Cursors>, Store, Arc<Recorder>) {
    let cfg = config(dir);
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

impl Bed {
    fn start(name: &str) -> Bed {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("tmp");
        let ip = unique_ip();
        let sim = IpmiSim::start(dir.path(), name, ip);
        let target = Target {
            mac: "52:54:00:5e:00:01".parse().expect("mac"),
            ip: IpAddr::V4(ip),
            port: None,
            hostname: None,
            lease_ends: None,
        };
        let (bmc, cursors, store, events) = catcher(dir.path(), &target);
        Bed {
            sim,
            target,
            bmc,
            cursors,
            store,
            events,
            dir,
        }
    }

    /// Stops like the daemon does (cursors written, session closed).
    async fn stop(&self) {
        self.cursors.flush();
        self.bmc.close().await;
    }

    /// Starts anew: the cursors read back from the file, a new store.
    fn start_again(&mut self) {
        (self.bmc, self.cursors, self.store, self.events) = catcher(self.dir.path(), &self.target);
    }

    async fn restart(&mut self) {
        self.stop().await;
        self.start_again();
    }

    /// One poll into the store; the log events it emitted (`log-entry`, `log-cleared`).
    async fn poll(&self) -> Vec<EventKind> {
        let snap = poll_one(&*self.bmc, &self.target, "test", Duration::from_secs(10)).await;
        assert!(snap.up, "{snap:?}");
        self.store.record(snap);
        self.events
            .take()
            .into_iter()
            .map(|e| e.kind)
            .filter(|k| matches!(k, EventKind::LogEntry { .. } | EventKind::LogCleared { .. }))
            .collect()
    }

    fn console(&self, lines: &[&str]) {
        tokio::task::block_in_place(|| self.sim.console(lines));
    }

    /// `ipmitool sel elist`: (sensor, event, direction) per record, in order.
    fn elist(&self) -> Vec<[String; 3]> {
        tokio::task::block_in_place(|| self.sim.ipmitool(&["sel", "elist"]))
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('|').map(str::trim).collect();
                // id | date | time | sensor | event | direction (or OEM: id | date | time | ...)
                (f.len() >= 6).then(|| [f[3].into(), f[4].into(), f[5].into()])
            })
            .collect()
    }
}

fn entries(events: &[EventKind]) -> Vec<LogEntry> {
    events
        .iter()
        .filter_map(|k| match k {
            EventKind::LogEntry { entry } => Some(entry.clone()),
            _ => None,
        })
        .collect()
}

fn words(e: &LogEntry) -> [String; 3] {
    [
        e.sensor.clone().unwrap_or_default(),
        e.message.clone(),
        e.detail.clone().unwrap_or_default(),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn runtime_records_arrive_once_each_as_ipmitool_prints_them() {
    let bed = Bed::start("sel");
    // The first read: ipmi_sim's 3 start-up records are counted and the newest 2 kept, not sent.
    assert_eq!(bed.poll().await, []);
    let snap = bed
        .store
        .get(bed.target.mac)
        .and_then(|e| e.snapshot)
        .expect("snapshot");
    let logs = snap.reading.logs.as_ref().expect("logs read");
    assert_eq!(logs.total, 3);
    assert_eq!(logs.entries.len(), 2);
    let ratio = logs.sel_used_ratio.expect("fill level");
    assert!(ratio > 0.0 && ratio < 0.1, "{ratio}");
    // Nothing new: nothing sent.
    assert_eq!(bed.poll().await, []);

    bed.console(&RECORDS[..3]);
    let mut got = entries(&bed.poll().await);
    bed.console(&RECORDS[3..]);
    got.extend(entries(&bed.poll().await));
    assert_eq!(bed.poll().await, [], "each record once");
    let elist = bed.elist();
    assert_eq!(elist.len(), 3 + RECORDS.len(), "{elist:?}");
    let ours: Vec<[String; 3]> = got.iter().map(words).collect();
    assert_eq!(ours, elist[3..], "same words as ipmitool, in order");
    assert_eq!(ours[3][0], "Temperature CPU Temp", "named from the SDR");
    let ids: Vec<&str> = got.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["0x0004", "0x0005", "0x0006", "0x0007", "0x0008"]);
    assert!(got.iter().all(|e| e.created_ms.is_some()), "{got:?}");

    // Cleared: one log-cleared, no entry; then new records again.
    tokio::task::block_in_place(|| bed.sim.ipmitool(&["sel", "clear"]));
    let after_clear = bed.poll().await;
    assert_eq!(
        after_clear,
        [EventKind::LogCleared { log: "sel".into() }],
        "{after_clear:?}"
    );
    bed.console(&RECORDS[..1]);
    let again = entries(&bed.poll().await);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(words(&again[0]), bed.elist()[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_sends_no_record_twice() {
    let mut bed = Bed::start("selrestart");
    assert_eq!(bed.poll().await, []);
    bed.console(&RECORDS[..2]);
    assert_eq!(entries(&bed.poll().await).len(), 2);
    bed.restart().await;
    // The cursor was read back: nothing is new, nothing is replayed.
    assert_eq!(bed.poll().await, []);
    // Appended while stopped and after: each arrives once.
    bed.stop().await;
    bed.console(&RECORDS[2..3]);
    bed.start_again();
    bed.console(&RECORDS[3..4]);
    let got = entries(&bed.poll().await);
    let ids: Vec<&str> = got.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["0x0006", "0x0007"]);
    assert_eq!(bed.poll().await, []);
    // Without the file the log is read as for the first time: counted, not replayed.
    bed.cursors.flush();
    bed.bmc.close().await;
    std::fs::remove_file(bed.dir.path().join("log-cursors.json")).expect("rm");
    (bed.bmc, bed.cursors, bed.store, bed.events) = catcher(bed.dir.path(), &bed.target);
    assert_eq!(bed.poll().await, []);
    let snap = bed
        .store
        .get(bed.target.mac)
        .and_then(|e| e.snapshot)
        .expect("snapshot");
    assert_eq!(snap.reading.logs.as_ref().map(|l| l.total), Some(7));
}

/// The whole daemon against ipmi_sim: a critical record appended at run time is served by
/// `/api/v1/bmcs/{mac}/logs` and `bmc-catcher logs`, raises `bmc-log-critical` with its words,
/// and `bmc-catcher logs MAC --ack` clears it; the SEL metrics are exported.
#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_serves_the_log_raises_the_critical_entry_and_ack_clears_it() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tmp");
    let ip = unique_ip();
    let sim = IpmiSim::start(dir.path(), "seld", ip);
    let mac = "52:54:00:5e:00:02";
    let path = write_config(
        dir.path(),
        &leases(&[(mac, ip)]),
        0,
        &format!(
            "\n[logs]\ncursor-file = \"{}/log-cursors.json\"\n",
            dir.path().display()
        ),
    );
    let text = std::fs::read_to_string(&path)
        .expect("cfg")
        .replace("[poll]\n", "[poll]\nprotocol = \"ipmi\"\n")
        .replace("[redfish]\nport = 0\n", "[redfish]\n")
        .replace("interval = \"1m\"", "interval = \"3s\"")
        .replace("timeout = \"10s\"", "timeout = \"3s\"");
    std::fs::write(&path, text).expect("cfg");
    let config = Config::load(&path).expect("config");
    let creds = Credentials::single("admin", "password");
    let daemon = bmc_catcher::daemon::Daemon::start(&config, creds)
        .await
        .expect("daemon");
    let mac: bmc_catcher::model::MacAddr = mac.parse().expect("mac");
    let store = daemon.store.clone();
    let logs_read = |store: &Store| {
        store
            .get(mac)
            .and_then(|e| e.snapshot)
            .and_then(|s| s.reading.logs.clone())
    };
    wait_until(Duration::from_secs(20), "the first log read", || {
        logs_read(&store).is_some()
    })
    .await;
    tokio::task::block_in_place(|| sim.console(&[RECORDS[2]]));
    wait_until(Duration::from_secs(20), "the critical entry", || {
        logs_read(&store).is_some_and(|l| l.last_critical.is_some())
    })
    .await;
    let api = format!("http://{}", daemon.addr);
    let body: serde_json::Value = reqwest::get(format!("{api}/api/v1/bmcs/{mac}/logs"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let last = body["entries"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .expect("entries");
    assert_eq!(last["sensor"], "Memory #0x11", "{body}");
    assert_eq!(last["message"], "Uncorrectable ECC", "{body}");
    assert_eq!(last["severity"], "critical", "{body}");
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(bin())
            .arg("logs")
            .arg(mac.to_string())
            .args(["--api", &api])
            .args(args)
            .output()
            .expect("bmc-catcher logs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let printed = tokio::task::block_in_place(|| cli(&[]));
    let line = printed.lines().last().expect("a line");
    assert!(
        line.contains("| Memory #0x11 | Uncorrectable ECC | Asserted | critical"),
        "{printed}"
    );
    let issue = |store: &Store| {
        store.get(mac).and_then(|e| e.snapshot).and_then(|s| {
            s.issues
                .iter()
                .find(|i| i.kind == bmc_catcher::model::IssueType::BmcLogCritical)
                .map(|i| i.detail.to_string())
        })
    };
    wait_until(Duration::from_secs(20), "bmc-log-critical", || {
        issue(&store).is_some()
    })
    .await;
    assert_eq!(
        issue(&store).as_deref(),
        Some("Memory #0x11: Uncorrectable ECC")
    );
    let metrics = reqwest::get(format!("{api}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(&format!(
            "bmc_log_entries_total{{mac=\"{mac}\",severity=\"critical\"}} 1"
        )),
        "{metrics}"
    );
    assert!(metrics.contains("bmc_sel_used_ratio{"), "{metrics}");
    assert!(!metrics.contains("Uncorrectable"), "no message in labels");
    tokio::task::block_in_place(|| cli(&["--ack"]));
    wait_until(
        Duration::from_secs(20),
        "the acknowledged issue to clear",
        || issue(&store).is_none(),
    )
    .await;
    daemon.stop().await;
    // The cursor file was written at stop.
    let cursors = std::fs::read_to_string(dir.path().join("log-cursors.json")).expect("cursors");
    assert!(cursors.contains(&mac.to_string()), "{cursors}");
}
