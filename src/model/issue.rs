//! What can be wrong with a BMC: the closed set of [`IssueType`]s (documented in docs/issues.md),
//! their [`Severity`] and one [`Issue`] of one BMC. The rules that find them live in `issues`.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The kinds of issue. The set is closed; `docs/issues.md` explains each and how to fix it.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueType {
    Unreachable,
    AuthFailed,
    InfoOutdated,
    NoDistinctIp,
    DuplicateUuid,
    LeaseExpiredButAnswers,
    PowersupplyFailure,
    SensorCritical,
    SensorWarning,
    PowerStateUnknown,
    TlsCertificateChanged,
    TlsUntrusted,
    TooManySensors,
    BmcLogCritical,
    SelAlmostFull,
    DriveFailed,
    DrivePredictedFailure,
    DriveWearOut,
    RaidDegraded,
    MemoryDegraded,
    CpuFailed,
    NicLinkDown,
    ChassisIntrusion,
    FirmwareDrift,
    PowerStateDisagreement,
}

impl IssueType {
    pub const ALL: [IssueType; 25] = [
        IssueType::Unreachable,
        IssueType::AuthFailed,
        IssueType::InfoOutdated,
        IssueType::NoDistinctIp,
        IssueType::DuplicateUuid,
        IssueType::LeaseExpiredButAnswers,
        IssueType::PowersupplyFailure,
        IssueType::SensorCritical,
        IssueType::SensorWarning,
        IssueType::PowerStateUnknown,
        IssueType::TlsCertificateChanged,
        IssueType::TlsUntrusted,
        IssueType::TooManySensors,
        IssueType::BmcLogCritical,
        IssueType::SelAlmostFull,
        IssueType::DriveFailed,
        IssueType::DrivePredictedFailure,
        IssueType::DriveWearOut,
        IssueType::RaidDegraded,
        IssueType::MemoryDegraded,
        IssueType::CpuFailed,
        IssueType::NicLinkDown,
        IssueType::ChassisIntrusion,
        IssueType::FirmwareDrift,
        IssueType::PowerStateDisagreement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IssueType::Unreachable => "unreachable",
            IssueType::AuthFailed => "auth-failed",
            IssueType::InfoOutdated => "info-outdated",
            IssueType::NoDistinctIp => "no-distinct-ip",
            IssueType::DuplicateUuid => "duplicate-uuid",
            IssueType::LeaseExpiredButAnswers => "lease-expired-but-answers",
            IssueType::PowersupplyFailure => "powersupply-failure",
            IssueType::SensorCritical => "sensor-critical",
            IssueType::SensorWarning => "sensor-warning",
            IssueType::PowerStateUnknown => "power-state-unknown",
            IssueType::TlsCertificateChanged => "tls-certificate-changed",
            IssueType::TlsUntrusted => "tls-untrusted",
            IssueType::TooManySensors => "too-many-sensors",
            IssueType::BmcLogCritical => "bmc-log-critical",
            IssueType::SelAlmostFull => "sel-almost-full",
            IssueType::DriveFailed => "drive-failed",
            IssueType::DrivePredictedFailure => "drive-predicted-failure",
            IssueType::DriveWearOut => "drive-wear-out",
            IssueType::RaidDegraded => "raid-degraded",
            IssueType::MemoryDegraded => "memory-degraded",
            IssueType::CpuFailed => "cpu-failed",
            IssueType::NicLinkDown => "nic-link-down",
            IssueType::ChassisIntrusion => "chassis-intrusion",
            IssueType::FirmwareDrift => "firmware-drift",
            IssueType::PowerStateDisagreement => "power-state-disagreement",
        }
    }
}

impl fmt::Display for IssueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl IssueType {
    /// metal-api's name for the same issue where it differs (`metalctl machine issues --only
    /// bmc-info-outdated`); the views accept it as well as ours.
    pub fn metal_api_name(self) -> Option<&'static str> {
        match self {
            IssueType::InfoOutdated => Some("bmc-info-outdated"),
            IssueType::NoDistinctIp => Some("bmc-no-distinct-ip"),
            _ => None,
        }
    }

    /// The name in `names`: metal-api's where it has one for this issue, else ours.
    pub fn name_in(self, names: IssueNames) -> &'static str {
        match names {
            IssueNames::Ours => self.as_str(),
            IssueNames::MetalApi => self.metal_api_name().unwrap_or(self.as_str()),
        }
    }
}

/// Whose names issue types are shown with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IssueNames {
    /// Ours (the table in docs/issues.md).
    #[default]
    Ours,
    /// metal-api's where it names the same issue differently (`bmc-info-outdated`), else ours.
    MetalApi,
}

/// metal-api issue types that no issue of ours means: asked for by name, they get this answer
/// instead of "unknown".
const METAL_API_ONLY: [(&str, &str); 2] = [
    (
        "bmc-without-ip",
        "metal-api raises it for a machine whose BMC reported no address; bmc-catcher finds BMCs \
         by their DHCP lease, so every BMC it knows has one and it never raises this issue",
    ),
    (
        "bmc-without-mac",
        "metal-api raises it for a machine whose BMC reported no MAC; bmc-catcher knows every BMC \
         by its MAC, so it never raises this issue",
    ),
];

impl std::str::FromStr for IssueType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IssueType::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.metal_api_name() == Some(s))
            .ok_or_else(|| {
                if let Some((name, why)) = METAL_API_ONLY.iter().find(|(n, _)| *n == s) {
                    return format!("{name}: {why}");
                }
                let all: Vec<&str> = IssueType::ALL.iter().map(|t| t.as_str()).collect();
                format!("unknown issue type {s:?}; one of: {}", all.join(", "))
            })
    }
}

#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Minor,
    Major,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "minor" => Ok(Severity::Minor),
            "major" => Ok(Severity::Major),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity {s:?}; one of: minor, major, critical"
            )),
        }
    }
}

/// One issue of one BMC.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    #[serde(rename = "type")]
    pub kind: IssueType,
    pub severity: Severity,
    /// One line saying what exactly (often the text of the failed read it comes from, shared).
    pub detail: Arc<str>,
}

#[cfg(test)]
mod tests {
    use super::{IssueNames, IssueType};

    #[test]
    fn metal_api_names_read_and_print_as_metal_api_spells_them() {
        for t in IssueType::ALL {
            assert_eq!(t.as_str().parse::<IssueType>(), Ok(t));
            assert_eq!(t.name_in(IssueNames::MetalApi).parse::<IssueType>(), Ok(t));
            assert_eq!(t.name_in(IssueNames::Ours), t.as_str());
        }
        assert_eq!(
            IssueType::InfoOutdated.name_in(IssueNames::MetalApi),
            "bmc-info-outdated"
        );
        assert_eq!(
            IssueType::NoDistinctIp.name_in(IssueNames::MetalApi),
            "bmc-no-distinct-ip"
        );
        assert_eq!(
            IssueType::PowersupplyFailure.name_in(IssueNames::MetalApi),
            "powersupply-failure"
        );
        // No issue of ours means metal-api's bmc-without-ip: refused, saying why.
        let e = "bmc-without-ip"
            .parse::<IssueType>()
            .expect_err("no such issue here");
        assert!(e.contains("DHCP lease"), "{e}");
        let e = "nonsense".parse::<IssueType>().expect_err("unknown");
        assert!(
            e.contains("unknown issue type") && e.contains("firmware-drift"),
            "{e}"
        );
    }

    /// The operator's guide and the issue reference name every type the code raises.
    #[test]
    fn the_docs_name_every_issue_type() {
        let operations = include_str!("../../docs/operations.md").replace('\n', " ");
        let reference = include_str!("../../docs/issues.md");
        for t in IssueType::ALL {
            let name = format!("`{}`", t.as_str());
            assert!(
                operations.contains(&name),
                "docs/operations.md lacks {name}"
            );
            assert!(
                reference.contains(&format!("| {name} |")),
                "docs/issues.md lacks {name}"
            );
        }
    }
}
