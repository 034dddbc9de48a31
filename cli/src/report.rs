//! `mrm report`: the MRM's tables (GHN, annual) on the terminal or as JSON.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Args, Subcommand};
use mrm_crdt::report::{Figures, Period, Report, Section, Table};

#[derive(Subcommand)]
pub enum ReportCmd {
    /// The Global Horizontal Note tables for a period (usually a quarter), or the frozen
    /// figures of a closed period (`--period`).
    Ghn {
        /// First day of the period (YYYY-MM-DD).
        #[arg(long, required_unless_present = "period", conflicts_with = "period")]
        from: Option<String>,
        /// Last day of the period (YYYY-MM-DD), included.
        #[arg(long, required_unless_present = "period", conflicts_with = "period")]
        to: Option<String>,
        /// A closed period (`mrm period close`): its figures as they were frozen.
        #[arg(long)]
        period: Option<String>,
        /// With `--period`: what changed since it was closed, violation by violation.
        #[arg(long)]
        diff: bool,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        xlsx: XlsxOut,
    },
    /// The annual-report tables for a calendar year, with its quarters and patrols.
    Annual {
        #[arg(long)]
        year: i32,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        xlsx: XlsxOut,
    },
    /// A one-page printable factsheet (PDF) of a year, or of any period.
    Factsheet {
        #[arg(long, required_unless_present = "from", conflicts_with_all = ["from", "to"])]
        year: Option<i32>,
        #[arg(long, requires = "to")]
        from: Option<String>,
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// en or fr.
        #[arg(long, default_value = "en")]
        lang: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// The incidents behind one figure of a report, newest first (as `incident list` shows
    /// them).
    Records {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// verified, late_verified, unverified or not_verified.
        #[arg(long)]
        section: String,
        #[arg(long = "type")]
        kind: Option<String>,
        #[arg(long)]
        party: Option<String>,
        /// armed_force, armed_group, unknown or crossfire (a party's figures are by category).
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        admin1: Option<String>,
        /// A violation detail's key (`weapon`, ...): the records of a row by detail.
        #[arg(long)]
        detail: Option<String>,
        /// The detail's value, as the row shows it (`landmine`, `yes`, `30`).
        #[arg(long, requires = "detail")]
        value: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Where to write the report's tables as an XLSX workbook.
#[derive(Args)]
pub struct XlsxOut {
    /// Also write every table, and the violations counted, to this XLSX file.
    #[arg(long)]
    xlsx: Option<PathBuf>,
    /// Confirm that the workbook is written unencrypted (it lists the violations counted, with
    /// their incidents' titles and places): keep it off shared drives.
    #[arg(long)]
    clear: bool,
}

impl XlsxOut {
    fn write(&self, store: &mrm_store::Store, r: &Report, p: &Period) -> anyhow::Result<()> {
        let Some(out) = &self.xlsx else {
            return Ok(());
        };
        if !self.clear {
            bail!(
                "a workbook is written unencrypted; add --clear to confirm that is what you want"
            );
        }
        let rows = store.report_violations(p)?;
        let bytes = mrm_export::xlsx::workbook(r, &rows, mrm_export::Lang::En)?;
        crate::cmd::write_atomic(out, &bytes)?;
        eprintln!(
            "wrote the report's tables and {} violation(s) to {}",
            rows.len(),
            out.display()
        );
        Ok(())
    }
}

pub fn run(data: &Path, c: ReportCmd) -> anyhow::Result<()> {
    let store = crate::unlock::open(data)?;
    match c {
        ReportCmd::Ghn {
            period: None,
            diff: true,
            ..
        } => bail!("--diff compares with a closed period: give --period NAME"),
        ReportCmd::Ghn {
            period: Some(_),
            xlsx: XlsxOut { xlsx: Some(_), .. },
            ..
        } => bail!(
            "a closed period's figures are shown as frozen, not exported: export the period itself with --from and --to"
        ),
        ReportCmd::Ghn {
            from,
            to,
            period: None,
            json,
            xlsx,
            ..
        } => {
            let (from, to) = (from.unwrap_or_default(), to.unwrap_or_default());
            let p = Period::new(&from, &to)?;
            let r = store.report("ghn", &p)?;
            xlsx.write(&store, &r, &p)?;
            show(&r, json)
        }
        ReportCmd::Ghn {
            period: Some(name),
            diff,
            json,
            ..
        } => crate::period::show_frozen(&store, &name, diff, json),
        ReportCmd::Annual { year, json, xlsx } => {
            let p = Period::year(year)?;
            let r = store.report("annual", &p)?;
            xlsx.write(&store, &r, &p)?;
            show(&r, json)
        }
        ReportCmd::Factsheet {
            year,
            from,
            to,
            lang,
            out,
        } => {
            let lang: mrm_export::Lang = lang.parse().map_err(anyhow::Error::msg)?;
            let p = match (year, from, to) {
                (Some(y), ..) => Period::year(y)?,
                (None, Some(f), Some(t)) => Period::new(&f, &t)?,
                _ => bail!("give --year, or --from and --to"),
            };
            let bytes = mrm_export::factsheet::of_store(&store, year, &p, lang)?;
            crate::cmd::write_atomic(&out, &bytes)?;
            println!("wrote the factsheet to {}", out.display());
            Ok(())
        }
        ReportCmd::Records {
            from,
            to,
            section,
            kind,
            party,
            category,
            admin1,
            detail,
            value,
            json,
        } => {
            let cell = mrm_crdt::report::CellFilter {
                kind: kind.map(|k| k.parse()).transpose()?,
                party,
                category: category.map(|c| c.parse()).transpose()?,
                admin1,
                detail,
                value,
            };
            let ids = store.report_records(&Period::new(&from, &to)?, section.parse()?, &cell)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&ids)?);
            } else {
                for id in &ids {
                    let i = store.incident(id)?;
                    println!(
                        "{id}  {}  {}  {}",
                        i.occurred_on, i.location.admin1, i.title
                    );
                }
                println!("{} incident(s)", ids.len());
            }
            Ok(())
        }
    }
}

pub fn show(r: &Report, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    let title = match r.kind.as_str() {
        "annual" => "Annual report",
        _ => "Global Horizontal Note",
    };
    println!("{title}: {} to {}", r.from, r.to);
    if let Some(p) = r.patrols {
        println!("patrols: {p}");
    }
    if let Some(a) = r.activities.as_ref().filter(|a| !a.is_empty()) {
        activities(a);
    }
    for s in Section::ALL {
        table(s, r.table(s));
    }
    let m = &r.multiple_violations.children;
    println!(
        "\nchildren in two or more verified violations: {} (boys {}, girls {}, sex unknown {})",
        m.total, m.boys, m.girls, m.sex_unknown
    );
    if let Some(qs) = &r.quarters {
        println!(
            "\n{:<10} {:>22} {:>22}",
            "quarter", "verified", "late verified"
        );
        for q in qs {
            println!(
                "{:<10} {:>22} {:>22}",
                q.quarter,
                brief(&q.verified),
                brief(&q.late_verified)
            );
        }
    }
    if !r.flagged.is_empty() {
        println!(
            "\n{} counted record(s) have unsettled values; the figures count one of them until a reviewer settles it:",
            r.flagged.len()
        );
        for f in &r.flagged {
            let what: Vec<String> = f
                .conflicts
                .iter()
                .map(|p| format!("conflict at {p}"))
                .chain(f.decisions.iter().map(|d| d.replace('_', " ")))
                .collect();
            println!("  {}  {}: {}", f.incident_id, f.title, what.join("; "));
        }
    }
    Ok(())
}

/// One row of a table by type; `-` where the type is counted in incidents, not children.
fn line(label: &str, f: &Figures) {
    let c = f.children.as_ref();
    let num = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    println!(
        "{:<28} {:>10} {:>9} {:>6} {:>6} {:>8} {:>8}",
        label,
        f.violations,
        f.incidents,
        num(c.map(|c| c.boys)),
        num(c.map(|c| c.girls)),
        num(c.map(|c| c.sex_unknown)),
        num(c.map(|c| c.total)),
    );
}

/// Violations, incidents and children of a total, in a few characters.
fn brief(f: &Figures) -> String {
    let children = f.children.as_ref().map(|c| c.total).unwrap_or(0);
    format!("{}v {}i {}c", f.violations, f.incidents, children)
}

fn table(s: Section, t: &Table) {
    println!(
        "\n{}\n{:<28} {:>10} {:>9} {:>6} {:>6} {:>8} {:>8}",
        match s {
            Section::Verified => "VERIFIED",
            Section::LateVerified => "LATE VERIFIED (incidents of earlier quarters)",
            Section::Unverified => "UNVERIFIED (reported, pending verification)",
            Section::NotVerified => "NOT VERIFIED",
        },
        "type",
        "violations",
        "incidents",
        "boys",
        "girls",
        "unknown",
        "children"
    );
    for row in &t.by_type {
        line(row.kind.as_str(), &row.figures);
    }
    line("total", &t.total);
    if !t.by_perpetrator.is_empty() {
        println!("  by perpetrator:");
        for p in &t.by_perpetrator {
            println!(
                "    {:<24} {:<12} {:<26} {}",
                if p.party.is_empty() {
                    "(none)"
                } else {
                    &p.party
                },
                p.category.as_str(),
                p.kind.as_str(),
                brief(&p.figures)
            );
        }
    }
    if !t.by_area.is_empty() {
        println!("  by area:");
        for a in &t.by_area {
            println!(
                "    {:<24} {:<26} {}",
                a.admin1,
                a.kind.as_str(),
                brief(&a.figures)
            );
        }
    }
    if !t.by_detail.is_empty() {
        println!("  by detail:");
        for d in &t.by_detail {
            println!(
                "    {:<26} {:<34} {}",
                d.kind.as_str(),
                format!("{} {}", d.key, d.value),
                brief(&d.figures)
            );
        }
    }
}

/// The section's work in the period, one line per kind, then the breakdowns.
fn activities(a: &mrm_crdt::activity_figures::ActivityFigures) {
    let by = |m: &std::collections::BTreeMap<String, i64>| {
        m.iter()
            .map(|(k, n)| format!("{} {n}", if k.is_empty() { "not recorded" } else { k }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "children released: {} (boys {}, girls {}, sex unknown {}) in {} release(s){}",
        a.children_released(),
        a.released_boys,
        a.released_girls,
        a.released_sex_unknown,
        a.releases,
        if a.released_by_instrument.is_empty() {
            String::new()
        } else {
            format!("; by instrument: {}", by(&a.released_by_instrument))
        }
    );
    println!(
        "people trained: {} (male {}, female {}, unknown {}) in {} training(s), {} of trainers{}",
        a.people_trained(),
        a.trained_male,
        a.trained_female,
        a.trained_unknown,
        a.trainings,
        a.trainings_of_trainers,
        if a.trained_by_audience.is_empty() {
            String::new()
        } else {
            format!("; by audience: {}", by(&a.trained_by_audience))
        }
    );
    println!(
        "engagements with parties: {} (advocacy {}, negotiation {})",
        a.engagements, a.advocacy, a.negotiations
    );
}
