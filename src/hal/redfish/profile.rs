//! A Redfish BMC's part of its capability profile: the [`Layout`] found by discovery as a
//! [`RedfishProfile`] and back, so a restart starts from the remembered layout instead of the
//! discovery GETs. The remembered layout is dropped, and found again, when the system path it names
//! answers 404 (then within the same poll), when a path of its thermal/power shape does (at the
//! next poll), or when the manager reports another firmware version than it was found under.

use std::sync::atomic::Ordering;

use serde_json::Value;

use super::components::ComponentLinks;
use super::{Layout, RedfishBmc, Shape};
use crate::hal::vendors;
use crate::model::{Profile, Protocol, RedfishProfile, RedfishShape, now_ms};

/// Every `$expand` query [`super::shapes::expand_query`] may pick (a remembered one must be one).
const EXPANDS: [&str; 4] = [
    "$expand=.($levels=1)",
    "$expand=.",
    "$expand=*($levels=1)",
    "$expand=*",
];

impl Layout {
    /// This layout as a profile; `sys` is the system document discovery read.
    fn to_profile(&self, sys: &Value) -> RedfishProfile {
        let mut p = RedfishProfile {
            shape: RedfishShape::None,
            system: self.system.clone(),
            chassis: self.chassis.clone(),
            manager: self.manager.clone(),
            reset_target: self.reset_target.clone(),
            reset_types: self.reset_types.clone(),
            location_indicator: self.location_indicator,
            sensors: None,
            thermal: None,
            power: None,
            legacy_power: None,
            environment: None,
            expand: None,
            sessions_path: self.sessions_path.clone(),
            sessions: None,
            collections: Vec::new(),
            firmware_inventory: None,
            network_adapters: None,
            intrusion_chassis: None,
            cooling: Vec::new(),
        };
        match &self.shape {
            Shape::Legacy { thermal, power } => {
                p.shape = RedfishShape::Legacy;
                p.thermal.clone_from(thermal);
                p.power.clone_from(power);
            }
            Shape::Subsystem {
                thermal,
                power,
                environment,
            } => {
                p.shape = RedfishShape::Subsystems;
                p.thermal.clone_from(thermal);
                p.power.clone_from(power);
                p.environment.clone_from(environment);
            }
            Shape::Sensors {
                collection,
                thermal,
                power,
                legacy_power,
                environment,
                expand,
            } => {
                p.shape = RedfishShape::Sensors;
                p.sensors = Some(collection.clone());
                p.thermal.clone_from(thermal);
                p.power.clone_from(power);
                p.legacy_power.clone_from(legacy_power);
                p.environment.clone_from(environment);
                p.expand = expand.map(str::to_string);
            }
            Shape::None => {}
        }
        self.components.to_profile(sys, &mut p);
        // Hostile lengths are refused by `Profile::check` when the profile is noted; a BMC with
        // more reset types than a profile keeps loses only the extra ones.
        p.reset_types.truncate(crate::model::MAX_PROFILE_LIST);
        p.collections.truncate(crate::model::MAX_PROFILE_LIST);
        p
    }

    /// The layout a profile remembers; `None` when it does not make one (a `Sensors` shape
    /// without its collection, an unknown `$expand`).
    fn from_profile(p: &RedfishProfile) -> Option<Layout> {
        let expand = match &p.expand {
            Some(e) => Some(*EXPANDS.iter().find(|x| **x == e.as_str())?),
            None => None,
        };
        let shape = match p.shape {
            RedfishShape::Legacy => Shape::Legacy {
                thermal: p.thermal.clone(),
                power: p.power.clone(),
            },
            RedfishShape::Subsystems => Shape::Subsystem {
                thermal: p.thermal.clone(),
                power: p.power.clone(),
                environment: p.environment.clone(),
            },
            RedfishShape::Sensors => Shape::Sensors {
                collection: p.sensors.clone()?,
                thermal: p.thermal.clone(),
                power: p.power.clone(),
                legacy_power: p.legacy_power.clone(),
                environment: p.environment.clone(),
                expand,
            },
            RedfishShape::None => Shape::None,
        };
        Some(Layout {
            system: p.system.clone(),
            chassis: p.chassis.clone(),
            reset_target: p.reset_target.clone(),
            reset_types: p.reset_types.clone(),
            location_indicator: p.location_indicator,
            manager: p.manager.clone(),
            sessions_path: p.sessions_path.clone(),
            shape,
            components: ComponentLinks::from_profile(p),
        })
    }
}

impl RedfishBmc {
    /// The layout this BMC's profile remembers, if it has one.
    pub(super) fn remembered_layout(&self) -> Option<Layout> {
        let profile = self.profiles.get(self.info.mac)?;
        if profile.protocol != Protocol::Redfish {
            return None;
        }
        let layout = Layout::from_profile(profile.redfish.as_ref()?)?;
        tracing::debug!(bmc = %self.bmc(), system = %layout.system, "redfish layout from the profile");
        Some(layout)
    }

    /// Notes a layout discovery just found (`sys`: the system document it read), with the vendor
    /// row the system's manufacturer and model match.
    pub(super) fn remember_layout(&self, layout: &Layout, sys: &Value) {
        let redfish = layout.to_profile(sys);
        let vendor = vendors::for_system(
            super::shapes::text(sys, "Manufacturer").as_deref(),
            super::shapes::text(sys, "Model").as_deref(),
            Some(self.info.mac),
        );
        self.profiles.update(self.info.mac, |old| {
            let mut p = match old {
                Some(p) if p.protocol == Protocol::Redfish => p,
                _ => Profile::new(Protocol::Redfish, now_ms()),
            };
            p.detected_ms = now_ms();
            p.bmc_firmware = None;
            p.redfish = Some(redfish);
            p.vendor = vendor.map(|v| v.name.to_string());
            p.quirks = vendor
                .map(|v| v.quirks.iter().map(|q| q.name().to_string()).collect())
                .unwrap_or_default();
            Some(p)
        });
    }

    /// Forgets the remembered layout (the BMC's profile keeps its protocol, for `auto`).
    pub(super) fn forget_remembered_layout(&self) {
        self.restored.store(false, Ordering::Relaxed);
        self.profiles.update(self.info.mac, |old| {
            old.map(|mut p| {
                p.redfish = None;
                p.bmc_firmware = None;
                p
            })
        });
    }

    /// After a poll: notes the firmware version and whether sessions are used; true when the
    /// manager now reports another firmware version than the layout was found under (it is then
    /// found again at the next poll).
    pub(super) async fn note_poll(&self, firmware: Option<String>) -> bool {
        let sessions = self.session.uses_sessions().await;
        let mut stale = false;
        self.profiles.update(self.info.mac, |old| {
            let mut p = old?;
            let Some(r) = p.redfish.as_mut() else {
                return Some(p);
            };
            if sessions.is_some() {
                r.sessions = sessions;
            }
            match (&p.bmc_firmware, &firmware) {
                (Some(was), Some(now)) if was != now => stale = true,
                (None, Some(now)) => p.bmc_firmware = Some(now.clone()),
                _ => {}
            }
            Some(p)
        });
        stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_survives_the_profile_and_a_bad_profile_makes_none() {
        let sys = serde_json::json!({"Memory": {"@odata.id": "/redfish/v1/Systems/1/Memory"}});
        let layout = Layout {
            system: "/redfish/v1/Systems/1".into(),
            chassis: Some("/redfish/v1/Chassis/1".into()),
            reset_target: Some("/redfish/v1/Systems/1/Actions/ComputerSystem.Reset".into()),
            reset_types: vec!["On".into()],
            location_indicator: false,
            manager: Some("/redfish/v1/Managers/1".into()),
            sessions_path: Some("/redfish/v1/SessionService/Sessions".into()),
            shape: Shape::Sensors {
                collection: "/redfish/v1/Chassis/1/Sensors".into(),
                thermal: None,
                power: Some("/redfish/v1/Chassis/1/PowerSubsystem".into()),
                legacy_power: None,
                environment: None,
                expand: Some("$expand=."),
            },
            components: ComponentLinks::default(),
        };
        let p = layout.to_profile(&sys);
        assert_eq!(p.collections, ["Memory"]);
        assert_eq!(p.shape, RedfishShape::Sensors);
        let back = Layout::from_profile(&p).expect("a layout");
        assert_eq!(back.shape, layout.shape);
        assert_eq!(back.system, layout.system);
        assert_eq!(back.sessions_path, layout.sessions_path);
        let mut odd = p.clone();
        odd.expand = Some("$expand=*($levels=9)".into());
        assert!(Layout::from_profile(&odd).is_none(), "an unknown $expand");
        let mut odd = p;
        odd.sensors = None;
        assert!(
            Layout::from_profile(&odd).is_none(),
            "Sensors without a collection"
        );
    }
}
