//! Drafts from the app: what an officer typed that cannot be saved as a record yet, kept sealed in
//! the store (`mrm_store::Draft`) so that a lock, the auto-lock, a crash or a restart never
//! loses it. The status bar counts them apart from what waits to be sent: a draft never syncs.

use std::sync::Arc;

use mrm_store::Draft;
use tauri::{AppHandle, State};

use crate::error::CmdResult;
use crate::state::{blocking, AppState};

type St<'a> = State<'a, Arc<AppState>>;

/// Keep `form` (the form as the app holds it) as the draft `key`.
#[tauri::command]
pub async fn save_draft(
    app: AppHandle,
    st: St<'_>,
    key: String,
    form: serde_json::Value,
) -> CmdResult<()> {
    let st = st.inner().clone();
    blocking(move || {
        st.with_store(|s| {
            s.save_draft(&key, &form)?;
            st.sync.refresh_from(&app, s);
            Ok(())
        })
    })
    .await
}

/// The draft kept under `key`, if any.
#[tauri::command]
pub async fn get_draft(st: St<'_>, key: String) -> CmdResult<Option<Draft>> {
    let st = st.inner().clone();
    blocking(move || st.with_store(|s| Ok(s.draft(&key)?))).await
}

/// Forget the draft `key` (saved as a record, or discarded).
#[tauri::command]
pub async fn discard_draft(app: AppHandle, st: St<'_>, key: String) -> CmdResult<()> {
    let st = st.inner().clone();
    blocking(move || {
        st.with_store(|s| {
            s.discard_draft(&key)?;
            st.sync.refresh_from(&app, s);
            Ok(())
        })
    })
    .await
}
