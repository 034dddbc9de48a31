//! The Activities screen's commands: releases, trainings and engagements
//! ([`mrm_crdt::activity`]), recorded and read through the store like every other record.

use std::sync::Arc;

use mrm_crdt::activity::ActivityKind;
use mrm_crdt::conflicts::Conflict;
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::commands::wrote;
use crate::error::{AppError, CmdResult};
use crate::state::{blocking, AppState};

type St<'a> = State<'a, Arc<AppState>>;

fn kind_of(kind: &str) -> CmdResult<ActivityKind> {
    ActivityKind::parse(kind).ok_or_else(|| {
        AppError::from(mrm_crdt::Error::invalid(
            "activity",
            "kind",
            format!("`{kind}` is not release, training or engagement"),
        ))
    })
}

/// One activity with the fields written apart that hold several values.
#[derive(Serialize)]
pub struct ActivityDetail {
    #[serde(flatten)]
    pub record: serde_json::Value,
    pub conflicts: Vec<Conflict>,
}

/// The activities of `kind`, latest first, as JSON records.
#[tauri::command]
pub async fn list_activities(st: St<'_>, kind: String) -> CmdResult<Vec<serde_json::Value>> {
    let st = st.inner().clone();
    blocking(move || {
        let kind = kind_of(&kind)?;
        st.with_store(|s| Ok(s.activities(kind)?.iter().map(|a| a.to_json()).collect()))
    })
    .await
}

#[tauri::command]
pub async fn get_activity(st: St<'_>, id: String) -> CmdResult<ActivityDetail> {
    let st = st.inner().clone();
    blocking(move || {
        st.with_store(|s| {
            Ok(ActivityDetail {
                record: s.activity(&id)?.to_json(),
                conflicts: s.conflicts(&id)?,
            })
        })
    })
    .await
}

#[tauri::command]
pub async fn add_activity(
    app: AppHandle,
    st: St<'_>,
    kind: String,
    patch: serde_json::Value,
) -> CmdResult<String> {
    let st = st.inner().clone();
    blocking(move || {
        let kind = kind_of(&kind)?;
        st.with_store(|s| {
            let id = s.add_activity(kind, &patch)?;
            wrote(&app, &st, s);
            Ok(id)
        })
    })
    .await
}

#[tauri::command]
pub async fn edit_activity(
    app: AppHandle,
    st: St<'_>,
    id: String,
    patch: serde_json::Value,
) -> CmdResult<Option<String>> {
    let st = st.inner().clone();
    blocking(move || {
        st.with_store(|s| {
            let hash = s.edit_activity(&id, &patch)?;
            wrote(&app, &st, s);
            Ok(hash)
        })
    })
    .await
}

/// The figures of the activities dated `from`–`to` (YYYY-MM-DD), for the dashboard.
#[tauri::command]
pub async fn activity_figures(
    st: St<'_>,
    from: String,
    to: String,
) -> CmdResult<mrm_store::ActivityFigures> {
    let st = st.inner().clone();
    blocking(move || st.with_store(|s| Ok(s.activity_figures(&from, &to)?))).await
}
