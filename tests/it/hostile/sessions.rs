//! A crash (`kill -9`) leaves each BMC with one session the daemon never closed; a BMC keeps it
//! for its timeout and allows only a few. The next start closes them from the session journal
//! (Redfish: DELETE of the session path; IPMI: Close Session by ID, at Administrator privilege),
//! before polling on with one session of its own.

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
    let journal = bed.dir.path().join("sessions.json");
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

fn ipmi_sessions(bed: &TestBed) -> Vec<usize> {
    bed.fleet
        .bmcs
        .iter()
        .map(|r| r.ipmi.as_ref().map_or(0, |(_, h)| h.sessions_open()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ipmi_sessions_left_by_a_kill_9_are_closed_at_the_next_start() {
    // Closing another session takes Administrator privilege.
    let bed = TestBed::new()
        .bmcs(2)
        .protocols(vec![SimProtocol::Ipmi])
        .interval("2s")
        .timeout("2s")
        .toml("[ipmi]\nprivilege = \"administrator\"\nrequest-timeout = \"500ms\"\n")
        .start()
        .await;
    let path = bed.config_path();
    // An IPMI-only fleet: no Redfish port, the simulators' IPMI port.
    let text = std::fs::read_to_string(&path)
        .expect("config")
        .replace("[redfish]\nport = 0\n", "[redfish]\n")
        .replace("[poll]\n", "[poll]\nprotocol = \"ipmi\"\n")
        .replace(
            "[ipmi]\n",
            &format!("[ipmi]\nport = {}\n", bed.fleet.ipmi_port()),
        );
    std::fs::write(&path, text).expect("config");
    let journal = bed.dir.path().join("sessions.json");
    let mut first = start(&bed);
    wait_until(Duration::from_secs(20), "one IPMI session per BMC", || {
        ipmi_sessions(&bed) == [1, 1]
    })
    .await;
    wait_until(Duration::from_secs(10), "the journal names both", || {
        std::fs::read_to_string(&journal).is_ok_and(|t| t.matches("ipmi://").count() == 2)
    })
    .await;
    first.start_kill().expect("kill -9");
    first.wait().await.expect("wait");
    assert_eq!(ipmi_sessions(&bed), [1, 1], "kill -9 leaves them open");
    let mut second = start(&bed);
    // A second session each, and the stale one closed (the simulator expires idle sessions only
    // after 60 s): one open each again, not two.
    let created = |bed: &TestBed| -> Vec<u64> {
        bed.fleet
            .bmcs
            .iter()
            .map(|r| r.ipmi.as_ref().map_or(0, |(_, h)| h.sessions_created()))
            .collect()
    };
    wait_until(
        Duration::from_secs(20),
        "stale IPMI sessions closed",
        || created(&bed) == [2, 2] && ipmi_sessions(&bed) == [1, 1],
    )
    .await;
    signal(&second.id().expect("pid").to_string(), "-TERM");
    tokio::time::timeout(Duration::from_secs(20), second.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("wait");
    assert_eq!(ipmi_sessions(&bed), [0, 0], "SIGTERM closes them");
}
