//! A leases path that never ends or never opens: `leases-file` is `/dev/zero` (through a symlink,
//! as a mistyped path would be) or a FIFO nobody writes to. The daemon refuses either at once
//! with a log line naming the file, stays small (VmRSS, sampled while it runs) and keeps running;
//! `check-config` returns and warns, naming the file. Before the bound, `/dev/zero` grew the daemon
//! by gigabytes in seconds and a FIFO blocked the watcher (and with it readiness) forever.

use std::path::Path;
use std::time::Duration;

use crate::common::*;

/// Far above the daemon's own size (a debug build: tens of MiB), far below what reading
/// `/dev/zero` reaches in a second.
const RSS_LIMIT_KIB: u64 = 150 << 10;

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: a NUL-terminated path and a mode; mkfifo(3) touches no other memory.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// A config whose `dhcpd.leases` is made hostile by `make`; returns the temp dir and config path.
fn hostile_config(make: fn(&Path)) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    write_credentials(dir.path(), "admin", "password");
    let cfg = write_config_file(dir.path(), free_port(unique_ip()), "1m", "10s", "");
    make(&dir.path().join("dhcpd.leases"));
    (dir, cfg)
}

fn dev_zero(path: &Path) {
    std::os::unix::fs::symlink("/dev/zero", path).expect("symlink");
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_zero_or_a_fifo_as_leases_file_is_refused_naming_it_and_the_daemon_stays_small() {
    for (name, make, what) in [
        ("/dev/zero", dev_zero as fn(&Path), "a character device"),
        ("a FIFO", mkfifo as fn(&Path), "a FIFO"),
    ] {
        let (dir, cfg) = hostile_config(make);
        let log = dir.path().join("daemon.log");
        let mut child = tokio::process::Command::new(bin())
            .args(["run", "--config"])
            .arg(&cfg)
            .stderr(std::fs::File::create(&log).expect("log"))
            .kill_on_drop(true)
            .spawn()
            .expect("run");
        let pid = child.id().expect("pid");
        let leases = dir.path().join("dhcpd.leases").display().to_string();
        let reported = |text: &str| {
            text.lines()
                .any(|l| l.contains("leases unreadable") && l.contains(&leases) && l.contains(what))
        };
        // 20 refreshes (200 ms each): the RSS never passes the limit, the refusal is logged.
        let mut peak = 0;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let rss = vm_rss_kib(pid).unwrap_or(0);
            peak = peak.max(rss);
            assert!(
                rss < RSS_LIMIT_KIB,
                "{name}: VmRSS {rss} KiB, the daemon is reading what never ends"
            );
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(reported(&text), "{name}: refusal naming {leases}: {text}");
        assert_eq!(
            text.matches("leases unreadable").count(),
            1,
            "{name}: a lasting problem is reported once: {text}"
        );
        assert!(
            text.contains("discovery: first pass done"),
            "{name}: the watcher is not stuck: {text}"
        );
        eprintln!("{name}: peak VmRSS {peak} KiB");
        signal(&pid.to_string(), "-TERM");
        let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("exits after SIGTERM")
            .expect("wait");
        assert!(exit.success(), "{name}: {exit:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn check_config_returns_and_warns_about_a_fifo_or_dev_zero_leases_file() {
    for (name, make, what) in [
        ("/dev/zero", dev_zero as fn(&Path), "a character device"),
        ("a FIFO", mkfifo as fn(&Path), "a FIFO"),
    ] {
        let (dir, cfg) = hostile_config(make);
        let out = tokio::time::timeout(
            Duration::from_secs(20),
            tokio::process::Command::new(bin())
                .args(["check-config", "--config"])
                .arg(&cfg)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("{name}: check-config hangs"))
        .expect("check-config");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {err}");
        let leases = dir.path().join("dhcpd.leases").display().to_string();
        assert!(
            err.contains("warning: [discovery] leases-file")
                && err.contains(&leases)
                && err.contains(what),
            "{name}: {err}"
        );
    }
}
