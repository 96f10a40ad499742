//! The HTTP listener: `/metrics` (Prometheus, negotiated format), `/api/v1/bmcs` (the BMCs' newest
//! snapshots as JSON, a page at a time), `/api/v1/bmcs/{mac}`, its event log ([`logs`]:
//! `/api/v1/bmcs/{mac}/logs`, `POST .../logs/ack`), `/healthz` (the process answers) and
//! `/readyz` (the first discovery pass is done and the leases file can be read), `POST
//! /api/v1/bmcs/{mac}/refresh` (re-reads one BMC's inventory now, [`refresh`]), and `/` (a page linking them, [`landing`]). API
//! errors are JSON ([`errors`]). With `[http] web-config-file`, TLS and basic auth
//! ([`web_config`], [`basic_auth`]) guard everything but `/healthz` and `/readyz`. Handlers only
//! read the store (an acknowledgement writes a timestamp into it); only `refresh` reaches a BMC, through the poller's backend and the bounds of [`crate::control::refresh`]. What a client may cost is bounded: connections and their deadlines in [`server`] and
//! [`deadline`], one shared render of `/metrics` in [`exposition`], pages streamed from the store in
//! [`pages`]; [`stats`] counts what was refused or cut off.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::discovery::LeasesHealth;
use crate::model::{BmcSnapshot, MacAddr, Profile, Target};
use crate::store::Store;

use super::metrics::Format;

pub mod basic_auth;
pub mod deadline;
pub mod errors;
pub mod exposition;
pub mod landing;
pub mod logs;
pub mod pages;
pub mod refresh;
pub mod server;
pub mod stats;
pub mod web_config;

pub use server::{Limits, serve};
pub use stats::HttpStats;

/// What the handlers share.
pub struct ApiState {
    pub store: Arc<Store>,
    pub exposition: exposition::Exposition,
    /// Set once discovery has read the leases for the first time.
    pub ready: AtomicBool,
    /// The users of the web config; `None`: no authentication.
    pub auth: Option<Arc<basic_auth::BasicAuth>>,
    /// Whether the leases file can be read now.
    pub leases: Arc<LeasesHealth>,
    /// Re-reads a BMC's inventory on request (`POST .../refresh`); `None`: not offered.
    pub refresher: Option<Arc<crate::control::refresh::Refresher>>,
    /// What each BMC turned out to support, shown with it.
    pub profiles: Option<Arc<crate::hal::profiles::Profiles>>,
}

impl ApiState {
    pub fn new(store: Arc<Store>, registry: Registry) -> ApiState {
        ApiState {
            store,
            exposition: exposition::Exposition::new(registry),
            ready: AtomicBool::new(false),
            auth: None,
            leases: Arc::default(),
            refresher: None,
            profiles: None,
        }
    }

    /// Shows each BMC's capability profile from `profiles` at `/api/v1/bmcs/{mac}`.
    pub fn with_profiles(mut self, profiles: Arc<crate::hal::profiles::Profiles>) -> ApiState {
        self.profiles = Some(profiles);
        self
    }

    /// Readiness also asks whether the discovery watcher writing `leases` can read the file.
    pub fn with_leases(mut self, leases: Arc<LeasesHealth>) -> ApiState {
        self.leases = leases;
        self
    }

    /// Requires the web config's basic auth (`None`: none) on all but `/healthz` and `/readyz`.
    pub fn with_auth(mut self, auth: Option<Arc<basic_auth::BasicAuth>>) -> ApiState {
        self.auth = auth;
        self
    }

    /// Offers `POST /api/v1/bmcs/{mac}/refresh` through `refresher`.
    pub fn with_refresher(
        mut self,
        refresher: Arc<crate::control::refresh::Refresher>,
    ) -> ApiState {
        self.refresher = Some(refresher);
        self
    }

    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Relaxed);
    }
}

/// One BMC in the API: its target and, once polled, its newest snapshot; `/api/v1/bmcs/{mac}`
/// adds what the BMC turned out to support (its capability profile), once known.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct BmcView {
    pub target: Arc<Target>,
    pub snapshot: Option<Arc<BmcSnapshot>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
}

pub fn router(state: Arc<ApiState>) -> Router {
    let guarded = Router::new()
        .route("/", get(landing::page))
        .route("/metrics", get(metrics))
        .route("/api/v1/bmcs", get(pages::bmcs))
        .route("/api/v1/bmcs/{mac}", get(bmc))
        .route("/api/v1/bmcs/{mac}/logs", get(logs::logs))
        .route("/api/v1/bmcs/{mac}/logs/ack", post(logs::ack))
        .route("/api/v1/bmcs/{mac}/refresh", post(refresh::refresh))
        .fallback(errors::not_found);
    let guarded = match state.auth.clone() {
        Some(auth) => guarded.layer(axum::middleware::from_fn_with_state(
            auth,
            basic_auth::require,
        )),
        None => guarded,
    };
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .merge(guarded)
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
        let shown: String = mac.chars().take(64).collect();
        return errors::ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("not a MAC address: {shown}"),
        )
        .into_response();
    };
    match state.store.get(mac) {
        Some(e) => Json(BmcView {
            target: e.target,
            snapshot: e.snapshot,
            profile: state.profiles.as_ref().and_then(|p| p.get(mac)),
        })
        .into_response(),
        None => errors::ApiError::new(StatusCode::NOT_FOUND, format!("no BMC with MAC {mac}"))
            .into_response(),
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
