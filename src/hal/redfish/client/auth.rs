//! Logging in and out of one BMC: a session (`POST` to the session path, `X-Auth-Token`) or basic
//! auth when the service has none; the session noted in the journal while it is open, and the
//! sessions an earlier run left deleted at the first login; `DELETE` of the session on logout.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{Auth, Session};
use crate::config::Credential;
use crate::hal::HalError;
use crate::hal::redfish::origin::Origin;

impl Session {
    fn cred(&self) -> Result<&Credential, HalError> {
        self.cred.as_ref().ok_or_else(|| HalError::Auth {
            bmc: self.bmc.clone(),
            detail: "no credentials configured for this BMC".into(),
        })
    }

    /// Logs in: a new session, or basic auth when the service has none.
    pub(super) async fn login(&self, auth: &mut Auth) -> Result<(), HalError> {
        let cred = self.cred()?;
        let path = self.sessions_path.lock().await.clone();
        let body = serde_json::json!({"UserName": cred.username, "Password": cred.password.expose_secret()});
        let resp = self
            .http()?
            .post(self.url(&path)?)
            .json(&body)
            .timeout(self.shared.timeout())
            .send()
            .await
            .map_err(|e| self.transport_error(&path, &e))?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(self.status_error(&Method::POST, &path, status));
        }
        let token = resp
            .headers()
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .map(|s| SecretString::from(s.to_string()));
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| self.session_location(s));
        match (status.is_success(), token) {
            (true, Some(token)) => {
                let location = match location {
                    Some(l) => Some(l),
                    None => resp.json::<Value>().await.ok().and_then(|v| {
                        v.get("@odata.id")
                            .and_then(Value::as_str)
                            .and_then(|s| self.session_location(s))
                    }),
                };
                tracing::debug!(bmc = %self.bmc, session = ?location, "redfish session created");
                if let Some(l) = &location {
                    self.shared.journal.opened(self.origin.key(), l);
                }
                self.delete_stale(&token, location.as_deref()).await;
                *auth = Auth::Session { token, location };
            }
            _ => {
                tracing::debug!(bmc = %self.bmc, %status, "no redfish session service, using basic auth");
                *auth = Auth::Basic;
            }
        }
        Ok(())
    }

    /// Deletes the sessions an earlier run of the daemon left open on this BMC (a crash, `kill -9`),
    /// with the new session's token. Best effort: a BMC that timed them out answers 404.
    async fn delete_stale(&self, token: &SecretString, current: Option<&str>) {
        for path in self.shared.journal.take_stale(self.origin.key()) {
            if Some(path.as_str()) == current {
                continue;
            }
            let Ok(url) = self.url(&path) else { continue };
            let res = match self.http() {
                Ok(http) => {
                    http.delete(url)
                        .header("X-Auth-Token", token.expose_secret())
                        .timeout(self.shared.timeout())
                        .send()
                        .await
                }
                Err(_) => return,
            };
            match res {
                Ok(r) => {
                    tracing::info!(bmc = %self.bmc, session = %path, status = r.status().as_u16(), "redfish session left by an earlier run deleted")
                }
                Err(e) => {
                    tracing::warn!(bmc = %self.bmc, session = %path, error = %e, "redfish session left by an earlier run not deleted")
                }
            }
        }
    }

    /// The session resource a login answered with, when it is on this BMC.
    fn session_location(&self, location: &str) -> Option<String> {
        match self.origin.location(location) {
            Ok(url) => Some(Origin::path_of(&url)),
            Err(e) => {
                tracing::warn!(bmc = %self.bmc, error = %e, "redfish session location refused");
                None
            }
        }
    }

    /// Deletes the session, if any. Best effort: a BMC that is gone cannot be logged out of.
    pub async fn logout(&self) {
        let _connection = self.in_flight.acquire().await;
        let mut auth = self.auth.lock().await;
        if let Auth::Session {
            token,
            location: Some(location),
        } = &*auth
        {
            let res = match self
                .http()
                .and_then(|http| Ok(http.delete(self.url(location)?)))
            {
                Ok(req) => req,
                Err(e) => {
                    tracing::warn!(bmc = %self.bmc, error = %e, "redfish logout failed");
                    *auth = Auth::None;
                    return;
                }
            }
            .header("X-Auth-Token", token.expose_secret())
            // The last request to this BMC for now: do not keep its connection pooled.
            .header(reqwest::header::CONNECTION, "close")
            .timeout(Duration::from_secs(5))
            .send()
            .await;
            match res {
                Ok(r) => {
                    tracing::debug!(bmc = %self.bmc, status = %r.status(), "redfish session deleted")
                }
                Err(e) => tracing::warn!(bmc = %self.bmc, error = %e, "redfish logout failed"),
            }
            self.shared.journal.closed(self.origin.key());
        }
        *auth = Auth::None;
        self.drop_connections();
    }
}
