//! A one-page printable factsheet of a report (A4 PDF), in the spirit of DPO's mission
//! factsheets: the headline figures, grave violations by type (verified against reported) as a
//! bar chart, children by sex, and the counting rules in a footnote.
//!
//! Text is set in the PDF base fonts (Helvetica), which every reader has, encoded in
//! WinAnsiEncoding: English and French print exactly; a character outside it (Arabic script,
//! say) prints as `?` until the factsheet embeds a font.

use mrm_crdt::model::ViolationType;
use mrm_crdt::report::{Figures, Report, Section};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

use crate::Lang;

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// What the factsheet needs beside the report.
#[derive(Debug, Clone)]
pub struct Heading {
    /// The mission's name or code (`MONUSCO`).
    pub mission: String,
    /// The period in words (`2025`, `1 January – 31 March 2025`).
    pub period: String,
    /// Today, as printed in the footnote (YYYY-MM-DD).
    pub made_on: String,
}

/// `s` in WinAnsiEncoding (Windows-1252), the base fonts' encoding: ASCII and Latin-1 as
/// themselves, the rest of Windows-1252 (œ, Œ, ‰, ™, quotes, dashes...) at its code points,
/// anything else `?`.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => c as u8,
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8a,
            '‹' => 0x8b,
            'Œ' => 0x8c,
            'Ž' => 0x8e,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9a,
            '›' => 0x9b,
            'œ' => 0x9c,
            'ž' => 0x9e,
            'Ÿ' => 0x9f,
            // Spaces French puts before ; : ! ? and inside « »: a plain non-breaking space.
            '\u{202f}' | '\u{2009}' => 0xa0,
            _ => b'?',
        })
        .collect()
}

/// Lines of at most about `width` points of `size`-point Helvetica (its average letter is about
/// half its size wide).
fn wrap(s: &str, width: f32, size: f32) -> Vec<String> {
    let max = (width / (size * 0.5)).max(10.0) as usize;
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

struct Page {
    c: Content,
}

impl Page {
    fn text(&mut self, font: Name, size: f32, x: f32, y: f32, s: &str) {
        let bytes = win_ansi(s);
        self.c
            .begin_text()
            .set_font(font, size)
            .next_line(x, y)
            .show(Str(&bytes))
            .end_text();
    }

    fn color(&mut self, rgb: (f32, f32, f32)) {
        self.c.set_fill_rgb(rgb.0, rgb.1, rgb.2);
    }

    fn bar(&mut self, x: f32, y: f32, w: f32, h: f32, rgb: (f32, f32, f32)) {
        self.color(rgb);
        self.c.rect(x, y, w.max(0.5), h).fill_nonzero();
        self.color(INK);
    }
}

const INK: (f32, f32, f32) = (0.1, 0.1, 0.12);
const BLUE: (f32, f32, f32) = (0.11, 0.37, 0.66);
const GREY: (f32, f32, f32) = (0.7, 0.72, 0.76);
const GREEN: (f32, f32, f32) = (0.18, 0.55, 0.34);

/// Verified and late verified together: every verification counted in the period.
fn verified(r: &Report) -> Vec<(ViolationType, i64, i64)> {
    let all = |k: ViolationType, sections: &[Section]| -> i64 {
        sections
            .iter()
            .map(|s| {
                r.table(*s)
                    .by_type
                    .iter()
                    .find(|t| t.kind == k)
                    .map(|t| t.figures.violations)
                    .unwrap_or(0)
            })
            .sum()
    };
    ViolationType::ALL
        .iter()
        .map(|&k| {
            (
                k,
                all(k, &[Section::Verified, Section::LateVerified]),
                all(k, &Section::ALL),
            )
        })
        .collect()
}

fn children(f: &Figures) -> [i64; 4] {
    f.children
        .as_ref()
        .map(|c| [c.boys, c.girls, c.sex_unknown, c.total])
        .unwrap_or_default()
}

/// The factsheet of `store`'s caseload over `period` (a calendar year when `year` is given, as
/// the annual report), headed with the mission's name, as PDF bytes.
///
/// Errors: [`crate::Error::Store`] when the store cannot be read.
pub fn of_store(
    store: &mrm_store::Store,
    year: Option<i32>,
    period: &mrm_crdt::report::Period,
    lang: Lang,
) -> crate::Result<Vec<u8>> {
    let kind = if year.is_some() { "annual" } else { "ghn" };
    let mut report = store.report(kind, period)?;
    if report.patrols.is_none() {
        report.patrols = Some(store.patrols_in(period)?);
    }
    let mission = store
        .mission_config()?
        .map(|c| c.mission)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| store.device().mission.clone());
    let heading = Heading {
        mission,
        period: match year {
            Some(y) => y.to_string(),
            None => format!("{} – {}", period.from, period.to),
        },
        made_on: chrono::Local::now().date_naive().to_string(),
    };
    Ok(pdf(&report, &heading, lang))
}

/// The factsheet of `report` as PDF bytes (one A4 page).
pub fn pdf(report: &Report, heading: &Heading, lang: Lang) -> Vec<u8> {
    let mut p = Page { c: Content::new() };
    let width = PAGE_W - 2.0 * MARGIN;
    let mut y = PAGE_H - MARGIN - 10.0;
    p.color(INK);
    // A long mission name wraps rather than runs off the page.
    let title = format!("{} — {}", heading.mission, lang.t("title"));
    for (i, line) in wrap(&title, width, 20.0 * 1.1).iter().take(3).enumerate() {
        if i > 0 {
            y -= 24.0;
        }
        p.text(BOLD, 20.0, MARGIN, y, line);
    }
    y -= 22.0;
    p.text(
        REGULAR,
        12.0,
        MARGIN,
        y,
        &format!("{}, {}", lang.t("grave"), heading.period),
    );

    // The headline figures.
    let [vb, vg, vu, vt] = {
        let a = children(&report.verified.total);
        let b = children(&report.late_verified.total);
        [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
    };
    let verified_total = report.verified.total.violations + report.late_verified.total.violations;
    let headline = [
        (verified_total.to_string(), lang.t("verified_total")),
        (vt.to_string(), lang.t("children_total")),
        (
            report
                .patrols
                .map(|n| n.to_string())
                .unwrap_or_else(|| "–".into()),
            lang.t("patrols"),
        ),
        (
            report.unverified.total.violations.to_string(),
            lang.t("unverified_total"),
        ),
    ];
    y -= 52.0;
    let cell = width / headline.len() as f32;
    for (i, (n, label)) in headline.iter().enumerate() {
        let x = MARGIN + cell * i as f32;
        p.color(BLUE);
        p.text(BOLD, 26.0, x, y, n);
        p.color(INK);
        for (j, line) in wrap(label, cell - 10.0, 8.5).iter().enumerate() {
            p.text(REGULAR, 8.5, x, y - 14.0 - 10.0 * j as f32, line);
        }
    }

    // Violations by type: verified against reported.
    y -= 70.0;
    p.text(BOLD, 12.0, MARGIN, y, lang.t("by_type"));
    y -= 8.0;
    let rows = verified(report);
    let max = rows.iter().map(|r| r.2).max().unwrap_or(0).max(1) as f32;
    let (label_w, bar_x) = (175.0, MARGIN + 180.0);
    let bar_w = width - label_w - 40.0;
    for (k, ver, all) in &rows {
        y -= 24.0;
        p.text(REGULAR, 9.0, MARGIN, y + 3.0, lang.violation(*k));
        p.bar(bar_x, y + 7.0, bar_w * (*ver as f32) / max, 7.0, BLUE);
        p.text(
            REGULAR,
            7.5,
            bar_x + bar_w * (*ver as f32) / max + 3.0,
            y + 7.5,
            &ver.to_string(),
        );
        p.bar(bar_x, y - 1.0, bar_w * (*all as f32) / max, 7.0, GREY);
        p.text(
            REGULAR,
            7.5,
            bar_x + bar_w * (*all as f32) / max + 3.0,
            y - 0.5,
            &all.to_string(),
        );
    }
    y -= 18.0;
    p.bar(bar_x, y, 9.0, 7.0, BLUE);
    p.text(REGULAR, 8.0, bar_x + 12.0, y, lang.t("verified"));
    p.bar(bar_x + 90.0, y, 9.0, 7.0, GREY);
    p.text(REGULAR, 8.0, bar_x + 102.0, y, lang.t("reported"));

    // Children by sex.
    y -= 36.0;
    p.text(BOLD, 12.0, MARGIN, y, lang.t("by_sex"));
    let kids = [
        (lang.t("boys"), vb),
        (lang.t("girls"), vg),
        (lang.t("unknown"), vu),
    ];
    let max = kids.iter().map(|k| k.1).max().unwrap_or(0).max(1) as f32;
    for (label, n) in kids {
        y -= 22.0;
        p.text(REGULAR, 9.0, MARGIN, y + 2.0, label);
        p.bar(bar_x, y, bar_w * n as f32 / max, 10.0, GREEN);
        p.text(
            REGULAR,
            8.0,
            bar_x + bar_w * n as f32 / max + 3.0,
            y + 2.0,
            &n.to_string(),
        );
    }
    y -= 26.0;
    p.text(
        REGULAR,
        9.5,
        MARGIN,
        y,
        &format!(
            "{} {}",
            report.multiple_violations.children.total,
            lang.t("multiple")
        ),
    );
    if !report.flagged.is_empty() {
        y -= 14.0;
        p.text(
            REGULAR,
            9.5,
            MARGIN,
            y,
            &format!("{} {}", report.flagged.len(), lang.t("flagged")),
        );
    }

    // The section's work beside the violations (releases, trainings, engagements).
    if let Some(a) = &report.activities {
        y -= 34.0;
        p.text(BOLD, 12.0, MARGIN, y, lang.t("work"));
        let work = [
            (
                a.children_released(),
                lang.t("released"),
                format!(
                    "{} {} · {} {}, {} {}, {} {}",
                    a.releases,
                    lang.t("releases"),
                    a.released_boys,
                    lang.t("boys").to_lowercase(),
                    a.released_girls,
                    lang.t("girls").to_lowercase(),
                    a.released_sex_unknown,
                    lang.t("unknown").to_lowercase()
                ),
            ),
            (
                a.people_trained(),
                lang.t("trained"),
                format!(
                    "{} {} · {} {}",
                    a.trainings,
                    lang.t("trainings"),
                    a.trainings_of_trainers,
                    lang.t("of_trainers")
                ),
            ),
            (
                a.engagements,
                lang.t("engagements"),
                format!(
                    "{} {} · {} {}",
                    a.advocacy,
                    lang.t("advocacy"),
                    a.negotiations,
                    lang.t("negotiation")
                ),
            ),
        ];
        y -= 30.0;
        let cell = width / work.len() as f32;
        for (i, (n, label, detail)) in work.iter().enumerate() {
            let x = MARGIN + cell * i as f32;
            p.color(GREEN);
            p.text(BOLD, 20.0, x, y, &n.to_string());
            p.color(INK);
            p.text(REGULAR, 8.5, x, y - 12.0, label);
            for (j, line) in wrap(detail, cell - 10.0, 7.5).iter().take(2).enumerate() {
                p.text(REGULAR, 7.5, x, y - 22.0 - 9.0 * j as f32, line);
            }
        }
    }

    // The footnote: how it was counted, and when it was made.
    let mut fy = MARGIN + 40.0;
    p.color((0.35, 0.37, 0.4));
    for line in wrap(lang.t("rules"), width, 7.5) {
        p.text(REGULAR, 7.5, MARGIN, fy, &line);
        fy -= 9.5;
    }
    p.text(
        REGULAR,
        7.5,
        MARGIN,
        fy - 4.0,
        &format!("{} {}.", lang.t("made"), heading.made_on),
    );

    let (catalog, tree, page, regular, bold, content) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
        Ref::new(6),
    );
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut pg = pdf.page(page);
    pg.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
        .parent(tree)
        .contents(content);
    pg.resources()
        .fonts()
        .pair(REGULAR, regular)
        .pair(BOLD, bold);
    pg.finish();
    for (id, name) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(id)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.stream(content, &p.c.finish());
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::{win_ansi, wrap};

    #[test]
    fn french_prints_in_the_base_fonts_and_other_scripts_do_not_break_the_page() {
        assert_eq!(
            win_ansi("Enlèvement – élève"),
            b"Enl\xe8vement \x96 \xe9l\xe8ve"
        );
        assert_eq!(
            win_ansi("Œuvre sœur ‰ ™ Š"),
            b"\x8cuvre s\x9cur \x89 \x99 \x8a"
        );
        assert_eq!(win_ansi("طفل"), b"???");
    }

    #[test]
    fn lines_wrap_at_words() {
        let lines = wrap("one two three four five six", 40.0, 10.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), "one two three four five six");
    }
}
