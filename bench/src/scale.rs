//! `mrm-bench scale`: a thousand devices at once, against one SQLite endpoint and against three
//! PostgreSQL instances behind nginx (issue 17), over loopback only. It prints figures; the goals
//! are shown for reference and never turned into pass/fail checks.
//!
//! 1. N device stores are made once (not encrypted: the device's own encryption is measured by
//!    `mrm-bench store`; here the endpoint is measured), each with its new incidents, spread over
//!    [`TEAMS`] teams; the folders are copied so that each endpoint gets the same devices.
//! 2. Per endpoint: every device enrolled, then all sync at once (one thread each, real HTTP):
//!    each pushes its incidents and pulls its team's share of everyone else's. Errors, p50 and
//!    p99 sync time, the endpoint's changes per second, CPU and peak memory per `mrm serve`
//!    process, and the database's size.
//! 3. A fresh reviewer pulls the whole mission from each endpoint.
//!
//! PostgreSQL and nginx come from Debian's packages (`scripts/bootstrap.sh`), started here in a
//! temporary folder as the end-to-end tests start them (`mrm_e2e::PgCluster`, `mrm_e2e::Nginx`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::Context;
use mrm_crdt::model::MissionConfig;
use mrm_crdt::protocol::Role;
use mrm_server::Repository;
use mrm_store::demo::{self, Rng};
use mrm_store::Store;
use serde_json::{json, Value};

use crate::sync::{
    mib, percentile_ms, proc_cpu_s, proc_status_kib, round, timed_sync, ChildServer, Counting,
    TempDir,
};

/// Teams the devices are spread over: a large mission's field offices.
const TEAMS: usize = 20;
const MISSION: &str = "BENCH";
const TOKEN_TTL: Duration = Duration::from_secs(6 * 3600);

fn note(msg: &str) {
    eprintln!("bench-scale: {msg}");
}

fn team(i: usize) -> String {
    format!("T{:02}", i % TEAMS)
}

fn config() -> MissionConfig {
    MissionConfig {
        mission: MISSION.into(),
        teams: (0..TEAMS).map(team).collect(),
        parties: demo::PARTIES.iter().map(|p| p.to_string()).collect(),
        admin_areas: demo::AREAS
            .iter()
            .map(|(a1, a2s)| (a1.to_string(), a2s.iter().map(|a| a.to_string()).collect()))
            .collect(),
        ..MissionConfig::default()
    }
}

/// Copy a store folder (files only: a store folder has no subfolders).
fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_file() {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// An endpoint to measure: its devices' URL, its `mrm serve` processes, and an admin service.
struct Endpoint<R: Repository> {
    name: &'static str,
    url: String,
    instances: Vec<ChildServer>,
    admin: mrm_server::Service<R>,
    /// The database's size in bytes, asked after the burst.
    size: Box<dyn Fn() -> Option<u64>>,
}

/// Enroll every device of `dirs` with `ep`, all sync at once, then a fresh reviewer pulls the
/// mission; returns the figures.
fn measure<R: Repository>(
    rt: &tokio::runtime::Runtime,
    ep: &Endpoint<R>,
    dirs: &[PathBuf],
    reviewer_dir: &Path,
) -> anyhow::Result<Value> {
    note(&format!("{}: enrolling {} devices...", ep.name, dirs.len()));
    for (i, dir) in dirs.iter().enumerate() {
        let mut store = Store::open_unencrypted_baseline(dir)?;
        // Baseline stores cannot prove their actor (no key): enrolled as stores from before
        // actors had seeds.
        let (_, token) = rt.block_on(ep.admin.create_enrollment(
            &format!("Officer {i}"),
            &team(i),
            Role::Officer,
            TOKEN_TTL,
            true,
        ))?;
        rt.block_on(mrm_sync::enroll(&mut store, &ep.url, &token, None))
            .with_context(|| format!("enrollment of device {i}"))?;
    }
    let pids: Vec<String> = ep.instances.iter().map(ChildServer::pid).collect();
    note(&format!(
        "{}: {} devices sync at once...",
        ep.name,
        dirs.len()
    ));
    let barrier = Arc::new(Barrier::new(dirs.len() + 1));
    let handles: Vec<_> = dirs
        .iter()
        .cloned()
        .map(|dir| {
            let barrier = barrier.clone();
            std::thread::Builder::new()
                .stack_size(1 << 20)
                .spawn(move || {
                    let setup = (|| -> anyhow::Result<_> {
                        let store = Store::open_unencrypted_baseline(&dir)?;
                        let t = Counting::for_store(&store)?;
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()?;
                        Ok((store, t, rt))
                    })();
                    barrier.wait();
                    let (mut store, t, rt) = setup.map_err(|e| e.to_string())?;
                    Ok::<_, String>(rt.block_on(timed_sync(&mut store, &t)))
                })
                .expect("a device thread")
        })
        .collect();
    let changes_before = rt.block_on(ep.admin.repository().stats())?.changes;
    let cpu_before: Vec<Option<f64>> = pids.iter().map(|p| proc_cpu_s(p)).collect();
    barrier.wait();
    let wall = Instant::now();
    let (mut times, mut errors, mut retries) = (Vec::new(), Vec::new(), 0u32);
    let (mut pushed, mut pulled, mut up, mut down) = (0usize, 0usize, 0u64, 0u64);
    for h in handles {
        match h.join().expect("a device thread panicked") {
            Err(e) => errors.push(e),
            Ok(timed) => {
                retries += timed.retries;
                up += timed.wire.up;
                down += timed.wire.down;
                match timed.result {
                    Ok(r) => {
                        times.push(timed.secs);
                        pushed += r.pushed;
                        pulled += r.pulled;
                    }
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }
    }
    let wall_s = wall.elapsed().as_secs_f64();
    let changes_after = rt.block_on(ep.admin.repository().stats())?.changes;
    let instances: Vec<Value> = pids
        .iter()
        .zip(&cpu_before)
        .map(|(pid, before)| {
            json!({
                "cpu_s": match (proc_cpu_s(pid), before) {
                    (Some(a), Some(b)) => json!(round(a - b, 1)),
                    _ => Value::Null,
                },
                "peak_rss_mib": mib(proc_status_kib(pid, "VmHWM")),
            })
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let stored = changes_after - changes_before;

    note(&format!(
        "{}: a fresh reviewer pulls the mission...",
        ep.name
    ));
    let mut reviewer = Store::init_unencrypted_baseline(reviewer_dir, MISSION, "Reviewer", "HQ")?;
    let (_, token) =
        rt.block_on(
            ep.admin
                .create_enrollment("Reviewer", "HQ", Role::Reviewer, TOKEN_TTL, true),
        )?;
    rt.block_on(mrm_sync::enroll(&mut reviewer, &ep.url, &token, None))?;
    let t = Counting::for_store(&reviewer)?;
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let pull = client.block_on(timed_sync(&mut reviewer, &t));
    let pull_report = pull.result.context("the reviewer's pull failed")?;
    let incidents = reviewer.record_ids()?.len();

    Ok(json!({
        "endpoint": ep.name,
        "devices": dirs.len(),
        "errors": errors.len(),
        "first_error": errors.first(),
        "retries": retries,
        "p50_s": round(percentile_ms(&times, 0.5) / 1000.0, 2),
        "p99_s": round(percentile_ms(&times, 0.99) / 1000.0, 2),
        "max_s": round(percentile_ms(&times, 1.0) / 1000.0, 2),
        "wall_s": round(wall_s, 1),
        "pushed": pushed,
        "pulled": pulled,
        "stored_changes": stored,
        "changes_per_s": round(stored as f64 / wall_s.max(1e-9), 0),
        "wire_up_mib": round(up as f64 / 1048576.0, 1),
        "wire_down_mib": round(down as f64 / 1048576.0, 1),
        "instances": instances,
        "database_mib": (ep.size)().map(|b| round(b as f64 / 1048576.0, 1)),
        "fresh_reviewer": {
            "records": incidents,
            "changes": pull_report.pulled,
            "s": round(pull.secs, 2),
            "mib": round(pull.wire.down as f64 / 1048576.0, 1),
        },
    }))
}

/// Three officers push the bench mission (each incident with four more edits, as `mrm-bench
/// sync` builds it) to the endpoint at `url`, then a fresh reviewer pulls it, timed.
fn mission_pull<R: Repository>(
    rt: &tokio::runtime::Runtime,
    url: &str,
    admin: &mrm_server::Service<R>,
    officers: &[PathBuf],
    reviewer_dir: &Path,
) -> anyhow::Result<Value> {
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for (i, dir) in officers.iter().enumerate() {
        let mut store = Store::open_unencrypted_baseline(dir)?;
        let (_, token) = rt.block_on(admin.create_enrollment(
            &format!("Mission officer {i}"),
            &team(i),
            Role::Officer,
            TOKEN_TTL,
            true,
        ))?;
        client.block_on(mrm_sync::enroll(&mut store, url, &token, None))?;
        let t = Counting::for_store(&store)?;
        client
            .block_on(timed_sync(&mut store, &t))
            .result
            .context("an officer's push failed")?;
    }
    let mut reviewer = Store::init_unencrypted_baseline(reviewer_dir, MISSION, "Reviewer", "HQ")?;
    let (_, token) =
        rt.block_on(admin.create_enrollment("Reviewer", "HQ", Role::Reviewer, TOKEN_TTL, true))?;
    client.block_on(mrm_sync::enroll(&mut reviewer, url, &token, None))?;
    let t = Counting::for_store(&reviewer)?;
    let pull = client.block_on(timed_sync(&mut reviewer, &t));
    let report = pull.result.context("the reviewer's pull failed")?;
    Ok(json!({
        "incidents": reviewer.stats()?.incidents,
        "changes": report.pulled,
        "s": round(pull.secs, 2),
        "endpoint_wait_s": round(pull.wire.request_ns as f64 / 1e9, 2),
        "mib": round(pull.wire.down as f64 / 1048576.0, 1),
    }))
}

/// Run the scale bench: `devices` devices with `per_device` new incidents each, then the
/// fresh reviewer's pull of a mission of `mission_incidents` from each backend.
pub fn run(
    devices: usize,
    per_device: usize,
    mission_incidents: usize,
    json_out: bool,
) -> anyhow::Result<()> {
    let root =
        TempDir(std::env::temp_dir().join(format!("mrm-bench-scale-{}", uuid::Uuid::now_v7())));
    std::fs::create_dir_all(&root.0)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    note(&format!(
        "making {devices} device stores with {per_device} incidents each..."
    ));
    let made = Instant::now();
    let base: Vec<PathBuf> = (0..devices)
        .map(|i| root.0.join("base").join(format!("device-{i}")))
        .collect();
    for (i, dir) in base.iter().enumerate() {
        let mut store =
            Store::init_unencrypted_baseline(dir, MISSION, &format!("Officer {i}"), &team(i))?;
        let mut rng = Rng::new(7000 + i as u64);
        let today = mrm_store::today();
        for _ in 0..per_device {
            store.add_incident(&demo::incident(&mut rng, today, None))?;
        }
    }
    note(&format!(
        "making a mission of {mission_incidents} incidents on three officer stores..."
    ));
    let mission_base: Vec<PathBuf> = (0..3)
        .map(|i| root.0.join("mission-base").join(format!("officer-{i}")))
        .collect();
    for (i, dir) in mission_base.iter().enumerate() {
        let mut store = Store::init_unencrypted_baseline(
            dir,
            MISSION,
            &format!("Mission officer {i}"),
            &team(i),
        )?;
        let share = mission_incidents / 3 + usize::from(i < mission_incidents % 3);
        let ids = demo::populate(&mut store, share, 11 + i as u64)?;
        for (n, id) in ids.iter().enumerate() {
            crate::sync::edit_four_times(&mut store, id, n)?;
        }
    }
    let make_s = made.elapsed().as_secs_f64();
    let copies_of = |from: &[PathBuf], name: &str| -> anyhow::Result<Vec<PathBuf>> {
        from.iter()
            .enumerate()
            .map(|(i, d)| {
                let to = root.0.join(name).join(format!("device-{i}"));
                copy_dir(d, &to)?;
                Ok(to)
            })
            .collect()
    };

    // ---- One SQLite endpoint. ----
    let copies = |name: &str| copies_of(&base, name);
    let sqlite_dirs = copies("sqlite")?;
    let db = root.0.join("endpoint.db");
    let admin = rt.block_on(mrm_server::open_sqlite(&db, &crate::sync::bench_key()))?;
    rt.block_on(admin.set_config(&config()))?;
    let child = ChildServer::start(&db)?;
    let sqlite_db = db.clone();
    let sqlite = Endpoint {
        name: "sqlite, 1 instance",
        url: child.url.clone(),
        instances: vec![child],
        admin,
        size: Box::new(move || {
            let files = ["", "-wal"].iter().filter_map(|s| {
                let mut p = sqlite_db.as_os_str().to_owned();
                p.push(s);
                std::fs::metadata(PathBuf::from(p)).map(|m| m.len()).ok()
            });
            Some(files.sum())
        }),
    };
    let sqlite_figures = measure(&rt, &sqlite, &sqlite_dirs, &root.0.join("reviewer-sqlite"))?;
    // Printed as they come: a later failure keeps what was measured.
    note(&format!("sqlite burst: {sqlite_figures}"));
    drop(sqlite);
    note("sqlite: the mission pushed, and a fresh reviewer's pull...");
    let db = root.0.join("mission.db");
    let admin = rt.block_on(mrm_server::open_sqlite(&db, &crate::sync::bench_key()))?;
    rt.block_on(admin.set_config(&config()))?;
    let child = ChildServer::start(&db)?;
    let sqlite_mission = mission_pull(
        &rt,
        &child.url,
        &admin,
        &copies_of(&mission_base, "mission-sqlite")?,
        &root.0.join("mission-reviewer-sqlite"),
    )?;
    note(&format!("sqlite mission pull: {sqlite_mission}"));
    drop(child);
    drop(admin);

    // ---- Three PostgreSQL instances behind nginx. ----
    let pg_dirs = copies("postgres")?;
    let cluster = mrm_e2e::PgCluster::start();
    let url = cluster.fresh("mission");
    let admin = rt.block_on(mrm_server::open_postgres(&url))?;
    rt.block_on(admin.set_config(&config()))?;
    let instances: Vec<ChildServer> = (0..3)
        .map(|_| ChildServer::start(Path::new(&url)))
        .collect::<anyhow::Result<_>>()?;
    let upstreams: Vec<String> = instances
        .iter()
        .map(|i| i.url.trim_start_matches("http://").to_string())
        .collect();
    let nginx = mrm_e2e::Nginx::start(&upstreams);
    let socket = cluster.socket.clone();
    let psql = move || -> Option<u64> {
        let out = cluster
            .program("psql")
            .arg("-h")
            .arg(&socket)
            .args([
                "-U",
                "mrm",
                "-d",
                "mission",
                "-Atc",
                "SELECT pg_database_size('mission')",
            ])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    let pg = Endpoint {
        name: "postgresql, 3 instances behind nginx",
        url: nginx.url(),
        instances,
        admin,
        size: Box::new(psql),
    };
    let pg_figures = measure(&rt, &pg, &pg_dirs, &root.0.join("reviewer-pg"))?;
    note(&format!("postgresql burst: {pg_figures}"));
    note("postgresql: the mission pushed, and a fresh reviewer's pull...");
    let mission_url = format!("{url}&mission=bench10k");
    let admin = rt.block_on(mrm_server::open_postgres(&mission_url))?;
    rt.block_on(admin.set_config(&config()))?;
    let child = ChildServer::start(Path::new(&mission_url))?;
    let pg_mission = mission_pull(
        &rt,
        &child.url,
        &admin,
        &copies_of(&mission_base, "mission-pg")?,
        &root.0.join("mission-reviewer-pg"),
    )?;
    note(&format!("postgresql mission pull: {pg_mission}"));
    drop(child);
    drop(admin);
    drop(pg);
    drop(nginx);

    let figures = json!({
        "devices": devices,
        "incidents_per_device": per_device,
        "teams": TEAMS,
        "make_devices_s": round(make_s, 1),
        "runs": [sqlite_figures, pg_figures],
        "mission_pull": {
            "note": "one instance each; three officers pushed the mission, a fresh reviewer pulls it",
            "sqlite": sqlite_mission,
            "postgresql": pg_mission,
        },
        "goals": "0 errors; p99 on PostgreSQL no worse than 100 devices on one SQLite instance \
                  (11 s); a fresh reviewer's pull from PostgreSQL within 1.5x of SQLite",
    });
    if json_out {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        print_table(&figures);
    }
    Ok(())
}

fn print_table(f: &Value) {
    println!(
        "{} devices, {} new incidents each, over {} teams (stores made in {} s)",
        f["devices"], f["incidents_per_device"], f["teams"], f["make_devices_s"]
    );
    for r in f["runs"].as_array().into_iter().flatten() {
        println!("\n{}", r["endpoint"].as_str().unwrap_or_default());
        println!(
            "  errors {} (retries {}); sync p50 {} s, p99 {} s, max {} s; all done in {} s",
            r["errors"], r["retries"], r["p50_s"], r["p99_s"], r["max_s"], r["wall_s"]
        );
        if let Some(e) = r["first_error"].as_str() {
            println!("  first error: {e}");
        }
        println!(
            "  stored {} changes ({} per second); devices pulled {} changes; wire up {} MiB, down {} MiB",
            r["stored_changes"], r["changes_per_s"], r["pulled"], r["wire_up_mib"], r["wire_down_mib"]
        );
        for (i, inst) in r["instances"].as_array().into_iter().flatten().enumerate() {
            println!(
                "  instance {}: CPU {} s, peak memory {} MiB",
                i + 1,
                inst["cpu_s"],
                inst["peak_rss_mib"]
            );
        }
        println!("  database {} MiB", r["database_mib"]);
        let p = &r["fresh_reviewer"];
        println!(
            "  fresh reviewer: {} records, {} changes in {} s ({} MiB)",
            p["records"], p["changes"], p["s"], p["mib"]
        );
    }
    let m = &f["mission_pull"];
    for (name, r) in [("SQLite", &m["sqlite"]), ("PostgreSQL", &m["postgresql"])] {
        println!(
            "\nfresh reviewer, bench mission on {name} (one instance): {} incidents, {} changes \
             in {} s (endpoint {} s, {} MiB)",
            r["incidents"], r["changes"], r["s"], r["endpoint_wait_s"], r["mib"]
        );
    }
    println!("\ngoals: {}", f["goals"].as_str().unwrap_or_default());
}
