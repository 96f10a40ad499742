//! `bmc-catcher poll-once`: one round (or `--rounds N` back to back over the same sessions) over
//! every BMC the leases name, the last round's snapshots as a JSON array on stdout and a one-line
//! summary on stderr; the exit code says whether every BMC answered ([`EXIT_SOME_FAILED`]).

use std::path::Path;
use std::process::ExitCode;

use crate::config::EXIT_CONFIG;
use crate::{discovery, hal, poller};

/// The exit code when at least one BMC answered nothing (the others' snapshots are still printed).
pub const EXIT_SOME_FAILED: u8 = 2;

/// What a round came to, for stderr: `12 BMCs: 10 read fully, 1 in part, 1 answered nothing
/// (52:54:00:a1:00:11: timeout)`.
fn summary(snaps: &[crate::model::BmcSnapshot]) -> String {
    let failed: Vec<String> = snaps
        .iter()
        .filter(|s| !s.up)
        .map(|s| match s.reading.first_error() {
            Some(e) => format!("{}: {}", s.mac, e.kind),
            None => s.mac.to_string(),
        })
        .collect();
    let partial = snaps
        .iter()
        .filter(|s| s.up && s.reading.first_error().is_some())
        .count();
    let full = snaps.len() - failed.len() - partial;
    let mut line = format!(
        "{} BMCs: {full} read fully, {partial} in part, {} answered nothing",
        snaps.len(),
        failed.len()
    );
    if !failed.is_empty() {
        let shown: Vec<&str> = failed.iter().take(10).map(String::as_str).collect();
        let more = if failed.len() > 10 { ", ..." } else { "" };
        line.push_str(&format!(" ({}{more})", shown.join(", ")));
    }
    line
}

/// Runs `rounds` rounds and prints the last as JSON; exit 0 when every BMC answered,
/// [`EXIT_SOME_FAILED`] when one did not, 78 on a bad config, 1 on other errors.
pub async fn run(config: &Path, rounds: u32) -> ExitCode {
    let (cfg, creds) = match crate::config::load(config) {
        Ok(c) => c,
        Err(e) => return super::config_exit(&e),
    };
    let source = discovery::source(&cfg);
    let targets =
        match discovery::targets_once(&source, super::unix_now(), &discovery::filters(&cfg)) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("bmc-catcher: {e}");
                return ExitCode::from(1);
            }
        };
    let connector = match hal::Connector::new(&cfg, creds) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bmc-catcher: {e}");
            return ExitCode::from(EXIT_CONFIG as u8);
        }
    };
    let schedule = poller::Schedule::of(&cfg.poll);
    let snaps = poller::poll_rounds(&connector, &targets, &cfg.partition, schedule, rounds).await;
    match serde_json::to_string_pretty(&snaps) {
        Ok(s) => {
            println!("{s}");
            eprintln!("{}", summary(&snaps));
            if snaps.iter().all(|s| s.up) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_SOME_FAILED)
            }
        }
        Err(e) => {
            eprintln!("bmc-catcher: cannot encode snapshots: {e}");
            ExitCode::from(1)
        }
    }
}
