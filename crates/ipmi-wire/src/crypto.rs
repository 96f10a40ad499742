//! RMCP+ cryptography (IPMI 2.0 sections 13.28-13.33): cipher suites 3 and 17,
//! the RAKP key-exchange authentication codes, session key derivation
//! (SIK, K1, K2), the RAKP 4 integrity check value, truncated session
//! integrity codes and AES-CBC-128 confidentiality with the IPMI pad format.
//!
//! Pure functions over byte slices; nothing here does I/O or keeps state.

use hmac::{Hmac, KeyInit, Mac};
use sha1::{Digest, Sha1};
use sha2::Sha256;

mod aes_cbc;
pub use aes_cbc::{AES_BLOCK, decrypt_aes_cbc, encrypt_aes_cbc};
use aes_cbc::{decrypt_with_key, encrypt_with_key};

/// Length of the user key Kuid (and of Kg): the password zero-padded.
pub const USER_KEY_LEN: usize = 20;
/// Length of the key-derivation constants (IPMI 2.0 13.32: 20 bytes for every
/// RAKP algorithm; ipmitool and FreeIPMI also use 20 bytes for SHA-256).
pub const KEY_CONSTANT_LEN: usize = 20;

/// Errors of the crypto module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("cipher suite {0} is not supported (only 3 and 17)")]
    UnsupportedCipherSuite(u8),
    #[error("password is {0} bytes long, at most 20 fit in an IPMI 2.0 user key")]
    PasswordTooLong(usize),
    #[error("AES key is {0} bytes long, at least 16 are needed")]
    KeyTooShort(usize),
    #[error(
        "encrypted payload is {0} bytes: needs a 16-byte IV and at least one whole 16-byte block"
    )]
    BadCiphertextLength(usize),
    #[error("confidentiality pad length {0} is larger than 15")]
    PadLengthTooLarge(u8),
    #[error("confidentiality pad byte {index} is {found:#04x}, expected {expected:#04x}")]
    BadPadByte {
        index: usize,
        found: u8,
        expected: u8,
    },
}

/// The RMCP+ cipher suites this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// RAKP-HMAC-SHA1 / HMAC-SHA1-96 / AES-CBC-128.
    Cs3,
    /// RAKP-HMAC-SHA256 / HMAC-SHA256-128 / AES-CBC-128.
    Cs17,
}

impl CipherSuite {
    /// Cipher suite ID as listed by Get Channel Cipher Suites.
    pub const fn id(self) -> u8 {
        match self {
            Self::Cs3 => 3,
            Self::Cs17 => 17,
        }
    }

    /// The suite with this ID.
    pub fn from_id(id: u8) -> Result<Self, CryptoError> {
        match id {
            3 => Ok(Self::Cs3),
            17 => Ok(Self::Cs17),
            other => Err(CryptoError::UnsupportedCipherSuite(other)),
        }
    }

    /// The suite whose three algorithm numbers these are, if any.
    pub fn from_algorithms(auth: u8, integrity: u8, confidentiality: u8) -> Option<Self> {
        [Self::Cs3, Self::Cs17].into_iter().find(|s| {
            s.auth_algorithm() == auth
                && s.integrity_algorithm() == integrity
                && s.confidentiality_algorithm() == confidentiality
        })
    }

    /// Authentication algorithm number (1 = RAKP-HMAC-SHA1, 3 = RAKP-HMAC-SHA256).
    pub const fn auth_algorithm(self) -> u8 {
        match self {
            Self::Cs3 => 0x01,
            Self::Cs17 => 0x03,
        }
    }

    /// Integrity algorithm number (1 = HMAC-SHA1-96, 4 = HMAC-SHA256-128).
    pub const fn integrity_algorithm(self) -> u8 {
        match self {
            Self::Cs3 => 0x01,
            Self::Cs17 => 0x04,
        }
    }

    /// Confidentiality algorithm number (1 = AES-CBC-128 for both suites).
    pub const fn confidentiality_algorithm(self) -> u8 {
        0x01
    }

    /// Full HMAC output length: RAKP 2/3 auth codes, SIK, K1, K2 (20 or 32).
    pub const fn digest_len(self) -> usize {
        match self {
            Self::Cs3 => 20,
            Self::Cs17 => 32,
        }
    }

    /// Truncated length of session AuthCodes and of the RAKP 4 ICV (12 or 16).
    pub const fn integrity_len(self) -> usize {
        match self {
            Self::Cs3 => 12,
            Self::Cs17 => 16,
        }
    }

    /// HMAC of `data` keyed with `key`, using this suite's RAKP hash.
    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Self::Cs3 => hmac_sha1(key, data),
            Self::Cs17 => hmac_sha256(key, data),
        }
    }
}

/// HMAC's key block: keys up to the 64-byte block are zero-padded (as HMAC
/// itself does), longer keys are hashed first. Lets us use the infallible
/// `KeyInit::new` instead of `new_from_slice`.
fn key_block(key: &[u8], hash: impl FnOnce(&[u8]) -> Vec<u8>) -> [u8; 64] {
    let mut block = [0u8; 64];
    if key.len() <= block.len() {
        block.iter_mut().zip(key).for_each(|(d, s)| *d = *s);
    } else {
        block.iter_mut().zip(hash(key)).for_each(|(d, s)| *d = s);
    }
    block
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    let block = key_block(key, |k| Sha1::digest(k).to_vec());
    let mut mac = <Hmac<Sha1> as KeyInit>::new(&block.into());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let block = key_block(key, |k| Sha256::digest(k).to_vec());
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// User key Kuid: the password zero-padded to 20 bytes.
pub fn user_key(password: &[u8]) -> Result<[u8; USER_KEY_LEN], CryptoError> {
    if password.len() > USER_KEY_LEN {
        return Err(CryptoError::PasswordTooLong(password.len()));
    }
    let mut key = [0u8; USER_KEY_LEN];
    key.iter_mut().zip(password).for_each(|(d, s)| *d = *s);
    Ok(key)
}

/// The values exchanged in Open Session and RAKP 1/2 that the key-exchange
/// codes and the session keys are computed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RakpContext<'a> {
    pub suite: CipherSuite,
    /// SIDm: the remote console's session ID.
    pub console_session_id: u32,
    /// SIDc: the managed system's (BMC's) session ID.
    pub bmc_session_id: u32,
    /// Rm: the console's random number (RAKP 1).
    pub console_random: [u8; 16],
    /// Rc: the BMC's random number (RAKP 2).
    pub bmc_random: [u8; 16],
    /// GUIDc: the BMC's GUID (RAKP 2).
    pub bmc_guid: [u8; 16],
    /// ROLEm: the whole role byte sent in RAKP 1, including the 0x10
    /// name-only-lookup bit.
    pub role: u8,
    /// UNAMEm: the user name as sent in RAKP 1 (at most 16 bytes).
    pub username: &'a [u8],
}

impl RakpContext<'_> {
    fn push_role_and_name(&self, buf: &mut Vec<u8>) {
        buf.push(self.role);
        // The name length byte is what RAKP 1 carried; names are <= 16 bytes.
        buf.push(u8::try_from(self.username.len()).unwrap_or(u8::MAX));
        buf.extend_from_slice(self.username);
    }
}

/// RAKP 2 key exchange auth code (full length):
/// HMAC_Kuid(SIDm | SIDc | Rm | Rc | GUIDc | ROLEm | ULENGTHm | UNAMEm).
pub fn rakp2_auth_code(ctx: &RakpContext<'_>, kuid: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(58 + ctx.username.len());
    buf.extend_from_slice(&ctx.console_session_id.to_le_bytes());
    buf.extend_from_slice(&ctx.bmc_session_id.to_le_bytes());
    buf.extend_from_slice(&ctx.console_random);
    buf.extend_from_slice(&ctx.bmc_random);
    buf.extend_from_slice(&ctx.bmc_guid);
    ctx.push_role_and_name(&mut buf);
    ctx.suite.hmac(kuid, &buf)
}

/// RAKP 3 key exchange auth code (full length):
/// HMAC_Kuid(Rc | SIDm | ROLEm | ULENGTHm | UNAMEm).
pub fn rakp3_auth_code(ctx: &RakpContext<'_>, kuid: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(22 + ctx.username.len());
    buf.extend_from_slice(&ctx.bmc_random);
    buf.extend_from_slice(&ctx.console_session_id.to_le_bytes());
    ctx.push_role_and_name(&mut buf);
    ctx.suite.hmac(kuid, &buf)
}

/// Session integrity key: HMAC_KG(Rm | Rc | ROLEm | ULENGTHm | UNAMEm), keyed
/// with the BMC key Kg when one is set, else with the user key Kuid.
pub fn session_integrity_key(ctx: &RakpContext<'_>, kuid: &[u8], kg: Option<&[u8]>) -> Vec<u8> {
    let mut buf = Vec::with_capacity(34 + ctx.username.len());
    buf.extend_from_slice(&ctx.console_random);
    buf.extend_from_slice(&ctx.bmc_random);
    ctx.push_role_and_name(&mut buf);
    ctx.suite.hmac(kg.unwrap_or(kuid), &buf)
}

/// K1 = HMAC_SIK(20 bytes of 0x01): the session integrity key.
pub fn derive_k1(suite: CipherSuite, sik: &[u8]) -> Vec<u8> {
    suite.hmac(sik, &[0x01; KEY_CONSTANT_LEN])
}

/// K2 = HMAC_SIK(20 bytes of 0x02): its first 16 bytes are the AES key.
pub fn derive_k2(suite: CipherSuite, sik: &[u8]) -> Vec<u8> {
    suite.hmac(sik, &[0x02; KEY_CONSTANT_LEN])
}

/// RAKP 4 integrity check value: HMAC_SIK(Rm | SIDc | GUIDc), truncated to
/// 12 (SHA1) or 16 (SHA256) bytes.
pub fn rakp4_icv(ctx: &RakpContext<'_>, sik: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(36);
    buf.extend_from_slice(&ctx.console_random);
    buf.extend_from_slice(&ctx.bmc_session_id.to_le_bytes());
    buf.extend_from_slice(&ctx.bmc_guid);
    let mut mac = ctx.suite.hmac(sik, &buf);
    mac.truncate(ctx.suite.integrity_len());
    mac
}

/// Session AuthCode: HMAC_K1(data) truncated to the suite's integrity length.
pub fn integrity_code(suite: CipherSuite, k1: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = suite.hmac(k1, data);
    mac.truncate(suite.integrity_len());
    mac
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The keys of one established RMCP+ session. `Debug` never shows key bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    suite: CipherSuite,
    sik: Vec<u8>,
    k1: Vec<u8>,
    k2: Vec<u8>,
    aes: [u8; 16],
}

impl SessionKeys {
    /// Derive SIK, K1 and K2 from the RAKP values (Kg if given, else Kuid).
    pub fn derive(ctx: &RakpContext<'_>, kuid: &[u8], kg: Option<&[u8]>) -> Self {
        Self::from_sik(ctx.suite, session_integrity_key(ctx, kuid, kg))
    }

    /// Derive K1 and K2 from a known SIK.
    pub fn from_sik(suite: CipherSuite, sik: Vec<u8>) -> Self {
        let k1 = derive_k1(suite, &sik);
        let k2 = derive_k2(suite, &sik);
        let mut aes = [0u8; 16];
        aes.iter_mut().zip(&k2).for_each(|(d, s)| *d = *s);
        Self {
            suite,
            sik,
            k1,
            k2,
            aes,
        }
    }

    pub fn suite(&self) -> CipherSuite {
        self.suite
    }
    pub fn sik(&self) -> &[u8] {
        &self.sik
    }
    pub fn k1(&self) -> &[u8] {
        &self.k1
    }
    pub fn k2(&self) -> &[u8] {
        &self.k2
    }

    /// Truncated AuthCode of `data` under K1.
    pub fn integrity_code(&self, data: &[u8]) -> Vec<u8> {
        integrity_code(self.suite, &self.k1, data)
    }

    /// `IV | AES-CBC(K2, plaintext + pad)`.
    pub fn encrypt(&self, iv: [u8; AES_BLOCK], plaintext: &[u8]) -> Vec<u8> {
        encrypt_with_key(&self.aes, iv, plaintext)
    }

    /// Inverse of [`SessionKeys::encrypt`], pad checked.
    pub fn decrypt(&self, data_with_iv_prefix: &[u8]) -> Result<Vec<u8>, CryptoError> {
        decrypt_with_key(&self.aes, data_with_iv_prefix)
    }
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("suite", &self.suite)
            .field("sik", &format_args!("<{} bytes>", self.sik.len()))
            .field("k1", &format_args!("<{} bytes>", self.k1.len()))
            .field("k2", &format_args!("<{} bytes>", self.k2.len()))
            .finish()
    }
}

#[cfg(test)]
mod tests;
