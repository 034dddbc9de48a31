//! The `mrm` command end to end: the real binary on temporary stores, as an officer or a script
//! at base would use it.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};

const MISSION: &str = "MONUSCO";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mrm"));
    c.env_remove("MRM_DATA")
        .env_remove("MRM_LOG")
        .env("MRM_PASSPHRASE", PASSPHRASE)
        .env("MRM_BUNDLE_PASSPHRASE", "test bundle passphrase");
    c
}

/// The passphrase of every store these tests make.
const PASSPHRASE: &str = "test store passphrase";

/// Run `mrm --data DIR args...` with `stdin`.
fn run_with(dir: &Path, args: &[&str], stdin: Option<&str>, tz: Option<&str>) -> Output {
    let mut c = bin();
    c.arg("--data").arg(dir).args(args);
    if let Some(tz) = tz {
        c.env("TZ", tz);
    }
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().expect("run mrm");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Run and expect success; returns stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    ok_with(dir, args, None)
}

fn ok_with(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = run_with(dir, args, stdin, None);
    assert!(
        out.status.success(),
        "mrm {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Run and parse stdout as JSON.
fn json_of(dir: &Path, args: &[&str]) -> Value {
    let out = ok(dir, args);
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("mrm {args:?} printed no JSON ({e}): {out}"))
}

/// Run, expect failure with a one-line `mrm: error:` message; returns the message.
fn fails(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = run_with(dir, args, stdin, None);
    assert!(
        !out.status.success(),
        "mrm {args:?} should have failed; printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(out.status.code(), Some(1), "exit code of mrm {args:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("mrm: error: "),
        "stderr of mrm {args:?}: {err:?}"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "stderr is one line: {err:?}"
    );
    err.trim_end().to_string()
}

/// Everything a user can read from a store, to check that a refused command changed nothing.
fn state(dir: &Path) -> Value {
    let heads_file = dir.with_extension("heads.json");
    ok(
        dir,
        &["bundle", "heads", "--out", heads_file.to_str().unwrap()],
    );
    let heads: Value =
        serde_json::from_str(&std::fs::read_to_string(&heads_file).unwrap()).unwrap();
    let list = json_of(dir, &["incident", "list", "--json"]);
    let mut shown = Vec::new();
    for item in list["items"].as_array().unwrap() {
        shown.push(json_of(
            dir,
            &["incident", "show", item["id"].as_str().unwrap(), "--json"],
        ));
    }
    // What waits to be sent is this device's own, not what the records read.
    let mut status = json_of(dir, &["status", "--json"]);
    if let Some(o) = status.as_object_mut() {
        o.remove("records");
        o.remove("sync");
    }
    json!({
        "status": status,
        "list": list,
        "shown": shown,
        "patrols": json_of(dir, &["patrol", "list", "--json"]),
        "stats": json_of(dir, &["stats", "--json"]),
        "heads": heads,
    })
}

/// A command that must fail, mention `needles`, and leave the store as it was.
fn refused(dir: &Path, args: &[&str], stdin: Option<&str>, needles: &[&str]) -> String {
    let before = state(dir);
    let err = fails(dir, args, stdin);
    for n in needles {
        assert!(err.contains(n), "error {err:?} does not mention {n:?}");
    }
    assert_eq!(state(dir), before, "mrm {args:?} changed the store");
    err
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn days_ago(n: u64) -> String {
    (today() - chrono::Days::new(n)).to_string()
}

fn quarter_end(d: NaiveDate) -> NaiveDate {
    let (m, day) = match d.month() {
        1..=3 => (3, 31),
        4..=6 => (6, 30),
        7..=9 => (9, 30),
        _ => (12, 31),
    };
    NaiveDate::from_ymd_opt(d.year(), m, day).unwrap()
}

struct Tmp {
    dir: tempfile::TempDir,
}

impl Tmp {
    fn new() -> Tmp {
        Tmp {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A new store for `officer`.
    fn store(&self, name: &str, officer: &str, mission: &str) -> PathBuf {
        let d = self.path(name);
        let out = ok(
            &d,
            &[
                "init",
                "--mission",
                mission,
                "--officer",
                officer,
                "--team",
                "Goma",
            ],
        );
        assert!(out.starts_with("initialised store at "), "{out}");
        d
    }

    fn write(&self, name: &str, v: &Value) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
        p
    }
}

/// Add an incident from a file; returns its id.
fn add_incident(t: &Tmp, dir: &Path, v: &Value) -> String {
    let f = t.write("incident.json", v);
    let id = ok(dir, &["incident", "add", "--json", f.to_str().unwrap()])
        .trim()
        .to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "not an id: {id}");
    id
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn id_set(page: &Value) -> BTreeSet<String> {
    ids(page).into_iter().collect()
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn init_refuses_to_overwrite() {
    let t = Tmp::new();
    let d = t.store("a", "Awa D.", MISSION);
    let status = json_of(&d, &["status", "--json"]);
    assert_eq!(status["device"]["officer"], "Awa D.");
    assert_eq!(status["device"]["mission"], MISSION);
    assert_eq!(status["changes"], 0);
    let err = refused(
        &d,
        &[
            "init",
            "--mission",
            "OTHER",
            "--officer",
            "Eve",
            "--team",
            "HQ",
        ],
        None,
        &["already exists", "refusing to overwrite"],
    );
    assert!(err.contains(d.to_str().unwrap()), "{err}");
    assert_eq!(
        json_of(&d, &["status", "--json"])["device"],
        status["device"]
    );
    // A folder without a store says how to make one.
    let err = fails(&t.path("nothing"), &["incident", "list"], None);
    assert!(err.contains("init"), "{err}");
    let err = fails(
        &t.path("blank"),
        &["init", "--mission", " ", "--officer", "Eve", "--team", "HQ"],
        None,
    );
    assert!(err.contains("mission: is required"), "{err}");
}

#[test]
fn caseload_end_to_end() {
    let t = Tmp::new();
    let d = t.store("awa", "Awa D.", MISSION);

    // A patrol, from standard input.
    let patrol_json = json!({"date": days_ago(2), "route": ["Kiwanja", "Rutshuru"],
                             "participants": ["Awa D.", "J. K."]});
    let patrol = ok_with(
        &d,
        &["patrol", "add", "--json", "-"],
        Some(&patrol_json.to_string()),
    )
    .trim()
    .to_string();
    assert!(uuid::Uuid::parse_str(&patrol).is_ok(), "{patrol}");
    let patrols = json_of(&d, &["patrol", "list", "--json"]);
    assert_eq!(patrols.as_array().unwrap().len(), 1);
    assert_eq!(patrols[0]["id"], patrol.as_str());
    assert_eq!(patrols[0]["route"], json!(["Kiwanja", "Rutshuru"]));
    assert_eq!(patrols[0]["incidents"], 0);

    // Incident A from a file: a killing, on the patrol, 40 days ago.
    let a = add_incident(
        &t,
        &d,
        &json!({
            "title": "Attack on Kiwanja",
            "occurred_on": days_ago(40), "date_precision": "day", "reported_on": days_ago(39),
            "location": {"admin1": "North Kivu", "admin2": "Rutshuru", "place": "Kiwanja"},
            "narrative": "Armed men came to the market at dawn.",
            "patrol_id": patrol,
            "sources": [{"kind": "eyewitness", "consent": true, "notes": "met at the market"}],
            "violations": [{"type": "killing", "victims": {"boys": 1, "girls": 0, "sex_unknown": 0},
                            "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}]
        }),
    );
    // Incident B from standard input: an abduction in Ituri, 20 days ago.
    let b_json = json!({
        "title": "Abduction near Bunia",
        "occurred_on": days_ago(20), "reported_on": days_ago(18),
        "location": {"admin1": "Ituri", "place": "Bunia"},
        "violations": [{"type": "abduction", "victims": {"boys": 0, "girls": 2, "sex_unknown": 0,
                          "coded": [{"code": "V-001", "sex": "girl", "age": 12}]},
                        "perpetrator": {"party": "Group Bravo", "category": "armed_group"}}]
    });
    let b = ok_with(
        &d,
        &["incident", "add", "--json", "-"],
        Some(&b_json.to_string()),
    )
    .trim()
    .to_string();
    // Incident C: a school attacked and children recruited, 5 days ago.
    let c = add_incident(
        &t,
        &d,
        &json!({
            "title": "School attacked in Oicha",
            "occurred_on": days_ago(5), "reported_on": days_ago(5),
            "location": {"admin1": "North Kivu", "place": "Oicha"},
            "violations": [
                {"type": "attack_school", "victims": {"boys": 0, "girls": 0, "sex_unknown": 0},
                 "perpetrator": {"party": "National Army", "category": "armed_force"}},
                {"type": "recruitment_use", "victims": {"boys": 3, "girls": 0, "sex_unknown": 1},
                 "perpetrator": {"party": "Group Bravo", "category": "armed_group"}}
            ]
        }),
    );

    // show --json: the record, derived statuses, no conflicts.
    let shown = json_of(&d, &["incident", "show", &a, "--json"]);
    assert_eq!(shown["id"], a.as_str());
    assert_eq!(shown["title"], "Attack on Kiwanja");
    assert_eq!(shown["patrol_id"], patrol.as_str());
    assert_eq!(shown["created_by"], "Awa D.");
    assert_eq!(shown["team"], "Goma");
    assert_eq!(shown["review"]["state"], "draft");
    assert_eq!(shown["violations"][0]["type"], "killing");
    assert_eq!(
        shown["violations"][0]["verification"][0]["status"],
        "reported"
    );
    assert_eq!(shown["status"][0]["status"], "reported");
    assert_eq!(shown["conflicts"], json!([]));
    let a_viol = shown["violations"][0]["id"].as_str().unwrap().to_string();
    let a_src = shown["sources"][0]["id"].as_str().unwrap().to_string();
    let text = ok(&d, &["incident", "show", &a]);
    assert!(
        text.contains("Attack on Kiwanja") && text.contains("killing"),
        "{text}"
    );
    assert_eq!(
        json_of(&d, &["patrol", "list", "--json"])[0]["incidents"],
        1
    );

    // Verify A's killing, citing its source.
    let out = ok(
        &d,
        &[
            "verify",
            &a,
            &a_viol,
            "--status",
            "verified",
            "--note",
            "two sources",
            "--source",
            &a_src,
        ],
    );
    assert!(out.contains("verified"), "{out}");
    let shown = json_of(&d, &["incident", "show", &a, "--json"]);
    let trail = &shown["violations"][0]["verification"];
    assert_eq!(trail.as_array().unwrap().len(), 2);
    assert_eq!(trail[1]["status"], "verified");
    assert_eq!(trail[1]["by"], "Awa D.");
    assert_eq!(trail[1]["note"], "two sources");
    assert_eq!(trail[1]["source_ids"], json!([a_src]));
    assert_eq!(shown["status"][0]["status"], "verified");

    // Each filter finds the right incidents.
    let list = |args: &[&str]| {
        let mut all = vec!["incident", "list", "--json"];
        all.extend_from_slice(args);
        json_of(&d, &all)
    };
    let everything = list(&[]);
    assert_eq!(everything["total"], 3);
    assert_eq!(
        ids(&everything),
        vec![c.clone(), b.clone(), a.clone()],
        "newest first"
    );
    assert_eq!(id_set(&list(&["--type", "killing"])), set(&[&a]));
    assert_eq!(id_set(&list(&["--type", "abduction"])), set(&[&b]));
    assert_eq!(id_set(&list(&["--type", "recruitment_use"])), set(&[&c]));
    assert_eq!(id_set(&list(&["--type", "maiming"])), set(&[]));
    assert_eq!(id_set(&list(&["--status", "verified"])), set(&[&a]));
    assert_eq!(id_set(&list(&["--status", "reported"])), set(&[&b, &c]));
    assert_eq!(id_set(&list(&["--from", &days_ago(25)])), set(&[&b, &c]));
    assert_eq!(id_set(&list(&["--to", &days_ago(25)])), set(&[&a]));
    assert_eq!(
        id_set(&list(&["--from", &days_ago(30), "--to", &days_ago(10)])),
        set(&[&b])
    );
    assert_eq!(
        id_set(&list(&["--from", &days_ago(5), "--to", &days_ago(5)])),
        set(&[&c])
    );
    assert_eq!(id_set(&list(&["--admin1", "North Kivu"])), set(&[&a, &c]));
    assert_eq!(id_set(&list(&["--admin1", "Ituri"])), set(&[&b]));
    assert_eq!(id_set(&list(&["--party", "Group Bravo"])), set(&[&b, &c]));
    assert_eq!(id_set(&list(&["--party", "Group Alpha"])), set(&[&a]));
    assert_eq!(id_set(&list(&["--text", "KIWANJA"])), set(&[&a]));
    assert_eq!(
        id_set(&list(&["--text", "market"])),
        set(&[&a]),
        "narrative is searched"
    );
    assert_eq!(id_set(&list(&["--text", "attacked oicha"])), set(&[&c]));
    assert_eq!(id_set(&list(&["--text", "100%"])), set(&[]));
    assert_eq!(id_set(&list(&["--patrol", &patrol])), set(&[&a]));
    // Violation filters must match one and the same violation.
    assert_eq!(
        id_set(&list(&[
            "--type",
            "recruitment_use",
            "--party",
            "Group Bravo"
        ])),
        set(&[&c])
    );
    assert_eq!(
        id_set(&list(&[
            "--type",
            "attack_school",
            "--party",
            "Group Bravo"
        ])),
        set(&[])
    );
    assert_eq!(
        id_set(&list(&["--admin1", "North Kivu", "--status", "reported"])),
        set(&[&c])
    );
    // Pages.
    let page = list(&["--limit", "2"]);
    assert_eq!(page["total"], 3);
    assert_eq!(ids(&page), vec![c.clone(), b.clone()]);
    let page = list(&["--limit", "2", "--offset", "2"]);
    assert_eq!(page["total"], 3);
    assert_eq!(ids(&page), vec![a.clone()]);
    assert_eq!(ids(&list(&["--offset", "1"])), vec![b.clone(), a.clone()]);
    let text = ok(&d, &["incident", "list", "--type", "killing"]);
    assert!(text.contains(&a) && !text.contains(&b), "{text}");
    // Bad filters are refused, not ignored.
    refused(
        &d,
        &["incident", "list", "--type", "killings"],
        None,
        &["killings", "killing"],
    );
    refused(
        &d,
        &["incident", "list", "--status", "confirmed"],
        None,
        &["confirmed"],
    );
    refused(
        &d,
        &["incident", "list", "--from", "2024-13-01"],
        None,
        &["--from", "not a date"],
    );

    // A partial edit: more boys in the killing, a new source, and C's recruitment removed.
    let shown_c = json_of(&d, &["incident", "show", &c, "--json"]);
    let recruitment = shown_c["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["type"] == "recruitment_use")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let edit = t.write(
        "edit.json",
        &json!({"violations": [{"id": a_viol, "victims": {"boys": 2}}],
                "sources": [{"kind": "medical", "consent": false}]}),
    );
    let out = ok(
        &d,
        &["incident", "edit", &a, "--json", edit.to_str().unwrap()],
    );
    assert!(out.starts_with("saved"), "{out}");
    let out = ok_with(
        &d,
        &["incident", "edit", &c, "--json", "-"],
        Some(&json!({"remove": [recruitment]}).to_string()),
    );
    assert!(out.starts_with("saved"), "{out}");
    // The same values again change nothing (a source without an id would be a new source).
    let out = ok_with(
        &d,
        &["incident", "edit", &a, "--json", "-"],
        Some(
            &json!({"title": "Attack on Kiwanja",
                     "violations": [{"id": a_viol, "victims": {"boys": 2}}]})
            .to_string(),
        ),
    );
    assert_eq!(out.trim(), "nothing changed");
    let shown = json_of(&d, &["incident", "show", &a, "--json"]);
    assert_eq!(shown["violations"][0]["victims"]["boys"], 2);
    assert_eq!(
        shown["title"], "Attack on Kiwanja",
        "fields not given are kept"
    );
    assert_eq!(shown["sources"].as_array().unwrap().len(), 2);
    let shown_c = json_of(&d, &["incident", "show", &c, "--json"]);
    // Removed is withdrawn: kept with its trail, out of lists and figures.
    let live: Vec<&Value> = shown_c["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["withdrawn"].is_null())
        .collect();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["type"], "attack_school");
    assert!(shown_c["violations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["type"] == "recruitment_use" && v["withdrawn"].is_object()));
    assert_eq!(id_set(&list(&["--type", "recruitment_use"])), set(&[]));

    // History: readable messages, oldest first, with who made them.
    let history = json_of(&d, &["incident", "history", &a, "--json"]);
    let messages: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        vec![
            "recorded the incident",
            "set violation 1 status to verified",
            "added source 2, set violation 1 boys"
        ]
    );
    for h in history.as_array().unwrap() {
        assert_eq!(h["by"], "Awa D.");
        assert_eq!(h["hash"].as_str().unwrap().len(), 64);
    }
    let history_c = json_of(&d, &["incident", "history", &c, "--json"]);
    assert_eq!(history_c[1]["message"], "withdrew violation 2");
    let text = ok(&d, &["incident", "history", &a]);
    assert!(
        text.contains("set violation 1 status to verified"),
        "{text}"
    );

    // An old incident verified now: a late verification.
    let old = add_incident(
        &t,
        &d,
        &json!({
            "title": "Maiming in Masisi",
            "occurred_on": days_ago(200), "reported_on": days_ago(199),
            "location": {"admin1": "North Kivu", "place": "Masisi"},
            "violations": [{"type": "maiming", "victims": {"boys": 0, "girls": 1, "sex_unknown": 2},
                            "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}]
        }),
    );
    let old_viol = json_of(&d, &["incident", "show", &old, "--json"])["violations"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&d, &["verify", &old, &old_viol, "--status", "verified"]);
    let shown = json_of(&d, &["incident", "show", &old, "--json"]);
    assert_eq!(
        shown["status"][0]["late"], true,
        "verified after the quarter ended"
    );
    let a_late = today() > quarter_end(today() - chrono::Days::new(40));

    // CSV: a header and one row per violation, with the late flag.
    let csv_path = t.path("caseload.csv");
    let out = ok(
        &d,
        &[
            "export",
            "csv",
            "--clear",
            "--out",
            csv_path.to_str().unwrap(),
        ],
    );
    assert!(out.contains("wrote 4 violation row(s)"), "{out}");
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let csv = csv
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark, for Excel");
    let mut lines = csv.lines();
    // Text cells are quoted; none of these values holds a comma or a quote.
    fn cell(s: &str) -> &str {
        s.trim_matches('"')
    }
    let header: Vec<&str> = lines.next().unwrap().split(',').map(cell).collect();
    for col in [
        "incident_id",
        "violation_id",
        "type",
        "boys",
        "girls",
        "sex_unknown",
        "party",
        "status",
        "late_verification",
    ] {
        assert!(header.contains(&col), "CSV header lacks {col}: {header:?}");
    }
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').map(cell).collect()).collect();
    assert_eq!(rows.len(), 4, "{csv}");
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let row_of = |viol: &str| {
        rows.iter()
            .find(|r| r[col("violation_id")] == viol)
            .unwrap()
    };
    let killing = row_of(&a_viol);
    assert_eq!(killing[col("incident_id")], a);
    assert_eq!(killing[col("type")], "killing");
    assert_eq!(killing[col("boys")], "2");
    assert_eq!(killing[col("party")], "Group Alpha");
    assert_eq!(killing[col("status")], "verified");
    assert_eq!(
        killing[col("late_verification")],
        if a_late { "yes" } else { "no" }
    );
    let maiming = row_of(&old_viol);
    assert_eq!(maiming[col("late_verification")], "yes");
    assert_eq!(maiming[col("sex_unknown")], "2");
    assert_eq!(
        rows.iter().filter(|r| r[col("incident_id")] == c).count(),
        1,
        "the removed violation is not exported"
    );

    // The headline figures.
    let stats = json_of(&d, &["stats", "--json"]);
    assert_eq!(stats["incidents"], 4);
    assert_eq!(stats["patrols"], 1);
    assert_eq!(stats["violations"], 4);
    assert_eq!(
        stats["children"],
        json!({"boys": 2, "girls": 3, "sex_unknown": 2, "total": 7})
    );
    assert_eq!(
        stats["verified_children"],
        json!({"boys": 2, "girls": 1, "sex_unknown": 2, "total": 5})
    );
    assert_eq!(stats["verified_violations"], 2);
    assert_eq!(stats["violations_by_type"]["killing"], 1);
    assert_eq!(stats["violations_by_type"]["abduction"], 1);
    assert_eq!(stats["violations_by_type"]["attack_school"], 1);
    assert_eq!(stats["violations_by_type"]["maiming"], 1);
    assert_eq!(stats["violations_by_type"]["recruitment_use"], 0);
    assert_eq!(stats["violations_by_status"]["verified"], 2);
    assert_eq!(stats["violations_by_status"]["reported"], 2);
    assert_eq!(stats["violations_by_status"]["not_mrm"], 0);
    assert_eq!(stats["late_verifications"], if a_late { 2 } else { 1 });
    let text = ok(&d, &["stats"]);
    assert!(text.contains("violations 4"), "{text}");

    // Bad input exits non-zero and changes nothing.
    let vid = a_viol.as_str();
    let bad: Vec<(Vec<&str>, Option<String>, Vec<&str>)> = vec![
        (
            vec!["incident", "add", "--json", "-"],
            Some("{\"title\": ".into()),
            vec!["malformed JSON"],
        ),
        (
            vec!["incident", "edit", &a, "--json", "-"],
            Some(json!({"violations": [{"id": vid, "victims": {"boys": -1}}]}).to_string()),
            vec!["boys", "0 or more"],
        ),
        (
            vec!["incident", "edit", &a, "--json", "-"],
            Some(json!({"violations": [{"id": vid, "victim": {"boys": 1}}]}).to_string()),
            vec!["unknown field `victim`"],
        ),
        (
            vec!["incident", "edit", &a, "--json", "-"],
            Some(json!({"occurred_on": days_ago(1)}).to_string()),
            vec!["after the date it was reported"],
        ),
        (
            vec!["incident", "edit", &a, "--json", "-"],
            Some(json!({"remove": ["01890000-0000-7000-8000-000000000001"]}).to_string()),
            vec!["01890000-0000-7000-8000-000000000001"],
        ),
        (
            vec![
                "incident",
                "edit",
                "01890000-0000-7000-8000-000000000002",
                "--json",
                "-",
            ],
            Some("{\"title\": \"x\"}".into()),
            vec!["no incident with id"],
        ),
        (
            vec!["incident", "add", "--json", "/nonexistent/file.json"],
            None,
            vec!["cannot read"],
        ),
        (
            vec!["incident", "show", "01890000-0000-7000-8000-000000000003"],
            None,
            vec!["no incident"],
        ),
        (
            vec!["verify", &a, vid, "--status", "confirmed"],
            None,
            vec!["confirmed", "verified"],
        ),
        (
            vec![
                "verify",
                &a,
                vid,
                "--status",
                "verified",
                "--source",
                "01890000-0000-7000-8000-000000000004",
            ],
            None,
            vec!["has no source"],
        ),
        (
            vec![
                "incident", "resolve", &a, "--field", "title", "--value", "not json",
            ],
            None,
            vec!["--value"],
        ),
        (
            vec!["patrol", "add", "--json", "-"],
            Some("{\"date\": \"tomorrow\"}".into()),
            vec!["not a date"],
        ),
    ];
    for (args, stdin, needles) in &bad {
        refused(&d, args, stdin.as_deref(), needles);
    }
}

#[test]
fn bundles_between_two_stores() {
    let t = Tmp::new();
    let field = t.store("field", "Awa D.", MISSION);
    let hq = t.store("hq", "Reviewer R.", MISSION);
    let inc = add_incident(
        &t,
        &field,
        &json!({
            "title": "Attack on Kiwanja",
            "occurred_on": days_ago(3), "reported_on": days_ago(2),
            "location": {"admin1": "North Kivu", "place": "Kiwanja"},
            "violations": [{"type": "killing", "victims": {"boys": 1, "girls": 0, "sex_unknown": 0}}]
        }),
    );
    let viol = json_of(&field, &["incident", "show", &inc, "--json"])["violations"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Export for the other store's folder, import there; a second import adds nothing.
    let to_hq = t.path("to-hq.mrmb");
    let out = ok(
        &field,
        &[
            "bundle",
            "export",
            "--out",
            to_hq.to_str().unwrap(),
            "--for",
            hq.to_str().unwrap(),
        ],
    );
    assert!(out.contains("wrote 1 change(s)"), "{out}");
    let report = json_of(
        &hq,
        &["bundle", "import", to_hq.to_str().unwrap(), "--json"],
    );
    assert_eq!(report["new_changes"], 1);
    assert_eq!(report["records_new"], 1);
    let before = state(&hq);
    let report = json_of(
        &hq,
        &["bundle", "import", to_hq.to_str().unwrap(), "--json"],
    );
    assert_eq!(report["new_changes"], 0);
    assert_eq!(report["duplicates"], 1);
    let out = ok(&hq, &["bundle", "import", to_hq.to_str().unwrap()]);
    assert!(
        out.starts_with("imported 0 new change(s) (1 already here)"),
        "{out}"
    );
    assert_eq!(state(&hq), before, "a second import changes nothing");
    assert_eq!(
        json_of(&hq, &["incident", "show", &inc, "--json"])["violations"],
        json_of(&field, &["incident", "show", &inc, "--json"])["violations"]
    );

    // Both change the count of boys while apart; HQ verifies. HQ sends back for a heads file.
    ok_with(
        &field,
        &["incident", "edit", &inc, "--json", "-"],
        Some(&json!({"violations": [{"id": viol, "victims": {"boys": 2}}]}).to_string()),
    );
    ok_with(
        &hq,
        &["incident", "edit", &inc, "--json", "-"],
        Some(&json!({"violations": [{"id": viol, "victims": {"boys": 3}}]}).to_string()),
    );
    ok(&hq, &["verify", &inc, &viol, "--status", "verified"]);
    let heads = t.path("field-heads.json");
    ok(
        &field,
        &["bundle", "heads", "--out", heads.to_str().unwrap()],
    );
    let to_field = t.path("to-field.mrmb");
    let out = ok(
        &hq,
        &[
            "bundle",
            "export",
            "--out",
            to_field.to_str().unwrap(),
            "--for",
            heads.to_str().unwrap(),
        ],
    );
    // HQ's edit and verification are new to the field. (The field's heads name its own edit,
    // which HQ does not know, so HQ cannot tell what the field has and sends the record's whole
    // history; the import skips what is already there.)
    assert!(out.starts_with("wrote "), "{out}");
    let report = json_of(
        &field,
        &["bundle", "import", to_field.to_str().unwrap(), "--json"],
    );
    assert_eq!(report["new_changes"], 2);
    assert_eq!(report["records_new"], 0);
    assert_eq!(report["new_conflicts"], 1);
    let back = t.path("back.mrmb");
    ok(
        &field,
        &[
            "bundle",
            "export",
            "--out",
            back.to_str().unwrap(),
            "--for",
            hq.to_str().unwrap(),
        ],
    );
    ok(&hq, &["bundle", "import", back.to_str().unwrap()]);

    // The conflict, identical on both, resolved on one and gone from both after the next exchange.
    let path = format!("violations.{viol}.victims.boys");
    let cf = json_of(&field, &["incident", "conflicts", &inc, "--json"]);
    let ch = json_of(&hq, &["incident", "conflicts", &inc, "--json"]);
    assert_eq!(cf, ch);
    assert_eq!(cf[0]["path"], path.as_str());
    let values: BTreeSet<i64> = cf[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_i64().unwrap())
        .collect();
    assert_eq!(values, BTreeSet::from([2, 3]));
    let by: BTreeSet<&str> = cf[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["by"].as_str().unwrap())
        .collect();
    assert_eq!(by, BTreeSet::from(["Awa D.", "Reviewer R."]));
    assert_eq!(
        json_of(&hq, &["incident", "list", "--json"])["items"][0]["conflicts"],
        1
    );
    let text = ok(&hq, &["incident", "show", &inc]);
    assert!(text.contains("CONFLICTS") && text.contains(&path), "{text}");
    ok(
        &hq,
        &[
            "incident", "resolve", &inc, "--field", &path, "--value", "3",
        ],
    );
    assert_eq!(
        json_of(&hq, &["incident", "conflicts", &inc, "--json"]),
        json!([])
    );
    let fix = t.path("fix.mrmb");
    ok(
        &hq,
        &[
            "bundle",
            "export",
            "--out",
            fix.to_str().unwrap(),
            "--for",
            field.to_str().unwrap(),
        ],
    );
    ok(&field, &["bundle", "import", fix.to_str().unwrap()]);
    assert_eq!(
        json_of(&field, &["incident", "conflicts", &inc, "--json"]),
        json!([])
    );
    for d in [&field, &hq] {
        let shown = json_of(d, &["incident", "show", &inc, "--json"]);
        assert_eq!(shown["violations"][0]["victims"]["boys"], 3);
        assert_eq!(shown["status"][0]["status"], "verified");
    }
    let mut sf = state(&field);
    let mut sh = state(&hq);
    for s in [&mut sf, &mut sh] {
        s["status"]["device"] = Value::Null;
    }
    assert_eq!(sf, sh, "both stores read the same after the exchange");
    // Everything exported with no --for is also accepted (and is all duplicates).
    let all = t.path("all.mrmb");
    ok(&hq, &["bundle", "export", "--out", all.to_str().unwrap()]);
    let report = json_of(
        &field,
        &["bundle", "import", all.to_str().unwrap(), "--json"],
    );
    assert_eq!(report["new_changes"], 0);

    // A bundle from another mission is refused, whole.
    let other = t.store("other", "Someone", "UNMISS");
    add_incident(
        &t,
        &other,
        &json!({"title": "x", "occurred_on": days_ago(3), "reported_on": days_ago(2),
                "location": {"admin1": "Jonglei"}}),
    );
    let foreign = t.path("foreign.mrmb");
    ok(
        &other,
        &["bundle", "export", "--out", foreign.to_str().unwrap()],
    );
    refused(
        &field,
        &["bundle", "import", foreign.to_str().unwrap()],
        None,
        &["belongs to mission UNMISS", MISSION],
    );
    // Garbage and damaged bundles are refused, whole.
    let garbage = t.path("garbage.mrmb");
    std::fs::write(&garbage, b"this is not a bundle at all").unwrap();
    refused(
        &field,
        &["bundle", "import", garbage.to_str().unwrap()],
        None,
        &["invalid bundle"],
    );
    let bytes = std::fs::read(&to_field).unwrap();
    let cut = t.path("cut.mrmb");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    refused(
        &field,
        &["bundle", "import", cut.to_str().unwrap()],
        None,
        &["invalid bundle"],
    );
    refused(
        &field,
        &["bundle", "import", t.path("missing.mrmb").to_str().unwrap()],
        None,
        &["cannot read"],
    );
    let bad_heads = t.path("bad-heads.json");
    std::fs::write(&bad_heads, "[1,2,3]").unwrap();
    fails(
        &hq,
        &[
            "bundle",
            "export",
            "--out",
            t.path("x.mrmb").to_str().unwrap(),
            "--for",
            bad_heads.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        !t.path("x.mrmb").exists(),
        "no bundle written for a bad heads file"
    );
}

/// A reviewer west of UTC (New York, in the evening) verifies a violation: the verification's
/// time is stored in UTC, where it is already tomorrow. It must not be refused as "in the future".
#[test]
fn verify_west_of_utc_in_the_evening() {
    let t = Tmp::new();
    let d = t.store("ny", "Reviewer R.", MISSION);
    let inc = add_incident(
        &t,
        &d,
        &json!({"title": "x", "occurred_on": days_ago(10), "reported_on": days_ago(9),
                "location": {"admin1": "Ituri"},
                "violations": [{"type": "abduction", "victims": {"boys": 1, "girls": 0, "sex_unknown": 0}}]}),
    );
    let viol = json_of(&d, &["incident", "show", &inc, "--json"])["violations"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A zone as many hours behind UTC as it is past midnight UTC, plus one: there it is still
    // yesterday evening. No clock on Earth is more than 12 hours behind UTC: from noon UTC on,
    // the furthest zone west (UTC-12) stands in, and a machine set to an impossible zone
    // (`XST+13`, which `TZ` allows) stamps in UTC rather than being refused.
    let hour = chrono::Utc::now()
        .format("%H")
        .to_string()
        .parse::<u32>()
        .unwrap();
    let tz = format!("XST+{}", (hour + 1).min(12));
    let out = run_with(
        &d,
        &["verify", &inc, &viol, "--status", "pending_verification"],
        None,
        Some("XST+13"),
    );
    assert!(
        out.status.success(),
        "verify refused with an impossible zone: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_with(
        &d,
        &["verify", &inc, &viol, "--status", "verified"],
        None,
        Some(&tz),
    );
    assert!(
        out.status.success(),
        "verify refused with TZ={tz}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And the record can still be edited there afterwards.
    let out = run_with(
        &d,
        &["incident", "edit", &inc, "--json", "-"],
        Some("{\"narrative\": \"checked\"}"),
        Some(&tz),
    );
    assert!(
        out.status.success(),
        "edit refused with TZ={tz}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = json_of(&d, &["incident", "show", &inc, "--json"]);
    assert_eq!(shown["status"][0]["status"], "verified");
    let events = shown["violations"][0]["verification"].as_array().unwrap();
    let pending = events
        .iter()
        .find(|e| e["status"] == "pending_verification")
        .expect("the decision made in an impossible zone is kept");
    assert!(
        pending["at"].as_str().unwrap().ends_with('Z'),
        "stamped in UTC: {pending}"
    );
}

/// An officer east of UTC (Juba, just after midnight) records an incident that happened today:
/// the first verification event's UTC time falls on yesterday. It must not be refused as "before
/// the incident occurred".
#[test]
fn record_east_of_utc_just_after_midnight() {
    let t = Tmp::new();
    let d = t.store("juba", "Officer O.", MISSION);
    // A zone far enough east of UTC that it is already tomorrow there; before 10:00 UTC no zone
    // on Earth is (the furthest east is UTC+14), and that one stands in.
    let now = chrono::Utc::now();
    let hour = now.format("%H").to_string().parse::<i64>().unwrap();
    let east = (24 - hour).min(14);
    let tz = format!("XST-{east}");
    let local_today = (now + chrono::Duration::hours(east))
        .date_naive()
        .to_string();
    let incident = json!({"title": "x", "occurred_on": local_today, "reported_on": local_today,
                          "location": {"admin1": "Central Equatoria"},
                          "violations": [{"type": "abduction", "victims": {"boys": 1}}]});
    let out = run_with(
        &d,
        &["incident", "add", "--json", "-"],
        Some(&incident.to_string()),
        Some(&tz),
    );
    assert!(
        out.status.success(),
        "incident refused with TZ={tz}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let shown = json_of(&d, &["incident", "show", &id, "--json"]);
    assert_eq!(shown["occurred_on"], local_today.as_str());
}

/// Text that does not compress (a plain LCG over letters): what long typed notes cost.
fn noise(n: usize, seed: u64) -> String {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (b'a' + ((x >> 33) % 26) as u8) as char
        })
        .collect()
}

#[test]
fn an_oversized_record_is_refused_at_the_edit_and_nothing_else_waits() {
    let t = Tmp::new();
    let d = t.store("a", "Awa D.", MISSION);
    // 80 source notes of 99,000 characters each: every note is under the field limit, the whole
    // is 7.9 MB, more than one edit may add.
    let sources: Vec<Value> = (0..80)
        .map(|i| json!({"kind": "eyewitness", "consent": true, "notes": noise(99_000, i)}))
        .collect();
    let big = json!({
        "title": "Attack on Kiwanja",
        "occurred_on": days_ago(3), "reported_on": days_ago(2),
        "location": {"admin1": "North Kivu", "place": "Kiwanja"},
        "sources": sources,
        "violations": [{"type": "killing", "victims": {"boys": 1, "girls": 0, "sex_unknown": 0},
                        "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}]
    });
    let f = t.write("big.json", &big);
    let err = refused(
        &d,
        &["incident", "add", "--json", f.to_str().unwrap()],
        None,
        &["one edit may add at most 4.0 MiB"],
    );
    assert!(err.contains("record"), "{err}");
    // The same notes over several edits stay under the per-edit limit until the record is full.
    let mut small = big.clone();
    small["sources"] = json!(sources[..30].to_vec());
    let id = add_incident(&t, &d, &small);
    // Each further edit of 30 notes is within the per-edit limit; the record fills up.
    let mut err = None;
    for round in 1..10u64 {
        let notes: Vec<Value> = (0..30)
            .map(|i| json!({"kind": "eyewitness", "consent": true, "notes": noise(99_000, 1000 * round + i)}))
            .collect();
        let more = t.write("more.json", &json!({"sources": notes}));
        let out = run_with(
            &d,
            &["incident", "edit", &id, "--json", more.to_str().unwrap()],
            None,
            None,
        );
        if !out.status.success() {
            err = Some(String::from_utf8_lossy(&out.stderr).to_string());
            break;
        }
    }
    let err = err.expect("the record never filled up");
    assert!(err.contains("a record may hold at most 8.0 MiB"), "{err}");
    assert!(err.contains("separate incident"), "{err}");
    // Everything recorded still leaves the laptop.
    add_incident(&t, &d, &incident_json_for_limits());
    let out = t.path("out.mrmb");
    ok(&d, &["bundle", "export", "--out", out.to_str().unwrap()]);
    let other = t.store("b", "Omar O.", MISSION);
    ok(&other, &["bundle", "import", out.to_str().unwrap()]);
    let page = json_of(&other, &["incident", "list", "--json"]);
    assert_eq!(ids(&page).len(), 2, "{page}");
}

fn incident_json_for_limits() -> Value {
    json!({
        "title": "Abduction near Bunia",
        "occurred_on": days_ago(5), "reported_on": days_ago(4),
        "location": {"admin1": "Ituri", "place": "Bunia"},
        "violations": [{"type": "abduction", "victims": {"boys": 0, "girls": 1, "sex_unknown": 0},
                        "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}]
    })
}

#[test]
fn the_review_state_filter_lists_what_waits_for_a_reviewer() {
    let t = Tmp::new();
    let d = t.store("a", "Awa D.", MISSION);
    let waiting = add_incident(&t, &d, &incident_json_for_limits());
    let draft = add_incident(&t, &d, &incident_json_for_limits());
    ok(&d, &["incident", "submit", &waiting]);
    let page = json_of(
        &d,
        &["incident", "list", "--review-state", "submitted", "--json"],
    );
    assert_eq!(ids(&page), vec![waiting.clone()], "{page}");
    let page = json_of(
        &d,
        &["incident", "list", "--review-state", "draft", "--json"],
    );
    assert_eq!(ids(&page), vec![draft], "{page}");
    let err = fails(&d, &["incident", "list", "--review-state", "waiting"], None);
    assert!(err.contains("waiting"), "{err}");
}

/// `mrm list` runs the app's caseload query: any sort, either way, and a sort it does not know is
/// refused in words rather than ignored.
#[test]
fn the_caseload_sorts_by_any_column() {
    let t = Tmp::new();
    let d = t.store("a", "Awa D.", MISSION);
    for title in ["bravo", "Alpha", "charlie"] {
        let mut v = incident_json_for_limits();
        v["title"] = json!(title);
        add_incident(&t, &d, &v);
    }
    let titles = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["incident", "list", "--json"];
        all.extend_from_slice(args);
        json_of(&d, &all)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        titles(&["--sort", "title", "--asc"]),
        ["Alpha", "bravo", "charlie"]
    );
    assert_eq!(titles(&["--sort", "title"]), ["charlie", "bravo", "Alpha"]);
    assert_eq!(
        titles(&["--sort", "title", "--asc", "--limit", "1", "--offset", "1"]),
        ["bravo"]
    );
    let err = fails(&d, &["incident", "list", "--sort", "colour"], None);
    assert!(err.contains("--sort `colour`"), "{err}");
}
