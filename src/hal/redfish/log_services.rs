//! The one table of where BMC vendors keep their logs in Redfish and how they serve them
//! ([`VENDORS`]): per manufacturer, the LogService ids read (below the system's and the manager's
//! `LogServices` collections) and the quirks of their entry collections. Data only: a new vendor,
//! or a new firmware generation that moved a log, is a new row or a new id, not code. Issue 17
//! (component health) reads the same table.

/// Where and how one vendor's logs are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorLogs {
    /// Matched case-insensitively as a substring of the system's (else the manager's)
    /// `Manufacturer`; `""` is the default row, used when no other matches.
    pub manufacturer: &'static str,
    /// LogService ids (the last path segment, case-insensitive), in the order read.
    pub services: &'static [&'static str],
    /// The entry collections list the newest entry first (most vendors); else oldest first
    /// (the DMTF mockups).
    pub newest_first: bool,
    /// The entry collections honour `$top`/`$skip`, so a poll reads a page, not the whole log.
    pub top_skip: bool,
}

/// Every known vendor; the last row is the default.
pub const VENDORS: &[VendorLogs] = &[
    // iDRAC: the SEL under the manager (iDRAC 8, iDRAC 9 < 4.x) or the system (iDRAC 9 >= 4.x).
    VendorLogs {
        manufacturer: "dell",
        services: &["Sel", "Lclog"],
        newest_first: true,
        top_skip: true,
    },
    // iLO: the Integrated Management Log under the system, the iLO Event Log under the manager.
    VendorLogs {
        manufacturer: "hpe",
        services: &["IML", "IEL"],
        newest_first: true,
        top_skip: true,
    },
    VendorLogs {
        manufacturer: "hewlett",
        services: &["IML", "IEL"],
        newest_first: true,
        top_skip: true,
    },
    // XClarity Controller.
    VendorLogs {
        manufacturer: "lenovo",
        services: &["PlatformLog", "StandardLog"],
        newest_first: true,
        top_skip: true,
    },
    VendorLogs {
        manufacturer: "supermicro",
        services: &["Log1"],
        newest_first: false,
        top_skip: false,
    },
    // The DMTF mockups and everyone else: the names the Redfish schema guide uses.
    VendorLogs {
        manufacturer: "",
        services: &["Log", "SEL", "Log1", "Event", "EventLog"],
        newest_first: false,
        top_skip: false,
    },
];

/// The row for a manufacturer (the default row when none matches or none is known).
pub fn for_manufacturer(manufacturer: Option<&str>) -> &'static VendorLogs {
    let m = manufacturer.unwrap_or_default().to_ascii_lowercase();
    VENDORS
        .iter()
        .find(|v| !v.manufacturer.is_empty() && m.contains(v.manufacturer))
        .unwrap_or(&VENDORS[VENDORS.len() - 1])
}

impl VendorLogs {
    /// Whether a LogService path (`.../LogServices/Sel`) is one this vendor's logs are read from.
    pub fn reads(&self, service_path: &str) -> bool {
        let id = service_path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        self.services.iter().any(|s| s.eq_ignore_ascii_case(id))
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
        assert!(for_manufacturer(Some("Lenovo")).newest_first);
        assert_eq!(for_manufacturer(Some("Supermicro")).services, ["Log1"]);
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
}
