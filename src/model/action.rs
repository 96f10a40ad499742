//! What an operator can ask a BMC to do ([`Action`]): the command names of the NATS API and the CLI.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What an operator can ask a BMC to do: the command names of the NATS API and the CLI. Closed set.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    PowerOn,
    PowerOff,
    PowerCycle,
    PowerReset,
    PowerSoft,
    IdentifyOn,
    IdentifyOff,
    BootPxe,
    BootDisk,
    BootBios,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::PowerOn,
        Action::PowerOff,
        Action::PowerCycle,
        Action::PowerReset,
        Action::PowerSoft,
        Action::IdentifyOn,
        Action::IdentifyOff,
        Action::BootPxe,
        Action::BootDisk,
        Action::BootBios,
    ];

    /// The wire name (`power-cycle`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::PowerOn => "power-on",
            Action::PowerOff => "power-off",
            Action::PowerCycle => "power-cycle",
            Action::PowerReset => "power-reset",
            Action::PowerSoft => "power-soft",
            Action::IdentifyOn => "identify-on",
            Action::IdentifyOff => "identify-off",
            Action::BootPxe => "boot-pxe",
            Action::BootDisk => "boot-disk",
            Action::BootBios => "boot-bios",
        }
    }

    /// True for the actions that change chassis power.
    pub fn is_power(self) -> bool {
        matches!(
            self,
            Action::PowerOn
                | Action::PowerOff
                | Action::PowerCycle
                | Action::PowerReset
                | Action::PowerSoft
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
                // At most 64 characters of what was asked: it may come from a hostile request.
                let asked: String = s.chars().take(64).collect();
                let more = if asked.len() < s.len() { "…" } else { "" };
                format!(
                    "unknown action {asked:?}{more}; one of: {}",
                    names.join(", ")
                )
            })
    }
}
