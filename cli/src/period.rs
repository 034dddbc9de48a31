//! `mrm period`: close a reporting period, list the closed ones, show one against today.

use std::path::Path;

use clap::Subcommand;
use mrm_crdt::report::Period;

#[derive(Subcommand)]
pub enum PeriodCmd {
    /// Freeze the figures of a period under a name (reviewers): the record is synced with the
    /// mission and never changes; `mrm report ghn --period NAME --diff` shows what changed since.
    Close {
        name: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// The closed periods this device holds.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(data: &Path, c: PeriodCmd) -> anyhow::Result<()> {
    match c {
        PeriodCmd::Close { name, from, to } => {
            let mut store = crate::unlock::open(data)?;
            let p = Period::new(&from, &to)?;
            let id = store.close_period(&name, &p)?;
            let f = store.period_named(&name)?;
            println!(
                "closed period {} ({} to {}): {} verified violation(s), {} late; record {id}",
                f.name,
                f.from,
                f.to,
                f.report.verified.total.violations,
                f.report.late_verified.total.violations
            );
        }
        PeriodCmd::List { json } => {
            let store = crate::unlock::open(data)?;
            let all = store.periods()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            for p in &all {
                println!(
                    "{:<20} {} to {}  closed by {} at {}",
                    p.name, p.from, p.to, p.closed_by, p.closed_at
                );
            }
            println!("{} closed period(s)", all.len());
        }
    }
    Ok(())
}

/// `mrm report ghn --period NAME [--diff]`: the frozen figures, and what changed since.
pub fn show_frozen(
    store: &mrm_store::Store,
    name: &str,
    diff: bool,
    json: bool,
) -> anyhow::Result<()> {
    let f = store.period_named(name)?;
    let changes = if diff {
        Some(store.period_changes(&f)?)
    } else {
        None
    };
    if json {
        let mut v = serde_json::to_value(&f)?;
        if let Some(c) = &changes {
            v["changes"] = serde_json::to_value(&c.changes)?;
            v["records_not_held"] = serde_json::to_value(c.records_not_held)?;
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "Closed period {}: figures frozen by {} at {}",
        f.name, f.closed_by, f.closed_at
    );
    crate::report::show(&f.report, false)?;
    if let Some(diff) = changes {
        if diff.changes.is_empty() {
            println!("\nnothing changed since the period was closed");
        }
        if diff.records_not_held > 0 {
            println!(
                "\n{} incident(s) the period counted are not on this laptop (another team's): not compared",
                diff.records_not_held
            );
        }
        for c in &diff.changes {
            let table = |s: &Option<(mrm_crdt::report::Section, mrm_store::Children)>| {
                s.as_ref()
                    .map(|(s, ch)| format!("{} ({} children)", s.as_str(), ch.total))
                    .unwrap_or_else(|| "not counted".into())
            };
            let mut line = format!(
                "  {} {} {}: {} -> {}",
                c.incident_id,
                c.kind,
                c.change,
                table(&c.was),
                table(&c.now)
            );
            match (&c.status_now, c.verified_late_on) {
                (_, Some(d)) => line.push_str(&format!(" (verified late on {d})")),
                (None, _) => line.push_str(" (withdrawn)"),
                (Some(s), None) if c.now.is_none() => line.push_str(&format!(" (now {s})")),
                _ => {}
            }
            println!("{line}");
        }
    }
    Ok(())
}
