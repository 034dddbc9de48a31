//! Passphrases, keys and sealed envelopes: what keeps a stolen laptop or a lost USB stick from
//! giving up the children's data.
//!
//! A passphrase never encrypts data directly. It goes through Argon2id ([`KdfParams`]) to a
//! key-encryption key, which seals (XChaCha20-Poly1305) a random 256-bit key. For a store that
//! sealed key is the SQLCipher database key, so changing the passphrase re-seals 32 bytes and never
//! rewrites the database; for a bundle it is the key of that one file.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// Shortest passphrase accepted for a new store or bundle.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// A passphrase held in memory only as long as needed, zeroed when dropped.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wrap a passphrase (a trailing newline, as from a file or a prompt, is not part of it).
    pub fn new(s: impl Into<String>) -> Passphrase {
        let mut s: String = s.into();
        while s.ends_with('\n') || s.ends_with('\r') {
            s.pop();
        }
        Passphrase(Zeroizing::new(s))
    }

    /// Refuse passphrases too short to protect anything (only checked when one is chosen).
    pub fn check_new(&self) -> Result<()> {
        if self.0.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(Error::Refused(format!(
                "a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters"
            )));
        }
        Ok(())
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl PartialEq for Passphrase {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

/// How SQLCipher authenticates each page of a store: HMAC-SHA512 (SQLCipher 4's default, used by
/// stores made before schema 6) or HMAC-SHA256, which this CPU family computes in hardware (SHA-NI)
/// at about twice the speed, and every page read pays for it. Both are full-strength MACs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageHmac {
    Sha512,
    #[default]
    Sha256,
}

impl PageHmac {
    /// SQLCipher's settings for this choice, to run right after `PRAGMA key`.
    pub fn sqlcipher_pragmas(self) -> &'static str {
        match self {
            PageHmac::Sha512 => {
                "PRAGMA cipher_hmac_algorithm = HMAC_SHA512;
                 PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA512;"
            }
            PageHmac::Sha256 => {
                "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;
                 PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA256;"
            }
        }
    }
}

/// Fewest characters of a secret given to [`Key::from_secret`].
pub const MIN_SECRET_CHARS: usize = 32;

/// A 256-bit key (a store's database key or a bundle's), zeroed when dropped. A store's key also
/// says how SQLCipher authenticates its pages.
#[derive(Clone)]
pub struct Key {
    bytes: Zeroizing<[u8; 32]>,
    page_hmac: PageHmac,
}

impl Key {
    fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Key {
        Key {
            bytes,
            page_hmac: PageHmac::default(),
        }
    }

    /// The key for a random secret held apart from what it protects (the endpoint's database
    /// key file, `MRM_DB_KEY`): SHA-256 over a fixed context and the secret, trimmed of
    /// surrounding whitespace. No slow derivation: the secret is already random, never a
    /// passphrase, so it must have at least [`MIN_SECRET_CHARS`] characters.
    ///
    /// Errors: [`Error::Crypto`] for a shorter secret.
    pub fn from_secret(secret: &str) -> Result<Key> {
        use sha2::{Digest, Sha256};
        let secret = secret.trim();
        // A random secret of 32 characters or more uses many different ones; "aaaa…" or
        // "1234…" repeated is no secret (a 64-digit hex secret has fewer than 8 distinct digits
        // with a probability below 10^-30).
        let distinct = secret
            .chars()
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        if secret.chars().count() < MIN_SECRET_CHARS || distinct < 8 {
            return Err(Error::Crypto(format!(
                "a database key must be a random secret of at least {MIN_SECRET_CHARS} characters (`mrm serve` makes one when its key file does not exist yet)"
            )));
        }
        let mut h = Sha256::new();
        h.update(b"mrm-field database key v1\0");
        h.update(secret.as_bytes());
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&h.finalize());
        Ok(Key::from_bytes(out))
    }

    /// A fresh random secret for [`Key::from_secret`]: 64 hex digits (256 bits).
    pub fn new_secret() -> Result<Zeroizing<String>> {
        let mut b = Zeroizing::new([0u8; 32]);
        random_bytes(&mut *b)?;
        Ok(Zeroizing::new(hex::encode(*b)))
    }

    /// The secret seed (64 hex digits) a store's actor id derives from
    /// (`sync::protocol::actor_from_seed`): SHA-256 over a fixed context and this key, so it needs
    /// no storage of its own, never leaves the device but in an enrollment, and reveals nothing of
    /// the key.
    pub fn actor_seed(&self) -> Zeroizing<String> {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"mrm-field actor seed v1\0");
        h.update(*self.bytes);
        Zeroizing::new(hex::encode(h.finalize()))
    }

    /// A fresh random key.
    pub fn random() -> Result<Key> {
        let mut k = Zeroizing::new([0u8; 32]);
        random_bytes(&mut *k)?;
        Ok(Key::from_bytes(k))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The page authentication SQLCipher uses with this key.
    pub fn page_hmac(&self) -> PageHmac {
        self.page_hmac
    }

    pub fn with_page_hmac(mut self, page_hmac: PageHmac) -> Key {
        self.page_hmac = page_hmac;
        self
    }

    /// The SQLCipher raw-key literal (`x'…'`) for `PRAGMA key`, so SQLCipher skips its own key
    /// derivation; [`PageHmac::sqlcipher_pragmas`] must follow it. Whoever holds the key may open
    /// the database; tools and tests use this.
    pub fn sqlcipher_literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", *Zeroizing::new(hex::encode(*self.bytes))))
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// Argon2id parameters, stored beside what they protect so they can be raised later without
/// locking anyone out. The default follows OWASP's first Argon2id recommendation raised to 64 MiB:
/// m = 65536 KiB, t = 3, p = 1 (about 0.2 s on a field laptop, once per unlock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    /// Refuse parameters a tampered file could use to make unlocking cheap or absurdly costly.
    fn check(&self) -> Result<Params> {
        let sane = (8 * 1024..=4 * 1024 * 1024).contains(&self.memory_kib)
            && (1..=64).contains(&self.iterations)
            && (1..=16).contains(&self.parallelism);
        if !sane {
            return Err(Error::Crypto(
                "the key derivation parameters are out of range".into(),
            ));
        }
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| Error::Crypto(format!("key derivation parameters: {e}")))
    }

    fn derive(&self, pass: &Passphrase, salt: &[u8]) -> Result<Key> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.check()?);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(pass.bytes(), salt, &mut *out)
            .map_err(|e| Error::Crypto(format!("key derivation: {e}")))?;
        Ok(Key::from_bytes(out))
    }
}

/// Bytes sealed under a passphrase: everything needed to open them again except the passphrase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Always `argon2id`.
    pub kdf: String,
    pub params: KdfParams,
    /// Hex, 16 random bytes.
    pub salt: String,
    /// Always `xchacha20poly1305`.
    pub cipher: String,
    /// Hex, 24 random bytes.
    pub nonce: String,
}

const KDF: &str = "argon2id";
const CIPHER: &str = "xchacha20poly1305";

/// Seal `plain` under a passphrase; `context` is bound to the ciphertext (a store key cannot be
/// passed off as a bundle). Returns the envelope and the ciphertext.
pub fn seal(
    pass: &Passphrase,
    params: KdfParams,
    context: &[u8],
    plain: &[u8],
) -> Result<(Envelope, Vec<u8>)> {
    let mut salt = [0u8; 16];
    random_bytes(&mut salt)?;
    let kek = params.derive(pass, &salt)?;
    let (nonce, sealed) = seal_with(&kek, context, plain)?;
    Ok((
        Envelope {
            kdf: KDF.into(),
            params,
            salt: hex::encode(salt),
            cipher: CIPHER.into(),
            nonce,
        },
        sealed,
    ))
}

/// Open what [`seal`] sealed. A wrong passphrase and tampered bytes both fail authentication.
pub fn open(
    pass: &Passphrase,
    env: &Envelope,
    context: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if env.kdf != KDF || env.cipher != CIPHER {
        return Err(Error::Crypto(format!(
            "unsupported protection {}/{}",
            env.kdf, env.cipher
        )));
    }
    let salt = hex::decode(&env.salt).ok().filter(|s| s.len() >= 16);
    let salt = salt.ok_or_else(|| Error::Crypto("bad salt".into()))?;
    let kek = env.params.derive(pass, &salt)?;
    open_with(&kek, &env.nonce, context, sealed).map_err(|_| Error::WrongPassphrase)
}

/// Seal with a key directly; returns the hex nonce and the ciphertext.
pub fn seal_with(key: &Key, context: &[u8], plain: &[u8]) -> Result<(String, Vec<u8>)> {
    let mut nonce = [0u8; 24];
    random_bytes(&mut nonce)?;
    let cipher = XChaCha20Poly1305::new(key.bytes().into());
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: context,
            },
        )
        .map_err(|_| Error::Crypto("encryption failed".into()))?;
    Ok((hex::encode(nonce), sealed))
}

/// Open with a key directly.
pub fn open_with(
    key: &Key,
    nonce_hex: &str,
    context: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let nonce = hex::decode(nonce_hex)
        .ok()
        .filter(|n| n.len() == 24)
        .ok_or_else(|| Error::Crypto("bad nonce".into()))?;
    let cipher = XChaCha20Poly1305::new(key.bytes().into());
    cipher
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: sealed,
                aad: context,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::Crypto("the data does not authenticate".into()))
}

/// A key from the bytes an [`open`] returned.
pub fn key_from(mut bytes: Zeroizing<Vec<u8>>) -> Result<Key> {
    if bytes.len() != 32 {
        bytes.zeroize();
        return Err(Error::Crypto("a sealed key has the wrong length".into()));
    }
    let mut k = Zeroizing::new([0u8; 32]);
    k.copy_from_slice(&bytes);
    Ok(Key::from_bytes(k))
}

fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::Crypto(format!("no randomness from the system: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> KdfParams {
        KdfParams {
            memory_kib: 8 * 1024,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[test]
    fn sealed_bytes_open_with_the_passphrase_only() {
        let pass = Passphrase::new("correct horse\n");
        let (env, sealed) = seal(&pass, fast(), b"ctx", b"the data key").unwrap();
        assert!(!sealed.windows(4).any(|w| w == b"data"));
        let opened = open(&Passphrase::new("correct horse"), &env, b"ctx", &sealed).unwrap();
        assert_eq!(&opened[..], b"the data key");
        assert!(matches!(
            open(&Passphrase::new("wrong horse"), &env, b"ctx", &sealed),
            Err(Error::WrongPassphrase)
        ));
        assert!(open(&pass, &env, b"other context", &sealed).is_err());
        let mut tampered = sealed.clone();
        tampered[0] ^= 1;
        assert!(open(&pass, &env, b"ctx", &tampered).is_err());
    }

    #[test]
    fn tampered_parameters_are_refused_before_any_work() {
        let pass = Passphrase::new("correct horse");
        let (mut env, sealed) = seal(&pass, fast(), b"ctx", b"k").unwrap();
        env.params.memory_kib = u32::MAX;
        assert!(matches!(
            open(&pass, &env, b"ctx", &sealed),
            Err(Error::Crypto(_))
        ));
        env.params = fast();
        env.salt = "zz".into();
        assert!(matches!(
            open(&pass, &env, b"ctx", &sealed),
            Err(Error::Crypto(_))
        ));
    }

    #[test]
    fn short_passphrases_are_refused_when_chosen() {
        assert!(Passphrase::new("short").check_new().is_err());
        assert!(Passphrase::new("long enough").check_new().is_ok());
    }

    #[test]
    fn the_sqlcipher_literal_is_a_raw_hex_key() {
        let k = Key::random().unwrap();
        let lit = k.sqlcipher_literal();
        assert_eq!(lit.len(), 67);
        assert!(lit.starts_with("x'") && lit.ends_with('\''));
        assert_eq!(hex::decode(&lit[2..66]).unwrap(), k.bytes().to_vec());
    }
}
