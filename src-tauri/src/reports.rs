//! The Reports screen's commands: the MRM's tables for a period, and the incidents behind one
//! figure (which the caseload then shows). The rules live in `mrm_crdt::report`.

use std::sync::Arc;

use mrm_crdt::report::{CellFilter, Period, Report, Section};
use tauri::State;

use crate::error::{AppError, CmdResult};
use crate::state::{blocking, AppState};

type St<'a> = State<'a, Arc<AppState>>;

/// The period a report covers: a calendar year (`year`) or the days `from`–`to` (YYYY-MM-DD).
fn period(year: Option<i32>, from: &str, to: &str) -> CmdResult<Period> {
    let p = match year {
        Some(y) => Period::year(y),
        None => Period::new(from, to),
    };
    p.map_err(AppError::from)
}

/// The GHN tables for `from`–`to`, or the annual tables of `year` when it is given.
#[tauri::command]
pub async fn report(st: St<'_>, year: Option<i32>, from: String, to: String) -> CmdResult<Report> {
    let st = st.inner().clone();
    blocking(move || {
        let p = period(year, &from, &to)?;
        let kind = if year.is_some() { "annual" } else { "ghn" };
        st.with_store(|s| Ok(s.report(kind, &p)?))
    })
    .await
}

/// The ids of the incidents behind one figure of the report of `from`–`to` (or `year`).
#[tauri::command]
pub async fn report_records(
    st: St<'_>,
    year: Option<i32>,
    from: String,
    to: String,
    section: String,
    cell: CellFilter,
) -> CmdResult<Vec<String>> {
    let st = st.inner().clone();
    blocking(move || {
        let p = period(year, &from, &to)?;
        let section: Section = section.parse().map_err(AppError::from)?;
        st.with_store(|s| Ok(s.report_records(&p, section, &cell)?))
    })
    .await
}
