//! A crash (`kill -9`) leaves each Redfish BMC with one session the daemon never deleted; a BMC
//! keeps it for its timeout and allows only a few. The next start deletes them from the session
//! journal, before polling on with one session of its own.

use std::time::Duration;

use bmc_sim::SimProtocol;

use crate::common::*;

async fn wait_sessions(bed: &TestBed, open: usize, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while bed.fleet.bmcs.iter().any(|r| r.bmc.sessions_open() != open) {
        let now: Vec<usize> = bed
            .fleet
            .bmcs
            .iter()
            .map(|r| r.bmc.sessions_open())
            .collect();
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: sessions open {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn start(bed: &TestBed) -> tokio::process::Child {
    tokio::process::Command::new(bin())
        .args(["run", "--config"])
        .arg(bed.config_path())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run")
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_left_by_a_kill_9_are_deleted_at_the_next_start() {
    let bed = TestBed::new()
        .bmcs(3)
        .protocols(vec![SimProtocol::Redfish])
        .start()
        .await;
    let journal = bed.dir.path().join("redfish-sessions.json");
    let mut first = start(&bed);
    wait_sessions(&bed, 1, "first run polled every BMC").await;
    // The journal is written within a second of the logins.
    wait_until(
        Duration::from_secs(10),
        "the journal names 3 sessions",
        || std::fs::read_to_string(&journal).is_ok_and(|t| t.matches("/Sessions/").count() == 3),
    )
    .await;
    first.start_kill().expect("kill -9");
    first.wait().await.expect("wait");
    wait_sessions(&bed, 1, "kill -9 leaves one session per BMC").await;

    let mut second = start(&bed);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while bed.fleet.bmcs.iter().any(|r| {
        r.bmc
            .counters
            .sessions_deleted
            .load(std::sync::atomic::Ordering::Relaxed)
            < 1
    }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sessions of the killed run were never deleted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_sessions(&bed, 1, "the second run holds only its own session").await;
    signal(&second.id().expect("pid").to_string(), "-TERM");
    tokio::time::timeout(Duration::from_secs(20), second.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("wait");
    wait_sessions(&bed, 0, "SIGTERM logs out").await;
    let left = std::fs::read_to_string(&journal).expect("journal");
    assert!(
        !left.contains("/Sessions/"),
        "a clean stop leaves no session: {left}"
    );
}
