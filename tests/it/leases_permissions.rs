//! Leases chaos, permission denied: the daemon (unprivileged, as in its systemd unit) cannot read
//! the leases file at start, says so once, polls nothing; when the file becomes readable it polls
//! every BMC; when it is denied again it keeps polling the last good targets and says so once more.
//! Run as root (CI), the daemon is started as `nobody` through `setpriv`, since root reads any file.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use crate::common::*;

const NOBODY: u32 = 65534;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn denied_lines(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("leases unreadable") && l.contains("Permission denied"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_leases_file_is_reported_once_and_the_last_good_targets_stay() {
    let bed = TestBed::new().bmcs(2).start().await;
    let fleet = &bed.fleet;
    let dir = &bed.dir;
    let cfg = bed.config_path();
    let leases = dir.path().join("dhcpd.leases");
    let log = dir.path().join("daemon.log");
    chmod(&leases, 0o000);
    let root = std::fs::metadata("/proc/self").expect("proc").uid() == 0;
    let mut cmd = if root {
        // Everything the daemon needs belongs to nobody; the binary is copied where nobody can
        // run it.
        let exe = dir.path().join("bmc-catcher");
        std::fs::copy(bin(), &exe).expect("copy binary");
        for entry in std::fs::read_dir(dir.path()).expect("ls") {
            let p = entry.expect("entry").path();
            std::os::unix::fs::chown(&p, Some(NOBODY), Some(NOBODY)).expect("chown");
        }
        std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).expect("chown dir");
        let mut c = tokio::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(exe);
        c
    } else {
        tokio::process::Command::new(bin())
    };
    let mut child = cmd
        .args(["run", "--config"])
        .arg(&cfg)
        .stderr(std::fs::File::create(&log).expect("log"))
        .kill_on_drop(true)
        .spawn()
        .expect("run");

    // 20 refreshes (200 ms) with the file denied: one report, nothing polled.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(denied_lines(&log), 1, "reported once");
    assert!(fleet.bmcs.iter().all(|r| r.bmc.sessions_open() == 0));

    // Readable: both BMCs are polled.
    chmod(&leases, 0o644);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while fleet.bmcs.iter().any(|r| r.bmc.sessions_open() != 1) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "polled once readable"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.contains("leases readable again"), "{text}");

    // Denied again (and changed, so it is re-read): the targets stay, one more report.
    std::fs::write(
        &leases,
        fleet.leases_text(bmc_catcher::store::now_ms() / 1000),
    )
    .expect("rewrite");
    chmod(&leases, 0o000);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        denied_lines(&log),
        2,
        "reported once more: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    for r in &fleet.bmcs {
        assert_eq!(r.bmc.sessions_open(), 1, "{} still polled", r.bmc.mac);
    }

    let pid = child.id().expect("pid").to_string();
    signal(&pid, "-TERM");
    let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("wait");
    assert!(exit.success(), "{exit:?}");
    fleet.stop();
}
