//! TLS policy for talking to BMCs: a rustls `ClientConfig` that verifies against a site CA or the
//! system roots (`verify`), or accepts any certificate while still checking handshake signatures
//! (`insecure`). ring is the only crypto provider in the process.

use std::path::Path;
use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::cert_expiry::{Recording, SeenCertificates};
use crate::config::TlsPolicy;

/// BMCs whose TLS sessions are remembered for resumption: a poll that opens a new connection
/// resumes instead of repeating the full handshake (certificate, signature). A few hundred bytes
/// per BMC; beyond this many BMCs the least recently used fall back to full handshakes.
const RESUMPTION_CACHE_BMCS: usize = 32 * 1024;

/// Why the TLS setup failed (reading the CA file).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read CA file {file}: {detail}")]
    CaFile { file: String, detail: String },
    #[error("no usable root certificates ({detail})")]
    NoRoots { detail: String },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client config for `policy`; `ca_file` is used with `verify`. Every certificate a server
/// presents is noted in `seen` (its expiry) before the policy's verifier decides.
pub fn client_config(
    policy: TlsPolicy,
    ca_file: Option<&Path>,
    pin_file: &Path,
    seen: &SeenCertificates,
) -> Result<rustls::ClientConfig, TlsError> {
    let inner: Arc<dyn ServerCertVerifier> = match policy {
        TlsPolicy::Insecure => Arc::new(AcceptAnyCert(provider())),
        TlsPolicy::Pin => Arc::new(super::pin::PinVerifier::new(
            pin_file.to_path_buf(),
            provider(),
        )),
        TlsPolicy::Verify => {
            let mut roots = rustls::RootCertStore::empty();
            match ca_file {
                Some(file) => {
                    let certs =
                        CertificateDer::pem_file_iter(file).map_err(|e| TlsError::CaFile {
                            file: file.display().to_string(),
                            detail: e.to_string(),
                        })?;
                    for cert in certs {
                        let cert = cert.map_err(|e| TlsError::CaFile {
                            file: file.display().to_string(),
                            detail: e.to_string(),
                        })?;
                        roots.add(cert)?;
                    }
                }
                None => {
                    let found = rustls_native_certs::load_native_certs();
                    for cert in found.certs {
                        // A malformed system root is skipped, as browsers do.
                        let _ = roots.add(cert);
                    }
                }
            }
            if roots.is_empty() {
                return Err(TlsError::NoRoots {
                    detail: "set [redfish] ca-file, or tls = \"insecure\"".into(),
                });
            }
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| TlsError::NoRoots {
                    detail: e.to_string(),
                })?
        }
    };
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Recording {
            inner,
            seen: seen.clone(),
        }))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    cfg.resumption = rustls::client::Resumption::in_memory_sessions(RESUMPTION_CACHE_BMCS);
    Ok(cfg)
}

/// Accepts any server certificate; signatures over the handshake are still verified.
#[derive(Debug)]
pub(super) struct AcceptAnyCert(pub(super) Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
