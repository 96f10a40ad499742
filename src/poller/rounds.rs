//! Rounds over a fixed target list (`poll-once`, `poll-once --rounds N` in the fleet benchmark):
//! every BMC once per round with bounded concurrency, sessions kept between rounds and closed
//! after the last, each round's wall and CPU time reported.

use std::sync::Arc;

use tracing::Instrument;

use super::{Schedule, close_all, poll_one};
use crate::hal::{Bmc, Connector};
use crate::model::{BmcSnapshot, Target};

/// One round over `targets`: every BMC once, bounded concurrency, sessions closed after.
pub async fn poll_round(
    connector: &Connector,
    targets: &[Target],
    partition: &str,
    schedule: Schedule,
) -> Vec<BmcSnapshot> {
    poll_rounds(connector, targets, partition, schedule, 1).await
}

/// `rounds` rounds over `targets` on the same backends (sessions kept between rounds), for
/// `poll-once --rounds`; returns the last round. Each round's wall and CPU time is logged to stderr
/// when there is more than one.
pub async fn poll_rounds(
    connector: &Connector,
    targets: &[Target],
    partition: &str,
    schedule: Schedule,
    rounds: u32,
) -> Vec<BmcSnapshot> {
    poll_rounds_observed(connector, targets, partition, schedule, rounds, &|_| {}).await
}

/// [`poll_rounds`], telling `done` of each poll as it finishes (`poll-once`'s progress line).
pub async fn poll_rounds_observed(
    connector: &Connector,
    targets: &[Target],
    partition: &str,
    schedule: Schedule,
    rounds: u32,
    done: &(dyn Fn(&BmcSnapshot) + Sync),
) -> Vec<BmcSnapshot> {
    use futures::stream::{self, StreamExt};
    let bmcs: Vec<(Target, Arc<dyn Bmc>)> = targets
        .iter()
        .map(|t| (t.clone(), connector.connect(t)))
        .collect();
    let mut last = Vec::new();
    for round in 1..=rounds.max(1) {
        let (wall, cpu) = (std::time::Instant::now(), process_cpu_seconds());
        last = stream::iter(bmcs.iter())
            .map(|(t, bmc)| async move {
                let span = tracing::info_span!("bmc", bmc.mac = %t.mac, bmc.ip = %t.ip, backend = bmc.describe().backend());
                poll_one(bmc.as_ref(), t, partition, schedule.timeout).instrument(span).await
            })
            .buffer_unordered(schedule.concurrency)
            .inspect(|s| done(s))
            .collect()
            .await;
        if rounds > 1 {
            let up = last.iter().filter(|s| s.up).count();
            eprintln!(
                "round {round}: {} BMCs ({up} up) in {:.3} s wall, {:.3} s CPU",
                last.len(),
                wall.elapsed().as_secs_f64(),
                process_cpu_seconds() - cpu
            );
        }
    }
    close_all(bmcs.iter().map(|(_, b)| b)).await;
    last.sort_by_key(|s| s.mac);
    last
}

/// User + system CPU time of this process so far, from /proc/self/stat (0 where unavailable).
pub fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the ')'.
    (ticks(11) + ticks(12)) / 100.0
}
