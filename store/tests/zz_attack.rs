//! THROWAWAY attack test (to be deleted).
mod common;
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ReadDoc, ROOT};
use common::*;
use std::time::Instant;

fn hostile_doc(pad_ops: usize, branches: usize) -> (automerge::Automerge, Vec<Vec<u8>>) {
    let mut base = AutoCommit::new();
    base.set_actor(ActorId::from(vec![1u8; 16]));
    base.put(ROOT, "title", "t").unwrap();
    for _ in 0..pad_ops {
        base.put(ROOT, "narrative", "").unwrap();
    }
    base.commit();
    let mut all = base.clone();
    for i in 0..branches {
        let mut b = base.fork();
        b.set_actor(ActorId::from((i as u128 + 100).to_be_bytes().to_vec()));
        b.put(ROOT, "title", format!("v{i}")).unwrap();
        b.commit();
        all.merge(&mut b).unwrap();
    }
    let doc = all.document().clone();
    let bytes = doc
        .get_changes(&[])
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    (doc, bytes)
}

#[test]
fn zz_history_cost() {
    for (pad, br) in [
        (100_000usize, 0usize),
        (100_000, 50),
        (1_000_000, 0),
        (1_000_000, 20),
    ] {
        let (doc, bytes) = hostile_doc(pad, br);
        let raw: usize = bytes.iter().map(|b| b.len()).sum();
        let saved = doc.save().len();
        let t = Instant::now();
        let _ = automerge::Automerge::load(&doc.save()).unwrap();
        let load = t.elapsed();
        let t = Instant::now();
        let h = mrm_crdt::history::history(&doc, &Default::default());
        eprintln!(
            "pad={pad} branches={br} raw={raw}B saved={saved}B load={load:?} history={:?} entries={}",
            t.elapsed(),
            h.len()
        );
    }
}
