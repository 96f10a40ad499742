//! The wire form of commands: the request (`{"action": "power-cycle"}` or a bare name), bounded
//! before it is parsed, and the reply every request gets. Nothing from a request is echoed back at
//! more than 64 characters, so a reply always fits a NATS message.

use serde::{Deserialize, Serialize};

use crate::model::{Action, PowerState, SCHEMA_VERSION};

/// The largest request body read; a larger one is refused without being parsed or echoed.
pub const MAX_REQUEST: usize = 4096;
/// The longest request id (`Nats-Msg-Id`) taken.
pub(super) const MAX_REQUEST_ID: usize = 128;

/// A command request: `{"action": "power-cycle"}` (a bare `power-cycle` body is accepted too).
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub action: String,
}

/// Why a command did not happen. `kind` is one of `bad-request`, `unknown-bmc`, `refused`, `busy`,
/// `rate-limited`, or the poll error kinds (`timeout`, `unreachable`, `tls`, `auth`, `protocol`,
/// `unsupported`).
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyError {
    pub kind: String,
    pub message: String,
}

/// The reply to every command.
#[cfg_attr(test, derive(schemars::JsonSchema))]
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
    /// From receipt to the end, waiting included.
    pub duration_ms: u64,
    /// Of that, waiting behind other commands to this BMC.
    #[serde(default)]
    pub queued_ms: u64,
    /// True when this is the reply to an earlier request with the same id (nothing was run again).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
}

impl Reply {
    /// A reply that says nothing yet.
    pub fn new(partition: &str, mac: &str) -> Reply {
        Reply {
            schema_version: SCHEMA_VERSION,
            partition: partition.to_string(),
            mac: mac.to_string(),
            action: String::new(),
            ok: false,
            noop: false,
            power: None,
            duration_ms: 0,
            queued_ms: 0,
            duplicate: false,
            error: None,
        }
    }
}

impl ReplyError {
    pub(super) fn new(kind: &str, message: String) -> ReplyError {
        ReplyError {
            kind: kind.into(),
            message,
        }
    }
}

/// Text from a request, for a reply: at most 64 characters, escaped.
pub(super) fn shown(text: &str) -> String {
    let cut: String = text.chars().take(64).collect();
    let more = if cut.len() < text.len() { "…" } else { "" };
    format!("{cut:?}{more}")
}

/// Parses a request body.
pub fn parse_request(body: &[u8]) -> Result<Action, ReplyError> {
    let bad = |message: String| ReplyError {
        kind: "bad-request".into(),
        message,
    };
    if body.len() > MAX_REQUEST {
        return Err(bad(format!(
            "request body is {} bytes; at most {MAX_REQUEST}",
            body.len()
        )));
    }
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
    fn a_huge_request_is_refused_and_not_echoed() {
        let body = format!("{{\"action\":\"{}\"}}", "x".repeat(100_000));
        let e = parse_request(body.as_bytes()).expect_err("too large");
        assert!(e.message.len() < 200, "{}", e.message);
        let e = parse_request("y".repeat(3000).as_bytes()).expect_err("unknown");
        assert!(e.message.len() < 400, "{}", e.message);
    }
}
