//! `mrm-bench import`: how long a local edit waits while a large import (a USB bundle of a whole
//! mission, or a first pull) goes in, in chunks as the store does it and in one transaction as it
//! did before.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mrm_crdt::crypto::Passphrase;
use mrm_crdt::input::IncidentPatch;
use mrm_store::Store;

/// A throwaway folder under the system temp dir, removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort();
    ms(samples[((samples.len() as f64 - 1.0) * p).round() as usize])
}

/// One import of `changes` into a fresh store while this thread edits one of the store's own
/// incidents every 20 ms.
fn one(
    root: &std::path::Path,
    label: &str,
    chunk: usize,
    changes: &[(String, Vec<u8>)],
    json: bool,
) -> anyhow::Result<serde_json::Value> {
    let dir = root.join(label);
    let pass = Passphrase::new("bench passphrase");
    let mut mine = Store::init(&dir, &pass, "BENCH", "Bench Officer", "A")?;
    let own = mrm_store::demo::populate(&mut mine, 1, 3)?;
    let key = mine
        .key()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no key"))?;
    let mut importer = Store::open_with_key(&dir, &key)?;
    mrm_store::set_import_chunk_changes(chunk);
    let done = AtomicBool::new(false);
    let changes = changes.to_vec();
    let (mut waits, mut failures) = (Vec::new(), 0usize);
    let started = Instant::now();
    let report = std::thread::scope(|s| {
        let import = s.spawn(|| {
            let r = importer.import(changes);
            done.store(true, Ordering::SeqCst);
            r
        });
        let mut n = 0;
        while !done.load(Ordering::SeqCst) {
            let patch = IncidentPatch {
                narrative: Some(format!("Edited during the import, {n}.")),
                ..IncidentPatch::default()
            };
            let t = Instant::now();
            match mine.edit_incident(&own[0], &patch) {
                Ok(_) => waits.push(t.elapsed()),
                Err(_) => failures += 1,
            }
            n += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        import.join()
    });
    let took = started.elapsed();
    let report = report.map_err(|_| anyhow::anyhow!("the import thread failed"))??;
    let out = serde_json::json!({
        "mode": label,
        "changes": report.new_changes,
        "import_s": took.as_secs_f64(),
        "edits": waits.len(),
        "edits_failed": failures,
        "edit_p50_ms": percentile(&mut waits, 0.5),
        "edit_p99_ms": percentile(&mut waits, 0.99),
        "edit_max_ms": waits.iter().max().map(|d| ms(*d)).unwrap_or(f64::NAN),
    });
    if !json {
        println!(
            "{label:>18}: {} changes in {:.1} s ({:.0}/s); {} edits meanwhile, {} failed; \
             edit wait p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            report.new_changes,
            took.as_secs_f64(),
            report.new_changes as f64 / took.as_secs_f64(),
            waits.len(),
            failures,
            out["edit_p50_ms"].as_f64().unwrap_or(f64::NAN),
            out["edit_p99_ms"].as_f64().unwrap_or(f64::NAN),
            out["edit_max_ms"].as_f64().unwrap_or(f64::NAN),
        );
    }
    Ok(out)
}

pub fn run(incidents: usize, json: bool) -> anyhow::Result<()> {
    let root =
        TempDir(std::env::temp_dir().join(format!("mrm-bench-import-{}", uuid::Uuid::now_v7())));
    std::fs::create_dir_all(&root.0)?;
    let pass = Passphrase::new("bench passphrase");
    let mut source = Store::init(&root.0.join("source"), &pass, "BENCH", "Colleague", "A")?;
    let t = Instant::now();
    mrm_store::demo::populate(&mut source, incidents, 11)?;
    let changes = source.changes_missing_from(None)?;
    if !json {
        println!(
            "a mission of {incidents} incidents ({} changes) made in {:.1} s; importing it as a USB \
             bundle while the officer edits every 20 ms (same process, another connection):",
            changes.len(),
            t.elapsed().as_secs_f64()
        );
    }
    let chunked = one(&root.0, "in chunks", 0, &changes, json)?;
    let whole = one(&root.0, "one transaction", usize::MAX, &changes, json)?;
    if json {
        println!(
            "{}",
            serde_json::json!({"incidents": incidents, "runs": [chunked, whole]})
        );
    }
    Ok(())
}
