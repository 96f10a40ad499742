//! `[http] web-config-file`: TLS and basic auth for the listener, in the Prometheus
//! exporter-toolkit web-config format (the YAML file node_exporter's `--web.config.file` reads), so
//! one file and one habit serve every exporter on the host:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: /etc/bmc-catcher/tls.crt
//!   key_file: /etc/bmc-catcher/tls.key
//! basic_auth_users:
//!   prometheus: $2y$10$...   # bcrypt, e.g. `htpasswd -nBC 10 prometheus`
//! ```
//!
//! Read once at start; a key this catcher does not implement is refused (a file meant to protect the
//! listener must not be half-read). Errors name the file and the key, never a value. The
//! verification itself is in [`super::basic_auth`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use super::basic_auth::BasicAuth;

/// Why the web config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// Names the file (a regular file, bounded like the config).
    #[error(transparent)]
    Read(#[from] crate::config::ConfigError),
    #[error("{file}: {message}")]
    Syntax { file: PathBuf, message: String },
    #[error("{file}: tls_server_config.{key}: {file_named}: {message}")]
    Tls {
        file: PathBuf,
        key: &'static str,
        file_named: PathBuf,
        message: String,
    },
    #[error("{file}: basic_auth_users.{user}: not a bcrypt hash ($2a$, $2b$ or $2y$)")]
    NotBcrypt { file: PathBuf, user: String },
}

/// The file as exporter-toolkit writes it (the keys this catcher implements).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<TlsServer>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsServer {
    cert_file: PathBuf,
    key_file: PathBuf,
    /// `TLS12` (the default) or `TLS13`.
    #[serde(default)]
    min_version: Option<String>,
}

/// What the listener does with the file.
#[derive(Clone, Default)]
pub struct WebConfig {
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub auth: Option<Arc<BasicAuth>>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("auth", &self.auth.is_some())
            .finish()
    }
}

impl WebConfig {
    /// Reads `file` (a regular file, bounded like the config) and the certificate and key it names.
    pub fn load(file: &Path) -> Result<WebConfig, WebConfigError> {
        WebConfig::parse(&crate::config::file::read(file)?, file)
    }

    /// Parses the YAML `text`; `file` names it in errors and anchors relative paths in it.
    pub fn parse(text: &str, file: &Path) -> Result<WebConfig, WebConfigError> {
        let parsed: File = if text.trim().is_empty() {
            File::default()
        } else {
            serde_norway::from_str(text).map_err(|e| WebConfigError::Syntax {
                file: file.to_path_buf(),
                message: syntax_message(&e),
            })?
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        let tls = match parsed.tls_server_config {
            Some(t) => Some(acceptor(&t, dir, file)?),
            None => None,
        };
        let auth = if parsed.basic_auth_users.is_empty() {
            None
        } else {
            for (user, hash) in &parsed.basic_auth_users {
                if !BasicAuth::is_bcrypt(hash) {
                    return Err(WebConfigError::NotBcrypt {
                        file: file.to_path_buf(),
                        user: user.clone(),
                    });
                }
            }
            Some(Arc::new(BasicAuth::new(parsed.basic_auth_users)))
        };
        Ok(WebConfig { tls, auth })
    }
}

/// The YAML error's position and cause without the text around it (a line may hold a hash).
fn syntax_message(e: &serde_norway::Error) -> String {
    let cause = e.to_string();
    // serde_norway quotes no values for unknown keys or wrong types; cut a trailing position the
    // message repeats.
    let cause = cause
        .split(" at line ")
        .next()
        .unwrap_or(&cause)
        .to_string();
    match e.location() {
        Some(l) => format!("line {}, column {}: {cause}", l.line(), l.column()),
        None => cause,
    }
}

fn acceptor(
    t: &TlsServer,
    dir: &Path,
    file: &Path,
) -> Result<tokio_rustls::TlsAcceptor, WebConfigError> {
    let err = |key, named: &Path, message: String| WebConfigError::Tls {
        file: file.to_path_buf(),
        key,
        file_named: named.to_path_buf(),
        message,
    };
    let cert_file = dir.join(&t.cert_file);
    let key_file = dir.join(&t.key_file);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_file)
        .and_then(|i| i.collect::<Result<_, _>>())
        .map_err(|e| err("cert_file", &cert_file, e.to_string()))?;
    if certs.is_empty() {
        return Err(err(
            "cert_file",
            &cert_file,
            "no PEM certificate in it".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&key_file)
        .map_err(|e| err("key_file", &key_file, e.to_string()))?;
    let versions: &[&'static rustls::SupportedProtocolVersion] = match t.min_version.as_deref() {
        None | Some("TLS12") => &[&rustls::version::TLS13, &rustls::version::TLS12],
        Some("TLS13") => &[&rustls::version::TLS13],
        Some(_) => {
            return Err(err(
                "min_version",
                file,
                "this catcher supports TLS12 and TLS13".into(),
            ));
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| err("min_version", file, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| err("key_file", &key_file, e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_protects_nothing() {
        let w = WebConfig::parse("", Path::new("/x/web.yml")).expect("empty is valid");
        assert!(w.tls.is_none() && w.auth.is_none());
    }

    #[test]
    fn users_must_have_bcrypt_hashes() {
        let e = WebConfig::parse(
            "basic_auth_users:\n  prom: secret-in-clear\n",
            Path::new("/x/web.yml"),
        )
        .expect_err("a clear password is refused");
        let msg = e.to_string();
        assert!(msg.contains("basic_auth_users.prom"), "{msg}");
        assert!(!msg.contains("secret-in-clear"), "the value leaked: {msg}");
    }

    #[test]
    fn unknown_keys_are_refused_without_their_values() {
        let e = WebConfig::parse(
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: /very/secret\n",
            Path::new("/x/web.yml"),
        )
        .expect_err("client_ca_file is not implemented");
        let msg = e.to_string();
        assert!(msg.contains("client_ca_file"), "{msg}");
        assert!(!msg.contains("/very/secret"), "{msg}");
    }

    #[test]
    fn a_missing_certificate_names_the_key_and_file() {
        let e = WebConfig::parse(
            "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n",
            Path::new("/nonexistent/web.yml"),
        )
        .expect_err("no such certificate");
        let msg = e.to_string();
        assert!(
            msg.contains("tls_server_config.cert_file") && msg.contains("/nonexistent/nope.crt"),
            "{msg}"
        );
    }
}
