//! `mrm report` and `mrm export csv` through the real binary: the tables an adviser sends, and
//! a CSV a spreadsheet opens without running anything in it.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

const PASSPHRASE: &str = "test store passphrase";

fn mrm(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mrm"))
        .env_remove("MRM_DATA")
        .env("MRM_PASSPHRASE", PASSPHRASE)
        .arg("--data")
        .arg(dir)
        .args(args)
        .output()
        .expect("run mrm")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = mrm(dir, args);
    assert!(
        out.status.success(),
        "mrm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_of(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&ok(dir, args)).unwrap()
}

/// A store with the incidents `incidents` (JSON, verification events included).
fn store(root: &Path, incidents: &[Value]) -> (std::path::PathBuf, Vec<String>) {
    let d = root.join("store");
    ok(
        &d,
        &[
            "init",
            "--mission",
            "M",
            "--officer",
            "Rose R.",
            "--team",
            "Goma",
        ],
    );
    let mut ids = Vec::new();
    for (n, inc) in incidents.iter().enumerate() {
        let f = root.join(format!("i{n}.json"));
        std::fs::write(&f, inc.to_string()).unwrap();
        ids.push(
            ok(&d, &["incident", "add", "--json", f.to_str().unwrap()])
                .trim()
                .to_string(),
        );
    }
    (d, ids)
}

fn incident(title: &str, occurred: &str, admin1: &str, violations: Value) -> Value {
    json!({"title": title, "occurred_on": occurred, "reported_on": occurred,
           "location": {"admin1": admin1, "place": "village"},
           "sources": [{"kind": "eyewitness", "consent": true}],
           "violations": violations})
}

fn decided(kind: &str, boys: i64, girls: i64, status: &str, at: &str) -> Value {
    json!({"type": kind, "victims": {"boys": boys, "girls": girls, "sex_unknown": 0},
           "perpetrator": {"party": "Group Alpha", "category": "armed_group"},
           "verification": [{"status": status, "at": at}]})
}

fn by_type<'a>(r: &'a Value, section: &str, kind: &str) -> &'a Value {
    r[section]["by_type"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == kind)
        .unwrap()
}

#[test]
fn ghn_and_annual_tables_from_the_command_line() {
    let t = tempfile::tempdir().unwrap();
    let mut over_a_period = incident(
        "Occupation of a school",
        "2025-03-20",
        "Ituri",
        json!([decided(
            "military_use_school",
            0,
            0,
            "verified",
            "2025-05-02T09:00:00+02:00"
        )]),
    );
    over_a_period["ended_on"] = json!("2025-04-10");
    let (d, ids) = store(
        t.path(),
        &[
            incident(
                "On time",
                "2025-03-20",
                "North Kivu",
                json!([decided(
                    "killing",
                    2,
                    1,
                    "verified",
                    "2025-03-31T23:30:00-05:00"
                )]),
            ),
            incident(
                "Late",
                "2025-03-21",
                "North Kivu",
                json!([decided(
                    "maiming",
                    0,
                    2,
                    "verified",
                    "2025-04-01T00:30:00+03:00"
                )]),
            ),
            over_a_period,
            incident(
                "Not MRM",
                "2025-02-01",
                "North Kivu",
                json!([decided("killing", 4, 0, "not_mrm", "2025-02-10T10:00:00Z")]),
            ),
            incident(
                "Pending",
                "2025-02-02",
                "South Kivu",
                json!([decided(
                    "abduction",
                    0,
                    1,
                    "pending_verification",
                    "2025-02-10T10:00:00Z"
                )]),
            ),
        ],
    );
    let q1 = json_of(
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
    );
    assert_eq!(
        by_type(&q1, "verified", "killing"),
        &json!({"type": "killing", "counted_in": "children", "violations": 1, "incidents": 1,
                "children": {"boys": 2, "girls": 1, "sex_unknown": 0, "total": 3}})
    );
    assert_eq!(by_type(&q1, "verified", "maiming")["violations"], 0);
    assert_eq!(
        by_type(&q1, "verified", "military_use_school"),
        &json!({"type": "military_use_school", "counted_in": "incidents", "violations": 1,
                "incidents": 1, "children": null})
    );
    assert_eq!(by_type(&q1, "unverified", "abduction")["violations"], 1);
    assert_eq!(q1["verified"]["total"]["violations"], 2);
    let q2 = json_of(
        &d,
        &[
            "report",
            "ghn",
            "--from",
            "2025-04-01",
            "--to",
            "2025-06-30",
            "--json",
        ],
    );
    assert_eq!(
        by_type(&q2, "late_verified", "maiming")["children"]["girls"],
        2
    );
    assert_eq!(q2["late_verified"]["total"]["violations"], 1);

    let y = json_of(&d, &["report", "annual", "--year", "2025", "--json"]);
    assert_eq!(y["kind"], "annual");
    assert_eq!(y["verified"]["total"]["violations"], 2);
    assert_eq!(y["late_verified"]["total"]["violations"], 1);
    assert_eq!(y["quarters"].as_array().unwrap().len(), 4);
    assert_eq!(y["quarters"][1]["late_verified"]["violations"], 1);
    assert_eq!(y["patrols"], 0);

    // A figure opens its records.
    let late: Vec<String> = serde_json::from_value(json_of(
        &d,
        &[
            "report",
            "records",
            "--from",
            "2025-04-01",
            "--to",
            "2025-06-30",
            "--section",
            "late_verified",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(late, vec![ids[1].clone()]);

    // The tables as a person reads them.
    let text = ok(
        &d,
        &[
            "report",
            "ghn",
            "--from",
            "2025-01-01",
            "--to",
            "2025-03-31",
        ],
    );
    assert!(
        text.contains("Global Horizontal Note: 2025-01-01 to 2025-03-31"),
        "{text}"
    );
    assert!(text.contains("LATE VERIFIED"), "{text}");

    // Bad periods are refused in words, and change nothing.
    for args in [
        &[
            "report",
            "ghn",
            "--from",
            "2025-03-31",
            "--to",
            "2025-01-01",
        ][..],
        &[
            "report",
            "ghn",
            "--from",
            "31/03/2025",
            "--to",
            "2025-06-30",
        ][..],
        &["report", "annual", "--year", "99999"][..],
    ] {
        let out = mrm(&d, args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("mrm: error:"), "{err}");
    }
}

#[test]
fn an_end_date_before_the_start_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let (d, _) = store(t.path(), &[]);
    let mut inc = incident(
        "Backwards",
        "2025-03-20",
        "Ituri",
        json!([decided("killing", 1, 0, "reported", "2025-03-21T10:00:00Z")]),
    );
    inc["ended_on"] = json!("2025-03-01");
    let f = t.path().join("bad.json");
    std::fs::write(&f, inc.to_string()).unwrap();
    let out = mrm(&d, &["incident", "add", "--json", f.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ended_on") && err.contains("before the incident began"),
        "{err}"
    );
}

#[test]
fn the_csv_opens_in_a_spreadsheet_without_running_formulas() {
    let t = tempfile::tempdir().unwrap();
    let hostile = [
        "=HYPERLINK(\"http://example.invalid\",\"x\")",
        "+1+1",
        "-2+3",
        "@SUM(A1:A2)",
        "Kiwanja;=1+1; @SUM(A1)",
    ];
    let mut incidents = Vec::new();
    for (n, h) in hostile.iter().enumerate() {
        let mut inc = incident(
            h,
            "2025-03-20",
            h,
            json!([decided("killing", 1, 0, "reported", "2025-03-21T10:00:00Z")]),
        );
        inc["location"]["place"] = json!(format!("{h}, \"quoted\" {n}"));
        inc["violations"][0]["perpetrator"]["party"] = json!(h);
        incidents.push(inc);
    }
    incidents.push(incident(
        "Béni — ordinary, \"quoted\"",
        "2025-03-20",
        "Nord-Kivu",
        json!([decided("killing", 1, 0, "reported", "2025-03-21T10:00:00Z")]),
    ));
    let (d, _) = store(t.path(), &incidents);
    let out = t.path().join("caseload.csv");
    ok(
        &d,
        &["export", "csv", "--clear", "--out", out.to_str().unwrap()],
    );
    let bytes = std::fs::read(&out).unwrap();
    assert!(
        bytes.starts_with(b"\xef\xbb\xbf"),
        "a UTF-8 byte-order mark"
    );
    let mut r = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), hostile.len() + 1);
    for row in &rows {
        for field in ["title", "admin1", "place", "party"] {
            let cell = &row[col(field)];
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{field} reaches a spreadsheet as a formula: {cell:?}"
            );
        }
        let title = &row[col("title")];
        // Split as a spreadsheet set to `;` as its separator would: no piece is a formula.
        for cell in title.split(';') {
            assert!(
                !cell.trim_start().starts_with(['=', '+', '-', '@']) || cell.starts_with('\''),
                "{title:?} hides a formula after a `;`"
            );
        }
        if title.starts_with("Kiwanja") {
            assert_eq!(title, "Kiwanja;'=1+1; '@SUM(A1)");
            continue;
        }
        match hostile.iter().find(|h| title == format!("'{h}")) {
            // Neutralised: the apostrophe, then the text exactly as typed.
            Some(h) => {
                assert_eq!(&row[col("admin1")], format!("'{h}"));
                assert_eq!(&row[col("party")], format!("'{h}"));
                assert!(row[col("place")].starts_with(&format!("'{h}, \"quoted\" ")));
            }
            // Anything else exactly as typed.
            None => {
                assert_eq!(title, "Béni — ordinary, \"quoted\"");
                assert_eq!(&row[col("admin1")], "Nord-Kivu");
                assert_eq!(&row[col("boys")], "1");
            }
        }
    }
}
