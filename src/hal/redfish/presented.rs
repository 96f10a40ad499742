//! The certificate a BMC presents now, as `bmc-catcher trust` shows it before pinning: one TLS
//! handshake that accepts any certificate (its handshake signature is still checked, so the server
//! holds the key), records the leaf, and sends nothing after.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::tls::AcceptAnyCert;

/// A leaf certificate as an operator judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    /// SHA-256 of the DER certificate in lower-case hex: what the pin file holds.
    pub sha256: String,
    /// The subject and issuer distinguished names (`CN=...`); empty when the certificate does not
    /// parse.
    pub subject: String,
    pub issuer: String,
    /// Validity, Unix seconds (0 when the certificate does not parse).
    pub not_before: i64,
    pub not_after: i64,
}

impl Presented {
    pub fn of(der: &[u8]) -> Presented {
        let sha256 = super::pin::fingerprint(&CertificateDer::from(der));
        match x509_parser::parse_x509_certificate(der) {
            Ok((_, cert)) => Presented {
                sha256,
                subject: cert.subject().to_string(),
                issuer: cert.issuer().to_string(),
                not_before: cert.validity().not_before.timestamp(),
                not_after: cert.validity().not_after.timestamp(),
            },
            Err(_) => Presented {
                sha256,
                subject: String::new(),
                issuer: String::new(),
                not_before: 0,
                not_after: 0,
            },
        }
    }
}

/// Accepts any certificate after noting it.
#[derive(Debug)]
struct Capture {
    any: AcceptAnyCert,
    leaf: Mutex<Option<Vec<u8>>>,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.leaf.lock().unwrap_or_else(|p| p.into_inner()) = Some(end_entity.to_vec());
        self.any
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.any.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.any.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.any.supported_verify_schemes()
    }
}

/// The leaf certificate `ip:port` presents in a TLS handshake, within `timeout`.
pub async fn presented(ip: IpAddr, port: u16, timeout: Duration) -> Result<Presented, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let capture = Arc::new(Capture {
        any: AcceptAnyCert(provider.clone()),
        leaf: Mutex::new(None),
    });
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    let addr = SocketAddr::new(ip, port);
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
            .connect(ServerName::IpAddress(ip.into()), tcp)
            .await
            .map_err(|e| format!("TLS handshake with {addr} failed: {e}"))?;
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
        Ok::<(), String>(())
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| format!("no TLS handshake with {addr} within {timeout:?}"))??;
    let leaf = capture
        .leaf
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .ok_or_else(|| format!("{addr} presented no certificate"))?;
    Ok(Presented::of(&leaf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_described_by_fingerprint_subject_and_validity() {
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("cert");
        let der = ck.cert.der().to_vec();
        let p = Presented::of(&der);
        assert_eq!(p.sha256.len(), 64);
        assert_eq!(
            p.sha256,
            super::super::pin::fingerprint(&ck.cert.der().clone())
        );
        assert!(p.subject.contains("CN="), "{p:?}");
        assert!(p.not_after > p.not_before, "{p:?}");
        let junk = Presented::of(b"not a certificate");
        assert_eq!(junk.sha256.len(), 64);
        assert!(junk.subject.is_empty());
    }
}
