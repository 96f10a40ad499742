//! A fault schedule for soak runs (`bmc-sim --fault-cycle-secs N`): a BMC steps through good ->
//! hang -> hostile -> good, one phase per period, so a client meets each kind of failure starting
//! and ending while it runs.

use std::time::Duration;

use super::{BodyFault, Faults, IpmiReplyDefect, IpmiReplyFault};

/// One phase of the cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Good,
    /// Every answer comes 10 s late (longer than any sane poll deadline).
    Hang,
    /// Redfish bodies that are not JSON (odd rounds: cut in half); IPMI replies with a bad AuthCode.
    Hostile {
        truncated: bool,
    },
}

impl Phase {
    /// The phase of period `n` (0, 1, 2, ...): good, hang, hostile, good, hang, hostile, ...
    pub fn of(n: u64) -> Phase {
        match n % 3 {
            0 => Phase::Good,
            1 => Phase::Hang,
            _ => Phase::Hostile {
                truncated: (n / 3) % 2 == 1,
            },
        }
    }

    /// The faults a BMC has in this phase.
    pub fn faults(self) -> Faults {
        match self {
            Phase::Good => Faults::default(),
            Phase::Hang => Faults {
                delay: Duration::from_secs(10),
                ..Faults::default()
            },
            Phase::Hostile { truncated } => Faults {
                body: Some(if truncated {
                    BodyFault::Truncated
                } else {
                    BodyFault::Malformed
                }),
                ipmi_reply: Some(IpmiReplyFault {
                    defect: IpmiReplyDefect::BadIntegrity,
                    then_good: false,
                }),
                ..Faults::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_goes_good_hang_hostile_and_back() {
        let phases: Vec<Phase> = (0..7).map(Phase::of).collect();
        assert_eq!(phases[0], Phase::Good);
        assert_eq!(phases[1], Phase::Hang);
        assert!(matches!(phases[2], Phase::Hostile { truncated: false }));
        assert_eq!(phases[3], Phase::Good);
        assert!(matches!(phases[5], Phase::Hostile { truncated: true }));
        assert_eq!(Phase::Good.faults().delay, Duration::ZERO);
        assert!(Phase::Hang.faults().delay > Duration::from_secs(5));
    }
}
