//! `mrm-bench caseload`: each caseload filter over a large caseload (the app's page of 50, with
//! the counts of the whole match), p50 and p99, on this machine. Figures only: the goal (under
//! 100 ms at 100,000 incidents, issue 15) is never a timed assertion.

use std::time::{Duration, Instant};

use mrm_crdt::model::{ReviewState, VerificationStatus, ViolationType};
use mrm_store::{IncidentFilter, Sort, Store, SyncFilter};

/// The app's page.
const PAGE: usize = 50;

/// Median and 99th percentile of `runs` runs of `f`, in milliseconds (with fewer than 100
/// runs, the 99th percentile is the slowest run).
pub fn percentiles<T>(
    runs: usize,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<(f64, f64)> {
    let mut samples: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed());
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p99 = ((runs * 99).div_ceil(100)).clamp(1, runs) - 1;
    Ok((ms(samples[runs / 2]), ms(samples[p99])))
}

/// Every filter the caseload offers, one at a time, as the app sends them.
fn filters(store: &Store) -> anyhow::Result<Vec<(&'static str, IncidentFilter)>> {
    let page = |f: IncidentFilter| IncidentFilter {
        limit: Some(PAGE),
        ..f
    };
    // Values the caseload holds, so each filter matches something.
    let first = store
        .caseload(&page(IncidentFilter::default()))?
        .items
        .into_iter()
        .next();
    let admin1 = first.as_ref().map(|r| r.admin1.clone()).unwrap_or_default();
    let year = mrm_store::today().format("%Y").to_string();
    let text = first
        .as_ref()
        .and_then(|r| r.title.split_whitespace().last().map(str::to_string))
        .unwrap_or_else(|| "Kiwanja".into());
    Ok(vec![
        ("none (newest first)", page(IncidentFilter::default())),
        (
            "type",
            page(IncidentFilter {
                kind: Some(ViolationType::RecruitmentUse),
                ..Default::default()
            }),
        ),
        (
            "status",
            page(IncidentFilter {
                status: Some(VerificationStatus::Verified),
                ..Default::default()
            }),
        ),
        (
            "party",
            page(IncidentFilter {
                party: Some(mrm_store::demo::PARTIES[1].into()),
                ..Default::default()
            }),
        ),
        (
            "province",
            page(IncidentFilter {
                admin1: Some(admin1),
                ..Default::default()
            }),
        ),
        (
            "dates (this year)",
            page(IncidentFilter {
                from: Some(format!("{year}-01-01")),
                to: Some(format!("{year}-12-31")),
                ..Default::default()
            }),
        ),
        (
            "text (a place, in 1 in 7)",
            page(IncidentFilter {
                text: Some(text),
                ..Default::default()
            }),
        ),
        (
            "text (a word in 2 in 3)",
            page(IncidentFilter {
                text: Some("kivu".into()),
                ..Default::default()
            }),
        ),
        (
            "text (a word in every record)",
            page(IncidentFilter {
                text: Some("reported".into()),
                ..Default::default()
            }),
        ),
        (
            // The demo's narratives are numbered: a number's digits are in a few of them.
            "text (a rare word)",
            page(IncidentFilter {
                text: Some("4242".into()),
                ..Default::default()
            }),
        ),
        (
            "review state (waiting for review)",
            page(IncidentFilter {
                review_state: Some(ReviewState::Submitted),
                ..Default::default()
            }),
        ),
        (
            "sync state (not synced)",
            page(IncidentFilter {
                sync: Some(SyncFilter::Unsynced),
                ..Default::default()
            }),
        ),
        (
            "conflicts only",
            page(IncidentFilter {
                conflicts: true,
                ..Default::default()
            }),
        ),
        (
            "needs attention only",
            page(IncidentFilter {
                needs_attention: true,
                ..Default::default()
            }),
        ),
        (
            "type + status + party",
            page(IncidentFilter {
                kind: Some(ViolationType::Killing),
                status: Some(VerificationStatus::Verified),
                party: Some(mrm_store::demo::PARTIES[0].into()),
                ..Default::default()
            }),
        ),
        (
            "sorted by children",
            page(IncidentFilter {
                sort: Sort::Children,
                ..Default::default()
            }),
        ),
        (
            "last page",
            page(IncidentFilter {
                offset: store.stats()?.incidents.saturating_sub(PAGE as i64).max(0) as usize,
                ..Default::default()
            }),
        ),
    ])
}

/// The figures of every filter over `store`, printed (or as JSON), and returned as JSON.
pub fn measure(store: &Store, json: bool) -> anyhow::Result<serde_json::Value> {
    let mut rows = Vec::new();
    for (name, filter) in filters(store)? {
        let mut matched = 0;
        let (p50, p99) = percentiles(50, || {
            matched = store.caseload(&filter)?.total;
            Ok(())
        })?;
        if !json {
            println!("  {name:<36} p50 {p50:>7.1} ms   p99 {p99:>7.1} ms   ({matched} match)");
        }
        rows.push(
            serde_json::json!({"filter": name, "p50_ms": p50, "p99_ms": p99, "matched": matched}),
        );
    }
    Ok(serde_json::Value::Array(rows))
}
