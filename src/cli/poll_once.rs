//! `bmc-catcher poll-once`: one round (or `--rounds N` back to back over the same sessions) over
//! every BMC the leases name, with the fleet's issues evaluated over that round as the daemon
//! would; the last round's snapshots as a JSON array on stdout and a one-line summary on stderr;
//! the exit code says whether every BMC answered ([`EXIT_SOME_FAILED`]). On a terminal, a progress
//! line on stderr counts the polls while the round runs.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::config::{Config, EXIT_CONFIG};
use crate::model::{BmcSnapshot, Target};
use crate::{discovery, hal, issues, poller};

/// The exit code when at least one BMC answered nothing (the others' snapshots are still printed).
pub const EXIT_SOME_FAILED: u8 = 2;

/// What a round came to, for stderr: `12 BMCs: 10 read fully, 1 in part, 1 answered nothing
/// (52:54:00:a1:00:11: timeout); issues: unreachable 1, sensor-warning 2`.
fn summary(snaps: &[BmcSnapshot]) -> String {
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
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    for i in snaps.iter().flat_map(|s| &s.issues) {
        *by_type.entry(i.kind.to_string()).or_default() += 1;
    }
    if !by_type.is_empty() {
        let counts: Vec<String> = by_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
        line.push_str(&format!("; issues: {}", counts.join(", ")));
    }
    line
}

/// Sets each snapshot's issues as the daemon's evaluation would from this round alone (the rules
/// that compare BMCs, such as duplicate UUIDs, see the whole round).
fn evaluate_issues(cfg: &Config, targets: &[Target], snaps: &mut [BmcSnapshot]) {
    let by_mac: HashMap<_, _> = targets.iter().map(|t| (t.mac, t)).collect();
    let entries: Vec<crate::store::Entry> = snaps
        .iter()
        .filter_map(|s| {
            Some(crate::store::Entry {
                target: Arc::new((*by_mac.get(&s.mac)?).clone()),
                snapshot: Some(Arc::new(s.clone())),
            })
        })
        .collect();
    let mut found = issues::evaluate(
        &entries,
        &issues::Settings {
            now_ms: crate::store::now_ms(),
            interval: cfg.poll.interval,
            outdated_after_intervals: cfg.issues.outdated_after_intervals,
            log_critical_clears_after: cfg.logs.critical_clears_after,
            drive_wear_out_below: cfg.issues.drive_wear_out_below,
        },
    );
    for s in snaps {
        s.issues = found.remove(&s.mac).unwrap_or_default();
    }
}

/// The progress line: `poll-once: 12/40 BMCs polled, 1 answered nothing, 8s`, redrawn in place
/// on stderr while the round runs, and erased before the summary. Only on a terminal.
struct Progress {
    total: usize,
    done: AtomicUsize,
    failed: AtomicUsize,
    started: Instant,
}

impl Progress {
    /// How often the line is redrawn, and how long a round runs before it appears.
    const EVERY: Duration = Duration::from_millis(250);
    const AFTER: Duration = Duration::from_millis(500);

    fn note(&self, s: &BmcSnapshot) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if !s.up {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn line(&self) -> String {
        format!(
            "poll-once: {}/{} BMCs polled, {} answered nothing, {}s",
            self.done.load(Ordering::Relaxed),
            self.total,
            self.failed.load(Ordering::Relaxed),
            self.started.elapsed().as_secs()
        )
    }

    /// Redraws the line until `stop`; erases it when stopped, if it was drawn.
    async fn draw(self: Arc<Self>, stop: tokio_util::sync::CancellationToken) {
        let mut drawn = false;
        let mut tick = tokio::time::interval(Self::EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => break,
            }
            if self.started.elapsed() >= Self::AFTER {
                // \r and "erase line": the line is rewritten in place.
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K{}", self.line());
                let _ = err.flush();
                drawn = true;
            }
        }
        if drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// Whether stderr is a terminal that can redraw a line.
fn progress_wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
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
    let progress = Arc::new(Progress {
        total: targets.len() * rounds.max(1) as usize,
        done: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        started: Instant::now(),
    });
    let stop = tokio_util::sync::CancellationToken::new();
    let drawer = progress_wanted().then(|| tokio::spawn(progress.clone().draw(stop.clone())));
    let mut snaps = poller::poll_rounds_observed(
        &connector,
        &targets,
        &cfg.partition,
        schedule,
        rounds,
        &|s| progress.note(s),
    )
    .await;
    stop.cancel();
    if let Some(d) = drawer {
        let _ = d.await;
    }
    evaluate_issues(&cfg, &targets, &mut snaps);
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
