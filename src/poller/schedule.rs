//! When to poll: the scheduling knobs ([`Schedule`]), the next slot of a BMC at its phase within
//! the period ([`crate::model::MacAddr::phase`]), and the back-off of a failing BMC. Pure
//! functions of time.

use std::time::Duration;

use tokio::time::Instant;

/// The scheduling knobs, from `[poll]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub interval: Duration,
    pub timeout: Duration,
    pub concurrency: usize,
}

impl Schedule {
    /// The schedule `[poll]` describes.
    pub fn of(poll: &crate::config::Poll) -> Schedule {
        Schedule {
            interval: poll.interval,
            timeout: poll.timeout,
            concurrency: poll.concurrency,
        }
    }
}

/// The first slot `epoch + phase + k * interval` strictly after `now`.
pub fn next_slot(epoch: Instant, phase: Duration, interval: Duration, now: Instant) -> Instant {
    let first = epoch + phase;
    if now < first {
        return first;
    }
    let elapsed = now.duration_since(first).as_nanos();
    let k = elapsed / interval.as_nanos().max(1) + 1;
    first + Duration::from_nanos((k * interval.as_nanos()) as u64)
}

/// How many intervals to wait before the next poll of a BMC that failed `failures` times in a row:
/// a BMC that keeps failing is backed off (up to 8 intervals) instead of hammered, and one that
/// refuses the credentials at once (an account may lock after repeated failed logins).
pub fn backoff(failures: u32, auth: bool) -> u32 {
    let start = if auth { 1 } else { 3 };
    if failures < start {
        1
    } else {
        (1u32 << (failures - start + 1).min(3)).min(8)
    }
}
