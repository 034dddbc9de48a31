//! The Reports screen's commands: the MRM's tables for a period, and the incidents behind one
//! figure (which the caseload then shows). The rules live in `mrm_crdt::report`.

use std::sync::Arc;

use mrm_crdt::period::{Changed, FrozenPeriod};
use mrm_crdt::report::{CellFilter, Period, Report, Section};
use serde::Serialize;
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

/// The closed reporting periods this laptop holds, oldest first.
#[tauri::command]
pub async fn periods(st: St<'_>) -> CmdResult<Vec<FrozenPeriod>> {
    let st = st.inner().clone();
    blocking(move || st.with_store(|s| Ok(s.periods()?))).await
}

/// A closed period's frozen figures and what changed since.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodReport {
    pub period: FrozenPeriod,
    pub changes: Vec<Changed>,
    /// Incidents the period counted that this laptop does not hold (not compared).
    pub records_not_held: usize,
}

#[tauri::command]
pub async fn period_report(st: St<'_>, name: String) -> CmdResult<PeriodReport> {
    let st = st.inner().clone();
    blocking(move || {
        st.with_store(|s| {
            let period = s.period_named(&name)?;
            let diff = s.period_changes(&period)?;
            Ok(PeriodReport {
                period,
                changes: diff.changes,
                records_not_held: diff.records_not_held,
            })
        })
    })
    .await
}

/// Close `from`–`to` under `name` (reviewers): its figures frozen for the mission.
#[tauri::command]
pub async fn close_period(st: St<'_>, name: String, from: String, to: String) -> CmdResult<String> {
    let st = st.inner().clone();
    blocking(move || {
        let p = period(None, &from, &to)?;
        st.with_store(|s| Ok(s.close_period(&name, &p)?))
    })
    .await
}
