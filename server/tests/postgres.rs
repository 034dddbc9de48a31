//! The PostgreSQL repository on a throwaway cluster this test starts itself from Debian's
//! `postgresql` package (`scripts/bootstrap.sh` installs it): `initdb` into a temporary folder,
//! the server on a unix socket in it, no TCP, no system service. It passes the conformance suite
//! SQLite passes, and keeps one order of the log across several instances with many pushers and
//! pullers at once.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use mrm_e2e::PgCluster;

use mrm_server::repository::{
    Append, AuditAction, Conflict, Enrollment, Expected, NewAudit, NewChange, PageRequest,
    RecordWrite, RepoError, Repository, Scope, TokenRow,
};
use mrm_server::PgRepository;

/// A new empty database on the cluster (its `createdb` blocks a moment).
fn fresh(cluster: &PgCluster, name: &str) -> String {
    tokio::task::block_in_place(|| cluster.fresh(name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_passes_the_conformance_suite() {
    let cluster = PgCluster::start();
    let n = std::sync::atomic::AtomicUsize::new(0);
    mrm_server::conformance::run(|| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cluster = &cluster;
        async move {
            let url = fresh(cluster, &format!("conformance_{i}"));
            PgRepository::open(&url)
                .await
                .expect("open a fresh repository")
        }
    })
    .await;
    // Migrations are numbered and run once, however many instances start.
    let url = fresh(&cluster, "migrations");
    let (a, b) = tokio::join!(PgRepository::open(&url), PgRepository::open(&url));
    assert_eq!(a.unwrap().schema_version().await.unwrap(), 1);
    assert_eq!(b.unwrap().schema_version().await.unwrap(), 1);
}

fn write(doc: &str, hashes: &[String]) -> RecordWrite {
    RecordWrite {
        doc_id: doc.into(),
        kind: "incident".into(),
        team: "A".into(),
        entered_scope: true,
        changes: hashes
            .iter()
            .map(|h| NewChange {
                hash: h.clone(),
                actor: "aa".repeat(16),
                // The bytes carry the hash, so a reader knows which change it got.
                bytes: h.as_bytes().to_vec(),
            })
            .collect(),
        snapshot: hashes.join(",").into_bytes(),
    }
}

fn scope() -> Scope {
    Scope {
        exclude_device: "reader".into(),
        team: None,
        team_kinds: vec!["incident".into(), "patrol".into()],
        shared_kinds: vec!["config".into(), "registry".into()],
    }
}

/// Many pushers on three instances over one database while pullers page through the log: every
/// puller ends with every change exactly once, each record's in the order pushed; a token
/// enrolls once across instances; a batch sent to two instances at once is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_instances_keep_one_order_of_the_log() {
    let cluster = PgCluster::start();
    let url = fresh(&cluster, "mission");
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(Arc::new(PgRepository::open(&url).await.unwrap()));
    }
    const PUSHERS: usize = 12;
    const PUSHES: usize = 30;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut pushers = Vec::new();
    for p in 0..PUSHERS {
        let repo = instances[p % 3].clone();
        pushers.push(tokio::spawn(async move {
            for k in 0..PUSHES {
                // Two records a push, three changes each: long enough appends for an
                // interleaving to matter.
                let hashes: Vec<String> = (0..6).map(|j| format!("h-{p}-{k}-{j}")).collect();
                let a = Append {
                    device_id: format!("device-{p}"),
                    received_at: "2026-01-03T00:00:00.000Z".into(),
                    records: vec![
                        write(&format!("doc-{p}-{}", k % 5), &hashes[..3]),
                        write(&format!("doc-{p}-{}", (k + 1) % 5 + 5), &hashes[3..]),
                    ],
                    expected: Expected {
                        records: Vec::new(),
                        unknown_hashes: hashes.clone(),
                    },
                    ..Append::default()
                };
                repo.append(a).await.expect("append");
            }
        }));
    }
    let mut pullers = Vec::new();
    for q in 0..4 {
        let repo = instances[q % 3].clone();
        let done = done.clone();
        pullers.push(tokio::spawn(async move {
            let mut cursor = 0;
            let mut got: Vec<String> = Vec::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let page = repo
                    .page(&PageRequest {
                        scope: scope(),
                        cursor,
                        limit: 7,
                        max_bytes: 1 << 20,
                    })
                    .await
                    .expect("page");
                assert!(page.cursor >= cursor);
                got.extend(
                    page.changes
                        .iter()
                        .map(|(_, b)| String::from_utf8(b.clone()).unwrap()),
                );
                cursor = page.cursor;
                if finished && page.remaining == 0 && page.changes.is_empty() {
                    return got;
                }
                if page.changes.is_empty() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }));
    }
    for p in pushers {
        p.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let all: HashSet<String> = (0..PUSHERS)
        .flat_map(|p| (0..PUSHES).flat_map(move |k| (0..6).map(move |j| format!("h-{p}-{k}-{j}"))))
        .collect();
    for q in pullers {
        let got = q.await.unwrap();
        let once: HashSet<&String> = got.iter().collect();
        assert_eq!(once.len(), got.len(), "a change came twice");
        assert_eq!(
            once.into_iter().cloned().collect::<HashSet<_>>(),
            all,
            "a change was skipped"
        );
        // Each pusher's changes in the order it pushed them.
        let mut last: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for h in &got {
            let parts: Vec<usize> = h[2..].split('-').map(|x| x.parse().unwrap()).collect();
            let (p, k, j) = (parts[0], parts[1], parts[2]);
            if let Some(prev) = last.insert(p.to_string(), (k, j)) {
                assert!(
                    prev < (k, j),
                    "pusher {p}: {prev:?} came after {:?}",
                    (k, j)
                );
            }
        }
    }

    // One batch sent to two instances at once: stored once, the other told it is stale.
    let hashes = vec!["twice-1".to_string(), "twice-2".to_string()];
    let batch = || Append {
        device_id: "device-x".into(),
        received_at: "2026-01-04T00:00:00.000Z".into(),
        records: vec![write("doc-twice", &hashes)],
        expected: Expected {
            records: vec![("doc-twice".into(), None)],
            unknown_hashes: hashes.clone(),
        },
        ..Append::default()
    };
    let (a, b) = tokio::join!(instances[0].append(batch()), instances[1].append(batch()));
    let stored = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(stored, 1, "{a:?} {b:?}");
    assert!(matches!(
        if a.is_ok() { b } else { a },
        Err(RepoError::Stale(_))
    ));
    assert_eq!(
        instances[2].known(&hashes).await.unwrap().len(),
        2,
        "stored once"
    );

    // One token, two instances enrolling with it at once: one enrollment.
    let device = mrm_server::model::Device {
        id: "dev-once".into(),
        officer: "Officer".into(),
        team: "A".into(),
        role: mrm_crdt::protocol::Role::Officer,
        actor: None,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        enrolled_at: None,
        revoked_at: None,
        last_sync_at: None,
    };
    let token = TokenRow {
        token_hash: "token-once".into(),
        device_id: "dev-once".into(),
        expires_at: "2999-01-01T00:00:00Z".into(),
        used_at: None,
        allow_unproven: false,
    };
    let note = |n: i64| NewAudit {
        at: format!("2026-01-05T00:00:{n:02}.000Z"),
        action: AuditAction::Enrolled,
        device_id: Some("dev-once".into()),
        detail: serde_json::json!({ "n": n }),
    };
    instances[0]
        .create_device(&device, &token, note(0))
        .await
        .unwrap();
    let enrollment = |actor: &str| Enrollment {
        token_hash: "token-once".into(),
        device_id: "dev-once".into(),
        actor: actor.into(),
        secret_hash: format!("secret-{actor}"),
        at: "2026-01-05T00:00:00.000Z".into(),
        append: Append {
            device_id: "endpoint".into(),
            received_at: "2026-01-05T00:00:00.000Z".into(),
            audit: vec![note(1)],
            ..Append::default()
        },
    };
    let (a, b) = tokio::join!(
        instances[1].enroll(enrollment(&"bb".repeat(16))),
        instances[2].enroll(enrollment(&"cc".repeat(16)))
    );
    assert_eq!(
        [&a, &b].iter().filter(|r| r.is_ok()).count(),
        1,
        "{a:?} {b:?}"
    );
    assert!(matches!(
        if a.is_ok() { b } else { a },
        Err(RepoError::Conflict(Conflict::TokenUsed))
    ));
}

/// Two missions in one database (a headquarters): each instance serves the mission its address
/// names, and neither sees the other's devices, tokens, changes, records, audit or settings;
/// the same change may be stored in both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missions_sharing_a_database_never_see_each_other() {
    let cluster = PgCluster::start();
    let url = fresh(&cluster, "hq");
    let north = PgRepository::open(&format!("{url}&mission=north"))
        .await
        .unwrap();
    let south = PgRepository::open(&format!("{url}&mission=south"))
        .await
        .unwrap();
    let plain = PgRepository::open(&url).await.unwrap();
    assert_eq!(
        (north.mission(), south.mission(), plain.mission()),
        ("north", "south", mrm_server::postgres::DEFAULT_MISSION)
    );

    let device = mrm_server::model::Device {
        id: "dev-1".into(),
        officer: "Officer".into(),
        team: "A".into(),
        role: mrm_crdt::protocol::Role::Officer,
        actor: None,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        enrolled_at: None,
        revoked_at: None,
        last_sync_at: None,
    };
    let token = TokenRow {
        token_hash: "token-1".into(),
        device_id: "dev-1".into(),
        expires_at: "2999-01-01T00:00:00Z".into(),
        used_at: None,
        allow_unproven: false,
    };
    let note = NewAudit {
        at: "2026-01-05T00:00:00.000Z".into(),
        action: AuditAction::Enrolled,
        device_id: Some("dev-1".into()),
        detail: serde_json::json!({}),
    };
    north
        .create_device(&device, &token, note.clone())
        .await
        .unwrap();
    // The same device id and token in another mission are another device and token.
    south
        .create_device(&device, &token, note.clone())
        .await
        .unwrap();
    assert!(plain.device("dev-1").await.unwrap().is_none());
    assert!(plain.token("token-1").await.unwrap().is_none());
    assert_eq!(north.devices().await.unwrap().len(), 1);

    let hashes = vec!["shared-1".to_string(), "shared-2".to_string()];
    let batch = || Append {
        device_id: "dev-1".into(),
        received_at: "2026-01-04T00:00:00.000Z".into(),
        records: vec![write("doc-1", &hashes)],
        expected: Expected {
            records: vec![("doc-1".into(), None)],
            unknown_hashes: hashes.clone(),
        },
        ..Append::default()
    };
    north.append(batch()).await.unwrap();
    assert!(south.known(&hashes).await.unwrap().is_empty());
    assert!(south.record("doc-1").await.unwrap().is_none());
    let page = |repo: PgRepository| async move {
        repo.page(&PageRequest {
            scope: scope(),
            cursor: 0,
            limit: 100,
            max_bytes: 1 << 20,
        })
        .await
        .unwrap()
    };
    assert!(page(south.clone()).await.changes.is_empty());
    assert_eq!(page(north.clone()).await.changes.len(), 2);
    // The same batch in the other mission is stored there too.
    south.append(batch()).await.unwrap();
    assert_eq!(south.stats().await.unwrap().changes, 2);
    assert_eq!(north.stats().await.unwrap().changes, 2);
    assert_eq!(plain.stats().await.unwrap().changes, 0);
    assert!(plain.audit_log("").await.unwrap().is_empty());
    assert_eq!(north.audit_log("").await.unwrap().len(), 1);

    north.meta_or_insert("secret", "n").await.unwrap();
    assert_eq!(south.meta_or_insert("secret", "s").await.unwrap(), "s");
    assert_eq!(north.meta("secret").await.unwrap().as_deref(), Some("n"));

    // A mission name that could smuggle anything is refused before any connection.
    for bad in ["", "a b", "north;drop", &"x".repeat(65)] {
        let err = PgRepository::open(&format!("{url}&mission={bad}"))
            .await
            .err()
            .expect("refused");
        assert!(err.to_string().contains("mission"), "{err}");
    }
}
