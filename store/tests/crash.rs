//! Crash safety: a child process edits a store in a loop and is killed with SIGKILL at random
//! moments, many times. The store must always reopen and hold every edit whose call had returned.
//!
//! The child is this test binary itself, run with `--exact crash_child --ignored`: the `crash_child`
//! test edits the store named by `MRM_CRASH_DIR` and prints one `ack` line per returned edit.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use mrm_crdt::input::EventInput;
use mrm_crdt::model::VerificationStatus;
use mrm_store::Store;
use serde_json::json;

const DIR_VAR: &str = "MRM_CRASH_DIR";
const ROUND_VAR: &str = "MRM_CRASH_ROUND";

/// Small deterministic generator (SplitMix64), seeded from the clock; the seed is printed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// One acknowledged edit, as the child prints it:
/// `ack <round> <counter> <incident id> <change hash> <what>`.
#[derive(Debug, Clone)]
struct Ack {
    counter: u64,
    incident: String,
    hash: String,
    what: String,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut it = line.split_whitespace();
    if it.next()? != "ack" {
        return None;
    }
    let _round = it.next()?;
    Some(Ack {
        counter: it.next()?.parse().ok()?,
        incident: it.next()?.to_string(),
        hash: it.next()?.to_string(),
        what: it.next()?.to_string(),
    })
}

/// The child: edits until killed. Every third edit records a new incident titled with the
/// counter; the others rewrite the newest incident's narrative with the counter or verify one of
/// its violations. A line is printed (and flushed) only after the call returned.
#[test]
#[ignore = "run by `crash_safety_under_sigkill` as a child process"]
fn crash_child() {
    let dir = std::env::var(DIR_VAR).expect("MRM_CRASH_DIR names the store");
    let round = std::env::var(ROUND_VAR).unwrap_or_default();
    let mut store = Store::open(std::path::Path::new(&dir), &pass()).expect("the store opens");
    let out = std::io::stdout();
    let mut current: Option<(String, String)> = None;
    for counter in 0u64.. {
        let (id, hash, what) = match (&current, counter % 3) {
            (None, _) | (_, 0) => {
                let id = store
                    .add_incident(&patch(json!({
                        "title": format!("crash {round} {counter}"),
                        "occurred_on": days_ago(3),
                        "reported_on": days_ago(2),
                        "location": {"admin1": "North Kivu"},
                        "narrative": format!("n={counter}"),
                        "violations": [{"type": "abduction", "victims": {"girls": 1}}]
                    })))
                    .expect("add");
                let inc = store.incident(&id).expect("read back");
                current = Some((id.clone(), inc.violations[0].id.clone()));
                let hash = store.heads().expect("heads")[&id][0].clone();
                (id, hash, "add")
            }
            (Some((id, _)), 1) => {
                let hash = store
                    .edit_incident(id, &patch(json!({"narrative": format!("n={counter}")})))
                    .expect("edit")
                    .expect("a change");
                (id.clone(), hash, "narrative")
            }
            (Some((id, vid)), _) => {
                let event = EventInput {
                    status: VerificationStatus::PendingVerification,
                    at: None,
                    by: None,
                    note: format!("n={counter}"),
                    source_ids: Vec::new(),
                    level: None,
                    sources: None,
                };
                let hash = store.verify(id, vid, &event).expect("verify");
                (id.clone(), hash, "verify")
            }
        };
        let mut lock = out.lock();
        writeln!(lock, "ack {round} {counter} {id} {hash} {what}").unwrap();
        lock.flush().unwrap();
    }
}

/// Run one child and kill it after `delay`; returns the complete `ack` lines it printed.
fn run_child(dir: &std::path::Path, round: usize, delay: Duration, wait_first: bool) -> Vec<Ack> {
    let exe = std::env::current_exe().unwrap();
    let err_file = dir.with_extension(format!("child-{round}.stderr"));
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "crash_child",
            "--nocapture",
            "--ignored",
            "--test-threads=1",
        ])
        .env(DIR_VAR, dir)
        .env(ROUND_VAR, round.to_string())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_file).unwrap())
        .spawn()
        .expect("spawn the child");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    // A line cut short by the kill has no newline: the edit may not have returned.
                    if line.ends_with('\n') && line.starts_with("ack ") {
                        lines.push(line.clone());
                        let _ = tx.send(line);
                    }
                }
            }
        }
        lines
    });
    if wait_first {
        // Let the child get going (open the store, finish at least one edit) before the timer.
        let first = rx.recv_timeout(Duration::from_secs(60));
        assert!(
            first.is_ok() || child.try_wait().unwrap().is_none(),
            "the child exited before it acknowledged an edit"
        );
    }
    std::thread::sleep(delay);
    if let Some(status) = child.try_wait().unwrap() {
        let err = std::fs::read_to_string(&err_file).unwrap_or_default();
        panic!("the child stopped by itself ({status}); it should edit until killed:\n{err}");
    }
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    reader
        .join()
        .unwrap()
        .iter()
        .filter_map(|l| parse_ack(l))
        .collect()
}

#[test]
fn crash_safety_under_sigkill() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    drop(new_store(&dir, "Crash Officer"));

    let started = Instant::now();
    let mut acked: Vec<Ack> = Vec::new();
    let rounds = 15;
    for round in 0..rounds {
        // Mostly kill while edits are under way; now and then right after start, while the store
        // is being opened.
        let early = round % 5 == 4;
        let delay = if early {
            Duration::from_millis(rng.next() % 30)
        } else {
            Duration::from_millis(rng.next() % 250)
        };
        let acks = run_child(&dir, round, delay, !early);
        if !early {
            assert!(!acks.is_empty(), "round {round}: no edit was acknowledged");
        }
        acked.extend(acks);

        // The store reopens, and holds every acknowledged edit.
        let store = Store::open(&dir, &pass())
            .unwrap_or_else(|e| panic!("round {round}: the store does not reopen: {e}"));
        let hashes: std::collections::BTreeSet<String> =
            store.change_hashes().unwrap().into_iter().collect();
        let mut newest_narrative: BTreeMap<&str, u64> = BTreeMap::new();
        let mut verifications: BTreeMap<&str, usize> = BTreeMap::new();
        for a in &acked {
            assert!(
                hashes.contains(&a.hash),
                "round {round}: acknowledged change {} ({}) is lost",
                a.hash,
                a.what
            );
            match a.what.as_str() {
                "add" | "narrative" => {
                    newest_narrative.insert(&a.incident, a.counter);
                }
                _ => *verifications.entry(&a.incident).or_default() += 1,
            }
        }
        for (id, counter) in &newest_narrative {
            let inc = store
                .incident(id)
                .unwrap_or_else(|e| panic!("round {round}: incident {id} is lost: {e}"));
            // The newest acknowledged narrative, or a later one whose ack the kill cut off.
            let stored: u64 = inc.narrative.trim_start_matches("n=").parse().unwrap();
            assert!(
                stored >= *counter,
                "round {round}: incident {id} says n={stored}, acknowledged n={counter}"
            );
            let events = inc.violations[0].verification.len() - 1;
            let acked_events = verifications.get(id).copied().unwrap_or(0);
            assert!(
                events >= acked_events,
                "round {round}: verifications lost on {id}"
            );
        }
        let history: usize = store
            .record_ids()
            .unwrap()
            .iter()
            .map(|(id, _)| store.history(id).unwrap().len())
            .sum();
        assert_eq!(
            history as i64,
            store.change_count().unwrap(),
            "log and documents agree"
        );
        check_projections(&store);
    }
    // After all this the store still takes edits.
    let mut store = Store::open(&dir, &pass()).unwrap();
    let last = acked.last().expect("some edits were acknowledged");
    store
        .edit_incident(
            &last.incident,
            &patch(json!({"narrative": "after the crashes"})),
        )
        .unwrap()
        .expect("a change");
    check_projections(&store);
    eprintln!(
        "{rounds} rounds, {} acknowledged edits, {} records, {:?}",
        acked.len(),
        store.record_ids().unwrap().len(),
        started.elapsed()
    );
}
