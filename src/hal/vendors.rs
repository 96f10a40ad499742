//! The one table of what BMC vendors do differently ([`VENDORS`]): per vendor, how it is
//! recognised (the system's `Manufacturer` and `Model` in Redfish, the MAC's OUI where no
//! manufacturer is known), the LogService ids its logs are read from (below the system's and the
//! manager's `LogServices` collections) and the [`Quirk`]s the backends work around. Data only: a
//! new vendor, or a new firmware generation that moved a log, is a new row or a new id, not code.
//!
//! Read by the Redfish log reader (`redfish/logs.rs`) and noted in each BMC's capability profile
//! (`model::Profile`: the row's name and its quirks). A quirk is listed here only when code acts
//! on it.

use crate::model::MacAddr;

/// A difference of a vendor's BMCs that the backends work around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quirk {
    /// The log entry collections list the newest entry first (most vendors; the DMTF mockups list
    /// the oldest first): reading stops at the cursor instead of walking to the end.
    LogsNewestFirst,
    /// The log entry collections honour `$top`/`$skip`, so a poll reads a page, not the whole log.
    LogsTopSkip,
}

impl Quirk {
    /// The quirk's name in profiles and the API.
    pub fn name(self) -> &'static str {
        match self {
            Quirk::LogsNewestFirst => "logs-newest-first",
            Quirk::LogsTopSkip => "logs-top-skip",
        }
    }
}

/// One vendor (or one generation of a vendor's BMCs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vendor {
    /// The row's name in profiles; `""` for the default row.
    pub name: &'static str,
    /// Matched case-insensitively as a substring of the system's (else the manager's)
    /// `Manufacturer`; `""` is the default row, used when no other matches.
    pub manufacturer: &'static str,
    /// Matched case-insensitively as a substring of the system's `Model`; `""`: any model.
    pub model: &'static str,
    /// MAC prefixes (OUIs) of the vendor's BMCs, matched when no manufacturer is known (IPMI).
    pub ouis: &'static [[u8; 3]],
    /// LogService ids (the last path segment, case-insensitive), in the order read.
    pub services: &'static [&'static str],
    pub quirks: &'static [Quirk],
}

const LOG_PAGES: &[Quirk] = &[Quirk::LogsNewestFirst, Quirk::LogsTopSkip];

/// Every known vendor; the last row is the default.
pub const VENDORS: &[Vendor] = &[
    // iDRAC: the SEL under the manager (iDRAC 8, iDRAC 9 < 4.x) or the system (iDRAC 9 >= 4.x).
    Vendor {
        name: "dell",
        manufacturer: "dell",
        model: "",
        ouis: &[[0x00, 0x14, 0x22], [0x18, 0x66, 0xda], [0xd0, 0x94, 0x66]],
        services: &["Sel", "Lclog"],
        quirks: LOG_PAGES,
    },
    // iLO: the Integrated Management Log under the system, the iLO Event Log under the manager.
    Vendor {
        name: "hpe",
        manufacturer: "hpe",
        model: "",
        ouis: &[],
        services: &["IML", "IEL"],
        quirks: LOG_PAGES,
    },
    Vendor {
        name: "hpe",
        manufacturer: "hewlett",
        model: "",
        ouis: &[],
        services: &["IML", "IEL"],
        quirks: LOG_PAGES,
    },
    // XClarity Controller.
    Vendor {
        name: "lenovo",
        manufacturer: "lenovo",
        model: "",
        ouis: &[],
        services: &["PlatformLog", "StandardLog"],
        quirks: LOG_PAGES,
    },
    Vendor {
        name: "supermicro",
        manufacturer: "supermicro",
        model: "",
        ouis: &[[0x00, 0x25, 0x90], [0x0c, 0xc4, 0x7a], [0xac, 0x1f, 0x6b]],
        services: &["Log1"],
        quirks: &[],
    },
    // The DMTF mockups and everyone else: the names the Redfish schema guide uses.
    Vendor {
        name: "",
        manufacturer: "",
        model: "",
        ouis: &[],
        services: &["Log", "SEL", "Log1", "Event", "EventLog"],
        quirks: &[],
    },
];

/// The default row (no vendor matched).
pub fn default_row() -> &'static Vendor {
    &VENDORS[VENDORS.len() - 1]
}

/// The row for a manufacturer (the default row when none matches or none is known).
pub fn for_manufacturer(manufacturer: Option<&str>) -> &'static Vendor {
    for_system(manufacturer, None, None).unwrap_or_else(default_row)
}

/// The row a BMC matches: by manufacturer (and model, where a row names one) when it says one,
/// else by the OUI of its MAC. `None`: no row but the default.
pub fn for_system(
    manufacturer: Option<&str>,
    model: Option<&str>,
    mac: Option<MacAddr>,
) -> Option<&'static Vendor> {
    let rows = &VENDORS[..VENDORS.len() - 1];
    let lower = |s: Option<&str>| s.map(str::to_ascii_lowercase);
    if let Some(m) = lower(manufacturer).filter(|m| !m.is_empty()) {
        let model = lower(model).unwrap_or_default();
        return rows
            .iter()
            .find(|v| m.contains(v.manufacturer) && model.contains(v.model));
    }
    let oui = mac.map(|m| [m.0[0], m.0[1], m.0[2]])?;
    rows.iter().find(|v| v.ouis.contains(&oui))
}

impl Vendor {
    /// Whether a LogService path (`.../LogServices/Sel`) is one this vendor's logs are read from.
    pub fn reads(&self, service_path: &str) -> bool {
        let id = service_path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        self.services.iter().any(|s| s.eq_ignore_ascii_case(id))
    }

    pub fn has(&self, quirk: Quirk) -> bool {
        self.quirks.contains(&quirk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_by_manufacturer_and_the_default() {
        assert_eq!(
            for_manufacturer(Some("Dell Inc.")).services,
            ["Sel", "Lclog"]
        );
        assert_eq!(for_manufacturer(Some("HPE")).services, ["IML", "IEL"]);
        assert!(for_manufacturer(Some("Lenovo")).has(Quirk::LogsNewestFirst));
        assert_eq!(for_manufacturer(Some("Supermicro")).services, ["Log1"]);
        assert!(!for_manufacturer(Some("Supermicro")).has(Quirk::LogsTopSkip));
        let default = for_manufacturer(Some("Contoso"));
        assert_eq!(default.manufacturer, "");
        assert_eq!(for_manufacturer(None), default);
        assert!(default.reads("/redfish/v1/Managers/BMC/LogServices/Log"));
        assert!(default.reads("/redfish/v1/Systems/1/LogServices/log1/"));
        assert!(!default.reads("/redfish/v1/Managers/BMC/LogServices/Audit"));
        assert!(
            for_manufacturer(Some("Dell Inc."))
                .reads("/redfish/v1/Managers/iDRAC.Embedded.1/LogServices/Sel")
        );
    }

    #[test]
    fn a_manufacturer_wins_over_the_oui_and_the_oui_serves_when_none_is_known() {
        let dell_mac: MacAddr = "d0:94:66:00:00:01".parse().expect("mac");
        assert_eq!(
            for_system(None, None, Some(dell_mac)).map(|v| v.name),
            Some("dell")
        );
        assert_eq!(
            for_system(Some("Lenovo"), Some("ThinkSystem SR650"), Some(dell_mac)).map(|v| v.name),
            Some("lenovo")
        );
        assert_eq!(
            for_system(Some("Contoso"), None, Some(dell_mac)),
            None,
            "a manufacturer no row names is not guessed from the MAC"
        );
        let other: MacAddr = "02:00:00:00:00:01".parse().expect("mac");
        assert_eq!(for_system(None, None, Some(other)), None);
        assert_eq!(for_system(None, None, None), None);
    }
}
