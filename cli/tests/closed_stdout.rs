//! A reader that goes away (`mrm incident list | head -1`, a closed terminal, a script that read
//! the id it needed) never turns a command into a crash: every printing command exits as it
//! would have, and one that stored its work stored it once.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const PASSPHRASE: &str = "test store passphrase";

/// How stdout is closed before the command writes to it.
#[derive(Clone, Copy, Debug)]
enum Closed {
    /// The reading end is gone: writes fail with EPIPE (`| head -1`).
    Pipe,
    /// File descriptor 1 is not open at all (`>&-`).
    Descriptor,
}

fn run(dir: &Path, args: &[&str], stdin: Option<&Path>, closed: Closed) -> Output {
    let mut c = match closed {
        Closed::Pipe => Command::new(env!("CARGO_BIN_EXE_mrm")),
        Closed::Descriptor => {
            let mut c = Command::new("sh");
            c.args(["-c", "exec \"$0\" \"$@\" >&-", env!("CARGO_BIN_EXE_mrm")]);
            c
        }
    };
    c.env_remove("MRM_DATA")
        .env_remove("MRM_LOG")
        .env("MRM_PASSPHRASE", PASSPHRASE)
        .arg("--data")
        .arg(dir)
        .args(args)
        .stderr(Stdio::piped());
    c.stdin(match stdin {
        Some(f) => Stdio::from(std::fs::File::open(f).unwrap()),
        None => Stdio::null(),
    });
    if let Closed::Pipe = closed {
        // A socket whose peer is already closed: the first write fails, deterministically (a
        // pipe whose reader we drop after spawning would race the child's first write).
        let (ours, theirs) = UnixStream::pair().unwrap();
        drop(ours);
        c.stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)));
    }
    c.output().unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mrm"))
        .env_remove("MRM_DATA")
        .env("MRM_PASSPHRASE", PASSPHRASE)
        .arg("--data")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn count(dir: &Path) -> u64 {
    let v: serde_json::Value = serde_json::from_str(&ok(dir, &["stats", "--json"])).unwrap();
    v["incidents"].as_u64().unwrap_or_else(|| panic!("{v}"))
}

#[test]
fn a_closed_stdout_is_a_quiet_exit_and_work_is_stored_once() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("store");
    ok(
        &d,
        &[
            "init",
            "--mission",
            "MONUSCO",
            "--officer",
            "Awa D.",
            "--team",
            "Goma",
        ],
    );
    ok(&d, &["demo", "--incidents", "5"]);
    let page: serde_json::Value =
        serde_json::from_str(&ok(&d, &["incident", "list", "--json"])).unwrap();
    let id = page["items"][0]["id"].as_str().unwrap().to_string();
    let day = (chrono::Local::now().date_naive() - chrono::Days::new(3)).to_string();
    let new_file = t.path().join("new.json");
    std::fs::write(
        &new_file,
        serde_json::json!({
            "title": "Closed stdout",
            "occurred_on": day, "reported_on": day,
            "location": {"admin1": "North Kivu", "place": "Kiwanja"},
            "violations": [{"type": "killing", "victims": {"boys": 1, "girls": 0, "sex_unknown": 0},
                            "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}]
        })
        .to_string(),
    )
    .unwrap();
    let csv = t.path().join("out.csv");

    let printing: Vec<Vec<&str>> = vec![
        vec!["status"],
        vec!["status", "--json"],
        vec!["incident", "list"],
        vec!["incident", "list", "--json"],
        vec!["incident", "show", &id],
        vec!["incident", "show", &id, "--json"],
        vec!["incident", "history", &id],
        vec!["incident", "conflicts", &id],
        vec!["patrol", "list"],
        vec!["stats"],
        vec!["stats", "--json"],
        vec!["export", "csv", "--clear", "--out", csv.to_str().unwrap()],
        vec!["--help"],
        vec!["incident", "--help"],
        vec!["--version"],
    ];
    for closed in [Closed::Pipe, Closed::Descriptor] {
        for args in &printing {
            let out = run(&d, args, None, closed);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "{closed:?} {args:?} exited {:?}: {err}",
                out.status.code()
            );
            assert!(!err.contains("panicked"), "{closed:?} {args:?}: {err}");
        }
        // Commands that store work and print an id: stored once, exit 0.
        let before = count(&d);
        let out = run(
            &d,
            &["incident", "add", "--json", new_file.to_str().unwrap()],
            None,
            closed,
        );
        assert!(
            out.status.success(),
            "{closed:?} add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(count(&d), before + 1, "{closed:?}: stored once");
        let out = run(
            &d,
            &["incident", "add", "--json", "-"],
            Some(&new_file),
            closed,
        );
        assert!(out.status.success(), "{closed:?} add from stdin");
        assert_eq!(count(&d), before + 2, "{closed:?}: stored once");
        let out = run(&d, &["demo", "--incidents", "2"], None, closed);
        assert!(out.status.success(), "{closed:?} demo");
        assert_eq!(count(&d), before + 4, "{closed:?}: stored once");
    }
}
