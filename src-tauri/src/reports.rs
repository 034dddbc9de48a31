//! The Reports screen's commands: the MRM's tables for a period, and the incidents behind one
//! figure (which the caseload then shows). The rules live in `mrm_crdt::report`.

use std::sync::Arc;

use mrm_crdt::period::{Changed, FrozenPeriod};
use mrm_crdt::report::{CellFilter, Period, Report, Section};
use serde::Serialize;
use tauri::{AppHandle, Manager, State};

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

/// Where exported files go: the user's Downloads folder (the app's own folder without one).
fn export_dir(app: &AppHandle, st: &AppState) -> std::path::PathBuf {
    app.path()
        .download_dir()
        .ok()
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| st.dir.join("exports"))
}

/// Write `bytes` to `dir/name` (a new name if one exists), atomically; returns the path.
fn save(dir: &std::path::Path, name: &str, bytes: &[u8]) -> CmdResult<String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| AppError::new("io", format!("cannot create {}: {e}", dir.display())))?;
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let mut path = dir.join(name);
    let mut n = 2;
    while std::fs::symlink_metadata(&path).is_ok() {
        path = dir.join(format!("{stem} ({n}).{ext}"));
        n += 1;
    }
    mrm_export::files::write_private(&path, bytes)
        .map_err(|e| AppError::new("io", format!("cannot write {}: {e}", path.display())))?;
    Ok(path.display().to_string())
}

/// Write the report of `from`–`to` (or `year`) as an XLSX workbook (every table, and the
/// violations counted) to the Downloads folder; returns its path. The file is not encrypted.
#[tauri::command]
pub async fn export_report_xlsx(
    app: AppHandle,
    st: St<'_>,
    year: Option<i32>,
    from: String,
    to: String,
) -> CmdResult<String> {
    let st = st.inner().clone();
    blocking(move || {
        let p = period(year, &from, &to)?;
        let kind = if year.is_some() { "annual" } else { "ghn" };
        let bytes = st.with_store(|s| {
            let r = s.report(kind, &p)?;
            let rows = s.report_violations(&p)?;
            mrm_export::xlsx::workbook(&r, &rows, mrm_export::Lang::En)
                .map_err(|e| AppError::new("export", e.to_string()))
        })?;
        save(
            &export_dir(&app, &st),
            &format!("mrm-{kind}-{}-{}.xlsx", p.from, p.to),
            &bytes,
        )
    })
    .await
}

/// Write the one-page factsheet of `from`–`to` (or `year`), in `lang` (`en`, `fr`), as PDF to
/// the Downloads folder; returns its path.
#[tauri::command]
pub async fn export_factsheet(
    app: AppHandle,
    st: St<'_>,
    year: Option<i32>,
    from: String,
    to: String,
    lang: String,
) -> CmdResult<String> {
    let st = st.inner().clone();
    blocking(move || {
        let p = period(year, &from, &to)?;
        let lang: mrm_export::Lang = lang
            .parse()
            .map_err(|e: String| AppError::new("invalid", e))?;
        let bytes = st.with_store(|s| {
            mrm_export::factsheet::of_store(s, year, &p, lang)
                .map_err(|e| AppError::new("export", e.to_string()))
        })?;
        save(
            &export_dir(&app, &st),
            &format!("mrm-factsheet-{}-{}.pdf", p.from, p.to),
            &bytes,
        )
    })
    .await
}

/// A file the caseload exports to.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Spreadsheet-safe CSV ([`mrm_store::write_csv`]).
    Csv,
    /// An XLSX workbook: every cell a string, never a formula, but the children's counts
    /// ([`mrm_export::xlsx::caseload`]).
    Xlsx,
}

/// Write the incidents the caseload's filters match (every match, not only the page shown), one
/// row per violation (those its violation filters match), as `format` to the Downloads folder;
/// returns its path. The file is not encrypted. Both formats hold the same table
/// ([`mrm_store::Store::caseload_table`]).
#[tauri::command]
pub async fn export_caseload(
    app: AppHandle,
    st: St<'_>,
    query: crate::caseload::CaseloadQuery,
    format: ExportFormat,
) -> CmdResult<String> {
    let st = st.inner().clone();
    blocking(move || {
        let filter = query.filter()?;
        let (head, rows) = st.with_store(|s| Ok(s.caseload_table(&filter)?))?;
        let (bytes, ext) = match format {
            ExportFormat::Csv => {
                let mut bytes = Vec::new();
                mrm_store::write_csv(&head, &rows, &mut bytes)?;
                (bytes, "csv")
            }
            ExportFormat::Xlsx => (
                mrm_export::xlsx::caseload(&head, &rows)
                    .map_err(|e| AppError::new("export", e.to_string()))?,
                "xlsx",
            ),
        };
        save(
            &export_dir(&app, &st),
            &format!(
                "mrm-caseload-{}.{ext}",
                chrono::Local::now().format("%Y-%m-%d")
            ),
            &bytes,
        )
    })
    .await
}
