//! AES-CBC-128 confidentiality (IPMI 2.0 section 13.29): the payload is the
//! 16-byte IV followed by the ciphertext of plaintext + pad, where the pad is
//! bytes 0x01, 0x02, ..., N then the pad-length byte N, so that the total is a
//! multiple of 16. The key is the first 16 bytes of K2.

use aes::Aes128;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};

use super::CryptoError;

/// AES-CBC-128 block (and IV) length.
pub const AES_BLOCK: usize = 16;

pub(super) fn aes_key(k2: &[u8]) -> Result<[u8; 16], CryptoError> {
    let mut key = [0u8; 16];
    match k2.get(..16) {
        Some(src) => {
            key.copy_from_slice(src);
            Ok(key)
        }
        None => Err(CryptoError::KeyTooShort(k2.len())),
    }
}

pub(super) fn encrypt_with_key(key: &[u8; 16], iv: [u8; AES_BLOCK], plaintext: &[u8]) -> Vec<u8> {
    // Pad: 0x01, 0x02, ... then the pad-length byte; total a multiple of 16.
    let pad_len = (AES_BLOCK - (plaintext.len() + 1) % AES_BLOCK) % AES_BLOCK;
    let mut out = Vec::with_capacity(AES_BLOCK + plaintext.len() + pad_len + 1);
    out.extend_from_slice(&iv);
    out.extend_from_slice(plaintext);
    out.extend((1..=pad_len).map(|i| i as u8));
    out.push(pad_len as u8);
    let mut enc = cbc::Encryptor::<Aes128>::new(&(*key).into(), &iv.into());
    for chunk in out[AES_BLOCK..].chunks_exact_mut(AES_BLOCK) {
        let mut block = [0u8; AES_BLOCK];
        block.copy_from_slice(chunk);
        let mut block = block.into();
        enc.encrypt_block(&mut block);
        chunk.copy_from_slice(&block);
    }
    out
}

/// AES-CBC-128 encryption of an RMCP+ payload with K2's first 16 bytes.
/// Returns the IV followed by the ciphertext of plaintext + IPMI pad.
pub fn encrypt_aes_cbc(
    k2: &[u8],
    iv: [u8; AES_BLOCK],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    Ok(encrypt_with_key(&aes_key(k2)?, iv, plaintext))
}

pub(super) fn decrypt_with_key(key: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let (iv, ct) = match data.split_first_chunk::<AES_BLOCK>() {
        Some((iv, ct)) if !ct.is_empty() && ct.len() % AES_BLOCK == 0 => (iv, ct),
        _ => return Err(CryptoError::BadCiphertextLength(data.len())),
    };
    let mut dec = cbc::Decryptor::<Aes128>::new(&(*key).into(), &(*iv).into());
    let mut plain = Vec::with_capacity(ct.len());
    for chunk in ct.chunks_exact(AES_BLOCK) {
        let mut block = [0u8; AES_BLOCK];
        block.copy_from_slice(chunk);
        let mut block = block.into();
        dec.decrypt_block(&mut block);
        plain.extend_from_slice(&block);
    }
    let Some((&pad_len, body)) = plain.split_last() else {
        return Err(CryptoError::BadCiphertextLength(data.len()));
    };
    if usize::from(pad_len) >= AES_BLOCK {
        return Err(CryptoError::PadLengthTooLarge(pad_len));
    }
    let text_len = body.len() - usize::from(pad_len);
    for (i, &b) in body[text_len..].iter().enumerate() {
        let expected = (i + 1) as u8;
        if b != expected {
            return Err(CryptoError::BadPadByte {
                index: i,
                found: b,
                expected,
            });
        }
    }
    plain.truncate(text_len);
    Ok(plain)
}

/// AES-CBC-128 decryption of `IV | ciphertext` with K2's first 16 bytes;
/// checks and strips the IPMI confidentiality pad.
pub fn decrypt_aes_cbc(k2: &[u8], data_with_iv_prefix: &[u8]) -> Result<Vec<u8>, CryptoError> {
    decrypt_with_key(&aes_key(k2)?, data_with_iv_prefix)
}
