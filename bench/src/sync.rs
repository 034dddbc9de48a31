//! `mrm-bench sync`: figures for the sync endpoint and client on this machine, over loopback only.
//! It prints figures; the performance goals of the sync issue are shown for reference and never
//! turned into pass/fail checks (nor into tests).
//!
//! 1. A mission of N incidents is built by three officer devices (teams A, B, C): each generated
//!    incident gets four more edits (title, narrative twice, a verification event), so about five
//!    changes per incident, pushed by the officers. A fresh reviewer then pulls the whole mission.
//! 2. 100 incidents change on the officers' devices; the reviewer's next sync is timed.
//! 3. Many devices, each with new incidents, sync at once against one real `mrm serve` process
//!    (a child of this one, so its peak memory is its own).
//! 4. Bytes on the wire per pushed incident against the size of its Automerge changes.
//!
//! Scenarios 1 and 2 run the endpoint in this process (`mrm_server::api::router` in the endpoint's
//! own accept loop, `mrm_server::listen`, on its own runtime); every device is a real store in a temporary folder, removed at the end.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use mrm_crdt::input::{EventInput, IncidentPatch};
use mrm_crdt::model::{MissionConfig, VerificationStatus};
use mrm_crdt::protocol::{PushResponse, Role};
use mrm_server::SqliteService;
use mrm_store::demo::{self, Rng};
use mrm_store::Store;
use mrm_sync::{self as sync, HttpTransport, Progress, SyncOptions, SyncReport, Transport};
use serde_json::json;

const MISSION: &str = "BENCH";
const TEAMS: [&str; 3] = ["A", "B", "C"];
const TOKEN_TTL: Duration = Duration::from_secs(3600);
/// Incidents changed before the incremental sync.
const INCREMENTAL: usize = 100;

/// A throwaway folder under the system temp dir, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A transport that counts the body bytes it sends (push) and receives (pull).
pub(crate) struct Counting {
    inner: HttpTransport,
    up: AtomicU64,
    down: AtomicU64,
    pushes: AtomicU64,
    pulls: AtomicU64,
    /// Time spent waiting for the endpoint (every request, from send to the whole body read).
    request_ns: AtomicU64,
}

impl Counting {
    pub(crate) fn for_store(store: &Store) -> anyhow::Result<Counting> {
        let st = store.sync_state()?.context("the store is not enrolled")?;
        Ok(Counting {
            inner: HttpTransport::new(
                &st.server_url,
                &st.device_id,
                &st.secret,
                st.tls_pin.as_deref(),
            )?,
            up: AtomicU64::new(0),
            down: AtomicU64::new(0),
            pushes: AtomicU64::new(0),
            pulls: AtomicU64::new(0),
            request_ns: AtomicU64::new(0),
        })
    }

    fn totals(&self) -> Wire {
        Wire {
            up: self.up.load(Ordering::Relaxed),
            down: self.down.load(Ordering::Relaxed),
            pushes: self.pushes.load(Ordering::Relaxed),
            pulls: self.pulls.load(Ordering::Relaxed),
            request_ns: self.request_ns.load(Ordering::Relaxed),
        }
    }

    fn waited(&self, since: Instant) {
        self.request_ns
            .fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

impl Transport for Counting {
    async fn push(&self, body: Vec<u8>) -> mrm_crdt::Result<PushResponse> {
        self.up.fetch_add(body.len() as u64, Ordering::Relaxed);
        self.pushes.fetch_add(1, Ordering::Relaxed);
        let t = Instant::now();
        let r = self.inner.push(body).await;
        self.waited(t);
        r
    }

    async fn push_upload(
        &self,
        body: &[u8],
        name: &str,
        resume: bool,
    ) -> mrm_crdt::Result<PushResponse> {
        self.up.fetch_add(body.len() as u64, Ordering::Relaxed);
        self.pushes.fetch_add(1, Ordering::Relaxed);
        let t = Instant::now();
        let r = self.inner.push_upload(body, name, resume).await;
        self.waited(t);
        r
    }

    async fn pull(
        &self,
        cursor: i64,
        limit: i64,
        part: &std::sync::Mutex<mrm_store::PullPart>,
    ) -> mrm_crdt::Result<Vec<u8>> {
        let t = Instant::now();
        let bytes = self.inner.pull(cursor, limit, part).await;
        self.waited(t);
        let bytes = bytes?;
        self.down.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.pulls.fetch_add(1, Ordering::Relaxed);
        Ok(bytes)
    }
}

/// Body bytes and requests of one or more syncs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Wire {
    pub(crate) up: u64,
    pub(crate) down: u64,
    pub(crate) pushes: u64,
    pub(crate) pulls: u64,
    pub(crate) request_ns: u64,
}

impl Wire {
    fn since(self, before: Wire) -> Wire {
        Wire {
            up: self.up - before.up,
            down: self.down - before.down,
            pushes: self.pushes - before.pushes,
            pulls: self.pulls - before.pulls,
            request_ns: self.request_ns - before.request_ns,
        }
    }
}

/// One timed sync.
pub(crate) struct Timed {
    pub(crate) secs: f64,
    pub(crate) wire: Wire,
    pub(crate) retries: u32,
    /// Seconds per pulled page (request and import), in order.
    pages: Vec<f64>,
    /// CPU seconds of the syncing thread (the device's own work).
    cpu_s: Option<f64>,
    pub(crate) result: mrm_crdt::Result<SyncReport>,
}

/// A successful timed sync.
pub(crate) struct Synced {
    pub(crate) report: SyncReport,
    pub(crate) secs: f64,
    pub(crate) wire: Wire,
    retries: u32,
    pages: Vec<f64>,
}

/// Sync once on the current thread (the runtime must be a current-thread one for `cpu_s` to be
/// the whole of the device's work).
pub(crate) async fn timed_sync(store: &mut Store, t: &Counting) -> Timed {
    let before = t.totals();
    let cpu_before = proc_cpu_s("thread-self");
    let mut retries = 0u32;
    let mut pages = Vec::new();
    let mut last = Instant::now();
    let mut progress = |p: Progress| {
        match p {
            Progress::Retrying { .. } => retries += 1,
            Progress::Pulling { .. } => pages.push(last.elapsed().as_secs_f64()),
            Progress::Pushing { .. } => {}
        }
        last = Instant::now();
    };
    let cancel = AtomicBool::new(false);
    let started = Instant::now();
    let result = sync::sync(store, t, &SyncOptions::default(), &mut progress, &cancel).await;
    let secs = started.elapsed().as_secs_f64();
    let cpu_s = match (proc_cpu_s("thread-self"), cpu_before) {
        (Some(a), Some(b)) => Some(a - b),
        _ => None,
    };
    Timed {
        secs,
        wire: t.totals().since(before),
        retries,
        pages,
        cpu_s,
        result,
    }
}

pub(crate) async fn sync_ok(store: &mut Store, t: &Counting) -> anyhow::Result<Synced> {
    let timed = timed_sync(store, t).await;
    let report = timed
        .result
        .with_context(|| format!("sync of {} failed", store.device().officer))?;
    Ok(Synced {
        report,
        secs: timed.secs,
        wire: timed.wire,
        retries: timed.retries,
        pages: timed.pages,
    })
}

/// Size of the changes a store has not pushed yet.
fn unpushed_bytes(store: &Store) -> anyhow::Result<(usize, u64)> {
    let changes = store.unpushed(usize::MAX, usize::MAX)?;
    Ok((
        changes.len(),
        changes.iter().map(|u| u.bytes.len() as u64).sum(),
    ))
}

pub(crate) fn mission_config() -> MissionConfig {
    MissionConfig {
        mission: MISSION.into(),
        teams: TEAMS.iter().map(|t| t.to_string()).collect(),
        parties: demo::PARTIES.iter().map(|p| p.to_string()).collect(),
        admin_areas: demo::AREAS
            .iter()
            .map(|(a1, a2s)| (a1.to_string(), a2s.iter().map(|a| a.to_string()).collect()))
            .collect(),
        ..MissionConfig::default()
    }
}

/// The passphrase of every benchmark store (they are encrypted like any field store).
fn bench_pass() -> mrm_crdt::crypto::Passphrase {
    mrm_crdt::crypto::Passphrase::new("bench passphrase")
}

/// A new store enrolled with the endpoint at `url` (enrollment created through the service).
pub(crate) fn enrolled_store(
    rt: &tokio::runtime::Runtime,
    admin: &SqliteService,
    url: &str,
    dir: &Path,
    officer: &str,
    team: &str,
    role: Role,
) -> anyhow::Result<Store> {
    let mut store = Store::init(dir, &bench_pass(), MISSION, officer, team)?;
    let (_, token) = rt.block_on(admin.create_enrollment(officer, team, role, TOKEN_TTL, false))?;
    rt.block_on(sync::enroll(&mut store, url, &token, None))
        .with_context(|| format!("enrollment of {officer} failed"))?;
    Ok(store)
}

/// `key` of /proc/<pid>/status in KiB (Linux only).
pub(crate) fn proc_status_kib(pid: &str, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// CPU seconds (user + system) used so far by a process (Linux only; clock ticks of 1/100 s).
pub(crate) fn proc_cpu_s(pid: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

pub(crate) fn mib(kib: Option<u64>) -> serde_json::Value {
    match kib {
        Some(k) => json!((k as f64 / 1024.0 * 10.0).round() / 10.0),
        None => serde_json::Value::Null,
    }
}

/// The endpoint in this process, on its own runtime, stopped when dropped.
pub(crate) struct InProcess {
    pub(crate) url: String,
    rt: tokio::runtime::Runtime,
}

impl InProcess {
    pub(crate) fn start(db: &Path) -> anyhow::Result<InProcess> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("bench-server")
            .build()?;
        let storage = rt.block_on(mrm_server::open_sqlite(db, &bench_key()))?;
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        // The endpoint's own accept loop and limits, as `mrm serve` runs them.
        let limits = mrm_server::Limits::for_this_process();
        let app = mrm_server::api::router_with(storage, &limits);
        rt.spawn(mrm_server::listen::serve(
            listener,
            app,
            None,
            limits,
            std::future::pending(),
        ));
        Ok(InProcess {
            url: format!("http://{addr}"),
            rt,
        })
    }

    pub(crate) fn stop(self) {
        self.rt.shutdown_timeout(Duration::from_secs(5));
    }
}

/// A real `mrm serve` child process, killed when dropped.
pub(crate) struct ChildServer {
    child: Child,
    pub(crate) url: String,
    // Kept open so the child never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl ChildServer {
    pub(crate) fn start(db: &Path) -> anyhow::Result<ChildServer> {
        // The officer's `mrm` beside this program (both are built by `make build`).
        let exe = std::env::current_exe()
            .context("cannot find this program")?
            .with_file_name("mrm");
        anyhow::ensure!(
            exe.is_file(),
            "{} is missing: build it first (`cargo build --release -p mrm-cli`)",
            exe.display()
        );
        let mut child = Command::new(exe)
            .arg("serve")
            .arg("--db")
            .arg(db)
            .arg("--bind")
            .arg("127.0.0.1:0")
            .env("MRM_LOG", "warn")
            .env("MRM_DB_KEY", bench_secret())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start `mrm serve`")?;
        let mut stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let url = match read {
            Ok(n) if n > 0 => line
                .trim()
                .strip_prefix("mrm serve: listening on ")
                .map(str::to_string),
            _ => None,
        };
        let mut server = ChildServer {
            child,
            url: String::new(),
            _stdout: stdout,
        };
        match url {
            Some(u) => server.url = u,
            None => bail!("`mrm serve` did not start (it printed {:?})", line.trim()),
        }
        Ok(server)
    }

    pub(crate) fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn percentile_ms(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] * 1000.0
}

pub(crate) fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn ratio(wire: u64, raw: u64) -> f64 {
    if raw == 0 {
        0.0
    } else {
        round(wire as f64 / raw as f64, 3)
    }
}

fn note(msg: &str) {
    eprintln!("bench-sync: {msg}");
}

/// Four more edits to a generated incident: title, narrative, a verification event, narrative.
pub(crate) fn edit_four_times(store: &mut Store, id: &str, n: usize) -> anyhow::Result<()> {
    let title = IncidentPatch {
        title: Some(format!("Incident {n} (details confirmed)")),
        ..IncidentPatch::default()
    };
    store.edit_incident(id, &title)?;
    let narrative = IncidentPatch {
        narrative: Some(format!(
            "Fictional demo narrative {n}: community members described the events to the patrol; \
             a follow-up visit confirmed the date."
        )),
        ..IncidentPatch::default()
    };
    store.edit_incident(id, &narrative)?;
    let inc = store.incident(id)?;
    let violation = inc
        .violations
        .first()
        .context("a demo incident has no violation")?;
    let event = EventInput {
        status: VerificationStatus::PendingVerification,
        at: None,
        by: None,
        note: "Sent for verification after the follow-up visit.".into(),
        source_ids: inc.sources.iter().map(|s| s.id.clone()).take(1).collect(),
        level: None,
        sources: None,
    };
    store.verify(id, &violation.id.clone(), &event)?;
    let narrative = IncidentPatch {
        narrative: Some(format!(
            "Fictional demo narrative {n}: community members described the events to the patrol; \
             a follow-up visit confirmed the date and the number of children."
        )),
        ..IncidentPatch::default()
    };
    store.edit_incident(id, &narrative)?;
    Ok(())
}

pub fn run(
    incidents: usize,
    devices: usize,
    per_device: usize,
    json_out: bool,
) -> anyhow::Result<()> {
    if incidents == 0 {
        bail!("--incidents must be at least 1");
    }
    let root =
        TempDir(std::env::temp_dir().join(format!("mrm-bench-sync-{}", uuid::Uuid::now_v7())));
    std::fs::create_dir_all(&root.0)?;
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    // ---- 1. The mission, built by three officers, and a fresh reviewer pulling it. ----
    let db = root.0.join("mission.db");
    let admin = client.block_on(mrm_server::open_sqlite(&db, &bench_key()))?;
    client.block_on(admin.set_config(&mission_config()))?;
    let server = InProcess::start(&db)?;
    let url = server.url.clone();

    let mut officers = Vec::new();
    for team in TEAMS {
        let dir = root.0.join(format!("officer-{team}"));
        officers.push(enrolled_store(
            &client,
            &admin,
            &url,
            &dir,
            &format!("Officer {team}"),
            team,
            Role::Officer,
        )?);
    }

    note(&format!(
        "building a mission of {incidents} incidents on {} officer devices...",
        officers.len()
    ));
    let started = Instant::now();
    let shares: Vec<usize> = (0..officers.len())
        .map(|i| incidents / officers.len() + usize::from(i < incidents % officers.len()))
        .collect();
    let ids: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = officers
            .iter_mut()
            .zip(&shares)
            .enumerate()
            .map(|(i, (store, &share))| {
                s.spawn(move || -> anyhow::Result<Vec<String>> {
                    let ids = demo::populate(store, share, 11 + i as u64)?;
                    for (n, id) in ids.iter().enumerate() {
                        edit_four_times(store, id, n)?;
                    }
                    Ok(ids)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a populating thread panicked"))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let build_s = started.elapsed().as_secs_f64();

    note("officers pushing the mission...");
    let mut officer_t = Vec::new();
    let (mut bulk_raw, mut bulk_wire, mut bulk_changes) = (0u64, 0u64, 0usize);
    let mut officer_push = Vec::new();
    for store in officers.iter_mut() {
        let t = Counting::for_store(store)?;
        let (n, raw) = unpushed_bytes(store)?;
        let s = client.block_on(sync_ok(store, &t))?;
        bulk_raw += raw;
        bulk_wire += s.wire.up;
        bulk_changes += n;
        officer_push.push(json!({
            "team": store.device().team,
            "pushed": s.report.pushed,
            "seconds": round(s.secs, 3),
            "pushed_changes_per_s": round(s.report.pushed as f64 / s.secs, 0),
            "pull_echo_changes": s.report.pull_duplicates,
            "pull_echo_bytes": s.wire.down,
        }));
        officer_t.push(t);
    }
    let server_changes = client.block_on(admin.stats())?.changes;

    note("a fresh reviewer pulling the whole mission...");
    let mut reviewer = enrolled_store(
        &client,
        &admin,
        &url,
        &root.0.join("reviewer"),
        "Reviewer",
        "HQ",
        Role::Reviewer,
    )?;
    let rt_transport = Counting::for_store(&reviewer)?;
    let first = client.block_on(sync_ok(&mut reviewer, &rt_transport))?;
    let held = reviewer.stats()?.incidents;
    if held != incidents as i64 {
        bail!("the reviewer holds {held} incidents after its first sync, not {incidents}");
    }
    let first_pull = json!({
        "incidents": incidents,
        "changes": first.report.pulled,
        "seconds": round(first.secs, 3),
        "endpoint_wait_s": round(first.wire.request_ns as f64 / 1e9, 3),
        "changes_per_s": round(first.report.pulled as f64 / first.secs, 0),
        "bytes": first.wire.down,
        "bytes_per_incident": round(first.wire.down as f64 / incidents as f64, 1),
        "bytes_per_change": round(first.wire.down as f64 / first.report.pulled.max(1) as f64, 1),
        "pages": first.wire.pulls,
        "page_s": first.pages.iter().map(|p| round(*p, 2)).collect::<Vec<_>>(),
        "retries": first.retries,
    });

    // ---- 2. Incremental: 100 incidents changed on the officers' devices. ----
    note("incremental sync...");
    // Taken in turn from each officer's incidents, so every team has some.
    let longest = ids.iter().map(Vec::len).max().unwrap_or(0);
    let picks: Vec<(usize, &String)> = (0..longest)
        .flat_map(|j| {
            ids.iter()
                .enumerate()
                .filter_map(move |(o, l)| Some((o, l.get(j)?)))
        })
        .take(INCREMENTAL)
        .collect();
    let changed = picks.len();
    for (k, (o, id)) in picks.into_iter().enumerate() {
        let patch = IncidentPatch {
            narrative: Some(format!("Narrative revised at base, revision {k}.")),
            ..IncidentPatch::default()
        };
        officers[o].edit_incident(id, &patch)?;
    }
    for (store, t) in officers.iter_mut().zip(&officer_t) {
        client.block_on(sync_ok(store, t))?;
    }
    let inc = client.block_on(sync_ok(&mut reviewer, &rt_transport))?;
    let noop = client.block_on(sync_ok(&mut reviewer, &rt_transport))?;
    let incremental = json!({
        "changed_incidents": changed,
        "ms": round(inc.secs * 1000.0, 1),
        "endpoint_wait_ms": round(inc.wire.request_ns as f64 / 1e6, 1),
        "pulled": inc.report.pulled,
        "records_changed": inc.report.records_changed.len(),
        "bytes": inc.wire.down,
        "nothing_new_ms": round(noop.secs * 1000.0, 1),
    });

    // One incident pushed alone: the least compressible push.
    let mut rng = Rng::new(99);
    let lone = &mut officers[0];
    lone.add_incident(&demo::incident(&mut rng, mrm_store::today(), None))?;
    let (_, single_raw) = unpushed_bytes(lone)?;
    let single = client.block_on(sync_ok(lone, &officer_t[0]))?;
    drop(officers);
    drop(reviewer);
    server.stop();
    drop(admin);

    // ---- 3. Many devices syncing at once against a real `mrm serve`. ----
    note(&format!(
        "{devices} devices with {per_device} new incidents each, syncing at once..."
    ));
    let db2 = root.0.join("burst.db");
    let admin2 = client.block_on(mrm_server::open_sqlite(&db2, &bench_key()))?;
    client.block_on(admin2.set_config(&mission_config()))?;
    let child = ChildServer::start(&db2)?;
    let pid = child.pid();
    let rss_start = proc_status_kib(&pid, "VmRSS");
    let mut dirs = Vec::new();
    let (mut burst_raw, mut burst_changes) = (0u64, 0usize);
    for i in 0..devices {
        let dir = root.0.join(format!("device-{i}"));
        let team = TEAMS[i % TEAMS.len()];
        let mut store = enrolled_store(
            &client,
            &admin2,
            &child.url,
            &dir,
            &format!("Officer {i}"),
            team,
            Role::Officer,
        )?;
        let mut rng = Rng::new(1000 + i as u64);
        let today = mrm_store::today();
        for _ in 0..per_device {
            store.add_incident(&demo::incident(&mut rng, today, None))?;
        }
        let (n, raw) = unpushed_bytes(&store)?;
        burst_raw += raw;
        burst_changes += n;
        dirs.push(dir);
    }
    let barrier = Arc::new(Barrier::new(devices + 1));
    let handles: Vec<_> = dirs
        .into_iter()
        .map(|dir| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                // Set up first, then wait for everyone: every thread reaches the barrier.
                let setup = (|| -> anyhow::Result<_> {
                    let store = Store::open(&dir, &bench_pass())?;
                    let t = Counting::for_store(&store)?;
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    Ok((store, t, rt))
                })();
                barrier.wait();
                let (mut store, t, rt) = match setup {
                    Ok(s) => s,
                    Err(e) => return Err(e.to_string()),
                };
                Ok(rt.block_on(timed_sync(&mut store, &t)))
            })
        })
        .collect();
    barrier.wait();
    let wall = Instant::now();
    let server_cpu_before = proc_cpu_s(&pid);
    let own_cpu_before = proc_cpu_s("self");
    let (mut times, mut waits, mut cpus) = (Vec::new(), Vec::new(), Vec::new());
    let (mut errors, mut retries, mut burst_wire) = (Vec::new(), 0u32, Wire::default());
    let (mut pushed, mut pulled) = (0usize, 0usize);
    for h in handles {
        let timed = match h.join().expect("a device thread panicked") {
            Ok(t) => t,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        retries += timed.retries;
        let wire = timed.wire;
        burst_wire.up += wire.up;
        burst_wire.down += wire.down;
        burst_wire.pushes += wire.pushes;
        burst_wire.pulls += wire.pulls;
        match timed.result {
            Ok(rep) => {
                times.push(timed.secs);
                waits.push(wire.request_ns as f64 / 1e9);
                cpus.extend(timed.cpu_s);
                pushed += rep.pushed;
                pulled += rep.pulled;
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    let wall_s = wall.elapsed().as_secs_f64();
    let cpu_delta = |after: Option<f64>, before: Option<f64>| match (after, before) {
        (Some(a), Some(b)) => json!(round(a - b, 2)),
        _ => serde_json::Value::Null,
    };
    let server_cpu = cpu_delta(proc_cpu_s(&pid), server_cpu_before);
    let devices_cpu = cpu_delta(proc_cpu_s("self"), own_cpu_before);
    let peak = proc_status_kib(&pid, "VmHWM");
    let burst_server_changes = client.block_on(admin2.stats())?.changes;
    drop(child);
    drop(admin2);
    times.sort_by(f64::total_cmp);
    waits.sort_by(f64::total_cmp);
    cpus.sort_by(f64::total_cmp);
    let burst = json!({
        "devices": devices,
        "incidents_per_device": per_device,
        "errors": errors.len(),
        "first_error": errors.first(),
        "retries": retries,
        "p50_ms": round(percentile_ms(&times, 0.5), 1),
        "p99_ms": round(percentile_ms(&times, 0.99), 1),
        "max_ms": round(percentile_ms(&times, 1.0), 1),
        "endpoint_wait_p50_ms": round(percentile_ms(&waits, 0.5), 1),
        "endpoint_wait_p99_ms": round(percentile_ms(&waits, 0.99), 1),
        "device_cpu_p50_ms": round(percentile_ms(&cpus, 0.5), 1),
        "device_cpu_p99_ms": round(percentile_ms(&cpus, 0.99), 1),
        "wall_s": round(wall_s, 3),
        "server_cpu_s": server_cpu,
        // The endpoint's CPU per change it took (decode, the effect checks, storing): what a
        // mission's devices cost it, whatever their number.
        "server_cpu_ms_per_pushed_change": server_cpu
            .as_f64()
            .filter(|_| pushed > 0)
            .map(|c| round(c * 1000.0 / pushed as f64, 3)),
        "devices_cpu_s": devices_cpu,
        "pushed": pushed,
        "pulled": pulled,
        "server_changes": burst_server_changes,
        "server_rss_start_mib": mib(rss_start),
        "server_peak_rss_mib": mib(peak),
        "server_memory_source": "VmHWM of the `mrm serve` child process",
    });

    // ---- 4. Push size against change size. ----
    let burst_incidents = (devices * per_device).max(1) as u64;
    let push_size = json!({
        "single": {
            "incidents": 1,
            "change_bytes": single_raw,
            "wire_bytes": single.wire.up,
            "ratio": ratio(single.wire.up, single_raw),
        },
        "burst": {
            "incidents": devices * per_device,
            "changes": burst_changes,
            "change_bytes_per_incident": round(burst_raw as f64 / burst_incidents as f64, 1),
            "wire_bytes_per_incident": round(burst_wire.up as f64 / burst_incidents as f64, 1),
            "ratio": ratio(burst_wire.up, burst_raw),
        },
        "bulk": {
            "incidents": incidents,
            "changes": bulk_changes,
            "change_bytes_per_incident": round(bulk_raw as f64 / incidents as f64, 1),
            "wire_bytes_per_incident": round(bulk_wire as f64 / incidents as f64, 1),
            "ratio": ratio(bulk_wire, bulk_raw),
        },
    });

    let figures = json!({
        "mission": {
            "incidents": incidents,
            "server_changes": server_changes,
            "build_s": round(build_s, 1),
            "officer_push": officer_push,
        },
        "first_pull": first_pull,
        "incremental": incremental,
        "burst": burst,
        "push_size": push_size,
    });
    drop(root);
    if json_out {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        print_table(&figures);
    }
    Ok(())
}

fn print_table(f: &serde_json::Value) {
    let g = |path: &str| -> String {
        let v = f.pointer(path).unwrap_or(&serde_json::Value::Null);
        match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "-".into(),
            other => other.to_string(),
        }
    };
    let row = |label: &str, value: String, goal: &str| {
        if goal.is_empty() {
            println!("  {label:<44} {value}");
        } else {
            println!("  {label:<44} {value:<14} (issue goal: {goal})");
        }
    };
    println!("sync over loopback on this machine");
    println!(
        "mission: {} incidents, {} changes on the endpoint (built in {} s by {} officer devices)",
        g("/mission/incidents"),
        g("/mission/server_changes"),
        g("/mission/build_s"),
        f.pointer("/mission/officer_push")
            .and_then(|v| v.as_array())
            .map_or(0, |a| a.len()),
    );
    for o in f
        .pointer("/mission/officer_push")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        println!(
            "  officer {}: sync pushed {} changes, {} s ({} changes/s), and pulled {} of them back ({} bytes)",
            o["team"].as_str().unwrap_or("?"),
            o["pushed"],
            o["seconds"],
            o["pushed_changes_per_s"],
            o["pull_echo_changes"],
            o["pull_echo_bytes"],
        );
    }
    println!("1. fresh reviewer pulls the whole mission");
    row("seconds, end to end", g("/first_pull/seconds"), "< 5 s");
    row(
        "  of which waiting for the endpoint",
        g("/first_pull/endpoint_wait_s"),
        "",
    );
    row("changes pulled", g("/first_pull/changes"), "");
    row("changes per second", g("/first_pull/changes_per_s"), "");
    row("bytes on the wire", g("/first_pull/bytes"), "");
    row(
        "bytes on the wire per incident",
        g("/first_pull/bytes_per_incident"),
        "",
    );
    row("pages", g("/first_pull/pages"), "");
    row(
        "seconds per page (request and import)",
        g("/first_pull/page_s"),
        "",
    );
    println!(
        "2. incremental sync after {} incidents changed elsewhere",
        g("/incremental/changed_incidents")
    );
    row("ms", g("/incremental/ms"), "< 300 ms");
    row(
        "  of which waiting for the endpoint",
        g("/incremental/endpoint_wait_ms"),
        "",
    );
    row("changes pulled", g("/incremental/pulled"), "");
    row("bytes on the wire", g("/incremental/bytes"), "");
    row(
        "ms of a sync with nothing new",
        g("/incremental/nothing_new_ms"),
        "",
    );
    println!(
        "3. {} devices syncing at once, {} new incidents each (real `mrm serve` process)",
        g("/burst/devices"),
        g("/burst/incidents_per_device")
    );
    row("errors", g("/burst/errors"), "0");
    if f.pointer("/burst/errors").and_then(|v| v.as_u64()) != Some(0) {
        row("first error", g("/burst/first_error"), "");
    }
    row("retries", g("/burst/retries"), "");
    row("p50 sync ms", g("/burst/p50_ms"), "");
    row("p99 sync ms", g("/burst/p99_ms"), "");
    row("slowest sync ms", g("/burst/max_ms"), "");
    row(
        "p50 / p99 ms waiting for the endpoint",
        format!(
            "{} / {}",
            g("/burst/endpoint_wait_p50_ms"),
            g("/burst/endpoint_wait_p99_ms")
        ),
        "",
    );
    row(
        "p50 / p99 CPU ms of each device's own sync",
        format!(
            "{} / {}",
            g("/burst/device_cpu_p50_ms"),
            g("/burst/device_cpu_p99_ms")
        ),
        "",
    );
    row("all done after s", g("/burst/wall_s"), "");
    row(
        "CPU s: endpoint / all devices",
        format!(
            "{} / {}",
            g("/burst/server_cpu_s"),
            g("/burst/devices_cpu_s")
        ),
        "",
    );
    row(
        "changes pushed / pulled",
        format!("{} / {}", g("/burst/pushed"), g("/burst/pulled")),
        "",
    );
    row(
        "endpoint CPU ms per pushed change",
        g("/burst/server_cpu_ms_per_pushed_change"),
        "",
    );
    row(
        "server RSS at start, MiB",
        g("/burst/server_rss_start_mib"),
        "",
    );
    row(
        "server peak RSS (VmHWM), MiB",
        g("/burst/server_peak_rss_mib"),
        "",
    );
    println!("4. bytes on the wire per pushed incident against its Automerge changes");
    let burst_label = format!(
        "{}-incident pushes of step 3",
        g("/burst/incidents_per_device")
    );
    for (name, label) in [
        ("single", "one incident pushed alone"),
        ("burst", burst_label.as_str()),
        ("bulk", "the officers' mission pushes"),
    ] {
        let detail = if name == "single" {
            format!(
                "{} wire / {} change bytes",
                g("/push_size/single/wire_bytes"),
                g("/push_size/single/change_bytes")
            )
        } else {
            format!(
                "{} wire / {} change bytes per incident",
                g(&format!("/push_size/{name}/wire_bytes_per_incident")),
                g(&format!("/push_size/{name}/change_bytes_per_incident"))
            )
        };
        row(
            &format!("{label}: ratio"),
            g(&format!("/push_size/{name}/ratio")),
            "<= 1.5",
        );
        println!("  {:<44} {detail}", "");
    }
}

/// The secret of every endpoint database a bench makes (one per process: a bench opens the same
/// database here and in a `mrm serve` child). Encrypted like a real endpoint's, so the figures
/// include it.
pub(crate) fn bench_secret() -> &'static str {
    static SECRET: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SECRET.get_or_init(|| {
        mrm_crdt::crypto::Key::new_secret()
            .expect("randomness for the bench key")
            .to_string()
    })
}

pub(crate) fn bench_key() -> mrm_crdt::crypto::Key {
    mrm_crdt::crypto::Key::from_secret(bench_secret()).expect("a 64-digit secret")
}
