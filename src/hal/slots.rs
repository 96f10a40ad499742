//! Where one BMC's slow reads fall within their period ([`Slots`]): the firmware inventory and the
//! parts read in full (`[poll] inventory-interval`, `component-interval`), the once-a-day IPMI
//! power-state check. Placed by a hash of the MAC like the polls within `interval`, so a fleet
//! discovered together (read together at its first polls) spreads its next reads over the period
//! instead of repeating them all in one poll round a period later.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use crate::model::MacAddr;

/// The instant the slow-read slots of every BMC of this process count from.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Where one BMC's slow reads fall: at `epoch + mac.phase(period) + k * period`.
#[derive(Debug, Clone, Copy)]
pub struct Slots {
    pub epoch: Instant,
    pub mac: MacAddr,
}

impl Slots {
    /// The daemon's slots for `mac` (one epoch for every BMC).
    pub fn of(mac: MacAddr) -> Slots {
        Slots { epoch: *EPOCH, mac }
    }

    /// Slots of `mac` at `t0 + k * period` (for tests).
    #[cfg(test)]
    pub fn aligned(mac: MacAddr, t0: Instant, period: Duration) -> Slots {
        Slots {
            epoch: t0 + period - mac.phase(period),
            mac,
        }
    }

    /// When a read done at `at` is due again: at the first slot at least half a `period` after
    /// it. A read at its slot is due again one period later; one forced elsewhere (the first
    /// poll, a new BMC firmware, `refresh`) goes back to its slot within half to one and a half
    /// periods.
    pub fn next(&self, at: Instant, period: Duration) -> Instant {
        let earliest = at + period / 2;
        let p = period.as_nanos().max(1);
        let first = self.epoch + self.mac.phase(period);
        let ahead = match first.checked_duration_since(earliest) {
            Some(d) => d.as_nanos() % p,
            None => (p - earliest.duration_since(first).as_nanos() % p) % p,
        };
        earliest + Duration::from_nanos(ahead as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 7]);

    fn aligned(t0: Instant, period: Duration) -> Slots {
        Slots::aligned(MAC, t0, period)
    }

    #[test]
    fn a_read_is_due_again_at_its_slot_at_least_half_a_period_later() {
        let day = Duration::from_secs(86_400);
        let t0 = Instant::now();
        let s = aligned(t0, day);
        assert_eq!(s.next(t0, day), t0 + day, "read at its slot: one period");
        assert_eq!(
            s.next(t0 + day / 4, day),
            t0 + day,
            "a quarter after its slot: the next one, 0.75 periods on"
        );
        assert_eq!(
            s.next(t0 + day * 3 / 4, day),
            t0 + 2 * day,
            "three quarters after: not the next slot (a quarter on), the one after"
        );
        let later_epoch = Slots {
            epoch: t0 + 3 * day - MAC.phase(day),
            mac: MAC,
        };
        assert_eq!(later_epoch.next(t0, day), t0 + day, "read before the epoch");
    }

    /// 10,000 BMCs read at once (a fleet discovered together) are due again spread over the period:
    /// no ten minutes of the day hold more than twice the average (they were all due in one poll round).
    #[test]
    fn a_fleet_read_at_once_is_due_again_spread_over_the_period() {
        let day = Duration::from_secs(86_400);
        let t0 = Instant::now();
        let mut per_ten_minutes = vec![0u32; 6 * 24 * 2];
        for i in 0..10_000u32 {
            let b = i.to_be_bytes();
            let s = Slots {
                epoch: t0,
                mac: MacAddr([0x02, 0, b[0], b[1], b[2], b[3]]),
            };
            let next = s.next(t0, day).duration_since(t0);
            assert!(next >= day / 2 && next < day * 3 / 2, "{next:?}");
            per_ten_minutes[(next.as_secs() / 600) as usize] += 1;
        }
        let busiest = per_ten_minutes.iter().copied().max().unwrap_or_default();
        let average = 10_000.0 / (6.0 * 24.0);
        assert!(
            f64::from(busiest) <= 2.0 * average,
            "{busiest} in ten minutes, average {average}"
        );
    }
}
