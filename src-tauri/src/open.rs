//! The one place where the app opens a store. Encryption at rest will add a key here, so every
//! caller (UI commands, the sync thread, enrollment, the caseload reader) goes through these.

use std::path::Path;

use mrm_crdt::{Result, Store};
use rusqlite::{Connection, OpenFlags};

/// Open the store in `dir`.
pub fn open_store(dir: &Path) -> Result<Store> {
    Store::open(dir)
}

/// Create a new store in `dir`.
pub fn init_store(dir: &Path, mission: &str, officer: &str, team: &str) -> Result<Store> {
    Store::init(dir, mission, officer, team)
}

/// A read-only connection to the store's projection tables, for the sorted caseload and the
/// monthly figures (queries `mrm-crdt` does not offer yet).
pub fn open_reader(dir: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        dir.join(mrm_crdt::store::DB_FILE),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}
