//! Subcommands and their handlers.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Subcommand;
use mrm_crdt::bundle::{self, BundleHeader};
use mrm_crdt::edit::ReviewAction;
use mrm_crdt::input::{self, EventInput, IncidentPatch, PatrolPatch};
use mrm_crdt::model::VerificationStatus;
use mrm_store::Heads;
use mrm_store::Store;

use crate::print;

#[derive(Subcommand)]
pub enum PatrolCmd {
    /// Start a patrol from JSON (prints its id).
    Add {
        #[arg(long, value_name = "FILE|-")]
        json: String,
    },
    /// Change a patrol from partial JSON.
    Edit {
        id: String,
        #[arg(long, value_name = "FILE|-")]
        json: String,
    },
    /// End a patrol now.
    End { id: String },
    /// Show one patrol.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// List patrols.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum IncidentCmd {
    /// Record an incident from JSON (docs/domain.md shape; ids optional). Prints its id.
    Add {
        #[arg(long, value_name = "FILE|-")]
        json: String,
    },
    /// Change an incident from partial JSON; items are matched by id, `"remove": [ids]` removes.
    Edit {
        id: String,
        #[arg(long, value_name = "FILE|-")]
        json: String,
    },
    /// Show an incident with derived statuses, conflicts and review state.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// List and filter the caseload.
    List(Box<crate::list::ListArgs>),
    /// Who changed what and when.
    History {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Split an incident recorded twice under one id (two officers' templates carried the same
    /// id) into two records, each with what its officer recorded (reviewers only). Prints the
    /// new record's id.
    Split { id: String },
    /// Fields holding concurrent values.
    Conflicts {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Keep one value of a conflicting field (or set any field by path).
    Resolve {
        id: String,
        #[arg(long)]
        field: String,
        /// The value as JSON (`"text"`, `3`, `true`).
        #[arg(long)]
        value: String,
    },
    /// Send for review.
    Submit {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Return to the field, saying why.
    Return {
        id: String,
        #[arg(long)]
        comment: String,
    },
    /// Accept a submitted incident.
    Accept {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Add a comment to the review thread.
    Comment { id: String, text: String },
}

#[derive(Subcommand)]
pub enum BundleCmd {
    /// Write the changes another store lacks (everything without --for).
    Export {
        #[arg(long)]
        out: PathBuf,
        /// The other store's folder, or a heads file written by `bundle heads`.
        #[arg(long = "for", value_name = "OTHER_DIR_OR_HEADS_FILE")]
        for_: Option<PathBuf>,
        /// Leave out the authorship tags with which the receiver relays this laptop's work to
        /// the endpoint: for a laptop whose program is older than relays, which cannot read a
        /// tagged bundle.
        #[arg(long)]
        no_tags: bool,
    },
    /// Apply a bundle (all or nothing; importing twice changes nothing).
    Import {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Write this store's heads, to take to the other store for a smaller bundle.
    Heads {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum ExportCmd {
    /// One row per violation.
    Csv {
        #[arg(long)]
        out: PathBuf,
        /// Confirm that the file is written unencrypted (it names no child, but holds narratives
        /// and places): keep it off shared drives and delete it when done.
        #[arg(long)]
        clear: bool,
    },
}

pub fn read_json(src: &str) -> anyhow::Result<String> {
    if src == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read standard input")?;
        Ok(s)
    } else {
        std::fs::read_to_string(src).with_context(|| format!("cannot read {src}"))
    }
}

pub(crate) fn json_out<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub fn status(data: &Path, json: bool) -> anyhow::Result<()> {
    let store = crate::unlock::open(data)?;
    let stats = store.stats()?;
    let changes = store.change_count()?;
    let held = store.held_records()?;
    let held_inbound = store.held_inbound()?;
    let reused = !store.identity_reused()?.is_empty();
    let records = store.unsynced_records()?;
    let sync = store.sync_counts_of(&records)?;
    if json {
        return json_out(&serde_json::json!({
            "device": store.device(),
            "incidents": stats.incidents,
            "patrols": stats.patrols,
            "changes": changes,
            "sync": sync,
            "records": records,
            "held": held,
            "held_inbound": held_inbound,
            "identity_reused": reused,
        }));
    }
    let d = store.device();
    println!("store    {}", data.display());
    println!(
        "device   {} ({} team {}, mission {})",
        d.device_id, d.officer, d.team, d.mission
    );
    // The endpoint names the device by its own id in its registry and audit (`mrm admin
    // devices`): said beside this store's, so an administrator finds the laptop either way.
    if let Some(st) = store.sync_state()? {
        println!(
            "enrolled {} as {} (the endpoint's device id {})",
            st.server_url,
            st.role.as_str(),
            st.device_id
        );
    }
    println!(
        "records  {} incidents, {} patrols, {} changes",
        stats.incidents, stats.patrols, changes
    );
    println!(
        "sync     {} synced, {} to send ({} changes, {} KB), {} held, {} waiting, {} in conflict",
        sync.synced,
        sync.to_send,
        sync.changes_to_send,
        (sync.bytes_to_send + 999) / 1000,
        sync.held,
        sync.waiting,
        sync.conflict
    );
    for r in records
        .iter()
        .filter(|r| r.state == mrm_store::RecordSync::ToSend)
        .take(20)
    {
        println!(
            "to send  {} ({}): {} change(s){}",
            r.doc_id,
            r.kind.as_deref().unwrap_or("record"),
            r.changes_to_send,
            if r.conflict { ", in conflict" } else { "" }
        );
    }
    for r in records.iter().filter(|r| r.conflict).take(20) {
        println!(
            "conflict {}: two edits left values to choose between (`mrm incident conflicts {}`)",
            r.doc_id, r.doc_id
        );
    }
    for h in held {
        println!(
            "held     {}: the endpoint refused this device's changes ({}); they stay here only",
            h.doc_id, h.reason
        );
    }
    for h in held_inbound {
        println!(
            "waiting  {}: changes received since {} cannot be applied yet ({}); every other record was",
            h.doc_id, h.held_at, h.reason
        );
    }
    if reused {
        println!("warning  {}", mrm_sync::IDENTITY_REUSED_ADVICE);
    }
    Ok(())
}

/// `mrm recover`: re-record a copied or restored store's unsent work under a new identity.
pub fn recover(data: &Path, json: bool) -> anyhow::Result<()> {
    let mut store = crate::unlock::open(data)?;
    let r = store.recover_identity()?;
    if json {
        return json_out(&r);
    }
    println!(
        "re-recorded the unsent work of {} record(s) under a new identity ({} old change(s) replaced); the records read as before",
        r.records.len(),
        r.replaced
    );
    for (id, why) in &r.left {
        println!("left     {id}: {why}; its work stays on this laptop unchanged");
    }
    println!(
        "next: ask the administrator for a new enrollment token, run `mrm enroll` with it, then `mrm sync`"
    );
    Ok(())
}

pub fn patrol(data: &Path, c: PatrolCmd) -> anyhow::Result<()> {
    let mut store = crate::unlock::open(data)?;
    match c {
        PatrolCmd::Add { json } => {
            let p: PatrolPatch = input::parse(&read_json(&json)?)?;
            println!("{}", store.add_patrol(&p)?);
        }
        PatrolCmd::Edit { id, json } => {
            let p: PatrolPatch = input::parse(&read_json(&json)?)?;
            print::changed(store.edit_patrol(&id, &p)?);
        }
        PatrolCmd::End { id } => {
            if store.patrol(&id)?.ended_at.is_some() {
                bail!("patrol {id} has already ended");
            }
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let p = PatrolPatch {
                ended_at: Some(Some(now)),
                ..PatrolPatch::default()
            };
            print::changed(store.edit_patrol(&id, &p)?);
        }
        PatrolCmd::Show { id, json } => {
            let p = store.patrol(&id)?;
            if json {
                return json_out(&p);
            }
            print::patrol(&p);
        }
        PatrolCmd::List { json } => {
            let list = store.list_patrols()?;
            if json {
                return json_out(&list);
            }
            print::patrols(&list);
        }
    }
    Ok(())
}

pub fn incident(data: &Path, c: IncidentCmd) -> anyhow::Result<()> {
    let mut store = crate::unlock::open(data)?;
    match c {
        IncidentCmd::Add { json } => {
            let p: IncidentPatch = input::parse(&read_json(&json)?)?;
            let id = store.add_incident(&p)?;
            println!("{id}");
            warn(&store, &id)?;
        }
        IncidentCmd::Edit { id, json } => {
            let p: IncidentPatch = input::parse(&read_json(&json)?)?;
            print::changed(store.edit_incident(&id, &p)?);
            warn(&store, &id)?;
        }
        IncidentCmd::Show { id, json } => {
            let v = store.incident_view(&id)?;
            if json {
                return json_out(&v);
            }
            print::incident(&v);
            for w in store.warnings(&v.incident)? {
                println!("  note: {}: {}", w.field, w.message);
            }
        }
        IncidentCmd::List(args) => crate::list::run(&store, *args)?,
        IncidentCmd::History { id, json } => {
            let h = store.history(&id)?;
            if json {
                return json_out(&h);
            }
            print::history(&h);
        }
        IncidentCmd::Split { id } => {
            let new_id = store.split_incident(&id)?;
            println!("{new_id}");
            eprintln!(
                "incident {new_id} now holds what was recorded apart under {id}; {id} keeps the rest"
            );
        }
        IncidentCmd::Conflicts { id, json } => {
            let c = store.conflicts(&id)?;
            if json {
                return json_out(&c);
            }
            print::conflicts(&c);
        }
        IncidentCmd::Resolve { id, field, value } => {
            let value: serde_json::Value = serde_json::from_str(&value).with_context(|| {
                format!("--value `{value}` is not JSON (quote text: '\"text\"')")
            })?;
            print::changed(store.resolve(&id, &field, &value)?);
        }
        IncidentCmd::Submit { id, comment } => {
            store.review(&id, ReviewAction::Submit, comment.as_deref())?;
            println!("submitted for review");
        }
        IncidentCmd::Return { id, comment } => {
            store.review(&id, ReviewAction::Return, Some(&comment))?;
            println!("returned to the field");
        }
        IncidentCmd::Accept { id, comment } => {
            store.review(&id, ReviewAction::Accept, comment.as_deref())?;
            println!("accepted");
        }
        IncidentCmd::Comment { id, text } => {
            store.review(&id, ReviewAction::Comment, Some(&text))?;
            println!("comment added");
        }
    }
    Ok(())
}

/// Tell the officer what the mission configuration does not know (on stderr: stdout stays the id).
fn warn(store: &Store, id: &str) -> anyhow::Result<()> {
    for w in store.warnings(&store.incident(id)?)? {
        eprintln!("warning: {}: {}", w.field, w.message);
    }
    Ok(())
}

/// A decision's tier and the sources it rests on, counted (`mrm verify --level --primary ...`).
pub struct Ruling {
    pub level: Option<String>,
    pub counts: Option<mrm_crdt::model::SourceCounts>,
}

pub fn verify(
    data: &Path,
    incident_id: &str,
    violation_id: &str,
    status: &str,
    note: String,
    source_ids: Vec<String>,
    ruling: Ruling,
) -> anyhow::Result<()> {
    let status: VerificationStatus = status.parse()?;
    let level: Option<mrm_crdt::model::DecisionLevel> =
        ruling.level.map(|l| l.parse()).transpose()?;
    let mut store = crate::unlock::open(data)?;
    let event = EventInput {
        status,
        at: None,
        by: None,
        note,
        source_ids,
        level,
        sources: ruling.counts,
    };
    store.verify(incident_id, violation_id, &event)?;
    let v = store
        .incident(incident_id)?
        .violations
        .into_iter()
        .find(|v| v.id == violation_id);
    let now = v.map(|v| v.status()).unwrap_or(status);
    if now == status {
        println!("violation {violation_id} is now {now}");
    } else {
        let tier = level.unwrap_or(mrm_crdt::model::DecisionLevel::FocalPoint);
        println!(
            "recorded {status} at the {tier} tier; violation {violation_id} stays {now}, ruled at a higher tier"
        );
    }
    Ok(())
}

/// Heads of the other replica: from its store folder, or from a heads file.
fn other_heads(path: &Path) -> anyhow::Result<Heads> {
    if path.is_dir() {
        let other = crate::unlock::open(path)?;
        return Ok(other.heads()?);
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read heads file {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a heads file", path.display()))
}

/// Write a file so that a crash leaves either the old file or the whole new one
/// ([`mrm_export::files::write_private`]: owner-only, never through a link or onto a device).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    mrm_export::files::write_private(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn bundle(data: &Path, c: BundleCmd) -> anyhow::Result<()> {
    let mut store = crate::unlock::open(data)?;
    match c {
        BundleCmd::Export { out, for_, no_tags } => {
            let theirs = for_.as_deref().map(other_heads).transpose()?;
            let changes = store.changes_missing_from(theirs.as_ref())?;
            let d = store.device();
            let header = BundleHeader {
                mission: d.mission.clone(),
                from_device: d.device_id.clone(),
                created_at: chrono::Utc::now().to_rfc3339(),
                count: changes.len() as u64,
            };
            // Tagged, so that whoever receives the bundle can relay this laptop's work to the
            // endpoint (and a colleague's that came here the same way).
            let tags = if no_tags {
                Vec::new()
            } else {
                store.authorship_tags(&changes)?
            };
            let pass = crate::unlock::bundle_passphrase(true)?;
            let bytes = bundle::seal(
                &pass,
                &bundle::encode_frames_tagged(&header, &changes, &tags)?,
            )?;
            write_atomic(&out, &bytes)?;
            println!(
                "wrote {} change(s), {} bytes, to {}",
                changes.len(),
                bytes.len(),
                out.display()
            );
        }
        BundleCmd::Import { file, json } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let b = if bundle::is_sealed(&bytes) {
                bundle::open_sealed(&crate::unlock::bundle_passphrase(false)?, &bytes)?
            } else {
                bundle::decode(&bytes)?
            };
            if b.header.mission != store.device().mission {
                return Err(mrm_crdt::Error::WrongMission {
                    expected: store.device().mission.clone(),
                    found: b.header.mission,
                }
                .into());
            }
            let report = store.import_tagged(b.changes, &b.tags)?;
            if json {
                return json_out(&report);
            }
            println!(
                "imported {} new change(s) ({} already here) into {} record(s), {} new; {} new conflict(s)",
                report.new_changes,
                report.duplicates,
                report.records_changed.len(),
                report.records_new,
                report.new_conflicts
            );
            for id in &report.released {
                println!("applied  {id}: changes that waited here went in");
            }
            if report.released_changes > 0 {
                println!("{} change(s) that waited went in", report.released_changes);
            }
            for h in &report.held {
                println!(
                    "waiting  {}: changes received since {} cannot be applied yet ({}); every other record was",
                    h.doc_id, h.held_at, h.reason
                );
            }
            for w in &report.left_out {
                println!("left out {w}");
            }
        }
        BundleCmd::Heads { out } => {
            let heads = store.heads()?;
            write_atomic(&out, serde_json::to_string(&heads)?.as_bytes())?;
            println!(
                "wrote heads of {} record(s) to {}",
                heads.len(),
                out.display()
            );
        }
    }
    Ok(())
}

pub fn export(data: &Path, c: ExportCmd) -> anyhow::Result<()> {
    let store = crate::unlock::open(data)?;
    match c {
        ExportCmd::Csv { out, clear } => {
            if !clear {
                bail!("a CSV export is written unencrypted; add --clear to confirm that is what you want");
            }
            let mut buf = Vec::new();
            let n = store.export_csv(&mut buf)?;
            write_atomic(&out, &buf)?;
            println!("wrote {n} violation row(s) to {}", out.display());
        }
    }
    Ok(())
}

pub fn stats(data: &Path, json: bool) -> anyhow::Result<()> {
    let store = crate::unlock::open(data)?;
    let s = store.stats()?;
    if json {
        return json_out(&s);
    }
    print::stats(&s);
    Ok(())
}
