//! Tiered verification (issue 19 §2), over real HTTP on loopback: a focal point's decision, the
//! technical working group's review and the country task force's decision, each with the
//! sources it rests on. The status is the highest tier's ruling on every device; who may decide
//! at each tier is the one policy's, on the device (the CLI refuses) and on the endpoint (a
//! modified client's forged ruling is refused, nothing stored).

use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc, Value as Am, ROOT};
use mrm_crdt::bundle;
use mrm_e2e::{Device, Server};
use serde_json::{json, Value};

fn push(url: &str, cred: &str, changes: &[(String, Vec<u8>)]) -> (u16, Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let resp = reqwest::blocking::Client::new()
        .post(format!("{url}/v1/push"))
        .header("Authorization", format!("Bearer {cred}"))
        .body(bundle::encode_frames(&json!({}), changes).unwrap())
        .send()
        .unwrap();
    let st = resp.status().as_u16();
    (st, resp.json().unwrap_or(Value::Null))
}

fn status_of(d: &Device, id: &str) -> (String, Vec<Value>) {
    let j: Value =
        serde_json::from_str(&d.mrm_ok(&["incident", "show", id, "--json"], None)).unwrap();
    let status = j["status"][0]["status"].as_str().unwrap().to_string();
    let trail = j["violations"][0]["verification"]
        .as_array()
        .unwrap()
        .clone();
    (status, trail)
}

/// A ruling written straight into the document by a modified client: `level`, replacing the
/// events `supersedes` (`None`: without the list, as events were written before it existed).
fn forged_ruling(
    d: &Device,
    id: &str,
    vid: &str,
    level: &str,
    supersedes: Option<&[String]>,
) -> (String, Vec<u8>) {
    let vid = vid.to_string();
    let level = level.to_string();
    let supersedes = supersedes.map(<[String]>::to_vec);
    d.forge(id, move |tx| {
        let Some((Am::Object(_), vmap)) = tx.get(ROOT, "violations").unwrap() else {
            panic!()
        };
        let Some((Am::Object(_), v)) = tx.get(&vmap, vid.as_str()).unwrap() else {
            panic!()
        };
        let Some((Am::Object(_), list)) = tx.get(&v, "verification").unwrap() else {
            panic!()
        };
        let n = tx.length(&list);
        let ev = tx.insert_object(&list, n, ObjType::Map).unwrap();
        tx.put(&ev, "status", "did_not_occur").unwrap();
        tx.put(&ev, "at", chrono::Utc::now().to_rfc3339()).unwrap();
        tx.put(&ev, "by", "Forger").unwrap();
        tx.put(&ev, "note", "").unwrap();
        tx.put_object(&ev, "source_ids", ObjType::List).unwrap();
        if let Some(supersedes) = &supersedes {
            let sup = tx.put_object(&ev, "supersedes", ObjType::List).unwrap();
            for (i, s) in supersedes.iter().enumerate() {
                tx.insert(&sup, i, s.as_str()).unwrap();
            }
        }
        tx.put(&ev, "level", level.as_str()).unwrap();
    })
}

#[test]
fn the_highest_tier_decides_and_each_tier_is_its_roles() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server.sqlite"));
    let url = server.url();
    let officer = Device::enrolled(tmp.path(), "Awa D.", "Goma", "officer", &server, &url);
    let adviser = Device::enrolled(tmp.path(), "Rose R.", "HQ", "reviewer", &server, &url);
    let ctfmr = Device::enrolled(tmp.path(), "Task Force", "HQ", "task_force", &server, &url);
    let id = officer.add_incident("Attack on Kiwanja", "killing");
    let vid = officer.store().incident(&id).unwrap().violations[0]
        .id
        .clone();
    officer.sync();
    adviser.sync();
    ctfmr.sync();

    // The adviser: verified as focal point, then not verified in the technical review.
    adviser.mrm_ok(
        &[
            "verify",
            &id,
            &vid,
            "--status",
            "verified",
            "--primary",
            "1",
        ],
        None,
    );
    adviser.mrm_ok(
        &[
            "verify",
            &id,
            &vid,
            "--status",
            "not_verified",
            "--level",
            "technical_review",
            "--primary",
            "1",
            "--secondary",
            "2",
        ],
        None,
    );
    assert_eq!(status_of(&adviser, &id).0, "not_verified");
    // An adviser does not record the task force's decision: refused here, before any sync.
    let out = adviser.mrm(
        &[
            "verify",
            &id,
            &vid,
            "--status",
            "verified",
            "--level",
            "task_force",
        ],
        None,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("task_force"), "{err}");
    adviser.sync();

    // The task force verifies, on sources it counts.
    ctfmr.sync();
    ctfmr.mrm_ok(
        &[
            "verify",
            &id,
            &vid,
            "--status",
            "verified",
            "--level",
            "task_force",
            "--primary",
            "3",
            "--secondary",
            "1",
            "--un-eyewitness",
        ],
        None,
    );
    ctfmr.sync();

    // A later focal point ruling (made on the adviser's laptop after it saw the task force's)
    // is kept in the trail but does not move the status.
    adviser.sync();
    let said = adviser.mrm_ok(&["verify", &id, &vid, "--status", "not_verified"], None);
    assert!(said.contains("stays verified"), "{said}");
    adviser.sync();
    officer.sync();
    for d in [&officer, &adviser, &ctfmr] {
        d.sync();
        let (status, trail) = status_of(d, &id);
        assert_eq!(status, "verified", "on {}", d.name);
        let tf = trail
            .iter()
            .find(|e| e["level"] == "task_force")
            .expect("the task force's ruling");
        assert_eq!(
            tf["sources"],
            json!({"primary": 3, "secondary": 1, "un_eyewitness": true})
        );
        assert_eq!(trail.len(), 5, "every ruling is kept: {trail:?}");
    }

    // A modified client: the adviser's forged task-force ruling, and a forged technical review
    // that replaces the task force's: both refused, nothing stored.
    let before = server.admin(&["stats", "--json"], None);
    let tf_id = {
        let inc = adviser.store().incident(&id).unwrap();
        inc.violations[0]
            .verification
            .iter()
            .find(|e| e.level == Some(mrm_crdt::model::DecisionLevel::TaskForce))
            .unwrap()
            .id
            .clone()
    };
    let forged = forged_ruling(&adviser, &id, &vid, "task_force", Some(&[]));
    let (st, err) = push(&url, &adviser.credential(), &[forged]);
    assert_eq!(
        (st, err["reason"].as_str()),
        (403, Some("level_not_allowed")),
        "{err}"
    );
    let forged = forged_ruling(&adviser, &id, &vid, "technical_review", Some(&[tf_id]));
    let (st, err) = push(&url, &adviser.credential(), &[forged]);
    assert_eq!(
        (st, err["reason"].as_str()),
        (403, Some("supersedes_higher_level")),
        "{err}"
    );
    // Without the list of what it replaces, an event would replace every ruling before it.
    let forged = forged_ruling(&adviser, &id, &vid, "focal_point", None);
    let (st, err) = push(&url, &adviser.credential(), &[forged]);
    assert_eq!(
        (st, err["reason"].as_str()),
        (403, Some("supersedes_missing")),
        "{err}"
    );
    assert_eq!(server.admin(&["stats", "--json"], None), before);
}
