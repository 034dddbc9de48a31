//! A consistent copy of the endpoint's SQLite database while it serves (`mrm admin backup`).
//!
//! SQLite's online backup API copies the pages of one read snapshot in one step: in WAL mode a
//! reader never blocks the endpoint's writer, so devices keep syncing meanwhile, and the copy
//! holds every transaction committed before it started and none after. The copy is encrypted
//! under the same key (a connection keyed as the endpoint keys its own, so SQLCipher copies pages
//! between two databases under one key); it is useless without the key file, which is backed up
//! apart from it (docs/operations.md). The copy gets a new log epoch (`MeResponse::log_epoch`):
//! an endpoint restored from it makes every device send and read everything again, so nothing
//! pushed after the backup is lost.

use std::path::Path;
use std::time::Duration;

use mrm_crdt::crypto::Key;
use rusqlite::backup::{Backup, StepResult};

use super::at_rest::{open_keyed, refuse_clear};
use crate::error::{Result, ServerError};
use crate::service::{new_endpoint_actor, new_log_epoch, ENDPOINT_ACTOR, LOG_EPOCH};

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Database pages copied (of the page size the database has, 4096 bytes by default).
    pub pages: i64,
    /// Bytes of the backup file.
    pub bytes: u64,
}

/// Copy the endpoint database at `db` (keyed with `key`) to the new file `to`: written beside it
/// under a temporary name, checked (`PRAGMA quick_check` through the same key), synced, then
/// renamed, so `to` is either absent or a whole, readable backup.
///
/// Errors: [`ServerError::Unusable`] when `to` exists already (a backup never overwrites), when
/// `db` is missing, in clear or keyed otherwise, or when the copy does not check.
pub fn backup(db: &Path, key: &Key, to: &Path) -> Result<BackupReport> {
    if to.exists() {
        return Err(ServerError::Unusable(format!(
            "{} exists already: a backup never overwrites a file",
            to.display()
        )));
    }
    if !db.exists() {
        return Err(ServerError::Unusable(format!(
            "no database at {}",
            db.display()
        )));
    }
    refuse_clear(db)?;
    let source = open_keyed(db, key)?;
    let partial = {
        let mut name = to.as_os_str().to_owned();
        name.push(".partial");
        std::path::PathBuf::from(name)
    };
    let _ = std::fs::remove_file(&partial);
    let result = (|| {
        let mut copy = open_keyed(&partial, key)?;
        let pages = {
            let b = Backup::new(&source, &mut copy)?;
            // All pages in one step: one read snapshot, never restarted by the endpoint's writes.
            let mut tries = 0;
            loop {
                match b.step(-1)? {
                    StepResult::Done => break,
                    _ if tries < 100 => {
                        tries += 1;
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    _ => {
                        return Err(ServerError::Unusable(
                            "the database stayed locked; try the backup again".into(),
                        ))
                    }
                }
            }
            i64::from(b.progress().pagecount)
        };
        // The copy is another lineage of the log: an endpoint restored from it has lost what
        // came after, and its devices must send and read everything again.
        // And the endpoint takes a new actor there ([`new_endpoint_actor`]).
        for (key, value) in [
            (LOG_EPOCH, new_log_epoch()),
            (ENDPOINT_ACTOR, new_endpoint_actor()),
        ] {
            copy.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value.as_str()],
            )?;
        }
        let check: String = copy.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(ServerError::Unusable(format!(
                "the copy does not check: {check}"
            )));
        }
        // One file, no WAL beside it: the backup is what can be carried away.
        copy.execute_batch("PRAGMA journal_mode = DELETE;")?;
        drop(copy);
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| ServerError::Unusable(format!("cannot sync the backup: {e}")))?;
        Ok(pages)
    })();
    let pages = match result {
        Ok(p) => p,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, to)
        .map_err(|e| ServerError::Unusable(format!("cannot write {}: {e}", to.display())))?;
    if let Some(dir) = to.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { pages, bytes })
}
