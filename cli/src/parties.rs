//! `mrm party list|unmatched|match`: the mission's party registry, the party names written in
//! violations that it does not know, and a reviewer matching such a name to a party of the
//! registry (or asking the administrators to add it).

use std::path::Path;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum PartyCmd {
    /// The registry: each party's id, name, category, former names, listings, action plan.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Names written in violations that no party of the registry goes by, most used first.
    Unmatched {
        #[arg(long)]
        json: bool,
    },
    /// Match every violation naming NAME (a name the registry does not know) to the registry's
    /// party ID: reviewers only; each incident is one edit, synced like any other.
    Match {
        name: String,
        #[arg(long = "party")]
        party_id: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(data: &Path, c: PartyCmd) -> anyhow::Result<()> {
    let mut store = crate::unlock::open(data)?;
    match c {
        PartyCmd::List { json } => {
            let registry = store.party_registry()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&registry)?);
            } else if registry.is_empty() {
                println!("the mission has no party registry yet (`mrm admin config set`)");
            } else {
                for p in &registry {
                    let mut line = format!("{}  {}  ({:?})", p.id, p.name, p.category);
                    if !p.aliases.is_empty() {
                        line += &format!("  also: {}", p.aliases.join(", "));
                    }
                    if let Some(m) = &p.merged_into {
                        line += &format!("  merged into {m}");
                    }
                    if let Some(plan) = &p.action_plan {
                        line +=
                            &format!("  action plan {:?} since {}", plan.status, plan.signed_on);
                    }
                    println!("{line}");
                }
            }
        }
        PartyCmd::Unmatched { json } => {
            let list = store.unmatched_parties()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("every party written is in the registry");
            } else {
                for u in &list {
                    println!(
                        "{}  ({} violation(s) in {} incident(s))",
                        u.name, u.violations, u.incidents
                    );
                }
            }
        }
        PartyCmd::Match {
            name,
            party_id,
            json,
        } => {
            let m = store.match_party(&name, &party_id)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&m)?);
            } else {
                println!(
                    "matched {} violation(s) in {} incident(s) to {}",
                    m.violations,
                    m.incidents.len(),
                    m.party_id
                );
                for r in &m.refused {
                    println!(
                        "  not matched: {} ({}: {})",
                        r.incident_id, r.code, r.message
                    );
                }
            }
            anyhow::ensure!(
                m.refused.is_empty(),
                "{} incident(s) could not be matched on this device",
                m.refused.len()
            );
        }
    }
    Ok(())
}
