//! A reviewer's laptop matches a party name the mission's registry does not know (issue 19 §3),
//! in the real app over WebDriver: the Reports screen lists the unknown name, the reviewer picks
//! the registry's party, and the report counts the record under it at once.

use serde_json::json;

use crate::helpers::{artifacts, launch, scene, shot, step, sync_app, unlock};
use crate::webdriver::DriverProcess;
use mrm_e2e::PASSPHRASE;

/// The rows of the unverified table by perpetrator: "party (category)=violations".
const PERPETRATORS: &str = "[...document.querySelectorAll('[data-testid=perp-unverified-violations]')]
    .map(b => b.closest('tr').querySelector('th').textContent.split(' (')[0].trim() + '=' + b.textContent.trim())
    .sort().join(';')";

#[test]
fn a_reviewer_matches_an_unknown_party_name_in_the_app() {
    let Some(sc) = scene("parties: a registry, an officer's two records") else {
        return;
    };
    let start = sc.start;
    let server = &sc.server;
    server.set_config(
        &json!({"mission": "MONUSCO", "teams": ["Goma", "HQ"],
            "party_registry": [
                {"id": "alpha", "name": "Alpha Front", "category": "non_state_armed_group",
                 "aliases": ["Group Alpha"]},
                {"id": "bravo", "name": "Group Bravo", "category": "non_state_armed_group"}]})
        .to_string(),
    );
    let officer = sc.device("Awa D.", "Goma", "officer");
    let reviewer = sc.device("Reviewer R", "HQ", "reviewer");
    officer.sync();
    officer.add_incident("Known party at Kiwanja", "killing");
    let typed = json!({
        "title": "Unknown name at Masisi", "occurred_on": "2026-10-03", "reported_on": "2026-10-04",
        "location": {"admin1": "North Kivu", "admin2": "Masisi", "place": "Masisi"},
        "violations": [{"type": "killing", "victims": {"boys": 1, "girls": 0, "sex_unknown": 0},
                        "perpetrator": {"party": "Grp Alfa", "category": "armed_group"}}]
    });
    officer.mrm_ok(
        &["incident", "add", "--json", "-"],
        Some(&typed.to_string()),
    );
    officer.sync();
    reviewer.sync();

    let driver = DriverProcess::start(
        &[("MRM_SYNC_INTERVAL_SECS", "0"), ("MRM_LOG", "warn")],
        &artifacts().join("webdriver-parties.log"),
    );
    let s = launch(&driver, &reviewer.dir);
    unlock(&s, PASSPHRASE);
    step(start, "parties: the unknown name on the Reports screen");
    s.click("[data-testid=nav-reports]");
    s.set("[data-testid=report-mode]", "year");
    s.set("[data-testid=report-year]", "2026");
    s.wait("[data-testid=unmatched-party][data-name='Grp Alfa']");
    s.wait_js(
        "the report counts it apart",
        &format!("return ({PERPETRATORS}) === 'Alpha Front=1;Grp Alfa=1'"),
        json!([]),
    );
    s.js(
        "document.querySelectorAll('details').forEach(d => d.open = true)",
        json!([]),
    );
    shot(&driver, "13a-unmatched-party");
    s.set("[data-testid=match-party-select]", "alpha");
    s.click("[data-testid=match-party]");
    s.wait_js(
        "the match said",
        "return document.querySelector('[data-testid=match-result]')?.innerText.includes('matched to Alpha Front in 1 violation(s) of 1 incident(s)')",
        json!([]),
    );
    s.wait_js(
        "the report counts it under the registry's party",
        &format!("return ({PERPETRATORS}) === 'Alpha Front=2'"),
        json!([]),
    );
    assert_eq!(
        s.js(
            "return document.querySelectorAll('[data-testid=unmatched-party]').length",
            json!([])
        ),
        json!(0),
        "no unknown name left"
    );
    shot(&driver, "13b-party-matched");

    // A record the officer sends for review while the app is open is announced at the sync
    // that brings it, beyond the header's count, and opens the reviewer's queue.
    step(start, "parties: a record newly waiting for review");
    s.wait("[data-testid=nav-queue][data-count='0']");
    let officer_ids: serde_json::Value =
        serde_json::from_str(&officer.mrm_ok(&["incident", "list", "--json"], None)).unwrap();
    let first = officer_ids["items"][0]["id"].as_str().unwrap().to_string();
    officer.mrm_ok(&["incident", "submit", &first], None);
    officer.sync();
    sync_app(&s);
    s.wait("[data-testid=queue-news][data-n='1']");
    assert!(s
        .text("[data-testid=queue-news]")
        .contains("1 record(s) newly waiting for your review"));
    s.click("[data-testid=queue-news-open]");
    s.wait("[data-testid=case-counts][data-total='1']");
    assert!(
        s.js(
            "return !document.querySelector('[data-testid=queue-news]')",
            json!([])
        ) == json!(true)
    );
    s.click("[data-testid=filter-clear]");

    // The caseload as a file: every incident its filters match, one row per violation.
    step(start, "parties: the caseload exported");
    s.wait("[data-testid=case-counts][data-total='2']");
    s.click("[data-testid=export-csv]");
    let said = s.wait_js(
        "the saved file",
        "const e = document.querySelector('[data-testid=exported-csv]');
         return e && e.innerText.includes('.csv') ? e.innerText : null",
        json!([]),
    );
    let said = said.as_str().unwrap();
    let path = &said[said.find('/').unwrap()..said.find(".csv").unwrap() + 4];
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let _ = std::fs::remove_file(path);
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "a byte-order mark"
    );
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(
        text.lines().count(),
        3,
        "a header and two violations: {text}"
    );
    assert!(text.contains("Unknown name at Masisi") && text.contains("Grp Alfa"));

    // The same rows as a workbook.
    s.click("[data-testid=export-xlsx]");
    let said = s.wait_js(
        "the saved workbook",
        "const e = document.querySelector('[data-testid=exported-csv]');
         return e && e.innerText.includes('.xlsx') ? e.innerText : null",
        json!([]),
    );
    let said = said.as_str().unwrap();
    let path = &said[said.find('/').unwrap()..said.find(".xlsx").unwrap() + 5];
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let _ = std::fs::remove_file(path);
    assert!(bytes.starts_with(b"PK"), "an XLSX workbook (a zip)");
    s.close();
}
