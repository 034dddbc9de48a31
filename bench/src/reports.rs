//! `mrm-bench reports`: how long the MRM's reports take over a large caseload on this machine
//! (the GHN of a quarter, a year, the records behind a figure, the workbook, the factsheet).
//! Figures only: performance goals are never timed assertions.

use std::time::Instant;

use crate::caseload::percentiles;

use chrono::Datelike;
use mrm_crdt::report::{CellFilter, Period, Section};
use mrm_store::Store;

/// `keep`: a folder to make the caseload in once and measure again on later runs (recording
/// 100,000 incidents takes half an hour on two cores); without it, a temporary one.
/// `caseload`: measure the caseload's filters (`mrm-bench caseload`) instead of the reports.
pub fn run(
    incidents: usize,
    keep: Option<std::path::PathBuf>,
    json: bool,
    caseload: bool,
) -> anyhow::Result<()> {
    match keep {
        Some(dir) => measure(&dir, incidents, json, caseload),
        None => {
            let dir =
                std::env::temp_dir().join(format!("mrm-bench-reports-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let result = measure(&dir, incidents, json, caseload);
            let _ = std::fs::remove_dir_all(&dir);
            result
        }
    }
}

fn measure(
    dir: &std::path::Path,
    incidents: usize,
    json: bool,
    caseload: bool,
) -> anyhow::Result<()> {
    let pass = mrm_crdt::crypto::Passphrase::new("bench passphrase");
    let open = |decided, setup_s| {
        if caseload {
            measure_caseload(dir, &pass, json)
        } else {
            measure_open(dir, &pass, decided, setup_s, json)
        }
    };
    if dir.join(mrm_store::KEY_FILE).exists() {
        return open(0, 0.0);
    }
    let mut store = Store::init(dir, &pass, "BENCH", "Bench Reviewer", "A")?;
    let t = Instant::now();
    let mut ids = Vec::with_capacity(incidents);
    // In batches, with progress: a large caseload takes minutes to record one edit at a time.
    for (i, chunk) in (0..incidents)
        .collect::<Vec<_>>()
        .chunks(10_000)
        .enumerate()
    {
        ids.extend(mrm_store::demo::populate(
            &mut store,
            chunk.len(),
            7 + i as u64,
        )?);
        if !json {
            eprintln!("  recorded {} of {incidents} incidents", ids.len());
        }
    }
    let decided = mrm_store::demo::decide(&mut store, &ids, 7)?;
    let setup_s = t.elapsed().as_secs_f64();
    drop(store);
    open(decided, setup_s)
}

/// The caseload's filters on the caseload in `dir`, freshly opened.
fn measure_caseload(
    dir: &std::path::Path,
    pass: &mrm_crdt::crypto::Passphrase,
    json: bool,
) -> anyhow::Result<()> {
    let store = Store::open(dir, pass)?;
    let stats = store.stats()?;
    if !json {
        println!(
            "caseload filters over {} incidents ({} violations), a page of 50 with the match's counts, 50 runs each:",
            stats.incidents, stats.violations
        );
    }
    let rows = crate::caseload::measure(&store, json)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "incidents": stats.incidents, "filters": rows
            }))?
        );
    }
    Ok(())
}

/// The measurements, on the caseload in `dir` as a reviewer opens it: a freshly opened store.
fn measure_open(
    dir: &std::path::Path,
    pass: &mrm_crdt::crypto::Passphrase,
    decided: usize,
    setup_s: f64,
    json: bool,
) -> anyhow::Result<()> {
    let store = Store::open(dir, pass)?;
    let today = mrm_store::today();
    let quarter = Period::quarters(today.year())
        .into_iter()
        .map(|(_, p)| p)
        .rfind(|p| p.from <= today)
        .unwrap_or(Period::year(today.year())?);
    let year = Period::year(today.year())?;
    let stats = store.stats()?;
    let (ghn_p50, ghn_max) = percentiles(7, || Ok(store.report("ghn", &quarter)?))?;
    let (annual_p50, annual_max) = percentiles(5, || Ok(store.report("annual", &year)?))?;
    let cell = CellFilter {
        kind: Some(mrm_crdt::model::ViolationType::Killing),
        ..CellFilter::default()
    };
    let (records_p50, _) = percentiles(5, || {
        Ok(store.report_records(&year, Section::Verified, &cell)?)
    })?;
    let annual = store.report("annual", &year)?;
    let (xlsx_p50, _) = percentiles(3, || {
        let rows = store.report_violations(&year)?;
        Ok(mrm_export::xlsx::workbook(
            &annual,
            &rows,
            mrm_export::Lang::En,
        )?)
    })?;
    let heading = mrm_export::factsheet::Heading {
        mission: "BENCH".into(),
        period: today.year().to_string(),
        made_on: today.to_string(),
    };
    let (pdf_p50, _) = percentiles(5, || {
        Ok(mrm_export::factsheet::pdf(
            &annual,
            &heading,
            mrm_export::Lang::En,
        ))
    })?;
    let figures = serde_json::json!({
        "incidents": stats.incidents,
        "violations": stats.violations,
        "decisions": decided,
        "setup_s": setup_s,
        "ghn_quarter_ms_p50": ghn_p50,
        "ghn_quarter_ms_max": ghn_max,
        "annual_ms_p50": annual_p50,
        "annual_ms_max": annual_max,
        "records_of_a_figure_ms_p50": records_p50,
        "xlsx_year_ms_p50": xlsx_p50,
        "factsheet_ms_p50": pdf_p50,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        println!(
            "caseload: {} incidents, {} violations, {decided} decisions (recorded in {setup_s:.0} s)",
            stats.incidents, stats.violations
        );
        println!(
            "GHN of {} to {}: p50 {ghn_p50:.0} ms, slowest {ghn_max:.0} ms",
            quarter.from, quarter.to
        );
        println!(
            "annual report {}: p50 {annual_p50:.0} ms, slowest {annual_max:.0} ms",
            today.year()
        );
        println!("records behind a figure: p50 {records_p50:.0} ms");
        println!("workbook of the year (XLSX): p50 {xlsx_p50:.0} ms");
        println!("factsheet (PDF): p50 {pdf_p50:.1} ms");
    }
    Ok(())
}
