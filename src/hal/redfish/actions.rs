//! Commands over Redfish: power through `ComputerSystem.Reset` (choosing a reset type the system
//! allows), the identify LED and the one-time boot device through `PATCH` of the system resource.

use serde_json::{Value, json};

use super::{Layout, RedfishBmc};
use crate::hal::HalError;
use crate::model::Action;

/// The Redfish `ResetType` for a power action, given what the system allows (empty: not said).
pub fn reset_type(action: Action, allowed: &[String]) -> Option<&'static str> {
    let ok = |t: &str| allowed.is_empty() || allowed.iter().any(|a| a == t);
    let pick = |choices: &[&'static str]| choices.iter().copied().find(|t| ok(t));
    match action {
        Action::PowerOn => pick(&["On", "ForceOn"]),
        Action::PowerOff => pick(&["ForceOff"]),
        Action::PowerCycle => pick(&["PowerCycle", "ForceRestart"]),
        Action::PowerReset => pick(&["ForceRestart", "GracefulRestart"]),
        Action::PowerSoft => pick(&["GracefulShutdown"]),
        _ => None,
    }
}

/// The `PATCH` body for identify and boot actions.
pub fn patch_body(action: Action, location_indicator: bool) -> Option<Value> {
    let boot = |target: &str| json!({"Boot": {"BootSourceOverrideTarget": target, "BootSourceOverrideEnabled": "Once"}});
    Some(match action {
        Action::IdentifyOn if location_indicator => json!({"LocationIndicatorActive": true}),
        Action::IdentifyOff if location_indicator => json!({"LocationIndicatorActive": false}),
        Action::IdentifyOn => json!({"IndicatorLED": "Lit"}),
        Action::IdentifyOff => json!({"IndicatorLED": "Off"}),
        Action::BootPxe => boot("Pxe"),
        Action::BootDisk => boot("Hdd"),
        Action::BootBios => boot("BiosSetup"),
        _ => return None,
    })
}

impl RedfishBmc {
    pub(super) async fn act(&self, layout: &Layout, action: Action) -> Result<(), HalError> {
        if action.is_power() {
            let target = layout
                .reset_target
                .as_deref()
                .ok_or_else(|| HalError::Unsupported {
                    bmc: self.bmc(),
                    detail: "system has no ComputerSystem.Reset action".into(),
                })?;
            let reset =
                reset_type(action, &layout.reset_types).ok_or_else(|| HalError::Unsupported {
                    bmc: self.bmc(),
                    detail: format!("{action}: the system allows only {:?}", layout.reset_types),
                })?;
            return self
                .session
                .post(target, &json!({ "ResetType": reset }))
                .await;
        }
        let body =
            patch_body(action, layout.location_indicator).ok_or_else(|| HalError::Unsupported {
                bmc: self.bmc(),
                detail: format!("{action} has no Redfish mapping"),
            })?;
        self.session.patch(&layout.system, &body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_types_follow_what_the_system_allows() {
        let sushy: Vec<String> = ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "Nmi"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(reset_type(Action::PowerCycle, &sushy), Some("ForceRestart"));
        assert_eq!(reset_type(Action::PowerCycle, &[]), Some("PowerCycle"));
        assert_eq!(reset_type(Action::PowerOn, &sushy), Some("On"));
        assert_eq!(reset_type(Action::PowerSoft, &["On".to_string()]), None);
        assert_eq!(reset_type(Action::BootPxe, &sushy), None);
    }

    #[test]
    fn identify_uses_the_property_the_system_has() {
        assert_eq!(
            patch_body(Action::IdentifyOn, true),
            Some(json!({"LocationIndicatorActive": true}))
        );
        assert_eq!(
            patch_body(Action::IdentifyOn, false),
            Some(json!({"IndicatorLED": "Lit"}))
        );
        assert_eq!(
            patch_body(Action::BootBios, false),
            Some(
                json!({"Boot": {"BootSourceOverrideTarget": "BiosSetup", "BootSourceOverrideEnabled": "Once"}})
            )
        );
        assert_eq!(patch_body(Action::PowerOn, false), None);
    }
}
