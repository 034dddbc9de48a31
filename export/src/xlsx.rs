//! A report as an XLSX workbook: a summary, one sheet per table (by type, by perpetrator, by
//! area), the quarters of a year, the flagged records, and the violations counted.

use mrm_crdt::report::{Figures, Report, Section};
use mrm_store::ReportViolation;
use rust_xlsxwriter::{Format, Workbook, Worksheet};

use crate::{Lang, Result};

/// Excel's longest cell text.
const MAX_CELL: usize = 32_767;

/// Text as a cell holds it: always a string (never a formula, whatever it starts with), cut
/// to Excel's limit.
fn text(ws: &mut Worksheet, row: u32, col: u16, s: &str) -> Result<()> {
    let s: String = s.chars().take(MAX_CELL).collect();
    ws.write_string(row, col, s)?;
    Ok(())
}

fn header(ws: &mut Worksheet, cols: &[&str]) -> Result<()> {
    let bold = Format::new().set_bold();
    for (i, c) in cols.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *c, &bold)?;
        ws.set_column_width(i as u16, (c.len() as f64 + 4.0).max(12.0))?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// Violations, incidents, boys, girls, sex unknown, children from column `col` of `row`; the
/// children's cells are left empty for the types counted in incidents.
fn figures(ws: &mut Worksheet, row: u32, col: u16, f: &Figures) -> Result<()> {
    ws.write_number(row, col, f.violations as f64)?;
    ws.write_number(row, col + 1, f.incidents as f64)?;
    if let Some(c) = &f.children {
        for (i, n) in [c.boys, c.girls, c.sex_unknown, c.total]
            .into_iter()
            .enumerate()
        {
            ws.write_number(row, col + 2 + i as u16, n as f64)?;
        }
    }
    Ok(())
}

const FIGURES: [&str; 6] = [
    "violations",
    "incidents",
    "boys",
    "girls",
    "sex_unknown",
    "children",
];

/// The workbook of `report`, with `violations` (from `Store::report_violations` for the same
/// period) as its last sheet. Types and statuses are written in the vocabulary's terms (as in
/// the CSV and the JSON), table names in `lang`.
///
/// Errors: [`crate::Error::Xlsx`] when the writer refuses the workbook.
pub fn workbook(report: &Report, violations: &[ReportViolation], lang: Lang) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();

    let ws = wb.add_worksheet().set_name("Summary")?;
    let mut rows: Vec<(String, String)> = [
        ("report", report.kind.clone()),
        ("from", report.from.to_string()),
        ("to", report.to.to_string()),
        (
            "patrols",
            report.patrols.map(|p| p.to_string()).unwrap_or_default(),
        ),
        (
            "children_in_two_or_more_verified_violations",
            report.multiple_violations.children.total.to_string(),
        ),
        ("flagged_records", report.flagged.len().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(a) = &report.activities {
        let figures = [
            ("releases", a.releases.to_string()),
            ("children_released", a.children_released().to_string()),
            ("released_boys", a.released_boys.to_string()),
            ("released_girls", a.released_girls.to_string()),
            ("released_sex_unknown", a.released_sex_unknown.to_string()),
            ("trainings", a.trainings.to_string()),
            ("people_trained", a.people_trained().to_string()),
            ("trained_male", a.trained_male.to_string()),
            ("trained_female", a.trained_female.to_string()),
            ("trained_unknown", a.trained_unknown.to_string()),
            ("trainings_of_trainers", a.trainings_of_trainers.to_string()),
            ("engagements", a.engagements.to_string()),
            ("advocacy", a.advocacy.to_string()),
            ("negotiations", a.negotiations.to_string()),
        ];
        rows.extend(figures.map(|(k, v)| (k.to_string(), v)));
        for (k, n) in &a.released_by_instrument {
            let k = if k.is_empty() { "not_recorded" } else { k };
            rows.push((format!("released_by_{k}"), n.to_string()));
        }
        for (k, n) in &a.trained_by_audience {
            let k = if k.is_empty() { "not_recorded" } else { k };
            rows.push((format!("trained_{k}"), n.to_string()));
        }
    }
    header(ws, &["field", "value"])?;
    for (i, (k, v)) in rows.iter().enumerate() {
        text(ws, i as u32 + 1, 0, k)?;
        match v.parse::<f64>() {
            Ok(n) if *k != "from" && *k != "to" => {
                ws.write_number(i as u32 + 1, 1, n)?;
            }
            _ => text(ws, i as u32 + 1, 1, v)?,
        }
    }

    for s in Section::ALL {
        let t = report.table(s);
        let ws = wb.add_worksheet().set_name(lang.section(s))?;
        let mut cols = vec!["type", "counted_in"];
        cols.extend(FIGURES);
        header(ws, &cols)?;
        for (i, r) in t.by_type.iter().enumerate() {
            let row = i as u32 + 1;
            text(ws, row, 0, r.kind.as_str())?;
            text(ws, row, 1, &r.counted_in)?;
            figures(ws, row, 2, &r.figures)?;
        }
        let row = t.by_type.len() as u32 + 1;
        text(ws, row, 0, "total")?;
        figures(ws, row, 2, &t.total)?;
    }

    let ws = wb.add_worksheet().set_name("By perpetrator")?;
    let mut cols = vec!["table", "party", "category", "type"];
    cols.extend(FIGURES);
    header(ws, &cols)?;
    let mut row = 1;
    for s in Section::ALL {
        for p in &report.table(s).by_perpetrator {
            text(ws, row, 0, s.as_str())?;
            text(ws, row, 1, &p.party)?;
            text(ws, row, 2, p.category.as_str())?;
            text(ws, row, 3, p.kind.as_str())?;
            figures(ws, row, 4, &p.figures)?;
            row += 1;
        }
    }

    let ws = wb.add_worksheet().set_name("By area")?;
    let mut cols = vec!["table", "admin1", "type"];
    cols.extend(FIGURES);
    header(ws, &cols)?;
    let mut row = 1;
    for s in Section::ALL {
        for a in &report.table(s).by_area {
            text(ws, row, 0, s.as_str())?;
            text(ws, row, 1, &a.admin1)?;
            text(ws, row, 2, a.kind.as_str())?;
            figures(ws, row, 3, &a.figures)?;
            row += 1;
        }
    }

    let ws = wb.add_worksheet().set_name("By detail")?;
    let mut cols = vec!["table", "type", "detail", "value"];
    cols.extend(FIGURES);
    header(ws, &cols)?;
    let mut row = 1;
    for s in Section::ALL {
        for d in &report.table(s).by_detail {
            text(ws, row, 0, s.as_str())?;
            text(ws, row, 1, d.kind.as_str())?;
            text(ws, row, 2, &d.key)?;
            text(ws, row, 3, &d.value)?;
            figures(ws, row, 4, &d.figures)?;
            row += 1;
        }
    }

    if let Some(quarters) = &report.quarters {
        let ws = wb.add_worksheet().set_name("Quarters")?;
        header(
            ws,
            &[
                "quarter",
                "verified_violations",
                "verified_children",
                "late_verified_violations",
                "late_verified_children",
            ],
        )?;
        for (i, q) in quarters.iter().enumerate() {
            let row = i as u32 + 1;
            text(ws, row, 0, &q.quarter)?;
            let kids = |f: &Figures| f.children.as_ref().map(|c| c.total).unwrap_or(0) as f64;
            ws.write_number(row, 1, q.verified.violations as f64)?;
            ws.write_number(row, 2, kids(&q.verified))?;
            ws.write_number(row, 3, q.late_verified.violations as f64)?;
            ws.write_number(row, 4, kids(&q.late_verified))?;
        }
    }

    let ws = wb.add_worksheet().set_name("Flagged")?;
    header(ws, &["incident_id", "title", "conflicts", "decisions"])?;
    for (i, f) in report.flagged.iter().enumerate() {
        let row = i as u32 + 1;
        text(ws, row, 0, &f.incident_id)?;
        text(ws, row, 1, &f.title)?;
        text(ws, row, 2, &f.conflicts.join(", "))?;
        text(ws, row, 3, &f.decisions.join(", "))?;
    }

    let ws = wb.add_worksheet().set_name("Violations")?;
    let detail_keys = mrm_crdt::details::all_keys();
    header(
        ws,
        &[
            "table",
            "incident_id",
            "title",
            "occurred_on",
            "admin1",
            "admin2",
            "place",
            "violation_id",
            "type",
            "boys",
            "girls",
            "sex_unknown",
            "party",
            "category",
            "status",
            "decided_on",
        ]
        .into_iter()
        .chain(detail_keys.iter().copied())
        .collect::<Vec<_>>(),
    )?;
    for (i, rv) in violations.iter().enumerate() {
        let row = i as u32 + 1;
        let v = &rv.violation;
        for (col, s) in [
            rv.section.as_str(),
            &v.incident_id,
            &rv.title,
            &v.occurred_on.to_string(),
            &v.admin1,
            &rv.admin2,
            &rv.place,
            &v.violation_id,
            v.kind.as_str(),
        ]
        .into_iter()
        .enumerate()
        {
            text(ws, row, col as u16, s)?;
        }
        ws.write_number(row, 9, v.boys as f64)?;
        ws.write_number(row, 10, v.girls as f64)?;
        ws.write_number(row, 11, v.sex_unknown as f64)?;
        text(ws, row, 12, &v.party)?;
        text(ws, row, 13, v.category.as_str())?;
        text(ws, row, 14, v.status.as_str())?;
        text(
            ws,
            row,
            15,
            &v.decided_on.map(|d| d.to_string()).unwrap_or_default(),
        )?;
        for (j, key) in detail_keys.iter().enumerate() {
            if let Some(d) = v.details.get(*key) {
                text(ws, row, 16 + j as u16, &d.to_string())?;
            }
        }
    }
    Ok(wb.save_to_buffer()?)
}

/// The caseload's table ([`mrm_store::Store::caseload_table`]: `head`, then one row per
/// violation) as a one-sheet workbook: every cell a string, never a formula, but the children's
/// columns ([`mrm_store::CASELOAD_NUMBERS`]) as numbers, to be summed.
///
/// Errors: [`crate::Error::Xlsx`] when the writer refuses the workbook (more rows than a sheet
/// holds, 1,048,575 under the header).
pub fn caseload(head: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Caseload")?;
    header(ws, head)?;
    let numeric: Vec<bool> = head
        .iter()
        .map(|h| mrm_store::CASELOAD_NUMBERS.contains(h))
        .collect();
    for (r, row) in rows.iter().enumerate() {
        // Past what a sheet holds, the writer refuses the row: said, not wrapped around.
        let at = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, cell) in row.iter().enumerate() {
            let col = u16::try_from(c).unwrap_or(u16::MAX);
            match (numeric.get(c), cell.parse::<f64>()) {
                (Some(true), Ok(n)) => {
                    ws.write_number(at, col, n)?;
                }
                _ => text(ws, at, col, cell)?,
            }
        }
    }
    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    /// The caseload's workbook: a real XLSX (a zip), its children's cells numbers; a text that
    /// looks like a formula stays text; more rows than a sheet holds is an error, not a panic.
    #[test]
    fn the_caseload_is_a_workbook_of_strings_and_counts() {
        let head = ["title", "boys", "children"];
        let rows = vec![
            vec!["=HYPERLINK(\"x\")".to_string(), "2".into(), "3".into()],
            vec!["Attack".to_string(), "".into(), "0".into()],
        ];
        let bytes = super::caseload(&head, &rows).unwrap();
        assert!(bytes.starts_with(b"PK"), "a zip");
        let too_many: Vec<Vec<String>> = (0..1_048_576).map(|_| vec!["x".to_string()]).collect();
        assert!(super::caseload(&["title"], &too_many).is_err());
    }
}
