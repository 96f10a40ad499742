//! BMC logs across catchers, through a real nats-server. Log cursors handed over through the KV
//! bucket: a BMC read by one catcher and then taken over by another (empty state directory, same
//! NATS) is read on from where the first stopped: the next new entry arrives once, nothing
//! already reported comes again, and no entry is swallowed as "there at the first read". Both
//! protocols (the IPMI SEL, a Redfish LogService) against the simulator; a hostile value in the
//! bucket is skipped. And `bmc-catcher logs MAC --nats` prints the BMC's log events from the
//! stream, `--follow` the new ones as they are published.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::{Config, ProtocolChoice, TlsPolicy};
use bmc_catcher::daemon::Daemon;
use bmc_catcher::hal::cursors::Cursors;
use bmc_catcher::model::{EventKind, LogEntry, MacAddr};
use bmc_catcher::publish::nats::cursors as shared;
use bmc_sim::SimProtocol;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// One catcher of one BMC: its cursors (memory only: a fresh state directory), shared through
/// the bucket by the daemon's own task.
struct Catcher {
    logs: LogCatcher,
    cursors: Arc<Cursors>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Catcher {
    fn new(
        bed: &TestBed,
        protocol: ProtocolChoice,
        nats: &Config,
        client: async_nats::Client,
    ) -> Catcher {
        let cursors = Arc::new(Cursors::default());
        let logs = LogCatcher::with_cursors(bed, protocol, cursors.clone());
        let stop = CancellationToken::new();
        let (tx, connected) = watch::channel(true);
        let task = tokio::spawn({
            let (cfg, cursors, stop) = (nats.nats.clone(), cursors.clone(), stop.clone());
            async move {
                let _tx = tx;
                shared::run(client, cfg, "test".into(), cursors, connected, stop).await
            }
        });
        Catcher {
            logs,
            cursors,
            stop,
            task,
        }
    }

    async fn poll(&self) -> Vec<LogEntry> {
        self.logs.poll().await
    }

    /// Stops like the daemon: the share task last, after the last poll.
    async fn stop(self) {
        self.logs.bmc.close().await;
        self.stop.cancel();
        self.task.await.expect("share task");
    }
}

async fn hand_over(
    protocol: ProtocolChoice,
    js: &async_nats::jetstream::Context,
    nats: &Config,
    client: &async_nats::Client,
) {
    let bed = TestBed::new()
        .protocols(vec![SimProtocol::Both])
        .start()
        .await;
    let sim = bed.fleet.bmcs[0].bmc.clone();
    {
        let mut st = sim.state();
        for _ in 0..3 {
            st.sel.event(0x01, 0x42, 0x01, [0x59, 0x5c, 0x5a]);
        }
    }
    let first = Catcher::new(&bed, protocol, nats, client.clone());
    assert_eq!(
        first.poll().await,
        [],
        "{protocol:?}: the first read replays nothing"
    );
    sim.state().sel.event(0x07, 0x12, 0x6f, [0x00, 0xff, 0xff]);
    let got = first.poll().await;
    assert_eq!(got.len(), 1, "{protocol:?}: {got:?}");
    let key = format!(
        "test.{}",
        first.logs.target.mac.to_string().replace(':', "-")
    );
    first.stop().await;

    // The KV holds where the first catcher stopped.
    let kv = shared::bucket(js, &nats.nats).await.expect("bucket");
    assert!(
        kv.get(&key).await.expect("get").is_some(),
        "{key} in the KV"
    );

    // Another catcher, nothing on disk, takes the BMC over.
    let second = Catcher::new(&bed, protocol, nats, client.clone());
    let mac = second.logs.target.mac;
    let cursors = second.cursors.clone();
    wait_until(
        Duration::from_secs(20),
        "the cursor merged from the KV",
        || {
            cursors.get::<serde_json::Value>(mac, "sel").is_some()
                || cursors
                    .get::<serde_json::Value>(mac, "Managers/1/LogServices/Log")
                    .is_some()
        },
    )
    .await;
    sim.state().sel.event(0x08, 0x13, 0x6f, [0x01, 0xff, 0xff]);
    let got = second.poll().await;
    assert_eq!(
        got.len(),
        1,
        "{protocol:?}: only the entry added after the hand-over: {got:?}"
    );
    assert!(got[0].message.contains("Failure detected"), "{got:?}");
    assert_eq!(second.poll().await, [], "{protocol:?}: nothing twice");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bmc_taken_over_is_read_on_from_the_cursor_in_the_kv() {
    let dir = tempfile::tempdir().expect("tmp");
    let ip = unique_ip();
    let port = free_port(ip);
    let _nats = nats_server(dir.path(), ip, port, &[]);
    let mut nats = Config::default();
    nats.nats.url = Some(format!("nats://{ip}:{port}"));
    let client = async_nats::connect(format!("{ip}:{port}"))
        .await
        .expect("nats");
    let js = async_nats::jetstream::new(client.clone());
    hand_over(ProtocolChoice::Ipmi, &js, &nats, &client).await;
    hand_over(ProtocolChoice::Redfish, &js, &nats, &client).await;

    // A hostile value under a partition key is skipped; the task carries on.
    let kv = shared::bucket(&js, &nats.nats).await.expect("bucket");
    let hostile = Arc::new(Cursors::default());
    let bad_mac: MacAddr = "02:00:00:00:ff:01".parse().expect("mac");
    let good_mac: MacAddr = "02:00:00:00:ff:02".parse().expect("mac");
    kv.put("test.02-00-00-00-ff-01", vec![b'x'; 100_000].into())
        .await
        .expect("put");
    kv.put("test.not-a-mac", "{}".into()).await.expect("put");
    kv.put(
        "test.02-00-00-00-ff-02",
        r#"{"at_ms":1,"logs":{"sel":5}}"#.into(),
    )
    .await
    .expect("put");
    let stop = CancellationToken::new();
    let (_tx, connected) = watch::channel(true);
    let task = tokio::spawn(shared::run(
        client.clone(),
        nats.nats.clone(),
        "test".into(),
        hostile.clone(),
        connected,
        stop.clone(),
    ));
    wait_until(Duration::from_secs(20), "the good value merged", || {
        hostile.get::<u16>(good_mac, "sel") == Some(5)
    })
    .await;
    assert_eq!(hostile.get::<u16>(bad_mac, "sel"), None);
    stop.cancel();
    task.await.expect("task");
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_cli_reads_and_follows_the_stream() {
    let bed = TestBed::new()
        .bmcs(1)
        .interval("3s")
        .timeout("3s")
        .start()
        .await;
    let sim = bed.fleet.bmcs[0].bmc.clone();
    sim.state().sel.event(0x01, 0x42, 0x01, [0x59, 0x5c, 0x5a]);
    let ip = unique_ip();
    let port = free_port(ip);
    let _nats = nats_server(bed.dir.path(), ip, port, &[]);
    let url = format!("nats://{ip}:{port}");
    let mut config = bed.config();
    config.redfish.tls = TlsPolicy::Insecure;
    config.http.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.nats.url = Some(url.clone());
    let daemon = Daemon::start(&config, bed.credentials())
        .await
        .expect("daemon");
    let mac = sim.mac.to_string();
    let cfg = bed.config_path().display().to_string();
    let logs = |extra: &[&str]| {
        let mut c = Command::new(bin());
        c.args(["logs", &mac, "--nats", &url, "-c", &cfg])
            .args(extra);
        c
    };
    // The first read was counted, not sent; the next record is sent, and `logs --nats` prints it.
    wait_until(Duration::from_secs(20), "the first read", || {
        daemon
            .store
            .get(bmc_catcher::model::MacAddr(sim.mac.0))
            .and_then(|e| e.snapshot)
            .is_some_and(|s| s.reading.logs.is_some())
    })
    .await;
    sim.state().sel.event(0x07, 0x12, 0x6f, [0x00, 0xff, 0xff]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let printed = loop {
        let mut c = logs(&[]);
        let out = tokio::task::spawn_blocking(move || c.output().expect("run"))
            .await
            .expect("join");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && text.contains("IERR") {
            break text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "logs --nats never printed the entry: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(printed.lines().count(), 1, "only the entry sent: {printed}");
    assert!(
        !printed.contains("#0x42"),
        "the first read is not replayed: {printed}"
    );

    // --follow: the history, then a record added while it runs.
    let mut child = logs(&["--follow", "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stdout).lines() {
            let Ok(l) = l else { return };
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("history line");
    assert!(first.contains("IERR"), "{first}");
    sim.state().sel.event(0x08, 0x13, 0x6f, [0x01, 0xff, 0xff]);
    let next = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(20)))
        .await
        .expect("join")
        .expect("followed line");
    let event: bmc_catcher::model::Event = serde_json::from_str(&next).expect("event json");
    match event.kind {
        EventKind::LogEntry { entry } => {
            assert!(entry.message.contains("Failure detected"), "{entry:?}")
        }
        other => panic!("{other:?}"),
    }
    let _ = child.kill();
    let _ = child.wait();
    daemon.stop().await;
}
