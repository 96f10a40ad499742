//! `poll-once` on a terminal (tmux): while a round waits on a BMC that never answers, a progress
//! line counts the polls done; when the round ends it is erased and the summary stays. Piped, no
//! progress line is written (`it::cli` reads that stderr line by line).

use std::process::Command;
use std::time::Duration;

use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn poll_once_shows_progress_on_a_terminal() {
    let bed = TestBed::new().timeout("4s").start().await;
    // A second BMC that accepts connections and never answers: the round waits its timeout.
    let silent_ip = unique_ip();
    let silent = std::net::TcpListener::bind((silent_ip, bed.fleet.port())).expect("bind");
    bed.write_leases(&leases(&[("02:00:00:00:0e:01", silent_ip)]));
    let cfg = bed.config_path();
    let text = std::fs::read_to_string(&cfg)
        .expect("cfg")
        .replace("[poll]\n", "[poll]\nprotocol = \"redfish\"\n");
    std::fs::write(&cfg, text).expect("cfg");

    let session = format!("bmc-catcher-progress-{}", std::process::id());
    let (during, after) = tokio::task::spawn_blocking(move || {
        let tmux = which("tmux");
        let cmd = format!(
            "{} poll-once --config {} > /dev/null; sleep 30",
            bin(),
            cfg.display()
        );
        let ok = Command::new(&tmux)
            .args(["new-session", "-d", "-x", "160", "-y", "20", "-s", &session])
            .arg(cmd)
            .status()
            .expect("tmux");
        assert!(ok.success());
        let capture = || {
            let out = Command::new(&tmux)
                .args(["capture-pane", "-p", "-t", &session])
                .output()
                .expect("capture");
            String::from_utf8_lossy(&out.stdout).to_string()
        };
        // Every progress line seen (the last one may already count both BMCs).
        let mut during = String::new();
        let mut after = String::new();
        for _ in 0..150 {
            std::thread::sleep(Duration::from_millis(100));
            let screen = capture();
            if let Some(line) = screen.lines().find(|l| l.contains("BMCs polled")) {
                during.push_str(line);
                during.push('\n');
            }
            if screen.contains("answered nothing (") {
                after = screen;
                break;
            }
        }
        let _ = Command::new(&tmux)
            .args(["kill-session", "-t", &session])
            .status();
        (during, after)
    })
    .await
    .expect("join");
    drop(silent);
    assert!(
        during.contains("poll-once: 1/2 BMCs polled, 0 answered nothing"),
        "a progress line while the round waits:\n{during}"
    );
    assert!(
        after.contains(
            "2 BMCs: 1 read fully, 0 in part, 1 answered nothing (02:00:00:00:0e:01: timeout)"
        ),
        "the summary:\n{after}"
    );
    assert!(
        !after.contains("BMCs polled"),
        "the progress line is erased:\n{after}"
    );
}
