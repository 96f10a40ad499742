//! Unit tests of `wire::crypto`: round trips, rejected tampering and truncation, no panics on noise.
use super::*;
use aes::Aes128;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};

fn ctx(suite: CipherSuite) -> RakpContext<'static> {
    RakpContext {
        suite,
        console_session_id: 0xa0a2_a3a4,
        bmc_session_id: 0x0000_0202,
        console_random: [0x11; 16],
        bmc_random: [0x22; 16],
        bmc_guid: [0x33; 16],
        role: 0x14,
        username: b"admin",
    }
}

#[test]
fn suite_ids_and_algorithms() {
    for s in [CipherSuite::Cs3, CipherSuite::Cs17] {
        assert_eq!(CipherSuite::from_id(s.id()), Ok(s));
        assert_eq!(
            CipherSuite::from_algorithms(
                s.auth_algorithm(),
                s.integrity_algorithm(),
                s.confidentiality_algorithm()
            ),
            Some(s)
        );
        assert_eq!(s.hmac(b"k", b"d").len(), s.digest_len());
    }
    assert_eq!(
        CipherSuite::from_id(1),
        Err(CryptoError::UnsupportedCipherSuite(1))
    );
    assert_eq!(CipherSuite::from_algorithms(1, 1, 0), None);
    assert_eq!(
        (
            CipherSuite::Cs3.integrity_len(),
            CipherSuite::Cs17.integrity_len()
        ),
        (12, 16)
    );
}

#[test]
fn hmac_rfc_vectors() {
    // RFC 2202 test case 2 (SHA-1) and RFC 4231 test case 2 (SHA-256).
    let sha1 = CipherSuite::Cs3.hmac(b"Jefe", b"what do ya want for nothing?");
    assert_eq!(hex(&sha1), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    let sha256 = CipherSuite::Cs17.hmac(b"Jefe", b"what do ya want for nothing?");
    assert_eq!(
        hex(&sha256),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    // RFC 4231 test case 6: a 131-byte key (longer than the block) is hashed first.
    let long = CipherSuite::Cs17.hmac(
        &[0xaa; 131],
        b"Test Using Larger Than Block-Size Key - Hash Key First",
    );
    assert_eq!(
        hex(&long),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
    let long1 = CipherSuite::Cs3.hmac(
        &[0xaa; 80],
        b"Test Using Larger Than Block-Size Key - Hash Key First",
    );
    assert_eq!(hex(&long1), "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn user_key_pads_and_limits() {
    let k = user_key(b"password").unwrap();
    assert_eq!(&k[..8], b"password");
    assert!(k[8..].iter().all(|&b| b == 0));
    assert!(user_key(&[b'x'; 20]).is_ok());
    assert_eq!(user_key(&[b'x'; 21]), Err(CryptoError::PasswordTooLong(21)));
}

#[test]
fn rakp_codes_have_suite_lengths_and_depend_on_every_input() {
    for s in [CipherSuite::Cs3, CipherSuite::Cs17] {
        let c = ctx(s);
        let kuid = user_key(b"password").unwrap();
        let r2 = rakp2_auth_code(&c, &kuid);
        let r3 = rakp3_auth_code(&c, &kuid);
        let sik = session_integrity_key(&c, &kuid, None);
        assert_eq!(
            (r2.len(), r3.len(), sik.len()),
            (s.digest_len(), s.digest_len(), s.digest_len())
        );
        assert_eq!(rakp4_icv(&c, &sik).len(), s.integrity_len());
        assert_ne!(r2, r3);
        // Kg, when given, keys the SIK instead of Kuid.
        let kg = [0x5a; 20];
        assert_ne!(session_integrity_key(&c, &kuid, Some(&kg)), sik);
        assert_eq!(
            session_integrity_key(&c, &kg, None),
            session_integrity_key(&c, &kuid, Some(&kg))
        );
        // The role byte (including the name-only bit) is authenticated.
        let other = RakpContext {
            role: 0x04,
            ..c.clone()
        };
        assert_ne!(rakp2_auth_code(&other, &kuid), r2);
        let other = RakpContext {
            bmc_guid: [0; 16],
            ..c.clone()
        };
        assert_ne!(rakp2_auth_code(&other, &kuid), r2);
        assert_ne!(rakp4_icv(&other, &sik), rakp4_icv(&c, &sik));
    }
}

#[test]
fn k1_k2_use_20_byte_constants() {
    for s in [CipherSuite::Cs3, CipherSuite::Cs17] {
        let sik = vec![7u8; s.digest_len()];
        assert_eq!(derive_k1(s, &sik), s.hmac(&sik, &[1; 20]));
        assert_eq!(derive_k2(s, &sik), s.hmac(&sik, &[2; 20]));
        let keys = SessionKeys::from_sik(s, sik.clone());
        assert_eq!(keys.k1(), derive_k1(s, &sik).as_slice());
        assert_eq!(
            keys.integrity_code(b"x"),
            integrity_code(s, keys.k1(), b"x")
        );
        assert_eq!(keys.integrity_code(b"x").len(), s.integrity_len());
    }
}

#[test]
fn aes_pad_format_and_round_trip() {
    let k2 = [0x42u8; 20];
    let iv = [0x24u8; 16];
    for len in 0usize..=40 {
        let pt: Vec<u8> = (0..len as u8).collect();
        let ct = encrypt_aes_cbc(&k2, iv, &pt).unwrap();
        assert_eq!(&ct[..16], &iv);
        assert_eq!((ct.len() - 16) % 16, 0);
        assert_eq!(ct.len() - 16, (len + 1).div_ceil(16) * 16, "len {len}");
        assert_eq!(decrypt_aes_cbc(&k2, &ct).unwrap(), pt);
    }
    // Pad bytes 1,2,..,N then N: with 13 bytes of plaintext, N = 2.
    let ct = encrypt_aes_cbc(&k2, iv, &[0xee; 13]).unwrap();
    let mut dec = cbc::Decryptor::<Aes128>::new(&[0x42u8; 16].into(), &iv.into());
    let mut block: aes::Block = <[u8; 16]>::try_from(&ct[16..32]).unwrap().into();
    dec.decrypt_block(&mut block);
    assert_eq!(&block[13..], &[1, 2, 2]);
}

#[test]
fn aes_rejects_bad_pads_and_lengths() {
    let key = [0x42u8; 16];
    let iv = [0u8; 16];
    let raw = |block: [u8; 16]| {
        let mut enc = cbc::Encryptor::<Aes128>::new(&key.into(), &iv.into());
        let mut b = block.into();
        enc.encrypt_block(&mut b);
        [iv.as_slice(), b.as_slice()].concat()
    };
    let mut good = [0u8; 16];
    good[12..].copy_from_slice(&[1, 2, 3, 3]);
    assert_eq!(decrypt_aes_cbc(&key, &raw(good)).unwrap(), vec![0; 12]);
    let mut wrong = good;
    wrong[13] = 9;
    assert_eq!(
        decrypt_aes_cbc(&key, &raw(wrong)),
        Err(CryptoError::BadPadByte {
            index: 1,
            found: 9,
            expected: 2
        })
    );
    let mut too_big = good;
    too_big[15] = 16;
    assert_eq!(
        decrypt_aes_cbc(&key, &raw(too_big)),
        Err(CryptoError::PadLengthTooLarge(16))
    );
    for len in [0, 15, 16, 17, 31, 33] {
        assert_eq!(
            decrypt_aes_cbc(&key, &vec![0; len]),
            Err(CryptoError::BadCiphertextLength(len))
        );
    }
    assert_eq!(
        decrypt_aes_cbc(&key[..15], &raw(good)),
        Err(CryptoError::KeyTooShort(15))
    );
    assert_eq!(
        encrypt_aes_cbc(&key[..3], iv, b""),
        Err(CryptoError::KeyTooShort(3))
    );
}

#[test]
fn aes_known_answer() {
    // FIPS-197 C.1 AES-128 block, as the one-block CBC case with a zero IV.
    let key: Vec<u8> = (0u8..16).collect();
    let pt: Vec<u8> = (0u8..16).map(|i| i * 0x11).collect();
    let mut enc = cbc::Encryptor::<Aes128>::new_from_slices(&key, &[0; 16]).unwrap();
    let mut b: aes::Block = <[u8; 16]>::try_from(pt.as_slice()).unwrap().into();
    enc.encrypt_block(&mut b);
    assert_eq!(hex(&b), "69c4e0d86a7b0430d8cdb78070b4c55a");
}

#[test]
fn session_keys_round_trip_and_debug_hides_keys() {
    for s in [CipherSuite::Cs3, CipherSuite::Cs17] {
        let keys = SessionKeys::derive(&ctx(s), &user_key(b"pw").unwrap(), None);
        let ct = keys.encrypt([9; 16], b"hello");
        assert_eq!(keys.decrypt(&ct).unwrap(), b"hello");
        assert_eq!(decrypt_aes_cbc(keys.k2(), &ct).unwrap(), b"hello");
        let dbg = format!("{keys:?}");
        let n = s.digest_len();
        assert_eq!(
            dbg,
            format!(
                "SessionKeys {{ suite: {s:?}, sik: <{n} bytes>, k1: <{n} bytes>, k2: <{n} bytes> }}"
            )
        );
    }
}

#[test]
fn ct_eq_works() {
    assert!(ct_eq(b"abc", b"abc"));
    assert!(!ct_eq(b"abc", b"abd"));
    assert!(!ct_eq(b"abc", b"ab"));
    assert!(ct_eq(b"", b""));
}

#[test]
fn lcg_fuzz_decrypt() {
    let mut x: u64 = 0x1234_5678;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as u8
    };
    let key = [1u8; 16];
    for _ in 0..2000 {
        let len = usize::from(next()) % 80;
        let data: Vec<u8> = (0..len).map(|_| next()).collect();
        let _ = decrypt_aes_cbc(&key, &data);
    }
}
