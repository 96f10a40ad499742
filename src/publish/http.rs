//! The HTTP listener: `/metrics` (Prometheus, negotiated format), `/api/v1/bmcs` (the BMCs' newest
//! snapshots as JSON, a page at a time), `/api/v1/bmcs/{mac}`, `/healthz` (the process answers) and
//! `/readyz` (the first discovery pass is done and the leases file can be read). Handlers only read the store; no handler talks to
//! a BMC. What a client may cost is bounded: connections and their deadlines in [`server`] and
//! [`deadline`], one shared render of `/metrics` in [`exposition`], pages streamed from the store in
//! [`pages`]; [`stats`] counts what was refused or cut off.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::discovery::LeasesHealth;
use crate::model::{BmcSnapshot, MacAddr, Target};
use crate::store::Store;

use super::metrics::Format;

pub mod deadline;
pub mod exposition;
pub mod pages;
pub mod server;
pub mod stats;

pub use server::{Limits, serve};
pub use stats::HttpStats;

/// What the handlers share.
pub struct ApiState {
    pub store: Arc<Store>,
    pub exposition: exposition::Exposition,
    /// Set once discovery has read the leases for the first time.
    pub ready: AtomicBool,
    /// Whether the leases file can be read now.
    pub leases: Arc<LeasesHealth>,
}

impl ApiState {
    pub fn new(store: Arc<Store>, registry: Registry) -> ApiState {
        ApiState {
            store,
            exposition: exposition::Exposition::new(registry),
            ready: AtomicBool::new(false),
            leases: Arc::default(),
        }
    }

    /// Readiness also asks whether the discovery watcher writing `leases` can read the file.
    pub fn with_leases(mut self, leases: Arc<LeasesHealth>) -> ApiState {
        self.leases = leases;
        self
    }

    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Relaxed);
    }
}

/// One BMC in the API: its target and, once polled, its newest snapshot.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct BmcView {
    pub target: Arc<Target>,
    pub snapshot: Option<Arc<BmcSnapshot>>,
}

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/api/v1/bmcs", get(pages::bmcs))
        .route("/api/v1/bmcs/{mac}", get(bmc))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn metrics(State(state): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let gzip = accepts_gzip(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    );
    match state.exposition.body(format).await {
        Ok(body) if gzip => (
            [
                (header::CONTENT_TYPE, format.content_type()),
                (header::CONTENT_ENCODING, "gzip"),
                (header::VARY, "Accept-Encoding"),
            ],
            body,
        )
            .into_response(),
        Ok(body) => (
            [
                (header::CONTENT_TYPE, format.content_type()),
                (header::VARY, "Accept-Encoding"),
            ],
            axum::body::Body::from_stream(exposition::gunzip(body)),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render /metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics\n").into_response()
        }
    }
}

/// Whether an `Accept-Encoding` header accepts gzip (`gzip` or `*`, without `q=0`).
fn accepts_gzip(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
    })
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

/// `200 ready` once discovery's first pass is done and while the leases file can be read; `503`
/// with the reason before, and while the file cannot be read (the targets of the last good read
/// are still polled, but new BMCs are not found).
async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    if !state.ready.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "discovery has not finished its first pass\n",
        )
            .into_response();
    }
    match state.leases.problem() {
        None => (StatusCode::OK, "ready\n").into_response(),
        Some(problem) => {
            let polled = match state.store.len() {
                0 => "no BMC is polled".to_string(),
                n => format!("the {n} BMCs of the last good read are still polled"),
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {problem} ({polled})\n"),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gzip_is_accepted_as_clients_say_it() {
        use super::accepts_gzip;
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("deflate, GZIP;q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(None));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("br, gzip ; q=0.0")));
    }
}
