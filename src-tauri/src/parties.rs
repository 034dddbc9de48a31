//! The party registry's commands: the names typed in violations that the mission's registry
//! does not know, and a reviewer matching one to a party of the registry
//! ([`mrm_store::Store::match_party`]; the rules live in `mrm_crdt::parties`).

use std::sync::Arc;

use mrm_store::{PartyMatch, UnmatchedParty};
use tauri::{AppHandle, State};

use crate::commands::wrote;
use crate::error::CmdResult;
use crate::state::{blocking, AppState};

type St<'a> = State<'a, Arc<AppState>>;

/// Names written in violations that no party of the registry goes by, most used first.
#[tauri::command]
pub async fn unmatched_parties(st: St<'_>) -> CmdResult<Vec<UnmatchedParty>> {
    let st = st.inner().clone();
    blocking(move || st.with_store(|s| Ok(s.unmatched_parties()?))).await
}

/// Match every violation naming `name` to the registry's party `party_id` (reviewers only);
/// what was matched, and the incidents this device could not change.
#[tauri::command]
pub async fn match_party(
    app: AppHandle,
    st: St<'_>,
    name: String,
    party_id: String,
) -> CmdResult<PartyMatch> {
    let st = st.inner().clone();
    blocking(move || {
        st.with_store(|s| {
            let m = s.match_party(&name, &party_id)?;
            if !m.incidents.is_empty() {
                wrote(&app, &st, s);
            }
            Ok(m)
        })
    })
    .await
}
