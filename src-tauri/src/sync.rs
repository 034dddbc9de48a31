//! The background sync: a thread of its own with its own store connection and a small async
//! runtime for the HTTP client. It syncs every interval when the store is enrolled, and at once
//! when woken (the "Sync now" button, a new enrollment). Progress, status and the records a sync
//! changed go to the UI as events; the UI never waits on the network.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mrm_crdt::Error;
use mrm_store::Store;
use mrm_sync::{self as sync, HttpTransport, Progress, SyncOptions, SyncReport};
use serde::Serialize;
use tauri::{AppHandle, Emitter};

use crate::open;

/// Events sent to the UI.
pub const EV_STATUS: &str = "sync-status";
pub const EV_PROGRESS: &str = "sync-progress";
pub const EV_RECORDS: &str = "records-changed";
/// The endpoint revoked this laptop and the store wiped itself.
pub const EV_REVOKED: &str = "revoked";

/// Default seconds between automatic syncs; `MRM_SYNC_INTERVAL_SECS` overrides (0: only on
/// demand, as the end-to-end tests use).
const DEFAULT_INTERVAL: u64 = 60;

/// Everything the status bar shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncStatus {
    /// Grows with every change, so the UI can drop a status older than one it already has.
    pub seq: u64,
    pub enrolled: bool,
    pub server_url: Option<String>,
    /// `officer`, `reviewer` or `admin`: what the endpoint lets this device write.
    pub role: Option<String>,
    /// `None` until the endpoint has been tried.
    pub online: Option<bool>,
    pub running: bool,
    /// Local changes the endpoint has not acknowledged.
    pub unpushed: i64,
    /// Drafts kept on this laptop: typed, not records yet, never sent.
    pub drafts: usize,
    pub last_sync_at: Option<String>,
    /// The last failure, in plain words.
    pub last_error: Option<String>,
    pub progress: Option<Progress>,
    pub last_report: Option<Summary>,
}

/// What the last sync did, for the status bar.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Changes the endpoint stored in this sync.
    pub pushed: usize,
    /// Changes sent that the endpoint already had (an earlier sync's answer was lost on the way):
    /// they are on the endpoint too, and the bar says so rather than "sent 0".
    pub push_duplicates: usize,
    /// Records the endpoint refused, kept on this laptop with the reason.
    pub held: Vec<mrm_store::HeldRecord>,
    /// Records whose received changes wait on this laptop (they cannot be applied yet; every
    /// other record was), with the reason.
    pub held_inbound: Vec<mrm_store::HeldRecord>,
    /// The endpoint found this store reusing another store's identity (a copied laptop, a
    /// restored backup): the bar offers to re-record the work under a new identity.
    pub identity_reused: bool,
    /// The endpoint was restored from a backup: this sync sent all this laptop's work again and
    /// read the mission again (the bar says so; nothing is lost).
    pub endpoint_restored: bool,
    pub pulled: usize,
    pub records_changed: usize,
    pub new_conflicts: usize,
    pub warnings: Vec<String>,
    /// This laptop's clock ahead of the endpoint's, in seconds (negative: behind), when more than
    /// a day either way: the bar tells the officer to set it.
    pub clock_ahead_secs: Option<i64>,
}

/// Shared between commands and the sync thread.
#[derive(Default)]
pub struct SyncControl {
    pub status: Mutex<SyncStatus>,
    wake: Mutex<Option<Sender<()>>>,
    cancel: AtomicBool,
}

impl SyncControl {
    /// Ask for a sync now (ignored when one is already queued).
    pub fn wake(&self) {
        if let Ok(w) = self.wake.lock() {
            if let Some(tx) = w.as_ref() {
                let _ = tx.send(());
            }
        }
    }

    pub fn snapshot(&self) -> SyncStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Update the status and tell the UI.
    pub fn update(&self, app: &AppHandle, f: impl FnOnce(&mut SyncStatus)) {
        let snap = match self.status.lock() {
            Ok(mut s) => {
                f(&mut s);
                s.seq += 1;
                s.clone()
            }
            Err(_) => return,
        };
        let _ = app.emit(EV_STATUS, &snap);
    }

    /// Refresh what the status knows from a store (enrollment, unsent changes, last sync).
    pub fn refresh_from(&self, app: &AppHandle, store: &Store) {
        let state = store.sync_state().ok().flatten();
        let unpushed = store.unpushed_count().unwrap_or(0);
        let drafts = store.drafts().map(|d| d.len()).unwrap_or(0);
        self.update(app, |s| {
            s.drafts = drafts;
            s.enrolled = state.is_some();
            s.server_url = state.as_ref().map(|st| st.server_url.clone());
            s.role = state.as_ref().map(|st| st.role.as_str().to_string());
            s.unpushed = unpushed;
            if let Some(st) = state {
                s.last_sync_at = st.last_sync_at;
                if s.last_error.is_none() {
                    s.last_error = st.last_error;
                }
            }
        });
    }

    /// Stop the sync in progress at the next step.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

fn interval() -> Option<Duration> {
    let secs = std::env::var("MRM_SYNC_INTERVAL_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_INTERVAL);
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Start the sync thread.
pub fn start(app: AppHandle, dir: PathBuf, control: Arc<crate::state::AppState>) {
    let (tx, rx) = mpsc::channel();
    if let Ok(mut w) = control.sync.wake.lock() {
        *w = Some(tx);
    }
    let spawned = std::thread::Builder::new()
        .name("mrm-sync".into())
        .spawn(move || run(app, dir, control, rx));
    if let Err(e) = spawned {
        tracing::error!("cannot start the sync thread: {e}");
    }
}

fn run(app: AppHandle, dir: PathBuf, st: Arc<crate::state::AppState>, rx: Receiver<()>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the sync runtime: {e}");
            return;
        }
    };
    let every = interval();
    // The first automatic attempt comes soon after start, once the window is up.
    let mut wait = every.map(|d| d.min(Duration::from_secs(3)));
    loop {
        let woken = match wait {
            Some(d) => rx.recv_timeout(d),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let manual = match woken {
            Ok(()) => true,
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        while rx.try_recv().is_ok() {}
        once(&rt, &app, &dir, &st, manual);
        wait = every;
    }
}

fn once(
    rt: &tokio::runtime::Runtime,
    app: &AppHandle,
    dir: &std::path::Path,
    st: &crate::state::AppState,
    manual: bool,
) {
    let control = &st.sync;
    // Locked (or no store yet): nothing to sync with, and no key to open it.
    let Some(key) = st.key() else {
        return;
    };
    let mut store = match open::open_store(dir, &key) {
        Ok(s) => s,
        Err(_) => return,
    };
    drop(key);
    let Some(state) = store.sync_state().ok().flatten() else {
        control.refresh_from(app, &store);
        return;
    };
    let transport = match HttpTransport::new(
        &state.server_url,
        &state.device_id,
        &state.secret,
        state.tls_pin.as_deref(),
    ) {
        Ok(t) => t.with_revocation_key(state.revocation_key.clone()),
        Err(e) => {
            control.update(app, |s| s.last_error = Some(e.to_string()));
            return;
        }
    };
    control.cancel.store(false, Ordering::Relaxed);
    // Locked since the key was read: `lock` drops the key, then cancels, so either this sees
    // no key or the sync below sees the cancel at its next step.
    if st.key().is_none() {
        return;
    }
    control.update(app, |s| {
        s.running = true;
        s.progress = None;
    });
    let opts = SyncOptions {
        // In the background an unreachable endpoint just means "offline"; a click tries harder.
        attempts: if manual { 3 } else { 1 },
        ..SyncOptions::default()
    };
    let mut progress = |p: Progress| {
        let _ = app.emit(EV_PROGRESS, &p);
        if let Ok(mut s) = control.status.lock() {
            s.progress = Some(p);
        }
    };
    let result: Result<SyncReport, Error> = rt.block_on(sync::sync(
        &mut store,
        &transport,
        &opts,
        &mut progress,
        &control.cancel,
    ));
    match &result {
        Ok(r) => {
            tracing::info!(
                pushed = r.pushed,
                pulled = r.pulled,
                records = r.records_changed.len(),
                "sync done"
            );
            if !r.records_changed.is_empty() {
                let _ = app.emit(EV_RECORDS, &r.records_changed);
            }
        }
        Err(Error::Revoked) => {
            // The store wiped itself: drop everything and tell the officer why.
            tracing::warn!("this device was revoked by the endpoint; its store was wiped");
            drop(store);
            st.lock();
            st.revoked.store(true, Ordering::Relaxed);
            control.update(app, |s| {
                *s = SyncStatus {
                    seq: s.seq,
                    last_error: Some(Error::Revoked.to_string()),
                    ..SyncStatus::default()
                };
            });
            let _ = app.emit(EV_REVOKED, ());
            return;
        }
        Err(e) => tracing::info!("sync failed: {e}"),
    }
    let locked = st.key().is_none();
    control.update(app, |s| {
        s.running = false;
        s.progress = None;
        match result {
            Ok(r) => {
                s.online = Some(true);
                s.last_error = None;
                s.last_report = Some(Summary {
                    pushed: r.pushed,
                    push_duplicates: r.push_duplicates,
                    held: r.held,
                    held_inbound: r.held_inbound,
                    identity_reused: r.identity_reused,
                    endpoint_restored: r.endpoint_restored,
                    pulled: r.pulled,
                    records_changed: r.records_changed.len(),
                    new_conflicts: r.new_conflicts,
                    warnings: r.warnings,
                    clock_ahead_secs: r.clock_ahead_secs,
                });
            }
            // Stopped by a lock: not a failure worth showing after the next unlock.
            Err(Error::Cancelled) if locked => {}
            // Out of reach of the endpoint: the normal state in the field, not a failure. The
            // bar says offline, what waits and the last sync; the network's words stay out.
            Err(Error::Network(_)) => {
                s.online = Some(false);
                s.last_error = None;
            }
            Err(e) => {
                s.online = Some(true);
                s.last_error = Some(e.to_string());
            }
        }
    });
    control.refresh_from(app, &store);
}
