//! What the app holds while it runs: the store folder, the UI's store behind a mutex, a
//! read-only connection for the caseload, settings, and the handle of the sync thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mrm_crdt::Store;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, CmdResult};
use crate::open;
use crate::sync::SyncControl;

/// Preferences kept beside the store, so they survive restarts (and are there before a store is).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `en` or `fr`; empty means "follow the system".
    pub language: String,
}

const SETTINGS_FILE: &str = "settings.json";

/// The app's state, shared by commands (in an `Arc`, so blocking work can own a handle).
pub struct AppState {
    pub dir: PathBuf,
    /// The store the UI reads and writes; `None` until the first-run setup.
    pub store: Mutex<Option<Store>>,
    reader: Mutex<Option<Connection>>,
    pub sync: SyncControl,
}

impl AppState {
    /// Open the store in `dir` if there is one.
    pub fn new(dir: &Path) -> CmdResult<Arc<AppState>> {
        let store = match open::open_store(dir) {
            Ok(s) => Some(s),
            Err(mrm_crdt::Error::NotInitialised(_)) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(Arc::new(AppState {
            dir: dir.to_path_buf(),
            store: Mutex::new(store),
            reader: Mutex::new(None),
            sync: SyncControl::default(),
        }))
    }

    /// Run `f` on the UI's store (call from a blocking task, never on the UI thread).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> CmdResult<T>) -> CmdResult<T> {
        let mut guard = self
            .store
            .lock()
            .map_err(|_| AppError::internal("the store lock is poisoned"))?;
        let store = guard.as_mut().ok_or_else(AppError::no_store)?;
        f(store)
    }

    /// Run `f` on the read-only connection (opened on first use).
    pub fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> CmdResult<T>) -> CmdResult<T> {
        let mut guard = self
            .reader
            .lock()
            .map_err(|_| AppError::internal("the reader lock is poisoned"))?;
        if guard.is_none() {
            if !self.dir.join(mrm_crdt::store::DB_FILE).is_file() {
                return Err(AppError::no_store());
            }
            *guard = Some(open::open_reader(&self.dir)?);
        }
        f(guard.as_ref().ok_or_else(AppError::no_store)?)
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
