//! The app in Arabic, right to left: an officer's laptop holding two incidents switches to
//! Arabic; the page says `lang="ar"` and `dir="rtl"`, its header and tables mirror, and each main
//! screen (caseload, an incident's detail, its form, patrols, reports, dashboard) is screenshot in
//! artifacts/e2e/ and shows no English word beyond the records' own data and a few codes.

use mrm_e2e::PASSPHRASE;
use serde_json::json;

use crate::helpers::{artifacts, launch, open_incident, scene, shot, step, unlock};
use crate::webdriver::{DriverProcess, Session};

/// Latin words an Arabic screen may show: the product's name, file formats, the GHN's and the
/// CTFMR's acronyms, key caps (Arabic keyboards print them in Latin letters) and the date format
/// people type.
const ALLOWED: &[&str] = &[
    "MRM", "Field", "GHN", "CTFMR", "CSV", "XLSX", "PDF", "ID", "USB", "Ctrl", "Alt", "Esc",
    "Enter", "Tab", "Shift", "Cmd", "Mac", "YYYY",
];

/// The page's visible text, without the records' change history: its entries are notes the store
/// wrote in English when each change was made, part of the record rather than of the UI.
const PAGE_TEXT: &str = "const h = document.querySelector('[data-testid=history]');
     if (h) h.style.display = 'none';
     const text = document.body.innerText;
     if (h) h.style.display = '';
     return text;";

/// The words of 3 or more Latin letters left in `text` once the records' own data is taken out,
/// bar the allowed codes; sorted, each once.
fn english_left(text: &str, data: &[String]) -> Vec<String> {
    let mut text = text.to_string();
    // Longest first, so that a narrative goes whole before the title it quotes.
    let mut data: Vec<&String> = data.iter().collect();
    data.sort_by_key(|d| std::cmp::Reverse(d.len()));
    for d in data {
        text = text.replace(d.as_str(), " ");
    }
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphabetic() {
            word.push(c);
            continue;
        }
        if word.len() >= 3 && !ALLOWED.contains(&word.as_str()) {
            words.push(word.clone());
        }
        word.clear();
    }
    words.sort();
    words.dedup();
    words
}

/// Screenshot the screen as `name` and check it is Arabic through and through.
fn check_screen(s: &Session, driver: &DriverProcess, name: &str, data: &[String]) {
    assert_eq!(
        s.js(
            "return [document.documentElement.lang, document.documentElement.dir]",
            json!([])
        ),
        json!(["ar", "rtl"]),
        "{name}: the page is not Arabic, right to left"
    );
    shot(driver, name);
    let png = artifacts().join(format!("{name}.png"));
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 20_000,
        "{} is {size} bytes: a blank screen?",
        png.display()
    );
    let text = s
        .js(PAGE_TEXT, json!([]))
        .as_str()
        .unwrap_or_default()
        .to_string();
    let left = english_left(&text, data);
    assert!(
        left.is_empty(),
        "{name}: English left on the Arabic screen: {left:?}\nThe page shows:\n{text}"
    );
}

/// Wait until the caseload lists `n` rows, loaded.
fn wait_rows(s: &Session, n: usize) {
    s.wait_js(
        "the caseload's rows",
        "const t = document.querySelector('[data-testid=case-table]');
         return !!t && t.dataset.ready === 'true'
             && document.querySelectorAll('[data-testid=case-row]').length === arguments[0];",
        json!([n]),
    );
}

#[test]
fn the_app_reads_right_to_left_in_arabic() {
    let Some(sc) = scene("arabic: an officer's laptop with two incidents, by the CLI") else {
        return;
    };
    let start = sc.start;
    let officer = sc.device("Awa D.", "Goma", "officer");
    let titles = ["Killing at Kiwanja", "Abduction at Masisi"];
    let killing = officer.add_incident(titles[0], "killing");
    let abduction = officer.add_incident(titles[1], "abduction");
    officer.sync();

    // What the records hold (and the picker's language names, each in its own language): the
    // only Latin words an Arabic screen may show besides the allowed codes. Device::add_incident
    // writes these places, party and narratives.
    let mut data: Vec<String> = [
        "North Kivu",
        "Rutshuru",
        "Kiwanja",
        "Group Alpha",
        "Awa D.",
        "Goma",
        "MONUSCO",
        "English",
        "Français",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for t in titles {
        data.push(format!("Fictional narrative of {t}."));
        data.push(t.to_string());
    }
    data.push(killing);
    data.push(abduction);

    let driver = DriverProcess::start(
        &[("MRM_SYNC_INTERVAL_SECS", "0"), ("MRM_LOG", "warn")],
        &artifacts().join("webdriver-arabic.log"),
    );
    let s = launch(&driver, &officer.dir);
    unlock(&s, PASSPHRASE);
    // An unlock syncs; its report stays on the sync bar, so it is checked too.
    s.wait_js(
        "the sync an unlock starts",
        "const b = document.querySelector('[data-testid=syncbar]');
         return b?.dataset.running === 'false' && !!document.querySelector('[data-testid=sync-report]');",
        json!([]),
    );

    step(start, "arabic: switch the language");
    s.set("[data-testid=language]", "ar");
    s.wait_js(
        "Arabic labels",
        "return document.querySelector('[data-testid=nav-dashboard]')?.innerText === arguments[0]",
        json!(["لوحة المعلومات"]),
    );
    assert_eq!(
        s.js("return document.documentElement.dir", json!([])),
        json!("rtl")
    );
    assert_eq!(
        s.js("return document.documentElement.lang", json!([])),
        json!("ar")
    );

    step(start, "arabic: caseload");
    s.click("[data-testid=nav-caseload]");
    wait_rows(&s, 2);
    // Mirrored: the brand sits right of the navigation, the first column right of the second.
    assert_eq!(
        s.js(
            "const b = document.querySelector('.top .brand').getBoundingClientRect();
             const n = document.querySelector('.top nav').getBoundingClientRect();
             const th = [...document.querySelectorAll('[data-testid=case-table] th')]
                 .map(e => e.getBoundingClientRect().left);
             return [b.left > n.left, th[0] > th[1]];",
            json!([])
        ),
        json!([true, true]),
        "the header and the caseload's columns run right to left"
    );
    check_screen(&s, &driver, "ar-01-caseload", &data);

    step(start, "arabic: an incident's detail");
    // Every incident is at Kiwanja: the word only one of them holds finds it alone.
    open_incident(&s, "Killing");
    check_screen(&s, &driver, "ar-02-detail", &data);

    step(start, "arabic: the incident form");
    s.click("[data-testid=detail-edit]");
    s.wait("[data-testid=incident-form]");
    s.wait_js(
        "the form to load",
        "return document.querySelector('[data-testid=f-title]').value.length > 0",
        json!([]),
    );
    check_screen(&s, &driver, "ar-03-form", &data);

    step(start, "arabic: patrols");
    s.click("[data-testid=nav-patrols]");
    s.wait("[data-testid=patrols]");
    check_screen(&s, &driver, "ar-04-patrols", &data);

    step(start, "arabic: reports");
    s.click("[data-testid=nav-reports]");
    s.wait("[data-testid=report-heading]");
    check_screen(&s, &driver, "ar-05-reports", &data);

    step(start, "arabic: dashboard");
    s.click("[data-testid=nav-dashboard]");
    s.wait("[data-testid=dash-headline]");
    check_screen(&s, &driver, "ar-06-dashboard", &data);

    // Back to English, left to right, as the other scenarios expect a fresh store to start.
    s.set("[data-testid=language]", "en");
    s.wait_js(
        "English labels",
        "return document.querySelector('[data-testid=nav-dashboard]')?.innerText === 'Dashboard'
             && document.documentElement.dir === 'ltr' && document.documentElement.lang === 'en'",
        json!([]),
    );
    s.close();
}
