//! The command line as an operator meets it: `check-config` exit codes and messages, `poll-once` over
//! a leases file with a broken block in the middle, `demo` with a time limit, and the views finding
//! the config as every subcommand does.

use std::process::Command;

use crate::common::*;
use serde_json::Value;

#[test]
fn bad_config_exits_78_naming_key_and_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("bad.toml");
    for (text, key) in [
        ("[poll]\nintervall = \"5m\"\n", "intervall"),
        (
            "[poll]\ninterval = \"10s\"\ntimeout = \"1m\"\n",
            "poll.timeout",
        ),
        ("[discovery]\nleases-format = \"xml\"\n", "leases-format"),
        ("[http]\nlisten = \"nowhere\"\n", "listen"),
    ] {
        std::fs::write(&cfg, text).expect("write");
        let out = check_config(&cfg);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{text}: {err}");
        assert!(err.contains(key), "{text}: message must name {key}: {err}");
        assert!(
            err.contains("bad.toml"),
            "{text}: message must name the file: {err}"
        );
    }
    let out = Command::new(bin())
        .args(["check-config", "--config", "/nonexistent/config.toml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(78));
}

#[test]
fn check_config_prints_effective_config_without_secrets() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = write_config(dir.path(), "", 8443, "");
    write_secret(
        &dir.path().join("credentials.toml"),
        "username = \"admin\"\npassword = \"s3cr3t-pw\"\n",
    );
    let out = check_config(&cfg);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("interval = \"1m\""), "{text}");
    // Which leases count, in the words of README.md and the shipped config.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("leases: a lease counts while it is active and unexpired, and for expired-grace (1h) after it ended"),
        "{err}"
    );
    let readme = include_str!("../../README.md").replace("\n  ", " ");
    assert!(readme.contains("A lease counts while it is active and unexpired, and for `expired-grace` (default 1 h) after it ended"));
    let shipped_text = include_str!("../../config/bmc-catcher.toml").replace("\n# ", " ");
    assert!(shipped_text.contains(
        "A lease counts while it is active and unexpired, and for expired-grace after it ended"
    ));
    assert!(!text.contains("s3cr3t-pw"), "{text}");
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config/bmc-catcher.toml");
    let out = check_config(std::path::Path::new(shipped));
    // The shipped file names /etc paths that do not exist here: the credentials file is missing.
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("credentials.toml"));
}

#[tokio::test(flavor = "multi_thread")]
async fn poll_once_skips_a_broken_lease_block_and_keeps_the_rest() {
    let bed = TestBed::new().bmcs(2).start().await;
    let fleet = &bed.fleet;
    let good = fleet.leases_text(bmc_catcher::store::now_ms() / 1000);
    // Put a garbage block between the two good leases.
    let split = good.rfind("lease ").expect("two leases");
    let garbage = "lease 127.0.0.999 {\n  starts epoch banana;\n  this is not dhcpd syntax\n}\n";
    let text = format!("{}{garbage}{}", &good[..split], &good[split..]);
    let garbage_line = text[..text.find("lease 127.0.0.999").expect("garbage")]
        .lines()
        .count()
        + 1;
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = write_config(dir.path(), &text, fleet.port(), "");
    let out = poll_once(cfg).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let snaps: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(snaps.len(), 2, "both good BMCs: {snaps:?}");
    assert!(snaps.iter().all(|s| s["up"] == true), "{snaps:?}");
    assert!(
        err.contains("dhcpd.leases"),
        "warning names the file: {err}"
    );
    assert!(
        err.contains(&format!("\"line\":{garbage_line}")),
        "warning names line {garbage_line}: {err}"
    );
    fleet.stop();
}

#[test]
fn demo_runs_and_shows_the_fleet() {
    let out = Command::new(bin())
        .args([
            "demo",
            "--count",
            "3",
            "--duration",
            "4s",
            "--interval",
            "2s",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--first-ip", &unique_ip().to_string()])
        .output()
        .expect("run demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("/metrics"), "{text}");
    assert!(text.contains("/api/v1/bmcs"), "{text}");
    assert!(
        text.contains("bmc-catcher logs 02:00:00:00:00:01 --follow"),
        "{text}"
    );
    assert!(text.contains("02:00:00:00:00:03"), "{text}");
    // The status columns: MAC IP PROTO POWER WATTS TEMP LED WHEN ISSUES.
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() == 9 && f[0].starts_with("02:00:00:00:00:"))
        .collect();
    let polled = |proto: &str| rows.iter().any(|f| f[2] == proto && f[3] == "on");
    assert!(polled("redfish"), "a polled Redfish row: {text}");
    assert!(polled("ipmi"), "a polled IPMI row: {text}");
    // Piped, a table is printed only when it differs from the one before (ages aside).
    let tables: Vec<String> = text
        .split("MAC ")
        .skip(1)
        .map(|t| {
            t.lines()
                .filter(|l| l.starts_with("02:"))
                .map(|l| {
                    let mut f: Vec<&str> = l.split_whitespace().collect();
                    if f.len() == 9 {
                        f.remove(7);
                    }
                    f.join(" ")
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    assert!(
        tables.windows(2).all(|w| w[0] != w[1]),
        "the same table printed twice: {text}"
    );
    assert!(
        text.contains("every Redfish and IPMI session was closed"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_notifies_systemd_and_logs_out_on_sigterm() {
    let bed = TestBed::new().bmcs(2).start().await;
    let fleet = &bed.fleet;
    let dir = &bed.dir;
    let cfg = bed.config_path();
    let sock_path = dir.path().join("notify.sock");
    let sock = tokio::net::UnixDatagram::bind(&sock_path).expect("notify socket");
    let mut child = tokio::process::Command::new(bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run");
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), sock.recv(&mut buf))
        .await
        .expect("READY within 20 s")
        .expect("recv");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while fleet.bmcs.iter().any(|r| r.bmc.sessions_open() != 1) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "both BMCs polled with a session"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The watchdog is fed while polls make progress.
    let mut fed = false;
    for _ in 0..20 {
        let n = tokio::time::timeout(std::time::Duration::from_secs(2), sock.recv(&mut buf))
            .await
            .expect("a notification")
            .expect("recv");
        if String::from_utf8_lossy(&buf[..n]).contains("WATCHDOG=1") {
            fed = true;
            break;
        }
    }
    assert!(fed, "WATCHDOG=1 while polling works");
    let pid = child.id().expect("pid").to_string();
    signal(&pid, "-TERM");
    let exit = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("wait");
    assert!(exit.success(), "{exit:?}");
    let mut stopping = false;
    while let Ok(Ok(n)) =
        tokio::time::timeout(std::time::Duration::from_millis(500), sock.recv(&mut buf)).await
    {
        stopping |= String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1");
    }
    assert!(stopping, "STOPPING=1 on SIGTERM");
    for r in &fleet.bmcs {
        assert_eq!(
            r.bmc.sessions_open(),
            0,
            "SIGTERM must log out of {}",
            r.bmc.mac
        );
    }
    fleet.stop();
}

#[test]
fn a_credentials_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = write_config(dir.path(), "", 8443, "");
    let creds = dir.path().join("credentials.toml");
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = check_config(&cfg);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("credentials-file") && err.contains("0644") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!err.contains("password\""), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_credentials_and_poll_settings_and_keeps_the_sessions_still_valid() {
    let bed = TestBed::new()
        .bmcs(2)
        .shapes(vec![bmc_sim::SimShape::Legacy])
        .interval("3s")
        .timeout("3s")
        .toml("\n[ipmi]\nrequest-timeout = \"200ms\"\n")
        .start()
        .await;
    let fleet = &bed.fleet;
    let dir = &bed.dir;
    let cfg = bed.config_path();
    let text = std::fs::read_to_string(&cfg).expect("cfg");
    let mut child = tokio::process::Command::new(bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .stderr(std::fs::File::create(dir.path().join("daemon.log")).expect("log"))
        .kill_on_drop(true)
        .spawn()
        .expect("run");
    let pid = child.id().expect("pid").to_string();
    let (a, b) = (fleet.bmcs[0].bmc.clone(), fleet.bmcs[1].bmc.clone());
    let created = |x: &bmc_sim::SimBmc| {
        x.counters
            .sessions_created
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let wait = |what: &'static str, f: Box<dyn Fn() -> bool + Send>| async move {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        while !f() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    let (a2, b2) = (a.clone(), b.clone());
    wait(
        "both sessions",
        Box::new(move || a2.sessions_open() == 1 && b2.sessions_open() == 1),
    )
    .await;

    // A broken config: refused, the daemon goes on with its sessions.
    std::fs::write(&cfg, "[poll]\nintervall = 1\n").expect("cfg");
    signal(&pid, "-HUP");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        (created(&a), created(&b)),
        (1, 1),
        "a refused reload changes nothing"
    );

    // A new password for the second BMC only: its session goes, the first BMC keeps its own.
    std::fs::write(&cfg, &text).expect("cfg");
    write_secret(
        &dir.path().join("credentials.toml"),
        &format!(
            "username = \"admin\"\npassword = \"password\"\n[[override]]\nmac = \"{}\"\nusername = \"admin\"\npassword = \"rotated\"\n",
            b.mac
        ),
    );
    signal(&pid, "-HUP");
    let b3 = b.clone();
    wait(
        "the changed BMC's session closed",
        Box::new(move || b3.sessions_open() == 0),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        created(&a),
        1,
        "the unchanged BMC kept its session across the reload"
    );
    assert_eq!(a.sessions_open(), 1);
    assert_eq!(
        b.sessions_open(),
        0,
        "the new password is wrong for the simulator: no new session"
    );

    // A shorter [poll] interval applies at once, and the first BMC keeps its session.
    let requests = |x: &bmc_sim::SimBmc| {
        x.counters
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let window = std::time::Duration::from_secs(6);
    let r0 = requests(&a);
    tokio::time::sleep(window).await;
    let slow = requests(&a) - r0;
    let fast_cfg = text
        .replace("interval = \"3s\"", "interval = \"1s\"")
        .replace("timeout = \"3s\"", "timeout = \"1s\"");
    std::fs::write(&cfg, &fast_cfg).expect("cfg");
    signal(&pid, "-HUP");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let r1 = requests(&a);
    tokio::time::sleep(window).await;
    let fast = requests(&a) - r1;
    assert!(
        slow > 0 && fast >= slow * 2,
        "every 3 s: {slow} requests in 6 s; every 1 s: {fast}\n{}",
        std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default()
    );
    assert_eq!(created(&a), 1, "the schedule change kept the session");
    let _ = kill(&pid, libc::SIGTERM);
    let _ = child.wait().await;
    fleet.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn views_find_the_config_like_every_subcommand_and_need_no_credentials() {
    let bed = TestBed::new().bmcs(2).start().await;
    let daemon = bmc_catcher::daemon::Daemon::start(&bed.config(), bed.credentials())
        .await
        .expect("daemon");
    wait_until(
        std::time::Duration::from_secs(20),
        "both BMCs polled",
        || {
            daemon
                .store
                .entries()
                .iter()
                .filter(|e| e.snapshot.is_some())
                .count()
                == 2
        },
    )
    .await;
    // An operator's copy of the daemon's config: its listen address, and a credentials file this
    // user may not (here: cannot) read.
    let config = bed.dir.path().join("operator.toml");
    std::fs::write(
        &config,
        format!(
            "partition = \"test\"\ncredentials-file = \"{}/no-such-dir/credentials.toml\"\n\
             [http]\nlisten = \"{}\"\n",
            bed.dir.path().display(),
            daemon.addr
        ),
    )
    .expect("config");
    for view in ["status", "issues"] {
        let config = config.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new(bin())
                .args([view, "-o", "json"])
                .env("BMC_CATCHER_CONFIG", &config)
                .output()
                .expect("run")
        })
        .await
        .expect("join");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{view}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if view == "status" {
            for r in &bed.fleet.bmcs {
                assert!(stdout.contains(&r.bmc.mac.to_string()), "{stdout}");
            }
        }
    }
    // power reads the same variable: the config's (absent) NATS is what it reports.
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args(["power", "02:00:00:00:00:01", "power-on"])
            .env("BMC_CATCHER_CONFIG", &config)
            .output()
            .expect("run")
    })
    .await
    .expect("join");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("no NATS server"), "{err}");
    daemon.stop().await;
}

#[test]
fn check_config_says_what_the_filters_leave_of_the_leases() {
    let dir = tempfile::tempdir().expect("tmp");
    let (a, b) = (unique_ip(), unique_ip());
    let text = leases(&[("02:00:00:00:0a:01", a), ("02:00:00:00:0a:02", b)]);
    let cfg = write_config(dir.path(), &text, 443, "");
    let run = |extra: &str| {
        let with = std::fs::read_to_string(&cfg)
            .expect("cfg")
            .replace("[discovery]\n", &format!("[discovery]\n{extra}"));
        let path = dir.path().join("filtered.toml");
        std::fs::write(&path, with).expect("cfg");
        let out = check_config(&path);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let all = run("");
    assert!(all.contains("2 live leases, 2 selected"), "{all}");
    assert!(!all.contains("leave no BMC"), "{all}");
    let none = run("allow-cidrs = [\"10.0.0.0/8\"]\nignore-macs = [\"02:00:00:00:0a:01\"]\n");
    assert!(
        none.contains("2 live leases, 0 selected, 2 left out by allow-cidrs, 0 by ignore-macs"),
        "{none}"
    );
    assert!(none.contains("leave no BMC to poll"), "{none}");
    let one = run("ignore-macs = [\"02:00:00:00:0a:01\"]\n");
    assert!(
        one.contains("1 selected, 0 left out by allow-cidrs, 1 by ignore-macs"),
        "{one}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn poll_once_exits_2_and_names_the_bmc_that_answered_nothing() {
    let fleet = bmc_sim::SimFleet::start(
        &bmc_sim::FleetSpec {
            count: 1,
            first_ip: unique_ip(),
            ..Default::default()
        },
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect("sim");
    let mut text = fleet.leases_text(bmc_catcher::store::now_ms() / 1000);
    // A second lease where nothing listens.
    text.push_str(&leases(&[("02:00:00:00:0d:01", unique_ip())]));
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = write_config(dir.path(), &text, fleet.port(), "");
    let patched = std::fs::read_to_string(&cfg)
        .expect("cfg")
        .replace("[poll]\n", "[poll]\nprotocol = \"redfish\"\n");
    std::fs::write(&cfg, patched).expect("cfg");
    let out = poll_once(cfg).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "2 BMCs: 1 read fully, 0 in part, 1 answered nothing (02:00:00:00:0d:01: unreachable)"
        ),
        "{err}"
    );
    let snaps: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(snaps.len(), 2, "both snapshots printed");
    fleet.stop();
}

/// `bmc-catcher poll-once --config CFG`, off the async workers.
async fn poll_once(cfg: std::path::PathBuf) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args(["poll-once", "--config"])
            .arg(&cfg)
            .output()
            .expect("run")
    })
    .await
    .expect("join")
}

/// `bmc-catcher check-config --config CFG`.
#[test]
fn check_config_refuses_a_web_config_the_daemon_could_not_use() {
    let dir = tempfile::tempdir().expect("tmp");
    let web = dir.path().join("web.yml");
    let cfg = write_config(
        dir.path(),
        "",
        443,
        &format!("web-config-file = \"{}\"\n", web.display()),
    );
    std::fs::write(&web, "basic_auth_users:\n  prometheus: hunter2\n").expect("web");
    let out = check_config(&cfg);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("basic_auth_users.prometheus") && !err.contains("hunter2"),
        "{err}"
    );
    let hash = bcrypt::hash_with_salt("hunter2", 4, [5; 16])
        .expect("hash")
        .format_for_version(bcrypt::Version::TwoY);
    std::fs::write(&web, format!("basic_auth_users:\n  prometheus: {hash}\n")).expect("web");
    let out = check_config(&cfg);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check_config(cfg: &std::path::Path) -> std::process::Output {
    Command::new(bin())
        .args(["check-config", "--config"])
        .arg(cfg)
        .output()
        .expect("run")
}
