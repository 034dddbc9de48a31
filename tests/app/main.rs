//! End to end, the real `mrm-field` binary under a virtual display, driven over WebDriver: first
//! run and enrollment, a patrol and an incident with two violations through the form, the caseload
//! counts, an edit, bad input refused next to the fields, French, a restart, a sync with a second
//! enrolled store that edited the same incident, the conflict resolved, a verification, and
//! screenshots of the main screens (checked non-blank) in artifacts/e2e/.
//!
//! Needs `xvfb-run`, `WebKitWebDriver` and ImageMagick (scripts/bootstrap.sh installs them) and a
//! fresh `target/debug/mrm-field` built over a built UI (`make test` does both).

mod bench;
mod webdriver;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mrm_e2e::{mrm_bin, Device, Server, PASSPHRASE};
use serde_json::{json, Value};
use webdriver::{DriverProcess, Session};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// The app binary next to `mrm`, refusing one older than its sources or the built UI.
fn app_bin() -> PathBuf {
    let bin = mrm_bin().with_file_name("mrm-field");
    assert!(
        bin.is_file(),
        "{} is missing: run `make test` (it builds the UI, then `cargo build -p mrm-field`)",
        bin.display()
    );
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).unwrap();
    for src in ["src-tauri/src", "ui/dist"] {
        if let Some(newer) = newest(&root().join(src)).filter(|t| *t > built) {
            panic!(
                "{} is older than {src} ({newer:?}): run `make test`",
                bin.display()
            );
        }
    }
    bin
}

fn newest(dir: &Path) -> Option<std::time::SystemTime> {
    let mut best = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        let t = if p.is_dir() {
            newest(&p)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        best = best.max(t);
    }
    best
}

fn artifacts() -> PathBuf {
    let dir = root().join("artifacts").join("e2e");
    std::fs::create_dir_all(&dir).expect("artifacts folder");
    dir
}

/// Save a screenshot and check it shows something (many colours, not one flat fill).
fn shot(d: &DriverProcess, name: &str) {
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
fn today() -> String {
    let out = Command::new("date").arg("+%F").output().expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Print how long the scenario has run, to see where time goes.
fn step(start: Instant, what: &str) {
    eprintln!("[{:6.1} s] {what}", start.elapsed().as_secs_f64());
}

fn launch(d: &DriverProcess, data: &Path) -> Session {
    let s = Session::start(d.port, &app_bin(), &["--data", data.to_str().unwrap()]);
    s.wait("main");
    s
}

/// The whole text of the page, to check nothing of the records remains on it.
fn page_text(s: &Session) -> String {
    s.js("return document.documentElement.outerHTML", json!([]))
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Unlock a locked app with the store's passphrase.
fn unlock(s: &Session, passphrase: &str) {
    s.wait("[data-testid=unlock]");
    s.type_keys("[data-testid=unlock-passphrase]", passphrase);
    s.click("[data-testid=unlock-submit]");
    s.wait("[data-testid=nav-caseload]");
}

/// A locked app shows the unlock screen and nothing of the records.
fn assert_locked(s: &Session, secrets: &[&str]) {
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

fn caseload_counts(s: &Session) -> (i64, i64, i64) {
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
fn wait_saved(s: &Session) {
    s.wait_js(
        "the autosave",
        "const e = document.querySelector('[data-testid=save-state]');
         return e && e.dataset.state === 'saved';",
        json!([]),
    );
}

/// Press "Sync now" and wait until a sync has finished after that moment.
fn sync_app(s: &Session) {
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

fn open_incident(s: &Session, title_part: &str) {
    s.click("[data-testid=nav-caseload]");
    s.set("[data-testid=filter-text]", title_part);
    s.wait_js(
        "the incident in the caseload",
        "const r = document.querySelectorAll('[data-testid=case-row]');
         return r.length === 1 && r[0].innerText.includes(arguments[0]);",
        json!([title_part]),
    );
    s.click("[data-testid=case-row] td:nth-child(2)");
    s.wait("[data-testid=detail-title]");
}

#[test]
fn the_desktop_app_end_to_end() {
    if std::env::var_os("MRM_SKIP_APP_E2E").is_some() {
        eprintln!("MRM_SKIP_APP_E2E is set: skipping the desktop app end-to-end test");
        return;
    }
    let start = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("app");
    let today = today();

    // A mission endpoint with a configuration. The app is a field officer's laptop; a reviewer's
    // laptop (driven by the CLI) edits the same incident.
    step(start, "endpoint and second laptop");
    let server = Server::start(&tmp.path().join("server.sqlite"));
    let config = json!({"mission": "MONUSCO", "teams": ["Goma", "HQ"],
        "parties": ["National Army", "Group Alpha", "Group Bravo"],
        "admin_areas": {"North Kivu": ["Rutshuru", "Masisi"], "Ituri": ["Djugu"]}});
    server.admin(&["config", "set", "--json", "-"], Some(&config.to_string()));
    let rev = Device::enrolled(
        tmp.path(),
        "Reviewer R",
        "HQ",
        "reviewer",
        &server,
        &server.url(),
    );
    let token = server.token("Awa D.", "Goma", "officer");

    let driver = DriverProcess::start(
        &[("MRM_SYNC_INTERVAL_SECS", "0"), ("MRM_LOG", "warn")],
        &artifacts().join("webdriver.log"),
    );
    let s = launch(&driver, &data);

    // First run: create the store, then enroll with the endpoint.
    step(start, "first run and enrollment");
    s.type_keys("[data-testid=setup-mission]", "MONUSCO");
    s.type_keys("[data-testid=setup-officer]", "Awa D.");
    s.type_keys("[data-testid=setup-team]", "Goma");
    // The passphrase is chosen twice; a mismatch is refused before anything is created.
    s.type_keys("[data-testid=setup-passphrase]", PASSPHRASE);
    s.type_keys("[data-testid=setup-passphrase2]", "not the same");
    s.click("[data-testid=setup-create]");
    s.wait_js(
        "the mismatch message",
        "return document.querySelector('[data-testid=setup]').innerText.includes('differ')",
        json!([]),
    );
    assert!(!data.join("mrm.sqlite").exists());
    s.set("[data-testid=setup-passphrase2]", "");
    s.type_keys("[data-testid=setup-passphrase2]", PASSPHRASE);
    shot(&driver, "01-setup");
    s.click("[data-testid=setup-create]");
    s.type_keys("[data-testid=enroll-url]", &server.url());
    s.type_keys("[data-testid=enroll-token]", &token);
    shot(&driver, "01b-enroll");
    s.click("[data-testid=enroll-submit]");
    s.wait("[data-testid=caseload]");
    s.wait_js(
        "the first sync (mission configuration)",
        "return document.querySelector('[data-testid=syncbar]').dataset.lastSync",
        json!([]),
    );

    // A patrol, and an incident with two violations recorded during it, from the keyboard.
    step(start, "patrol and incident");
    s.click("[data-testid=nav-patrols]");
    s.type_keys("[data-testid=patrol-route]", "Kiwanja\nRutshuru");
    s.type_keys("[data-testid=patrol-participants]", "Awa D.\nJ. K.");
    s.type_keys("[data-testid=patrol-notes]", "Routine verification patrol.");
    s.click("[data-testid=patrol-start]");
    s.wait("[data-testid=patrol-active]");
    shot(&driver, "02-patrol");
    s.click("[data-testid=patrol-record]");
    s.wait("[data-testid=incident-form]");
    s.type_keys("[data-testid=f-title]", "Attack on Kiwanja village\u{E004}"); // then Tab
    assert_eq!(
        s.js("return document.activeElement?.dataset.testid", json!([])),
        json!("f-occurred_on"),
        "Tab moves from the title to the date"
    );
    s.type_keys("[data-testid=f-admin1]", "North Kivu");
    s.type_keys("[data-testid=f-admin2]", "Rutshuru");
    s.type_keys("[data-testid=f-place]", "Kiwanja");
    s.type_keys(
        "[data-testid=f-narrative]",
        "Fictional example: armed men attacked the village at dawn.",
    );
    s.set("[data-testid=v1-type]", "killing");
    s.set("[data-testid=v1-boys]", "2");
    s.type_keys("[data-testid=v1-party]", "Group Alpha");
    s.set("[data-testid=v1-category]", "armed_group");
    s.click("[data-testid=add-violation]");
    s.set("[data-testid=v2-type]", "abduction");
    s.set("[data-testid=v2-boys]", "1");
    s.set("[data-testid=v2-girls]", "1");
    s.type_keys("[data-testid=v2-party]", "Group Alpha");
    s.click("[data-testid=add-source]");
    s.set("[data-testid=s1-kind]", "eyewitness");
    s.click("[data-testid=s1-consent]");
    wait_saved(&s);
    shot(&driver, "03-incident-form");
    s.click("[data-testid=form-done]");
    s.wait("[data-testid=detail-title]");
    assert_eq!(
        s.text("[data-testid=detail-title]"),
        "Attack on Kiwanja village"
    );

    // The caseload counts it: 1 incident, 2 violations, 4 children.
    step(start, "caseload counts");
    assert_eq!(caseload_counts(&s), (1, 2, 4));
    shot(&driver, "04-caseload");

    // The patrol lists it, and leads to it.
    s.click("[data-testid=nav-patrols]");
    s.click("[data-testid=patrol-incidents]");
    s.wait_js(
        "the patrol's incidents",
        "const c = document.querySelector('[data-testid=case-counts]');
         return document.querySelector('[data-testid=filter-patrol]') && c && c.dataset.total === '1'",
        json!([]),
    );
    s.click("[data-testid=filter-clear]");

    // Edit it.
    step(start, "edit");
    open_incident(&s, "Kiwanja");
    s.click("[data-testid=detail-edit]");
    s.wait("[data-testid=incident-form]");
    s.wait_js(
        "the form to load",
        "return document.querySelector('[data-testid=f-title]').value.length > 0",
        json!([]),
    );
    s.set(
        "[data-testid=f-title]",
        "Attack on Kiwanja village (edited)",
    );
    s.type_keys("[data-testid=f-narrative]", " Two witnesses met.");
    wait_saved(&s);

    // Bad input: a missing title, a future date, a negative count: messages, nothing saved.
    step(start, "bad input");
    s.click("[data-testid=nav-form]");
    s.wait_js(
        "a blank form",
        "return document.querySelector('[data-testid=f-title]')?.value === ''",
        json!([]),
    );
    s.set("[data-testid=f-occurred_on]", "2099-01-01");
    s.set("[data-testid=f-admin1]", "North Kivu");
    s.set("[data-testid=v1-type]", "maiming");
    s.set("[data-testid=v1-boys]", "-1");
    s.keys_to("[data-testid=f-title]", "\u{E009}s\u{E000}"); // Ctrl+S
    for (field, words) in [
        ("title", "Required"),
        ("occurred_on", "future"),
        ("violations[1].victims.boys", "negative"),
    ] {
        let css = format!("[data-testid=\"error-{field}\"]");
        let text = s.text(&css);
        assert!(text.contains(words), "{field}: {text:?}");
    }
    // The message sits next to its field, in the same label.
    assert_eq!(
        s.js(
            "return document.querySelector('[data-testid=\"error-title\"]').parentElement
                 .contains(document.querySelector('[data-testid=f-title]'))",
            json!([])
        ),
        json!(true)
    );
    assert_eq!(s.attr("[data-testid=save-state]", "data-state"), "new");
    shot(&driver, "05-form-errors");
    std::thread::sleep(Duration::from_millis(1500)); // longer than the autosave pause
    assert_eq!(
        caseload_counts(&s),
        (1, 2, 4),
        "bad input must save nothing"
    );
    // The unsaved incident comes back when the form opens again; it can be dropped.
    s.click("[data-testid=nav-form]");
    s.wait("[data-testid=draft-restored]");
    assert_eq!(
        s.js(
            "return document.querySelector('[data-testid=f-occurred_on]').value",
            json!([])
        ),
        json!("2099-01-01")
    );
    s.click("[data-testid=draft-discard]");
    s.wait_js(
        "a blank form",
        "return document.querySelector('[data-testid=f-occurred_on]')?.value === arguments[0]
             && !document.querySelector('[data-testid=draft-restored]')",
        json!([today]),
    );

    // French, remembered across a restart; the incident is intact after it.
    step(start, "French and restart");
    s.set("[data-testid=language]", "fr");
    s.wait_js(
        "French labels",
        "return document.querySelector('[data-testid=nav-dashboard]').innerText === 'Tableau de bord'",
        json!([]),
    );
    shot(&driver, "06-caseload-fr");
    s.close();
    let s = launch(&driver, &data);
    // A restart opens on the unlock screen; a wrong passphrase is refused with a message.
    s.wait("[data-testid=unlock]");
    assert!(!page_text(&s).contains("Kiwanja"));
    s.type_keys("[data-testid=unlock-passphrase]", "wrong passphrase");
    s.click("[data-testid=unlock-submit]");
    s.wait("[data-testid=unlock-message]");
    shot(&driver, "06b-unlock-wrong");
    unlock(&s, PASSPHRASE);
    s.wait_js(
        "French after a restart",
        "return document.querySelector('[data-testid=nav-caseload]')?.innerText === 'Dossiers'",
        json!([]),
    );
    assert_eq!(caseload_counts(&s), (1, 2, 4));
    assert!(s
        .text("[data-testid=case-row]")
        .contains("Attack on Kiwanja village (edited)"));
    open_incident(&s, "Kiwanja");
    assert!(s
        .text("[data-testid=detail-narrative]")
        .contains("Two witnesses met."));
    s.set("[data-testid=language]", "en");
    s.wait_js(
        "English labels",
        "return document.querySelector('[data-testid=nav-dashboard]').innerText === 'Dashboard'",
        json!([]),
    );

    // Sync: the reviewer receives the incident and changes the killing's count of boys while
    step(start, "concurrent edits and sync");
    // the officer changes it too; after the app syncs the detail shows both values.
    sync_app(&s);
    rev.sync();
    let rev_store = rev.store();
    let page = rev_store.list_incidents(&Default::default()).unwrap();
    assert_eq!(page.total, 1, "the reviewer received the incident");
    let inc = rev_store.incident(&page.items[0].id).unwrap();
    drop(rev_store);
    let killing = inc
        .violations
        .iter()
        .find(|v| v.kind.as_str() == "killing")
        .unwrap();
    let edit = json!({"violations": [{"id": killing.id, "victims": {"boys": 5}}]});
    rev.mrm_ok(
        &["incident", "edit", &inc.id, "--json", "-"],
        Some(&edit.to_string()),
    );
    rev.sync();

    s.click("[data-testid=detail-edit]");
    s.wait_js(
        "the form to load",
        "return document.querySelector('[data-testid=f-title]').value.length > 0",
        json!([]),
    );
    s.set("[data-testid=v1-boys]", "3");
    wait_saved(&s);
    s.click("[data-testid=form-done]");
    s.wait("[data-testid=detail-title]");
    sync_app(&s);
    s.wait("[data-testid=conflict]");
    // The sync bar leads to the incidents with conflicts.
    s.click("[data-testid=sync-show-conflicts]");
    s.wait_js(
        "the conflicts filter",
        "const c = document.querySelector('[data-testid=case-counts]');
         return document.querySelector('[data-testid=filter-conflicts]')?.checked
             && c && c.dataset.total === '1'",
        json!([]),
    );
    s.click("[data-testid=case-row] td:nth-child(2)");
    s.wait("[data-testid=conflict]");
    let path = s.attr("[data-testid=conflict]", "data-path");
    assert_eq!(path, format!("violations.{}.victims.boys", killing.id));
    let values = s.js(
        "return [...document.querySelectorAll('[data-testid=conflict-value]')].map(e => e.innerText)",
        json!([]),
    );
    let mut values: Vec<String> = serde_json::from_value(values).unwrap();
    values.sort();
    assert_eq!(values, ["3", "5"]);
    shot(&driver, "07-detail-conflict");
    // Keep the reviewer's 5.
    step(start, "resolve the conflict");
    s.js(
        "const c = [...document.querySelectorAll('.choice')]
            .find(e => e.querySelector('[data-testid=conflict-value]').innerText === '5');
         c.querySelector('[data-testid=keep]').click();",
        json!([]),
    );
    s.wait("[data-testid=no-conflicts]");
    assert!(s
        .text("[data-testid=detail-violation-1] [data-testid=violation-children]")
        .contains("Boys 5"));

    // The officer sends it for review and syncs; an officer's laptop offers no deciding status.
    step(start, "submit for review");
    s.click("[data-testid=review-submit]");
    s.wait("[data-testid=review-state][data-state=submitted]");
    s.click("[data-testid=verify-open-1]");
    let offered = s.js(
        "return [...document.querySelectorAll('[data-testid=verify-status] option')].map(o => o.value)",
        json!([]),
    );
    assert_eq!(offered, json!(["reported", "pending_verification"]));
    assert_eq!(
        s.js(
            "return !!document.querySelector('[data-testid=review-accept]')",
            json!([])
        ),
        json!(false),
        "only reviewers accept"
    );
    sync_app(&s);
    // The lock button: nothing readable stays on screen; the passphrase opens it again.
    step(start, "lock and unlock");
    s.click("[data-testid=lock]");
    assert_locked(&s, &["Kiwanja", "Awa D.", "Group Alpha"]);
    shot(&driver, "08b-locked");
    unlock(&s, PASSPHRASE);
    assert_eq!(caseload_counts(&s).0, 1);
    s.close();

    // An adviser's laptop (a reviewer, set up with the CLI) syncs from the app, verifies the
    // killing, refuses to return the record without a comment, and accepts it.
    step(start, "adviser verifies and accepts");
    let adviser = tmp.path().join("adviser");
    let adv = |args: &[&str]| {
        let mut all = vec!["--data", adviser.to_str().unwrap()];
        all.extend_from_slice(args);
        mrm_e2e::mrm_ok(&all, None)
    };
    adv(&[
        "init",
        "--mission",
        "MONUSCO",
        "--officer",
        "Adviser C",
        "--team",
        "HQ",
    ]);
    let adv_token = server.token("Adviser C", "HQ", "reviewer");
    adv(&["enroll", "--server", &server.url(), "--token", &adv_token]);
    let s = launch(&driver, &adviser);
    unlock(&s, PASSPHRASE);
    sync_app(&s);
    assert_eq!(caseload_counts(&s), (1, 2, 7));
    open_incident(&s, "Kiwanja");
    s.click("[data-testid=verify-open-1]");
    s.set("[data-testid=verify-status]", "verified");
    s.type_keys("[data-testid=verify-note]", "Two independent sources.");
    s.click("[data-testid=verify-save]");
    s.wait_js(
        "the verification",
        "return document.querySelector('[data-testid=detail-violation-1] [data-testid=violation-status]')
             .dataset.status === 'verified'",
        json!([]),
    );
    assert!(s
        .text("[data-testid=detail-violation-1] [data-testid=timeline]")
        .contains("Two independent sources."));
    s.click("[data-testid=review-return]");
    s.wait("[data-testid=review-comment-error]");
    s.type_keys(
        "[data-testid=review-comment]",
        "Figures checked with the team.",
    );
    s.click("[data-testid=review-accept]");
    s.wait("[data-testid=review-state][data-state=accepted]");
    assert!(s
        .text("[data-testid=review-thread]")
        .contains("Figures checked with the team."));
    shot(&driver, "08-detail-verified");

    // The dashboard.
    step(start, "dashboard");
    s.click("[data-testid=nav-dashboard]");
    s.wait_js(
        "the figures",
        "return document.querySelector('[data-testid=dash-headline]')?.innerText.includes('(1 verified)')",
        json!([]),
    );
    shot(&driver, "09-dashboard");
    sync_app(&s);
    s.close();

    // Auto-lock: with a 3-second idle time, the app locks itself and shows nothing of the records.
    step(start, "auto-lock");
    let settings_file = data.join("settings.json");
    let mut settings: Value = std::fs::read_to_string(&settings_file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| json!({}));
    settings["auto_lock_seconds"] = json!(3);
    std::fs::write(&settings_file, settings.to_string()).unwrap();
    let s = launch(&driver, &data);
    unlock(&s, PASSPHRASE);
    s.wait("[data-testid=case-row]");
    let locked_at = Instant::now();
    assert_locked(&s, &["Kiwanja", "Awa D."]);
    assert!(
        locked_at.elapsed() < Duration::from_secs(30),
        "the app did not lock itself"
    );
    shot(&driver, "10-auto-locked");
    s.close();
    drop(driver);
    // The officer's laptop receives the decision.
    mrm_e2e::mrm_ok(&["--data", data.to_str().unwrap(), "sync"], None);

    // What the store holds, read back without the app: one incident, resolved and verified.
    step(start, "store read back");
    let out = mrm_e2e::mrm_ok(
        &[
            "--data",
            data.to_str().unwrap(),
            "incident",
            "show",
            &inc.id,
            "--json",
        ],
        None,
    );
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["title"], "Attack on Kiwanja village (edited)");
    assert_eq!(shown["conflicts"], json!([]));
    let v = shown["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == killing.id.as_str())
        .unwrap();
    assert_eq!(v["victims"]["boys"], 5);
    assert_eq!(v["verification"].as_array().map(Vec::len), Some(2));
    assert_eq!(shown["review"]["state"], "accepted");
    assert_eq!(shown["patrol_id"].as_str().map(str::len), Some(36));
    let listed = mrm_e2e::mrm_ok(
        &[
            "--data",
            data.to_str().unwrap(),
            "incident",
            "list",
            "--json",
        ],
        None,
    );
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["total"], 1, "nothing invalid was saved");
    assert_eq!(shown["reported_on"], today);
}
