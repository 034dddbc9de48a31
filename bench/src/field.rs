//! `mrm-bench field`: sync over an emulated satellite link (`mrm_e2e::Link`: bandwidth each way,
//! latency, every connection cut at an interval), issue 16's figures. A fresh reviewer pulls
//! the demo generator's mission, and an officer pushes a day's work, at each link rate; a sync
//! that gives up (five failed attempts in a row) is started again, as the app does.
//!
//! Printed per rate: time to complete against the time the bytes take at the link's rate, bytes
//! on the wire (HTTP included) and per incident, bytes sent twice (against the same sync over
//! the same emulator without drops or limits), and the cuts. Figures, never pass/fail.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use mrm_crdt::protocol::Role;
use mrm_e2e::{Link, LinkSpec};
use mrm_store::demo;
use mrm_store::Store;
use serde_json::{json, Value};

use crate::sync::{
    bench_key, enrolled_store, mission_config, round, sync_ok, timed_sync, Counting, InProcess,
    TempDir,
};

/// The team of the officers who push a day's work.
const DAY_TEAM: &str = "D";

/// Most syncs started for one transfer before the bench gives up.
const MOST_SYNCS: usize = 200;

fn note(msg: &str) {
    eprintln!("bench-field: {msg}");
}

/// A link to `addr` as fast as loopback allows (what a transfer needs, without drops).
fn unlimited(addr: &str) -> Link {
    Link::start(addr, LinkSpec::new(10_000_000, 0))
}

/// Sync `store` until one sync completes; returns the seconds and how many syncs it took.
fn sync_until_done(
    rt: &tokio::runtime::Runtime,
    store: &mut Store,
) -> anyhow::Result<(f64, usize)> {
    let t = Counting::for_store(store)?;
    let started = Instant::now();
    for n in 1..=MOST_SYNCS {
        let timed = rt.block_on(timed_sync(store, &t));
        match timed.result {
            Ok(_) => return Ok((started.elapsed().as_secs_f64(), n)),
            Err(e) => note(&format!("sync {n} gave up ({e}); starting again")),
        }
    }
    bail!("no sync completed in {MOST_SYNCS} attempts")
}

/// One transfer's figures over a link of `kbps` that needed `needed` bytes without drops.
fn figures(kbps: u64, secs: f64, syncs: usize, link: &Link, on_wire: u64, needed: u64) -> Value {
    let link_secs = needed as f64 * 8.0 / (kbps as f64 * 1000.0);
    json!({
        "kbps": kbps,
        "secs": round(secs, 1),
        "link_secs": round(link_secs, 1),
        "times_link": round(secs / link_secs, 2),
        "bytes": on_wire,
        "needed": needed,
        "resent_bytes": on_wire.saturating_sub(needed),
        "resent_pct": round(on_wire.saturating_sub(needed) as f64 * 100.0 / needed as f64, 1),
        "cuts": link.cuts(),
        "syncs": syncs,
    })
}

pub fn run(
    incidents: usize,
    rates: &[u64],
    rtt_ms: u64,
    drop_secs: f64,
    day: usize,
    json_out: bool,
) -> anyhow::Result<()> {
    if incidents == 0 || rates.is_empty() || rates.contains(&0) || drop_secs <= 0.0 {
        bail!("--incidents, --kbps and --drop-secs must be above 0");
    }
    let root =
        TempDir(std::env::temp_dir().join(format!("mrm-bench-field-{}", uuid::Uuid::now_v7())));
    std::fs::create_dir_all(&root.0)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let db = root.0.join("mission.db");
    let admin = rt.block_on(mrm_server::open_sqlite(&db, &bench_key()))?;
    // A fourth team with no records yet: the day's officer pulls next to nothing, so its sync
    // is the push.
    let mut config = mission_config();
    config.teams.push(DAY_TEAM.into());
    rt.block_on(admin.set_config(&config))?;
    let server = InProcess::start(&db)?;
    let addr = server
        .url
        .strip_prefix("http://")
        .context("the endpoint's address")?
        .to_string();

    note(&format!("a mission of {incidents} demo incidents..."));
    for (i, team) in ["A", "B", "C"].iter().enumerate() {
        let dir = root.0.join(format!("officer-{team}"));
        let mut store = enrolled_store(
            &rt,
            &admin,
            &server.url,
            &dir,
            &format!("Officer {team}"),
            team,
            Role::Officer,
        )?;
        let share = incidents / 3 + usize::from(i < incidents % 3);
        demo::populate(&mut store, share, 21 + i as u64)?;
        let t = Counting::for_store(&store)?;
        rt.block_on(sync_ok(&mut store, &t))?;
    }

    // What a fresh reviewer's pull and a day's push take without drops or limits.
    let fast = unlimited(&addr);
    let mut reference = enrolled_store(
        &rt,
        &admin,
        &fast.url(),
        &root.0.join("reviewer-ref"),
        "Reviewer ref",
        "HQ",
        Role::Reviewer,
    )?;
    let before = fast.down_bytes();
    let t = Counting::for_store(&reference)?;
    let pulled = rt.block_on(sync_ok(&mut reference, &t))?;
    let pull_needed = fast.down_bytes() - before;
    let body_per_incident = pulled.wire.down as f64 / incidents as f64;
    let mut day_ref = enrolled_store(
        &rt,
        &admin,
        &fast.url(),
        &root.0.join("officer-day-ref"),
        "Officer day ref",
        DAY_TEAM,
        Role::Officer,
    )?;
    demo::populate(&mut day_ref, day, 99)?;
    let before = fast.up_bytes();
    let t = Counting::for_store(&day_ref)?;
    rt.block_on(sync_ok(&mut day_ref, &t))?;
    let push_needed = fast.up_bytes() - before;

    // What the endpoint holds: the mission and each day's push so far.
    let mut expected = incidents + day;
    let mut runs = Vec::new();
    for &kbps in rates {
        let link = Link::start(&addr, LinkSpec::new(kbps, rtt_ms));
        let every = Some(Duration::from_secs_f64(drop_secs));

        note(&format!(
            "a fresh reviewer pulls at {kbps} kbit/s, {rtt_ms} ms, a drop every {drop_secs} s..."
        ));
        let mut reviewer = enrolled_store(
            &rt,
            &admin,
            &link.url(),
            &root.0.join(format!("reviewer-{kbps}")),
            &format!("Reviewer {kbps}"),
            "HQ",
            Role::Reviewer,
        )?;
        let before = link.down_bytes();
        link.drop_every(every);
        let (secs, syncs) = sync_until_done(&rt, &mut reviewer)?;
        link.drop_every(None);
        let pull = figures(
            kbps,
            secs,
            syncs,
            &link,
            link.down_bytes() - before,
            pull_needed,
        );
        let stored = reviewer.stats()?.incidents;
        if stored as usize != expected {
            bail!("the reviewer holds {stored} incidents of {expected}");
        }
        note(&format!("pull: {pull}"));

        note(&format!(
            "an officer pushes a day's work ({day} incidents)..."
        ));
        let mut officer = enrolled_store(
            &rt,
            &admin,
            &link.url(),
            &root.0.join(format!("officer-day-{kbps}")),
            &format!("Officer day {kbps}"),
            DAY_TEAM,
            Role::Officer,
        )?;
        demo::populate(&mut officer, day, 99)?;
        let before = link.up_bytes();
        link.drop_every(every);
        let (secs, syncs) = sync_until_done(&rt, &mut officer)?;
        link.drop_every(None);
        let push = figures(
            kbps,
            secs,
            syncs,
            &link,
            link.up_bytes() - before,
            push_needed,
        );
        note(&format!("push: {push}"));
        expected += day;
        runs.push(json!({"pull": pull, "push": push}));
    }
    server.stop();

    let out = json!({
        "incidents": incidents,
        "rtt_ms": rtt_ms,
        "drop_every_secs": drop_secs,
        "day_incidents": day,
        "pull_bytes_per_incident": round(pull_needed as f64 / incidents as f64, 0),
        "pull_body_bytes_per_incident": round(body_per_incident, 0),
        "runs": runs,
    });
    if json_out {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "mission: {incidents} incidents; a fresh pull takes {} B per incident on the wire \
         ({} B of page bodies)",
        out["pull_bytes_per_incident"], out["pull_body_bytes_per_incident"]
    );
    println!(
        "link: {rtt_ms} ms round trip, every connection cut every {drop_secs} s; a day's push is \
         {day} incidents"
    );
    println!(
        "{:<6} {:>6} {:>9} {:>9} {:>7} {:>11} {:>9} {:>6} {:>6}",
        "what", "kbit/s", "secs", "link secs", "× link", "bytes", "re-sent", "cuts", "syncs"
    );
    for r in &runs {
        for what in ["pull", "push"] {
            let f = &r[what];
            // Values as text: a JSON value's Display ignores widths.
            let v = |k: &str| f[k].to_string();
            println!(
                "{:<6} {:>6} {:>9} {:>9} {:>7} {:>11} {:>8}% {:>6} {:>6}",
                what,
                v("kbps"),
                v("secs"),
                v("link_secs"),
                v("times_link"),
                v("bytes"),
                v("resent_pct"),
                v("cuts"),
                v("syncs")
            );
        }
    }
    Ok(())
}
