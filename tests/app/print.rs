//! One incident printed (the print view), in the real app over WebDriver: an officer's laptop
//! holding a record of two violations opens its detail, presses Print, and gets the record laid
//! out for paper: its title, each violation, the CONFIDENTIAL line, and none of the app around it
//! (no header, navigation or sync bar on paper). The print button calls `window.print()` once;
//! the system's print dialog is modal and would hold the session, so the test puts a counter in
//! its place. Back returns to the detail.

use mrm_e2e::PASSPHRASE;
use serde_json::json;

use crate::helpers::{artifacts, launch, open_incident, scene, shot, step, unlock};
use crate::webdriver::DriverProcess;

const TITLE: &str = "Printed at Kiwanja";

/// `[nothing of the app inside the print view, the app around it hidden on paper]`: the header,
/// its navigation, the sync bar and the print view's own buttons each match a rule of an
/// `@media print` block that sets `display: none` (WebDriver cannot switch to print media).
const NO_APP_ON_PAPER: &str = "
    const view = document.querySelector('[data-testid=print-view]');
    const inside = !view.querySelector('nav, header.top, [data-testid=syncbar], button');
    const hidden = [];
    for (const sheet of document.styleSheets) {
        let rules;
        try { rules = sheet.cssRules; } catch (e) { continue; }
        for (const r of rules) {
            if (r instanceof CSSMediaRule && r.media.mediaText.includes('print')) {
                for (const x of r.cssRules) if (x.style && x.style.display === 'none') hidden.push(x.selectorText);
            }
        }
    }
    const sel = hidden.join(', ');
    const app = [...document.querySelectorAll(
        'header.top, nav, [data-testid=syncbar], [data-testid=print-now], [data-testid=print-back]')];
    const offPaper = !!sel && app.length === 5 && app.every(e => !!e.closest(sel));
    return [inside, offPaper];";

#[test]
fn an_incident_prints_alone_on_paper() {
    let Some(sc) =
        scene("print: an officer's laptop with an incident of two violations, by the CLI")
    else {
        return;
    };
    let start = sc.start;
    let officer = sc.device("Awa D.", "Goma", "officer");
    let incident = json!({
        "title": TITLE, "occurred_on": "2026-10-01", "reported_on": "2026-10-02",
        "location": {"admin1": "North Kivu", "admin2": "Rutshuru", "place": "Kiwanja"},
        "narrative": "Fictional narrative of the printed record.",
        "sources": [{"kind": "eyewitness", "consent": true}],
        "violations": [
            {"type": "killing", "victims": {"boys": 1, "girls": 0, "sex_unknown": 0},
             "perpetrator": {"party": "Group Alpha", "category": "armed_group"}},
            {"type": "abduction", "victims": {"boys": 0, "girls": 1, "sex_unknown": 0},
             "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}]
    });
    officer.mrm_ok(
        &["incident", "add", "--json", "-"],
        Some(&incident.to_string()),
    );
    officer.sync();

    let driver = DriverProcess::start(
        &[("MRM_SYNC_INTERVAL_SECS", "0"), ("MRM_LOG", "warn")],
        &artifacts().join("webdriver-print.log"),
    );
    let s = launch(&driver, &officer.dir);
    unlock(&s, PASSPHRASE);
    // An unlock syncs; its end redraws the caseload, so it is waited for first.
    s.wait_js(
        "the sync an unlock starts",
        "const b = document.querySelector('[data-testid=syncbar]');
         return b?.dataset.running === 'false' && !!document.querySelector('[data-testid=sync-report]');",
        json!([]),
    );

    step(
        start,
        "print: the detail's Print button opens the print view",
    );
    open_incident(&s, TITLE);
    // The page is never reloaded (one-page app), so the stub stays until the app closes.
    s.js(
        "window.__printed = 0; window.print = () => { window.__printed += 1; };",
        json!([]),
    );
    s.click("[data-testid=detail-print]");
    s.wait("[data-testid=print-view]");
    assert_eq!(s.text("[data-testid=print-title]"), TITLE);
    let page = s.text("[data-testid=print-view]");
    for words in [
        TITLE,
        "MRM Field — incident record",
        "Killing",
        "Abduction",
        "North Kivu",
        "Fictional narrative of the printed record.",
    ] {
        assert!(
            page.contains(words),
            "the print view lacks {words:?}:\n{page}"
        );
    }
    let confidential = s.text("[data-testid=print-confidential]");
    assert!(
        confidential.starts_with("CONFIDENTIAL")
            && confidential.contains("information-sharing protocol"),
        "{confidential}"
    );
    assert!(
        page.contains(&confidential),
        "the CONFIDENTIAL line is not in the print view"
    );
    assert_eq!(
        s.js(
            "return [...document.querySelectorAll('[data-testid=print-view] [data-testid=print-block]')]
                 .filter(b => !b.parentElement.closest('[data-testid=print-block]')).length",
            json!([])
        ),
        json!(2),
        "one block per violation"
    );
    assert_eq!(
        s.js(NO_APP_ON_PAPER, json!([])),
        json!([true, true]),
        "[no app inside the print view, the app hidden on paper]"
    );
    shot(&driver, "14-print-view");

    step(
        start,
        "print: Print calls the system's print once, Back returns",
    );
    s.click("[data-testid=print-now]");
    assert_eq!(s.js("return window.__printed", json!([])), json!(1));
    s.click("[data-testid=print-back]");
    s.wait("[data-testid=detail-title]");
    assert_eq!(s.text("[data-testid=detail-title]"), TITLE);
    assert_eq!(s.js("return window.__printed", json!([])), json!(1));
    s.close();
}
