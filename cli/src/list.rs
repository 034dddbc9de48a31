//! `mrm incident list`: the caseload's filters as arguments, checked into the store's
//! [`IncidentFilter`] and run by the one caseload query the app runs too.

use anyhow::{bail, Context};
use clap::Args;
use mrm_crdt::model::{ReviewState, VerificationStatus, ViolationType};
use mrm_store::{IncidentFilter, Store, SyncFilter};

use crate::cmd::json_out;
use crate::print;

/// Filters, sort and page of `mrm incident list`.
#[derive(Args)]
pub struct ListArgs {
    #[arg(long)]
    json: bool,
    #[arg(long = "type")]
    kind: Option<String>,
    #[arg(long)]
    status: Option<String>,
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: Option<String>,
    #[arg(long, value_name = "YYYY-MM-DD")]
    to: Option<String>,
    #[arg(long)]
    admin1: Option<String>,
    #[arg(long)]
    party: Option<String>,
    #[arg(long)]
    text: Option<String>,
    #[arg(long)]
    patrol: Option<String>,
    /// Only incidents a merge left with something to settle (dates out of order, a citation
    /// of a withdrawn source, concurrent decisions).
    #[arg(long)]
    needs_attention: bool,
    /// Only incidents in this review state: `submitted` (waiting for a reviewer), `returned`
    /// (sent back to the field), `draft`, `accepted`.
    #[arg(long)]
    review_state: Option<String>,
    /// Only incidents holding concurrent values.
    #[arg(long)]
    conflicts: bool,
    /// Only incidents in this sync state: `to_send` (changes made here wait for the next
    /// sync), `held` (the endpoint refused them), `waiting` (changes received for it wait
    /// here), `conflict`, or `unsynced` (any of these). `mrm status` says why.
    #[arg(long, value_name = "STATE")]
    sync: Option<String>,
    /// Sort by `occurred_on` (default), `reported_on`, `title`, `place`, `review_state`,
    /// `children`, `violations` or `conflicts`; newest or largest first unless `--asc`.
    #[arg(long, default_value = "occurred_on")]
    sort: String,
    #[arg(long)]
    asc: bool,
    #[arg(long)]
    limit: Option<usize>,
    #[arg(long, default_value_t = 0)]
    offset: usize,
}

/// Run `mrm incident list` on an open store.
pub fn run(store: &Store, a: ListArgs) -> anyhow::Result<()> {
    for (name, d) in [("--from", &a.from), ("--to", &a.to)] {
        if let Some(d) = d {
            if mrm_crdt::validate::parse_date(d).is_none() {
                bail!("{name} `{d}` is not a date (YYYY-MM-DD)");
            }
        }
    }
    let sync = match a.sync.as_deref() {
        None => None,
        Some(s) => Some(SyncFilter::parse(s).with_context(|| {
            format!("--sync `{s}`: one of to_send, held, waiting, conflict, unsynced")
        })?),
    };
    let f = IncidentFilter {
        kind: a.kind.map(|k| k.parse::<ViolationType>()).transpose()?,
        status: a
            .status
            .map(|s| s.parse::<VerificationStatus>())
            .transpose()?,
        from: a.from,
        to: a.to,
        admin1: a.admin1,
        party: a.party,
        text: a.text,
        patrol_id: a.patrol,
        needs_attention: a.needs_attention,
        review_state: a
            .review_state
            .map(|r| r.parse::<ReviewState>())
            .transpose()?,
        conflicts: a.conflicts,
        ids: Vec::new(),
        sync,
        sort: mrm_store::Sort::parse(&a.sort).with_context(|| {
            format!(
                "--sort `{}`: one of occurred_on, reported_on, title, place, review_state, \
                 children, violations, conflicts",
                a.sort
            )
        })?,
        asc: a.asc,
        limit: a.limit,
        offset: a.offset,
    };
    let page = store.list_incidents(&f)?;
    if a.json {
        return json_out(&page);
    }
    print::incidents(&page);
    Ok(())
}
