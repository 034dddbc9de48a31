//! `mrm-bench store`: figures for the store on this machine. Performance goals live here, not in timed
//! test assertions.

use std::time::{Duration, Instant};

use anyhow::Context;
use mrm_crdt::input::IncidentPatch;
use mrm_crdt::model::ViolationType;
use mrm_store::IncidentFilter;
use mrm_store::Store;

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

/// One store under measurement: the encrypted one, or the unencrypted baseline.
struct Subject {
    dir: std::path::PathBuf,
    key: Option<mrm_crdt::crypto::Key>,
    store: Option<Store>,
    ids: Vec<String>,
    populate_s: f64,
    edits: Vec<Duration>,
    lists: Vec<Duration>,
    opens: Vec<Duration>,
    matched: i64,
}

impl Subject {
    fn new(dir: std::path::PathBuf, encrypted: bool, incidents: usize) -> anyhow::Result<Subject> {
        let pass = mrm_crdt::crypto::Passphrase::new("bench passphrase");
        let mut store = if encrypted {
            Store::init(&dir, &pass, "BENCH", "Bench Officer", "A")?
        } else {
            Store::init_unencrypted_baseline(&dir, "BENCH", "Bench Officer", "A")?
        };
        let t = Instant::now();
        let ids = mrm_store::demo::populate(&mut store, incidents, 7)?;
        Ok(Subject {
            key: store.key().cloned(),
            populate_s: t.elapsed().as_secs_f64(),
            dir,
            store: Some(store),
            ids,
            edits: Vec::new(),
            lists: Vec::new(),
            opens: Vec::new(),
            matched: 0,
        })
    }

    fn reopen(&self) -> mrm_crdt::Result<Store> {
        match &self.key {
            Some(k) => Store::open_with_key(&self.dir, k),
            None => Store::open_unencrypted_baseline(&self.dir),
        }
    }

    fn store(&mut self) -> anyhow::Result<&mut Store> {
        self.store.as_mut().context("the store is closed")
    }

    fn edit(&mut self, n: usize) -> anyhow::Result<()> {
        let id = self.ids[n % self.ids.len()].clone();
        let patch = IncidentPatch {
            narrative: Some(format!("Edited narrative number {n}.")),
            ..IncidentPatch::default()
        };
        let t = Instant::now();
        self.store()?.edit_incident(&id, &patch)?;
        self.edits.push(t.elapsed());
        Ok(())
    }

    fn list(&mut self, filter: &IncidentFilter) -> anyhow::Result<()> {
        let t = Instant::now();
        self.matched = self.store()?.list_incidents(filter)?.total;
        self.lists.push(t.elapsed());
        Ok(())
    }

    fn open(&mut self) -> anyhow::Result<()> {
        let t = Instant::now();
        let s = self.reopen()?;
        s.list_incidents(&IncidentFilter {
            limit: Some(50),
            ..IncidentFilter::default()
        })?;
        self.opens.push(t.elapsed());
        Ok(())
    }
}

/// Each step runs on the baseline and then on the encrypted store, alternately, so that both
/// see the same machine load.
fn measure(plain: &mut Subject, enc: &mut Subject) -> anyhow::Result<()> {
    for n in 0..200 {
        plain.edit(n)?;
        enc.edit(n)?;
    }
    let filter = IncidentFilter {
        kind: Some(ViolationType::Abduction),
        text: Some("kiwanja".into()),
        limit: Some(50),
        ..IncidentFilter::default()
    };
    for _ in 0..50 {
        plain.list(&filter)?;
        enc.list(&filter)?;
    }
    plain.store = None;
    enc.store = None;
    for _ in 0..30 {
        plain.open()?;
        enc.open()?;
    }
    Ok(())
}

fn cost_pct(with: f64, without: f64) -> f64 {
    (with / without - 1.0) * 100.0
}

pub fn run(incidents: usize, json: bool) -> anyhow::Result<()> {
    let root = TempDir(std::env::temp_dir().join(format!("mrm-bench-{}", uuid::Uuid::now_v7())));
    // The same workload on an unencrypted baseline and on an encrypted store, in one run.
    let mut plain = Subject::new(root.0.join("plain"), false, incidents)?;
    let mut enc = Subject::new(root.0.join("a"), true, incidents)?;
    measure(&mut plain, &mut enc)?;

    // Unlocking (Argon2id) is paid once per session, by design; reported on its own.
    let pass = mrm_crdt::crypto::Passphrase::new("bench passphrase");
    let mut unlocks = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        mrm_store::unlock(&root.0.join("a"), &pass)?;
        unlocks.push(t.elapsed());
    }

    let changes = enc.reopen()?.changes_missing_from(None)?;
    let bytes: usize = changes.iter().map(|(_, b)| b.len()).sum();
    let n_changes = changes.len();
    let mut fresh = Store::init(&root.0.join("b"), &pass, "BENCH", "Other Officer", "B")?;
    let t = Instant::now();
    fresh.import(changes).context("import failed")?;
    let import_s = t.elapsed().as_secs_f64();

    let p50 = |v: &mut Vec<Duration>| percentile(v, 0.5);
    let (enc_edit, enc_list, enc_open) = (
        p50(&mut enc.edits),
        p50(&mut enc.lists),
        p50(&mut enc.opens),
    );
    let (plain_edit, plain_list, plain_open) = (
        p50(&mut plain.edits),
        p50(&mut plain.lists),
        p50(&mut plain.opens),
    );
    let figures = serde_json::json!({
        "incidents": incidents,
        "populate_incidents_per_s": incidents as f64 / enc.populate_s,
        "durable_edit_ms_p50": enc_edit,
        "durable_edit_ms_p95": percentile(&mut enc.edits, 0.95),
        "filtered_list_ms_p50": enc_list,
        "filtered_list_matches": enc.matched,
        "open_and_first_page_ms_p50": enc_open,
        "unlock_argon2id_ms_p50": percentile(&mut unlocks, 0.5),
        "import_changes": n_changes,
        "import_changes_per_s": n_changes as f64 / import_s,
        "change_bytes_per_incident": bytes as f64 / incidents.max(1) as f64,
        "unencrypted_durable_edit_ms_p50": plain_edit,
        "unencrypted_filtered_list_ms_p50": plain_list,
        "unencrypted_open_and_first_page_ms_p50": plain_open,
        "unencrypted_populate_incidents_per_s": incidents as f64 / plain.populate_s,
        "encryption_cost_durable_edit_pct": cost_pct(enc_edit, plain_edit),
        "encryption_cost_filtered_list_pct": cost_pct(enc_list, plain_list),
        "encryption_cost_open_pct": cost_pct(enc_open, plain_open),
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
