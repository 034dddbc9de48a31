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

/// What one suite measures, in milliseconds unless named otherwise.
struct Suite {
    populate_incidents_per_s: f64,
    edit_p50: f64,
    edit_p95: f64,
    list_p50: f64,
    matched: i64,
    open_p50: f64,
    changes: Vec<(String, Vec<u8>)>,
}

/// The same workload on an encrypted store (`key` given) or on the unencrypted baseline.
fn suite(dir: &std::path::Path, incidents: usize, encrypted: bool) -> anyhow::Result<Suite> {
    let pass = mrm_crdt::crypto::Passphrase::new("bench passphrase");
    let mut store = if encrypted {
        Store::init(dir, &pass, "BENCH", "Bench Officer", "A")?
    } else {
        Store::init_unencrypted_baseline(dir, "BENCH", "Bench Officer", "A")?
    };
    let key = store.key().cloned();
    let reopen = || match &key {
        Some(k) => Store::open_with_key(dir, k),
        None => Store::open_unencrypted_baseline(dir),
    };

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
        let s = reopen()?;
        s.list_incidents(&IncidentFilter {
            limit: Some(50),
            ..IncidentFilter::default()
        })?;
        opens.push(t.elapsed());
    }
    let changes = reopen()?.changes_missing_from(None)?;
    Ok(Suite {
        populate_incidents_per_s: incidents as f64 / populate_s,
        edit_p50: percentile(&mut edits, 0.5),
        edit_p95: percentile(&mut edits, 0.95),
        list_p50: percentile(&mut lists, 0.5),
        matched,
        open_p50: percentile(&mut opens, 0.5),
        changes,
    })
}

fn cost_pct(with: f64, without: f64) -> f64 {
    (with / without - 1.0) * 100.0
}

pub fn run(incidents: usize, json: bool) -> anyhow::Result<()> {
    let root = TempDir(std::env::temp_dir().join(format!("mrm-bench-{}", uuid::Uuid::now_v7())));
    // Baseline first, then the same workload encrypted, in one run on one machine.
    let plain = suite(&root.0.join("plain"), incidents, false)?;
    let enc = suite(&root.0.join("a"), incidents, true)?;

    // Unlocking (Argon2id) is paid once per session, by design; reported on its own.
    let pass = mrm_crdt::crypto::Passphrase::new("bench passphrase");
    let mut unlocks = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        mrm_crdt::store::unlock(&root.0.join("a"), &pass)?;
        unlocks.push(t.elapsed());
    }

    let changes = enc.changes;
    let bytes: usize = changes.iter().map(|(_, b)| b.len()).sum();
    let n_changes = changes.len();
    let mut fresh = Store::init(&root.0.join("b"), &pass, "BENCH", "Other Officer", "B")?;
    let t = Instant::now();
    fresh.import(changes).context("import failed")?;
    let import_s = t.elapsed().as_secs_f64();

    let figures = serde_json::json!({
        "incidents": incidents,
        "populate_incidents_per_s": enc.populate_incidents_per_s,
        "durable_edit_ms_p50": enc.edit_p50,
        "durable_edit_ms_p95": enc.edit_p95,
        "filtered_list_ms_p50": enc.list_p50,
        "filtered_list_matches": enc.matched,
        "open_and_first_page_ms_p50": enc.open_p50,
        "unlock_argon2id_ms_p50": percentile(&mut unlocks, 0.5),
        "import_changes": n_changes,
        "import_changes_per_s": n_changes as f64 / import_s,
        "change_bytes_per_incident": bytes as f64 / incidents.max(1) as f64,
        "unencrypted_durable_edit_ms_p50": plain.edit_p50,
        "unencrypted_filtered_list_ms_p50": plain.list_p50,
        "unencrypted_open_and_first_page_ms_p50": plain.open_p50,
        "unencrypted_populate_incidents_per_s": plain.populate_incidents_per_s,
        "encryption_cost_durable_edit_pct": cost_pct(enc.edit_p50, plain.edit_p50),
        "encryption_cost_filtered_list_pct": cost_pct(enc.list_p50, plain.list_p50),
        "encryption_cost_open_pct": cost_pct(enc.open_p50, plain.open_p50),
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
        return Ok(());
    }
    println!("store of {incidents} incidents, on this machine (encrypted unless named otherwise):");
    for (k, v) in figures.as_object().into_iter().flatten() {
        match v.as_f64() {
            Some(f) if f.fract() != 0.0 => println!("  {k:<40} {f:.2}"),
            _ => println!("  {k:<40} {v}"),
        }
    }
    Ok(())
}
