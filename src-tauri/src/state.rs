//! What the app holds while it runs: the store folder, the UI's store behind a mutex, a
//! read-only connection for the caseload, settings, and the handle of the sync thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mrm_crdt::crypto::{Key, Passphrase};
use mrm_store::Store;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, CmdResult};
use crate::open;
use crate::sync::SyncControl;

/// Preferences kept beside the store, so they survive restarts (and are there before a store is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `en` or `fr`; empty means "follow the system".
    pub language: String,
    /// Lock after this many seconds without keyboard, mouse or touch input (0: never).
    pub auto_lock_seconds: u64,
}

/// Five minutes without input locks the app unless the officer chose otherwise.
pub const DEFAULT_AUTO_LOCK_SECONDS: u64 = 300;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            language: String::new(),
            auto_lock_seconds: DEFAULT_AUTO_LOCK_SECONDS,
        }
    }
}

const SETTINGS_FILE: &str = "settings.json";

/// The app's state, shared by commands (in an `Arc`, so blocking work can own a handle).
pub struct AppState {
    pub dir: PathBuf,
    /// The store the UI reads and writes; `None` before the first-run setup and while locked.
    pub store: Mutex<Option<Store>>,
    reader: Mutex<Option<Connection>>,
    /// The database key while unlocked (never the passphrase).
    key: Mutex<Option<Key>>,
    /// The endpoint revoked this laptop and its store was wiped.
    pub revoked: std::sync::atomic::AtomicBool,
    pub sync: SyncControl,
}

fn poisoned() -> AppError {
    AppError::internal("a lock of the app state is poisoned")
}

impl AppState {
    /// The app's state for the store folder `dir`; the store stays locked until [`Self::unlock`].
    pub fn new(dir: &Path) -> CmdResult<Arc<AppState>> {
        Ok(Arc::new(AppState {
            dir: dir.to_path_buf(),
            store: Mutex::new(None),
            reader: Mutex::new(None),
            key: Mutex::new(None),
            revoked: Default::default(),
            sync: SyncControl::default(),
        }))
    }

    /// Whether a store exists in the folder.
    pub fn has_store(&self) -> bool {
        open::has_store(&self.dir)
    }

    /// Whether a store exists but is not unlocked.
    pub fn locked(&self) -> bool {
        self.has_store() && self.key().is_none()
    }

    /// The unlocked database key, if any.
    pub fn key(&self) -> Option<Key> {
        self.key.lock().ok().and_then(|k| k.clone())
    }

    /// Unlock with the passphrase: a wrong one changes nothing.
    pub fn unlock(&self, pass: &Passphrase) -> CmdResult<()> {
        let key = open::unlock(&self.dir, pass)?;
        let store = open::open_store(&self.dir, &key)?;
        *self.store.lock().map_err(|_| poisoned())? = Some(store);
        *self.key.lock().map_err(|_| poisoned())? = Some(key);
        Ok(())
    }

    /// Keep a store just created (it is unlocked by its creation).
    pub fn adopt(&self, store: Store) -> CmdResult<()> {
        let key = store.key().cloned();
        *self.store.lock().map_err(|_| poisoned())? = Some(store);
        *self.key.lock().map_err(|_| poisoned())? = key;
        Ok(())
    }

    /// Drop the store, the reader and the key, and stop a sync in progress (which holds its own
    /// connection until its next step): nothing decrypted stays in this process's hands.
    pub fn lock(&self) {
        if let Ok(mut k) = self.key.lock() {
            *k = None;
        }
        self.sync.cancel();
        if let Ok(mut s) = self.store.lock() {
            *s = None;
        }
        if let Ok(mut r) = self.reader.lock() {
            *r = None;
        }
    }

    fn missing(&self) -> AppError {
        if self.has_store() {
            AppError::locked()
        } else {
            AppError::no_store()
        }
    }

    /// Run `f` on the UI's store (call from a blocking task, never on the UI thread).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> CmdResult<T>) -> CmdResult<T> {
        let mut guard = self
            .store
            .lock()
            .map_err(|_| AppError::internal("the store lock is poisoned"))?;
        match guard.as_mut() {
            Some(store) => f(store),
            None => Err(self.missing()),
        }
    }

    /// Run `f` on the read-only connection (opened on first use).
    pub fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> CmdResult<T>) -> CmdResult<T> {
        let mut guard = self
            .reader
            .lock()
            .map_err(|_| AppError::internal("the reader lock is poisoned"))?;
        if guard.is_none() {
            let key = self.key().ok_or_else(|| self.missing())?;
            *guard = Some(open::open_reader(&self.dir, &key)?);
        }
        match guard.as_ref() {
            Some(conn) => f(conn),
            None => Err(self.missing()),
        }
    }

    pub fn settings(&self) -> Settings {
        std::fs::read_to_string(self.dir.join(SETTINGS_FILE))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    }

    pub fn save_settings(&self, s: &Settings) -> CmdResult<()> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| AppError::internal(format!("cannot create the data folder: {e}")))?;
        let tmp = self.dir.join("settings.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(s)?)
            .and_then(|_| std::fs::rename(&tmp, self.dir.join(SETTINGS_FILE)))
            .map_err(|e| AppError::internal(format!("cannot save settings: {e}")))
    }
}

/// Run blocking work off the UI thread and the async runtime's workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> CmdResult<T> + Send + 'static,
) -> CmdResult<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| AppError::internal(format!("background task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_until_the_passphrase_and_after_a_lock() {
        let dir = tempfile::tempdir().unwrap();
        let st = AppState::new(dir.path()).unwrap();
        assert!(!st.locked());
        assert_eq!(st.with_store(|_| Ok(())).unwrap_err().kind, "no_store");

        let pass = Passphrase::new("state test passphrase");
        drop(open::init_store(dir.path(), &pass, "MONUSCO", "Test O.", "Goma").unwrap());
        assert!(st.locked());
        assert_eq!(st.with_store(|_| Ok(())).unwrap_err().kind, "locked");
        assert_eq!(st.with_reader(|_| Ok(())).unwrap_err().kind, "locked");
        let wrong = st.unlock(&Passphrase::new("not the passphrase"));
        assert_eq!(wrong.unwrap_err().kind, "wrong_passphrase");
        assert!(st.locked());

        st.unlock(&pass).unwrap();
        assert!(!st.locked());
        let officer = st.with_store(|s| Ok(s.device().officer.clone())).unwrap();
        assert_eq!(officer, "Test O.");
        st.with_reader(|_| Ok(())).unwrap();

        st.lock();
        assert!(st.locked() && st.key().is_none());
        assert_eq!(st.with_store(|_| Ok(())).unwrap_err().kind, "locked");
        assert_eq!(st.with_reader(|_| Ok(())).unwrap_err().kind, "locked");
    }

    #[test]
    fn settings_default_to_a_five_minute_lock() {
        let s: Settings = serde_json::from_str(r#"{"language": "fr"}"#).unwrap();
        assert_eq!((s.language.as_str(), s.auto_lock_seconds), ("fr", 300));
    }
}
