//! The sync client: push what the endpoint has not acknowledged, then pull what is new in scope.
//!
//! Every step is idempotent and resumable: a push batch is acknowledged as a whole and only then
//! is the push position moved; a pulled page and the pull cursor are written in one transaction.
//! A cut at any moment costs at most one batch or page, sent again next time and deduplicated
//! by change hash.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::pace::Pace;
use crate::transport::{enroll_request, Transport};
use mrm_crdt::bundle;
use mrm_crdt::error::{Error, Result};
use mrm_crdt::protocol;
use mrm_crdt::protocol::{
    EnrollRequest, EnrollResponse, PULL_PAGE, PUSH_BATCH_BYTES, PUSH_BATCH_CHANGES,
};
use mrm_store::Store;

/// Where a sync is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Progress {
    /// `done` of `total` local changes sent: `bytes_done` of about `bytes_total` bytes on the
    /// wire; `rate` is the measured rate in bytes per second and `secs_left` the time the rest
    /// would take at it (both `None` until a request has gone through).
    Pushing {
        done: usize,
        total: usize,
        bytes_done: u64,
        bytes_total: u64,
        rate: Option<u64>,
        secs_left: Option<u64>,
    },
    /// `done` changes received; about `remaining` more to come. `bytes_done` bytes came on the
    /// wire at `rate` bytes per second; `secs_left` is the rest's time at that rate, from the
    /// bytes per change seen so far.
    Pulling {
        done: usize,
        remaining: i64,
        bytes_done: u64,
        rate: Option<u64>,
        secs_left: Option<u64>,
    },
    /// A transient failure; trying again after `wait_ms`.
    Retrying {
        attempt: u32,
        wait_ms: u64,
        error: String,
    },
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    pub pushed: usize,
    pub push_duplicates: usize,
    /// Colleagues' changes that came by USB and this sync relayed to the endpoint (new there).
    pub relayed: usize,
    /// New changes received.
    pub pulled: usize,
    pub pull_duplicates: usize,
    /// Records whose content changed here.
    pub records_changed: Vec<String>,
    pub new_conflicts: usize,
    pub duration_ms: u64,
    /// Problems that did not stop the sync (e.g. changes waiting for another device).
    pub warnings: Vec<String>,
    /// Records whose local changes the endpoint refused in this sync (kept on this device only).
    pub held: Vec<mrm_store::HeldRecord>,
    /// Records whose received changes wait on this device (they could not be applied; every
    /// other record was), with the reason.
    pub held_inbound: Vec<mrm_store::HeldRecord>,
    /// The endpoint found this store reusing its identity: it is a copy of another laptop's
    /// store, or was restored from a backup. Its records named in `held` stay here until
    /// `mrm recover` re-records them under a new identity.
    pub identity_reused: bool,
    /// How far (seconds) this device's clock runs ahead of the endpoint's (negative: behind),
    /// when more than a day either way ([`protocol::clock_difference`]); the warning says it in
    /// words.
    pub clock_ahead_secs: Option<i64>,
    /// The endpoint was restored from a backup since this device last synced (another log
    /// epoch, `MeResponse::log_epoch`): this sync offered it every local change again and read
    /// its log from the start, so nothing it lost is lost.
    pub endpoint_restored: bool,
    /// Bytes of a pull page that had arrived before a cut (in this sync or an earlier one, even
    /// one whose process was killed) and were not asked for again.
    pub resumed_bytes: u64,
}

/// A push batch as it goes up: its frames' bytes under an upload name of its own, and what it
/// covers.
struct Batch {
    body: Vec<u8>,
    /// 32 hex digits of its SHA-256: the endpoint keeps what arrived of it under this name.
    name: String,
    /// Whether an earlier attempt of it was cut.
    resume: bool,
    /// The pace's size it was built at (the same size gives the same changes again).
    size: usize,
    /// The log position of its last change, its changes and their bytes, and whether it is full.
    last: i64,
    n: usize,
    raw: usize,
    full: bool,
}

impl Batch {
    /// The next batch of unpushed changes, up to `size` bytes of changes.
    fn build(store: &Store, header: &impl Serialize, size: usize) -> Result<Batch> {
        let changes = store.unpushed(PUSH_BATCH_CHANGES, size)?;
        let last = changes.last().map(|u| u.seq).unwrap_or(0);
        let n = changes.len();
        let raw: usize = changes.iter().map(|u| u.bytes.len()).sum();
        let full = n == PUSH_BATCH_CHANGES || raw * 2 >= size;
        let frames: Vec<(String, Vec<u8>)> =
            changes.into_iter().map(|u| (u.doc_id, u.bytes)).collect();
        let body = bundle::encode_frames(header, &frames)?;
        // Named by its content: the endpoint can never take one batch's bytes for another's (a
        // probe after a cut that finds a whole upload of the same name applies the same batch).
        // A new sync starts a new upload: what an endpoint kept of a batch cut in an earlier
        // sync is sent again.
        use sha2::Digest;
        let name = hex::encode(&sha2::Sha256::digest(&body)[..16]);
        Ok(Batch {
            body,
            name,
            resume: false,
            size,
            last,
            n,
            raw,
            full,
        })
    }
}

/// What a device says when it finds the endpoint restored from a backup.
pub const ENDPOINT_RESTORED_ADVICE: &str = "the sync endpoint was restored from a backup: this \
    device sent all its work again (the endpoint keeps one copy of each change) and read the \
    mission's records again";

/// Tuning of retries and page sizes.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub pull_page: i64,
    /// Attempts per step before giving up.
    pub attempts: u32,
    /// First wait between attempts; doubles each time.
    pub backoff: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            pull_page: PULL_PAGE,
            attempts: 5,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Failures worth trying again: the link, or the endpoint being briefly unwell.
fn transient(e: &Error) -> bool {
    match e {
        Error::Network(_) => true,
        Error::Server { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// The first pull page, in changes: under a second at 256 kbit/s, so a drop before the pace has
/// measured the link wastes little (the pace grows it fourfold a page on a fast link).
pub(crate) const PULL_FIRST_PAGE: usize = 250;
/// The smallest pull page however often the link drops.
pub(crate) const PULL_LEAST_PAGE: usize = 50;
/// The first push batch, in change bytes (about a second at 256 kbit/s).
const PUSH_FIRST_BYTES: usize = 32 * 1024;
/// The smallest push batch however often the link drops (one change always goes).
const PUSH_LEAST_BYTES: usize = 8 * 1024;

/// Like [`with_retry`], but each attempt is built anew at the size `pace` gives, which halves
/// after a failure on the way ([`Pace`]): a request too big for a link that keeps dropping
/// becomes one that goes through. Returns the result and the seconds the attempt that went
/// through took.
pub(crate) async fn paced<T, F, Fut>(
    opts: &SyncOptions,
    cancel: &AtomicBool,
    progress: &mut (dyn FnMut(Progress) + Send),
    pace: &mut Pace,
    mut step: F,
) -> Result<(T, f64)>
where
    F: FnMut(usize) -> Result<Fut>,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut wait = opts.backoff;
    let mut attempt = 1;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let started = Instant::now();
        match step(pace.size())?.await {
            Ok(t) => return Ok((t, started.elapsed().as_secs_f64())),
            Err(e) if transient(&e) => {
                pace.failed();
                if attempt >= opts.attempts {
                    return Err(e);
                }
                progress(Progress::Retrying {
                    attempt,
                    wait_ms: wait.as_millis() as u64,
                    error: e.to_string(),
                });
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

pub(crate) async fn with_retry<T, F, Fut>(
    opts: &SyncOptions,
    cancel: &AtomicBool,
    progress: &mut (dyn FnMut(Progress) + Send),
    mut step: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    // A step whose size does not change: a pace of one.
    let mut fixed = Pace::new(1, 1, 1);
    paced(opts, cancel, progress, &mut fixed, |_| Ok(step()))
        .await
        .map(|(t, _)| t)
}

/// The environment variable that allows plain `http://` to an endpoint that is not on this
/// machine (`mrm enroll --allow-plain-http` sets it).
pub const ALLOW_PLAIN_HTTP: &str = "MRM_ALLOW_PLAIN_HTTP";

/// Whether this store may talk to `server_url`: HTTPS anywhere, plain HTTP only to this machine
/// (loopback) unless [`ALLOW_PLAIN_HTTP`] is `1`. On a base's network, plain HTTP lets anyone
/// read the records and the credential, and answer in the endpoint's place (docs/data-protection.md).
pub fn plain_http_allowed(server_url: &str) -> Result<()> {
    let url = reqwest::Url::parse(server_url.trim())
        .map_err(|e| Error::Refused(format!("`{server_url}` is not an endpoint address: {e}")))?;
    if url.scheme() != "http" {
        return Ok(());
    }
    let host = url.host_str().unwrap_or("");
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback || std::env::var(ALLOW_PLAIN_HTTP).is_ok_and(|v| v == "1") {
        return Ok(());
    }
    Err(Error::Refused(format!(
        "{server_url} is plain http to another machine: anyone on the network could read the \
         records and answer in the endpoint's place. Use the endpoint's https address (mrm serve \
         --tls-cert), or, on a network you trust, enroll with --allow-plain-http"
    )))
}

/// Enroll this store with an endpoint using a one-time token, and remember the credential.
pub async fn enroll(
    store: &mut Store,
    server_url: &str,
    token: &str,
    fingerprint: Option<&str>,
) -> Result<EnrollResponse> {
    let d = store.device().clone();
    let (token, carried) = crate::pin::split_token(token)?;
    let pin = match (fingerprint.map(crate::pin::normalize).transpose()?, carried) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::Refused(
                "the fingerprint given differs from the one the token carries".into(),
            ))
        }
        (a, b) => a.or(b),
    };
    plain_http_allowed(server_url)?;
    if server_url.trim().starts_with("https://") && pin.is_none() {
        return Err(Error::Refused(
            "an https endpoint is trusted by its certificate fingerprint: use the token the \
             administrator printed with --tls-cert, or give --fingerprint (printed by mrm serve)"
                .into(),
        ));
    }
    let proof = store.actor_proof();
    let req = EnrollRequest {
        token,
        team: d.team.clone(),
        mission: d.mission.clone(),
        actor: d.actor.clone(),
        actor_proof: proof.as_deref().cloned(),
    };
    let resp = enroll_request(server_url, &req, pin.as_deref()).await?;
    store.save_enrollment(server_url.trim_end_matches('/'), &resp, pin.as_deref())?;
    Ok(resp)
}

/// Push then pull until the endpoint has nothing more for this device.
pub async fn sync<T: Transport>(
    store: &mut Store,
    transport: &T,
    opts: &SyncOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
    cancel: &AtomicBool,
) -> Result<SyncReport> {
    let started = Instant::now();
    let result = match run(store, transport, opts, progress, cancel, started).await {
        // Whichever step learns it (the first /v1/me, or a push or pull after a revocation in
        // the middle of a sync): a revoked device is lost or compromised, and what is on it can
        // endanger a child, so it wipes its store.
        Err(Error::Server { code, .. }) if code == "revoked" => {
            store.wipe()?;
            return Err(Error::Revoked);
        }
        r => r,
    };
    let note = match &result {
        Ok(_) => None,
        Err(Error::Revoked) => return result,
        // Out of the endpoint's reach: the normal state in the field, not a failure to keep and
        // show again later (the app says offline; the failure before it, if any, stays).
        Err(Error::Network(_)) => return result,
        Err(e) => Some(e.to_string()),
    };
    store.record_sync(note.as_deref())?;
    result
}

async fn run<T: Transport>(
    store: &mut Store,
    transport: &T,
    opts: &SyncOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
    cancel: &AtomicBool,
    started: Instant,
) -> Result<SyncReport> {
    let state = store.sync_state()?.ok_or(Error::NotEnrolled)?;
    let mut report = SyncReport::default();
    let mission = store.device().mission.clone();
    let mut relays = false;
    let mut uploads = false;

    // Ask first: a revoked device must not send anything. It wipes its store, because a device
    // is revoked when it is lost or compromised, and what is on it can endanger a child.
    match with_retry(opts, cancel, progress, || transport.me()).await {
        Err(e) => return Err(e),
        Ok(Some(me)) if !me.mission.is_empty() && me.mission != mission => {
            return Err(Error::Refused(format!(
                "the endpoint serves mission {}, this store belongs to mission {mission}",
                me.mission
            )))
        }
        Ok(Some(me)) => {
            relays = me.relays;
            uploads = me.uploads;
            let now = store.device_clock().now();
            report.clock_ahead_secs = protocol::clock_difference(now, me.now.as_deref());
            report
                .warnings
                .extend(protocol::clock_advice(now, me.now.as_deref()));
            if let Some(epoch) = me.log_epoch.as_deref() {
                if store.note_log_epoch(epoch)? {
                    report.endpoint_restored = true;
                    report.warnings.push(ENDPOINT_RESTORED_ADVICE.to_string());
                }
            }
        }
        Ok(None) => {}
    }

    let header = serde_json::json!({ "mission": mission, "device": state.device_id });
    // Colleagues' changes that came by USB go first: held records and own work built on them
    // are then taken in this same sync. Only to an endpoint that takes relays, and never at the
    // cost of the rest: a relay that fails is said and the sync goes on (it is tried again at
    // the next one).
    if relays {
        match crate::relay::relay(
            store,
            transport,
            opts,
            cancel,
            progress,
            &header,
            &mut report,
        )
        .await
        {
            Err(Error::Cancelled) => return Err(Error::Cancelled),
            Err(e) => report.warnings.push(format!(
                "colleagues' changes that came by USB were not relayed this time: {e}"
            )),
            Ok(()) => {}
        }
    }

    // Held records next: the rule that held one may no longer apply (a reviewer gave the
    // record back to this team, a colleague's changes it built on arrived), so each sync tries
    // them again, one record at a time, and releases those the endpoint now takes.
    for held in store.held_records()? {
        let changes = store.held_changes(&held.doc_id)?;
        if changes.is_empty() {
            // Changes of a former identity of this store (`mrm recover` could not re-record
            // them) stay held and named; a record with no local change left is released.
            if store.local_changes(&held.doc_id)?.is_empty() {
                store.release_record(&held.doc_id)?;
            } else {
                report.held.push(held);
            }
            continue;
        }
        let body = bundle::encode_frames(&header, &changes)?;
        match with_retry(opts, cancel, progress, || transport.push(body.clone())).await {
            Ok(r) => {
                report.pushed += r.accepted;
                report.push_duplicates += r.duplicates;
                store.release_record(&held.doc_id)?;
            }
            Err(Error::Server { code, message, .. }) if refuses_records(&code) => {
                report.held.push(hold(
                    store,
                    &held.doc_id,
                    &code,
                    &message,
                    &mut report.identity_reused,
                )?);
            }
            Err(e) => return Err(e),
        }
    }

    // Push, in batches sized to the link.
    let total = store.unpushed_count()? as usize;
    let mut done = 0;
    let push_started = Instant::now();
    let bytes_total = store.sync_counts()?.bytes_to_send.max(0) as u64;
    let mut bytes_done = 0u64;
    // Where the push is, with the rate of change bytes acknowledged and the time the rest takes.
    let pushing = |done: usize, bytes_done: u64| {
        let secs = push_started.elapsed().as_secs_f64();
        let rate = (bytes_done > 0 && secs > 0.0).then(|| (bytes_done as f64 / secs) as u64);
        Progress::Pushing {
            done,
            total,
            bytes_done,
            bytes_total: bytes_total.max(bytes_done),
            rate,
            secs_left: rate.map(|r| {
                (bytes_total.saturating_sub(bytes_done) as f64 / r.max(1) as f64).ceil() as u64
            }),
        }
    };
    progress(pushing(done, bytes_done));
    let mut push_pace = Pace::new(PUSH_FIRST_BYTES, PUSH_LEAST_BYTES, PUSH_BATCH_BYTES);
    loop {
        if store.unpushed(1, 1)?.is_empty() {
            break;
        }
        let shelf: &Store = store;
        // The batch of this round, built at the pace's size by its first attempt; an attempt
        // after a cut continues the same upload (only the bytes the endpoint lacks go).
        let mut batch: Option<Batch> = None;
        let pushed = paced(opts, cancel, progress, &mut push_pace, |size| {
            let b = match &mut batch {
                Some(b) => {
                    b.resume = true;
                    b
                }
                None => batch.insert(Batch::build(shelf, &header, size)?),
            };
            let (body, name, resume) = (b.body.clone(), b.name.clone(), b.resume);
            let (last, n, raw, full) = (b.last, b.n, b.raw, b.full);
            Ok(async move {
                // An endpoint from before uploads takes the batch whole.
                let answer = if uploads {
                    transport.push_upload(&body, &name, resume).await
                } else {
                    transport.push(body).await
                };
                answer.map(|r| (r, last, n, raw, full))
            })
        })
        .await;
        let built_at = batch.as_ref().map_or(push_pace.size(), |b| b.size);
        match pushed {
            Ok(((r, last, n, raw, full), secs)) => {
                push_pace.went_through(raw, secs, full);
                store.ack_pushed(last)?;
                report.pushed += r.accepted;
                report.push_duplicates += r.duplicates;
                done += n;
                bytes_done += raw as u64;
                progress(pushing(done, bytes_done));
            }
            Err(Error::Server { code, message, .. }) if refuses_records(&code) => {
                // The batch that was refused: the same size gives the same changes.
                let batch = store.unpushed(PUSH_BATCH_CHANGES, built_at)?;
                let last = batch.last().map(|u| u.seq).unwrap_or(0);
                let n = batch.len();
                let raw: usize = batch.iter().map(|u| u.bytes.len()).sum();
                let frames: Vec<(String, Vec<u8>)> =
                    batch.into_iter().map(|u| (u.doc_id, u.bytes)).collect();
                // One record the endpoint refuses (reassigned while offline, judged otherwise
                // than this device judged it, built on a colleague's changes the endpoint lacks,
                // or written by a copy of this store) must not block every other record: push
                // record by record and hold the refused ones.
                push_per_record(
                    store,
                    transport,
                    opts,
                    cancel,
                    progress,
                    &header,
                    frames,
                    (code, message),
                    &mut report,
                )
                .await?;
                store.ack_pushed(last)?;
                done += n;
                bytes_done += raw as u64;
                progress(pushing(done, bytes_done));
            }
            Err(e) => return Err(e),
        }
    }

    // A record refused as this store's identity reused: find, change by change, where the
    // endpoint's history and this store's part (the changes before are taken, so that
    // `mrm recover` re-records only what the endpoint cannot hold).
    for doc_id in store.reused_unprobed()? {
        let mut from = None;
        for (seq, bytes) in store.local_changes(&doc_id)? {
            let body = bundle::encode_frames(&header, &[(doc_id.clone(), bytes)])?;
            match with_retry(opts, cancel, progress, || transport.push(body.clone())).await {
                // Only what went up now counts: the endpoint's copies of the others are not news.
                Ok(r) => report.pushed += r.accepted,
                Err(Error::Server { code, .. }) if refuses_records(&code) => {
                    from = Some(seq);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        match from {
            Some(seq) => store.set_reused_from(&doc_id, seq)?,
            // Each change went on its own: nothing of the record is reused after all.
            None => store.release_record(&doc_id)?,
        }
    }

    // Pull.
    let mut listed = std::collections::HashSet::new();
    crate::pull::pull(
        store,
        transport,
        opts,
        cancel,
        progress,
        &mut report,
        &mut listed,
    )
    .await?;
    // Received changes that waited (for a colleague's changes, or a newer program) are tried
    // again once per sync, whatever this pull brought.
    let retried = store.retry_held_inbound()?;
    for id in retried.records_changed {
        if listed.insert(id.clone()) {
            report.records_changed.push(id);
        }
    }
    report.pulled += retried.released_changes;
    report.held_inbound = retried.held;
    if report.identity_reused {
        report.warnings.push(IDENTITY_REUSED_ADVICE.into());
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// What a device says when the endpoint found its identity reused, in plain words with the one
/// command that gets its work to the mission.
pub const IDENTITY_REUSED_ADVICE: &str = "this store is a copy of another laptop's store, or was \
    restored from a backup: both went on recording under the same identity, so the endpoint \
    cannot take this store's changes to the records held below. Nothing is lost. Run `mrm \
    recover` to re-record this store's unsent work under a new identity, then enroll again with \
    a new token from the administrator (`mrm enroll`) and sync";

/// Hold a record the endpoint refused, as a copy's work when the endpoint says so, or with the
/// names of the colleagues whose changes it waits for.
fn hold(
    store: &mut Store,
    doc_id: &str,
    code: &str,
    message: &str,
    reused: &mut bool,
) -> Result<mrm_store::HeldRecord> {
    match code {
        "identity_reused" => {
            *reused = true;
            store.hold_reused(
                doc_id,
                "this store reuses the identity of another copy of it (a copied laptop or a \
                 restored backup), so the endpoint cannot take these changes: run `mrm recover`",
            )
        }
        "missing_dependencies" => {
            let names = store.co_authors(doc_id)?;
            let who = if names.is_empty() {
                "another device".to_string()
            } else {
                names.join(", ")
            };
            store.hold_record(
                doc_id,
                &format!(
                    "it builds on changes by {who} that the endpoint does not have yet (they \
                     came by USB); it goes once that device syncs, or another device brings them"
                ),
            )
        }
        _ => store.hold_record(doc_id, message),
    }
}

/// Whether a refusal names something in the records sent (the role's rules, or values the
/// endpoint judges invalid), so pushing record by record lets the others through.
pub(crate) fn refuses_records(code: &str) -> bool {
    matches!(
        code,
        "forbidden"
            | "bad_request"
            | "missing_dependencies"
            | "identity_reused"
            | "too_large"
            | "unvouched"
    )
}

/// After a batch was refused: push its records one at a time; a refused record is held (its
/// changes stay on this device, are not sent again, and the report says why).
#[allow(clippy::too_many_arguments)]
async fn push_per_record<T: Transport>(
    store: &mut Store,
    transport: &T,
    opts: &SyncOptions,
    cancel: &AtomicBool,
    progress: &mut (dyn FnMut(Progress) + Send),
    header: &serde_json::Value,
    frames: Vec<(String, Vec<u8>)>,
    batch_reason: (String, String),
    report: &mut SyncReport,
) -> Result<()> {
    let mut groups: Vec<(String, bundle::Frames)> = Vec::new();
    for (doc, bytes) in frames {
        match groups.iter_mut().find(|(d, _)| *d == doc) {
            Some((_, g)) => g.push((doc, bytes)),
            None => groups.push((doc.clone(), vec![(doc, bytes)])),
        }
    }
    let single = groups.len() == 1;
    for (doc, group) in groups {
        let outcome = if single {
            Err(batch_reason.clone())
        } else {
            let body = bundle::encode_frames(header, &group)?;
            match with_retry(opts, cancel, progress, || transport.push(body.clone())).await {
                Ok(r) => {
                    report.pushed += r.accepted;
                    report.push_duplicates += r.duplicates;
                    Ok(())
                }
                Err(Error::Server { code, message, .. }) if refuses_records(&code) => {
                    Err((code, message))
                }
                Err(e) => return Err(e),
            }
        };
        if let Err((code, reason)) = outcome {
            let held = hold(store, &doc, &code, &reason, &mut report.identity_reused)?;
            report.warnings.push(format!(
                "the endpoint refused this device's changes to record {doc}: {}; they stay on this device only",
                held.reason
            ));
            report.held.push(held);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::plain_http_allowed;

    #[test]
    fn plain_http_only_to_this_machine() {
        for ok in [
            "http://127.0.0.1:8787",
            "http://localhost:1",
            "http://[::1]:9/",
            "https://10.0.0.5:8443",
        ] {
            assert!(plain_http_allowed(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://10.0.0.5:8787",
            "http://mission.example",
            "not a url",
        ] {
            assert!(plain_http_allowed(refused).is_err(), "{refused}");
        }
    }
}
