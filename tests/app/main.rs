//! End to end, the real `mrm-field` binary under a virtual display, driven over WebDriver: first
//! run and enrollment, a patrol and an incident with two violations through the form, the caseload
//! counts, an edit, bad input refused next to the fields, French, a restart, a sync with a second
//! enrolled store that edited the same incident, the conflict resolved, a verification, the
//! passphrase (chosen at setup, a wrong one refused, lock, auto-lock, change), a revocation that
//! wipes the store, and screenshots of the main screens (checked non-blank) in artifacts/e2e/.
//! `record_sync.rs`: each record's sync state in the caseload and the detail view.
//!
//! Needs `xvfb-run`, `WebKitWebDriver` and ImageMagick (scripts/bootstrap.sh installs them) and a
//! fresh `target/debug/mrm-field` built over a built UI (`make test` does both).

mod arabic;
mod bench;
mod helpers;
mod parties;
mod print;
mod record_sync;
mod webdriver;

use std::time::{Duration, Instant};

use helpers::{
    artifacts, assert_locked, caseload_counts, change_passphrase, launch, open_incident, page_text,
    shot, step, sync_app, today, unlock, wait_saved,
};
use mrm_e2e::{Device, Server, PASSPHRASE};
use serde_json::{json, Value};
use webdriver::{DriverProcess, Session};

#[test]
fn the_desktop_app_end_to_end() {
    if std::env::var_os("MRM_SKIP_APP_E2E").is_some() {
        eprintln!("MRM_SKIP_APP_E2E is set: skipping the desktop app end-to-end test");
        return;
    }
    let _one = helpers::one_app_at_a_time();
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
        "admin_areas": {"North Kivu": ["Rutshuru", "Masisi"], "Ituri": ["Djugu"]},
        "area_bounds": {"North Kivu": {"south": -2.1, "west": 27.2, "north": 0.95, "east": 29.98}}});
    server.set_config(&config.to_string());
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
    // Enrolled, the settings say so first; connecting elsewhere is folded away, and working
    // local only is no longer offered.
    s.click("[data-testid=nav-settings]");
    s.wait("[data-testid=enrolled]");
    assert_eq!(
        s.js(
            "const folded = document.querySelector('[data-testid=reenroll]');
             return [!folded.open,
                     folded.contains(document.querySelector('[data-testid=enroll-url]')),
                     !document.querySelector('[data-testid=setup-skip]')]",
            json!([])
        ),
        json!([true, true, true]),
        "an enrolled laptop's settings fold the enrollment form away"
    );
    s.click("[data-testid=nav-caseload]");
    s.wait("[data-testid=caseload]");

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
    // The mission lists its areas: province and district are lists, chosen by typing the
    // name's first letters as on any list.
    s.type_keys("[data-testid=f-admin1]", "North Kivu");
    s.wait("[data-testid=f-admin2]:not([disabled]) option[value='Rutshuru']");
    s.type_keys("[data-testid=f-admin2]", "Rutshuru");
    assert_eq!(
        s.js(
            "return [document.querySelector('[data-testid=f-admin1]').value,
                     document.querySelector('[data-testid=f-admin2]').value]",
            json!([])
        ),
        json!(["North Kivu", "Rutshuru"]),
        "province and district chosen from the mission's lists by typing"
    );
    s.type_keys("[data-testid=f-place]", "Kiwanja");
    // The configuration gave North Kivu an extent: coordinates typed the wrong way round are
    // noted as they are typed, and the note goes once they are right.
    s.type_keys("[data-testid=f-lat]", "29.45");
    s.type_keys("[data-testid=f-lon]", "-1.21");
    s.wait_js(
        "the note on swapped coordinates",
        "const n = document.querySelector('[data-testid=place-check]');
         return n.textContent.includes('North Kivu') && n.textContent.includes('swapped')",
        json!([]),
    );
    s.set("[data-testid=f-lat]", "-1.21");
    s.set("[data-testid=f-lon]", "29.45");
    s.wait_js(
        "the note gone once the coordinates are right",
        "return document.querySelector('[data-testid=place-check]').textContent.trim() === ''",
        json!([]),
    );
    s.type_keys(
        "[data-testid=f-narrative]",
        "Fictional example: armed men attacked the village at dawn.",
    );
    s.set("[data-testid=v1-type]", "killing");
    s.set("[data-testid=v1-boys]", "2");
    s.type_keys("[data-testid=v1-party]", "Group Alpha");
    s.set("[data-testid=v1-category]", "armed_group");
    // Each type offers its own details (issue 19 §1): a weapon for a killing.
    s.set("[data-testid=v1-d-weapon]", "small_arms");
    s.click("[data-testid=add-violation]");
    s.set("[data-testid=v2-type]", "abduction");
    s.set("[data-testid=v2-boys]", "1");
    s.set("[data-testid=v2-girls]", "1");
    s.type_keys("[data-testid=v2-party]", "Group Alpha");
    assert!(
        s.js(
            "return !document.querySelector('[data-testid=v2-d-weapon]')",
            json!([])
        ) == json!(true),
        "an abduction offers no weapon"
    );
    s.set("[data-testid=v2-d-purpose]", "recruitment_use");
    s.set("[data-testid=v2-d-child_status]", "still_held");
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
    let details = s.js(
        "return [...document.querySelectorAll('[data-testid=violation-details] .chip')].map(c => c.innerText)",
        json!([]),
    );
    assert_eq!(
        details,
        json!([
            "Weapon or cause: Small arms (rifles, pistols)",
            "Status of the child now: Still held",
            "Purpose of the abduction: Recruitment and use"
        ]),
        "the details in words"
    );

    // The caseload counts it: 1 incident, 2 violations, 4 children.
    step(start, "caseload counts");
    assert_eq!(caseload_counts(&s), (1, 2, 4));
    shot(&driver, "04-caseload");

    // A release of children, recorded on the Activities screen from the store's own fields
    // (issue 19 §4), listed, and counted on the dashboard.
    step(start, "a release");
    s.click("[data-testid=nav-activities]");
    s.click("[data-testid=act-tab-release]");
    s.click("[data-testid=act-new]");
    s.type_keys("[data-testid=act-f-place]", "Bunia transit centre");
    s.set("[data-testid=act-f-boys]", "12");
    s.set("[data-testid=act-f-girls]", "3");
    s.type_keys("[data-testid=act-f-party]", "Group Alpha");
    s.set("[data-testid=act-f-instrument]", "unilateral_declaration");
    s.click("[data-testid=act-save]");
    s.wait_js(
        "the release listed",
        "const r = document.querySelector('[data-testid=act-row]');
         return !!r && r.innerText.includes('15 child(ren) released by Group Alpha (Unilateral declaration)')",
        json!([]),
    );
    shot(&driver, "04b-activities");
    // A training of trainers and an engagement, each through its own form.
    step(start, "a training and an engagement");
    s.click("[data-testid=act-tab-training]");
    s.click("[data-testid=act-new]");
    s.type_keys("[data-testid=act-f-place]", "Goma police school");
    s.set("[data-testid=act-f-audience]", "police");
    s.set("[data-testid=act-f-participants-male]", "20");
    s.set("[data-testid=act-f-participants-female]", "2");
    s.type_keys(
        "[data-testid=act-f-topic]",
        "Child protection in operations",
    );
    s.set("[data-testid=act-f-training_of_trainers]", "true");
    s.click("[data-testid=act-save]");
    s.wait_js(
        "the training listed",
        "const r = document.querySelector('[data-testid=act-row]');
         return !!r && r.innerText.includes('22 trained: Child protection in operations (Police)')",
        json!([]),
    );
    s.click("[data-testid=act-tab-engagement]");
    s.click("[data-testid=act-new]");
    s.type_keys("[data-testid=act-f-party]", "Group Alpha");
    s.set("[data-testid=act-f-kind]", "negotiation");
    s.type_keys(
        "[data-testid=act-f-subject]",
        "An action plan on recruitment",
    );
    s.type_keys(
        "[data-testid=act-f-commitments]",
        "To release the children in its ranks",
    );
    s.click("[data-testid=act-save]");
    s.wait_js(
        "the engagement listed",
        "const r = document.querySelector('[data-testid=act-row]');
         return !!r && r.innerText.includes('Negotiation with Group Alpha: An action plan on recruitment')",
        json!([]),
    );
    // A required field left empty is refused next to it, and nothing is saved.
    s.click("[data-testid=act-new]");
    s.click("[data-testid=act-save]");
    s.wait("[data-testid=act-err-subject]");
    assert_eq!(
        s.js(
            "return document.querySelectorAll('[data-testid=act-row]').length",
            json!([])
        ),
        json!(1)
    );
    s.click("[data-testid=act-cancel]");
    s.click("[data-testid=nav-dashboard]");
    s.wait_js(
        "the release on the dashboard",
        "return document.querySelector('[data-testid=dash-released]')?.innerText.startsWith('15 child(ren) released')",
        json!([]),
    );
    s.wait_js(
        "the training and the engagement on the dashboard",
        "return document.querySelector('[data-testid=dash-trained]')?.innerText.startsWith('22 person(s) trained (20 men, 2 women) in 1 training(s), 1 of trainers')
             && document.querySelector('[data-testid=dash-engaged]')?.innerText.startsWith('1 engagement(s) with parties: 0 advocacy, 1 negotiation(s)')",
        json!([]),
    );

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
    // Another province by mistake: the district goes, and the autosave (600 ms after the last
    // change) stores that. Going back to the province the record opened with brings its district
    // back, as the lists promise.
    s.set("[data-testid=f-admin1]", "Ituri");
    assert_eq!(
        s.js(
            "return document.querySelector('[data-testid=f-admin2]').value",
            json!([])
        ),
        json!("")
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    wait_saved(&s);
    s.set("[data-testid=f-admin1]", "North Kivu");
    assert_eq!(
        s.js(
            "return document.querySelector('[data-testid=f-admin2]').value",
            json!([])
        ),
        json!("Rutshuru"),
        "the district the record opened with, offered again with its province"
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
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
    s.wait_js(
        "the wrong-passphrase message (in French)",
        "return document.querySelector('[data-testid=unlock-message]')?.innerText.includes('incorrecte')",
        json!([]),
    );
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
    // The history says what the edit changed, from what to what, in the user's words.
    s.wait_js(
        "the edit in the history, in French",
        "return [...document.querySelectorAll('[data-testid=history-changes] li[data-path=title]')]
            .some(li => li.innerText.startsWith('Titre : ') && li.innerText.endsWith('→ Attack on Kiwanja village (edited)'))",
        json!([]),
    );
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
        "return [...document.querySelectorAll('[data-testid=verify-status] option')].map(o => o.value).filter(v => v !== '')",
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
    // An edit typed just before the lock is saved, and an unsaveable new incident is forgotten.
    step(start, "lock and unlock");
    s.click("[data-testid=detail-edit]");
    s.wait_js(
        "the form to load",
        "return document.querySelector('[data-testid=f-title]').value.length > 0",
        json!([]),
    );
    s.type_keys("[data-testid=f-narrative]", " Typed just before the lock.");
    s.click("[data-testid=lock]");
    assert_locked(
        &s,
        &["Kiwanja", "Awa D.", "Group Alpha", "Typed just before"],
    );
    unlock(&s, PASSPHRASE);
    open_incident(&s, "Kiwanja");
    assert!(s
        .text("[data-testid=detail-narrative]")
        .contains("Typed just before the lock."));
    // A new incident that cannot be saved yet (no title) is kept as a draft, sealed in the store:
    // the lock shows nothing of it, and it comes back after the unlock and after a restart.
    s.click("[data-testid=nav-form]");
    s.type_keys("[data-testid=f-narrative]", "Draft with no title yet");
    s.click("[data-testid=lock]");
    assert_locked(
        &s,
        &["Kiwanja", "Awa D.", "Group Alpha", "Draft with no title"],
    );
    shot(&driver, "08b-locked");
    unlock(&s, PASSPHRASE);
    assert_eq!(caseload_counts(&s).0, 1, "a draft is not a record");
    s.wait_js(
        "the sync bar to count the draft apart",
        "return document.querySelector('[data-testid=sync-drafts]')?.innerText.includes('1 draft')",
        json!([]),
    );
    let restored = |s: &Session| {
        s.click("[data-testid=nav-form]");
        s.wait("[data-testid=incident-form]");
        s.wait_js(
            "the draft to come back",
            "return !!document.querySelector('[data-testid=draft-restored]')
                 && document.querySelector('[data-testid=f-narrative]').value === 'Draft with no title yet'",
            json!([]),
        );
        // What kept it from being saved is marked at once, not after another save.
        s.wait_js(
            "the missing title marked",
            "return document.querySelector('[data-testid=f-title]').getAttribute('aria-invalid') === 'true'",
            json!([]),
        );
    };
    restored(&s);
    shot(&driver, "08c-draft-restored");
    s.close();
    let s = launch(&driver, &data);
    unlock(&s, PASSPHRASE);
    restored(&s);
    // Discarded on purpose, it is gone for good.
    s.click("[data-testid=draft-discard]");
    s.wait_js(
        "a blank form",
        "return !document.querySelector('[data-testid=draft-restored]')
             && document.querySelector('[data-testid=f-narrative]').value === ''",
        json!([]),
    );
    s.wait_js(
        "no draft counted",
        "return !document.querySelector('[data-testid=sync-drafts]')",
        json!([]),
    );
    // A filter date typed day first is understood; one that is no date is said, not ignored.
    s.click("[data-testid=nav-caseload]");
    s.set("[data-testid=filter-from]", "31/02/2026");
    s.wait("[data-testid=filter-date-error]");
    assert_eq!(
        caseload_counts(&s).0,
        1,
        "a refused date filters nothing out"
    );
    s.set("[data-testid=filter-from]", "1/1/2099");
    s.wait_js(
        "the date understood and applied",
        "return document.querySelector('[data-testid=filter-from]').value === '2099-01-01'
             && !document.querySelector('[data-testid=filter-date-error]')",
        json!([]),
    );
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

    // Reports: the year's tables; a figure opens exactly its records in the caseload, in
    // English and in French. Another officer's incident makes two records to tell apart.
    step(start, "reports");
    let other = Device::enrolled(
        tmp.path(),
        "Officer B",
        "HQ",
        "officer",
        &server,
        &server.url(),
    );
    other.mrm_ok(
        &["incident", "add", "--json", "-"],
        Some(
            &json!({"title": "Shelling in Masisi", "occurred_on": today, "reported_on": today,
                    "location": {"admin1": "North Kivu", "place": "Masisi"},
                    "violations": [{"type": "maiming", "victims": {"boys": 0, "girls": 1, "sex_unknown": 0},
                                    "perpetrator": {"party": "Group Bravo", "category": "armed_group"}}]})
            .to_string(),
        ),
    );
    other.sync();
    sync_app(&s);
    let year = &today[..4];
    let open_figure = |cell: &str, expect: &str| {
        s.click("[data-testid=nav-reports]");
        s.set("[data-testid=report-mode]", "year");
        s.set("[data-testid=report-year]", year);
        s.wait("[data-testid=report-heading]");
        s.wait_js(
            "the year's tables",
            "return !!document.querySelector(arguments[0])",
            json!([cell]),
        );
        s.click(cell);
        s.wait("[data-testid=figure-filter]");
        s.wait_js(
            "exactly the figure's records",
            "const r = document.querySelectorAll('[data-testid=case-row]');
             return r.length === 1 && r[0].innerText.includes(arguments[0]);",
            json!([expect]),
        );
    };
    // The killing verified today: in the verified table, or in the late one when the incident
    // began in an earlier quarter than today's.
    s.click("[data-testid=nav-reports]");
    s.set("[data-testid=report-mode]", "year");
    s.wait("[data-testid=report-heading]");
    let on_time = "[data-testid=cell-verified-killing-violations]";
    let killing_cell = match s.js(
        "return !!document.querySelector(arguments[0])",
        json!([on_time]),
    ) {
        Value::Bool(true) => on_time,
        _ => "[data-testid=cell-late_verified-killing-violations]",
    };
    assert!(s
        .text("[data-testid=report-heading]")
        .contains(&format!("Annual report {year}")));
    // The year's work beside the tables: the release, the training and the engagement.
    s.wait_js(
        "the section's work in the report",
        "return document.querySelector('[data-testid=report-released]')?.innerText.startsWith('15 child(ren) released')
             && document.querySelector('[data-testid=report-trained]')?.innerText.startsWith('22 person(s) trained')",
        json!([]),
    );
    shot(&driver, "09a-reports");
    open_figure(killing_cell, "Kiwanja");
    assert!(s
        .text("[data-testid=figure-filter]")
        .contains("Showing the 1 record(s) behind"));
    shot(&driver, "09b-report-figure-records");
    s.click("[data-testid=figure-filter-clear]");
    s.wait_js(
        "every record again",
        "return document.querySelectorAll('[data-testid=case-row]').length === 2",
        json!([]),
    );
    s.set("[data-testid=language]", "fr");
    open_figure("[data-testid=cell-unverified-maiming-violations]", "Masisi");
    assert!(s
        .text("[data-testid=figure-filter]")
        .contains("dossier(s) derrière : Non vérifiées"));
    s.click("[data-testid=nav-reports]");
    s.wait_js(
        "the report in French",
        "return document.querySelector('[data-testid=report-heading]')?.innerText.startsWith('Rapport annuel')",
        json!([]),
    );
    shot(&driver, "09c-reports-fr");
    s.set("[data-testid=language]", "en");
    // The year's workbook and factsheet, saved where the app says.
    s.set("[data-testid=report-mode]", "year");
    for (button, ext, magic) in [
        ("export-xlsx", ".xlsx", &b"PK"[..]),
        ("export-pdf", ".pdf", &b"%PDF"[..]),
    ] {
        s.click(&format!("[data-testid={button}]"));
        let said = s.wait_js(
            "the saved file",
            "const e = document.querySelector('[data-testid=exported]');
             return e && e.innerText.includes(arguments[0]) ? e.innerText : null",
            json!([ext]),
        );
        let said = said.as_str().unwrap();
        let path = &said[said.find('/').unwrap()..said.find(ext).unwrap() + ext.len()];
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(bytes.starts_with(magic), "{path} is not a {ext} file");
    }
    s.set("[data-testid=close-name]", "Year to date");
    s.click("[data-testid=close-period]");
    s.wait_js(
        "the closed period",
        "return document.querySelector('[data-testid=frozen-heading]')?.innerText.includes('Year to date')
             && !!document.querySelector('[data-testid=frozen-unchanged]')",
        json!([]),
    );
    shot(&driver, "09d-period-closed");
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
    // Unlock again (the settings now say 10 minutes: the app reads them on unlock), then change
    // the passphrase: a wrong current one is refused, then the new one replaces the old.
    step(start, "change the passphrase");
    settings["auto_lock_seconds"] = json!(600);
    std::fs::write(&settings_file, settings.to_string()).unwrap();
    unlock(&s, PASSPHRASE);
    s.click("[data-testid=nav-settings]");
    assert_eq!(
        s.js(
            "return document.querySelector('[data-testid=auto-lock]').value",
            json!([])
        ),
        json!("600")
    );
    let new_pass = "a new passphrase for the e2e";
    change_passphrase(&s, "not the passphrase", new_pass, "is wrong");
    change_passphrase(&s, PASSPHRASE, new_pass, "is changed");
    s.click("[data-testid=lock]");
    s.wait("[data-testid=unlock]");
    s.type_keys("[data-testid=unlock-passphrase]", PASSPHRASE);
    s.click("[data-testid=unlock-submit]");
    s.wait("[data-testid=unlock-message]");
    unlock(&s, new_pass);
    s.click("[data-testid=nav-settings]");
    change_passphrase(&s, new_pass, PASSPHRASE, "is changed");
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

    // Revocation: the mission revokes the officer's laptop; the app's next sync wipes the store
    // and says why, and nothing of the records stays on screen or on disk.
    step(start, "revocation");
    let device_id = mrm_store::Store::open(&data, &mrm_crdt::crypto::Passphrase::new(PASSPHRASE))
        .unwrap()
        .sync_state()
        .unwrap()
        .unwrap()
        .device_id;
    let driver = DriverProcess::start(
        &[("MRM_SYNC_INTERVAL_SECS", "0"), ("MRM_LOG", "warn")],
        &artifacts().join("webdriver.log"),
    );
    // Merges the app shows as data: two reviewers move the dates apart on two laptops (each
    // edit sound on its own, the merge not), and one withdraws the abduction with a reason. The
    // officer's app shows the withdrawn violation and what needs attention, in both languages.
    step(start, "withdrawn and needs attention");
    let days_ago =
        |n: i64| (chrono::Local::now().date_naive() - chrono::Duration::days(n)).to_string();
    let abduction = shown["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["type"] == "abduction")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let patch_file = tmp.path().join("patch.json");
    let adv_edit = |patch: Value| {
        std::fs::write(&patch_file, patch.to_string()).unwrap();
        adv(&[
            "incident",
            "edit",
            &inc.id,
            "--json",
            patch_file.to_str().unwrap(),
        ])
    };
    adv(&["sync"]);
    adv_edit(
        json!({"occurred_on": days_ago(2), "remove": [abduction], "remove_reason": "counted twice"}),
    );
    adv(&["sync"]);
    rev.sync();
    adv_edit(json!({"occurred_on": days_ago(1)}));
    rev.mrm_ok(
        &["incident", "edit", &inc.id, "--json", "-"],
        Some(&json!({"reported_on": days_ago(2)}).to_string()),
    );
    adv(&["sync"]);
    rev.sync();
    // Against the year the adviser closed, the abduction withdrawn since is no longer counted;
    // nothing else changed.
    let diff: Value = serde_json::from_str(&adv(&[
        "report",
        "ghn",
        "--period",
        "Year to date",
        "--diff",
        "--json",
    ]))
    .unwrap();
    let changes = diff["changes"].as_array().unwrap();
    assert!(
        changes.iter().any(|c| c["type"] == "abduction"
            && c["change"] == "removed"
            && c["status_now"].is_null()),
        "{diff}"
    );
    assert!(changes.iter().all(|c| c["type"] != "maiming"), "{diff}");
    let s = launch(&driver, &data);
    unlock(&s, PASSPHRASE);
    s.wait("[data-testid=case-row]");
    sync_app(&s);
    // The caseload's "needs attention" filter finds it, and only it.
    s.click("[data-testid=nav-caseload]");
    s.click("[data-testid=filter-attention]");
    s.wait_js(
        "only the record that needs attention",
        "const r = document.querySelectorAll('[data-testid=case-row]');
         return r.length === 1 && r[0].innerText.includes('Kiwanja')
             && !!r[0].querySelector('[data-testid=row-attention]');",
        json!([]),
    );
    shot(&driver, "10a-caseload-needs-attention");
    open_incident(&s, "Kiwanja");
    s.wait("[data-testid=violation-withdrawn]");
    s.wait("[data-testid=attention]");
    assert!(s
        .text("[data-testid=violation-withdrawal]")
        .contains("counted twice"));
    assert!(s
        .text("[data-testid=attention]")
        .contains("Needs attention"));
    shot(&driver, "10b-withdrawn-attention");
    s.set("[data-testid=language]", "fr");
    s.wait_js(
        "the withdrawal and the attention in French",
        "return document.querySelector('[data-testid=violation-withdrawn]')?.innerText === 'Retiré'
             && document.querySelector('[data-testid=attention]')?.innerText.includes('À régler')
             && document.querySelector('[data-testid=attention]')?.innerText.includes('après la date de signalement')",
        json!([]),
    );
    shot(&driver, "10c-withdrawn-attention-fr");
    s.set("[data-testid=language]", "en");
    // Still editable by the officer: the merge broke a rule, the record is not frozen.
    s.click("[data-testid=detail-edit]");
    s.wait_js(
        "the form to load",
        "return document.querySelector('[data-testid=f-title]').value.length > 0",
        json!([]),
    );
    s.type_keys("[data-testid=f-narrative]", " Seen after the merge.");
    wait_saved(&s);
    server.admin(&["device", "revoke", &device_id], None);
    s.click("[data-testid=sync-now]");
    s.wait("[data-testid=revoked]");
    let page = page_text(&s);
    for secret in ["Kiwanja", "Awa D.", "Group Alpha"] {
        assert!(
            !page.contains(secret),
            "`{secret}` is on the revoked screen"
        );
    }
    for file in ["mrm.sqlite", "mrm.sqlite-wal", "key.json"] {
        assert!(!data.join(file).exists(), "{file} survived the revocation");
    }
    shot(&driver, "11-revoked");
    s.click("[data-testid=revoked-again]");
    s.wait("[data-testid=setup-passphrase]");
    s.close();
}
