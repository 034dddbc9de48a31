//! Containment through the real binaries and a real endpoint: whatever happens to one record or
//! one laptop (a copied store, a restored backup, a colleague's lost laptop and its relayed work,
//! a poisoned record),
//! everyone else's work keeps flowing and the affected laptop says what to do.

use std::collections::BTreeMap;
use std::path::Path;

use mrm_crdt::document::RecordKind;
use mrm_e2e::{Backend, Device, EndpointDb, Server, BUNDLE_PASSPHRASE};
use serde_json::{json, Value};

/// Every incident a device holds, as its JSON.
fn incidents(d: &Device) -> BTreeMap<String, Value> {
    let s = d.store();
    s.record_ids()
        .unwrap()
        .into_iter()
        .filter(|(_, kind)| *kind == RecordKind::Incident)
        .map(|(id, _)| {
            let v = serde_json::to_value(s.incident(&id).unwrap()).unwrap();
            (id, v)
        })
        .collect()
}

fn edit(d: &Device, id: &str, patch: Value) {
    d.mrm_ok(
        &["incident", "edit", id, "--json", "-"],
        Some(&patch.to_string()),
    );
}

/// Copy a store's folder, as a backup or a cloned laptop would.
fn copy_store(from: &Path, to: &Path) {
    let out = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// A sync that must stop on the reused identity, name the held record and say what to do.
fn sync_finds_the_copy(d: &Device, record: &str) {
    let out = d.mrm(&["sync"], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the sync must not pass as clean: {stdout}"
    );
    assert!(
        stdout.contains(
            "this store is a copy of another laptop's store, or was restored from a backup"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("mrm recover"), "{stdout}");
    assert!(
        stdout.contains(&format!("held on this laptop: record {record}")),
        "{stdout}"
    );
    assert!(stderr.contains("mrm recover"), "{stderr}");
    let status = d.mrm_ok(&["status"], None);
    assert!(status.contains("mrm recover"), "{status}");
}

/// `mrm recover`, a new enrollment, a sync: the work goes to the mission.
fn recover_and_resend(d: &Device, server: &Server, url: &str) {
    let out = d.mrm_ok(&["recover"], None);
    assert!(out.contains("re-recorded the unsent work of"), "{out}");
    assert!(out.contains("mrm enroll"), "{out}");
    let token = server.token(&d.name, "A", "officer");
    d.mrm_ok(&["enroll", "--server", url, "--token", &token], None);
    let report = d.sync();
    assert!(report["held"].as_array().unwrap().is_empty(), "{report}");
    assert_eq!(report["identity_reused"], false, "{report}");
    // Enrolled again with nothing held: a recovery has nothing to do.
    let again = d.mrm(&["recover"], None);
    assert!(!again.status.success());
}

fn a_copied_store_is_found_and_its_work_reaches_the_mission_without_retyping(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    let url = server.url();
    let a1 = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &url);
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &server, &url);
    let i1 = a1.add_incident("Attack on Kiwanja", "killing");
    a1.sync();

    // The laptop's store is copied to a second laptop; both go on recording.
    let copy = Device {
        dir: tmp.path().join("a1-copy"),
        name: "a1-copy".into(),
        env: Vec::new(),
    };
    copy_store(&a1.dir, &copy.dir);
    edit(
        &a1,
        &i1,
        json!({"narrative": "Written on the original laptop."}),
    );
    a1.sync();
    edit(&copy, &i1, json!({"title": "Attack on Kiwanja market"}));
    let i2 = copy.add_incident("Abduction near Bunia", "abduction");

    sync_finds_the_copy(&copy, &i1);
    // What did not collide went up all the same.
    rv.sync();
    let seen = incidents(&rv);
    assert!(
        seen.contains_key(&i2),
        "the copy's new incident was blocked"
    );
    assert_eq!(seen[&i1]["title"], "Attack on Kiwanja");

    recover_and_resend(&copy, &server, &url);
    // Nothing was retyped: the copy reads as before, and now has the original's work too.
    let mine = incidents(&copy);
    assert_eq!(mine[&i1]["title"], "Attack on Kiwanja market");
    assert_eq!(mine[&i1]["narrative"], "Written on the original laptop.");
    for d in [&rv, &a1] {
        d.sync();
        let i = &incidents(d)[&i1];
        assert_eq!(i["title"], "Attack on Kiwanja market", "{}: {i}", d.name);
        assert_eq!(
            i["narrative"], "Written on the original laptop.",
            "{}",
            d.name
        );
    }
    assert!(
        rv.store().conflicts(&i1).unwrap().is_empty(),
        "the recovery made conflicts"
    );
    // The original laptop goes on as before.
    edit(&a1, &i1, json!({"narrative": "Later, on the original."}));
    a1.sync();
    rv.sync();
    assert_eq!(incidents(&rv)[&i1]["narrative"], "Later, on the original.");
}

fn a_store_restored_from_a_backup_is_found_and_its_work_reaches_the_mission(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    let url = server.url();
    let a1 = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &url);
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &server, &url);
    let i1 = a1.add_incident("Attack on Kiwanja", "killing");
    a1.sync();
    let backup = tmp.path().join("backup");
    copy_store(&a1.dir, &backup);
    // Work synced after the backup, then the disk dies and last week's backup comes back.
    edit(
        &a1,
        &i1,
        json!({"narrative": "Synced before the disk died."}),
    );
    a1.sync();
    std::fs::remove_dir_all(&a1.dir).unwrap();
    copy_store(&backup, &a1.dir);
    edit(&a1, &i1, json!({"title": "Recorded after the restore"}));

    sync_finds_the_copy(&a1, &i1);
    recover_and_resend(&a1, &server, &url);
    rv.sync();
    let i = &incidents(&rv)[&i1];
    assert_eq!(i["title"], "Recorded after the restore");
    assert_eq!(i["narrative"], "Synced before the disk died.");
    assert_eq!(
        incidents(&a1)[&i1]["narrative"],
        "Synced before the disk died."
    );
}

fn a_lost_colleagues_record_is_held_and_named_and_own_work_still_arrives(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    let url = server.url();
    // a1 is not enrolled yet: its bundle carries no authorship tags, so nobody can relay its
    // work (tests/relay.rs has the enrolled colleague, whose work is relayed).
    let a1 = Device::new(tmp.path(), "a1", "A");
    let a2 = Device::enrolled(tmp.path(), "a2", "A", "officer", &server, &url);
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &server, &url);
    a2.sync();
    // a1 records an incident and hands it to a2 by USB; a1's laptop then goes missing.
    let i1 = a1.add_incident("Attack on Kiwanja", "killing");
    let file = tmp.path().join("usb.mrmb");
    a1.mrm_ok(&["bundle", "export", "--out", file.to_str().unwrap()], None);
    a2.mrm_ok(&["bundle", "import", file.to_str().unwrap()], None);
    edit(&a2, &i1, json!({"narrative": "Completed by a2."}));
    let i2 = a2.add_incident("Abduction near Bunia", "abduction");

    let report = a2.sync();
    assert_eq!(report["relayed"], 0, "{report}");
    let held = report["held"].as_array().unwrap();
    assert_eq!(held.len(), 1, "{report}");
    assert_eq!(held[0]["doc_id"], i1.as_str());
    let reason = held[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("a device not yet in the registry") && reason.contains("USB"),
        "{reason}"
    );
    rv.sync();
    let seen = incidents(&rv);
    assert!(seen.contains_key(&i2), "a2's own work was blocked");
    assert!(!seen.contains_key(&i1));
    let status = a2.mrm_ok(&["status"], None);
    assert!(status.contains(&i1) && status.contains("USB"), "{status}");

    // a1's laptop turns up, is enrolled and syncs: a2's next sync releases the record.
    let token = server.token("a1", "A", "officer");
    a1.mrm_ok(&["enroll", "--server", &url, "--token", &token], None);
    a1.sync();
    let report = a2.sync();
    assert!(report["held"].as_array().unwrap().is_empty(), "{report}");
    rv.sync();
    assert_eq!(incidents(&rv)[&i1]["narrative"], "Completed by a2.");
}

#[test]
fn a_poisoned_record_in_a_bundle_holds_only_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let a1 = Device::new(tmp.path(), "a1", "A");
    let b1 = Device::new(tmp.path(), "b1", "A");
    let i1 = a1.add_incident("Attack on Kiwanja", "killing");
    let i2 = a1.add_incident("Abduction near Bunia", "abduction");
    let mut frames = a1.store().changes_missing_from(None).unwrap();
    // A record that is not an MRM record, and bytes that are not a change.
    let mut doc = automerge::AutoCommit::new();
    automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "x", 1).unwrap();
    let poison = "01890000-0000-7000-8000-0000000000aa".to_string();
    frames.insert(0, (poison.clone(), doc.save_nocompress()));
    frames.insert(
        0,
        (
            poison.clone(),
            doc.get_last_local_change().unwrap().bytes().into_owned(),
        ),
    );
    frames.push((
        "01890000-0000-7000-8000-0000000000bb".to_string(),
        b"junk".to_vec(),
    ));
    let header = mrm_crdt::bundle::BundleHeader {
        mission: "MONUSCO".into(),
        from_device: "a1".into(),
        created_at: "2026-11-30T00:00:00Z".into(),
        count: frames.len() as u64,
    };
    let bytes = mrm_crdt::bundle::encode(&header, &frames).unwrap();
    let sealed = mrm_crdt::bundle::seal(
        &mrm_crdt::crypto::Passphrase::new(BUNDLE_PASSPHRASE),
        &bytes,
    )
    .unwrap();
    let file = tmp.path().join("poisoned.mrmb");
    std::fs::write(&file, sealed).unwrap();
    let out = b1.mrm_ok(&["bundle", "import", file.to_str().unwrap()], None);
    assert!(out.contains(&format!("waiting  {poison}")), "{out}");
    assert!(out.contains("left out"), "{out}");
    let seen = incidents(&b1);
    assert!(seen.contains_key(&i1) && seen.contains_key(&i2), "{out}");
    let status = b1.mrm_ok(&["status"], None);
    assert!(status.contains(&poison), "{status}");
}

fn a_store_copied_before_its_enrollment_takes_a_new_identity(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    let url = server.url();
    let a1 = mrm_e2e::Device::new(tmp.path(), "a1", "A");
    let copy = Device {
        dir: tmp.path().join("a1-copy"),
        name: "a1-copy".into(),
        env: Vec::new(),
    };
    copy_store(&a1.dir, &copy.dir);
    let token = server.token("a1", "A", "officer");
    a1.mrm_ok(&["enroll", "--server", &url, "--token", &token], None);
    let i2 = copy.add_incident("Recorded on the copy", "abduction");
    // The copy's enrollment finds its identity taken, and says what to do.
    let token = server.token("a1-copy", "A", "officer");
    let out = copy.mrm(&["enroll", "--server", &url, "--token", &token], None);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("mrm recover"), "{said}");
    copy.mrm_ok(&["recover"], None);
    let token = server.token("a1-copy", "A", "officer");
    copy.mrm_ok(&["enroll", "--server", &url, "--token", &token], None);
    copy.sync();
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &server, &url);
    rv.sync();
    assert_eq!(incidents(&rv)[&i2]["title"], "Recorded on the copy");
}

#[test]
fn recovery_waits_for_a_sync_cut_before_it_found_what_the_endpoint_has() {
    let tmp = tempfile::tempdir().unwrap();
    let a1 = mrm_e2e::Device::new(tmp.path(), "a1", "A");
    let i1 = a1.add_incident("Attack on Kiwanja", "killing");
    // As a sync leaves it when the link drops right after the endpoint's refusal.
    a1.store()
        .hold_reused(&i1, "this store reuses the identity of another copy of it")
        .unwrap();
    let out = a1.mrm(&["recover"], None);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("run `mrm sync` once more"), "{said}");
    assert_eq!(incidents(&a1)[&i1]["title"], "Attack on Kiwanja");
}

mrm_e2e::on_both_backends!(
    a_copied_store_is_found_and_its_work_reaches_the_mission_without_retyping,
    a_store_restored_from_a_backup_is_found_and_its_work_reaches_the_mission,
    a_lost_colleagues_record_is_held_and_named_and_own_work_still_arrives,
    a_store_copied_before_its_enrollment_takes_a_new_identity,
    a_lost_colleagues_work_is_relayed_and_judged_as_theirs,
);

// Relays (docs/sync-protocol.md, "Relays"): a colleague's work that came by USB goes on to the
// mission from the laptop that received it, judged as its author's; a relay can neither forge a
// colleague's change nor pass on a revoked laptop's.

fn shown(d: &Device, id: &str) -> Value {
    serde_json::from_str(&d.mrm_ok(&["incident", "show", id, "--json"], None)).unwrap()
}

/// `from` hands everything it holds to `to` on a USB stick.
fn by_usb(from: &Device, to: &Device) {
    let file = from.dir.with_extension("usb.mrmb");
    from.mrm_ok(&["bundle", "export", "--out", file.to_str().unwrap()], None);
    to.mrm_ok(&["bundle", "import", file.to_str().unwrap()], None);
}

fn device_id(d: &Device) -> String {
    d.store().sync_state().unwrap().unwrap().device_id
}

fn team(server: &Server, url: &str, root: &std::path::Path) -> (Device, Device, Device) {
    let a1 = Device::enrolled(root, "a1", "A", "officer", server, url);
    let a2 = Device::enrolled(root, "a2", "A", "officer", server, url);
    let rv = Device::enrolled(root, "rv", "HQ", "reviewer", server, url);
    (a1, a2, rv)
}

fn a_lost_colleagues_work_is_relayed_and_judged_as_theirs(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    let url = server.url();
    let (a1, a2, rv) = team(&server, &url, tmp.path());
    // a1 records an incident and hands it to a2 by USB; a1's laptop then goes missing before
    // it ever syncs. a2 completes it and records its own.
    let i1 = a1.add_incident("Attack on Kiwanja", "killing");
    by_usb(&a1, &a2);
    a2.mrm_ok(
        &["incident", "edit", &i1, "--json", "-"],
        Some(&json!({"narrative": "Completed by a2."}).to_string()),
    );
    let i2 = a2.add_incident("Abduction near Bunia", "abduction");

    let report = a2.sync();
    assert!(report["relayed"].as_u64().unwrap() >= 1, "{report}");
    assert!(report["held"].as_array().unwrap().is_empty(), "{report}");
    let out = a2.mrm_ok(&["sync"], None);
    assert!(!out.contains("held on this laptop"), "{out}");

    rv.sync();
    let seen = incidents(&rv);
    assert!(seen.contains_key(&i2));
    assert_eq!(seen[&i1]["narrative"], "Completed by a2.");
    // The endpoint took a1's part as a1's: the record was created by a1, edited by a2.
    let i = shown(&rv, &i1);
    assert_eq!(i["created_by"], "a1", "{i}");

    // A reviewer's decision, made offline and carried by an officer who may not decide: the
    // endpoint judges it as the reviewer's and takes it.
    let vid = i["violations"][0]["id"].as_str().unwrap().to_string();
    rv.mrm_ok(
        &[
            "verify",
            &i1,
            &vid,
            "--status",
            "verified",
            "--note",
            "Two sources.",
        ],
        None,
    );
    by_usb(&rv, &a2);
    let report = a2.sync();
    assert!(report["relayed"].as_u64().unwrap() >= 1, "{report}");
    assert!(
        report["warnings"].as_array().unwrap().is_empty(),
        "{report}"
    );
    a1.sync();
    let events = shown(&a1, &i1)["violations"][0]["verification"].clone();
    let last = events.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["status"], "verified", "{events}");
    assert_eq!(last["by"], "rv", "{events}");

    // a1's laptop turns up: its sync finds its work already there.
    let report = a1.sync();
    assert!(report["held"].as_array().unwrap().is_empty(), "{report}");
}

#[test]
fn a_relay_cannot_forge_a_colleagues_change_nor_pass_on_a_revoked_laptops() {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(Backend::Sqlite, tmp.path());
    let server = endpoint.serve();
    let url = server.url();
    let (a1, a2, rv) = team(&server, &url, tmp.path());
    let i0 = a1.add_incident("Attack on Kiwanja", "killing");
    a1.sync();
    a2.sync();
    rv.sync();

    // a2 writes a change under the reviewer's actor (here made with the reviewer's store, as a
    // modified client would make it) and tags it with a made-up tag.
    let forged = rv.forge(&i0, |tx| {
        use automerge::transaction::Transactable;
        tx.put(automerge::ROOT, "title", "Forged by a relay")
            .unwrap();
    });
    let header = mrm_crdt::bundle::BundleHeader {
        mission: "MONUSCO".into(),
        from_device: "rv".into(),
        created_at: "2026-11-30T00:00:00Z".into(),
        count: 1,
    };
    let bytes =
        mrm_crdt::bundle::encode_frames_tagged(&header, &[forged], &[Some([7; 16])]).unwrap();
    let sealed = mrm_crdt::bundle::seal(
        &mrm_crdt::crypto::Passphrase::new(BUNDLE_PASSPHRASE),
        &bytes,
    )
    .unwrap();
    let file = tmp.path().join("forged.mrmb");
    std::fs::write(&file, sealed).unwrap();
    a2.mrm_ok(&["bundle", "import", file.to_str().unwrap()], None);
    let report = a2.sync();
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("not relayed") && warnings.contains("does not check out"),
        "{report}"
    );
    assert_eq!(report["relayed"], 0, "{report}");
    rv.sync();
    assert_eq!(incidents(&rv)[&i0]["title"], "Attack on Kiwanja");
    // Refused for good: not offered again.
    let report = a2.sync();
    assert!(
        report["warnings"].as_array().unwrap().is_empty(),
        "{report}"
    );

    // a1 hands its new work to a2, then a1's laptop is lost and revoked: the relay refuses it,
    // a2's work built on it is held naming a1, and everything else of a2 arrives.
    let i1 = a1.add_incident("Recruitment near Rutshuru", "recruitment_use");
    by_usb(&a1, &a2);
    server.admin(&["device", "revoke", &device_id(&a1)], None);
    a2.mrm_ok(
        &["incident", "edit", &i1, "--json", "-"],
        Some(&json!({"narrative": "Completed by a2."}).to_string()),
    );
    let i2 = a2.add_incident("Abduction near Bunia", "abduction");
    let report = a2.sync();
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("revoked"), "{report}");
    let held = report["held"].as_array().unwrap();
    assert_eq!(held.len(), 1, "{report}");
    assert_eq!(held[0]["doc_id"], i1.as_str());
    assert!(
        held[0]["reason"].as_str().unwrap().contains("a1"),
        "{report}"
    );
    rv.sync();
    let seen = incidents(&rv);
    assert!(seen.contains_key(&i2) && !seen.contains_key(&i1));
}
