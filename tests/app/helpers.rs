//! What the app scenario is made of: finding the binary, screenshots, and the steps the
//! scenario repeats (unlock, lock, sync, open an incident).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mrm_e2e::mrm_bin;
use serde_json::json;

use crate::webdriver::{DriverProcess, Session};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// The app binary next to `mrm`, refusing one older than its sources or the built UI.
pub fn app_bin() -> PathBuf {
    let bin = mrm_bin().with_file_name("mrm-field");
    assert!(
        bin.is_file(),
        "{} is missing: run `make test` (it builds the UI, then `cargo build -p mrm-field`)",
        bin.display()
    );
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).unwrap();
    for src in ["src-tauri/src", "sync/src", "export/src", "ui/dist"] {
        if let Some(newer) = mrm_e2e::newest(&root().join(src)).filter(|t| *t > built) {
            panic!(
                "{} is older than {src} ({newer:?}): run `make test`",
                bin.display()
            );
        }
    }
    bin
}

/// Hold while an app runs: the scenarios run one at a time, as their waits are sized for one app
/// (and its web processes) on a two-core machine, not several side by side.
pub fn one_app_at_a_time() -> MutexGuard<'static, ()> {
    static APP: Mutex<()> = Mutex::new(());
    // A scenario that failed poisons the lock; the next one still runs.
    APP.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn artifacts() -> PathBuf {
    let dir = root().join("artifacts").join("e2e");
    std::fs::create_dir_all(&dir).expect("artifacts folder");
    dir
}

/// Save a screenshot and check it shows something (many colours, not one flat fill).
pub fn shot(d: &DriverProcess, name: &str) {
    // Let the last change paint.
    std::thread::sleep(Duration::from_millis(300));
    let path = artifacts().join(format!("{name}.png"));
    d.screenshot(&path);
    let out = Command::new("identify")
        .args(["-format", "%k %w %h"])
        .arg(&path)
        .output()
        .expect("ImageMagick identify");
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = text
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(nums.len(), 3, "identify said {text:?}");
    assert!(
        nums[0] >= 16 && nums[1] >= 400 && nums[2] >= 300,
        "{} looks blank ({} colours, {}x{})",
        path.display(),
        nums[0],
        nums[1],
        nums[2]
    );
}

/// Today's local date, as the app sees it.
pub fn today() -> String {
    let out = Command::new("date").arg("+%F").output().expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Print how long the scenario has run, to see where time goes.
pub fn step(start: Instant, what: &str) {
    eprintln!("[{:6.1} s] {what}", start.elapsed().as_secs_f64());
}

pub fn launch(d: &DriverProcess, data: &Path) -> Session {
    let s = Session::start(d.port, &app_bin(), &["--data", data.to_str().unwrap()]);
    s.wait("main");
    s
}

/// The whole text of the page, to check nothing of the records remains on it.
pub fn page_text(s: &Session) -> String {
    s.js("return document.documentElement.outerHTML", json!([]))
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Unlock a locked app with the store's passphrase.
pub fn unlock(s: &Session, passphrase: &str) {
    s.wait("[data-testid=unlock]");
    s.type_keys("[data-testid=unlock-passphrase]", passphrase);
    s.click("[data-testid=unlock-submit]");
    s.wait("[data-testid=nav-caseload]");
}

/// Fill in the settings' passphrase change and wait for its message.
pub fn change_passphrase(s: &Session, old: &str, new: &str, expect: &str) {
    s.wait("[data-testid=change-passphrase]");
    s.type_keys("[data-testid=old-passphrase]", old);
    s.type_keys("[data-testid=new-passphrase]", new);
    s.type_keys("[data-testid=new-passphrase2]", new);
    s.click("[data-testid=change-passphrase]");
    s.wait_js(
        "the passphrase change's message",
        "return document.querySelector('[data-testid=passphrase-message]')?.innerText.includes(arguments[0])",
        json!([expect]),
    );
}

/// A locked app shows the unlock screen and nothing of the records.
pub fn assert_locked(s: &Session, secrets: &[&str]) {
    s.wait("[data-testid=unlock]");
    let page = page_text(s);
    for secret in secrets {
        assert!(
            !page.contains(secret),
            "`{secret}` is still on the locked screen"
        );
    }
    assert!(!page.contains("data-testid=\"nav-caseload\""));
}

pub fn caseload_counts(s: &Session) -> (i64, i64, i64) {
    s.click("[data-testid=nav-caseload]");
    s.wait("[data-testid=case-counts]");
    let n = |a: &str| {
        s.attr("[data-testid=case-counts]", a)
            .parse::<i64>()
            .unwrap()
    };
    (n("data-total"), n("data-violations"), n("data-children"))
}

/// Wait for the form's autosave to report "saved".
pub fn wait_saved(s: &Session) {
    s.wait_js(
        "the autosave",
        "const e = document.querySelector('[data-testid=save-state]');
         return e && e.dataset.state === 'saved';",
        json!([]),
    );
}

/// Press "Sync now" and wait until a sync has finished after that moment.
pub fn sync_app(s: &Session) {
    let before = s.attr("[data-testid=syncbar]", "data-last-sync");
    s.click("[data-testid=sync-now]");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let bar = "[data-testid=syncbar]";
        let last = s.attr(bar, "data-last-sync");
        let err = s.attr(bar, "data-error");
        assert!(err.is_empty(), "the app's sync failed: {err}");
        if s.attr(bar, "data-running") == "false" && !last.is_empty() && last != before {
            return;
        }
        assert!(Instant::now() < deadline, "the app did not finish syncing");
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn open_incident(s: &Session, title_part: &str) {
    s.click("[data-testid=nav-caseload]");
    s.set("[data-testid=filter-text]", title_part);
    s.wait_js(
        "the incident in the caseload",
        "const r = document.querySelectorAll('[data-testid=case-row]');
         return r.length === 1 && r[0].innerText.includes(arguments[0]);",
        json!([title_part]),
    );
    // A sync that ends while the row is clicked can redraw the table under the pointer (seen
    // once after an unlock): click again until the record opens.
    for _ in 0..5 {
        s.click("[data-testid=case-row] td:nth-child(2)");
        let opened = (0..30).any(|_| {
            let here = s.js(
                "return !!document.querySelector('[data-testid=detail-title]')",
                json!([]),
            ) == json!(true);
            if !here {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            here
        });
        if opened {
            return;
        }
    }
    s.wait("[data-testid=detail-title]");
}

/// What an app scenario starts from: its turn to run an app, its clock, a folder that goes with
/// it, and a mission endpoint on loopback (with no configuration yet).
///
/// Fields drop in order: the endpoint stops before its folder goes, and the turn ends last.
pub struct Scene {
    pub start: Instant,
    pub server: mrm_e2e::Server,
    pub tmp: tempfile::TempDir,
    _one: MutexGuard<'static, ()>,
}

impl Scene {
    /// The endpoint's address, for devices to enroll with.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A laptop enrolled with the endpoint by the CLI.
    pub fn device(&self, officer: &str, team: &str, role: &str) -> mrm_e2e::Device {
        mrm_e2e::Device::enrolled(
            self.tmp.path(),
            officer,
            team,
            role,
            &self.server,
            &self.url(),
        )
    }
}

/// Start a scenario, saying what it sets up first (`what`); `None` when `MRM_SKIP_APP_E2E` is
/// set (a machine without the app's display stack).
pub fn scene(what: &str) -> Option<Scene> {
    if std::env::var_os("MRM_SKIP_APP_E2E").is_some() {
        eprintln!("MRM_SKIP_APP_E2E is set: skipping the desktop app end-to-end test");
        return None;
    }
    let one = one_app_at_a_time();
    let start = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    step(start, what);
    let server = mrm_e2e::Server::start(&tmp.path().join("server.sqlite"));
    Some(Scene {
        start,
        server,
        tmp,
        _one: one,
    })
}
