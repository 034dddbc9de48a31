//! `mrm release|training|engagement add|edit|show|list`: the section's work beside the
//! violations ([`mrm_crdt::activity`]), recorded like incidents from JSON.

use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use mrm_crdt::activity::{spec, Activity, ActivityKind, FieldShape};

use crate::cmd::read_json;

#[derive(Subcommand)]
pub enum ActivityCmd {
    /// Record one from JSON (its kind's fields; `id` optional). Prints its id.
    Add {
        #[arg(long, value_name = "FILE|-")]
        json: String,
    },
    /// Change one from partial JSON (`null` clears a field).
    Edit {
        id: String,
        #[arg(long, value_name = "FILE|-")]
        json: String,
    },
    /// Show one.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// List them, latest first.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(data: &Path, kind: ActivityKind, c: ActivityCmd) -> anyhow::Result<()> {
    let mut store = crate::unlock::open(data)?;
    match c {
        ActivityCmd::Add { json } => {
            let patch: serde_json::Value =
                serde_json::from_str(&read_json(&json)?).context("the input is not JSON")?;
            println!("{}", store.add_activity(kind, &patch)?);
        }
        ActivityCmd::Edit { id, json } => {
            let patch: serde_json::Value =
                serde_json::from_str(&read_json(&json)?).context("the input is not JSON")?;
            let a = store.activity(&id)?;
            anyhow::ensure!(a.kind == kind, "{id} is a {}, not a {kind}", a.kind);
            crate::print::changed(store.edit_activity(&id, &patch)?);
        }
        ActivityCmd::Show { id, json } => {
            let a = store.activity(&id)?;
            anyhow::ensure!(a.kind == kind, "{id} is a {}, not a {kind}", a.kind);
            if json {
                let mut j = a.to_json();
                j["conflicts"] = serde_json::to_value(store.conflicts(&id)?)?;
                println!("{}", serde_json::to_string_pretty(&j)?);
            } else {
                show(&a);
                for c in store.conflicts(&id)? {
                    let values: Vec<String> = c
                        .values
                        .iter()
                        .map(|v| format!("{} ({})", v.value, v.by))
                        .collect();
                    println!("  CONFLICT {}: {}", c.path, values.join(" / "));
                }
            }
        }
        ActivityCmd::List { json } => {
            let list = store.activities(kind)?;
            if json {
                let all: Vec<serde_json::Value> = list.iter().map(Activity::to_json).collect();
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if list.is_empty() {
                println!("no {kind} recorded");
            } else {
                for a in &list {
                    println!("{}  {}  {}", a.id, a.text("date"), summary(a));
                }
            }
        }
    }
    Ok(())
}

/// One line saying what it was.
fn summary(a: &Activity) -> String {
    match a.kind {
        ActivityKind::Release => format!(
            "{} child(ren) released by {} ({})",
            a.count("boys") + a.count("girls") + a.count("sex_unknown"),
            a.text("party"),
            a.text("instrument").replace('_', " ")
        ),
        ActivityKind::Training => {
            let [m, f, u] = a.by_sex("participants");
            format!(
                "{} trained: {} ({})",
                m + f + u,
                a.text("topic"),
                a.text("audience").replace('_', " ")
            )
        }
        ActivityKind::Engagement => format!(
            "{} with {}: {}",
            a.text("kind"),
            a.text("party"),
            a.text("subject")
        ),
    }
}

fn show(a: &Activity) {
    println!(
        "{} {}  (team {}, recorded by {})",
        a.kind, a.id, a.team, a.created_by
    );
    for f in spec(a.kind) {
        let Some(v) = a.fields.get(f.key) else {
            continue;
        };
        let text = match (f.shape, v) {
            (FieldShape::BySex, serde_json::Value::Object(_)) => {
                let [m, w, u] = a.by_sex(f.key);
                format!("male {m}, female {w}, unknown {u}")
            }
            (_, serde_json::Value::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
            (_, serde_json::Value::String(s)) => s.clone(),
            (_, other) => other.to_string(),
        };
        println!("  {}: {text}", f.key.replace('_', " "));
    }
}
