//! One BMC's polling task: waits for its slot and a permit, polls under the deadline, records the
//! snapshot, backs off while the BMC keeps failing. [`spawn`] supervises it: a panic is logged and
//! the task restarted at the BMC's next slot, so one bad reply cannot silently end a BMC's polls.

use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::schedule::{FirstPoll, Schedule, backoff, next_slot, phase};
use super::{PollStats, poll_one};
use crate::hal::Bmc;
use crate::model::{ErrorKind, Target};
use crate::store::{Store, now_ms};

/// Everything one worker needs, shared with the poller that spawned it.
pub(super) struct Context {
    pub bmc: Arc<dyn Bmc>,
    pub target: Arc<Target>,
    pub store: Arc<Store>,
    pub stats: Arc<PollStats>,
    pub permits: Arc<Semaphore>,
    pub schedule: Schedule,
    /// The start of every BMC's period (phases count from it).
    pub epoch: Instant,
    pub token: CancellationToken,
}

/// The per-BMC span of one poll (every log line of the poll names the BMC). Made per poll, not
/// held by the worker: a live span costs the subscriber hundreds of bytes, times every BMC.
fn bmc_span(ctx: &Context) -> tracing::Span {
    tracing::info_span!("bmc", bmc.mac = %ctx.target.mac, bmc.ip = %ctx.target.ip, backend = ctx.bmc.describe().backend())
}

/// Spawns the worker; a panic inside it is caught (in the same task, so a fleet costs one task
/// per BMC), logged in the BMC's span, and the worker restarted at the BMC's next slot.
pub(super) fn spawn(ctx: Context, first: FirstPoll) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut first = first;
        // Kept across a restart, so a panic does not undo a failing BMC's back-off.
        let mut failures = 0u32;
        loop {
            let run = std::panic::AssertUnwindSafe(run(&ctx, first, &mut failures));
            match run.catch_unwind().await {
                Ok(()) => return,
                Err(panic) if !ctx.token.is_cancelled() => {
                    let _span = bmc_span(&ctx).entered();
                    tracing::error!(
                        panic = panic_message(&panic),
                        "poll worker panicked; restarting it at its next slot"
                    );
                    first = FirstPoll::AtItsSlot;
                }
                Err(panic) => {
                    let _span = bmc_span(&ctx).entered();
                    tracing::error!(
                        panic = panic_message(&panic),
                        "poll worker panicked while stopping"
                    );
                    return;
                }
            }
        }
    })
}

/// The text a panic was raised with, when it was a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

/// Polls one BMC until its token is cancelled. Between polls (most of its life) the task holds
/// only this loop's small state: the poll itself runs in its own boxed future ([`poll_and_record`]),
/// so a fleet of 200,000 waiting workers is not 200,000 copies of a poll's state.
async fn run(ctx: &Context, first: FirstPoll, failures: &mut u32) {
    let Context {
        target,
        stats,
        schedule,
        epoch,
        token,
        ..
    } = ctx;
    let (schedule, epoch) = (*schedule, *epoch);
    let phase = phase(target.mac, schedule.interval);
    // A poll is due to finish within its deadline plus one interval of slack (queueing for a permit).
    let slack_ms = (schedule.timeout + schedule.interval).as_millis() as i64;
    if first == FirstPoll::AtItsSlot {
        let next = next_slot(epoch, phase, schedule.interval, Instant::now());
        let until = next.saturating_duration_since(Instant::now()).as_millis() as i64;
        stats.set_due(target.mac, Some(now_ms() + until + slack_ms));
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = token.cancelled() => return,
        }
    }
    stats.set_due(target.mac, Some(now_ms() + slack_ms));
    loop {
        // The permit first, then the span: a fleet waiting for permits holds no spans (the
        // subscriber keeps the memory of the most spans ever open at once).
        let permit = tokio::select! {
            p = ctx.permits.acquire() => p,
            _ = token.cancelled() => return,
        };
        let poll = poll_and_record(ctx, failures, permit);
        let wait = Box::pin(poll.instrument(bmc_span(ctx))).await;
        let mut next = next_slot(epoch, phase, schedule.interval, Instant::now());
        next += schedule.interval * (wait - 1);
        let until_next = next.saturating_duration_since(Instant::now()).as_millis() as i64;
        stats.set_due(target.mac, Some(now_ms() + until_next + slack_ms));
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = token.cancelled() => return,
        }
    }
}

/// Polls once under the deadline holding `permit`, records the snapshot; returns how many
/// intervals to wait before the next poll (the back-off).
async fn poll_and_record(
    ctx: &Context,
    failures: &mut u32,
    permit: Result<tokio::sync::SemaphorePermit<'_>, tokio::sync::AcquireError>,
) -> u32 {
    let Context {
        bmc,
        target,
        store,
        stats,
        schedule,
        ..
    } = ctx;
    let snap = poll_one(bmc.as_ref(), target, store.partition(), schedule.timeout)
        .instrument(tracing::debug_span!("poll"))
        .await;
    drop(permit);
    stats.observe(&snap);
    let errors = snap.reading.errors();
    let serious = errors
        .iter()
        .map(|(_, e)| *e)
        .find(|e| e.kind != ErrorKind::Unsupported);
    match serious {
        None => tracing::debug!(ms = snap.duration_ms, up = snap.up, "poll done"),
        Some(e) => {
            tracing::warn!(ms = snap.duration_ms, kind = %e.kind, error = %e.message, up = snap.up, "poll incomplete")
        }
    }
    let auth = !snap.up
        && snap
            .reading
            .first_error()
            .is_some_and(|e| e.kind == ErrorKind::Auth);
    *failures = if snap.up {
        0
    } else {
        failures.saturating_add(1)
    };
    store.record(snap);
    let wait = backoff(*failures, auth);
    if wait > 1 {
        tracing::info!(
            failures = *failures,
            intervals = wait,
            auth,
            "backing off a failing BMC"
        );
    }
    wait
}
