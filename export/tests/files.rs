//! The files an adviser sends: the workbook read back by a spreadsheet reader, the factsheet
//! rendered to an image and to text by poppler.

use std::io::Cursor;
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use mrm_crdt::activity::ActivityKind;
use mrm_crdt::crypto::Passphrase;
use mrm_crdt::input::{EventInput, IncidentPatch};
use mrm_crdt::model::VerificationStatus;
use mrm_crdt::report::Period;
use mrm_export::factsheet::{self, Heading};
use mrm_export::{xlsx, Lang};
use mrm_store::Store;
use serde_json::json;

const HOSTILE: &str = "=HYPERLINK(\"http://example.invalid\",\"click\")";

/// A store with a verified killing (titled like a formula), a reported attack on a school in
/// Béni, and a patrol, all in 2025.
fn store(dir: &std::path::Path) -> Store {
    let mut s = Store::init(
        dir,
        &Passphrase::new("export test passphrase"),
        "MONUSCO",
        "Rose R.",
        "Goma",
    )
    .unwrap();
    for (title, kind, boys, admin1) in [
        (HOSTILE, "killing", 2, "North Kivu"),
        ("École de Béni", "attack_school", 0, "Béni"),
    ] {
        let patch: IncidentPatch = serde_json::from_value(json!({
            "title": title, "occurred_on": "2025-02-10", "reported_on": "2025-02-11",
            "location": {"admin1": admin1, "place": "centre"},
            "violations": [{"type": kind, "victims": {"boys": boys, "girls": 0, "sex_unknown": 0},
                            "perpetrator": {"party": "Groupe armé « Alpha »", "category": "armed_group"}}]
        }))
        .unwrap();
        let id = s.add_incident(&patch).unwrap();
        if kind == "killing" {
            let vid = s.incident(&id).unwrap().violations[0].id.clone();
            let event = EventInput {
                status: VerificationStatus::Verified,
                at: Some("2025-03-01T10:00:00+01:00".into()),
                by: None,
                note: String::new(),
                source_ids: Vec::new(),
                level: None,
                sources: None,
            };
            s.verify(&id, &vid, &event).unwrap();
        }
    }
    let patrol = serde_json::from_value(json!({"date": "2025-02-09", "route": ["Béni"]})).unwrap();
    s.add_patrol(&patrol).unwrap();
    // The section's work: 37 children released in 2025 (one release in 2024 left out), one
    // training of 22 people, one engagement.
    for (date, boys) in [("2025-06-02", 31), ("2024-12-31", 500)] {
        s.add_activity(
            ActivityKind::Release,
            &json!({"date": date, "place": "Bunia", "boys": boys, "girls": 6, "party": "Groupe armé « Alpha »",
                    "instrument": "unilateral_declaration"}),
        )
        .unwrap();
    }
    s.add_activity(
        ActivityKind::Training,
        &json!({"date": "2025-07-01", "place": "Goma", "audience": "police",
                "participants": {"male": 15, "female": 7}, "topic": "Child protection",
                "training_of_trainers": true}),
    )
    .unwrap();
    s.add_activity(
        ActivityKind::Engagement,
        &json!({"date": "2025-08-01", "party": "Groupe armé « Alpha »", "kind": "negotiation",
                "subject": "Action plan"}),
    )
    .unwrap();
    s
}

fn is_text(d: &Data, s: &str) -> bool {
    *d == Data::String(s.into())
}

#[test]
fn the_workbook_opens_in_a_spreadsheet_reader_with_every_table_and_no_formula() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let p = Period::year(2025).unwrap();
    let report = s.report("annual", &p).unwrap();
    let bytes = xlsx::workbook(&report, &s.report_violations(&p).unwrap(), Lang::En).unwrap();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let names = book.sheet_names();
    for sheet in [
        "Summary",
        "Verified",
        "Late verification",
        "Unverified",
        "Not verified",
        "By perpetrator",
        "By area",
        "Quarters",
        "Flagged",
        "Violations",
    ] {
        assert!(
            names.iter().any(|n| n == sheet),
            "no sheet {sheet}: {names:?}"
        );
    }
    let summary = book.worksheet_range("Summary").unwrap();
    let field = |k: &str| {
        summary
            .rows()
            .find(|r| is_text(&r[0], k))
            .map(|r| r[1].clone())
    };
    assert_eq!(field("children_released"), Some(Data::Float(37.0)));
    assert_eq!(
        field("released_by_unilateral_declaration"),
        Some(Data::Float(37.0))
    );
    assert_eq!(field("people_trained"), Some(Data::Float(22.0)));
    assert_eq!(field("negotiations"), Some(Data::Float(1.0)));
    let verified = book.worksheet_range("Verified").unwrap();
    let killing = verified.rows().find(|r| is_text(&r[0], "killing")).unwrap();
    assert_eq!(killing[2], Data::Float(1.0), "one violation");
    assert_eq!(killing[4], Data::Float(2.0), "two boys");
    let unverified = book.worksheet_range("Unverified").unwrap();
    let attack = unverified
        .rows()
        .find(|r| is_text(&r[0], "attack_school"))
        .unwrap();
    assert!(is_text(&attack[1], "incidents"));
    assert_eq!(attack[3], Data::Float(1.0));
    assert_eq!(
        attack[4],
        Data::Empty,
        "attacks are counted in incidents, not children"
    );
    let violations = book.worksheet_range("Violations").unwrap();
    let rows: Vec<&[Data]> = violations.rows().skip(1).collect();
    assert_eq!(rows.len(), 2);
    // The formula-like title is text, exactly as typed; accents exact.
    assert!(rows
        .iter()
        .any(|r| is_text(&r[2], HOSTILE) && is_text(&r[0], "verified")));
    assert!(rows
        .iter()
        .any(|r| is_text(&r[2], "École de Béni") && is_text(&r[12], "Groupe armé « Alpha »")));
    let formulas = book.worksheet_formula("Violations").unwrap();
    assert!(
        formulas.cells().all(|(_, _, f)| f.is_empty()),
        "no cell is a formula"
    );
    let summary = book.worksheet_range("Summary").unwrap();
    assert!(summary
        .rows()
        .any(|r| is_text(&r[0], "patrols") && r[1] == Data::Float(1.0)));
}

fn poppler(cmd: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} (poppler-utils; scripts/bootstrap.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The share of a binary PGM's pixels darker than light grey.
fn dark_share(pgm: &[u8]) -> (usize, f64) {
    // "P5\n<w> <h>\n<max>\n", then one byte per pixel.
    let mut fields = 0;
    let mut start = pgm.len();
    for (i, b) in pgm.iter().enumerate() {
        if b.is_ascii_whitespace() {
            fields += 1;
            if fields == 4 {
                start = i + 1;
                break;
            }
        }
    }
    let pixels = &pgm[start..];
    let dark = pixels.iter().filter(|&&p| p < 200).count();
    (pixels.len(), dark as f64 / pixels.len().max(1) as f64)
}

#[test]
fn the_factsheet_renders_to_a_page_with_its_figures_in_english_and_french() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let report = s.report("annual", &Period::year(2025).unwrap()).unwrap();
    let work = report.activities.clone().expect("the year's activities");
    assert_eq!(
        (work.releases, work.children_released(), work.released_girls),
        (1, 37, 6)
    );
    assert_eq!(work.released_by_instrument["unilateral_declaration"], 37);
    assert_eq!(
        (
            work.trainings,
            work.people_trained(),
            work.trainings_of_trainers
        ),
        (1, 22, 1)
    );
    assert_eq!(work.trained_by_audience["police"], 22);
    assert_eq!((work.engagements, work.negotiations), (1, 1));
    for (lang, words) in [
        (
            Lang::En,
            [
                "MONUSCO",
                "Killing",
                "patrols carried out",
                "children released",
                "people trained",
            ],
        ),
        (
            Lang::Fr,
            [
                "MONUSCO",
                "Meurtre",
                "Attaques contre des écoles",
                "enfants libérés",
                "personnes formées",
            ],
        ),
    ] {
        let heading = Heading {
            mission: "MONUSCO".into(),
            period: "2025".into(),
            made_on: "2026-01-05".into(),
        };
        let pdf = dir.path().join("factsheet.pdf");
        std::fs::write(&pdf, factsheet::pdf(&report, &heading, lang)).unwrap();
        // The words are on the page (poppler reads them through the base fonts' encoding).
        let text = poppler("pdftotext", &[pdf.to_str().unwrap(), "-"]).stdout;
        let text = String::from_utf8(text).unwrap();
        for w in words {
            assert!(text.contains(w), "{w:?} is not on the page: {text}");
        }
        // The year's releases (31 boys and 6 girls; 2024's left out) and trainings (22 people).
        assert!(text.contains("37\n") || text.contains("37 "), "{text}");
        assert!(
            !text.contains("506"),
            "a release of 2024 counted in 2025: {text}"
        );
        assert!(text.contains("22"), "{text}");
        // Rendered, the page is not blank: text and bars cover a part of it.
        let base = dir.path().join("page");
        poppler(
            "pdftoppm",
            &[
                "-r",
                "30",
                "-gray",
                "-singlefile",
                pdf.to_str().unwrap(),
                base.to_str().unwrap(),
            ],
        );
        let (pixels, dark) = dark_share(&std::fs::read(dir.path().join("page.pgm")).unwrap());
        assert!(pixels > 10_000, "a page was rendered");
        assert!(dark > 0.01, "the page is nearly blank: {dark}");
    }
}
