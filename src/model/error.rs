//! How a failed read is described: a small closed [`ErrorKind`] (metric labels, NATS payloads), a
//! [`FieldError`] with a message naming what failed, and the [`Field`] every part of a reading is.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Why one read failed: a small closed set that feeds metric labels and NATS payloads.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    Timeout,
    Unreachable,
    /// The BMC's TLS certificate was refused: a pinned certificate changed, or it is not trusted
    /// (see [`TlsRefusal`](super::TlsRefusal)).
    Tls,
    Auth,
    Protocol,
    Unsupported,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Tls => "tls",
            ErrorKind::Auth => "auth",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Unsupported => "unsupported",
        }
    }

    pub const ALL: [ErrorKind; 6] = [
        ErrorKind::Timeout,
        ErrorKind::Unreachable,
        ErrorKind::Tls,
        ErrorKind::Auth,
        ErrorKind::Protocol,
        ErrorKind::Unsupported,
    ];
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed read: its kind and a message naming what failed (never a secret). The message is
/// shared: a poll that fails as a whole fails every part with one text, and the issue and event
/// it raises quote the same one, so an unreachable fleet holds one message per BMC, not eight.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    pub kind: ErrorKind,
    pub message: Arc<str>,
}

/// The result of reading one part of a BMC: `{"ok": ...}` or `{"error": {...}}` in JSON.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, schemars(rename = "Field_of_{T}"))]
pub enum Field<T> {
    Ok(T),
    Error(FieldError),
}

impl<T> Field<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Field::Ok(v) => Some(v),
            Field::Error(_) => None,
        }
    }

    pub fn err(&self) -> Option<&FieldError> {
        match self {
            Field::Ok(_) => None,
            Field::Error(e) => Some(e),
        }
    }

    pub fn failed(kind: ErrorKind, message: impl Into<Arc<str>>) -> Self {
        Field::Error(FieldError {
            kind,
            message: message.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PowerState;

    #[test]
    fn field_serialises_as_ok_or_error() {
        let f: Field<PowerState> = Field::Ok(PowerState::On);
        assert_eq!(serde_json::to_string(&f).expect("json"), r#"{"ok":"On"}"#);
        let e: Field<PowerState> = Field::failed(ErrorKind::Timeout, "after 10s");
        assert_eq!(
            serde_json::to_string(&e).expect("json"),
            r#"{"error":{"kind":"timeout","message":"after 10s"}}"#
        );
    }
}
