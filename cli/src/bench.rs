//! `mrm bench`: figures for the store on this machine. Performance goals live here, not in timed
//! test assertions.

use std::time::{Duration, Instant};

use anyhow::Context;
use mrm_crdt::input::IncidentPatch;
use mrm_crdt::model::ViolationType;
use mrm_crdt::store::IncidentFilter;
use mrm_crdt::Store;

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i].as_secs_f64() * 1000.0
}

/// A throwaway folder under the system temp dir, removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn run(incidents: usize, json: bool) -> anyhow::Result<()> {
    let root = TempDir(std::env::temp_dir().join(format!("mrm-bench-{}", uuid::Uuid::now_v7())));
    let dir = root.0.join("a");
    let mut store = Store::init(&dir, "BENCH", "Bench Officer", "A")?;

    let t = Instant::now();
    let ids = mrm_crdt::demo::populate(&mut store, incidents, 7)?;
    let populate_s = t.elapsed().as_secs_f64();

    let mut edits = Vec::new();
    for (n, id) in ids.iter().cycle().take(200).enumerate() {
        let patch = IncidentPatch {
            narrative: Some(format!("Edited narrative number {n}.")),
            ..IncidentPatch::default()
        };
        let t = Instant::now();
        store.edit_incident(id, &patch)?;
        edits.push(t.elapsed());
    }

    let filter = IncidentFilter {
        kind: Some(ViolationType::Abduction),
        text: Some("kiwanja".into()),
        limit: Some(50),
        ..IncidentFilter::default()
    };
    let mut lists = Vec::new();
    let mut matched = 0;
    for _ in 0..50 {
        let t = Instant::now();
        matched = store.list_incidents(&filter)?.total;
        lists.push(t.elapsed());
    }
    drop(store);

    let mut opens = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let s = Store::open(&dir)?;
        s.list_incidents(&IncidentFilter {
            limit: Some(50),
            ..IncidentFilter::default()
        })?;
        opens.push(t.elapsed());
    }

    let store = Store::open(&dir)?;
    let changes = store.changes_missing_from(None)?;
    let bytes: usize = changes.iter().map(|(_, b)| b.len()).sum();
    let n_changes = changes.len();
    let mut fresh = Store::init(&root.0.join("b"), "BENCH", "Other Officer", "B")?;
    let t = Instant::now();
    fresh.import(changes).context("import failed")?;
    let import_s = t.elapsed().as_secs_f64();

    let figures = serde_json::json!({
        "incidents": incidents,
        "populate_incidents_per_s": incidents as f64 / populate_s,
        "durable_edit_ms_p50": percentile(&mut edits, 0.5),
        "durable_edit_ms_p95": percentile(&mut edits, 0.95),
        "filtered_list_ms_p50": percentile(&mut lists, 0.5),
        "filtered_list_matches": matched,
        "open_and_first_page_ms_p50": percentile(&mut opens, 0.5),
        "import_changes": n_changes,
        "import_changes_per_s": n_changes as f64 / import_s,
        "change_bytes_per_incident": bytes as f64 / incidents.max(1) as f64,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
        return Ok(());
    }
    println!("store of {incidents} incidents, on this machine:");
    for (k, v) in figures.as_object().into_iter().flatten() {
        match v.as_f64() {
            Some(f) if f.fract() != 0.0 => println!("  {k:<30} {f:.2}"),
            _ => println!("  {k:<30} {v}"),
        }
    }
    Ok(())
}
