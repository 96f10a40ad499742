//! The HTTPS side of a simulated BMC: a TLS listener (self-signed certificate for its IP) serving
//! either the generated resources of [`super::state`] or a DMTF mockup tree from disk, with sessions
//! (`POST`/`DELETE SessionService/Sessions`, `X-Auth-Token`), basic auth, `ComputerSystem.Reset`, and
//! the faults a test asks for (delay, refused logins, dropped connections).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::render::render;
use super::state::SimBmc;
use super::tally::Tally;
use crate::state::PowerState;

/// What one simulated BMC serves.
pub struct Served {
    pub bmc: Arc<SimBmc>,
    /// Serve this DMTF mockup directory instead of the generated resources.
    pub mockup: Option<PathBuf>,
    /// The fleet's requests per second.
    pub tally: Arc<Tally>,
}

/// Starts serving on `listener` until `cancel`. The certificate is made for `addr`'s IP.
pub fn spawn(
    listener: TcpListener,
    served: Served,
    cancel: CancellationToken,
) -> Result<(), String> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let acceptor = tls_acceptor(addr)?;
    let served = Arc::new(served);
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(served.clone());
    tokio::spawn(async move {
        loop {
            let (tcp, _) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(c) => c,
                    // Out of file descriptors (EMFILE) and the like: retrying at once would
                    // spin on accept4 and starve every other BMC of this process.
                    Err(_) => {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = cancel.cancelled() => return,
            };
            served
                .bmc
                .counters
                .connections
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if served.bmc.state().faults.drop_connections {
                drop(tcp);
                continue;
            }
            let acceptor = acceptor.clone();
            let svc = TowerToHyperService::new(app.clone());
            let cancel = cancel.clone();
            let served = served.clone();
            tokio::spawn(async move {
                let open = &served.bmc.counters.open_connections;
                open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = cancel.cancelled() => {}
                    }
                }
                open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            });
        }
    });
    Ok(())
}

/// How long a simulated BMC's certificate is valid, from its start.
pub const CERT_VALID_DAYS: i64 = 397;

fn tls_acceptor(addr: SocketAddr) -> Result<tokio_rustls::TlsAcceptor, String> {
    // Valid from yesterday for CERT_VALID_DAYS, like a BMC's factory certificate.
    let mut params =
        rcgen::CertificateParams::new(vec![addr.ip().to_string()]).map_err(|e| e.to_string())?;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(CERT_VALID_DAYS);
    let signing_key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params
        .self_signed(&signing_key)
        .map_err(|e| e.to_string())?;
    let ck = rcgen::CertifiedKey { cert, signing_key };
    let key = rustls::pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der())
        .map_err(|e| e.to_string())?;
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(vec![ck.cert.der().clone()], key)
    .map_err(|e| e.to_string())?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"code": "Base.1.0.GeneralError", "message": message}}),
    )
}

/// True when the request carries a live session token or the right basic credentials.
fn authorised(bmc: &SimBmc, headers: &HeaderMap) -> bool {
    if bmc.state().faults.refuse_logins {
        return false;
    }
    if let Some(tok) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) {
        return bmc
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .any(|t| t == tok);
    }
    let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic) else {
        return false;
    };
    decoded == format!("{}:{}", bmc.username, bmc.password).as_bytes()
}

async fn handle(
    State(served): State<Arc<Served>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bmc = &served.bmc;
    bmc.counters.requests.fetch_add(1, Ordering::Relaxed);
    let delay = bmc.state().faults.delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let path = uri.path().trim_end_matches('/');
    served
        .tally
        .note(Tally::kind_of(method == Method::GET, path));
    const SESSIONS: &str = "/redfish/v1/SessionService/Sessions";
    match (&method, path) {
        (&Method::GET, "/redfish/v1") => return serve_get(&served, path),
        (&Method::POST, SESSIONS) => return login(bmc, &body, agent(&headers)),
        _ => {}
    }
    if !authorised(bmc, &headers) {
        return error(StatusCode::UNAUTHORIZED, "authentication required");
    }
    if let Some(code) = bmc.state().faults.status {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut r = error(status, "the service is busy");
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
        return r;
    }
    match method {
        Method::GET if path == SESSIONS => {
            let ids: Vec<String> = bmc
                .sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .keys()
                .cloned()
                .collect();
            let members: Vec<Value> = ids
                .iter()
                .map(|i| json!({"@odata.id": format!("{SESSIONS}/{i}")}))
                .collect();
            json_response(
                StatusCode::OK,
                &json!({"@odata.id": SESSIONS, "Members@odata.count": members.len(), "Members": members}),
            )
        }
        Method::GET => {
            if path == "/redfish/v1/Systems/1" {
                bmc.state().sel.polled();
                bmc.clients.polled(agent(&headers));
            }
            let paged = bmc.state().sel.dell;
            match uri.query().filter(|_| paged) {
                Some(q) => serve_page(&served, path, q),
                None => serve_get(&served, path),
            }
        }
        Method::DELETE => match path.strip_prefix(&format!("{SESSIONS}/")) {
            Some(id)
                if bmc
                    .sessions
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(id)
                    .is_some() =>
            {
                bmc.counters
                    .sessions_deleted
                    .fetch_add(1, Ordering::Relaxed);
                StatusCode::NO_CONTENT.into_response()
            }
            _ => error(StatusCode::NOT_FOUND, "no such session"),
        },
        Method::POST if path.ends_with("/Actions/ComputerSystem.Reset") => reset(bmc, &body),
        Method::PATCH
            if path == "/redfish/v1/Systems/1" || path.starts_with("/redfish/v1/Systems/") =>
        {
            patch_system(bmc, &body)
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "not supported by bmc-sim"),
    }
}

/// The client's `User-Agent`, when it sent a readable one.
fn agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

fn login(bmc: &SimBmc, body: &[u8], agent: Option<&str>) -> Response {
    if let Some(max) = bmc.state().faults.max_sessions
        && bmc.sessions_open() >= max
    {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": {"code": "Base.1.8.GeneralError", "message": "RAC0218: The maximum number of user sessions is reached."}}),
        );
    }
    let creds: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let ok = !bmc.state().faults.refuse_logins
        && creds.get("UserName").and_then(Value::as_str) == Some(&bmc.username)
        && creds.get("Password").and_then(Value::as_str) == Some(&bmc.password);
    if !ok {
        return error(StatusCode::UNAUTHORIZED, "invalid credentials");
    }
    let (id, token) = bmc.open_session();
    bmc.clients.session_opened(agent);
    let location = format!("/redfish/v1/SessionService/Sessions/{id}");
    let body = json!({"@odata.id": location, "Id": id, "UserName": bmc.username});
    (
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::LOCATION, location),
            (header::HeaderName::from_static("x-auth-token"), token),
        ],
        body.to_string(),
    )
        .into_response()
}

fn reset(bmc: &SimBmc, body: &[u8]) -> Response {
    let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let mut st = bmc.state();
    let new = match req.get("ResetType").and_then(Value::as_str) {
        Some("On" | "ForceOn") => PowerState::On,
        Some("ForceOff" | "GracefulShutdown") => PowerState::Off,
        Some("ForceRestart" | "GracefulRestart" | "PowerCycle") => PowerState::On,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("unsupported ResetType {other:?}"),
            );
        }
    };
    st.power = new;
    bmc.counters.resets.fetch_add(1, Ordering::Relaxed);
    StatusCode::NO_CONTENT.into_response()
}

/// `PATCH` of the system: the identify LED and the one-time boot override.
fn patch_system(bmc: &SimBmc, body: &[u8]) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return error(StatusCode::BAD_REQUEST, "body is not JSON");
    };
    let mut st = bmc.state();
    let mut changed = false;
    if let Some(led) = req.get("IndicatorLED").and_then(Value::as_str) {
        st.led_on = matches!(led, "Lit" | "Blinking");
        changed = true;
    }
    if let Some(on) = req.get("LocationIndicatorActive").and_then(Value::as_bool) {
        st.led_on = on;
        changed = true;
    }
    if let Some(boot) = req.get("Boot") {
        match boot.get("BootSourceOverrideTarget").and_then(Value::as_str) {
            Some("None") => st.boot_once = None,
            Some(t @ ("Pxe" | "Hdd" | "BiosSetup")) => st.boot_once = Some(t.to_string()),
            other => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("unsupported boot target {other:?}"),
                );
            }
        }
        changed = true;
    }
    if changed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::BAD_REQUEST, "nothing this simulator can patch")
    }
}

fn serve_get(served: &Served, path: &str) -> Response {
    let found = match &served.mockup {
        None => render(&served.bmc, path),
        Some(dir) => mockup_get(dir, path, &served.bmc),
    };
    let fault = served.bmc.state().faults.body;
    match (found, fault) {
        (Some(v), None) => json_response(StatusCode::OK, &v),
        (Some(v), Some(f)) => broken_body(&v, f),
        (None, _) => error(StatusCode::NOT_FOUND, &format!("no resource at {path}")),
    }
}

/// A collection cut by `$top`/`$skip` (an iDRAC-like log honours them): `Members` holds the
/// page, `Members@odata.count` still the whole collection.
fn serve_page(served: &Served, path: &str, query: &str) -> Response {
    let Some(mut v) = render(&served.bmc, path) else {
        return error(StatusCode::NOT_FOUND, &format!("no resource at {path}"));
    };
    let arg = |k: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('=')?.parse::<usize>().ok())
    };
    let (skip, top) = (arg("$skip").unwrap_or(0), arg("$top"));
    if let Some(m) = v.get_mut("Members").and_then(Value::as_array_mut) {
        let page: Vec<Value> = m
            .drain(..)
            .skip(skip)
            .take(top.unwrap_or(usize::MAX))
            .collect();
        *m = page;
    }
    json_response(StatusCode::OK, &v)
}

/// A resource body broken the way `fault` says.
fn broken_body(v: &Value, fault: super::state::BodyFault) -> Response {
    use super::state::BodyFault;
    let text = v.to_string();
    let ok = |body: axum::body::Body| {
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    };
    match fault {
        BodyFault::Malformed => ok(axum::body::Body::from("<html>503 gateway busy</html>")),
        BodyFault::Truncated => ok(axum::body::Body::from(text[..text.len() / 2].to_string())),
        BodyFault::Huge(n) => {
            let mut padded = text.trim_end_matches('}').to_string();
            padded.push_str(",\"Padding\":\"");
            // str::repeat copies in doubling blocks: a char at a time took seconds per 50 MB in a
            // debug build, which the client then saw as a slow BMC.
            padded.push_str(&"x".repeat(n.saturating_sub(padded.len() + 2)));
            padded.push_str("\"}");
            ok(axum::body::Body::from(padded))
        }
        BodyFault::ResetMidway => {
            let half = text[..text.len() / 2].to_string();
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from(half)),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "reset by the simulator",
                )),
            ];
            ok(axum::body::Body::from_stream(futures::stream::iter(chunks)))
        }
    }
}

/// A mockup file, with the live power state written over any `ComputerSystem`'s `PowerState`.
fn mockup_get(dir: &std::path::Path, path: &str, bmc: &SimBmc) -> Option<Value> {
    let rel = path.strip_prefix("/redfish/v1")?.trim_start_matches('/');
    if rel
        .split('/')
        .any(|seg| seg == ".." || seg.starts_with('.'))
    {
        return None;
    }
    let file = dir.join(rel).join("index.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
    let is_system = v
        .get("@odata.type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.contains("ComputerSystem.v"));
    if is_system {
        let p = match bmc.state().power {
            PowerState::Off => "Off",
            _ => "On",
        };
        v["PowerState"] = json!(p);
    }
    Some(v)
}
