//! `make bench-app`: launch time to an interactive caseload, and memory, with 10,000 incidents.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{app_bin, artifacts, shot};
use crate::webdriver::{DriverProcess, Session};

/// A process tree's memory (proportional set size, so shared pages count once), in MiB: the
/// total and each process by name.
fn tree_pss_mib(root: u32) -> (f64, String) {
    let mut parent = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name may hold spaces; the fields after the closing parenthesis do not.
        let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
        if let Some(ppid) = after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok())
        {
            parent.insert(pid, ppid);
        }
    }
    let in_tree = |mut pid: u32| loop {
        if pid == root {
            return true;
        }
        match parent.get(&pid) {
            Some(&p) if p != 0 && p != pid => pid = p,
            _ => return false,
        }
    };
    let mut kib = 0u64;
    let mut parts = Vec::new();
    for &pid in parent.keys().filter(|&&p| p != root && in_tree(p)) {
        let rollup =
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let pss = rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        kib += pss;
        parts.push(format!("{} {:.0}", name.trim(), pss as f64 / 1024.0));
    }
    parts.sort();
    (kib as f64 / 1024.0, parts.join(", "))
}

/// `make bench-app`: launch time to an interactive caseload, and memory, with 10,000 incidents.
#[test]
#[ignore = "a benchmark: run with `make bench-app`"]
fn launch_with_10000_incidents() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("big");
    let d = data.to_str().unwrap();
    let t = Instant::now();
    mrm_e2e::mrm_ok(
        &[
            "--data",
            d,
            "init",
            "--mission",
            "MONUSCO",
            "--officer",
            "Bench B.",
            "--team",
            "Goma",
        ],
        None,
    );
    mrm_e2e::mrm_ok(&["--data", d, "demo", "--incidents", "10000"], None);
    eprintln!(
        "made 10,000 demo incidents in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let driver = DriverProcess::start(
        &[("MRM_SYNC_INTERVAL_SECS", "0"), ("MRM_LOG", "warn")],
        &artifacts().join("bench-webdriver.log"),
    );
    for run in 1..=3 {
        let t = Instant::now();
        let s = Session::start(driver.port, &app_bin(), &["--data", d]);
        s.wait("[data-testid=unlock]");
        s.type_keys("[data-testid=unlock-passphrase]", mrm_e2e::PASSPHRASE);
        s.click("[data-testid=unlock-submit]");
        s.wait("[data-testid=case-row]");
        let launch = t.elapsed().as_secs_f64();
        let total = s.attr("[data-testid=case-counts]", "data-total");
        assert_eq!(total, "10000");
        // Page through and filter, as a reviewer would, then read memory.
        let t = Instant::now();
        s.click("[data-testid=page-next]");
        s.wait("[data-testid=page-info]");
        s.set("[data-testid=filter-type]", "abduction");
        s.wait_js(
            "the filtered count",
            "return document.querySelector('[data-testid=case-counts]').dataset.total !== '10000'",
            json!([]),
        );
        let filter = t.elapsed().as_secs_f64();
        s.click("[data-testid=nav-dashboard]");
        s.wait("[data-testid=dash-headline]");
        std::thread::sleep(Duration::from_millis(500));
        let (mib, parts) = tree_pss_mib(driver.driver_pid());
        eprintln!(
            "run {run}: launch to interactive caseload {launch:.2} s; next page + type filter \
             {filter:.2} s; memory (app + web processes, PSS) {mib:.0} MiB ({parts})"
        );
        if run == 1 {
            shot(&driver, "bench-dashboard-10k");
        }
        s.close();
        std::thread::sleep(Duration::from_millis(500));
    }
}
