//! Commands against one BMC (power, identify, boot device), independent of how they arrive (NATS
//! request/reply, CLI). They go through the poller's backend for that BMC, so they share its session
//! and are serialised with its polls; they check the power state first where a BMC would refuse or
//! where there is nothing to do, time out, read the power state back, and report a `command-result`
//! event. Every request gets a reply, malformed ones included.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::hal::{Bmc, HalError};
use crate::model::EventKind;
use crate::model::{Action, MacAddr, PowerState, SCHEMA_VERSION};
use crate::poller::Fleet;
use crate::store::Store;

/// A command request: `{"action": "power-cycle"}` (a bare `power-cycle` body is accepted too).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub action: String,
}

/// Why a command did not happen. `kind` is one of `bad-request`, `unknown-bmc`, `refused`, or the
/// poll error kinds (`timeout`, `unreachable`, `auth`, `protocol`, `unsupported`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyError {
    pub kind: String,
    pub message: String,
}

/// The reply to every command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub schema_version: u32,
    pub partition: String,
    pub mac: String,
    pub action: String,
    pub ok: bool,
    /// True when the BMC was already in the asked state and nothing was sent.
    #[serde(default)]
    pub noop: bool,
    /// Power read back after the action (or before, for a no-op).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<PowerState>,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
}

/// Parses a request body.
pub fn parse_request(body: &[u8]) -> Result<Action, ReplyError> {
    let bad = |message: String| ReplyError {
        kind: "bad-request".into(),
        message,
    };
    let text = std::str::from_utf8(body)
        .map_err(|_| bad("request body is not UTF-8".into()))?
        .trim();
    let name = if text.starts_with('{') {
        serde_json::from_str::<Request>(text)
            .map_err(|e| bad(format!("request is not {{\"action\": \"...\"}}: {e}")))?
            .action
    } else {
        text.trim_matches('"').to_string()
    };
    name.parse::<Action>().map_err(bad)
}

fn hal_error(e: &HalError) -> ReplyError {
    ReplyError {
        kind: e.kind().to_string(),
        message: e.to_string(),
    }
}

/// What to do given the current power state: `Ok(true)` = nothing to do, `Err` = the BMC would refuse.
fn precheck(action: Action, power: PowerState) -> Result<bool, String> {
    match (action, power) {
        (Action::PowerOn, PowerState::On) => Ok(true),
        (Action::PowerOff | Action::PowerSoft, PowerState::Off) => Ok(true),
        (Action::PowerCycle | Action::PowerReset, PowerState::Off) => Err(format!(
            "power is off: {action} needs it on (send power-on)"
        )),
        _ => Ok(false),
    }
}

/// What a command did: nothing (`noop`, the BMC was already there), or the action; the power
/// state read afterwards.
struct Outcome {
    noop: bool,
    power: Option<PowerState>,
}

async fn run(bmc: &dyn Bmc, action: Action) -> Result<Outcome, ReplyError> {
    if action.is_power() {
        let before = bmc.power_state().await.map_err(|e| hal_error(&e))?;
        match precheck(action, before) {
            Ok(true) => {
                return Ok(Outcome {
                    noop: true,
                    power: Some(before),
                });
            }
            Ok(false) => {}
            Err(message) => {
                return Err(ReplyError {
                    kind: "refused".into(),
                    message,
                });
            }
        }
    }
    bmc.perform(action).await.map_err(|e| hal_error(&e))?;
    let after = bmc.power_state().await.ok();
    Ok(Outcome {
        noop: false,
        power: after,
    })
}

/// Runs `action` on the BMC with `mac` and reports the outcome (also as a `command-result` event).
pub async fn execute(
    fleet: &Fleet,
    store: &Store,
    mac: &str,
    body: &[u8],
    timeout: Duration,
) -> Reply {
    let started = Instant::now();
    let mut reply = Reply {
        schema_version: SCHEMA_VERSION,
        partition: store.partition().to_string(),
        mac: mac.to_string(),
        action: String::new(),
        ok: false,
        noop: false,
        power: None,
        duration_ms: 0,
        error: None,
    };
    let parsed_mac = mac.replace('-', ":").parse::<MacAddr>();
    let outcome = match (parsed_mac, parse_request(body)) {
        (Err(e), _) => Err(ReplyError {
            kind: "bad-request".into(),
            message: e.to_string(),
        }),
        (_, Err(e)) => Err(e),
        (Ok(mac), Ok(action)) => {
            reply.mac = mac.to_string();
            reply.action = action.to_string();
            match fleet.get(mac) {
                None => Err(ReplyError {
                    kind: "unknown-bmc".into(),
                    message: format!("no BMC with MAC {mac} in partition {}", store.partition()),
                }),
                Some(bmc) => match tokio::time::timeout(timeout, run(bmc.as_ref(), action)).await {
                    Ok(r) => r,
                    Err(_) => Err(ReplyError {
                        kind: "timeout".into(),
                        message: format!("{action} on {mac} did not finish within {timeout:?}"),
                    }),
                },
            }
        }
    };
    reply.duration_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(Outcome { noop, power }) => {
            reply.ok = true;
            reply.noop = noop;
            reply.power = power;
        }
        Err(e) => reply.error = Some(e),
    }
    if let (Ok(mac), false) = (reply.mac.parse::<MacAddr>(), reply.action.is_empty()) {
        if let Some(p) = reply.power.filter(|p| *p != PowerState::Unknown) {
            store.record_power(mac, p);
        }
        tracing::info!(bmc.mac = %mac, action = %reply.action, ok = reply.ok, ms = reply.duration_ms, "command");
        store.emit(
            mac,
            EventKind::CommandResult {
                action: reply.action.clone(),
                ok: reply.ok,
                power: reply.power,
                error: reply
                    .error
                    .as_ref()
                    .map(|e| format!("{}: {}", e.kind, e.message)),
                duration_ms: reply.duration_ms,
            },
        );
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_as_json_or_bare_names() {
        assert_eq!(
            parse_request(br#"{"action":"power-cycle"}"#),
            Ok(Action::PowerCycle)
        );
        assert_eq!(parse_request(b"boot-pxe\n"), Ok(Action::BootPxe));
        let e = parse_request(b"power-explode").expect_err("unknown");
        assert_eq!(e.kind, "bad-request");
        assert!(
            e.message.contains("power-explode") && e.message.contains("power-on"),
            "{}",
            e.message
        );
        assert_eq!(
            parse_request(b"{not json").expect_err("bad").kind,
            "bad-request"
        );
        assert_eq!(
            parse_request(&[0xff, 0xfe]).expect_err("bad").kind,
            "bad-request"
        );
    }

    #[test]
    fn precheck_skips_no_ops_and_refuses_what_a_bmc_would() {
        assert_eq!(precheck(Action::PowerOff, PowerState::Off), Ok(true));
        assert_eq!(precheck(Action::PowerOn, PowerState::On), Ok(true));
        assert_eq!(precheck(Action::PowerOn, PowerState::Off), Ok(false));
        assert!(precheck(Action::PowerCycle, PowerState::Off).is_err());
        assert_eq!(precheck(Action::PowerCycle, PowerState::On), Ok(false));
    }
}
