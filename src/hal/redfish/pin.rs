//! Certificate pinning, trust on first use (`tls = "pin"`): the first certificate a BMC address
//! presents is remembered (its SHA-256, in the pin file); a different one later is refused with an
//! [`CertificateChanged`] error (error kind `tls`, issue `tls-certificate-changed`) until an operator runs
//! `bmc-catcher trust ADDR` (which shows the certificate presented now and pins exactly that one).
//! The file is re-read when it changes on disk, so `trust` needs no daemon restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

/// Why a pinned BMC's handshake was refused: it presented another certificate than the pinned one.
/// Travels inside the rustls error, so the backend recognises it by type, not by its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "TLS certificate changed for {addr}: pinned sha256 {pinned}, presented {seen}; `bmc-catcher trust {addr}` accepts it"
)]
pub struct CertificateChanged {
    pub addr: String,
    pub pinned: String,
    pub seen: String,
}

impl CertificateChanged {
    /// Finds a refusal of ours in an error's cause chain.
    pub fn find_in<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a CertificateChanged> {
        match certificate_error_in(e)? {
            rustls::CertificateError::Other(o) => o.0.downcast_ref::<CertificateChanged>(),
            _ => None,
        }
    }
}

/// Why rustls refused the peer's certificate, found in an error's cause chain (through
/// `io::Error`s, whose `source()` skips the error they wrap).
pub fn certificate_error_in<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::CertificateError> {
    let mut next = Some(e);
    while let Some(cur) = next {
        if let Some(rustls::Error::InvalidCertificate(c)) = cur.downcast_ref::<rustls::Error>() {
            return Some(c);
        }
        if let Some(found) = cur
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| certificate_error_in(inner))
        {
            return Some(found);
        }
        next = cur.source();
    }
    None
}

/// Pins by BMC address (`"10.1.2.3"`), SHA-256 of the leaf certificate in hex.
pub type Pins = BTreeMap<String, String>;

/// Reads the pin file (a missing file is no pins).
pub fn load(file: &Path) -> Pins {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Writes the pin file atomically. A file that exists keeps its owner and mode: `trust`, run as
/// root, must not leave the daemon's user (a `DynamicUser=`) a file it can no longer rewrite.
pub fn save(file: &Path, pins: &Pins) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(pins).unwrap_or_default())?;
    if let Ok(old) = std::fs::metadata(file) {
        // Only root may give a file away; anyone else writes files that are theirs already.
        let _ = std::os::unix::fs::chown(&tmp, Some(old.uid()), Some(old.gid()));
        std::fs::set_permissions(&tmp, old.permissions())?;
    }
    std::fs::rename(tmp, file)
}

/// A certificate's SHA-256 in lower-case hex, as the pin file holds it.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug)]
pub struct PinVerifier {
    file: PathBuf,
    /// Checks the handshake signatures, as every policy does.
    signatures: super::tls::AcceptAnyCert,
    state: Mutex<PinState>,
}

/// The pins and the pin file's modification time they were read at.
#[derive(Debug)]
struct PinState {
    pins: Pins,
    mtime: Option<std::time::SystemTime>,
}

impl PinVerifier {
    pub fn new(file: PathBuf, provider: Arc<CryptoProvider>) -> PinVerifier {
        let mtime = std::fs::metadata(&file).and_then(|m| m.modified()).ok();
        PinVerifier {
            state: Mutex::new(PinState {
                pins: load(&file),
                mtime,
            }),
            file,
            signatures: super::tls::AcceptAnyCert(provider),
        }
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let addr = server_name.to_str().to_string();
        let seen = fingerprint(end_entity);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mtime = std::fs::metadata(&self.file)
            .and_then(|m| m.modified())
            .ok();
        if mtime != state.mtime {
            *state = PinState {
                pins: load(&self.file),
                mtime,
            };
        }
        match state.pins.get(&addr) {
            Some(pinned) if *pinned == seen => Ok(ServerCertVerified::assertion()),
            Some(pinned) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(CertificateChanged {
                    addr,
                    pinned: pinned.clone(),
                    seen,
                }))),
            )),
            None => {
                state.pins.insert(addr.clone(), seen.clone());
                if let Err(e) = save(&self.file, &state.pins) {
                    tracing::warn!(file = %self.file.display(), error = %e, "cannot save the TLS pin");
                }
                state.mtime = std::fs::metadata(&self.file)
                    .and_then(|m| m.modified())
                    .ok();
                tracing::info!(addr, sha256 = %seen, "TLS certificate pinned (first use)");
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.signatures.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error whose source is `inner`, as hyper and reqwest wrap a connector's error.
    #[derive(Debug, thiserror::Error)]
    #[error("client error (Connect)")]
    struct Wrapper(#[source] std::io::Error);

    fn chain(tls: rustls::Error) -> Wrapper {
        Wrapper(std::io::Error::new(std::io::ErrorKind::InvalidData, tls))
    }

    #[test]
    fn a_refusal_is_found_by_type_through_an_io_error() {
        let changed = CertificateChanged {
            addr: "127.0.0.9".into(),
            pinned: "aa".into(),
            seen: "bb".into(),
        };
        let e = chain(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Other(rustls::OtherError(Arc::new(changed.clone()))),
        ));
        assert_eq!(CertificateChanged::find_in(&e), Some(&changed));
    }

    #[test]
    fn a_rewritten_pin_file_keeps_its_owner_and_mode() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("tls-pins.json");
        save(&file, &Pins::new()).expect("first save");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        // As root (CI), the file belongs to the daemon's user, as `trust` finds it under the unit.
        // SAFETY: geteuid(2) takes nothing and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            std::os::unix::fs::chown(&file, Some(61_999), Some(61_999)).expect("chown");
        }
        let owner = std::fs::metadata(&file).expect("stat").uid();
        let mut pins = Pins::new();
        pins.insert("127.0.0.9".into(), "ab".repeat(32));
        save(&file, &pins).expect("save");
        let m = std::fs::metadata(&file).expect("stat");
        assert_eq!(m.mode() & 0o777, 0o640);
        assert_eq!(
            m.uid(),
            owner,
            "root's rewrite keeps the daemon's file its own"
        );
        assert_eq!(load(&file), pins);
    }

    #[test]
    fn other_certificate_errors_are_not_a_changed_pin() {
        let e = chain(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        assert_eq!(CertificateChanged::find_in(&e), None);
        let words = chain(rustls::Error::General(
            "TLS certificate changed for 127.0.0.9".into(),
        ));
        assert_eq!(
            CertificateChanged::find_in(&words),
            None,
            "the words alone are not the refusal"
        );
    }
}
