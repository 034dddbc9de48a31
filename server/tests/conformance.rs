//! The repository conformance suite ([`mrm_server::conformance`]) on the embedded SQLite
//! repository, each check on a fresh encrypted database file.

use mrm_server::SqliteRepository;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let key = mrm_crdt::crypto::Key::random().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    mrm_server::conformance::run(|| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.path().join(format!("endpoint-{i}.db"));
        let repo = SqliteRepository::open(&path, &key).expect("open a fresh repository");
        async move { repo }
    })
    .await;
}

/// A database is at the last migration once opened, and opening it again changes nothing.
#[test]
fn migrations_are_numbered_and_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let key = mrm_crdt::crypto::Key::random().unwrap();
    let path = dir.path().join("e.db");
    let first = SqliteRepository::open(&path, &key).unwrap();
    let v = first.schema_version().unwrap();
    assert!(v >= 1);
    drop(first);
    assert_eq!(
        SqliteRepository::open(&path, &key)
            .unwrap()
            .schema_version()
            .unwrap(),
        v
    );
}
