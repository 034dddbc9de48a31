//! The one place where the app opens a store. Stores are encrypted: the passphrase unlocks the
//! database key once, and every caller (UI commands, the sync thread, the caseload reader) opens
//! with that key, which the app holds only while unlocked.

use std::path::Path;

use mrm_crdt::crypto::{Key, Passphrase};
use mrm_crdt::Result;
use mrm_store::Store;
use rusqlite::Connection;

/// Whether `dir` holds a store (locked or not).
pub fn has_store(dir: &Path) -> bool {
    dir.join(mrm_store::DB_FILE).is_file()
}

/// The database key, if `pass` is the store's passphrase (Argon2id: a fraction of a second).
pub fn unlock(dir: &Path, pass: &Passphrase) -> Result<Key> {
    mrm_store::unlock(dir, pass)
}

/// Open the store in `dir` with its unlocked key.
pub fn open_store(dir: &Path, key: &Key) -> Result<Store> {
    Store::open_with_key(dir, key)
}

/// Create a new store in `dir`, protected by `pass`.
pub fn init_store(
    dir: &Path,
    pass: &Passphrase,
    mission: &str,
    officer: &str,
    team: &str,
) -> Result<Store> {
    Store::init(dir, pass, mission, officer, team)
}

/// A read-only connection to the store's projection tables, for the sorted caseload and the
/// monthly figures.
pub fn open_reader(dir: &Path, key: &Key) -> Result<Connection> {
    mrm_store::open_reader(dir, key)
}
