//! The repository conformance suite: what any [`Repository`] must do for the service's rules to
//! hold on it (in the style of samod's storage acceptance tests). SQLite runs it in
//! `server/tests/conformance.rs`; a new backend runs [`run`] over fresh, empty repositories.
//!
//! Each check panics with what the backend did wrong.

use std::future::Future;

use mrm_crdt::protocol::Role;

use crate::model::Device;
use crate::repository::{
    Append, AuditAction, Conflict, Enrollment, Expected, NewAudit, NewChange, PageRequest,
    RecordWrite, RepoError, Repository, Scope, TokenRow,
};

/// Run every check, each on a fresh repository from `fresh`.
pub async fn run<R, F, Fut>(fresh: F)
where
    R: Repository,
    F: Fn() -> Fut,
    Fut: Future<Output = R>,
{
    meta_is_set_once(fresh().await).await;
    devices_are_created_once(fresh().await).await;
    a_token_enrolls_once(fresh().await).await;
    an_actor_is_bound_once(fresh().await).await;
    revocation_keeps_its_first_time(fresh().await).await;
    a_change_is_stored_once(fresh().await).await;
    a_stale_check_stores_nothing(fresh().await).await;
    pages_are_in_order_and_in_scope(fresh().await).await;
    a_record_entering_scope_brings_its_history(fresh().await).await;
    the_audit_log_only_grows(fresh().await).await;
    last_sync_moves_as_asked(fresh().await).await;
}

fn device(id: &str, team: &str) -> Device {
    Device {
        id: id.into(),
        officer: format!("Officer {id}"),
        team: team.into(),
        role: Role::Officer,
        actor: None,
        created_at: format!("2026-01-01T00:00:00.{:0>3}Z", id.len()),
        enrolled_at: None,
        revoked_at: None,
        last_sync_at: None,
    }
}

fn token(hash: &str, device_id: &str) -> TokenRow {
    TokenRow {
        token_hash: hash.into(),
        device_id: device_id.into(),
        expires_at: "2999-01-01T00:00:00Z".into(),
        used_at: None,
        allow_unproven: false,
    }
}

fn note(action: AuditAction, device_id: Option<&str>, n: i64) -> NewAudit {
    NewAudit {
        at: format!("2026-01-01T00:00:{n:02}.000Z"),
        action,
        device_id: device_id.map(str::to_string),
        detail: serde_json::json!({ "n": n }),
    }
}

async fn add_device<R: Repository>(repo: &R, id: &str, team: &str) {
    repo.create_device(
        &device(id, team),
        &token(&format!("t-{id}"), id),
        note(AuditAction::EnrollmentIssued, Some(id), 0),
    )
    .await
    .expect("create a device");
}

fn enrollment(id: &str, token_hash: &str, actor: &str) -> Enrollment {
    Enrollment {
        token_hash: token_hash.into(),
        device_id: id.into(),
        actor: actor.into(),
        secret_hash: format!("secret-of-{id}-{actor}"),
        at: "2026-01-02T00:00:00.000Z".into(),
        append: Append {
            device_id: "endpoint".into(),
            received_at: "2026-01-02T00:00:00.000Z".into(),
            audit: vec![note(AuditAction::Enrolled, Some(id), 1)],
            ..Append::default()
        },
    }
}

/// A change of record `doc` with hash `hash` (the repository stores bytes; it never decodes).
fn change(hash: &str, size: usize) -> NewChange {
    NewChange {
        hash: hash.into(),
        actor: "aa".repeat(16),
        bytes: vec![hash.len() as u8; size],
    }
}

fn write(doc: &str, team: &str, kind: &str, hashes: &[&str], entered: bool) -> RecordWrite {
    RecordWrite {
        doc_id: doc.into(),
        kind: kind.into(),
        team: team.into(),
        entered_scope: entered,
        changes: hashes.iter().map(|h| change(h, 10)).collect(),
        snapshot: format!("{doc}:{}", hashes.join(",")).into_bytes(),
    }
}

fn append(device_id: &str, records: Vec<RecordWrite>) -> Append {
    Append {
        device_id: device_id.into(),
        received_at: "2026-01-03T00:00:00.000Z".into(),
        records,
        ..Append::default()
    }
}

fn scope(device: &str, team: Option<&str>) -> Scope {
    Scope {
        exclude_device: device.into(),
        team: team.map(str::to_string),
        team_kinds: vec!["incident".into(), "patrol".into()],
        shared_kinds: vec!["config".into(), "registry".into()],
    }
}

/// Every change a device gets from the start of the log, page by page.
async fn read_all<R: Repository>(repo: &R, scope: Scope, limit: i64, max_bytes: usize) -> Vec<u8> {
    let mut cursor = 0;
    let mut out = Vec::new();
    for _ in 0..1000 {
        let page = repo
            .page(&PageRequest {
                scope: scope.clone(),
                cursor,
                limit,
                max_bytes,
            })
            .await
            .expect("read a page");
        assert!(page.cursor >= cursor, "a cursor never goes back");
        out.extend(page.changes.iter().map(|(_, b)| b[0]));
        if page.remaining == 0 {
            return out;
        }
        assert!(
            page.cursor > cursor,
            "a page with more after it moves the cursor"
        );
        cursor = page.cursor;
    }
    panic!("paging never ended");
}

async fn meta_is_set_once<R: Repository>(repo: R) {
    assert_eq!(repo.meta("actor").await.unwrap(), None);
    let (a, b) = tokio::join!(
        repo.meta_or_insert("actor", "first"),
        repo.meta_or_insert("actor", "second")
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b, "two instances starting at once agree on one value");
    assert_eq!(repo.meta("actor").await.unwrap(), Some(a));
    // Set again, whatever it held: another value from then on, for every reader.
    repo.set_meta("log_epoch", "one").await.unwrap();
    repo.set_meta("log_epoch", "two").await.unwrap();
    assert_eq!(
        repo.meta("log_epoch").await.unwrap().as_deref(),
        Some("two")
    );
    assert_eq!(
        repo.meta_or_insert("log_epoch", "three").await.unwrap(),
        "two"
    );
}

async fn devices_are_created_once<R: Repository>(repo: R) {
    add_device(&repo, "d1", "A").await;
    add_device(&repo, "d22", "B").await;
    let again = repo
        .create_device(
            &device("d1", "A"),
            &token("t-other", "d1"),
            note(AuditAction::EnrollmentIssued, Some("d1"), 0),
        )
        .await;
    assert!(
        matches!(again, Err(RepoError::Conflict(Conflict::DeviceExists))),
        "a device id is taken once: {again:?}"
    );
    assert!(
        repo.token("t-other").await.unwrap().is_none(),
        "a refused device leaves no token"
    );
    let all = repo.devices().await.unwrap();
    let ids: Vec<&str> = all.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["d1", "d22"], "oldest first");
    let row = repo.device("d1").await.unwrap().expect("the device");
    assert_eq!(row.device, device("d1", "A"));
    assert_eq!(row.secret_hash, None, "no credential before enrollment");
    assert!(repo.device("nope").await.unwrap().is_none());
    assert_eq!(repo.token("t-d1").await.unwrap(), Some(token("t-d1", "d1")));
}

async fn a_token_enrolls_once<R: Repository>(repo: R) {
    add_device(&repo, "d1", "A").await;
    let actor_a = "0a".repeat(16);
    let actor_b = "0b".repeat(16);
    let (first, second) = tokio::join!(
        repo.enroll(enrollment("d1", "t-d1", &actor_a)),
        repo.enroll(enrollment("d1", "t-d1", &actor_b))
    );
    let results = [first, second];
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        ok, 1,
        "one of two enrollments with one token at once: {results:?}"
    );
    assert!(results
        .iter()
        .any(|r| matches!(r, Err(RepoError::Conflict(Conflict::TokenUsed)))));
    let row = repo.device("d1").await.unwrap().unwrap();
    let bound = row.device.actor.clone().expect("bound");
    assert!(bound == actor_a || bound == actor_b);
    assert_eq!(
        row.secret_hash.as_deref(),
        Some(format!("secret-of-d1-{bound}").as_str()),
        "the credential of the enrollment that won"
    );
    assert!(repo.token("t-d1").await.unwrap().unwrap().used_at.is_some());
    let enrolled = repo
        .audit_log("")
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "enrolled")
        .count();
    assert_eq!(enrolled, 1, "the refused enrollment wrote nothing");
}

async fn an_actor_is_bound_once<R: Repository>(repo: R) {
    add_device(&repo, "d1", "A").await;
    add_device(&repo, "d2", "A").await;
    let actor = "0c".repeat(16);
    repo.enroll(enrollment("d1", "t-d1", &actor)).await.unwrap();
    let other = repo.enroll(enrollment("d2", "t-d2", &actor)).await;
    assert!(
        matches!(other, Err(RepoError::Conflict(Conflict::ActorTaken))),
        "{other:?}"
    );
    let row = repo.device("d2").await.unwrap().unwrap();
    assert_eq!(row.device.actor, None, "nothing of it written");
    assert!(
        repo.token("t-d2").await.unwrap().unwrap().used_at.is_none(),
        "the token stays usable"
    );
}

async fn revocation_keeps_its_first_time<R: Repository>(repo: R) {
    add_device(&repo, "d1", "A").await;
    let revoked = |n| Append {
        audit: vec![note(AuditAction::Revoked, Some("d1"), n)],
        ..Append::default()
    };
    // A revocation computed before the device enrolled (no actor then) is stale after it.
    add_device(&repo, "d2", "A").await;
    repo.enroll(enrollment("d2", "t-d2", &"0d".repeat(16)))
        .await
        .unwrap();
    let stale = repo
        .revoke("d2", None, "2026-02-01T00:00:00.000Z", revoked(0))
        .await;
    assert!(matches!(stale, Err(RepoError::Stale(_))), "{stale:?}");
    assert!(repo
        .device("d2")
        .await
        .unwrap()
        .unwrap()
        .device
        .revoked_at
        .is_none());
    repo.revoke("d1", None, "2026-02-01T00:00:00.000Z", revoked(1))
        .await
        .unwrap();
    repo.revoke("d1", None, "2026-03-01T00:00:00.000Z", revoked(2))
        .await
        .unwrap();
    let row = repo.device("d1").await.unwrap().unwrap();
    assert_eq!(
        row.device.revoked_at.as_deref(),
        Some("2026-02-01T00:00:00.000Z")
    );
    let missing = repo
        .revoke("nope", None, "2026-03-01T00:00:00.000Z", revoked(3))
        .await;
    assert!(matches!(missing, Err(RepoError::NotFound)), "{missing:?}");
    let entries = repo.audit_log("").await.unwrap();
    assert_eq!(
        entries.iter().filter(|e| e.action == "revoked").count(),
        2,
        "the refused revocations wrote nothing"
    );
    // A revoked device's token no longer enrolls it, even unused.
    let late = repo
        .enroll(enrollment("d1", "t-d1", &"0e".repeat(16)))
        .await;
    assert!(
        matches!(late, Err(RepoError::Conflict(Conflict::Revoked))),
        "{late:?}"
    );
    assert!(repo.token("t-d1").await.unwrap().unwrap().used_at.is_none());
    // Nothing a revoked device sent is stored after its revocation, whenever its request began.
    let mut push = append("d1", vec![write("r", "A", "incident", &["late"], true)]);
    push.touch = Some("d1".into());
    let refused = repo.append(push).await;
    assert!(
        matches!(refused, Err(RepoError::Conflict(Conflict::Revoked))),
        "{refused:?}"
    );
    assert!(repo.record("r").await.unwrap().is_none());
    assert!(repo.known(&["late".into()]).await.unwrap().is_empty());
}

async fn a_change_is_stored_once<R: Repository>(repo: R) {
    let first = append(
        "d1",
        vec![write("r1", "A", "incident", &["h1", "h2"], true)],
    );
    assert_eq!(repo.append(first.clone()).await.unwrap(), 2);
    let known = repo
        .known(&["h1".into(), "h2".into(), "h3".into()])
        .await
        .unwrap();
    assert_eq!(known.len(), 2);
    assert!(!known.contains("h3"));
    // The same batch, pushed to two instances at once: one stores it, the other finds its
    // changes arrived.
    let mut again = append("d1", vec![write("r2", "A", "incident", &["h3"], true)]);
    again.expected.unknown_hashes = vec!["h3".into()];
    let (a, b) = tokio::join!(repo.append(again.clone()), repo.append(again.clone()));
    let results = [a, b];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .any(|r| matches!(r, Err(RepoError::Stale(_)))));
    // Even without saying it expected it unknown, a hash is never stored twice.
    let dup = repo.append(first).await;
    assert!(matches!(dup, Err(RepoError::Stale(_))), "{dup:?}");
    assert_eq!(repo.stats().await.unwrap().changes, 3);
}

async fn a_stale_check_stores_nothing<R: Repository>(repo: R) {
    let w = write("r1", "A", "incident", &["h1"], true);
    let snapshot = w.snapshot.clone();
    repo.append(append("d1", vec![w])).await.unwrap();
    let stored = repo.record("r1").await.unwrap().expect("the record");
    assert_eq!(
        (stored.kind.as_str(), stored.team.as_str()),
        ("incident", "A")
    );
    assert_eq!(stored.snapshot, snapshot);
    let before = repo.stats().await.unwrap();
    let audit_before = repo.audit_log("").await.unwrap().len();
    // A check that read the record before `h1` (absent), and one that read another state.
    for read in [None, Some(b"something else".to_vec())] {
        let mut late = append("d2", vec![write("r1", "A", "incident", &["h9"], false)]);
        late.expected = Expected {
            records: vec![("r1".into(), read)],
            unknown_hashes: vec!["h9".into()],
        };
        late.audit = vec![note(AuditAction::SyncPush, Some("d2"), 1)];
        late.touch = Some("d2".into());
        let r = repo.append(late).await;
        assert!(matches!(r, Err(RepoError::Stale(_))), "{r:?}");
    }
    assert_eq!(repo.stats().await.unwrap(), before, "nothing stored");
    assert_eq!(repo.audit_log("").await.unwrap().len(), audit_before);
    assert_eq!(repo.record("r1").await.unwrap().unwrap().snapshot, snapshot);
    // The check that read the current state goes through.
    let mut current = append("d2", vec![write("r1", "A", "incident", &["h9"], false)]);
    current.expected.records = vec![("r1".into(), Some(snapshot))];
    assert_eq!(repo.append(current).await.unwrap(), 1);
}

async fn pages_are_in_order_and_in_scope<R: Repository>(repo: R) {
    // Bytes of each change name it: first byte = the hash's length, so use distinct lengths.
    let h = |n: usize| "x".repeat(n);
    let hs: Vec<String> = (1..=9).map(h).collect();
    let s = |i: usize| hs[i - 1].as_str();
    repo.append(append(
        "endpoint",
        vec![write("cfg", "", "config", &[s(1)], true)],
    ))
    .await
    .unwrap();
    repo.append(append(
        "dA",
        vec![write("a1", "A", "incident", &[s(2), s(3)], true)],
    ))
    .await
    .unwrap();
    repo.append(append(
        "dB",
        vec![write("b1", "B", "incident", &[s(4)], true)],
    ))
    .await
    .unwrap();
    repo.append(append(
        "dA2",
        vec![write("a1", "A", "incident", &[s(5)], false)],
    ))
    .await
    .unwrap();
    repo.append(append(
        "endpoint",
        vec![write("reg", "", "registry", &[s(6)], true)],
    ))
    .await
    .unwrap();
    repo.append(append(
        // A period some writer put in team B: never a team device's to read.
        "dR",
        vec![write("p1", "B", "period", &[s(7)], true)],
    ))
    .await
    .unwrap();
    for (limit, bytes) in [(1000, usize::MAX), (1, usize::MAX), (2, 25), (1000, 1)] {
        // A team's device: its team's records and the shared kinds, never its own changes.
        let got = read_all(&repo, scope("dA", Some("A")), limit, bytes).await;
        assert_eq!(
            got,
            [1, 5, 6],
            "team A's device dA (limit {limit}, {bytes} B)"
        );
        // A whole-mission device: everything but its own.
        let got = read_all(&repo, scope("adviser", None), limit, bytes).await;
        assert_eq!(got, [1, 2, 3, 4, 5, 6, 7], "(limit {limit}, {bytes} B)");
        let got = read_all(&repo, scope("dB", Some("B")), limit, bytes).await;
        assert_eq!(got, [1, 6], "(limit {limit}, {bytes} B)");
    }
    // An empty page at the end of the log still says where the log ends.
    let end = page_at(&repo, scope("dA", Some("A")), 0).await;
    let after = page_at(&repo, scope("dA", Some("A")), end.cursor).await;
    assert!(after.changes.is_empty());
    assert_eq!(after.cursor, end.cursor);
    assert_eq!(after.remaining, 0);
}

async fn a_record_entering_scope_brings_its_history<R: Repository>(repo: R) {
    let h = |n: usize| "y".repeat(n);
    repo.append(append(
        "dB",
        vec![write("r", "B", "incident", &[&h(1), &h(2)], true)],
    ))
    .await
    .unwrap();
    let start = read_all(&repo, scope("dA", Some("A")), 1000, usize::MAX).await;
    assert!(start.is_empty());
    let cursor = page_at(&repo, scope("dA", Some("A")), 0).await.cursor;
    // Moved to team A: A's device gets the record's earlier history and the move.
    repo.append(append(
        "dB",
        vec![write("r", "A", "incident", &[&h(3)], true)],
    ))
    .await
    .unwrap();
    let page = page_at(&repo, scope("dA", Some("A")), cursor).await;
    let got: Vec<u8> = page.changes.iter().map(|(_, b)| b[0]).collect();
    assert_eq!(got, [1, 2, 3]);
    assert!(page.changes.iter().all(|(id, _)| id == "r"));
}

async fn the_audit_log_only_grows<R: Repository>(repo: R) {
    for (i, action) in AuditAction::ALL.iter().enumerate() {
        repo.audit(note(*action, Some("d1"), i as i64))
            .await
            .unwrap();
    }
    let all = repo.audit_log("").await.unwrap();
    assert_eq!(all.len(), AuditAction::ALL.len());
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "in order");
    let names: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    let want: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(names, want);
    assert_eq!(all[3].detail, serde_json::json!({ "n": 3 }));
    let since = repo.audit_log("2026-01-01T00:00:05").await.unwrap();
    assert_eq!(since.len(), AuditAction::ALL.len() - 5);
    // Appending never rewrites what is there.
    repo.audit(note(AuditAction::SyncPull, None, 59))
        .await
        .unwrap();
    let again = repo.audit_log("").await.unwrap();
    assert_eq!(&again[..all.len()], &all[..]);
}

async fn last_sync_moves_as_asked<R: Repository>(repo: R) {
    add_device(&repo, "d1", "A").await;
    repo.touch_device(
        "d1",
        "2026-01-01T10:00:00.000Z",
        Some("2026-01-01T09:59:00.000Z"),
    )
    .await
    .unwrap();
    assert_eq!(
        last_sync(&repo).await.as_deref(),
        Some("2026-01-01T10:00:00.000Z")
    );
    // Synced within the last minute: left as it is.
    repo.touch_device(
        "d1",
        "2026-01-01T10:00:30.000Z",
        Some("2026-01-01T09:59:30.000Z"),
    )
    .await
    .unwrap();
    assert_eq!(
        last_sync(&repo).await.as_deref(),
        Some("2026-01-01T10:00:00.000Z")
    );
    repo.touch_device("d1", "2026-01-01T10:00:40.000Z", None)
        .await
        .unwrap();
    assert_eq!(
        last_sync(&repo).await.as_deref(),
        Some("2026-01-01T10:00:40.000Z")
    );
    // A push's append dates its device.
    let mut a = append("d1", vec![write("r", "A", "incident", &["z"], true)]);
    a.touch = Some("d1".into());
    repo.append(a).await.unwrap();
    assert_eq!(
        last_sync(&repo).await.as_deref(),
        Some("2026-01-03T00:00:00.000Z")
    );
}

async fn last_sync<R: Repository>(repo: &R) -> Option<String> {
    repo.device("d1")
        .await
        .unwrap()
        .unwrap()
        .device
        .last_sync_at
}

/// The page after `cursor` in `scope`, as large as the log allows.
async fn page_at<R: Repository>(repo: &R, scope: Scope, cursor: i64) -> crate::repository::Page {
    repo.page(&PageRequest {
        scope,
        cursor,
        limit: 1000,
        max_bytes: usize::MAX,
    })
    .await
    .expect("read a page")
}
