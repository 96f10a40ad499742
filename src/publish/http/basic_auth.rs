//! HTTP basic auth against the bcrypt hashes of the web config ([`super::web_config`]), as
//! exporter-toolkit does it: a request without valid credentials gets 401 and a
//! `WWW-Authenticate: Basic` challenge. bcrypt is slow on purpose, so verifications run off the async
//! workers, [`CONCURRENT`] at a time (a flood of bad passwords queues behind its connection limit and
//! deadlines instead of taking the cores polling needs), and a success is remembered by a SHA-256 of
//! user, password and hash ([`CACHE`] of them), so Prometheus' scrape every 15 s costs one hash
//! compare, not one bcrypt. An unknown user is checked against a dummy hash, so its answer takes as
//! long as a wrong password's. Passwords are never logged or kept.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::errors::ApiError;

/// bcrypt verifications at once.
const CONCURRENT: usize = 2;
/// Successful logins remembered (the set is emptied when full).
const CACHE: usize = 256;
/// The longest `Authorization` value looked at (a user and a 72-byte password fit many times).
const MAX_HEADER: usize = 1024;

/// The users and their hashes, and the logins already verified.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    /// Of the highest cost among the users' hashes.
    dummy: String,
    verified: Mutex<HashSet<[u8; 32]>>,
    slots: tokio::sync::Semaphore,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("users", &self.users.len())
            .finish()
    }
}

/// A hash of `cost` to check unknown users against, so they take as long as a wrong password.
fn dummy_hash(cost: u32) -> String {
    bcrypt::hash_with_salt("no such user", cost, [7; 16])
        .map(|h| h.format_for_version(bcrypt::Version::TwoY))
        .unwrap_or_default()
}

/// The cost of a bcrypt hash (`$2y$10$...`: 10).
fn cost_of(hash: &str) -> Option<u32> {
    hash.get(4..6)?.parse().ok()
}

impl BasicAuth {
    pub fn new(users: BTreeMap<String, String>) -> BasicAuth {
        let cost = users
            .values()
            .filter_map(|h| cost_of(h))
            .max()
            .unwrap_or(bcrypt::DEFAULT_COST);
        BasicAuth {
            dummy: dummy_hash(cost.clamp(4, 31)),
            users,
            verified: Mutex::new(HashSet::new()),
            slots: tokio::sync::Semaphore::new(CONCURRENT),
        }
    }

    /// Whether `hash` looks like a bcrypt hash (`$2a$`, `$2b$`, `$2y$`, cost, 53 characters).
    pub fn is_bcrypt(hash: &str) -> bool {
        hash.len() == 60 && ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
    }

    /// Whether the `Authorization` header names a user with the right password.
    pub async fn allows(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = authorization.and_then(credentials) else {
            return false;
        };
        let hash = self.users.get(&user).map(String::as_str);
        let key = cache_key(&user, &password, hash.unwrap_or(""));
        if hash.is_some() && self.lock().contains(&key) {
            return true;
        }
        let Ok(_slot) = self.slots.acquire().await else {
            return false;
        };
        let against = hash.unwrap_or(&self.dummy).to_string();
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(password, &against))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        if ok && hash.is_some() {
            let mut verified = self.lock();
            if verified.len() >= CACHE {
                verified.clear();
            }
            verified.insert(key);
            return true;
        }
        false
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn cache_key(user: &str, password: &str, hash: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [user, password, hash] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

/// The user and password of a `Basic` `Authorization` value.
pub fn credentials(v: &HeaderValue) -> Option<(String, String)> {
    let v = v.to_str().ok()?;
    if v.len() > MAX_HEADER {
        return None;
    }
    let (scheme, token) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The middleware: passes the request on when its credentials are good, else answers 401.
pub async fn require(State(auth): State<Arc<BasicAuth>>, req: Request, next: Next) -> Response {
    if auth.allows(req.headers().get(header::AUTHORIZATION)).await {
        return next.run(req).await;
    }
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized").into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"bmc-catcher\", charset=\"UTF-8\""),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> HeaderValue {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {token}")).expect("header")
    }

    fn auth() -> BasicAuth {
        // Cost 4: the lowest bcrypt allows, to keep the test fast; the format is the same.
        let hash = bcrypt::hash_with_salt("s3cret", 4, [1; 16])
            .expect("hash")
            .format_for_version(bcrypt::Version::TwoY);
        assert!(BasicAuth::is_bcrypt(&hash), "{hash}");
        BasicAuth::new(BTreeMap::from([("prom".to_string(), hash)]))
    }

    #[tokio::test]
    async fn the_right_password_passes_and_is_remembered() {
        let a = auth();
        assert!(a.allows(Some(&header("prom", "s3cret"))).await);
        assert_eq!(a.lock().len(), 1);
        assert!(a.allows(Some(&header("prom", "s3cret"))).await);
    }

    #[tokio::test]
    async fn wrong_passwords_unknown_users_and_garbage_are_refused() {
        let a = auth();
        assert!(!a.allows(Some(&header("prom", "wrong"))).await);
        assert!(!a.allows(Some(&header("nobody", "s3cret"))).await);
        assert!(!a.allows(None).await);
        for bad in [
            "Bearer abc",
            "Basic !!!not-base64!!!",
            "Basic",
            &format!("Basic {}", "A".repeat(4096)),
        ] {
            let v = HeaderValue::from_str(bad).expect("header");
            assert!(!a.allows(Some(&v)).await, "{bad}");
        }
        assert!(a.lock().is_empty(), "a failure was remembered");
    }

    #[test]
    fn only_bcrypt_hashes_are_hashes() {
        assert!(!BasicAuth::is_bcrypt("s3cret"));
        assert!(!BasicAuth::is_bcrypt(&format!("$1${}", "x".repeat(56))));
        let a = auth();
        assert!(BasicAuth::is_bcrypt(&a.dummy), "{}", a.dummy);
        assert_eq!(
            cost_of(&a.dummy),
            Some(4),
            "the dummy costs what the users' hashes cost"
        );
    }
}
