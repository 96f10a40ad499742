//! `POST /api/v1/bmcs/{mac}/refresh`: re-reads one BMC's inventory now through
//! [`crate::control::refresh`] (its bounds answer 429 with `Retry-After`, or 503), behind the same
//! basic auth as the rest of the API. The only handler that reaches a BMC, and only through the
//! poller's backend for it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};

use super::ApiState;
use super::errors::ApiError;
use crate::control::refresh::RefreshError;
use crate::model::MacAddr;

pub async fn refresh(State(state): State<Arc<ApiState>>, Path(mac): Path<String>) -> Response {
    let Ok(mac) = mac.parse::<MacAddr>() else {
        let shown: String = mac.chars().take(64).collect();
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("not a MAC address: {shown}"),
        )
        .into_response();
    };
    let Some(refresher) = state.refresher.as_ref() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this listener cannot refresh BMCs",
        )
        .into_response();
    };
    match refresher.refresh(mac).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => {
            let status = match &e {
                RefreshError::UnknownBmc { .. } => StatusCode::NOT_FOUND,
                RefreshError::TooSoon { .. } => StatusCode::TOO_MANY_REQUESTS,
                RefreshError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            };
            let mut r = ApiError::new(status, e.to_string()).into_response();
            if let RefreshError::TooSoon { retry_after, .. } = e
                && let Ok(v) =
                    header::HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
    }
}
