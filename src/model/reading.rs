//! What one poll of one BMC yields, part by part ([`Reading`]): each part is read or failed with an
//! [`ErrorKind`], so one failing read never hides the others.

use serde::{Deserialize, Serialize};

use super::{
    Components, Dropped, ErrorKind, Field, FieldError, Inventory, Led, Logs, PowerMetrics,
    PowerState, Protocol, Psu, Sensor,
};

/// Everything one poll of one BMC learned, field by field: one failing read never hides the others.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub power: Field<PowerState>,
    /// Boxed: most of a snapshot's size when inline, and a BMC that answers nothing has none.
    pub inventory: Field<Box<Inventory>>,
    pub led: Field<Led>,
    pub psus: Field<Vec<Psu>>,
    pub power_metrics: Field<PowerMetrics>,
    pub sensors: Field<Vec<Sensor>>,
    /// When the certificate a BMC presented and the TLS policy refused (a changed pin) expires,
    /// Unix seconds: the operator judges the change by it. `None` when nothing was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_certificate_expires: Option<i64>,
    /// Why the TLS policy refused the certificate, when a part failed with kind `tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_refusal: Option<TlsRefusal>,
    /// Sensors and PSUs the BMC reported beyond `[poll] max-sensors-per-bmc` /
    /// `max-psus-per-bmc`: counted, not kept (see [`Reading::bound`]).
    #[serde(default, skip_serializing_if = "Dropped::is_none")]
    pub dropped: Dropped,
    /// The BMC's own event log (IPMI SEL, Redfish LogServices); absent when not read. Boxed:
    /// most snapshots (every BMC that answers nothing) carry none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<Box<Logs>>,
    /// Drives, RAID, DIMMs, CPUs, NIC ports, firmware; absent when not read (IPMI without
    /// component sensors, a BMC that answers nothing). Boxed for the same reason as `logs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Box<Components>>,
    /// The power state as the BMC's other protocol gave it at the same moment: compared on the
    /// slow cadence (`[poll] inventory-interval`) for a BMC that answers both (`protocol =
    /// "auto"`), and at every poll while the two disagree. Absent when not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_check: Option<PowerCheck>,
}

/// Two protocols' answers to "is it on?", read one right after the other.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerCheck {
    /// The protocol the BMC is polled with, and what it said.
    pub polled_protocol: Protocol,
    pub polled: PowerState,
    /// The other protocol, and what it said.
    pub other_protocol: Protocol,
    pub other: PowerState,
}

impl PowerCheck {
    /// Both gave a settled state (on or off) and not the same one.
    pub fn disagrees(&self) -> bool {
        let settled = |p: PowerState| matches!(p, PowerState::On | PowerState::Off);
        settled(self.polled) && settled(self.other) && self.polled != self.other
    }
}

/// Why a BMC's certificate was refused (a read failed with [`ErrorKind::Tls`](super::ErrorKind)).
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsRefusal {
    /// `tls = "pin"`: another certificate than the pinned one.
    Changed,
    /// `tls = "verify"`: the certificate does not chain to a trusted CA (or names another host,
    /// or has expired).
    Untrusted,
}

impl Reading {
    /// A reading in which every field failed the same way (deadline, no connection).
    pub fn all_failed(kind: ErrorKind, message: &str) -> Self {
        let message: std::sync::Arc<str> = message.into();
        Reading {
            power: Field::failed(kind, message.clone()),
            inventory: Field::failed(kind, message.clone()),
            led: Field::failed(kind, message.clone()),
            psus: Field::failed(kind, message.clone()),
            power_metrics: Field::failed(kind, message.clone()),
            sensors: Field::failed(kind, message),
            refused_certificate_expires: None,
            tls_refusal: None,
            dropped: Dropped::default(),
            logs: None,
            components: None,
            power_check: None,
        }
    }

    /// True when at least one field was read: the BMC answered.
    pub fn any_ok(&self) -> bool {
        self.power.ok().is_some()
            || self.inventory.ok().is_some()
            || self.led.ok().is_some()
            || self.psus.ok().is_some()
            || self.power_metrics.ok().is_some()
            || self.sensors.ok().is_some()
    }

    /// Every failed part with its name (`power`, `inventory`, `led`, `psus`, `power_metrics`,
    /// `sensors`), in that order.
    pub fn errors(&self) -> Vec<(&'static str, &FieldError)> {
        [
            ("power", self.power.err()),
            ("inventory", self.inventory.err()),
            ("led", self.led.err()),
            ("psus", self.psus.err()),
            ("power_metrics", self.power_metrics.err()),
            ("sensors", self.sensors.err()),
        ]
        .into_iter()
        .filter_map(|(part, e)| e.map(|e| (part, e)))
        .collect()
    }

    /// The first error, for a one-word summary of a failed poll.
    pub fn first_error(&self) -> Option<&FieldError> {
        self.errors().first().map(|(_, e)| *e)
    }
}

#[cfg(test)]
mod power_check_tests {
    use super::{PowerCheck, PowerState, Protocol};

    #[test]
    fn only_two_settled_states_that_differ_disagree() {
        let check = |polled, other| PowerCheck {
            polled_protocol: Protocol::Redfish,
            polled,
            other_protocol: Protocol::Ipmi,
            other,
        };
        use PowerState::*;
        assert!(check(On, Off).disagrees());
        assert!(check(Off, On).disagrees());
        for (a, b) in [
            (On, On),
            (Off, Off),
            (PoweringOn, Off),
            (On, Unknown),
            (Unknown, Off),
        ] {
            assert!(!check(a, b).disagrees(), "{a:?} {b:?}");
        }
    }
}
