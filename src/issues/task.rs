//! The evaluation task: every `every` (the discovery refresh), evaluates the whole fleet from the
//! store's entries and hands the result to [`Store::apply_issues`], which emits what changed. Waits
//! on its tick and the cancellation token only; a SIGHUP replaces its [`Timing`] through a watch
//! channel, read at the next evaluation.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{Settings, evaluate};
use crate::store::{Store, now_ms};

/// The settings of the evaluation that come from the config (`[poll] interval`, `[issues]`, `[logs] critical-clears-after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub interval: Duration,
    pub outdated_after_intervals: u32,
    pub log_critical_clears_after: Duration,
    pub drive_wear_out_below: u8,
}

/// Runs until `cancel`.
pub async fn run(
    store: Arc<Store>,
    every: Duration,
    timing: watch::Receiver<Timing>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        let t = *timing.borrow();
        let found = evaluate(
            &store.entries(),
            &Settings {
                now_ms: now_ms(),
                interval: t.interval,
                outdated_after_intervals: t.outdated_after_intervals,
                log_critical_clears_after: t.log_critical_clears_after,
                drive_wear_out_below: t.drive_wear_out_below,
            },
        );
        store.apply_issues(found);
    }
}
