//! The API's error answers: a JSON object `{"status": 404, "error": "no BMC with MAC ..."}` with
//! `Content-Type: application/json`, so a client reads every answer of `/api/...` as JSON. The
//! message names what was asked for, never a secret.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One error answer.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub error: String,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> ApiError {
        ApiError {
            status: status.as_u16(),
            error: error.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&self).unwrap_or_else(|_| "{}".into());
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body + "\n",
        )
            .into_response()
    }
}

/// What an unknown path gets.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    // The path a client sent, bounded: it is echoed back.
    let path: String = uri.path().chars().take(128).collect();
    ApiError::new(StatusCode::NOT_FOUND, format!("no such path: {path}"))
}
