//! `bmc-catcher poll-once`: one round (or `--rounds N` back to back over the same sessions) over
//! every BMC the leases name, the last round's snapshots as a JSON array on stdout.

use std::path::Path;
use std::process::ExitCode;

use crate::config::EXIT_CONFIG;
use crate::{discovery, hal, poller};

/// Runs `rounds` rounds and prints the last as JSON; exit 78 on a bad config, 1 on other errors.
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
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bmc-catcher: cannot encode snapshots: {e}");
            ExitCode::from(1)
        }
    }
}
