//! What an operator does to a running endpoint (docs/operations.md): a backup taken while
//! devices sync, restored on another machine, serving what it held.

use mrm_e2e::{key_file, mrm, Device, Server};

fn admin(db: &std::path::Path, key: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut all = vec![
        "admin",
        "--db",
        db.to_str().unwrap(),
        "--db-key-file",
        key.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    mrm(&all, None)
}

#[test]
fn a_backup_taken_while_devices_sync_restores_to_a_serving_endpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("endpoint.db");
    let server = Server::start(&db);
    let url = server.url();
    let officer = Device::enrolled(tmp.path(), "Awa Diallo", "A", "officer", &server, &url);
    let first = officer.add_incident("Attack on Kiwanja", "killing");
    officer.sync();
    officer.mrm_ok(&["demo", "--incidents", "200", "--seed", "4"], None);

    // The backup runs while the officer's sync writes to the database.
    let sync = officer.spawn(&["sync", "--json"]);
    let backup = tmp.path().join("backups").join("endpoint-1.db");
    std::fs::create_dir_all(backup.parent().unwrap()).unwrap();
    let out = admin(
        &db,
        &key_file(&db),
        &["backup", "--to", backup.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("backed up"));
    assert!(sync.wait_with_output().unwrap().status.success());
    // An enrollment after the backup: a change of the endpoint's own to its device registry,
    // which the officer receives and the restore loses.
    let _lost = Device::enrolled(tmp.path(), "b1", "B", "officer", &server, &url);
    officer.sync();

    // Encrypted like the database: nothing of the records or officers in clear.
    let bytes = std::fs::read(&backup).unwrap();
    for clear in [&b"SQLite format 3"[..], b"Kiwanja", b"Awa Diallo"] {
        assert!(!bytes.windows(clear.len()).any(|w| w == clear));
    }
    // Never over an existing file; never with another key.
    let again = admin(
        &db,
        &key_file(&db),
        &["backup", "--to", backup.to_str().unwrap()],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let other_key = tmp.path().join("other.key");
    std::fs::write(&other_key, "another secret entirely\n").unwrap();
    let wrong = admin(
        &db,
        &other_key,
        &["backup", "--to", tmp.path().join("x.db").to_str().unwrap()],
    );
    assert!(!wrong.status.success());
    assert!(!tmp.path().join("x.db").exists());

    // Restored on another machine at the same address: the backup file and the key file, a new
    // endpoint on them.
    let addr = server.addr.clone();
    drop(server);
    let restored_dir = tmp.path().join("restored");
    std::fs::create_dir_all(&restored_dir).unwrap();
    let restored = restored_dir.join("endpoint.db");
    std::fs::copy(&backup, &restored).unwrap();
    std::fs::copy(key_file(&db), key_file(&restored)).unwrap();
    let server = Server::start_on(&restored, &addr);
    let stats: serde_json::Value =
        serde_json::from_str(&server.admin(&["stats", "--json"], None)).unwrap();
    assert!(stats["records"].as_i64().unwrap() >= 2, "{stats}");
    // The officer's credential still works there, and what the backup missed comes again: the
    // copy carries a new log epoch, so the device sends everything again and says why.
    let report = officer.sync();
    assert_eq!(report["endpoint_restored"], true, "{report}");
    assert_eq!(officer.sync()["endpoint_restored"], false);
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &server, &server.url());
    rv.sync();
    // The restored endpoint wrote its registry under a new actor: the officer takes it.
    let report = officer.sync();
    assert_eq!(report["held_inbound"], serde_json::json!([]), "{report}");
    let title = rv.store().incident(&first).unwrap().title;
    assert_eq!(title, "Attack on Kiwanja");
    // Nothing the officer sent after the backup is lost: the endpoint, rolled back, gets it again.
    let count = |d: &Device| {
        d.store()
            .record_ids()
            .unwrap()
            .into_iter()
            .filter(|(_, k)| *k == mrm_crdt::document::RecordKind::Incident)
            .count()
    };
    assert_eq!(count(&rv), count(&officer));
    assert_eq!(
        rv.store().change_count().unwrap(),
        serde_json::from_str::<serde_json::Value>(&server.admin(&["stats", "--json"], None))
            .unwrap()["changes"]
            .as_i64()
            .unwrap()
    );
}
