//! When BMC certificates expire: every certificate a BMC presents in a full TLS handshake passes
//! through [`Recording`], which notes its `notAfter` by server address before the policy's own
//! verifier decides. Polls put the date into the inventory (`tls_certificate_expires`), from where
//! it reaches `/metrics` as `bmc_tls_certificate_expiry_timestamp_seconds`. A resumed handshake
//! presents no certificate, so the date from the last full handshake stays.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// `notAfter` (Unix seconds) of the last certificate each server presented, by server name (the
/// BMC's address as the URL has it).
#[derive(Debug, Clone, Default)]
pub struct SeenCertificates(Arc<Mutex<HashMap<String, i64>>>);

impl SeenCertificates {
    /// The expiry of the certificate `host` presented last, if it presented one.
    pub fn expiry(&self, host: &str) -> Option<i64> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(host)
            .copied()
    }

    fn note(&self, host: String, not_after: i64) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host, not_after);
    }
}

/// `notAfter` of a DER certificate, Unix seconds; `None` when it does not parse.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// A verifier that notes each end-entity certificate's expiry, then lets `inner` decide.
#[derive(Debug)]
pub struct Recording {
    pub inner: Arc<dyn ServerCertVerifier>,
    pub seen: SeenCertificates,
}

fn host_of(name: &ServerName<'_>) -> String {
    match name {
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => other.to_str().into_owned(),
    }
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(t) = not_after(end_entity) {
            self.seen.note(host_of(server_name), t);
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_valid_until(year: i32, month: u8, day: u8) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        params.not_after = rcgen::date_time_ymd(year, month, day);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_not_after_in_utc_time_and_generalized_time() {
        // 2031-03-04 00:00:00 UTC is encoded as UTCTime, 2051-01-02 as GeneralizedTime.
        assert_eq!(
            not_after(&cert_valid_until(2031, 3, 4)),
            Some(1_930_348_800)
        );
        assert_eq!(
            not_after(&cert_valid_until(2051, 1, 2)),
            Some(2_556_230_400)
        );
    }

    #[test]
    fn an_rsa_certificate_made_by_openssl_like_an_idrac_one() {
        let pem = include_str!("../../../tests/fixtures/tls/bmc-cert.pem");
        let der = rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
            .map(|c: CertificateDer<'_>| c.to_vec())
            .unwrap();
        assert_eq!(not_after(&der), Some(FIXTURE_NOT_AFTER));
    }

    /// `openssl x509 -enddate -noout -in tests/fixtures/tls/bmc-cert.pem` (Nov 22 16:52:26 2036 GMT).
    const FIXTURE_NOT_AFTER: i64 = 2_110_985_546;

    #[test]
    fn garbage_is_none_not_a_panic() {
        assert_eq!(not_after(b""), None);
        assert_eq!(not_after(&[0x30, 0x82, 0xff, 0xff, 0x01]), None);
        let mut cut = cert_valid_until(2031, 3, 4);
        cut.truncate(cut.len() / 2);
        assert_eq!(not_after(&cut), None);
    }
}
