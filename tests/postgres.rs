//! The endpoint on PostgreSQL through the real binaries: two `mrm serve` instances over one
//! database (a throwaway cluster, [`PgCluster`]), devices enrolled and syncing through either,
//! the administrator's commands on the database's URL.

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
