//! `key.json`: the store's SQLCipher key, sealed by the officer's passphrase (see [`mrm_crdt::crypto`]).
//!
//! The file holds no secret in clear: Argon2id parameters and salt, a nonce, and the sealed key.
//! It is replaced atomically (write, fsync, rename, fsync the folder), so a power cut during a
//! passphrase change leaves either the old passphrase or the new one working, never neither.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use mrm_crdt::crypto::{self, Envelope, KdfParams, Key, PageHmac, Passphrase};
use mrm_crdt::error::{Error, Result};

/// The key file inside a store's folder.
pub const KEY_FILE: &str = "key.json";

/// Bound to the sealed key, so a bundle's key cannot be passed off as a store's.
const CONTEXT: &[u8] = b"mrm-field store key v1";

#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    #[serde(flatten)]
    envelope: Envelope,
    /// Hex: the 32-byte database key, sealed.
    sealed_key: String,
    /// Absent in key files written before HMAC-SHA256 became the default: those stores use
    /// SQLCipher 4's default, HMAC-SHA512.
    #[serde(default = "legacy_page_hmac")]
    page_hmac: PageHmac,
}

fn legacy_page_hmac() -> PageHmac {
    PageHmac::Sha512
}

/// Make a new random database key and seal it under `pass`. Refuses a weak passphrase.
pub(crate) fn create(dir: &Path, pass: &Passphrase) -> Result<Key> {
    pass.check_new()?;
    let key = Key::random()?;
    write(dir, pass, &key)?;
    Ok(key)
}

/// The database key, if `pass` is the store's passphrase.
pub fn unlock(dir: &Path, pass: &Passphrase) -> Result<Key> {
    let path = dir.join(KEY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(if dir.join(super::DB_FILE).exists() {
                Error::Refused(format!(
                    "the store at {} has no key file ({KEY_FILE}); it cannot be opened",
                    dir.display()
                ))
            } else {
                Error::NotInitialised(dir.display().to_string())
            });
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()))(e)),
    };
    let file: KeyFile = serde_json::from_str(&text)
        .map_err(|e| Error::Crypto(format!("{} is damaged: {e}", path.display())))?;
    if file.version != 1 {
        return Err(Error::Crypto(format!(
            "{} has version {}; this mrm reads version 1",
            path.display(),
            file.version
        )));
    }
    let sealed = hex::decode(&file.sealed_key)
        .map_err(|_| Error::Crypto(format!("{} is damaged", path.display())))?;
    Ok(
        crypto::key_from(crypto::open(pass, &file.envelope, CONTEXT, &sealed)?)?
            .with_page_hmac(file.page_hmac),
    )
}

/// Re-seal the database key under a new passphrase; the database is not touched.
pub(crate) fn change(dir: &Path, old: &Passphrase, new: &Passphrase) -> Result<()> {
    new.check_new()?;
    let key = unlock(dir, old)?;
    write(dir, new, &key)
}

fn write(dir: &Path, pass: &Passphrase, key: &Key) -> Result<()> {
    let (envelope, sealed) = crypto::seal(pass, KdfParams::default(), CONTEXT, key.bytes())?;
    let file = KeyFile {
        version: 1,
        envelope,
        sealed_key: hex::encode(sealed),
        page_hmac: key.page_hmac(),
    };
    let text = serde_json::to_string_pretty(&file)?;
    let path = dir.join(KEY_FILE);
    let tmp = dir.join(format!("{KEY_FILE}.partial"));
    let io = |what: &str, p: &Path| Error::io(format!("cannot {what} {}", p.display()));
    let mut f = std::fs::File::create(&tmp).map_err(io("create", &tmp))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("replace", &path))?;
    // The rename itself must reach the disk before the change is reported done.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync", dir))?;
    Ok(())
}
