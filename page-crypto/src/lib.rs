//! SQLCipher's page cipher, page MAC and key stretching, computed with RustCrypto.
//!
//! Why: SQLCipher's OpenSSL 3 provider looks HMAC and AES up in OpenSSL's global method store and
//! builds fresh contexts for every page it reads or writes (sqlcipher/sqlcipher#597, still so in
//! SQLCipher 4.20). On a store of 4 KiB pages that bookkeeping cost as much as the hashing and
//! the decryption together, and put opening an encrypted store over its budget.
//!
//! What changes: only who computes AES-256-CBC, HMAC-SHA1/256/512 and PBKDF2. The algorithms, the
//! bytes on disk, the random numbers (still OpenSSL's) and every SQLCipher setting stay as they
//! were; tests check each function against OpenSSL's on random input, so stores written before
//! and after open alike.
//!
//! How: SQLCipher keeps one provider table per process, copied into each connection's codec when
//! it is keyed, and frees it when the last keyed connection closes. A keyed in-memory connection
//! held for the life of the process keeps it alive; its three entries are replaced once, before
//! any store is keyed. The table's layout is SQLCipher 4.6's, so the swap happens only on that
//! version; on any other the OpenSSL provider stays in place (correct, a little slower).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

use aes::Aes256;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use rusqlite::Connection;
use sha1::Sha1;
use sha2::{Sha256, Sha512};

/// The SQLCipher release whose provider table [`Provider`] mirrors.
const SQLCIPHER_VERSION: &str = "4.6.1 community";
const SQLITE_OK: c_int = 0;
const SQLITE_ERROR: c_int = 1;
const CIPHER_DECRYPT: c_int = 0;
const CIPHER_ENCRYPT: c_int = 1;
const AES_KEY_LEN: usize = 32;
const AES_BLOCK: usize = 16;
/// What `PRAGMA cipher_provider` answers once the swap is made.
const PROVIDER_NAME: &CStr = c"rustcrypto";

type Hmac_ = unsafe extern "C" fn(
    *mut c_void,
    c_int,
    *mut u8,
    c_int,
    *mut u8,
    c_int,
    *mut u8,
    c_int,
    *mut u8,
) -> c_int;
type Kdf = unsafe extern "C" fn(
    *mut c_void,
    c_int,
    *const u8,
    c_int,
    *mut u8,
    c_int,
    c_int,
    c_int,
    *mut u8,
) -> c_int;
type Cipher = unsafe extern "C" fn(
    *mut c_void,
    c_int,
    *mut u8,
    c_int,
    *mut u8,
    *mut u8,
    c_int,
    *mut u8,
) -> c_int;
type Name = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type CtxFn = unsafe extern "C" fn(*mut *mut c_void) -> c_int;

/// SQLCipher 4.6's `sqlcipher_provider` (crypto.h), field for field.
#[repr(C)]
#[derive(Clone, Copy)]
struct Provider {
    activate: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    deactivate: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_provider_name: Option<Name>,
    add_random: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int>,
    random: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int>,
    hmac: Option<Hmac_>,
    kdf: Option<Kdf>,
    cipher: Option<Cipher>,
    get_cipher: Option<Name>,
    get_key_sz: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_iv_sz: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_block_sz: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_hmac_sz: Option<unsafe extern "C" fn(*mut c_void, c_int) -> c_int>,
    ctx_init: Option<CtxFn>,
    ctx_free: Option<CtxFn>,
    fips_status: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_provider_version: Option<Name>,
}

extern "C" {
    /// SQLCipher's current provider table ("allows an application to fetch the current
    /// registered provider and make minor changes to it", sqlcipher.c).
    fn sqlcipher_get_provider() -> *mut Provider;
}

/// OpenSSL's table as it was before the swap (kept for the equivalence tests), or why no swap.
struct Installed {
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the equivalence tests"))]
    openssl: Option<Provider>,
}

// The table holds only function pointers into this process's code.
unsafe impl Send for Installed {}
unsafe impl Sync for Installed {}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Make the swap if it has not been made. Call before keying any connection; cheap afterwards.
pub fn install() {
    INSTALLED.get_or_init(|| Installed { openssl: swap() });
}

/// Key a fresh SQLCipher connection: this module's page functions first ([`install`]), then
/// the raw key (`literal`: SQLCipher's `x'…'` form) and the cipher `pragmas` that go with it
/// (page HMAC, KDF). Then proves the key fits by reading the schema: a wrong key, a damaged file
/// or a database in clear fails here, before anything else touches the file.
///
/// Errors: SQLite's, as it reports them (`SQLITE_NOTADB` for a key that does not fit).
pub fn key_connection(conn: &Connection, literal: &str, pragmas: &str) -> rusqlite::Result<()> {
    install();
    conn.pragma_update(None, "key", literal)?;
    conn.execute_batch(pragmas)?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(())
}

/// Whether SQLCipher now computes pages with this module.
#[cfg(test)]
fn active() -> bool {
    install();
    INSTALLED.get().is_some_and(|i| i.openssl.is_some())
}

fn swap() -> Option<Provider> {
    let anchor = Connection::open_in_memory().ok()?;
    let version: String = anchor
        .query_row("PRAGMA cipher_version", [], |r| r.get(0))
        .ok()?;
    if version != SQLCIPHER_VERSION {
        tracing::warn!(%version, "unknown SQLCipher version: pages stay with its OpenSSL provider");
        return None;
    }
    // Keying activates SQLCipher and creates its provider table; the key protects nothing.
    anchor
        .execute_batch(
            "PRAGMA key = \"x'00000000000000000000000000000000000000000000000000000000000000ff'\";",
        )
        .ok()?;
    // SAFETY: the in-memory connection above holds SQLCipher active, so the table exists and is
    // not freed while it lives; it is never closed. No other connection is keyed yet (callers
    // install first), so nothing copies the table while three of its pointers change.
    unsafe {
        let table = sqlcipher_get_provider();
        if table.is_null() {
            return None;
        }
        let before = *table;
        (*table).hmac = Some(hmac);
        (*table).kdf = Some(kdf);
        (*table).cipher = Some(cipher);
        (*table).get_provider_name = Some(provider_name);
        std::mem::forget(anchor);
        Some(before)
    }
}

unsafe extern "C" fn provider_name(_ctx: *mut c_void) -> *const c_char {
    PROVIDER_NAME.as_ptr()
}

/// A byte slice from a pointer and a length SQLCipher passes, or `None` if they make no sense.
///
/// SAFETY: when `ptr` is not null it must point to `len` readable bytes for `'a`.
unsafe fn bytes<'a>(ptr: *const u8, len: c_int) -> Option<&'a [u8]> {
    let len = usize::try_from(len).ok()?;
    if ptr.is_null() {
        return (len == 0).then_some(&[]);
    }
    Some(std::slice::from_raw_parts(ptr, len))
}

/// HMAC of `in || in2` under `hmac_key`, written to `out` (the digest's size).
unsafe extern "C" fn hmac(
    _ctx: *mut c_void,
    algorithm: c_int,
    hmac_key: *mut u8,
    key_sz: c_int,
    input: *mut u8,
    in_sz: c_int,
    input2: *mut u8,
    in2_sz: c_int,
    out: *mut u8,
) -> c_int {
    if input.is_null() || out.is_null() {
        return SQLITE_ERROR;
    }
    let (Some(key), Some(a), Some(b)) = (
        bytes(hmac_key, key_sz),
        bytes(input, in_sz),
        bytes(input2, if input2.is_null() { 0 } else { in2_sz }),
    ) else {
        return SQLITE_ERROR;
    };
    match algorithm {
        0 => mac::<Hmac<Sha1>>(key, a, b, out),
        1 => mac::<Hmac<Sha256>>(key, a, b, out),
        2 => mac::<Hmac<Sha512>>(key, a, b, out),
        _ => SQLITE_ERROR,
    }
}

/// SAFETY: `out` must have room for `M`'s output (SQLCipher sizes it from `get_hmac_sz`).
unsafe fn mac<M: Mac + hmac::digest::KeyInit>(
    key: &[u8],
    a: &[u8],
    b: &[u8],
    out: *mut u8,
) -> c_int {
    let Ok(mut m) = <M as Mac>::new_from_slice(key) else {
        return SQLITE_ERROR;
    };
    m.update(a);
    m.update(b);
    let tag = m.finalize().into_bytes();
    std::ptr::copy_nonoverlapping(tag.as_ptr(), out, tag.len());
    SQLITE_OK
}

/// PBKDF2-HMAC of `pass` and `salt`, `workfactor` rounds, into `key` (`key_sz` bytes).
unsafe extern "C" fn kdf(
    _ctx: *mut c_void,
    algorithm: c_int,
    pass: *const u8,
    pass_sz: c_int,
    salt: *mut u8,
    salt_sz: c_int,
    workfactor: c_int,
    key_sz: c_int,
    key: *mut u8,
) -> c_int {
    let (Some(pass), Some(salt), Ok(rounds), Ok(len)) = (
        bytes(pass, pass_sz),
        bytes(salt, salt_sz),
        u32::try_from(workfactor),
        usize::try_from(key_sz),
    ) else {
        return SQLITE_ERROR;
    };
    if key.is_null() || rounds == 0 {
        return SQLITE_ERROR;
    }
    let out = std::slice::from_raw_parts_mut(key, len);
    match algorithm {
        0 => pbkdf2::pbkdf2_hmac::<Sha1>(pass, salt, rounds, out),
        1 => pbkdf2::pbkdf2_hmac::<Sha256>(pass, salt, rounds, out),
        2 => pbkdf2::pbkdf2_hmac::<Sha512>(pass, salt, rounds, out),
        _ => return SQLITE_ERROR,
    }
    SQLITE_OK
}

/// AES-256-CBC without padding over `in_sz` bytes (whole blocks) from `input` into `out`.
unsafe extern "C" fn cipher(
    _ctx: *mut c_void,
    mode: c_int,
    key: *mut u8,
    key_sz: c_int,
    iv: *mut u8,
    input: *mut u8,
    in_sz: c_int,
    out: *mut u8,
) -> c_int {
    let Ok(len) = usize::try_from(in_sz) else {
        return SQLITE_ERROR;
    };
    if key.is_null()
        || iv.is_null()
        || input.is_null()
        || out.is_null()
        || key_sz as usize != AES_KEY_LEN
        || len % AES_BLOCK != 0
    {
        return SQLITE_ERROR;
    }
    let key = std::slice::from_raw_parts(key, AES_KEY_LEN);
    let iv = std::slice::from_raw_parts(iv, AES_BLOCK);
    // Work in `out`, which may overlap `input`.
    std::ptr::copy(input, out, len);
    let buf = std::slice::from_raw_parts_mut(out, len);
    let done = match mode {
        CIPHER_ENCRYPT => cbc::Encryptor::<Aes256>::new(key.into(), iv.into())
            .encrypt_padded_mut::<NoPadding>(buf, len)
            .is_ok(),
        CIPHER_DECRYPT => cbc::Decryptor::<Aes256>::new(key.into(), iv.into())
            .decrypt_padded_mut::<NoPadding>(buf)
            .is_ok(),
        _ => false,
    };
    if done {
        SQLITE_OK
    } else {
        SQLITE_ERROR
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn openssl() -> Provider {
        install();
        INSTALLED
            .get()
            .and_then(|i| i.openssl)
            .expect("the swap is made on this SQLCipher")
    }

    /// Run one of OpenSSL's entries with a context made and freed the way a codec does.
    fn with_ctx<T>(p: &Provider, f: impl FnOnce(*mut c_void) -> T) -> T {
        let mut ctx: *mut c_void = std::ptr::null_mut();
        unsafe {
            assert_eq!(p.ctx_init.unwrap()(&mut ctx), SQLITE_OK);
            let out = f(ctx);
            p.ctx_free.unwrap()(&mut ctx);
            out
        }
    }

    #[test]
    fn the_swap_is_made_and_sqlcipher_reports_it() {
        assert!(active());
        let dir = tempfile::tempdir().unwrap();
        // Still so after keyed connections close: SQLCipher frees its table when the last one
        // does, unless something holds it.
        for _ in 0..3 {
            let keyed = Connection::open(dir.path().join("t.sqlite")).unwrap();
            keyed
                .execute_batch("PRAGMA key = \"x'1111111111111111111111111111111111111111111111111111111111111111'\";")
                .unwrap();
            keyed
                .execute_batch("CREATE TABLE IF NOT EXISTS t (x); INSERT INTO t VALUES (1);")
                .unwrap();
            let name: String = keyed
                .query_row("PRAGMA cipher_provider", [], |r| r.get(0))
                .unwrap();
            assert_eq!(name, PROVIDER_NAME.to_str().unwrap());
        }
    }

    #[test]
    fn bad_arguments_are_errors_not_crashes() {
        let mut key = [7u8; 32];
        let mut iv = [1u8; 16];
        let mut data = [0u8; 20];
        let mut out = [0u8; 64];
        unsafe {
            // Not whole blocks, wrong key size, unknown mode, unknown algorithm, null input.
            let c = |mode, ksz, len: c_int, d: *mut u8, o: *mut u8, k: *mut u8, v: *mut u8| {
                cipher(std::ptr::null_mut(), mode, k, ksz, v, d, len, o)
            };
            let (k, v, d, o) = (
                key.as_mut_ptr(),
                iv.as_mut_ptr(),
                data.as_mut_ptr(),
                out.as_mut_ptr(),
            );
            assert_eq!(c(CIPHER_DECRYPT, 32, 20, d, o, k, v), SQLITE_ERROR);
            assert_eq!(c(CIPHER_DECRYPT, 16, 16, d, o, k, v), SQLITE_ERROR);
            assert_eq!(c(7, 32, 16, d, o, k, v), SQLITE_ERROR);
            assert_eq!(c(CIPHER_DECRYPT, 32, -16, d, o, k, v), SQLITE_ERROR);
            assert_eq!(
                c(CIPHER_DECRYPT, 32, 16, std::ptr::null_mut(), o, k, v),
                SQLITE_ERROR
            );
            let h = hmac(
                std::ptr::null_mut(),
                9,
                k,
                32,
                d,
                20,
                std::ptr::null_mut(),
                0,
                o,
            );
            assert_eq!(h, SQLITE_ERROR);
            let h = hmac(
                std::ptr::null_mut(),
                1,
                k,
                32,
                std::ptr::null_mut(),
                20,
                std::ptr::null_mut(),
                0,
                o,
            );
            assert_eq!(h, SQLITE_ERROR);
            let p = b"pass";
            assert_eq!(
                kdf(std::ptr::null_mut(), 1, p.as_ptr(), 4, d, 16, 0, 32, o),
                SQLITE_ERROR
            );
            assert_eq!(
                kdf(std::ptr::null_mut(), 5, p.as_ptr(), 4, d, 16, 2, 32, o),
                SQLITE_ERROR
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn hmac_matches_openssl(
            algorithm in 0..3i32,
            key in proptest::collection::vec(any::<u8>(), 0..80),
            a in proptest::collection::vec(any::<u8>(), 0..300),
            b in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
        ) {
            let p = openssl();
            let run = |f: Hmac_| {
                let (mut key, mut a, mut b) = (key.clone(), a.clone(), b.clone());
                let mut out = [0u8; 64];
                let (b_ptr, b_len) = match b.as_mut() {
                    Some(b) => (b.as_mut_ptr(), b.len() as c_int),
                    None => (std::ptr::null_mut(), 0),
                };
                let rc = with_ctx(&p, |ctx| unsafe {
                    f(ctx, algorithm, key.as_mut_ptr(), key.len() as c_int, a.as_mut_ptr(),
                      a.len() as c_int, b_ptr, b_len, out.as_mut_ptr())
                });
                (rc, out)
            };
            prop_assert_eq!(run(hmac), run(p.hmac.unwrap()));
        }

        #[test]
        fn cipher_matches_openssl_both_ways(
            key in proptest::array::uniform32(any::<u8>()),
            iv in proptest::array::uniform16(any::<u8>()),
            blocks in 0..300usize,
            seed in any::<u8>(),
        ) {
            let p = openssl();
            let plain: Vec<u8> = (0..blocks * AES_BLOCK).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
            let run = |f: Cipher, mode: c_int, input: &[u8]| {
                let (mut key, mut iv, mut input) = (key, iv, input.to_vec());
                let mut out = vec![0u8; input.len()];
                let rc = with_ctx(&p, |ctx| unsafe {
                    f(ctx, mode, key.as_mut_ptr(), 32, iv.as_mut_ptr(), input.as_mut_ptr(),
                      input.len() as c_int, out.as_mut_ptr())
                });
                (rc, out)
            };
            let ours = run(cipher, CIPHER_ENCRYPT, &plain);
            prop_assert_eq!(&ours, &run(p.cipher.unwrap(), CIPHER_ENCRYPT, &plain));
            prop_assert_eq!(run(cipher, CIPHER_DECRYPT, &ours.1), (SQLITE_OK, plain.clone()));
            prop_assert_eq!(run(p.cipher.unwrap(), CIPHER_DECRYPT, &ours.1), (SQLITE_OK, plain));
        }

        #[test]
        fn kdf_matches_openssl(
            algorithm in 0..3i32,
            pass in proptest::collection::vec(any::<u8>(), 1..64),
            salt in proptest::collection::vec(any::<u8>(), 16..17),
            rounds in 1..5i32,
            len in 16..80i32,
        ) {
            let p = openssl();
            let run = |f: Kdf| {
                let mut salt = salt.clone();
                let mut out = vec![0u8; len as usize];
                let rc = with_ctx(&p, |ctx| unsafe {
                    f(ctx, algorithm, pass.as_ptr(), pass.len() as c_int, salt.as_mut_ptr(),
                      salt.len() as c_int, rounds, len, out.as_mut_ptr())
                });
                (rc, out)
            };
            prop_assert_eq!(run(kdf), run(p.kdf.unwrap()));
        }
    }
}
