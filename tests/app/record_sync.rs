//! Each record's sync state in the app (issue 16 §4, as DHIS2 Capture shows it): an officer's
//! laptop holds a record sent, one the endpoint refused (held, with the reason), one with a
//! conflict, and one the officer edits in the app with no sync after. The caseload marks exactly
//! those three, its sync filter lists exactly them, the detail view says why a record is held,
//! and after a sync the edited record is no longer listed as waiting to be sent.

use mrm_e2e::PASSPHRASE;
use serde_json::json;

use crate::helpers::{
    artifacts, launch, open_incident, scene, shot, step, sync_app, unlock, wait_saved,
};
use crate::webdriver::{DriverProcess, Session};

/// The ids of the caseload's rows, sorted, once the table has loaded: `null` before.
const ROW_IDS: &str = "const t = document.querySelector('[data-testid=case-table]');
     if (!t || t.dataset.ready !== 'true') return null;
     return [...document.querySelectorAll('[data-testid=case-row]')].map(r => r.dataset.id).sort();";

/// Wait until the caseload shows exactly the records `ids`.
fn wait_rows(s: &Session, what: &str, ids: &[&String]) {
    let mut want: Vec<&String> = ids.to_vec();
    want.sort();
    s.wait_js(
        what,
        &format!("const ids = (() => {{ {ROW_IDS} }})(); return !!ids && JSON.stringify(ids) === JSON.stringify(arguments[0]);"),
        json!([want]),
    );
}

/// The sync badge of the row of `id`: (state, conflict, words, title); `None` without a badge.
fn badge(s: &Session, id: &str) -> Option<(String, String, String, String)> {
    let v = s.js(
        "const b = document.querySelector(`[data-testid=case-row][data-id=\"${arguments[0]}\"] [data-testid=row-sync]`);
         return b ? [b.dataset.state, b.dataset.conflict, b.innerText, b.title] : null;",
        json!([id]),
    );
    let v: Option<Vec<String>> = serde_json::from_value(v).unwrap();
    v.map(|v| (v[0].clone(), v[1].clone(), v[2].clone(), v[3].clone()))
}

#[test]
fn the_caseload_shows_and_filters_each_records_sync_state() {
    let Some(mut sc) = scene("sync states: an officer's laptop and a reviewer's, by the CLI")
    else {
        return;
    };
    let start = sc.start;
    let mut officer = sc.device("Awa D.", "Goma", "officer");
    let reviewer = sc.device("Reviewer R", "HQ", "reviewer");

    // Sent, one the officer will edit in the app, and one both laptops change apart: a
    // conflict once the officer has synced.
    let sent = officer.add_incident("Sent at Kiwanja", "killing");
    let unsent = officer.add_incident("Edited at Masisi", "killing");
    let conflict = officer.add_incident("Conflicted at Rutshuru", "maiming");
    officer.sync();
    reviewer.sync();
    let title = |t: &str| json!({ "title": t }).to_string();
    reviewer.mrm_ok(
        &["incident", "edit", &conflict, "--json", "-"],
        Some(&title("Conflicted at Rutshuru (reviewer)")),
    );
    reviewer.sync();
    officer.mrm_ok(
        &["incident", "edit", &conflict, "--json", "-"],
        Some(&title("Conflicted at Rutshuru (officer)")),
    );
    officer.sync();
    // Recorded while the laptop's clock ran three days ahead: the endpoint refuses it, and it
    // stays held here (tried again at every sync, refused until its stamps are past).
    officer.set_env("MRM_CLOCK_ERROR_SECS", &(3 * 86_400).to_string());
    let held = officer.add_incident("Held at Masisi", "abduction");
    let report = officer.sync();
    assert_eq!(report["held"][0]["doc_id"], held.as_str(), "{report}");
    officer.set_env("MRM_CLOCK_ERROR_SECS", "0");

    let driver = DriverProcess::start(
        &[("MRM_SYNC_INTERVAL_SECS", "0"), ("MRM_LOG", "warn")],
        &artifacts().join("webdriver-sync-states.log"),
    );
    let s = launch(&driver, &officer.dir);
    unlock(&s, PASSPHRASE);
    // An unlock syncs: once it is over, an edit in the app waits for the next one.
    s.wait_js(
        "the sync an unlock starts",
        "const b = document.querySelector('[data-testid=syncbar]');
         return b?.dataset.running === 'false' && !!document.querySelector('[data-testid=sync-report]');",
        json!([]),
    );
    step(start, "sync states: an edit in the app");
    open_incident(&s, "Edited at Masisi");
    s.click("[data-testid=detail-edit]");
    s.wait_js(
        "the form to load",
        "return document.querySelector('[data-testid=f-title]').value.length > 0",
        json!([]),
    );
    s.type_keys("[data-testid=f-narrative]", " Edited in the app.");
    wait_saved(&s);
    s.click("[data-testid=form-done]");
    s.wait("[data-testid=detail-sync][data-state=to_send]");
    step(start, "sync states: badges");
    s.click("[data-testid=nav-caseload]");
    s.click("[data-testid=filter-clear]");
    wait_rows(&s, "every record", &[&sent, &conflict, &held, &unsent]);
    assert_eq!(badge(&s, &sent), None, "a record simply sent has no badge");
    let (state, conflicted, words, why) = badge(&s, &unsent).expect("a badge on the unsent record");
    assert_eq!((state.as_str(), conflicted.as_str()), ("to_send", "false"));
    assert_eq!(words, "Not sent yet");
    assert!(why.contains("next sync"), "{why}");
    let (state, _, words, why) = badge(&s, &held).expect("a badge on the held record");
    assert_eq!((state.as_str(), words.as_str()), ("held", "Held"));
    assert!(
        why.contains("stamped more than a day"),
        "the reason as its title: {why}"
    );
    let (state, conflicted, words, _) = badge(&s, &conflict).expect("a badge on the conflict");
    assert_eq!(
        (state.as_str(), conflicted.as_str(), words.as_str()),
        ("synced", "true", "Conflict")
    );
    shot(&driver, "12-caseload-sync-states");

    // The filter lists exactly them, then each state alone.
    step(start, "sync states: the filter");
    s.set("[data-testid=filter-sync]", "unsynced");
    wait_rows(&s, "the records not synced", &[&conflict, &held, &unsent]);
    s.set("[data-testid=filter-sync]", "held");
    wait_rows(&s, "the held record", &[&held]);
    s.set("[data-testid=filter-sync]", "conflict");
    wait_rows(&s, "the record in conflict", &[&conflict]);
    s.set("[data-testid=filter-sync]", "to_send");
    wait_rows(&s, "the record to send", &[&unsent]);
    // In French, in plain words.
    s.set("[data-testid=language]", "fr");
    s.wait_js(
        "the badge in French",
        "return document.querySelector('[data-testid=row-sync]')?.innerText === 'Pas encore envoyé'",
        json!([]),
    );
    s.set("[data-testid=language]", "en");

    // The detail view says why a record is held.
    s.set("[data-testid=filter-sync]", "held");
    wait_rows(&s, "the held record", &[&held]);
    s.click("[data-testid=case-row] td:nth-child(2)");
    s.wait("[data-testid=detail-sync][data-state=held]");
    let said = s.text("[data-testid=detail-sync]");
    assert!(
        said.contains("Held on this laptop") && said.contains("stamped more than a day"),
        "{said}"
    );
    shot(&driver, "12b-detail-held");

    // A sync sends what waited: the filter no longer lists it, its badge is gone, and the held
    // record stays held.
    step(start, "sync states: after a sync");
    s.click("[data-testid=nav-caseload]");
    s.set("[data-testid=filter-sync]", "to_send");
    wait_rows(&s, "the record to send", &[&unsent]);
    sync_app(&s);
    wait_rows(&s, "nothing left to send", &[]);
    s.set("[data-testid=filter-sync]", "unsynced");
    wait_rows(&s, "the held record and the conflict", &[&conflict, &held]);
    s.set("[data-testid=filter-sync]", "");
    wait_rows(&s, "every record", &[&sent, &conflict, &held, &unsent]);
    assert_eq!(badge(&s, &unsent), None, "sent now");

    // Out of reach of the endpoint, the normal state in the field: the bar says so calmly, in
    // the user's words, with what waits; no error, and none of the network's words.
    step(start, "sync states: offline");
    open_incident(&s, "Edited at Masisi");
    s.click("[data-testid=detail-edit]");
    s.set("[data-testid=f-place]", "Masisi centre");
    wait_saved(&s);
    sc.server.kill();
    s.click("[data-testid=sync-now]");
    let bar = s.wait_js(
        "the bar to say offline",
        "const b = document.querySelector('[data-testid=syncbar]');
         return b.dataset.running === 'false'
             && document.querySelector('[data-testid=sync-online]').dataset.state === 'offline'
             ? b.innerText : null",
        json!([]),
    );
    let bar = bar.as_str().unwrap_or_default().to_string();
    assert!(bar.contains("your work is kept on this laptop"), "{bar}");
    for raw in [
        "sync failed",
        "tcp",
        "127.0.0.1",
        "connection refused",
        "os error",
    ] {
        assert!(!bar.to_lowercase().contains(raw), "{raw} in {bar}");
    }
    assert_eq!(s.attr("[data-testid=syncbar]", "data-error"), "");
    sc.server.restart();
    sync_app(&s);
    s.close();
}
