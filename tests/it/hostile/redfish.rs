//! A crafted Redfish BMC that points its links, its session path, its `Location` header or a
//! redirect at a third host: no request (and so no token or password) may leave for that host,
//! while the same BMC with honest links is read and logged out of as usual.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bmc_catcher::config::{Config, Credentials, ProtocolChoice, Scheme};
use bmc_catcher::hal::Connector;
use bmc_catcher::model::{ErrorKind, Field, MacAddr, Target};
use serde_json::json;

use crate::common::{free_port, unique_ip};

/// Where the crafted BMC points one of its references.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Lure {
    /// Nowhere: every reference is honest.
    None,
    /// The service root's `Links.Sessions` (the login POST carries the password).
    SessionPath,
    /// The service root's `Systems` link.
    SystemsLink,
    /// The member of the Systems collection.
    Member,
    /// The `Location` of the new session (logout sends the token there).
    Location,
    /// `GET` of the system answers 302 to the third host.
    Redirect,
}

struct Bmc {
    lure: Lure,
    /// `@127.x.y.z:port/x`, `//127.x.y.z:port/x` or `http://127.x.y.z:port/x`, by case.
    third: String,
    /// Method and path of every request that reached this BMC.
    seen: Mutex<Vec<String>>,
}

/// How the third host's address is spelled in a lure.
fn spell(lure: Lure, third: SocketAddr) -> String {
    match lure {
        Lure::SessionPath | Lure::Location => {
            format!("@{third}/redfish/v1/SessionService/Sessions/1")
        }
        Lure::SystemsLink => format!("//{third}/redfish/v1/Systems"),
        Lure::Member => format!("http://{third}/redfish/v1/Systems/1"),
        Lure::Redirect => format!("http://{third}/redfish/v1/x"),
        Lure::None => String::new(),
    }
}

async fn answer(State(bmc): State<Arc<Bmc>>, req: Request) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    bmc.seen
        .lock()
        .expect("lock")
        .push(format!("{method} {path}"));
    let lure = |l: Lure, honest: &str| {
        if bmc.lure == l {
            bmc.third.clone()
        } else {
            honest.to_string()
        }
    };
    let authorised = req.headers().get("x-auth-token").is_some();
    match (method, path.as_str()) {
        (Method::GET, "/redfish/v1") => axum::Json(json!({
            "RedfishVersion": "1.6.0",
            "Systems": {"@odata.id": lure(Lure::SystemsLink, "/redfish/v1/Systems")},
            "Links": {"Sessions": {"@odata.id": lure(Lure::SessionPath, "/redfish/v1/SessionService/Sessions")}},
        }))
        .into_response(),
        (Method::POST, "/redfish/v1/SessionService/Sessions") => {
            let mut h = HeaderMap::new();
            h.insert("x-auth-token", "token-of-this-bmc".parse().expect("header"));
            let location = lure(Lure::Location, "/redfish/v1/SessionService/Sessions/1");
            h.insert(header::LOCATION, location.parse().expect("header"));
            (StatusCode::CREATED, h, "{}").into_response()
        }
        _ if !authorised => StatusCode::UNAUTHORIZED.into_response(),
        (Method::GET, "/redfish/v1/Systems") => axum::Json(json!({
            "Members": [{"@odata.id": lure(Lure::Member, "/redfish/v1/Systems/1")}],
        }))
        .into_response(),
        (Method::GET, "/redfish/v1/Systems/1") if bmc.lure == Lure::Redirect => {
            (StatusCode::FOUND, [(header::LOCATION, bmc.third.clone())]).into_response()
        }
        (Method::GET, "/redfish/v1/Systems/1") => {
            axum::Json(json!({"Id": "1", "PowerState": "On"})).into_response()
        }
        (Method::DELETE, "/redfish/v1/SessionService/Sessions/1") => {
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Polls the crafted BMC twice and logs out; returns what it saw, what the third host saw (TCP
/// connections accepted) and the power field of the last poll.
async fn poll_crafted(lure: Lure) -> (Vec<String>, usize, Field<bmc_catcher::model::PowerState>) {
    let third_ip = unique_ip();
    let third_listener = tokio::net::TcpListener::bind((third_ip, 0))
        .await
        .expect("bind third host");
    let third_addr = third_listener.local_addr().expect("addr");
    let third_hits = Arc::new(AtomicUsize::new(0));
    let hits = third_hits.clone();
    let third = tokio::spawn(async move {
        while let Ok((_s, _)) = third_listener.accept().await {
            hits.fetch_add(1, Ordering::SeqCst);
        }
    });

    let ip = unique_ip();
    let port = free_port(ip);
    let bmc = Arc::new(Bmc {
        lure,
        third: spell(lure, third_addr),
        seen: Mutex::new(Vec::new()),
    });
    let app = Router::new().fallback(answer).with_state(bmc.clone());
    let listener = tokio::net::TcpListener::bind((ip, port))
        .await
        .expect("bind bmc");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut cfg = Config::default();
    cfg.poll.protocol = ProtocolChoice::Redfish;
    cfg.poll.timeout = Duration::from_secs(3);
    cfg.redfish.scheme = Scheme::Http;
    cfg.redfish.port = port;
    let connector =
        Connector::new(&cfg, Credentials::single("admin", "password")).expect("connector");
    let backend = connector.connect(&Target {
        mac: MacAddr([2, 0, 0, 0, 0, 1]),
        ip: IpAddr::V4(ip),
        port: None,
        hostname: None,
        lease_ends: None,
    });
    backend.poll().await;
    let reading = backend.poll().await;
    backend.close().await;
    // Give a stray connection time to arrive before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.abort();
    third.abort();
    let seen = bmc.seen.lock().expect("lock").clone();
    (seen, third_hits.load(Ordering::SeqCst), reading.power)
}

fn refused(power: &Field<bmc_catcher::model::PowerState>) -> String {
    match power {
        Field::Error(e) => {
            assert_eq!(e.kind, ErrorKind::Protocol, "{e:?}");
            e.message.to_string()
        }
        Field::Ok(p) => panic!("the poll should have failed, read {p:?}"),
    }
}

#[tokio::test]
async fn an_honest_bmc_is_read_and_logged_out_of() {
    let (seen, third, power) = poll_crafted(Lure::None).await;
    assert_eq!(power, Field::Ok(bmc_catcher::model::PowerState::On));
    assert_eq!(third, 0);
    assert!(
        seen.contains(&"DELETE /redfish/v1/SessionService/Sessions/1".to_string()),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_session_path_to_another_host_is_refused_and_the_login_stays_on_the_bmc() {
    let before = bmc_catcher::hal::redfish::refused_paths_total();
    let (seen, third, power) = poll_crafted(Lure::SessionPath).await;
    assert_eq!(third, 0, "the password went to the third host");
    assert_eq!(power, Field::Ok(bmc_catcher::model::PowerState::On));
    assert!(
        seen.contains(&"POST /redfish/v1/SessionService/Sessions".to_string()),
        "{seen:?}"
    );
    assert!(bmc_catcher::hal::redfish::refused_paths_total() > before);
}

#[tokio::test]
async fn links_to_another_host_are_refused() {
    for lure in [Lure::SystemsLink, Lure::Member] {
        let (seen, third, power) = poll_crafted(lure).await;
        assert_eq!(
            third, 0,
            "{lure:?}: a request (with the token) left for the third host"
        );
        let message = refused(&power);
        assert!(message.contains("refused the path"), "{lure:?}: {message}");
        assert!(!seen.is_empty(), "{lure:?}");
    }
}

#[tokio::test]
async fn a_session_location_on_another_host_gets_no_logout() {
    let (seen, third, power) = poll_crafted(Lure::Location).await;
    assert_eq!(third, 0, "logout sent the token to the third host");
    assert_eq!(power, Field::Ok(bmc_catcher::model::PowerState::On));
    assert!(!seen.iter().any(|s| s.starts_with("DELETE")), "{seen:?}");
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let (_, third, power) = poll_crafted(Lure::Redirect).await;
    assert_eq!(third, 0, "the redirect was followed with the token");
    let message = refused(&power);
    assert!(message.contains("302"), "{message}");
}
