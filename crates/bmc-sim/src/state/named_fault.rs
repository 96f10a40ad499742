//! The faults by name: what `bmc-sim --fault NAME` sets, and what bmc-catcher's test suite injects
//! (`tests/it/faults.rs` applies these same values), so an operator can reproduce a test's fault
//! against a real client. Each name sets one thing in a BMC's [`SimState`].

use std::time::Duration;

use super::{BodyFault, Health, IpmiReplyDefect, IpmiReplyFault, SimState};

/// A fault a simulated BMC can be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SimFault {
    /// Every answer (Redfish and IPMI) waits 5 s.
    SlowAnswers,
    /// Connections are closed as soon as they are accepted (IPMI: no answer at all).
    Silent,
    /// Logins are refused (Redfish 401, IPMI RAKP unauthorized name).
    RefusedLogin,
    /// Every authenticated Redfish request answers 503 with `Retry-After: 30`.
    #[value(name = "busy-503")]
    Busy503,
    /// New Redfish sessions are refused as iDRAC does at its limit (RAC0218).
    MaxSessions,
    /// Redfish bodies are not JSON.
    MalformedJson,
    /// Redfish bodies stop half-way.
    TruncatedJson,
    /// Redfish bodies are padded to 50 MiB.
    HugeBody,
    /// The connection is reset half-way through each Redfish body.
    ResetMidResponse,
    /// In-session IPMI replies carry a wrong integrity AuthCode.
    IpmiBadIntegrity,
    /// ... and the right reply follows each broken one.
    IpmiBadIntegrityThenGood,
    /// In-session IPMI replies are for another session ID.
    IpmiWrongSessionId,
    /// ... and the right reply follows each broken one.
    IpmiWrongSessionIdThenGood,
    /// In-session IPMI replies repeat a used sequence number (a replay).
    IpmiStaleSequence,
    /// ... and the right reply follows each broken one.
    IpmiStaleSequenceThenGood,
    /// In-session IPMI replies are cut after half their bytes.
    IpmiTruncated,
    /// ... and the right reply follows each broken one.
    IpmiTruncatedThenGood,
    /// The first PSU reports critical health.
    PsuCritical,
    /// The first PSU reports warning health.
    PsuWarning,
    /// The first sensor reads 95 (above its critical threshold).
    SensorCritical,
    /// The first drive fails (critical) and the RAID1 volume over it is degraded.
    DriveFailed,
    /// The RAID1 volume is degraded, its drives still healthy.
    RaidDegraded,
    /// The first NIC port, up until now, loses its link.
    NicLinkDown,
    /// The BMC runs another BMC firmware and BIOS version than the rest of the fleet.
    FirmwareMismatch,
}

impl SimFault {
    /// The IPMI reply fault named `defect` (`then_good`: the right reply follows the broken one).
    pub fn of_ipmi_reply(defect: IpmiReplyDefect, then_good: bool) -> SimFault {
        use IpmiReplyDefect as D;
        match (defect, then_good) {
            (D::BadIntegrity, false) => SimFault::IpmiBadIntegrity,
            (D::BadIntegrity, true) => SimFault::IpmiBadIntegrityThenGood,
            (D::WrongSessionId, false) => SimFault::IpmiWrongSessionId,
            (D::WrongSessionId, true) => SimFault::IpmiWrongSessionIdThenGood,
            (D::StaleSequence, false) => SimFault::IpmiStaleSequence,
            (D::StaleSequence, true) => SimFault::IpmiStaleSequenceThenGood,
            (D::Truncated, false) => SimFault::IpmiTruncated,
            (D::Truncated, true) => SimFault::IpmiTruncatedThenGood,
        }
    }

    fn ipmi_reply(self) -> Option<IpmiReplyFault> {
        use IpmiReplyDefect as D;
        let (defect, then_good) = match self {
            SimFault::IpmiBadIntegrity => (D::BadIntegrity, false),
            SimFault::IpmiBadIntegrityThenGood => (D::BadIntegrity, true),
            SimFault::IpmiWrongSessionId => (D::WrongSessionId, false),
            SimFault::IpmiWrongSessionIdThenGood => (D::WrongSessionId, true),
            SimFault::IpmiStaleSequence => (D::StaleSequence, false),
            SimFault::IpmiStaleSequenceThenGood => (D::StaleSequence, true),
            SimFault::IpmiTruncated => (D::Truncated, false),
            SimFault::IpmiTruncatedThenGood => (D::Truncated, true),
            _ => return None,
        };
        Some(IpmiReplyFault { defect, then_good })
    }

    /// Sets the fault in `st`.
    pub fn apply(self, st: &mut SimState) {
        match self {
            SimFault::SlowAnswers => st.faults.delay = Duration::from_secs(5),
            SimFault::Silent => st.faults.drop_connections = true,
            SimFault::RefusedLogin => st.faults.refuse_logins = true,
            SimFault::Busy503 => st.faults.status = Some(503),
            SimFault::MaxSessions => st.faults.max_sessions = Some(0),
            SimFault::MalformedJson => st.faults.body = Some(BodyFault::Malformed),
            SimFault::TruncatedJson => st.faults.body = Some(BodyFault::Truncated),
            SimFault::HugeBody => st.faults.body = Some(BodyFault::Huge(50 << 20)),
            SimFault::ResetMidResponse => st.faults.body = Some(BodyFault::ResetMidway),
            SimFault::IpmiBadIntegrity
            | SimFault::IpmiBadIntegrityThenGood
            | SimFault::IpmiWrongSessionId
            | SimFault::IpmiWrongSessionIdThenGood
            | SimFault::IpmiStaleSequence
            | SimFault::IpmiStaleSequenceThenGood
            | SimFault::IpmiTruncated
            | SimFault::IpmiTruncatedThenGood => st.faults.ipmi_reply = self.ipmi_reply(),
            SimFault::PsuCritical | SimFault::PsuWarning => {
                if let Some(p) = st.psus.first_mut() {
                    p.health = if self == SimFault::PsuCritical {
                        Health::Critical
                    } else {
                        Health::Warning
                    };
                }
            }
            SimFault::SensorCritical => {
                if let Some(s) = st.sensors.first_mut() {
                    s.reading = 95.0;
                }
            }
            SimFault::DriveFailed => st.parts.fail_drive(),
            SimFault::RaidDegraded => st.parts.degrade_volume(),
            SimFault::NicLinkDown => st.parts.lose_link(),
            SimFault::FirmwareMismatch => st.parts.mismatch_firmware(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_ipmi_reply_fault_has_a_name_and_back() {
        use IpmiReplyDefect as D;
        for d in [
            D::BadIntegrity,
            D::WrongSessionId,
            D::StaleSequence,
            D::Truncated,
        ] {
            for then_good in [false, true] {
                let f = SimFault::of_ipmi_reply(d, then_good);
                assert_eq!(
                    f.ipmi_reply(),
                    Some(IpmiReplyFault {
                        defect: d,
                        then_good
                    })
                );
            }
        }
        let names: Vec<String> = SimFault::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|p| p.get_name().to_string())
            .collect();
        assert!(names.contains(&"busy-503".to_string()), "{names:?}");
        assert!(
            names.contains(&"ipmi-stale-sequence-then-good".to_string()),
            "{names:?}"
        );
    }
}
