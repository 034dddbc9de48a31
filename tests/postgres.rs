//! The endpoint on PostgreSQL through the real binaries: two `mrm serve` instances over one
//! database (a throwaway cluster, [`PgCluster`]), devices enrolled and syncing through either,
//! the administrator's commands on the database's URL.

use mrm_crdt::document::RecordKind;
use mrm_e2e::{Device, PgCluster, Server};

#[test]
fn two_instances_over_one_postgresql_database_serve_one_mission() {
    let cluster = PgCluster::start();
    let url = cluster.fresh("mission");
    let db = std::path::PathBuf::from(&url);
    let one = Server::start(&db);
    let two = Server::start(&db);
    let tmp = tempfile::tempdir().unwrap();
    // Tokens issued on the database work through either instance, once.
    let a1 = Device::enrolled(tmp.path(), "a1", "A", "officer", &one, &one.url());
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &two, &two.url());
    let i1 = a1.add_incident("Attack on Kiwanja", "killing");
    a1.sync();
    let report = rv.sync();
    assert!(
        report["records_changed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == i1.as_str()),
        "{report}"
    );
    // An instance dies; the other serves everyone (nothing held by an instance).
    drop(one);
    rv.mrm_ok(
        &["incident", "edit", &i1, "--json", "-"],
        Some(r#"{"title": "Attack on Kiwanja market"}"#),
    );
    rv.sync();
    let third = Device::enrolled(tmp.path(), "a2", "A", "officer", &two, &two.url());
    third.sync();
    assert_eq!(
        third.store().incident(&i1).unwrap().title,
        "Attack on Kiwanja market"
    );
    let devices = two.admin(&["device", "list", "--json"], None);
    assert!(
        devices.contains("a1") && devices.contains("rv"),
        "{devices}"
    );
}

/// The deployment of docs/operations.md: three `mrm serve` instances over one PostgreSQL
/// database behind nginx, devices on the proxy's URL. One instance is killed (SIGKILL) while
/// every device syncs; the next sync of every device goes through the others, and the mission
/// ends with every change once, on the endpoint and on every device in its scope.
#[test]
fn three_instances_behind_nginx_survive_one_killed_mid_sync() {
    use mrm_e2e::Nginx;

    let cluster = PgCluster::start();
    let db = std::path::PathBuf::from(cluster.fresh("mission"));
    let mut instances: Vec<Server> = (0..3).map(|_| Server::start(&db)).collect();
    let addrs: Vec<String> = instances.iter().map(|s| s.addr.clone()).collect();
    let nginx = Nginx::start(&addrs);
    let url = nginx.url();
    let tmp = tempfile::tempdir().unwrap();
    let admin = &instances[0];
    let officers: Vec<Device> = [("a1", "A"), ("a2", "A"), ("b1", "B"), ("b2", "B")]
        .iter()
        .map(|(name, team)| Device::enrolled(tmp.path(), name, team, "officer", admin, &url))
        .collect();
    let reviewer = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", admin, &url);
    for (n, d) in officers.iter().enumerate() {
        let seed = (n + 1).to_string();
        d.mrm_ok(&["demo", "--incidents", "80", "--seed", &seed], None);
    }

    // Everyone syncs at once, in small pages so each sync makes many requests; one instance
    // dies in the middle.
    let children: Vec<_> = officers
        .iter()
        .chain(std::iter::once(&reviewer))
        .map(|d| d.spawn(&["sync", "--attempts", "1", "--page", "10"]))
        .collect();
    // The kill comes once the devices' work has started to arrive (not after a delay: each
    // process spends its first half second deriving its store's key).
    let stats = |s: &Server| -> serde_json::Value {
        serde_json::from_str(&s.admin(&["stats", "--json"], None)).unwrap()
    };
    let before = stats(&instances[0])["changes"].as_i64().unwrap();
    let started = std::time::Instant::now();
    while stats(&instances[0])["changes"].as_i64().unwrap() < before + 50 {
        assert!(started.elapsed().as_secs() < 60, "no sync got going");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    instances[1].kill();
    let in_flight: Vec<bool> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            if !out.status.success() {
                eprintln!("in flight: {}", String::from_utf8_lossy(&out.stderr));
            }
            out.status.success()
        })
        .collect();

    // The next sync of every device goes through (Device::sync asserts it), twice round so that
    // every device has seen every other's work.
    for _ in 0..2 {
        for d in officers.iter().chain(std::iter::once(&reviewer)) {
            d.sync();
        }
    }
    let stats = stats(&instances[2]);
    assert_eq!(
        stats["changes"], stats["distinct_hashes"],
        "no change stored twice"
    );
    // The endpoint holds exactly the devices' changes plus its own (the device registry).
    let everything = reviewer.store().change_count().unwrap();
    assert_eq!(stats["changes"].as_i64().unwrap(), everything, "{stats}");
    // Every device converges on the reviewer's copy of each record in its scope: an officer's own
    // records reached the reviewer, and each officer holds every record of their team, with the
    // same heads.
    let reviewer_store = reviewer.store();
    let teams = ["A", "A", "B", "B"];
    for (d, team) in officers.iter().zip(teams) {
        let store = d.store();
        for (id, kind) in store.record_ids().unwrap() {
            if kind == RecordKind::Incident {
                assert_eq!(
                    store.incident_view(&id).unwrap().heads,
                    reviewer_store.incident_view(&id).unwrap().heads,
                    "{} and the reviewer differ on {id}",
                    d.name
                );
            }
        }
        for (id, kind) in reviewer_store.record_ids().unwrap() {
            if kind == RecordKind::Incident {
                let view = reviewer_store.incident_view(&id).unwrap();
                if view.incident.team == team {
                    assert!(store.incident_view(&id).is_ok(), "{} lacks {id}", d.name);
                }
            }
        }
    }
    eprintln!(
        "syncs in flight when the instance died: {} of {} finished; nginx:\n{}",
        in_flight.iter().filter(|ok| **ok).count(),
        in_flight.len(),
        nginx.errors()
    );
}

/// A PostgreSQL endpoint restored from pg_dump into a new database, marked with
/// `mrm admin restored`: devices send what the dump missed and read the mission again.
#[test]
fn a_postgresql_endpoint_restored_from_pg_dump_loses_nothing() {
    let cluster = PgCluster::start();
    let url = cluster.fresh("live");
    let db = std::path::PathBuf::from(&url);
    let server = Server::start(&db);
    let tmp = tempfile::tempdir().unwrap();
    let officer = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &server.url());
    let before = officer.add_incident("Attack on Kiwanja", "killing");
    officer.sync();
    let dump = tmp.path().join("live.dump");
    let out = cluster
        .program("pg_dump")
        .arg("-h")
        .arg(&cluster.socket)
        .args(["-U", "mrm", "-Fc", "live"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&dump, &out.stdout).unwrap();
    // Work pushed after the dump, and a device enrolled after it (the endpoint's own change to
    // its device registry), then the database is lost.
    let after = officer.add_incident("Attack on Rutshuru", "abduction");
    officer.sync();
    let lost = Device::enrolled(tmp.path(), "b1", "B", "officer", &server, &server.url());
    officer.sync();
    let addr = server.addr.clone();
    drop(server);

    let restored_url = cluster.fresh("restored");
    let out = cluster
        .program("pg_restore")
        .arg("-h")
        .arg(&cluster.socket)
        .args(["-U", "mrm", "-d", "restored", "--no-owner"])
        .stdin(std::fs::File::open(&dump).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored_db = std::path::PathBuf::from(&restored_url);
    let server = Server::start_on(&restored_db, &addr);
    let said = server.admin(&["restored"], None);
    assert!(said.contains("marked restored"), "{said}");
    let report = officer.sync();
    assert_eq!(report["endpoint_restored"], true, "{report}");
    // The endpoint writes its registry again (an enrollment) under a new actor: its old one
    // would reuse sequence numbers the officer holds for the lost enrollment, and the officer
    // would hold the registry as reusing an identity.
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &server, &server.url());
    rv.sync();
    let report = officer.sync();
    assert_eq!(report["held_inbound"], serde_json::json!([]), "{report}");
    assert!(
        officer
            .store()
            .registry()
            .unwrap()
            .devices
            .values()
            .any(|e| e.officer == "rv"),
        "the officer reads the registry written after the restore"
    );
    // The device enrolled after the dump is unknown to the restored endpoint: it is told so.
    let out = lost.mrm(&["sync"], None);
    assert!(!out.status.success());
    eprintln!("lost enrollment: {}", String::from_utf8_lossy(&out.stderr));
    for id in [&before, &after] {
        assert!(rv.store().incident(id).is_ok(), "{id} lost in the restore");
    }
    let audit = server.admin(&["audit", "--json"], None);
    assert!(audit.contains("\"restored\""), "{audit}");
}
