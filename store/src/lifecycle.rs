//! Creating, unlocking, re-keying and wiping a store.
//!
//! The database is SQLCipher (AES-256, every page and the WAL encrypted) under a random key that
//! `key.json` seals with the officer's passphrase. The raw key is handed to SQLCipher as `x'…'`,
//! so opening costs no second key derivation; temporary tables and sorts stay in memory so that
//! nothing decrypted reaches the disk.

use std::path::Path;

use automerge::ActorId;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use mrm_crdt::crypto::{Key, Passphrase};
use mrm_crdt::error::{Error, Result};

use super::{keyfile, now_str, schema, Device, Store, DB_FILE};

/// Everything a wipe destroys.
const WIPED_FILES: &[&str] = &[
    "mrm.sqlite",
    "mrm.sqlite-wal",
    "mrm.sqlite-shm",
    keyfile::KEY_FILE,
];

/// Key a fresh connection and prove the key fits before anything else touches the file.
fn apply_key(conn: &Connection, key: Option<&Key>) -> Result<()> {
    if let Some(key) = key {
        key_connection(conn, key)?;
    }
    // Pages are decrypted once into the cache, so a bigger cache (64 MiB, allocated only as
    // pages are read) keeps repeated lists as fast as without encryption.
    conn.execute_batch("PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;")?;
    // A keyed connection proved its key by reading the schema; an unkeyed one (a baseline)
    // proves here that the file is a database it can read.
    if key.is_none() {
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|_| not_this_key())?;
    }
    Ok(())
}

fn not_this_key() -> Error {
    Error::Refused(
        "the store's database does not open with its key (damaged, or not this store's key file)"
            .into(),
    )
}

impl Store {
    /// The secret seed this store's actor id derives from ([`Key::actor_seed`]), which proves the
    /// actor at enrollment; `None` for a store whose actor does not derive from its key (made
    /// before 0.1.1, or a baseline without a key). Never shown, never logged.
    pub fn actor_proof(&self) -> Option<zeroize::Zeroizing<String>> {
        let seed = self.key.as_ref()?.actor_seed();
        mrm_crdt::protocol::actor_proven(&self.device.actor, &seed).then_some(seed)
    }
}

/// Key a fresh SQLCipher connection of a device store (the endpoint keys its own the same way,
/// through `mrm_page_crypto::key_connection`): SQLCipher's page
/// functions from RustCrypto, the raw key, its page authentication, temporary data in memory; then
/// proves the key fits by reading the schema.
///
/// Errors: [`Error::Refused`] when the database does not open with `key` (another key, a damaged
/// file, or a database that is not encrypted).
pub fn key_connection(conn: &Connection, key: &Key) -> Result<()> {
    mrm_page_crypto::key_connection(
        conn,
        &key.sqlcipher_literal(),
        key.page_hmac().sqlcipher_pragmas(),
    )
    .map_err(|_| not_this_key())
}

fn open_conn(path: &Path, key: Option<&Key>) -> Result<Connection> {
    let conn = Connection::open(path)?;
    apply_key(&conn, key)?;
    // FULL, not NORMAL: in WAL mode NORMAL may lose the last transactions on power loss, and an
    // acknowledged edit must survive a power cut. The cost is one fsync per edit.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000;",
    )?;
    Ok(conn)
}

/// A read-only connection to an open store's database (the app's caseload reader).
pub fn open_reader(dir: &Path, key: &Key) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        dir.join(DB_FILE),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    apply_key(&conn, Some(key))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

fn check_identity(mission: &str, officer: &str, team: &str) -> Result<()> {
    let errors: Vec<_> = [("mission", mission), ("officer", officer), ("team", team)]
        .into_iter()
        .filter(|(_, v)| v.trim().is_empty())
        .map(|(field, _)| mrm_crdt::error::FieldError {
            field: field.into(),
            message: "is required".into(),
            ..Default::default()
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid {
        what: "device identity",
        errors: mrm_crdt::error::FieldErrors(errors),
    })
}

impl Store {
    /// Create a new encrypted store in `dir` (created if missing), protected by `pass`.
    /// Refuses if a store is already there, or if the passphrase is too short.
    pub fn init(
        dir: &Path,
        pass: &Passphrase,
        mission: &str,
        officer: &str,
        team: &str,
    ) -> Result<Store> {
        check_identity(mission, officer, team)?;
        pass.check_new()?;
        if dir.join(DB_FILE).exists() {
            return Err(Error::AlreadyInitialised(dir.display().to_string()));
        }
        std::fs::create_dir_all(dir)
            .map_err(Error::io(format!("cannot create {}", dir.display())))?;
        private(dir)?;
        // A key file without a database is what an init cut short leaves: start it over.
        let key = keyfile::create(dir, pass)?;
        Store::create(dir, Some(key), mission, officer, team)
    }

    /// A store without encryption, only so that benchmarks can measure what encryption costs.
    #[doc(hidden)]
    pub fn init_unencrypted_baseline(
        dir: &Path,
        mission: &str,
        officer: &str,
        team: &str,
    ) -> Result<Store> {
        check_identity(mission, officer, team)?;
        std::fs::create_dir_all(dir)
            .map_err(Error::io(format!("cannot create {}", dir.display())))?;
        Store::create(dir, None, mission, officer, team)
    }

    /// Open a [`Store::init_unencrypted_baseline`] store (benchmarks only).
    #[doc(hidden)]
    pub fn open_unencrypted_baseline(dir: &Path) -> Result<Store> {
        Store::open_inner(dir, None)
    }

    fn create(
        dir: &Path,
        key: Option<Key>,
        mission: &str,
        officer: &str,
        team: &str,
    ) -> Result<Store> {
        let mut conn = open_conn(&dir.join(DB_FILE), key.as_ref())?;
        schema::migrate(&mut conn)?;
        let id = uuid::Uuid::now_v7();
        // An encrypted store's actor derives from its key, so that it can prove the actor at
        // enrollment; a baseline store (benchmarks) has no key and an actor it cannot prove.
        let actor = match &key {
            Some(k) => mrm_crdt::protocol::actor_from_seed(
                &k.actor_seed(),
                u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0),
            )
            .ok_or_else(|| Error::Crypto("cannot derive the actor id".into()))?,
            None => ActorId::from(id.as_bytes().to_vec()).to_hex_string(),
        };
        conn.execute(
            "INSERT INTO device (singleton, device_id, actor, officer, team, mission, created_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id.to_string(),
                actor,
                officer.trim(),
                team.trim(),
                mission.trim(),
                now_str()
            ],
        )?;
        drop(conn);
        Store::open_inner(dir, key)
    }

    /// Open the store in `dir` with its passphrase. A wrong passphrase is refused and nothing is
    /// touched.
    pub fn open(dir: &Path, pass: &Passphrase) -> Result<Store> {
        if !dir.join(DB_FILE).is_file() {
            return Err(Error::NotInitialised(dir.display().to_string()));
        }
        let key = keyfile::unlock(dir, pass)?;
        Store::open_inner(dir, Some(key))
    }

    /// Open the store with a key already unlocked (the app keeps it while unlocked).
    pub fn open_with_key(dir: &Path, key: &Key) -> Result<Store> {
        Store::open_inner(dir, Some(key.clone()))
    }

    fn open_inner(dir: &Path, key: Option<Key>) -> Result<Store> {
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(Error::NotInitialised(dir.display().to_string()));
        }
        let mut conn = open_conn(&path, key.as_ref())?;
        schema::migrate(&mut conn)?;
        let device = conn
            .query_row(
                "SELECT device_id, actor, officer, team, mission, created_at FROM device",
                [],
                |r| {
                    Ok(Device {
                        device_id: r.get(0)?,
                        actor: r.get(1)?,
                        officer: r.get(2)?,
                        team: r.get(3)?,
                        mission: r.get(4)?,
                        created_at: r.get(5)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| Error::NotInitialised(dir.display().to_string()))?;
        let actor: ActorId = device.actor.parse().map_err(|_| {
            Error::Refused(format!(
                "the store at {} is damaged: bad actor id",
                dir.display()
            ))
        })?;
        Ok(Store {
            conn,
            dir: dir.to_path_buf(),
            device,
            actor,
            key,
            clock: Default::default(),
        })
    }

    /// Change the passphrase of the store in `dir`: the database key is re-sealed, the database
    /// itself is not rewritten. The old passphrase stops working at once.
    pub fn change_passphrase(dir: &Path, old: &Passphrase, new: &Passphrase) -> Result<()> {
        keyfile::change(dir, old, new)
    }

    /// The database key of this open store (for read-only connections beside it).
    pub fn key(&self) -> Option<&Key> {
        self.key.as_ref()
    }

    /// Destroy this store's data on disk (a revoked device). The store is unusable afterwards.
    pub fn wipe(&mut self) -> Result<()> {
        let old = std::mem::replace(&mut self.conn, Connection::open_in_memory()?);
        drop(old);
        self.key = None;
        for name in WIPED_FILES {
            let path = self.dir.join(name);
            if !path.exists() {
                continue;
            }
            overwrite(&path);
            std::fs::remove_file(&path)
                .map_err(Error::io(format!("cannot wipe {}", path.display())))?;
        }
        // Drafts too: sealed with the key just dropped, but typed words all the same.
        let drafts = self.dir.join(super::DRAFTS_DIR);
        if let Ok(entries) = std::fs::read_dir(&drafts) {
            for e in entries.flatten() {
                overwrite(&e.path());
            }
            std::fs::remove_dir_all(&drafts)
                .map_err(Error::io(format!("cannot wipe {}", drafts.display())))?;
        }
        Ok(())
    }
}

/// Only the officer's account may list or read the store's folder.
fn private(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(Error::io(format!("cannot restrict {}", dir.display())))?;
    }
    Ok(())
}

/// Overwrite a file with zeros before it is unlinked, so its bytes are not simply left on the disk
/// (best effort: flash wear levelling may keep old blocks; the data was encrypted anyway).
fn overwrite(path: &Path) {
    use std::io::Write;
    let Ok(len) = std::fs::metadata(path).map(|m| m.len()) else {
        return;
    };
    let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(path) else {
        return;
    };
    let zeros = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        if f.write_all(&zeros[..n]).is_err() {
            break;
        }
        left -= n as u64;
    }
    let _ = f.sync_all();
}
