//! The endpoint's database encrypted at rest: it holds the whole mission, every officer's records
//! and every device's credential hash, so a copied disk or backup must reveal nothing.
//!
//! SQLCipher (the same cipher, page functions and settings as a device's store) under a key
//! derived from a random secret held apart from the database: a key file given to `mrm serve`
//! and `mrm admin` (`--db-key-file`), or the secret itself in `MRM_DB_KEY`. A database written in
//! clear by an earlier version is refused until `mrm admin encrypt` rewrites it.

use std::io::Write;
use std::path::{Path, PathBuf};

use mrm_crdt::crypto::Key;
use rusqlite::Connection;

use crate::error::{Result, ServerError};

/// The first bytes of every SQLite file written in clear.
const CLEAR_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Whether the file at `path` is a SQLite database written in clear. Reads the file directly: never
/// while this process has a connection to it open (see [`refuse_clear`]).
pub fn is_clear(path: &Path) -> bool {
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && &head == CLEAR_HEADER
}

/// Refuse a database written in clear, naming `mrm admin encrypt`.
///
/// Call before this process opens any connection to `path`: opening and closing the file here
/// would drop every POSIX lock the process holds on it, and another process could then delete
/// the WAL from under the open connections.
pub fn refuse_clear(path: &Path) -> Result<()> {
    if is_clear(path) {
        return Err(ServerError::Unusable(format!(
            "{} is not encrypted (written by an earlier version): run `mrm admin --db {} encrypt` \
             with the key to rewrite it encrypted",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Open and key a connection to the endpoint's database at `path`.
///
/// Errors: [`ServerError::Unusable`] when the file does not open with `key` (another key, a
/// damaged file, or a database in clear: see [`refuse_clear`]).
pub(crate) fn open_keyed(path: &Path, key: &Key) -> Result<Connection> {
    let conn = Connection::open(path)?;
    key_connection(&conn, key).map_err(|_| {
        ServerError::Unusable(format!(
            "{} does not open with this key (another key file, or a damaged database)",
            path.display()
        ))
    })?;
    Ok(conn)
}

/// Where the key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The secret itself (`MRM_DB_KEY`).
    Secret(String),
    /// A file holding the secret (`--db-key-file`, `MRM_DB_KEY_FILE`).
    File(PathBuf),
}

/// The database key from `source`. A key file that does not exist is created (a fresh secret,
/// readable by its owner only) when the database does not exist either, or, when `encrypting`, is
/// still in clear; so a first start needs no extra step. `created` says so.
///
/// Errors: [`ServerError::Unusable`] for an unreadable or short secret, or a missing key file
/// beside an existing database.
pub fn load_key(source: &KeySource, db: &Path, encrypting: bool) -> Result<(Key, bool)> {
    let unusable = |m: String| ServerError::Unusable(m);
    match source {
        KeySource::Secret(s) => Ok((
            Key::from_secret(s).map_err(|e| unusable(format!("MRM_DB_KEY: {e}")))?,
            false,
        )),
        KeySource::File(path) => match std::fs::read_to_string(path) {
            Ok(s) => Ok((
                Key::from_secret(&s).map_err(|e| unusable(format!("{}: {e}", path.display())))?,
                false,
            )),
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && (!db.exists() || (encrypting && is_clear(db))) =>
            {
                let secret = Key::new_secret().map_err(|e| unusable(e.to_string()))?;
                write_new_secret(path, &secret)?;
                Ok((
                    Key::from_secret(&secret).map_err(|e| unusable(e.to_string()))?,
                    true,
                ))
            }
            Err(e) => Err(unusable(format!(
                "cannot read the database key file {}: {e}",
                path.display()
            ))),
        },
    }
}

fn write_new_secret(path: &Path, secret: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| {
        ServerError::Unusable(format!(
            "cannot create the key file {}: {e}",
            path.display()
        ))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    writeln!(f, "{secret}").map_err(fail)?;
    f.sync_all().map_err(fail)
}

/// Rewrite the clear database at `path` encrypted under `key`, in place: an encrypted copy is
/// written beside it, synced, then renamed over it (a crash leaves either the clear file or the
/// encrypted one, never half of each). Returns the number of tables copied.
///
/// Errors: [`ServerError::Unusable`] when the file is not a clear database.
pub fn encrypt_in_place(path: &Path, key: &Key) -> Result<usize> {
    if !is_clear(path) {
        return Err(ServerError::Unusable(format!(
            "{} is not a database in clear (already encrypted, or not a database)",
            path.display()
        )));
    }
    let tmp = path.with_extension("encrypting");
    let _ = std::fs::remove_file(&tmp);
    {
        // Folds the WAL into the main file so the copy has every committed transaction.
        Connection::open(path)?.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        let enc = Connection::open(&tmp)?;
        key_connection(&enc, key).map_err(|e| ServerError::Unusable(e.to_string()))?;
        // An empty key attaches the clear file as it is.
        enc.execute(
            "ATTACH DATABASE ?1 AS clear KEY ''",
            [path.to_string_lossy()],
        )?;
        enc.query_row("SELECT sqlcipher_export('main', 'clear')", [], |_| Ok(()))?;
        enc.execute_batch("DETACH DATABASE clear; PRAGMA journal_mode = WAL;")?;
    }
    let tables = {
        let enc = open_keyed(&tmp, key)?;
        enc.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        let n: i64 = enc.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        n as usize
    };
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| ServerError::Unusable(format!("cannot replace {}: {e}", path.display())))?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    if let Some(dir) = path.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(tables)
}

/// Key a connection as a device store is keyed (same cipher and page functions): the endpoint's
/// database and a device's differ only in what they hold.
fn key_connection(conn: &Connection, key: &Key) -> rusqlite::Result<()> {
    mrm_page_crypto::key_connection(
        conn,
        &key.sqlcipher_literal(),
        key.page_hmac().sqlcipher_pragmas(),
    )?;
    conn.execute_batch("PRAGMA temp_store = MEMORY;")
}
