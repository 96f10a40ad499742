//! `/api/v1/bmcs/{mac}/logs`: a BMC's own event log as the catcher keeps it (the newest
//! `[logs] keep` entries, oldest first, the SEL's fill level), and `POST .../logs/ack`, which
//! acknowledges its critical entries read so far (`bmc-log-critical` clears at the next issue
//! evaluation). Both only touch the store.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};

use super::ApiState;
use crate::model::{LastCritical, LogEntry, MacAddr};

/// The body of `GET /api/v1/bmcs/{mac}/logs`.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogsView {
    pub mac: MacAddr,
    /// False until a poll read the BMC's log (not yet polled, `[logs] enabled = false`, no SEL).
    pub read: bool,
    pub total: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sel_used_ratio: Option<f64>,
    #[serde(default)]
    pub overflow: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_critical: Option<LastCritical>,
    pub entries: Vec<Arc<LogEntry>>,
}

fn bad_mac(mac: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        format!("not a MAC address: {mac}\n"),
    )
        .into_response()
}

fn not_found(mac: MacAddr) -> Response {
    (StatusCode::NOT_FOUND, format!("no BMC with MAC {mac}\n")).into_response()
}

pub async fn logs(State(state): State<Arc<ApiState>>, Path(mac): Path<String>) -> Response {
    let Ok(mac) = mac.parse::<MacAddr>() else {
        return bad_mac(&mac);
    };
    let Some(entry) = state.store.get(mac) else {
        return not_found(mac);
    };
    let logs = entry
        .snapshot
        .as_ref()
        .and_then(|s| s.reading.logs.as_ref());
    Json(LogsView {
        mac,
        read: logs.is_some(),
        total: logs.map_or(0, |l| l.total),
        sel_used_ratio: logs.and_then(|l| l.sel_used_ratio),
        overflow: logs.is_some_and(|l| l.overflow),
        last_critical: logs.and_then(|l| l.last_critical.clone()),
        entries: logs.map(|l| l.entries.clone()).unwrap_or_default(),
    })
    .into_response()
}

pub async fn ack(State(state): State<Arc<ApiState>>, Path(mac): Path<String>) -> Response {
    let Ok(mac) = mac.parse::<MacAddr>() else {
        return bad_mac(&mac);
    };
    if state.store.ack_logs(mac) {
        (StatusCode::OK, "acknowledged\n").into_response()
    } else {
        not_found(mac)
    }
}
