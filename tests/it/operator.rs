//! The command line for scripts and people: every subcommand's `--help` lists its exit codes, a
//! usage error exits 64 (never clap's 2, which `poll-once` uses for "a BMC answered nothing"),
//! `power` checks the MAC before anything else, and `poll-once` evaluates the fleet's issues for
//! its round instead of printing `"issues": []`.

use std::process::Command;

use crate::common::*;
use serde_json::Value;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .env("BMC_CATCHER_CONFIG", "/nonexistent/config.toml")
        .output()
        .expect("run")
}

/// The subcommands `bmc-catcher --help` lists (but `help`).
fn subcommands() -> Vec<String> {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split("Commands:")
        .nth(1)
        .expect("a Commands: section")
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_subcommand_documents_its_exit_codes_and_a_usage_error_exits_64() {
    let top = String::from_utf8_lossy(&run(&["--help"]).stdout).to_string();
    assert!(top.contains("64 is a usage error"), "{top}");
    let subs = subcommands();
    assert!(subs.len() >= 10, "{subs:?}");
    for sub in &subs {
        let out = run(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
        let help = String::from_utf8_lossy(&out.stdout);
        let codes = help
            .split("Exit codes:")
            .nth(1)
            .unwrap_or_else(|| panic!("{sub} --help lists no exit codes:\n{help}"));
        assert!(
            codes.contains("0 ") && codes.contains("64 a usage error"),
            "{sub}: {codes}"
        );
        let out = run(&[sub, "--no-such-flag"]);
        assert_eq!(out.status.code(), Some(64), "{sub} --no-such-flag");
    }
    let poll_once = String::from_utf8_lossy(&run(&["poll-once", "--help"]).stdout).to_string();
    for code in [
        "0 every BMC answered",
        "2 at least one",
        "1 the leases",
        "78 a bad config",
    ] {
        assert!(poll_once.contains(code), "{code}: {poll_once}");
    }
    assert_eq!(run(&["no-such-command"]).status.code(), Some(64));
}

#[test]
fn power_checks_the_mac_before_the_config_and_nats() {
    // No config, no NATS server: the malformed MAC is what is reported, as a usage error.
    let out = run(&["power", "52:54:00:zz:00:11", "power-on"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("52:54:00:zz:00:11"), "{err}");
    let out = run(&["power", "52:54:00:a1:00:11", "power-explode"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("power-explode"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn poll_once_shows_the_issues_of_its_round() {
    let bed = TestBed::new().start().await;
    // A wrong password: every read fails with `auth`, which the daemon raises as auth-failed.
    write_credentials(bed.dir.path(), "admin", "not-the-password");
    let cfg = bed.config_path();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args(["poll-once", "--config"])
            .arg(&cfg)
            .output()
            .expect("run")
    })
    .await
    .expect("join");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let snaps: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    let issues = &snaps[0]["issues"];
    assert!(
        issues
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["type"] == "auth-failed")),
        "{issues}"
    );
    assert!(err.contains("issues: auth-failed 1"), "{err}");
}
