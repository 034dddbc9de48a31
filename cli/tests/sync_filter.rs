//! `mrm incident list --sync STATE`: the caseload's sync-state filter from the command line (the
//! store's tests cover every state; this checks the option reaches the query and is checked).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

const PASSPHRASE: &str = "test store passphrase";

fn run(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mrm"))
        .env_remove("MRM_DATA")
        .env_remove("MRM_LOG")
        .env("MRM_PASSPHRASE", PASSPHRASE)
        .env("MRM_BUNDLE_PASSPHRASE", "test bundle passphrase")
        .arg("--data")
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = run(dir, args, stdin);
    assert!(
        out.status.success(),
        "mrm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn listed(dir: &Path, state: &str) -> Vec<String> {
    let out = ok(dir, &["incident", "list", "--sync", state, "--json"], None);
    let page: Value = serde_json::from_str(&out).unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_string())
        .collect()
}

fn add(dir: &Path, title: &str) {
    let v = json!({
        "title": title, "occurred_on": "2026-01-10", "reported_on": "2026-01-11",
        "location": {"admin1": "Ituri", "place": "Bunia"},
        "violations": [{"type": "abduction", "victims": {"boys": 0, "girls": 1, "sex_unknown": 0},
                        "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}]
    });
    ok(
        dir,
        &["incident", "add", "--json", "-"],
        Some(&v.to_string()),
    );
}

#[test]
fn list_keeps_the_records_in_the_sync_state_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for (d, officer) in [(&a, "Awa D."), (&b, "Ben K.")] {
        let init = [
            "init",
            "--mission",
            "MONUSCO",
            "--officer",
            officer,
            "--team",
            "Goma",
        ];
        ok(d, &init, None);
    }
    // A colleague's record, come by USB, is not this laptop's to send; its own is.
    add(&a, "Recorded by a colleague");
    let bundle = tmp.path().join("a.mrmb");
    ok(
        &a,
        &["bundle", "export", "--out", bundle.to_str().unwrap()],
        None,
    );
    ok(&b, &["bundle", "import", bundle.to_str().unwrap()], None);
    add(&b, "Recorded here");
    assert_eq!(listed(&b, "to_send"), ["Recorded here"]);
    assert_eq!(listed(&b, "unsynced"), ["Recorded here"]);
    assert!(listed(&b, "held").is_empty());
    assert!(listed(&b, "conflict").is_empty());
    // The text listing marks it.
    let text = ok(&b, &["incident", "list"], None);
    let line = |title: &str| {
        text.lines()
            .find(|l| l.contains(title))
            .unwrap()
            .to_string()
    };
    assert!(line("Recorded here").ends_with("TO SEND"), "{text}");
    assert!(
        !line("Recorded by a colleague").contains("TO SEND"),
        "{text}"
    );
    // A state it does not know is refused in words, naming the ones it does.
    let out = run(&b, &["incident", "list", "--sync", "sent"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--sync `sent`") && err.contains("to_send, held, waiting"),
        "{err}"
    );
}
