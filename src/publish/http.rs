//! The HTTP listener: `/metrics` (Prometheus, negotiated format), `/api/v1/bmcs` (every BMC's newest
//! snapshot as JSON), `/api/v1/bmcs/{mac}`, `/healthz` (the process answers) and `/readyz` (the
//! first discovery pass is done). Handlers only read the store; no handler talks to a BMC.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::model::{BmcSnapshot, MacAddr, Target};
use crate::store::Store;

use super::metrics::{Format, render};

/// What the handlers share.
pub struct ApiState {
    pub store: Arc<Store>,
    pub registry: Registry,
    /// Set once discovery has read the leases for the first time.
    pub ready: AtomicBool,
}

impl ApiState {
    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Relaxed);
    }
}

/// One BMC in the API: its target and, once polled, its newest snapshot.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct BmcView {
    pub target: Target,
    pub snapshot: Option<Arc<BmcSnapshot>>,
}

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/api/v1/bmcs", get(bmcs))
        .route("/api/v1/bmcs/{mac}", get(bmc))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn metrics(State(state): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    match render(&state.registry, format) {
        Ok(body) => ([(header::CONTENT_TYPE, format.content_type())], body).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics\n").into_response(),
    }
}

async fn bmcs(State(state): State<Arc<ApiState>>) -> Json<Vec<BmcView>> {
    Json(
        state
            .store
            .entries()
            .into_iter()
            .map(|e| BmcView {
                target: e.target,
                snapshot: e.snapshot,
            })
            .collect(),
    )
}

async fn bmc(State(state): State<Arc<ApiState>>, Path(mac): Path<String>) -> Response {
    let Ok(mac) = mac.parse::<MacAddr>() else {
        return (
            StatusCode::BAD_REQUEST,
            format!("not a MAC address: {mac}\n"),
        )
            .into_response();
    };
    match state.store.get(mac) {
        Some(e) => Json(BmcView {
            target: e.target,
            snapshot: e.snapshot,
        })
        .into_response(),
        None => (StatusCode::NOT_FOUND, format!("no BMC with MAC {mac}\n")).into_response(),
    }
}

async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    if state.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "discovery has not finished its first pass\n",
        )
            .into_response()
    }
}
