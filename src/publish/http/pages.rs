//! `/api/v1/bmcs` a page at a time: `?limit=N` (default [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`])
//! and `?after=<mac>` (the page starts after that MAC), in MAC order. The body is a JSON array, as
//! before pages; when more BMCs follow, a `Link: <...>; rel="next"` header (RFC 8288) names the next
//! page. The array is written [`CHUNK`] BMCs at a time as the client reads, each chunk read from the
//! store when it is due, so a slow reader holds one chunk, not the fleet.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::errors::ApiError;
use super::{ApiState, BmcView};
use crate::model::MacAddr;
use crate::store::Store;

/// BMCs in a page when the request names no `limit`.
pub const DEFAULT_LIMIT: usize = 1000;
/// The largest page; a larger `limit` is served as this.
pub const MAX_LIMIT: usize = 10_000;
/// BMCs serialized at a time.
const CHUNK: usize = 64;

/// The query of `/api/v1/bmcs`.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub limit: Option<usize>,
    pub after: Option<String>,
}

pub async fn bmcs(
    State(state): State<Arc<ApiState>>,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "the query takes limit (a number) and after (a MAC address)",
        )
        .into_response();
    };
    let limit = match q.limit {
        Some(0) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "limit must be at least 1")
                .into_response();
        }
        Some(n) => n.min(MAX_LIMIT),
        None => DEFAULT_LIMIT,
    };
    let after = match q.after.as_deref().map(str::parse::<MacAddr>) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(_)) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "after must be a MAC address (aa:bb:cc:dd:ee:ff)",
            )
            .into_response();
        }
    };
    let (last, more) = state.store.page_end(after, limit);
    let pager = Pager {
        store: state.store.clone(),
        cursor: after,
        last,
        opened: false,
        closed: false,
    };
    let mut response = (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(futures::stream::iter(pager)),
    )
        .into_response();
    if let (true, Some(last)) = (more, last) {
        let link = format!("</api/v1/bmcs?limit={limit}&after={last}>; rel=\"next\"");
        if let Ok(v) = header::HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    response
}

/// The target of a `Link` header's `rel="next"` entry (`</api/v1/bmcs?...>; rel="next"`).
pub fn next_link(header: &str) -> Option<&str> {
    header.split(',').find_map(|link| {
        let (target, params) = link.trim().split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| target.trim().strip_prefix('<')?.strip_suffix('>'))
            .flatten()
    })
}

/// The JSON array of one page, chunk by chunk: `[`, the BMCs after `cursor` up to `last`, `]`.
struct Pager {
    store: Arc<Store>,
    cursor: Option<MacAddr>,
    /// The page's last BMC, fixed when the request came (`None`: the page is empty).
    last: Option<MacAddr>,
    opened: bool,
    closed: bool,
}

impl Iterator for Pager {
    type Item = Result<Bytes, serde_json::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.closed {
            return None;
        }
        let mut out = Vec::new();
        if !self.opened {
            out.push(b'[');
        }
        let chunk = match self.last {
            Some(last) if self.cursor.is_none_or(|c| c < last) => self
                .store
                .page(self.cursor, CHUNK)
                .into_iter()
                .take_while(|e| e.target.mac <= last)
                .collect(),
            _ => Vec::new(),
        };
        for e in &chunk {
            if self.opened || out.len() > 1 {
                out.push(b',');
            }
            let view = BmcView {
                target: e.target.clone(),
                snapshot: e.snapshot.clone(),
                profile: None,
            };
            if let Err(err) = serde_json::to_writer(&mut out, &view) {
                self.closed = true;
                return Some(Err(err));
            }
        }
        self.opened = true;
        match chunk.last() {
            Some(e) => self.cursor = Some(e.target.mac),
            None => {
                self.closed = true;
                out.push(b']');
            }
        }
        Some(Ok(Bytes::from(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Target;

    fn store(n: u8) -> Arc<Store> {
        let store = Arc::new(Store::new("p"));
        for i in 0..n {
            store.upsert_target(Target {
                mac: MacAddr([2, 0, 0, 0, i / 100, i % 100]),
                ip: "10.0.0.1".parse().expect("ip"),
                port: None,
                hostname: None,
                lease_ends: None,
            });
        }
        store
    }

    fn page(store: &Arc<Store>, after: Option<MacAddr>, n: usize) -> (Vec<BmcView>, bool) {
        let (last, more) = store.page_end(after, n);
        let pager = Pager {
            store: store.clone(),
            cursor: after,
            last,
            opened: false,
            closed: false,
        };
        let mut body = Vec::new();
        for chunk in pager {
            body.extend_from_slice(&chunk.expect("chunk"));
        }
        (serde_json::from_slice(&body).expect("a JSON array"), more)
    }

    #[test]
    fn the_next_link_is_found() {
        let h = "</api/v1/bmcs?limit=2&after=02:00:00:00:00:02>; rel=\"next\"";
        assert_eq!(
            next_link(h),
            Some("/api/v1/bmcs?limit=2&after=02:00:00:00:00:02")
        );
        assert_eq!(
            next_link("</x>; rel=\"prev\", </y>; rel=\"next\""),
            Some("/y")
        );
        assert_eq!(next_link("</x>; rel=\"prev\""), None);
    }

    #[test]
    fn pages_are_json_arrays_that_cover_the_fleet_once() {
        let s = store(150);
        let (first, more) = page(&s, None, 100);
        assert_eq!(first.len(), 100);
        assert!(more);
        let after = first.last().map(|v| v.target.mac);
        let (second, more) = page(&s, after, 100);
        assert_eq!(second.len(), 50);
        assert!(!more);
        assert!(first[99].target.mac < second[0].target.mac);
        let (none, more) = page(&s, second.last().map(|v| v.target.mac), 100);
        assert!(none.is_empty() && !more);
        let (empty, _) = page(&store(0), None, 100);
        assert!(empty.is_empty());
    }
}
