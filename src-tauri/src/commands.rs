//! The commands the UI calls. Each one translates: JSON in, one call into `mrm-crdt` off the UI
//! thread, JSON or a typed [`AppError`] out. No business logic lives here.

use std::sync::Arc;

use mrm_crdt::conflicts::Conflict;
use mrm_crdt::crypto::Passphrase;
use mrm_crdt::edit::ReviewAction;
use mrm_crdt::history::HistoryEntry;
use mrm_crdt::input::{EventInput, IncidentPatch, PatrolPatch};
use mrm_crdt::model::{MissionConfig, Patrol};
use mrm_crdt::FieldError;
use mrm_store::{Device, IncidentView, PatrolRow, Stats};
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::caseload::{self, CaseloadPage, CaseloadQuery};
use crate::error::{AppError, CmdResult};
use crate::state::{blocking, AppState, Settings};
use crate::sync::SyncStatus;

type St<'a> = State<'a, Arc<AppState>>;

/// Who and where this app is, for the start screen and the header.
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    pub version: &'static str,
    pub data_dir: String,
    pub device: Option<Device>,
    pub config: Option<MissionConfig>,
    pub settings: Settings,
    /// A store exists but the passphrase has not been given (or the app locked itself).
    pub locked: bool,
    /// The endpoint revoked this laptop; its store was wiped.
    pub revoked: bool,
    /// What this laptop's role may do, from the one policy (`None` while locked or with no
    /// store): the UI offers only these actions.
    pub capabilities: Option<mrm_crdt::policy::Capabilities>,
}

fn info(st: &AppState) -> CmdResult<AppInfo> {
    let guard = st
        .store
        .lock()
        .map_err(|_| AppError::internal("the store lock is poisoned"))?;
    let (device, config, capabilities) = match guard.as_ref() {
        Some(s) => (
            Some(s.device().clone()),
            s.mission_config()?,
            Some(mrm_crdt::policy::capabilities(&s.writer()?)),
        ),
        None => (None, None, None),
    };
    drop(guard);
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        data_dir: st.dir.display().to_string(),
        device,
        config,
        settings: st.settings(),
        locked: st.locked(),
        revoked: st.revoked.load(std::sync::atomic::Ordering::Relaxed),
        capabilities,
    })
}

/// Parse a partial record sent by the UI, with errors that say what was wrong.
fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> CmdResult<T> {
    Ok(serde_json::from_value(v)?)
}

/// After a local write: update the "not yet sent" count, and nudge the sync thread.
pub(crate) fn wrote(app: &AppHandle, st: &AppState, store: &mrm_store::Store) {
    st.sync.refresh_from(app, store);
}

#[tauri::command]
pub async fn app_info(st: St<'_>) -> CmdResult<AppInfo> {
    let st = st.inner().clone();
    blocking(move || info(&st)).await
}

/// First run: create this laptop's store.
#[tauri::command]
pub async fn setup_store(
    app: AppHandle,
    st: St<'_>,
    mission: String,
    officer: String,
    team: String,
    passphrase: String,
) -> CmdResult<AppInfo> {
    let st = st.inner().clone();
    blocking(move || {
        {
            let guard = st
                .store
                .lock()
                .map_err(|_| AppError::internal("the store lock is poisoned"))?;
            if guard.is_some() || st.has_store() {
                return Err(AppError::new("refused", "this laptop already has a store"));
            }
            let pass = Passphrase::new(passphrase);
            let store = crate::open::init_store(&st.dir, &pass, &mission, &officer, &team)?;
            st.sync.refresh_from(&app, &store);
            drop(guard);
            st.revoked
                .store(false, std::sync::atomic::Ordering::Relaxed);
            st.adopt(store)?;
        }
        info(&st)
    })
    .await
}

/// Enroll with the mission endpoint using a one-time token, then sync.
#[tauri::command]
pub async fn enroll(
    app: AppHandle,
    st: St<'_>,
    server_url: String,
    token: String,
) -> CmdResult<SyncStatus> {
    let st = st.inner().clone();
    let url = server_url.trim().to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(AppError {
            kind: "invalid",
            message: "the endpoint address must start with http:// or https://".into(),
            fields: vec![FieldError {
                field: "server_url".into(),
                message: "must start with http:// or https://".into(),
                ..Default::default()
            }],
            code: None,
        });
    }
    blocking(move || {
        let key = st.key().ok_or_else(AppError::locked)?;
        let mut store = crate::open::open_store(&st.dir, &key)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| AppError::internal(format!("cannot start the network runtime: {e}")))?;
        rt.block_on(mrm_sync::enroll(&mut store, &url, &token, None))?;
        st.sync.refresh_from(&app, &store);
        st.sync.wake();
        Ok(st.sync.snapshot())
    })
    .await
}

/// Unlock the store with its passphrase (a wrong one: `wrong_passphrase`, nothing changes).
#[tauri::command]
pub async fn unlock(app: AppHandle, st: St<'_>, passphrase: String) -> CmdResult<AppInfo> {
    let st = st.inner().clone();
    blocking(move || {
        st.unlock(&Passphrase::new(passphrase))?;
        st.with_store(|s| {
            st.sync.refresh_from(&app, s);
            Ok(())
        })?;
        st.sync.wake();
        info(&st)
    })
    .await
}

/// Lock now: the store, its connections and the key are dropped.
#[tauri::command]
pub async fn lock(st: St<'_>) -> CmdResult<AppInfo> {
    let st = st.inner().clone();
    blocking(move || {
        st.lock();
        info(&st)
    })
    .await
}

/// Re-seal the store's key under a new passphrase (the database is not rewritten).
#[tauri::command]
pub async fn change_passphrase(st: St<'_>, old: String, new: String) -> CmdResult<()> {
    let st = st.inner().clone();
    blocking(move || {
        let (old, new) = (Passphrase::new(old), Passphrase::new(new));
        Ok(mrm_store::Store::change_passphrase(&st.dir, &old, &new)?)
    })
    .await
}

#[tauri::command]
pub async fn set_settings(st: St<'_>, settings: Settings) -> CmdResult<Settings> {
    let st = st.inner().clone();
    blocking(move || {
        st.save_settings(&settings)?;
        Ok(settings)
    })
    .await
}

#[tauri::command]
pub async fn list_patrols(st: St<'_>) -> CmdResult<Vec<PatrolRow>> {
    let st = st.inner().clone();
    blocking(move || st.with_store(|s| Ok(s.list_patrols()?))).await
}

#[tauri::command]
pub async fn get_patrol(st: St<'_>, id: String) -> CmdResult<Patrol> {
    let st = st.inner().clone();
    blocking(move || st.with_store(|s| Ok(s.patrol(&id)?))).await
}

#[tauri::command]
pub async fn add_patrol(app: AppHandle, st: St<'_>, patch: serde_json::Value) -> CmdResult<String> {
    let st = st.inner().clone();
    blocking(move || {
        let p: PatrolPatch = parse(patch)?;
        st.with_store(|s| {
            let id = s.add_patrol(&p)?;
            wrote(&app, &st, s);
            Ok(id)
        })
    })
    .await
}

#[tauri::command]
pub async fn edit_patrol(
    app: AppHandle,
    st: St<'_>,
    id: String,
    patch: serde_json::Value,
) -> CmdResult<Option<String>> {
    let st = st.inner().clone();
    blocking(move || {
        let p: PatrolPatch = parse(patch)?;
        st.with_store(|s| {
            let hash = s.edit_patrol(&id, &p)?;
            wrote(&app, &st, s);
            Ok(hash)
        })
    })
    .await
}

#[tauri::command]
pub async fn caseload(st: St<'_>, query: CaseloadQuery) -> CmdResult<CaseloadPage> {
    let st = st.inner().clone();
    blocking(move || st.with_reader(|c| caseload::query(c, &query))).await
}

/// An incident with everything the detail view shows.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub view: IncidentView,
    pub history: Vec<HistoryEntry>,
    /// Values the mission configuration does not list (warnings, not errors).
    pub warnings: Vec<FieldError>,
    /// Where the record stands with the endpoint, as its caseload row says.
    pub sync: mrm_store::RowSync,
}

#[tauri::command]
pub async fn get_incident(st: St<'_>, id: String) -> CmdResult<IncidentDetail> {
    let st = st.inner().clone();
    blocking(move || {
        st.with_store(|s| {
            let view = s.incident_view(&id)?;
            let warnings = s.warnings(&view.incident)?;
            Ok(IncidentDetail {
                history: s.history(&id)?,
                warnings,
                sync: s.row_sync(&id)?,
                view,
            })
        })
    })
    .await
}

#[tauri::command]
pub async fn add_incident(
    app: AppHandle,
    st: St<'_>,
    patch: serde_json::Value,
) -> CmdResult<String> {
    let st = st.inner().clone();
    blocking(move || {
        let p: IncidentPatch = parse(patch)?;
        st.with_store(|s| {
            let id = s.add_incident(&p)?;
            wrote(&app, &st, s);
            Ok(id)
        })
    })
    .await
}

#[tauri::command]
pub async fn edit_incident(
    app: AppHandle,
    st: St<'_>,
    id: String,
    patch: serde_json::Value,
) -> CmdResult<Option<String>> {
    let st = st.inner().clone();
    blocking(move || {
        let p: IncidentPatch = parse(patch)?;
        st.with_store(|s| {
            let hash = s.edit_incident(&id, &p)?;
            wrote(&app, &st, s);
            Ok(hash)
        })
    })
    .await
}

#[tauri::command]
pub async fn verify(
    app: AppHandle,
    st: St<'_>,
    incident_id: String,
    violation_id: String,
    event: serde_json::Value,
) -> CmdResult<String> {
    let st = st.inner().clone();
    blocking(move || {
        let e: EventInput = parse(event)?;
        st.with_store(|s| {
            let hash = s.verify(&incident_id, &violation_id, &e)?;
            wrote(&app, &st, s);
            Ok(hash)
        })
    })
    .await
}

#[tauri::command]
pub async fn review(
    app: AppHandle,
    st: St<'_>,
    incident_id: String,
    action: String,
    comment: Option<String>,
) -> CmdResult<String> {
    let action = match action.as_str() {
        "submit" => ReviewAction::Submit,
        "return" => ReviewAction::Return,
        "accept" => ReviewAction::Accept,
        "comment" => ReviewAction::Comment,
        other => {
            return Err(AppError::new(
                "invalid",
                format!("unknown review action `{other}`"),
            ))
        }
    };
    let st = st.inner().clone();
    blocking(move || {
        st.with_store(|s| {
            let hash = s.review(&incident_id, action, comment.as_deref())?;
            wrote(&app, &st, s);
            Ok(hash)
        })
    })
    .await
}

/// Keep one of a field's conflicting values.
#[tauri::command]
pub async fn resolve(
    app: AppHandle,
    st: St<'_>,
    id: String,
    path: String,
    value: serde_json::Value,
) -> CmdResult<Vec<Conflict>> {
    let st = st.inner().clone();
    blocking(move || {
        st.with_store(|s| {
            s.resolve(&id, &path, &value)?;
            wrote(&app, &st, s);
            Ok(s.conflicts(&id)?)
        })
    })
    .await
}

/// Split an incident recorded twice under one id (reviewers); returns the new record's id.
#[tauri::command]
pub async fn split_incident(app: AppHandle, st: St<'_>, id: String) -> CmdResult<String> {
    let st = st.inner().clone();
    blocking(move || {
        st.with_store(|s| {
            let new_id = s.split_incident(&id)?;
            wrote(&app, &st, s);
            Ok(new_id)
        })
    })
    .await
}

/// The dashboard's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    #[serde(flatten)]
    pub stats: Stats,
    pub incidents_by_month: Vec<(String, i64)>,
}

#[tauri::command]
pub async fn dashboard(st: St<'_>) -> CmdResult<Dashboard> {
    let st = st.inner().clone();
    blocking(move || {
        let stats = st.with_store(|s| Ok(s.stats()?))?;
        let incidents_by_month = st.with_reader(caseload::incidents_by_month)?;
        Ok(Dashboard {
            stats,
            incidents_by_month,
        })
    })
    .await
}

#[tauri::command]
pub async fn sync_status(st: St<'_>) -> CmdResult<SyncStatus> {
    let st = st.inner().clone();
    blocking(move || {
        // Keep the counts fresh even before the first sync.
        let (state, unpushed, drafts) = st.with_store(|s| {
            Ok((
                s.sync_state()?,
                s.unpushed_count()?,
                s.drafts().map(|d| d.len()).unwrap_or(0),
            ))
        })?;
        let mut snap = st.sync.snapshot();
        snap.enrolled = state.is_some();
        snap.server_url = state.as_ref().map(|x| x.server_url.clone());
        snap.role = state.as_ref().map(|x| x.role.as_str().to_string());
        let last_sync_at = state.and_then(|x| x.last_sync_at);
        snap.unpushed = unpushed;
        snap.drafts = drafts;
        snap.last_sync_at = last_sync_at.or(snap.last_sync_at);
        Ok(snap)
    })
    .await
}

/// After a sync found this store reusing another store's identity (a copied laptop, a restored
/// backup): re-record its unsent work under a new identity (`Store::recover_identity`); the
/// enrollment is dropped, so the app asks for a new token next. Returns how many records were
/// re-recorded.
#[tauri::command]
pub async fn recover_identity(app: AppHandle, st: St<'_>) -> CmdResult<usize> {
    let st = st.inner().clone();
    blocking(move || {
        let n = st.with_store(|s| Ok(s.recover_identity()?.records.len()))?;
        st.with_store(|s| {
            st.sync.refresh_from(&app, s);
            Ok(())
        })?;
        st.sync.update(&app, |s| s.last_report = None);
        Ok(n)
    })
    .await
}

#[tauri::command]
pub fn sync_now(st: St<'_>) {
    st.sync.wake();
}

#[tauri::command]
pub fn cancel_sync(st: St<'_>) {
    st.sync.cancel();
}
