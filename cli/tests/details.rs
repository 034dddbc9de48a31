//! Violation details through the real binary (issue 19 §1): recorded with `incident add`, shown
//! by `incident show`, refused with the field and the reason when they do not fit the type,
//! counted in a report's rows by detail, each row opening its records, and one CSV column each.

mod common;

use std::path::Path;
use std::process::Output;

use common::{init, mrm, ok};
use serde_json::{json, Value};

fn add(root: &Path, d: &Path, n: usize, violation: Value) -> Output {
    let inc = json!({"title": format!("Incident {n}"), "occurred_on": "2025-03-20",
        "reported_on": "2025-03-21", "location": {"admin1": "Ituri", "place": "Bunia"},
        "violations": [violation]});
    let f = root.join(format!("i{n}.json"));
    std::fs::write(&f, inc.to_string()).unwrap();
    mrm(d, &["incident", "add", "--json", f.to_str().unwrap()], "")
}

fn killing(weapon: &str, status: &str) -> Value {
    json!({"type": "killing", "victims": {"boys": 1, "girls": 1},
           "perpetrator": {"party": "Group Alpha", "category": "armed_group"},
           "details": {"weapon": weapon},
           "verification": [{"status": status, "at": "2025-03-25T10:00:00Z"}]})
}

#[test]
fn details_are_recorded_checked_counted_and_exported() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("store");
    init(&d);
    let mut ids = Vec::new();
    for (n, (weapon, status)) in [
        ("landmine", "verified"),
        ("landmine", "verified"),
        ("small_arms", "verified"),
        ("landmine", "reported"),
    ]
    .into_iter()
    .enumerate()
    {
        let out = add(t.path(), &d, n, killing(weapon, status));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ids.push(String::from_utf8(out.stdout).unwrap().trim().to_string());
    }

    // Shown in words, and whole in JSON.
    let shown = ok(&d, &["incident", "show", &ids[0]], "");
    assert!(shown.contains("weapon landmine"), "{shown}");
    let j: Value =
        serde_json::from_str(&ok(&d, &["incident", "show", &ids[0], "--json"], "")).unwrap();
    assert_eq!(j["violations"][0]["details"], json!({"weapon": "landmine"}));

    // A detail of another type: refused, naming the field and why; nothing stored.
    let out = add(
        t.path(),
        &d,
        9,
        json!({"type": "denial_humanitarian_access", "details": {"weapon": "landmine"}}),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("violations[1].details.weapon")
            && err.contains("does not apply to a denial_humanitarian_access"),
        "{err}"
    );
    let list: Value = serde_json::from_str(&ok(&d, &["incident", "list", "--json"], "")).unwrap();
    assert_eq!(list["total"], 4);

    // Verified killings by weapon: 2 with landmines (4 children), 1 with small arms.
    let r: Value = serde_json::from_str(&ok(
        &d,
        &[
            "report",
            "ghn",
            "--from",
            "2025-01-01",
            "--to",
            "2025-03-31",
            "--json",
        ],
        "",
    ))
    .unwrap();
    let rows = r["verified"]["by_detail"].as_array().unwrap();
    let row = |v: &str| rows.iter().find(|r| r["value"] == v).unwrap().clone();
    assert_eq!(row("landmine")["violations"], 2);
    assert_eq!(row("landmine")["children"]["total"], 4);
    assert_eq!(row("small_arms")["violations"], 1);
    assert_eq!(rows.len(), 2);
    // The row opens its records.
    let records: Value = serde_json::from_str(&ok(
        &d,
        &[
            "report",
            "records",
            "--from",
            "2025-01-01",
            "--to",
            "2025-03-31",
            "--section",
            "verified",
            "--type",
            "killing",
            "--detail",
            "weapon",
            "--value",
            "landmine",
            "--json",
        ],
        "",
    ))
    .unwrap();
    let mut want = vec![ids[0].clone(), ids[1].clone()];
    want.sort();
    let mut got: Vec<String> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, want);

    // One CSV column per detail key.
    let csv_path = t.path().join("caseload.csv");
    ok(
        &d,
        &[
            "export",
            "csv",
            "--clear",
            "--out",
            csv_path.to_str().unwrap(),
        ],
        "",
    );
    let bytes = std::fs::read(&csv_path).unwrap();
    let mut r = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let weapon = header
        .iter()
        .position(|h| h == "weapon")
        .expect("a weapon column");
    assert!(header.iter().any(|h| h == "facility_type"));
    let mut weapons: Vec<String> = r
        .records()
        .map(|r| r.unwrap()[weapon].to_string())
        .collect();
    weapons.sort();
    assert_eq!(weapons, ["landmine", "landmine", "landmine", "small_arms"]);
}
