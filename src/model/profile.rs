//! What one BMC turned out to support ([`Profile`]): the protocol, for Redfish where its system,
//! chassis and manager are and which thermal/power shape and component collections it has, for
//! IPMI the cipher suite it accepted and whether it has DCMI power reading and a SEL; when that was
//! found and under which BMC firmware, and the vendor quirks that apply to it.
//!
//! Backends fill it in (`hal`), the daemon remembers it per BMC (`hal::profiles`, the state file
//! and the NATS KV), `probe` and the API show it. It is read back from files and from other
//! catchers, so every string and list is bounded: [`Profile::check`] refuses a value over the
//! bounds, and a Redfish path must be a plain absolute path (the backend still sends it only to
//! the BMC's own origin).

use serde::{Deserialize, Serialize};

use super::{CoolingKind, Protocol};

/// The longest Redfish path kept (the backend refuses longer references too).
pub const MAX_PROFILE_PATH: usize = 512;
/// The longest text kept (firmware version, vendor name, a reset type, a quirk name).
pub const MAX_PROFILE_TEXT: usize = 128;
/// The most entries of any list in a profile.
pub const MAX_PROFILE_LIST: usize = 16;

/// What one BMC supports, as found by talking to it.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The protocol it is polled with (what `protocol = "auto"` found, or the configured one).
    pub protocol: Protocol,
    /// When it was found, Unix milliseconds (this host's clock).
    pub detected_ms: i64,
    /// The BMC firmware version it was found under; a change makes it found again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bmc_firmware: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redfish: Option<RedfishProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipmi: Option<IpmiProfile>,
    /// The vendor table's row that matched (its name), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// The quirks of that row the backend works around (their names in the vendor table).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quirks: Vec<String>,
}

/// Where a Redfish BMC's thermal and power data are.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RedfishShape {
    /// `Thermal` and `Power`.
    Legacy,
    /// `ThermalSubsystem` and `PowerSubsystem`.
    Subsystems,
    /// The chassis' `Sensors` collection.
    Sensors,
    /// None of them.
    None,
}

/// A liquid-cooling collection of the chassis.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoolingLink {
    pub kind: CoolingKind,
    pub path: String,
}

/// The Redfish layout of a BMC: every path the backend reads without finding it again.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedfishProfile {
    pub shape: RedfishShape,
    /// The `ComputerSystem` polled.
    pub system: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chassis: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// `ComputerSystem.Reset` target and its allowable values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_target: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reset_types: Vec<String>,
    /// The system has `LocationIndicatorActive` rather than `IndicatorLED`.
    #[serde(default)]
    pub location_indicator: bool,
    /// The resources of the shape (those it has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensors: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thermal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<String>,
    /// A `Sensors` chassis' legacy `Power` (PSUs and power draw in one GET).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_power: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The `$expand` query the service offers, when it offers one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expand: Option<String>,
    /// Where sessions are created (the service root's `Links.Sessions`), when it links one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_path: Option<String>,
    /// Whether the BMC gave a session (SessionService) at the last login; `None` before one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<bool>,
    /// The component collections the system and chassis link (`Storage`, `Memory`,
    /// `FirmwareInventory`, ...), by their Redfish name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_inventory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_adapters: Option<String>,
    /// The chassis, when it has a `PhysicalSecurity` intrusion sensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intrusion_chassis: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cooling: Vec<CoolingLink>,
}

/// What an IPMI BMC accepted and offers.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpmiProfile {
    /// The RMCP+ cipher suite the BMC accepted (tried first from then on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<u8>,
    /// DCMI Get Power Reading answered; `None` when not asked yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcmi_power: Option<bool>,
    /// The BMC has a SEL; `None` when not asked yet (or logs are off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sel: Option<bool>,
}

impl Profile {
    /// A profile of `protocol` found now, with nothing else known yet.
    pub fn new(protocol: Protocol, detected_ms: i64) -> Profile {
        Profile {
            protocol,
            detected_ms,
            bmc_firmware: None,
            redfish: None,
            ipmi: None,
            vendor: None,
            quirks: Vec::new(),
        }
    }

    /// Why a profile read from elsewhere (a file, the KV) cannot be taken: a text, a path or a list
    /// over its bound, or a path that is not a plain absolute path.
    pub fn check(&self) -> Result<(), String> {
        opt_text("bmc_firmware", &self.bmc_firmware)?;
        opt_text("vendor", &self.vendor)?;
        list("quirks", &self.quirks, |q| text("quirks", q))?;
        if let Some(r) = &self.redfish {
            r.check()?;
        }
        Ok(())
    }
}

impl RedfishProfile {
    fn check(&self) -> Result<(), String> {
        path("system", &self.system)?;
        for (key, p) in [
            ("chassis", &self.chassis),
            ("manager", &self.manager),
            ("reset_target", &self.reset_target),
            ("sensors", &self.sensors),
            ("thermal", &self.thermal),
            ("power", &self.power),
            ("legacy_power", &self.legacy_power),
            ("environment", &self.environment),
            ("sessions_path", &self.sessions_path),
            ("firmware_inventory", &self.firmware_inventory),
            ("network_adapters", &self.network_adapters),
            ("intrusion_chassis", &self.intrusion_chassis),
        ] {
            if let Some(p) = p {
                path(key, p)?;
            }
        }
        opt_text("expand", &self.expand)?;
        list("reset_types", &self.reset_types, |t| text("reset_types", t))?;
        list("collections", &self.collections, |c| text("collections", c))?;
        list("cooling", &self.cooling, |c| path("cooling", &c.path))
    }
}

fn text(key: &str, s: &str) -> Result<(), String> {
    if s.len() > MAX_PROFILE_TEXT {
        return Err(format!(
            "{key}: {} bytes, more than {MAX_PROFILE_TEXT}",
            s.len()
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(format!("{key}: a control character"));
    }
    Ok(())
}

fn opt_text(key: &str, s: &Option<String>) -> Result<(), String> {
    s.as_deref().map_or(Ok(()), |s| text(key, s))
}

fn list<T>(key: &str, l: &[T], each: impl Fn(&T) -> Result<(), String>) -> Result<(), String> {
    if l.len() > MAX_PROFILE_LIST {
        return Err(format!(
            "{key}: {} entries, more than {MAX_PROFILE_LIST}",
            l.len()
        ));
    }
    l.iter().try_for_each(each)
}

/// Whether `p` may be kept as a Redfish path: absolute on the BMC (`/redfish/...`, not `//host`),
/// printable ASCII, no `.`/`..` segment, bounded.
pub fn profile_path_ok(p: &str) -> bool {
    p.len() <= MAX_PROFILE_PATH
        && p.starts_with('/')
        && !p.starts_with("//")
        && p.bytes().all(|b| b.is_ascii_graphic())
        && !p.contains('\\')
        && !p.contains('@')
        && !p.split('/').any(|s| s == "." || s == "..")
}

fn path(key: &str, p: &str) -> Result<(), String> {
    if profile_path_ok(p) {
        Ok(())
    } else {
        let shown: String = p.chars().take(64).collect();
        Err(format!("{key}: {shown:?} is not a plain path on the BMC"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redfish() -> Profile {
        Profile {
            redfish: Some(RedfishProfile {
                shape: RedfishShape::Sensors,
                system: "/redfish/v1/Systems/1".into(),
                chassis: Some("/redfish/v1/Chassis/1".into()),
                manager: Some("/redfish/v1/Managers/1".into()),
                reset_target: None,
                reset_types: vec!["On".into(), "ForceOff".into()],
                location_indicator: true,
                sensors: Some("/redfish/v1/Chassis/1/Sensors".into()),
                thermal: None,
                power: None,
                legacy_power: Some("/redfish/v1/Chassis/1/Power".into()),
                environment: None,
                expand: Some("$expand=.($levels=1)".into()),
                sessions_path: Some("/redfish/v1/SessionService/Sessions".into()),
                sessions: Some(true),
                collections: vec!["Storage".into(), "Memory".into()],
                firmware_inventory: None,
                network_adapters: None,
                intrusion_chassis: None,
                cooling: vec![CoolingLink {
                    kind: CoolingKind::Pump,
                    path: "/redfish/v1/Chassis/1/ThermalSubsystem/Pumps".into(),
                }],
            }),
            bmc_firmware: Some("1.2.3".into()),
            ..Profile::new(Protocol::Redfish, 1_700_000_000_000)
        }
    }

    #[test]
    fn a_profile_round_trips_through_json_and_passes_its_check() {
        let p = redfish();
        p.check().expect("within the bounds");
        let json = serde_json::to_string(&p).expect("json");
        assert!(json.contains(r#""shape":"sensors""#), "{json}");
        assert_eq!(serde_json::from_str::<Profile>(&json).expect("back"), p);
        let ipmi = Profile {
            ipmi: Some(IpmiProfile {
                cipher_suite: Some(3),
                dcmi_power: Some(false),
                sel: Some(true),
            }),
            ..Profile::new(Protocol::Ipmi, 1)
        };
        ipmi.check().expect("ipmi");
        let json = serde_json::to_string(&ipmi).expect("json");
        assert_eq!(serde_json::from_str::<Profile>(&json).expect("back"), ipmi);
    }

    #[test]
    fn hostile_profiles_are_refused() {
        let with = |f: &dyn Fn(&mut RedfishProfile)| {
            let mut p = redfish();
            f(p.redfish.as_mut().expect("redfish"));
            p.check()
        };
        for bad in [
            "https://10.0.0.9/redfish/v1/Systems/1",
            "//10.0.0.9/x",
            "@10.0.0.9:443/x",
            "/redfish/v1/../../etc",
            "/redfish/v1/Systems/1 x",
            "relative/path",
        ] {
            assert!(with(&|r| r.system = bad.into()).is_err(), "{bad}");
            assert!(with(&|r| r.manager = Some(bad.into())).is_err(), "{bad}");
        }
        let long = format!("/{}", "a".repeat(MAX_PROFILE_PATH));
        assert!(with(&|r| r.sensors = Some(long.clone())).is_err());
        assert!(with(&|r| r.collections = vec!["x".into(); MAX_PROFILE_LIST + 1]).is_err());
        assert!(with(&|r| r.reset_types = vec!["x".repeat(MAX_PROFILE_TEXT + 1)]).is_err());
        let mut p = redfish();
        p.bmc_firmware = Some("1.0\n\u{1b}[31m".into());
        assert!(p.check().is_err(), "control characters");
        let unknown = r#"{"protocol":"ipmi","detected_ms":1,"password":"x"}"#;
        assert!(
            serde_json::from_str::<Profile>(unknown).is_err(),
            "unknown keys"
        );
    }
}
