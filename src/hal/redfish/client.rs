//! HTTP plumbing for one Redfish BMC: its HTTP client (built from [`RedfishShared`]), and one session
//! (`POST SessionService/Sessions`, `X-Auth-Token`, [`auth`]) reused across polls, re-created on
//! 401, deleted on `logout`. Falls back to basic auth when the service has no session support.
//!
//! Every request goes to the BMC's own origin ([`Origin`]): a path the BMC hands us that leads
//! elsewhere is refused. Errors name the BMC and the path, never the credentials.

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::Credential;
use crate::hal::HalError;
use crate::model::TlsRefusal;

mod auth;

use super::RedfishShared;
use super::origin::Origin;

/// The largest resource body read (a Redfish resource is kilobytes; a BMC sending more is broken).
const MAX_BODY: usize = 16 << 20;

enum Auth {
    /// Not logged in yet (or logged out).
    None,
    Session {
        token: SecretString,
        /// The session resource to DELETE on logout.
        location: Option<String>,
    },
    /// The service has no usable SessionService: every request carries basic auth.
    Basic,
}

/// One BMC's HTTP session.
pub struct Session {
    shared: RedfishShared,
    /// Built at the first request; dropped (closing its connections) after each operation unless
    /// connections are kept between polls.
    http: std::sync::Mutex<Option<reqwest::Client>>,
    origin: Origin,
    host: String,
    bmc: String,
    cred: Option<Credential>,
    auth: Mutex<Auth>,
    /// One permit per connection this BMC may use: a request holds one until its body is read.
    in_flight: tokio::sync::Semaphore,
    sessions_path: Mutex<String>,
    /// Why the newest refused certificate was refused, for the poll's reading.
    tls_refusal: std::sync::Mutex<Option<TlsRefusal>>,
    /// When set (`bmc-catcher capture`), every JSON body read is kept here by path.
    recorder: Option<Recorder>,
}

/// Resources read, by path, for `capture`.
pub type Recorder = std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, Value>>>;

impl Session {
    /// Records every JSON body this session reads.
    pub fn record_into(&mut self, recorder: Recorder) {
        self.recorder = Some(recorder);
    }

    pub fn new(
        shared: &RedfishShared,
        host: &str,
        port: u16,
        bmc: String,
        cred: Option<Credential>,
    ) -> Self {
        Session {
            shared: shared.clone(),
            http: std::sync::Mutex::new(None),
            origin: Origin::new(shared.scheme, host, port)
                .expect("an IP address and a port always make an origin"),
            host: host.to_string(),
            bmc,
            cred,
            auth: Mutex::new(Auth::None),
            in_flight: tokio::sync::Semaphore::new(shared.connections_per_bmc),
            sessions_path: Mutex::new("/redfish/v1/SessionService/Sessions".into()),
            tls_refusal: std::sync::Mutex::new(None),
            recorder: None,
        }
    }

    /// This BMC's HTTP client, built on first use.
    fn http(&self) -> Result<reqwest::Client, HalError> {
        let mut http = self.http.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = &*http {
            return Ok(c.clone());
        }
        let c = self.shared.client(&self.bmc)?;
        *http = Some(c.clone());
        Ok(c)
    }

    /// When the certificate this BMC presented at its last full TLS handshake expires.
    pub fn certificate_expiry(&self) -> Option<i64> {
        let ip = self.host.trim_start_matches('[').trim_end_matches(']');
        self.shared.certificates.expiry(ip)
    }

    /// Called when an operation (a poll, a command) is done: closes its connection unless
    /// connections are kept between polls. The Redfish session (token) stays.
    pub fn operation_done(&self) {
        if !self.shared.keep_between_polls() {
            self.drop_connections();
        }
    }

    /// Drops this BMC's HTTP client and its connections; the next request builds a new one. After
    /// an operation that reached nothing there is nothing worth keeping, and an unreachable fleet
    /// would otherwise hold one idle client (kilobytes) per BMC.
    pub fn drop_connections(&self) {
        self.http.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Whether the last login got a session (`Some(true)`) or fell back to basic auth
    /// (`Some(false)`); `None` while not logged in.
    pub async fn uses_sessions(&self) -> Option<bool> {
        match &*self.auth.lock().await {
            Auth::Session { .. } => Some(true),
            Auth::Basic => Some(false),
            Auth::None => None,
        }
    }

    /// Where `POST` creates sessions, as the service root links it. A path that leaves the BMC is
    /// refused (the default path stays).
    pub async fn set_sessions_path(&self, path: String) {
        match self.origin.url(&path) {
            Ok(url) => *self.sessions_path.lock().await = Origin::path_of(&url),
            Err(e) => tracing::warn!(bmc = %self.bmc, error = %e, "redfish session path refused"),
        }
    }

    /// The URL of a path on this BMC; a path the BMC gave that leads elsewhere is an error.
    fn url(&self, path: &str) -> Result<reqwest::Url, HalError> {
        self.origin.url(path).map_err(|e| {
            tracing::warn!(bmc = %self.bmc, error = %e, "redfish path refused");
            HalError::Protocol {
                bmc: self.bmc.clone(),
                detail: e.to_string(),
            }
        })
    }

    fn note_tls_refusal(&self, refusal: TlsRefusal) {
        *self.tls_refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(refusal);
    }

    /// Why the last certificate this session was refused was refused, if one was (taken).
    pub fn take_tls_refusal(&self) -> Option<TlsRefusal> {
        self.tls_refusal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    fn transport_error(&self, path: &str, e: &reqwest::Error) -> HalError {
        // reqwest's Display repeats the whole URL, which the BMC (named by the error) and the path
        // already give: left out, as it would be held in every failed BMC's snapshot. Then the
        // cause chain.
        let text = e.to_string();
        let text = match e.url() {
            Some(url) => text.replace(&format!(" for url ({url})"), ""),
            None => text,
        };
        let mut detail = format!("{path}: {text}");
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            detail.push_str(&format!(": {s}"));
            src = s.source();
        }
        if let Some(changed) = super::pin::CertificateChanged::find_in(e) {
            self.note_tls_refusal(TlsRefusal::Changed);
            HalError::Tls {
                bmc: self.bmc.clone(),
                detail: format!("{path}: {changed}"),
                refusal: TlsRefusal::Changed,
            }
        } else if let Some(why) = super::pin::certificate_error_in(e) {
            self.note_tls_refusal(TlsRefusal::Untrusted);
            HalError::Tls {
                bmc: self.bmc.clone(),
                detail: format!(
                    "{path}: the certificate is not trusted ({why:?}): set [redfish] ca-file to \
                     the CA that issued it, or use tls = \"pin\" to trust it on first use"
                ),
                refusal: TlsRefusal::Untrusted,
            }
        } else if e.is_timeout() {
            HalError::Timeout {
                bmc: self.bmc.clone(),
                after: self.shared.timeout(),
                what: detail,
            }
        } else if e.is_connect() {
            HalError::Unreachable {
                bmc: self.bmc.clone(),
                detail,
            }
        } else {
            HalError::Protocol {
                bmc: self.bmc.clone(),
                detail,
            }
        }
    }

    fn status_error(&self, method: &Method, path: &str, status: StatusCode) -> HalError {
        let detail = format!("{method} {path}: HTTP {status}");
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => HalError::Auth {
                bmc: self.bmc.clone(),
                detail,
            },
            StatusCode::NOT_FOUND
            | StatusCode::METHOD_NOT_ALLOWED
            | StatusCode::NOT_IMPLEMENTED => HalError::Unsupported {
                bmc: self.bmc.clone(),
                detail,
            },
            _ => HalError::Protocol {
                bmc: self.bmc.clone(),
                detail,
            },
        }
    }

    fn authorise(&self, req: reqwest::RequestBuilder, auth: &Auth) -> reqwest::RequestBuilder {
        match auth {
            Auth::Session { token, .. } => req.header("X-Auth-Token", token.expose_secret()),
            Auth::Basic => match &self.cred {
                Some(c) => req.basic_auth(&c.username, Some(c.password.expose_secret())),
                None => req,
            },
            Auth::None => req,
        }
    }

    /// Sends an authenticated request; on 401 with a session, logs in again once and retries.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, HalError> {
        for attempt in 0..2 {
            let mut auth = self.auth.lock().await;
            if matches!(*auth, Auth::None) {
                self.login(&mut auth).await?;
            }
            let mut req = self
                .http()?
                .request(method.clone(), self.url(path)?)
                .timeout(self.shared.timeout());
            if let Some(b) = body {
                req = req.json(b);
            }
            let req = self.authorise(req, &auth);
            drop(auth);
            let sent = std::time::Instant::now();
            let resp = req
                .send()
                .await
                .map_err(|e| self.transport_error(path, &e))?;
            tracing::debug!(
                target: "bmc_catcher::wire",
                bmc = %self.bmc,
                %method,
                path,
                status = resp.status().as_u16(),
                ms = sent.elapsed().as_millis() as u64,
                "redfish request"
            );
            if resp.status() == StatusCode::UNAUTHORIZED && attempt == 0 {
                let mut auth = self.auth.lock().await;
                if matches!(*auth, Auth::Session { .. }) {
                    tracing::info!(bmc = %self.bmc, "redfish session expired, logging in again");
                    *auth = Auth::None;
                    continue;
                }
            }
            if !resp.status().is_success() {
                return Err(self.status_error(&method, path, resp.status()));
            }
            return Ok(resp);
        }
        Err(HalError::Auth {
            bmc: self.bmc.clone(),
            detail: format!("{method} {path}: HTTP 401 after a fresh login"),
        })
    }

    /// GET a resource as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, HalError> {
        let _connection = self.in_flight.acquire().await;
        let resp = self.send(Method::GET, path, None).await?;
        self.read_json(resp, path).await
    }

    /// Reads a JSON body chunk by chunk: HTTP/1.0 BMCs end the body by closing the connection,
    /// often without a TLS close_notify, which rustls reports as an error after the last byte
    /// arrived. A body that parses completely is taken; a truncated one fails as JSON.
    async fn read_json(&self, mut resp: reqwest::Response, path: &str) -> Result<Value, HalError> {
        let mut body = Vec::new();
        let mut cut: Option<reqwest::Error> = None;
        loop {
            match resp.chunk().await {
                Ok(Some(c)) if body.len() + c.len() > MAX_BODY => {
                    return Err(HalError::Protocol {
                        bmc: self.bmc.clone(),
                        detail: format!(
                            "GET {path}: body larger than {} MiB, not read",
                            MAX_BODY >> 20
                        ),
                    });
                }
                Ok(Some(c)) => body.extend_from_slice(&c),
                Ok(None) => break,
                Err(e) => {
                    cut = Some(e);
                    break;
                }
            }
        }
        let parsed = serde_json::from_slice::<Value>(&body);
        if let (Ok(v), Some(r)) = (&parsed, &self.recorder) {
            let key = path.split('?').next().unwrap_or(path).to_string();
            r.lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, v.clone());
        }
        parsed.map_err(|e| HalError::Protocol {
            bmc: self.bmc.clone(),
            detail: match cut {
                Some(c) => format!(
                    "GET {path}: body cut short ({c}) after {} bytes",
                    body.len()
                ),
                None => format!("GET {path}: body is not JSON: {e}"),
            },
        })
    }

    /// GET without credentials (the service root is public): is there a Redfish service?
    pub async fn get_anonymous(&self, path: &str) -> Result<Value, HalError> {
        let _connection = self.in_flight.acquire().await;
        let resp = self
            .http()?
            .get(self.url(path)?)
            .timeout(self.shared.timeout())
            .send()
            .await
            .map_err(|e| self.transport_error(path, &e))?;
        if !resp.status().is_success() {
            return Err(self.status_error(&Method::GET, path, resp.status()));
        }
        self.read_json(resp, path).await
    }

    /// POST an action; the body of the answer is not needed.
    pub async fn post(&self, path: &str, body: &Value) -> Result<(), HalError> {
        let _connection = self.in_flight.acquire().await;
        self.send(Method::POST, path, Some(body)).await.map(drop)
    }

    /// PATCH a resource; the body of the answer is not needed.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<(), HalError> {
        let _connection = self.in_flight.acquire().await;
        self.send(Method::PATCH, path, Some(body)).await.map(drop)
    }
}
