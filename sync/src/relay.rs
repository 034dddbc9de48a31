//! The relay step of a sync: colleagues' changes that came to this laptop by USB, with their
//! authors' tags, go on to the endpoint before this laptop's own work, so that own work built on
//! them is taken too (docs/sync-protocol.md, "Relays").

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use mrm_crdt::bundle;
use mrm_crdt::protocol::{PushResponse, PUSH_BATCH_BYTES, PUSH_BATCH_CHANGES};
use mrm_store::{Relayed, Store};

use crate::client::{refuses_records, with_retry, Progress, SyncOptions, SyncReport};
use crate::transport::Transport;
use mrm_crdt::error::{Error, Result};

async fn send<T: Transport>(
    transport: &T,
    opts: &SyncOptions,
    cancel: &AtomicBool,
    progress: &mut (dyn FnMut(Progress) + Send),
    header: &serde_json::Value,
    batch: &[&Relayed],
) -> Result<PushResponse> {
    let frames: Vec<(String, Vec<u8>)> = batch
        .iter()
        .map(|r| (r.doc_id.clone(), r.bytes.clone()))
        .collect();
    let tags: Vec<Option<bundle::Tag>> = batch.iter().map(|r| Some(r.tag)).collect();
    let body = bundle::encode_frames_tagged(header, &frames, &tags)?;
    with_retry(opts, cancel, progress, || transport.push(body.clone())).await
}

/// Relay every colleague's change waiting here. A batch the endpoint refuses goes again record
/// by record: a record whose relayed changes the endpoint can never take (`unvouched`: a forged
/// or altered tag, an actor no device holds, a revoked author) is said in `report.warnings` and
/// not offered again; one refused for a reason that may pass (the author's rules against the
/// record as it is now, a clock ahead, an endpoint too old) is said and stays to be relayed at
/// the next sync; one that waits for changes nobody has sent yet stays silently.
///
/// Errors: the transport's, and the store's.
pub(crate) async fn relay<T: Transport>(
    store: &mut Store,
    transport: &T,
    opts: &SyncOptions,
    cancel: &AtomicBool,
    progress: &mut (dyn FnMut(Progress) + Send),
    header: &serde_json::Value,
    report: &mut SyncReport,
) -> Result<()> {
    let mut after = 0;
    loop {
        let batch = store.relays(after, PUSH_BATCH_CHANGES, PUSH_BATCH_BYTES)?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = last.seq;
        let all: Vec<&Relayed> = batch.iter().collect();
        match send(transport, opts, cancel, progress, header, &all).await {
            Ok(r) => {
                report.relayed += r.accepted;
                store.relays_done(&batch.iter().map(|r| r.hash.clone()).collect::<Vec<_>>())?;
            }
            Err(Error::Server { code, .. }) if refuses_records(&code) => {
                let mut by_record: BTreeMap<&str, Vec<&Relayed>> = BTreeMap::new();
                for r in &batch {
                    by_record.entry(&r.doc_id).or_default().push(r);
                }
                for (doc_id, group) in by_record {
                    let done: Vec<String> = group.iter().map(|r| r.hash.clone()).collect();
                    match send(transport, opts, cancel, progress, header, &group).await {
                        Ok(r) => {
                            report.relayed += r.accepted;
                        }
                        // Waiting for a change nobody sent yet: relayed at a later sync.
                        Err(Error::Server { code, .. }) if code == "missing_dependencies" => {
                            continue
                        }
                        Err(Error::Server { code, message, .. }) if code == "unvouched" => {
                            report.warnings.push(format!(
                                "a colleague's changes to record {doc_id} that came by USB were \
                                 not relayed: the endpoint can never take them ({message})"
                            ));
                        }
                        Err(Error::Server { code, message, .. }) if refuses_records(&code) => {
                            report.warnings.push(format!(
                                "a colleague's changes to record {doc_id} that came by USB were \
                                 not relayed this time, and will be offered again: {message}"
                            ));
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                    store.relays_done(&done)?;
                }
            }
            Err(e) => return Err(e),
        }
    }
}
